/* smtp-proxyd's transaction: from MAIL to its final reply, or RSET; its
 * recipients; the envelope changes of version 2 filters and the commands
 * that make them at the smarthost.  No I/O here: the unit tests run it
 * without a socket (t/unit/check_smtp-proxyd.c). */
#ifndef SMTP_PROXYD_TRANSACTION_H
#define SMTP_PROXYD_TRANSACTION_H

#include "ehlocache.h"
#include "proxyd.h"

/* RCPT's NOTIFY and ORCPT (RFC 3461: at most 500 octets for ORCPT), and
 * MAIL's SMTPUTF8, RET and ENVID, as the client gave them, one space
 * apart, for the smarthost and the filters. */
#define TX_RCPT_PARAMS_MAX 560
#define TX_MAIL_PARAMS_MAX 160
/* All of MAIL's parameters, as transaction_params_all gives them. */
#define TX_PARAMS_MAX (TX_MAIL_PARAMS_MAX + 64)

/* A recipient: refused (code not 2xx), accepted by the smarthost,
 * deleted or added by a filter at eom. */
enum rcpt_state { RCPT_REFUSED, RCPT_ACCEPTED, RCPT_DELETED, RCPT_ADDED };
struct rcpt {
    char addr[SMTP_ADDRESS_MAX + 1];
    int code;                           /* 0 for one added, not yet sent */
    enum rcpt_state state;
    char params[TX_RCPT_PARAMS_MAX];    /* NOTIFY, ORCPT as given, or "" */
};
/* Recipients filters may add beyond the client's */
#define RCPT_ADDED_MAX 64
/* -r's default */
#define RCPT_MAX_DEFAULT 100

/* Score, header fields and facts from the filters, per scope; in this
 * order, so that the score and the two counts are in one page (see
 * struct headers). */
struct modifiers {
    struct headers headers;
    long score;
    struct facts facts;
};

struct transaction {
    int in_mail;
    char sender[SMTP_ADDRESS_MAX + 1];
    char size_param[21], body_param[16];    /* SIZE: 1*20DIGIT (RFC 1870) */
    char mail_params[TX_MAIL_PARAMS_MAX];   /* SMTPUTF8, RET, ENVID as given */
    int smtputf8;                       /* UTF-8 addresses (RFC 6531) */
    unsigned offered;                   /* EHLO_ flags the client was offered:
                                         * what the smarthost takes */
    /* BDAT (RFC 3030): chunks taken (1), or refused at the first (-1:
     * the rest are read and refused too); the body so far */
    int bdat;
    int bdat_cr, bdat_bare_eol, bdat_spool_errno;
    int64_t bdat_start;
    unsigned long long bdat_got;
    unsigned nrcpts, rcpt_lost, accepted;
    char class[FILTERPROTO_CLASS_MAX + 1];
    int class_set;
    int upstream;                       /* 0 no MAIL yet, 1 open, -1 refused */
    struct trail trail;
    int64_t tx_start;
    unsigned long long size;
    int upstream_code;                  /* the forwarder's answer to the message */
    int64_t upstream_ms;                /* from the hand-over to that answer */
    char upstream_text[201];            /* its first line, without the code */
    int unavailable;                    /* a 4.4.x from the forwarder: unreachable */
    int final_code;                     /* the client's, for the report */
    int delivered;                      /* the smarthost's 2xx to the message */
    int reported;                       /* the report event was sent */
    /* changes of version 2 filters at eom */
    int sender_changed, deleted, added;
    int quarantine;
    char quarantine_reason[FILTERPROTO_TEXT_MAX + 1];
    int damaged;                        /* a change half stored: not relayed */
    /* The big ones last, of which only what their length and count
     * cover is read: a transaction touches the pages it uses. */
    struct smtp_reply upstream_refusal;
    struct modifiers tx_mods;
};
extern struct transaction tx;

/* Room for max_rcpt recipients (and those filters add): 0, or -1. */
int transaction_init(unsigned max_rcpt);
/* A new transaction: one assignment. */
void transaction_clear(void);
unsigned transaction_capacity(void);
struct rcpt *transaction_rcpt(unsigned i);
/* Record a recipient, its parameters (NOTIFY, ORCPT) as given and its
 * reply code (see transaction.c). */
void transaction_record_params(const char *addr, const char *params, int code);
/* Does the message go to r: accepted, or added at eom? */
int rcpt_live(const struct rcpt *r);
struct rcpt *transaction_find(const char *addr);
/* The MAIL parameters taken, as a client gives them: SIZE, BODY, then
 * SMTPUTF8, RET, ENVID as given ("SIZE=1 BODY=7BIT"), in buf, or NULL
 * when there are none. */
const char *transaction_params_all(char buf[TX_PARAMS_MAX]);
/* Set the parameters from those given as a client would: SIZE, BODY
 * (7BIT, 8BITMIME), and the others of MAIL that smtp-forward relays
 * (SMTPUTF8, RET, ENVID, when their syntax is right and the smarthost
 * offers their extension: tx.offered); any other is left out, with a
 * warning. */
void transaction_set_params(const char *p, size_t n);
/* The envelope changes of c: recipients added and deleted, the sender,
 * quarantine. */
void transaction_change_envelope(const struct changes *c);
/* A parameter as given, "KEY=VALUE" (or "KEY"), after what buf has, one
 * space apart: 0, or -1 when it does not fit (buf is then unchanged). */
int transaction_param_append(char *buf, size_t size, const struct smtp_param *p);
/* RCPT's NOTIFY and ORCPT from parameters given as a client would, one
 * space apart, into out; any other, or one of bad syntax, is left out
 * with a warning.  (An added recipient's are all left out when the
 * smarthost does not offer DSN: tx.offered.) */
void transaction_rcpt_params(const char *p, size_t n, char out[TX_RCPT_PARAMS_MAX]);
/* The commands that make the changed envelope at the smarthost, in
 * order, each given to send; how many.  quarantine: the mailbox of -Q. */
unsigned transaction_replay(void (*send)(const char *line, void *arg), void *arg,
                            const char *quarantine);

#endif
