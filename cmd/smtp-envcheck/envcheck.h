/* smtp-envcheck: the checks of the client, its HELO, the sender and the
 * recipients, each a function from what the proxy sent to a verdict, and
 * the event loop that asks them.  See smtp-envcheck(8). */
#ifndef SMTP_ENVCHECK_H
#define SMTP_ENVCHECK_H

#include <stddef.h>

#include "filterproto.h"
#include "ipaddr.h"
#include "statustext.h"
#include "table.h"

/* The texts of smtp-envcheck(8), SMTP_TEXT_<name>. */
enum {
    T_CLIENT_DENIED, T_HELO_INVALID, T_HELO_NOT_FQDN, T_HELO_SELF, T_SENDER_DENIED,
    T_RECIPIENT_UNKNOWN, T_RELAY_DENIED, T_LOOKUP_FAILED, T_COUNT
};
extern struct statustext envcheck_texts[T_COUNT];

/* HELO checks, for -H */
#define HELO_SYNTAX 1u
#define HELO_FQDN   2u
#define HELO_SELF   4u

#define OURS_MAX 16                 /* -n names, -a addresses */

struct envcheck_table {
    const char *path;               /* NULL: not used */
    struct table t;
};

struct envcheck {
    /* configuration */
    struct envcheck_table clients, senders, recipients;
    unsigned char prefixes4[33], prefixes6[129];  /* lengths, longest first */
    unsigned nprefixes4, nprefixes6;
    unsigned helo;                  /* HELO_ bits */
    const char *names[OURS_MAX];
    unsigned nnames;
    struct ipaddr addresses[OURS_MAX];
    unsigned naddresses;
    /* the connection */
    char ip[64];                    /* for the log */
    struct ipaddr localip;
    int have_localip;
    int relay;                      /* RELAYCLIENT, or a "relay" entry */
    int client_code;                /* 0, or the refusal of every RCPT */
    char client_text[STATUSTEXT_MAX + 1];
    const char *client_reason;
    char client_entry[IPADDR_KEY_MAX];
};

struct verdict {
    int code;                       /* 0: continue */
    char text[STATUSTEXT_MAX + 1];  /* with its enhanced status code */
    char class[FILTERPROTO_CLASS_MAX + 1];      /* "" for none */
    const char *reason;             /* for the log */
    char entry[300];                /* the table key that decided, or "" */
};

/* Open the tables named in ec and check that each is of its kind.
 * 0, or -1 with why (of size) set: "unable to open rcpt.cdb: ...". */
int envcheck_open(struct envcheck *ec, char *why, size_t size);
void envcheck_close(struct envcheck *ec);
/* Check mode: each table opened and checked on its own, every one that
 * fails reported (checkmode_fatal), then closed; the number that failed. */
unsigned envcheck_check(struct envcheck *ec);
/* -H: "syntax,fqdn,self" or "none"; -1 when a word is unknown. */
int envcheck_helo_checks(const char *list, unsigned *bits);

/* The checks; each fills v (v->code 0 to continue). */
void envcheck_connect(struct envcheck *ec, const char *ip, const char *localip, struct verdict *v);
void envcheck_helo(struct envcheck *ec, const char *name, size_t n, struct verdict *v);
void envcheck_mail(struct envcheck *ec, const char *sender, size_t n, struct verdict *v);
void envcheck_rcpt(struct envcheck *ec, const char *recipient, size_t n, struct verdict *v);

/* The answer line for v: "continue", "reject 550 5.1.1 ...", a "class"
 * line first when there is one.  Returns the number of lines (1 or 2). */
int envcheck_answer(const struct verdict *v, char lines[2][STATUSTEXT_MAX + 64]);

/* Serve one connection on fds 0 and 1: 0 at its end, 111 with why set
 * when the proxy speaks anything but smtp-filter(7) or goes away. */
int envcheck_run(struct envcheck *ec, char *why, size_t size);

#endif
