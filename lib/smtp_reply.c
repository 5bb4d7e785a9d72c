#include <stdio.h>
#include <string.h>

#include "smtp_reply.h"

int smtp_reply_line(const char *line, size_t n, int *code, int *last)
{
    size_t i;
    if (n < 3) return -1;
    if (line[0] < '2' || line[0] > '5') return -1;
    if (line[1] < '0' || line[1] > '5') return -1;
    if (line[2] < '0' || line[2] > '9') return -1;
    *code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (n == 3) {
        *last = 1;
        return 0;
    }
    if (line[3] != ' ' && line[3] != '-') return -1;
    *last = line[3] == ' ';
    for (i = 4; i < n; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 32 && c != '\t') || c > 126) return -1;
    }
    return 0;
}

int smtp_reply_read(struct io_in *in, struct smtp_reply *r, int crlf, int64_t deadline)
{
    char line[SMTP_REPLY_LINE_MAX + 1];
    r->code = 0;
    r->lines = 0;
    r->len = 0;
    r->text[0] = 0;
    for (;;) {
        int code, last;
        ssize_t n = io_getline(in, line, sizeof line, deadline);
        size_t len;
        if (n == IO_EOF) return SMTP_REPLY_EOF;
        if (n == IO_ERROR) return SMTP_REPLY_IOERR;
        if (n == IO_TOOLONG) return SMTP_REPLY_MALFORMED;
        len = (size_t)n - 1;
        if (len && line[len - 1] == '\r') len--;
        else if (crlf) return SMTP_REPLY_MALFORMED;
        if (smtp_reply_line(line, len, &code, &last) < 0) return SMTP_REPLY_MALFORMED;
        if (r->lines && code != r->code) return SMTP_REPLY_MALFORMED;
        if (++r->lines > SMTP_REPLY_LINES) return SMTP_REPLY_MALFORMED;
        if (r->len + len + 2 > sizeof r->text) return SMTP_REPLY_MALFORMED;
        r->code = code;
        memcpy(r->text + r->len, line, len);
        r->len += len;
        r->text[r->len++] = '\n';
        r->text[r->len] = 0;
        if (last) return SMTP_REPLY_OK;
    }
}

void smtp_reply_set(struct smtp_reply *r, int code, const char *text)
{
    int n = snprintf(r->text, sizeof r->text, "%03d %s\n", code, text);
    r->code = code;
    r->lines = 1;
    r->len = n < 0 ? 0 : (size_t)n < sizeof r->text ? (size_t)n : sizeof r->text - 1;
}

static size_t digits(const char *s, size_t n, size_t min, size_t max)
{
    size_t i = 0;
    while (i < n && i < max && s[i] >= '0' && s[i] <= '9') i++;
    return i >= min ? i : 0;
}

int smtp_enhanced_code_length(const char *s, size_t n)
{
    size_t i = 0, d;
    if (n < 5 || s[0] < '2' || s[0] > '5' || s[1] != '.') return 0;
    i = 2;
    if (!(d = digits(s + i, n - i, 1, 3))) return 0;
    i += d;
    if (i >= n || s[i] != '.') return 0;
    i++;
    if (!(d = digits(s + i, n - i, 1, 3))) return 0;
    i += d;
    if (i < n && s[i] != ' ') return 0;
    return (int)i;
}

size_t smtp_reply_format(const struct smtp_reply *r, int code, char *out, size_t size)
{
    const char *p = r->text, *end = r->text + r->len;
    size_t o = 0;
    if (!code) code = r->code;
    while (p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        const char *text;
        size_t textlen, need, start = o;
        char sep;
        if (!lf) break;
        sep = lf - p > 3 ? p[3] : ' ';
        text = lf - p > 4 ? p + 4 : lf;
        textlen = (size_t)(lf - text);
        need = 4 + 6 + textlen + 2;
        if (o + need + 1 > size) return 0;
        o += (size_t)snprintf(out + o, size - o, "%03d%c", code, sep);
        if (smtp_enhanced_code_length(text, textlen) && text[0] - '0' == code / 100) {
            memcpy(out + o, text, textlen);
            o += textlen;
        } else {
            size_t skip = (size_t)smtp_enhanced_code_length(text, textlen);
            if (skip) {                 /* class differs from code: replace */
                text += skip;
                textlen -= skip;
                if (textlen && *text == ' ') { text++; textlen--; }
            }
            o += (size_t)snprintf(out + o, size - o, "%d.0.0%s", code / 100, textlen ? " " : "");
            memcpy(out + o, text, textlen);
            o += textlen;
        }
        if (o - start > SMTP_REPLY_OUT_LINE - 2) o = start + SMTP_REPLY_OUT_LINE - 2;
        out[o++] = '\r';
        out[o++] = '\n';
        p = lf + 1;
    }
    out[o] = 0;
    return o;
}
