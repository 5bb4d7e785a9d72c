/* SMTP replies from a server (RFC 5321 section 4.2), checked strictly:
 * three digits 200..599 (1xx never), the same code on every line, a space
 * or a hyphen after it, printable ASCII text, CRLF line ends, bounded line
 * length and line count. */
#ifndef NOQUEUE_SMTP_REPLY_H
#define NOQUEUE_SMTP_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"

#define SMTP_REPLY_LINE_MAX 1000   /* octets, CRLF included */
#define SMTP_REPLY_MAX     16384   /* all lines, LF-terminated */
#define SMTP_REPLY_LINES      64

struct smtp_reply {
    int code;
    unsigned lines;
    size_t len;
    char text[SMTP_REPLY_MAX];     /* "250-a\n250 b\n", NUL terminated */
};

#define SMTP_REPLY_OK          0
#define SMTP_REPLY_EOF       (-1)  /* the server closed the connection */
#define SMTP_REPLY_IOERR     (-2)  /* errno set; ETIMEDOUT at the deadline */
#define SMTP_REPLY_MALFORMED (-3)

/* One line without its line end: 0 with *code and *last set, or -1. */
int smtp_reply_line(const char *line, size_t n, int *code, int *last);

/* Read one whole reply.  crlf: lines must end in CRLF (a server), else an
 * optional CR before the LF is dropped (a local pipe). */
int smtp_reply_read(struct io_in *in, struct smtp_reply *r, int crlf, int64_t deadline);

/* Set r to a one-line reply "code text". */
void smtp_reply_set(struct smtp_reply *r, int code, const char *text);

/* Write r as CRLF lines to out, giving each line an enhanced status code
 * (RFC 2034) when it lacks one: "2.0.0", "4.0.0" or "5.0.0", and cutting a
 * line at 512 octets with its CRLF (RFC 5321 4.5.3.1.5).  code, when not
 * 0, replaces r's code.  Returns the length, or 0 when out is too small. */
#define SMTP_REPLY_OUT_LINE 512
size_t smtp_reply_format(const struct smtp_reply *r, int code, char *out, size_t size);

/* Does text start with an enhanced status code "D.D{1,3}.D{1,3} "? */
int smtp_enhanced_code_length(const char *text, size_t n);

#endif
