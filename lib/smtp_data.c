#include <stdint.h>
#include <string.h>

#include "smtp_data.h"

/* The length of the run of bytes before the first CR or LF: in the middle
 * of a line only those two matter.  Eight bytes at a time, for both at
 * once: x has a zero byte exactly when (x - 0x01..01) & ~x & 0x80..80 is
 * not zero, and a byte of w is a CR (an LF) when that byte of w ^ 0x0d..0d
 * (w ^ 0x0a..0a) is zero; the bytes of the word that has one are then
 * looked at one by one.  Twice as fast here as two calls of musl's
 * memchr (one for each), which the body of every message went through
 * twice: received, and sent. */
static size_t ordinary(const char *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w, cr, lf;
        memcpy(&w, p + i, 8);
        cr = w ^ (ones * '\r');
        lf = w ^ (ones * '\n');
        if (((cr - ones) & ~cr & highs) | ((lf - ones) & ~lf & highs)) break;
    }
    while (i < n && p[i] != '\r' && p[i] != '\n') i++;
    return i;
}

/* Receiving states */
enum { LINE_START, IN_LINE, CR, DOT, DOT_CR };

void smtp_undot_init(struct smtp_undot *u)
{
    u->state = LINE_START;
    u->flags = 0;
    u->size = 0;
    u->done = 0;
}

size_t smtp_undot_feed(struct smtp_undot *u, const char *in, size_t n,
                       char *out, size_t *outlen)
{
    size_t i, o = 0;
    int s = u->state;
    for (i = 0; i < n && !u->done; i++) {
        char c;
        if (s == IN_LINE) {
            size_t k = ordinary(in + i, n - i);
            memcpy(out + o, in + i, k);
            o += k;
            i += k;
            if (i == n) break;
        }
        c = in[i];
        switch (s) {
        case LINE_START:
            if (c == '.') { s = DOT; break; }
            /* fall through */
        case IN_LINE:
            if (c == '\r') { s = CR; break; }
            if (c == '\n') u->flags |= SMTP_DATA_BARE_EOL;
            out[o++] = c;
            s = IN_LINE;
            break;
        case CR:
            if (c == '\n') {
                out[o++] = '\r';
                out[o++] = '\n';
                s = LINE_START;
                break;
            }
            u->flags |= SMTP_DATA_BARE_EOL;
            out[o++] = '\r';
            if (c == '\r') break;           /* this CR may still pair */
            out[o++] = c;
            s = IN_LINE;
            break;
        case DOT:
            if (c == '\r') { s = DOT_CR; break; }
            u->flags |= SMTP_DATA_DOT_LINES;   /* not the final dot */
            if (c == '\n') u->flags |= SMTP_DATA_BARE_EOL;
            out[o++] = c;                   /* the stuffed dot goes */
            s = IN_LINE;
            break;
        case DOT_CR:
            if (c == '\n') { u->done = 1; break; }
            /* ".<CR>x": a bare CR after a stuffed dot */
            u->flags |= SMTP_DATA_BARE_EOL | SMTP_DATA_DOT_LINES;
            out[o++] = '\r';
            if (c == '\r') { s = CR; break; }
            out[o++] = c;
            s = IN_LINE;
            break;
        }
    }
    u->state = s;
    u->size += o;
    *outlen = o;
    return i;
}

/* Sending states */
enum { OUT_LINE_START, OUT_IN_LINE, OUT_CR };

void smtp_dot_init(struct smtp_dot *d)
{
    d->state = OUT_LINE_START;
}

size_t smtp_dot_feed(struct smtp_dot *d, const char *in, size_t n, char *out)
{
    size_t i, o = 0;
    int s = d->state;
    for (i = 0; i < n; i++) {
        char c;
        if (s == OUT_IN_LINE) {
            size_t k = ordinary(in + i, n - i);
            memcpy(out + o, in + i, k);
            o += k;
            i += k;
            if (i == n) break;
        }
        c = in[i];
        if (s == OUT_CR) {
            out[o++] = '\r';
            out[o++] = '\n';
            s = OUT_LINE_START;
            if (c == '\n') continue;        /* CRLF */
        }
        if (c == '\r') { s = OUT_CR; continue; }
        if (c == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            s = OUT_LINE_START;
            continue;
        }
        if (s == OUT_LINE_START && c == '.') out[o++] = '.';
        out[o++] = c;
        s = OUT_IN_LINE;
    }
    d->state = s;
    return o;
}

size_t smtp_dot_end(struct smtp_dot *d, char *out)
{
    size_t o = 0;
    if (d->state != OUT_LINE_START) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    out[o++] = '.';
    out[o++] = '\r';
    out[o++] = '\n';
    d->state = OUT_LINE_START;
    return o;
}
