/* The filter's side of smtp-filter(7), for filters written in C: the
 * handshake, events with their fields decoded, answers buffered and
 * flushed before the next read, and the event's token echoed in each
 * verdict line without the caller's help. */
#ifndef NOQUEUE_FILTERSIDE_H
#define NOQUEUE_FILTERSIDE_H

#include <stddef.h>

#include "filterproto.h"
#include "io.h"

#define FILTERSIDE_FIELDS 8

struct filter_request {
    enum filter_event event;
    unsigned nfields;
    char *field[FILTERSIDE_FIELDS];     /* decoded, NUL terminated; "" if absent */
    size_t len[FILTERSIDE_FIELDS];
    int absent[FILTERSIDE_FIELDS];
};

struct filter_side {
    struct io_in in;
    struct io_out out;
    char inbuf[FILTERPROTO_LINE_MAX];
    char outbuf[4096];
    char line[FILTERPROTO_LINE_MAX];
    char decoded[FILTERPROTO_LINE_MAX + FILTERSIDE_FIELDS];
    char token[16];                     /* the last event's */
};

/* Read "filter 1" on fd 0, answer with the events wanted (1 << FILTER_x).
 * 0, or -1 when the proxy speaks another protocol or went away. */
int filterside_start(struct filter_side *fs, unsigned events);
/* The next event: 1, 0 at the end of the connection, -1 on a line that is
 * not a valid event. */
int filterside_next(struct filter_side *fs, struct filter_request *r);
/* One answer line (a verdict or a modifier), LF added; a verdict gets
 * the event's token after its first word. */
int filterside_say(struct filter_side *fs, const char *line);
/* "header NAME VALUE" with VALUE in xtext. */
int filterside_header(struct filter_side *fs, const char *name, const char *value, size_t n);
int filterside_flush(struct filter_side *fs);

#endif
