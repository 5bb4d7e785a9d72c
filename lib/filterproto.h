/* The filter line protocol, versions 1 and 2: see smtp-filter(7).
 *
 *   proxy:  filter 1
 *   filter: filter VERSION EVENT...         (1 or 2; the events it wants)
 *   proxy:  [CONTEXT FIELD...]...           (version 2 only, no answer)
 *           EVENT TOKEN FIELD...            (fields in xtext, "-" = none)
 *   filter: [MODIFIER FIELD...]...
 *           continue TOKEN | accept TOKEN | discard TOKEN
 *           | reject TOKEN CODE TEXT | tempfail TOKEN CODE TEXT
 *
 * The verdict echoes its event's token, so that an answer can never be
 * taken for another event's.  Version 1 modifiers: header, score, class;
 * version 2 adds fact and, at eom, the message changes.
 */
#ifndef NOQUEUE_FILTERPROTO_H
#define NOQUEUE_FILTERPROTO_H

#include <stddef.h>
#include <sys/types.h>

#include "smtp_command.h"

#define FILTERPROTO_VERSION   2        /* the highest this tree speaks */
#define FILTERPROTO_LINE_MAX  4096     /* octets, LF included */
#define FILTERPROTO_MODIFIERS 16       /* most modifier lines per reply, v1 */
#define FILTERPROTO_MODIFIERS_V2 256   /* and in version 2 */
#define FILTERPROTO_FACT_NAME_MAX 32
#define FILTERPROTO_FACT_VALUE_MAX 256
#define FILTERPROTO_FACTS 32           /* per scope: connection, HELO, transaction */
#define FILTERPROTO_TEXT_MAX 400
#define FILTERPROTO_PARAMS_MAX 512     /* ESMTP parameters of one MAIL or RCPT */
#define FILTERPROTO_HEADER_NAME_MAX 64      /* HEADER_NAME_MAX */
#define FILTERPROTO_HEADER_VALUE_MAX 2048
#define FILTERPROTO_CLASS_MAX 32
#define FILTERPROTO_SCORE_MAX 1000000
#define FILTERPROTO_TOKEN_MAX 4294967295UL

enum filter_event {
    FILTER_CONNECT, FILTER_HELO, FILTER_TLS, FILTER_MAIL, FILTER_RCPT,
    FILTER_DATA, FILTER_EOM, FILTER_RSET, FILTER_REPORT, FILTER_EVENTS
};

enum filter_kind {
    FILTER_CONTINUE, FILTER_ACCEPT, FILTER_DISCARD, FILTER_REJECT,
    FILTER_TEMPFAIL, FILTER_HEADER, FILTER_SCORE, FILTER_CLASS,
    /* version 2 */
    FILTER_FACT, FILTER_INSERT_HEADER, FILTER_CHANGE_HEADER,
    FILTER_ADD_RECIPIENT, FILTER_DELETE_RECIPIENT, FILTER_CHANGE_SENDER,
    FILTER_REPLACE_MESSAGE, FILTER_QUARANTINE
};

/* The lines that come before an event in version 2 and need no answer. */
enum filter_context {
    CONTEXT_FACT, CONTEXT_SCORE, CONTEXT_CLIENT, CONTEXT_SENDER, CONTEXT_RECIPIENT,
    CONTEXT_KINDS
};

struct filter_line {
    enum filter_kind kind;
    int code;                          /* reject, tempfail */
    const char *text;                  /* reject, tempfail: into the line */
    size_t textlen;
    long score;                        /* score */
    unsigned long token;               /* a verdict's */
    unsigned long index;               /* insert-header (0..), change-header (1..) */
    /* header, class, fact, the header changes; the address of the
     * recipient and sender changes ("" for the null sender) */
    char name[SMTP_ADDRESS_MAX + 1];
    /* header, fact, the header changes, quarantine, decoded; the
     * parameters of add-recipient and change-sender */
    char value[FILTERPROTO_HEADER_VALUE_MAX + 1];
    size_t valuelen;
    int value_absent;                  /* change-header: delete */
};

const char *filterproto_event_name(enum filter_event ev);
const char *filterproto_context_name(enum filter_context c);
/* "filter 1 mail rcpt": the events as a bit mask (1 << FILTER_x) and the
 * version (1 or 2) the filter chose; 0, or -1. */
int filterproto_parse_hello(const char *line, size_t n, unsigned *events, int *version);
/* One reply line without its LF: 0, or -1 when it is not valid.  The
 * version 2 kinds are valid here; whether the filter may use them, and
 * at which event, is the proxy's to check (filterproto_kind_allowed). */
int filterproto_parse_line(const char *line, size_t n, struct filter_line *out);
/* May a filter of this version answer ev with a line of this kind? */
int filterproto_kind_allowed(enum filter_kind kind, int version, enum filter_event ev);
/* A fact's name: 1 to 32 of [a-z0-9._-], starting with a letter or digit. */
int filterproto_fact_name_valid(const char *s, size_t n);
/* continue, accept, discard, reject, tempfail: the kinds with a token. */
int filterproto_is_verdict(enum filter_kind kind);
/* Append " " and field in xtext ("-" for NULL, "+2D" for a lone "-") to
 * buf[*len..size-1].  Returns 0, or -1 when it does not fit. */
int filterproto_field(char *buf, size_t size, size_t *len, const char *field, size_t n);
/* Decode one field: the reverse.  Returns its length, -1 when malformed,
 * and sets *absent for "-". */
ssize_t filterproto_field_decode(char *out, size_t size, const char *s, size_t n, int *absent);

#endif
