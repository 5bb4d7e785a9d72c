/* smtp-proxyd: what the parts of the program share.  See smtp-proxyd(8). */
#ifndef SMTP_PROXYD_H
#define SMTP_PROXYD_H

#include <stdint.h>

#include "child.h"
#include "filterproto.h"
#include "ipaddr.h"
#include "io.h"
#include "smtp_command.h"
#include "smtp_reply.h"
#include "spool.h"
#include "statustext.h"

/* Status texts (SMTP_TEXT_<NAME>); the codes are fixed, in session.c. */
enum text {
    T_GREETING, T_OK, T_BYE, T_HELP, T_VRFY, T_DATA_GO, T_DISCARDED,
    T_NO_SERVICE, T_TIMEOUT, T_TOO_MANY_ERRORS, T_LINE_TOO_LONG, T_BARE_EOL_COMMAND,
    T_BAD_COMMAND, T_NOT_IMPLEMENTED, T_BAD_SEQUENCE, T_BAD_SYNTAX, T_BAD_SENDER,
    T_BAD_RECIPIENT, T_BAD_PARAMETER, T_TOO_MANY_RECIPIENTS, T_NO_RECIPIENTS,
    T_TOO_BIG, T_BARE_EOL, T_STORAGE, T_REJECTED, T_TEMPFAIL, T_FILTER_FAILED,
    T_UNAVAILABLE, T_UPSTREAM_PROTOCOL, T_TLS_GO, T_TLS_REQUIRED, T_SHUTDOWN,
    T_ENVELOPE_REFUSED, T_UPSTREAM_LOST, T_EARLY_TALKER, T_COUNT
};
extern struct statustext texts[T_COUNT];

enum policy { POLICY_ACCEPT, POLICY_TEMPFAIL, POLICY_REQUIRED };

struct filter {
    char **argv;                /* into smtp-proxyd's own argv */
    const char *name;           /* for the log */
    unsigned timeout;           /* seconds per event */
    enum policy policy;
    int policy_given;
    int oneshot;
    int dry;                    /* -d: its verdicts are logged, not applied */
    unsigned declared;          /* -e: its events, given: started at the first */
    int lazy;                   /* not started yet, for that reason */
    int64_t us[2];              /* time waited for it: connection, transaction */
    unsigned asked[2];          /* events it was asked: connection, transaction */
    unsigned events;            /* 1 << FILTER_x */
    int version;                /* of the protocol, from its greeting */
    unsigned long token;        /* of the last event sent */
    struct child proc;
    const char *failed;         /* why, once it has failed; then policy */
    struct io_in in;
    struct io_out out;
    char inbuf[FILTERPROTO_LINE_MAX + 1];
    char outbuf[2048];
};

/* Named facts from the filters (version 2), per scope. */
struct fact {
    char name[FILTERPROTO_FACT_NAME_MAX + 1];
    char value[FILTERPROTO_FACT_VALUE_MAX + 1];
};
struct facts {
    unsigned n;
    struct fact f[FILTERPROTO_FACTS];
};
/* Set name to value, replacing an earlier value of that name: 0, or -1
 * when the list is full. */
int facts_set(struct facts *fs, const char *name, const char *value);
/* Add every fact of from to to: 0, or -1 when they do not fit. */
int facts_merge(struct facts *to, const struct facts *from);

/* The message and envelope changes one filter asked for at eom, in the
 * order given. */
struct change {
    enum filter_kind kind;
    unsigned long index;
    size_t name, value;                 /* offsets into the arena */
    size_t valuelen;
    int absent;                         /* change-header: delete */
};
struct changes {
    unsigned n;
    size_t len;                         /* next to n: both are set at every event */
    struct change c[FILTERPROTO_MODIFIERS_V2];
    char arena[65536];
};

struct threshold {
    char class[FILTERPROTO_CLASS_MAX + 1];   /* "" for the default */
    long points;
};

struct config {
    const char *hostname;
    unsigned envelope_timeout, body_timeout;
    unsigned long min_data_rate;    /* octets a second that earn more time */
    unsigned greet_wait;        /* -g: milliseconds before the greeting */
    /* -P: the load balancers that write a PROXY header, and only they */
    struct balancer { struct ipaddr addr; unsigned length; } balancers[32];
    unsigned nbalancers;
    unsigned tarpit;            /* -y: errors before replies slow down */
    unsigned eom_timeout;       /* end of data to the final reply, in all */
    unsigned long long size_limit;
    unsigned max_rcpt, max_errors;
    int first;                  /* multi-recipient policy: first, else split */
    int received;               /* add a Received header field */
    const char *spool_dir;
    struct threshold thresholds[16];
    unsigned nthresholds;
    unsigned filter_timeout;
    enum policy filter_policy;
    struct filter *filters;
    unsigned nfilters;
    char **forward_argv;
    /* STARTTLS, when a certificate and a key are given */
    const char *tls_cert, *tls_key, *tls_ca, *tls_program;
    int tls_request_cert;       /* ask the client for a certificate */
    int tls_required;           /* no MAIL before STARTTLS */
    const char *quarantine;     /* -Q: the mailbox of quarantined messages */
};
extern struct config cfg;

