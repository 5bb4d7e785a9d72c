/* The DATA stream of RFC 5321 section 4.1.1.4, both ways.
 *
 * Receiving (smtp_undot): only CRLF "." CRLF ends the message.  A bare CR
 * or bare LF anywhere marks the message bad and never starts a line, so it
 * can never end the data or smuggle a second message (the "SMTP smuggling"
 * class).  Leading dots are removed; the message keeps the CRLF before
 * the final dot.
 *
 * Sending (smtp_dot): a leading dot is doubled, a bare LF or bare CR
 * becomes CRLF, and smtp_dot_end() closes the message with CRLF if it did
 * not end in one, then "." CRLF. */
#ifndef NOQUEUE_SMTP_DATA_H
#define NOQUEUE_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

#define SMTP_DATA_BARE_EOL  1u    /* a bare CR or LF was seen */
#define SMTP_DATA_DOT_LINES 2u    /* some line started with a dot */

struct smtp_undot {
    int state;
    unsigned flags;
    uint64_t size;                /* message octets produced so far */
    int done;                     /* CRLF . CRLF seen */
};

void smtp_undot_init(struct smtp_undot *u);
/* Consume input up to the end of data.  Message bytes go to out, at most
 * 2 * n of them (a lone CR held back is released with the next byte); the
 * caller's out has room for outsize bytes, outsize >= 2 * n.  Returns the
 * number of input bytes consumed (less than n only when done). */
size_t smtp_undot_feed(struct smtp_undot *u, const char *in, size_t n,
                       char *out, size_t *outlen);

struct smtp_dot {
    int state;
};

void smtp_dot_init(struct smtp_dot *d);
/* Encode n message bytes into out (room for 2 * n + 2 bytes). */
size_t smtp_dot_feed(struct smtp_dot *d, const char *in, size_t n, char *out);
/* The end of the message: at most 5 bytes into out. */
size_t smtp_dot_end(struct smtp_dot *d, char *out);

#endif
