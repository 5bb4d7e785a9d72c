/* The filter line protocol, version 1: see smtp-filter(7).
 *
 *   proxy:  filter 1
 *   filter: filter 1 EVENT...               (the events it wants)
 *   proxy:  EVENT TOKEN FIELD...            (fields in xtext, "-" = none)
 *   filter: [header NAME VALUE | score N | class NAME]...   (modifiers)
 *           continue TOKEN | accept TOKEN | discard TOKEN
 *           | reject TOKEN CODE TEXT | tempfail TOKEN CODE TEXT
 *
 * The verdict echoes its event's token, so that an answer can never be
 * taken for another event's.
 */
#ifndef NOQUEUE_FILTERPROTO_H
#define NOQUEUE_FILTERPROTO_H

#include <stddef.h>
#include <sys/types.h>

#define FILTERPROTO_VERSION   1
#define FILTERPROTO_LINE_MAX  4096     /* octets, LF included */
#define FILTERPROTO_MODIFIERS 16       /* most modifier lines per reply */
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
    FILTER_TEMPFAIL, FILTER_HEADER, FILTER_SCORE, FILTER_CLASS
};

struct filter_line {
    enum filter_kind kind;
    int code;                          /* reject, tempfail */
    const char *text;                  /* reject, tempfail: into the line */
    size_t textlen;
    long score;                        /* score */
    unsigned long token;               /* a verdict's */
    char name[FILTERPROTO_HEADER_NAME_MAX + 1];   /* header, class */
    char value[FILTERPROTO_HEADER_VALUE_MAX + 1]; /* header, decoded */
    size_t valuelen;
};

const char *filterproto_event_name(enum filter_event ev);
/* "filter 1 mail rcpt": the events as a bit mask (1 << FILTER_x), or -1. */
int filterproto_parse_hello(const char *line, size_t n, unsigned *events);
/* One reply line without its LF: 0, or -1 when it is not valid. */
int filterproto_parse_line(const char *line, size_t n, struct filter_line *out);
/* continue, accept, discard, reject, tempfail: the kinds with a token. */
int filterproto_is_verdict(enum filter_kind kind);
/* Append " " and field in xtext ("-" for NULL, "+2D" for a lone "-") to
 * buf[*len..size-1].  Returns 0, or -1 when it does not fit. */
int filterproto_field(char *buf, size_t size, size_t *len, const char *field, size_t n);
/* Decode one field: the reverse.  Returns its length, -1 when malformed,
 * and sets *absent for "-". */
ssize_t filterproto_field_decode(char *out, size_t size, const char *s, size_t n, int *absent);

#endif