/* Header fields for a message, as "Name: value" NUL-separated.  len
 * after buf: where a struct holds the fields and then facts (struct
 * modifiers, the event's store), the length and the count of facts
 * share a page, so that a scope with neither touches one page. */
struct headers {
    char buf[8192];
    size_t len;
};

/* What the filters decided about one event, with the modifiers of those
 * that let it pass: they count only if the event passes in the end. */
enum outcome { O_CONTINUE, O_ACCEPT, O_REJECT, O_TEMPFAIL, O_DISCARD };
struct verdict {
    enum outcome outcome;
    int code;
    char text[STATUSTEXT_MAX + 16];     /* "5.7.1 text" */
    long score;                         /* points added */
    char class[FILTERPROTO_CLASS_MAX + 1];
    int class_set;
    /* The event's header fields and facts (version 2).  One store serves
     * every event (session.c): they are taken into their scope, or sent,
     * before the next event runs; so a verdict is small, and so are the
     * frames of the handlers that hold one. */
    struct headers *headers;
    struct facts *facts;
};

/* The filters' verdicts other than continue, for the log. */
struct trail {
    char buf[512];
};

/* An event line; version 1 filters get its first v1len octets, the
 * fields version 2 added after them being for version 2 filters only
 * (v1len (size_t)-1: all of it). */
struct event {
    size_t len, v1len;
    char buf[FILTERPROTO_LINE_MAX];
};

/* filters.c */
void filters_start(int spool_fd, int scratch_fd, int64_t deadline);
/* Run the event line (no LF) through the chain; no filter waits past
 * deadline, nor past its own timeout.  v comes cleared (a continue with
 * no modifier). */
void filters_event(enum filter_event ev, const struct event *e, int64_t deadline,
                   struct verdict *v, struct trail *t);
/* The environment of one-shot filters, at eom. */
void filters_set_oneshot_env(char *const env[]);
int filters_want(enum filter_event ev);
void filters_stop(int64_t deadline);
/* Must the spool and the scratch file be there when the filters start
 * with the connection (one of them may take eom and has no -e)? */
int filters_need_files(void);
/* The spool (fd 3) and scratch file (fd 4) for the filters started from
 * now on, once they are made. */
void filters_set_files(int spool_fd, int scratch_fd);
/* The time each filter took ("NAME:MS,..."; those asked only) for the
 * connection's events (connect, tls, helo: which 0) or the transaction's
 * (which 1), then zeroed: the length written, "" when none was asked. */
size_t filters_times(char *buf, size_t size, int which);

/* check.c: smtp-proxyd -C (level 2: -CC, the smarthosts too).  Each
 * problem is a warning line "check: ...", counted; temporary ones (a
 * daemon that did not answer) make 111 rather than 100 when alone.
 * tls_bad: the TLS options had a problem (then smtp-tls is not asked to
 * match the certificate and the key).  The exit status. */
void check_problem(int temporary, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int check_run(int level, int tls_bad);

/* forwarder.c: requests may be sent in a row (one write), their replies
 * then read in the same order. */
int forwarder_send(const char *line, int64_t deadline);
int forwarder_reply(struct smtp_reply *r, int64_t deadline);
int forwarder_request(const char *line, struct smtp_reply *r, int64_t deadline);
int forwarder_alive(void);
/* Did smtp-forward say, unasked, that the smarthost left the open
 * transaction?  No round trip: only what it already wrote is read. */
int forwarder_upstream_lost(void);
void forwarder_stop(int64_t deadline);
void forwarder_set_spool(int fd);

/* session.c */
void session_run(void);
/* Make the spool and the scratch file if they are not yet: they cost a
 * connection refused before its first recipient is let through nothing.
 * On failure the client gets 421 and the session ends. */
void session_files(void);
/* The log's conn= and the number of the transaction under way. */
const char *session_conn(void);
unsigned session_transaction(void);
/* The context lines a version 2 filter gets before event ev (v: what the
 * filters before it in the chain said of this event): 0, or -1 when they
 * cannot be written by the deadline. */
int session_context(struct io_out *out, enum filter_event ev, const struct verdict *v,
                    int64_t deadline);
/* Apply the changes a filter asked for at eom, its verdict having let the
 * message pass: NULL, or why they cannot be (the filter has then failed). */
const char *session_apply_changes(const struct changes *c);

/* message.c: header edits and replacement of the spooled message.
 * message_edit writes to out the message of in with the header changes
 * of c applied (insert-header, change-header); 0, or -1 with errno, or
 * -2 when the header is too large to edit. */
#define MESSAGE_HEADER_MAX (256 * 1024)
int message_edit(int in, int out, const struct changes *c);
/* Check a replacement message on fd in as a client's message is checked
 * (no bare CR or LF, size within limit): 0, or -1 with why set. */
int message_check(int in, unsigned long long limit, unsigned long long *size, const char **why);
/* Copy in to out, whole, from offset 0; out truncated first.  0 or -1. */
int message_copy(int in, int out);

/* The value of the first Message-ID field of the message on fd in, its
 * white space removed, cut to size - 1: its length, 0 when there is none
 * in the first 16 KB. */
size_t message_id(int in, char *out, size_t size);

/* headers */
int headers_add(struct headers *h, const char *name, const char *value, size_t n);

#endif
