/* The command lines smtp-forward takes from smtp-proxyd (its protocol,
 * smtp-forward(8)), cut as cmd/smtp-forward/main.c cuts them (at LF,
 * from a buffer of its size, an over-long line skipped whole, a CR before
 * the LF dropped), then parsed by its own functions (request.c), up to
 * where it would talk to the smarthost.  What would go to the smarthost
 * ("MAIL FROM:<...> SIZE=..") must be one whole printable line (UTF-8 in
 * a path only with SMTPUTF8), whatever
 * the smarthost takes; a HEADER field must be a field, and the fields
 * added fit their buffer.  Input: a seed byte, then the command stream. */
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "request.h"
#include "smtp_command.h"

static char headers[HEADER_BLOCK_MAX];  /* as in main.c */
static size_t headers_len;

static void one_line(const char *s, size_t n)
{
    size_t i;
    FUZZ_ASSERT(n < REQUEST_LINE_MAX && strlen(s) == n);
    /* printable ASCII, and UTF-8 in a path after SMTPUTF8 (RFC 6531) */
    for (i = 0; i < n; i++) FUZZ_ASSERT((unsigned char)s[i] >= 32 && s[i] != 127);
    FUZZ_ASSERT(smtp_utf8_valid(s, n));
}

static void do_mail(const char *arg, size_t n)
{
    struct request_mail m;
    char line[REQUEST_LINE_MAX];
    const struct request_refusal *why = request_mail(arg, n, &m);
    int caps;
    if (why) {
        FUZZ_ASSERT(why->code / 100 == 5);
        return;
    }
    FUZZ_ASSERT(strspn(m.size, "0123456789") == strlen(m.size));
    FUZZ_ASSERT(!m.body[0] || !strcasecmp(m.body, "7BIT") || !strcasecmp(m.body, "8BITMIME"));
    for (caps = 0; caps < 4; caps++)
        one_line(line, request_mail_line(&m, caps & 1, caps & 2, line));
}

static void do_rcpt(const char *arg, size_t n)
{
    char line[REQUEST_LINE_MAX];
    const struct request_refusal *why = request_rcpt(arg, n, line);
    if (why) FUZZ_ASSERT(why->code / 100 == 5);
    else one_line(line, strlen(line));
}

static void do_header(const char *arg, size_t n)
{
    char field[REQUEST_FIELD_MAX];
    ssize_t d = request_header(arg, n, field);
    size_t i;
    if (d < 0) return;
    /* A field: no NUL, no bare CR or LF, lines no longer than 998. */
    FUZZ_ASSERT(!memchr(field, 0, (size_t)d));
    for (i = 0; i < (size_t)d; i++) {
        if (field[i] == '\r') FUZZ_ASSERT(i + 2 < (size_t)d && field[i + 1] == '\n' &&
                                          (field[i + 2] == ' ' || field[i + 2] == '\t'));
        if (field[i] == '\n') FUZZ_ASSERT(i && field[i - 1] == '\r');
    }
    if ((size_t)d + 2 > sizeof headers - headers_len) return;
    memcpy(headers + headers_len, field, (size_t)d);
    headers_len += (size_t)d;
    memcpy(headers + headers_len, "\r\n", 2);
    headers_len += 2;
}

static void do_data(const char *arg, size_t n)
{
    unsigned long seconds = 480;
    if (request_data(arg, n, &seconds) == 0) FUZZ_ASSERT(seconds >= 1 && seconds <= 86400);
}

static void command(char *line, size_t n)
{
    struct smtp_command c;
    if (request_split(line, n, &c)) {
        do_header(c.arg, c.arglen);
        return;
    }
    switch (c.verb) {
    case SMTP_MAIL: do_mail(c.arg, c.arglen); break;
    case SMTP_RCPT: do_rcpt(c.arg, c.arglen); break;
    case SMTP_DATA: do_data(c.arg, c.arglen); break;
    case SMTP_RSET: headers_len = 0; break;
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { CMD_BUF = 8192 };            /* cmd_buf in main.c */
    struct fuzz_input in = { data, size };
    uint32_t seed = fuzz_byte(&in) * 0x27d4eb2du + (uint32_t)size;
    char *buf = malloc(CMD_BUF), *line = malloc(CMD_BUF);
    size_t have = 0, pos = 0;
    int skipping = 0;
    if (!buf || !line) abort();
    headers_len = 0;
    for (;;) {
        const char *lf = memchr(buf, '\n', have);
        if (!lf) {
            size_t k;
            if (have == CMD_BUF) {
                have = 0;
                skipping = 1;
                continue;
            }
            if (pos == in.n) break;
            k = fuzz_chunk(&seed, in.n - pos);
            if (k > CMD_BUF - have) k = CMD_BUF - have;
            memcpy(buf + have, in.p + pos, k);
            have += k;
            pos += k;
            continue;
        }
        {
            size_t n = (size_t)(lf - buf);
            /* The line exactly, NUL terminated as main.c has it. */
            char *exact = malloc(n + 1);
            if (!exact) abort();
            memcpy(exact, buf, n);
            exact[n] = 0;
            memmove(buf, buf + n + 1, have - n - 1);
            have -= n + 1;
            if (!skipping) command(exact, n);
            skipping = 0;
            free(exact);
        }
    }
    FUZZ_ASSERT(headers_len <= sizeof headers);
    free(buf);
    free(line);
    return 0;
}
