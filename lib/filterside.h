/* The filter's side of smtp-filter(7), for filters written in C: the
 * handshake, events with their fields decoded, in version 2 the context
 * lines before each event (facts, score, and at eom and report the whole
 * transaction), answers buffered and flushed before the next read, and
 * the event's token echoed in each verdict line without the caller's
 * help. */
#ifndef NOQUEUE_FILTERSIDE_H
#define NOQUEUE_FILTERSIDE_H

#include <stddef.h>

#include "filterproto.h"
#include "io.h"

#define FILTERSIDE_FIELDS 12

struct filter_request {
    enum filter_event event;
    unsigned nfields;
    char *field[FILTERSIDE_FIELDS];     /* decoded, NUL terminated; "" if absent */
    size_t len[FILTERSIDE_FIELDS];
    int absent[FILTERSIDE_FIELDS];
};

/* The fields of the client line (version 2, before eom and report). */
enum filterside_client {
    CLIENT_IP, CLIENT_PORT, CLIENT_LOCALIP, CLIENT_LOCALPORT, CLIENT_HOST,
    CLIENT_HELO_VERB, CLIENT_HELO, CLIENT_TLS_VERSION, CLIENT_TLS_CIPHER, CLIENT_FIELDS
};

/* What the context lines before the current event said; valid until the
 * next filterside_next.  Strings are offsets into the text (it may move):
 * the filter_side's own few hundred octets at first, a malloc'd arena
 * once a transaction's context outgrows them; the recipients likewise. */
struct filterside_rcpt { size_t addr, params; int code; };
struct filterside_context {
    char *text;                         /* the strings: first, or arena */
    char *arena;                        /* malloc'd, or NULL */
    size_t len, size;
    unsigned nfacts;
    int score_set;
    long score;
    int client_set;
    size_t client[CLIENT_FIELDS];       /* (size_t)-1: absent */
    int sender_set;
    size_t sender, sender_params, id;   /* sender "" for <>; params (size_t)-1 if none */
    unsigned nrcpts, rcpt_size;
    struct filterside_rcpt *rcpt;       /* the recipients: first_rcpts, or rcpts */
    struct filterside_rcpt *rcpts;      /* malloc'd, or NULL */
};

#define FILTERSIDE_FIRST_TEXT 512
#define FILTERSIDE_FIRST_RCPTS 8

/* What each event writes (the small fields, the context's first strings,
 * the start of the input buffer) comes first and together, what few
 * events write (the facts' offsets) last: fewer pages touched. */
struct filter_side {
    int version;
    char token[16];                     /* the last event's */
    struct io_in in;
    struct io_out out;
    struct filterside_context ctx;
    struct filterside_rcpt first_rcpts[FILTERSIDE_FIRST_RCPTS];
    char first_text[FILTERSIDE_FIRST_TEXT];
    /* A line is read, split and decoded in place: each field decoded is
     * no longer than it was in xtext, so it never overtakes the part of
     * the line still to be read. */
    union {
        char inbuf[FILTERPROTO_LINE_MAX];
        char decoded[FILTERPROTO_LINE_MAX];
    };
    char outbuf[4096];
    /* the scopes: connection, HELO, transaction, and this event's so far */
    size_t fact_name[4 * FILTERPROTO_FACTS], fact_value[4 * FILTERPROTO_FACTS];
};

/* Read "filter 1" on fd 0, answer with the events wanted (1 << FILTER_x),
 * in protocol version 1.  0, or -1 when the proxy speaks another protocol
 * or went away. */
int filterside_start(struct filter_side *fs, unsigned events);
/* The same in the version given (1 or 2). */
int filterside_start_version(struct filter_side *fs, unsigned events, int version);
/* The next event: 1, 0 at the end of the connection, -1 on a line that is
 * not a valid event or context line (or out of memory). */
int filterside_next(struct filter_side *fs, struct filter_request *r);
/* One answer line (a verdict or a modifier), LF added; a verdict gets
 * the event's token after its first word. */
int filterside_say(struct filter_side *fs, const char *line);
/* "header NAME VALUE" with VALUE in xtext. */
int filterside_header(struct filter_side *fs, const char *name, const char *value, size_t n);
int filterside_flush(struct filter_side *fs);

/* The loop of a filter that asked for eom alone: each message's size goes
 * to answer, which gives the modifiers and the verdict; anything else the
 * proxy sends is answered continue, and answers are flushed before each
 * wait.  0 once the proxy is gone; FILTERSIDE_BAD_EVENT for a line that
 * is not a valid event or an eom without its size; FILTERSIDE_WRITE when
 * an answer cannot be written (answer's -1 too). */
#define FILTERSIDE_BAD_EVENT (-1)
#define FILTERSIDE_WRITE (-2)
typedef int filterside_answer(struct filter_side *fs, unsigned long long size, void *arg);
int filterside_eom_loop(struct filter_side *fs, filterside_answer *answer, void *arg);

/* Version 2: the context of the current event.  NULL when absent. */
const char *filterside_fact(const struct filter_side *fs, const char *name);
const char *filterside_client(const struct filter_side *fs, enum filterside_client field);
/* The sender ("" for the null sender), NULL before eom and report. */
const char *filterside_sender(const struct filter_side *fs);
const char *filterside_sender_params(const struct filter_side *fs);
const char *filterside_id(const struct filter_side *fs);
unsigned filterside_recipients(const struct filter_side *fs);
/* Recipient i: its address, and its reply code and parameters if wanted. */
const char *filterside_recipient(const struct filter_side *fs, unsigned i, int *code,
                                 const char **params);
/* The score so far, 0 if not told. */
long filterside_score(const struct filter_side *fs);

/* Version 2 modifiers, each one line: values are given decoded and sent
 * in xtext.  A header value is what follows the colon, leading space
 * included; value NULL in change_header deletes the field. */
int filterside_fact_set(struct filter_side *fs, const char *name, const char *value);
int filterside_insert_header(struct filter_side *fs, unsigned long index, const char *name,
                             const char *value, size_t n);
int filterside_change_header(struct filter_side *fs, unsigned long index, const char *name,
                             const char *value, size_t n);
/* params may be NULL (none); sender "" is the null sender. */
int filterside_add_recipient(struct filter_side *fs, const char *addr, const char *params);
int filterside_delete_recipient(struct filter_side *fs, const char *addr);
int filterside_change_sender(struct filter_side *fs, const char *addr, const char *params);
/* The whole new message was written to fd 4 (from its start). */
int filterside_replace_message(struct filter_side *fs);
int filterside_quarantine(struct filter_side *fs, const char *reason);

#endif
