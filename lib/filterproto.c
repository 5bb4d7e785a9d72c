#include <string.h>

#include "filterproto.h"
#include "header.h"
#include "scan.h"
#include "xtext.h"

static const char *const events[FILTER_EVENTS] = {
    "connect", "helo", "tls", "mail", "rcpt", "data", "eom", "rset", "report"
};

const char *filterproto_event_name(enum filter_event ev)
{
    return ev < FILTER_EVENTS ? events[ev] : "?";
}

/* The next space-separated word of s[*i..n-1]. */
static int word(const char *s, size_t n, size_t *i, const char **w, size_t *wlen)
{
    size_t j = *i, start;
    if (j >= n) return 0;
    if (j) {
        if (s[j] != ' ') return 0;
        j++;
    }
    start = j;
    while (j < n && s[j] != ' ') j++;
    if (j == start) return 0;           /* an empty word: not consumed */
    *i = j;
    *w = s + start;
    *wlen = j - start;
    return 1;
}

static int is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(w, lit, n);
}

int filterproto_parse_hello(const char *line, size_t n, unsigned *mask)
{
    size_t i = 0, wl;
    const char *w;
    unsigned m = 0;
    if (!word(line, n, &i, &w, &wl) || !is(w, wl, "filter")) return -1;
    if (!word(line, n, &i, &w, &wl) || !is(w, wl, "1")) return -1;
    while (word(line, n, &i, &w, &wl)) {
        int ev;
        for (ev = 0; ev < FILTER_EVENTS; ev++)
            if (is(w, wl, events[ev])) break;
        if (ev == FILTER_EVENTS) return -1;
        m |= 1u << ev;
    }
    if (i != n) return -1;
    *mask = m;
    return 0;
}

static int printable(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) return 0;
    return 1;
}

static int verdict_with_text(const char *line, size_t n, size_t i, int lo, int hi,
                             struct filter_line *out)
{
    unsigned long code;
    char digits[4];
    if (n - i < 4 || line[i] != ' ') return -1;
    memcpy(digits, line + i + 1, 3);
    digits[3] = 0;
    if (!scan_ulong(digits, 999, &code) || (int)code < lo || (int)code > hi) return -1;
    i += 4;
    out->code = (int)code;
    if (i < n) {
        if (line[i] != ' ' || i + 1 == n) return -1;
        i++;
    }
    out->text = line + i;
    out->textlen = n - i;
    if (out->textlen > 400) return -1;          /* printable: the whole line is */
    return 0;
}

/* The token after a verdict word: the event's, echoed. */
static int token(const char *line, size_t n, size_t *i, unsigned long *out)
{
    const char *w;
    size_t wl;
    char num[16];
    if (!word(line, n, i, &w, &wl) || wl >= sizeof num) return -1;
    memcpy(num, w, wl);
    num[wl] = 0;
    return scan_ulong(num, FILTERPROTO_TOKEN_MAX, out) ? 0 : -1;
}

int filterproto_parse_line(const char *line, size_t n, struct filter_line *out)
{
    size_t i = 0, wl, vl;
    const char *w, *v;
    memset(out, 0, sizeof *out);
    out->text = "";
    /* Every word of every line is printable ASCII: a NUL or a control
     * byte must not end a number or a name early. */
    if (!printable(line, n) || !word(line, n, &i, &w, &wl)) return -1;
    if (is(w, wl, "continue")) out->kind = FILTER_CONTINUE;
    else if (is(w, wl, "accept")) out->kind = FILTER_ACCEPT;
    else if (is(w, wl, "discard")) out->kind = FILTER_DISCARD;
    else if (is(w, wl, "reject")) {
        out->kind = FILTER_REJECT;
        if (token(line, n, &i, &out->token) < 0) return -1;
        return verdict_with_text(line, n, i, 500, 599, out);
    } else if (is(w, wl, "tempfail")) {
        out->kind = FILTER_TEMPFAIL;
        if (token(line, n, &i, &out->token) < 0) return -1;
        return verdict_with_text(line, n, i, 400, 499, out);
    } else if (is(w, wl, "score")) {
        char num[16];
        out->kind = FILTER_SCORE;
        if (!word(line, n, &i, &v, &vl) || vl >= sizeof num) return -1;
        memcpy(num, v, vl);
        num[vl] = 0;
        if (!scan_long(num, FILTERPROTO_SCORE_MAX, &out->score)) return -1;
    } else if (is(w, wl, "class")) {
        size_t k;
        out->kind = FILTER_CLASS;
        if (!word(line, n, &i, &v, &vl) || vl > FILTERPROTO_CLASS_MAX) return -1;
        for (k = 0; k < vl; k++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", v[k]))
                return -1;
        memcpy(out->name, v, vl);
        out->name[vl] = 0;
    } else if (is(w, wl, "header")) {
        ssize_t d;
        out->kind = FILTER_HEADER;
        if (!word(line, n, &i, &v, &vl) || !header_name_valid(v, vl)) return -1;
        memcpy(out->name, v, vl);
        out->name[vl] = 0;
        if (!word(line, n, &i, &v, &vl)) return -1;
        d = xtext_decode(out->value, sizeof out->value, v, vl);
        if (d < 0 || !header_value_valid(out->value, (size_t)d)) return -1;
        out->valuelen = (size_t)d;
    } else {
        return -1;
    }
    if (filterproto_is_verdict(out->kind) && token(line, n, &i, &out->token) < 0) return -1;
    return i == n ? 0 : -1;
}

int filterproto_is_verdict(enum filter_kind kind)
{
    return kind <= FILTER_TEMPFAIL;
}

int filterproto_field(char *buf, size_t size, size_t *len, const char *field, size_t n)
{
    size_t o = *len;
    ssize_t e;
    if (o + 3 > size) return -1;       /* " x" and the NUL, at least */
    buf[o++] = ' ';
    if (!field) {
        buf[o++] = '-';
        buf[o] = 0;
    } else if (n == 1 && field[0] == '-') {
        if (o + 4 > size) return -1;
        memcpy(buf + o, "+2D", 4);
        o += 3;
    } else {
        if (!n) return -1;              /* an empty field cannot be sent */
        e = xtext_encode(buf + o, size - o, field, n);
        if (e < 0) return -1;
        o += (size_t)e;
    }
    *len = o;
    return 0;
}

ssize_t filterproto_field_decode(char *out, size_t size, const char *s, size_t n, int *absent)
{
    *absent = n == 1 && s[0] == '-';
    if (*absent) {
        if (!size) return -1;
        out[0] = 0;
        return 0;
    }
    return xtext_decode(out, size, s, n);
}
