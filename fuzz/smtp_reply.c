/* Smarthost replies, as smtp-forward reads them (CRLF required) and as
 * smtp-proxyd reads smtp-forward's (LF, an optional CR dropped): each
 * line alone (smtp_reply_line), whole replies read from a descriptor that
 * gives the bytes in pieces (smtp_reply_read, io_getline underneath), and
 * what the client is then sent (smtp_reply_format).
 * Input: a mode byte, then the bytes the server sends. */
#include <string.h>

#include "deadline.h"
#include "fuzz.h"
#include "io.h"
#include "smtp_reply.h"

static void check_line(const uint8_t *p, size_t n)
{
    char *line = fuzz_dup(p, n);
    int code = -1, last = -1;
    if (smtp_reply_line(line, n, &code, &last) == 0) {
        size_t i;
        FUZZ_ASSERT(code >= 200 && code <= 559);
        FUZZ_ASSERT(last == 0 || last == 1);
        FUZZ_ASSERT(n >= 3);
        for (i = 3; i < n; i++)
            FUZZ_ASSERT(line[i] == '\t' || (line[i] >= 32 && line[i] <= 126));
    }
    free(line);
}

/* What the client gets: CRLF lines of at most 512 octets, the code on
 * each, printable, an enhanced code of the right class. */
static void check_format(const struct smtp_reply *r, int code, size_t size)
{
    char *out = malloc(size ? size : 1);
    size_t n = smtp_reply_format(r, code, out, size), i, start = 0;
    if (!out) abort();
    FUZZ_ASSERT(n < (size ? size : 1));
    if (n) {
        int c = code ? code : r->code;
        FUZZ_ASSERT(out[n] == 0);
        for (i = 0; i < n; i++) {
            if (out[i] == '\n') {
                size_t len = i + 1 - start;
                FUZZ_ASSERT(len <= SMTP_REPLY_OUT_LINE && len >= 6);
                FUZZ_ASSERT(out[i - 1] == '\r');
                FUZZ_ASSERT(out[start] - '0' == c / 100);
                FUZZ_ASSERT(out[start + 3] == ' ' || out[start + 3] == '-');
                FUZZ_ASSERT(out[start + 4] - '0' == c / 100 || len == 6);
                start = i + 1;
            } else if (out[i] == '\r') {
                FUZZ_ASSERT(i + 1 < n && out[i + 1] == '\n');
            } else {
                FUZZ_ASSERT(out[i] == '\t' || (out[i] >= 32 && out[i] <= 126));
            }
        }
        FUZZ_ASSERT(start == n);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct smtp_reply r;
    struct fuzz_input in = { data, size };
    unsigned mode = fuzz_byte(&in), bufsize;
    int crlf = mode & 1, e, replies = 0;
    struct io_in io;
    char *buf;
    const uint8_t *p, *end;

    /* Each line alone. */
    for (p = in.p, end = in.p + in.n; p < end;) {
        const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
        size_t k = lf ? (size_t)(lf - p) : (size_t)(end - p);
        check_line(p, k && p[k - 1] == '\r' ? k - 1 : k);
        p += k + 1;
    }

    /* Whole replies, from a buffer as small as smtp_reply_read allows
     * (one line of SMTP_REPLY_LINE_MAX) or as the programs have it. */
    bufsize = mode & 2 ? SMTP_REPLY_LINE_MAX + 1 + (mode >> 2) : 8192;
    buf = malloc(bufsize);
    if (!buf) abort();
    fuzz_fd_set(in.p, in.n, (uint32_t)size * 2654435761u ^ mode);
    io_in_init(&io, fuzz_fd(), buf, bufsize);
    for (;;) {
        e = smtp_reply_read(&io, &r, crlf, DEADLINE_NONE);
        FUZZ_ASSERT(e == SMTP_REPLY_OK || e == SMTP_REPLY_EOF || e == SMTP_REPLY_MALFORMED ||
                    e == SMTP_REPLY_IOERR);
        FUZZ_ASSERT(io.start <= io.end && io.end <= io.size);
        if (e != SMTP_REPLY_OK) break;
        FUZZ_ASSERT(r.code >= 200 && r.code <= 559);
        FUZZ_ASSERT(r.lines >= 1 && r.lines <= SMTP_REPLY_LINES);
        FUZZ_ASSERT(r.len < sizeof r.text && r.text[r.len] == 0 && strlen(r.text) == r.len);
        FUZZ_ASSERT(r.len && r.text[r.len - 1] == '\n');
        check_format(&r, 0, sizeof r.text * 2);
        check_format(&r, mode & 4 ? 451 : 0, 1 + (mode * 37) % 2048);
        replies++;
    }
    /* Every line is read or the reply is refused; none is read twice. */
    FUZZ_ASSERT(replies <= (int)in.n / 4);
    free(buf);
    return 0;
}
