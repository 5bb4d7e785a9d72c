#include <string.h>

#include "filterproto.h"
#include "header.h"
#include "scan.h"
#include "xtext.h"

static const char *const events[FILTER_EVENTS] = {
    "connect", "helo", "tls", "mail", "rcpt", "data", "eom", "rset", "report"
};

static const char *const contexts[CONTEXT_KINDS] = {
    "fact", "score", "client", "sender", "recipient"
};

const char *filterproto_event_name(enum filter_event ev)
{
    return ev < FILTER_EVENTS ? events[ev] : "?";
}

const char *filterproto_context_name(enum filter_context c)
{
    return c < CONTEXT_KINDS ? contexts[c] : "?";
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

int filterproto_parse_hello(const char *line, size_t n, unsigned *mask, int *version)
{
    size_t i = 0, wl;
    const char *w;
    unsigned m = 0;
    if (!word(line, n, &i, &w, &wl) || !is(w, wl, "filter")) return -1;
    if (!word(line, n, &i, &w, &wl)) return -1;
    if (is(w, wl, "1")) *version = 1;
    else if (is(w, wl, "2")) *version = 2;
    else return -1;
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

/* A decimal number up to max. */
static int number(const char *line, size_t n, size_t *i, unsigned long max, unsigned long *out)
{
    const char *w;
    size_t wl;
    char num[16];
    if (!word(line, n, i, &w, &wl) || wl >= sizeof num) return -1;
    memcpy(num, w, wl);
    num[wl] = 0;
    return scan_ulong(num, max, out) ? 0 : -1;
}

/* An xtext field that decodes to printable ASCII, spaces included, of 1
 * to max octets. */
static int text_field(const char *v, size_t vl, char *out, size_t max, size_t *len)
{
    ssize_t d = xtext_decode(out, max + 1, v, vl);
    if (d <= 0 || !scan_printable(out, (size_t)d)) return -1;
    *len = (size_t)d;
    return 0;
}

/* An address in xtext, as inside a path's brackets: checked as a client's
 * would be; "-" is the null sender where allow_null. */
static int address_field(const char *v, size_t vl, int allow_null, char *addr)
{
    char raw[SMTP_ADDRESS_MAX + 3];
    size_t used;
    ssize_t d;
    if (vl == 1 && v[0] == '-') {
        if (!allow_null) return -1;
        addr[0] = 0;
        return 0;
    }
    d = xtext_decode(raw + 1, sizeof raw - 2, v, vl);
    if (d <= 0 || !scan_printable(raw + 1, (size_t)d)) return -1;
    raw[0] = '<';
    raw[d + 1] = '>';
    if (smtp_path_parse(raw, (size_t)d + 2, 0, addr, &used) != SMTP_PATH_OK ||
        used != (size_t)d + 2)
        return -1;
    return 0;
}

/* ESMTP parameters in xtext, "-" for none: "KEY=VALUE KEY2" as a client
 * would give them. */
static int params_field(const char *v, size_t vl, char *out, size_t *len, int *absent)
{
    struct smtp_param prm;
    const char *p;
    ssize_t d = filterproto_field_decode(out, FILTERPROTO_PARAMS_MAX + 1, v, vl, absent);
    int e;
    if (d < 0) return -1;
    *len = (size_t)d;
    if (*absent) return 0;
    if (!scan_printable(out, (size_t)d)) return -1;
    p = out;
    while ((e = smtp_param_next(&p, out + d, &prm)) > 0) ;
    return e;
}

/* The token after a verdict word: the event's, echoed. */
static int token(const char *line, size_t n, size_t *i, unsigned long *out)
{
    return number(line, n, i, FILTERPROTO_TOKEN_MAX, out);
}

int filterproto_parse_line(const char *line, size_t n, struct filter_line *out)
{
    size_t i = 0, wl, vl;
    const char *w, *v;
    memset(out, 0, sizeof *out);
    out->text = "";
    /* Every word of every line is printable ASCII: a NUL or a control
     * byte must not end a number or a name early. */
    if (!scan_printable(line, n) || !word(line, n, &i, &w, &wl)) return -1;
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
    } else if (is(w, wl, "fact")) {
        out->kind = FILTER_FACT;
        if (!word(line, n, &i, &v, &vl) || !filterproto_fact_name_valid(v, vl)) return -1;
        memcpy(out->name, v, vl);
        out->name[vl] = 0;
        if (!word(line, n, &i, &v, &vl) ||
            text_field(v, vl, out->value, FILTERPROTO_FACT_VALUE_MAX, &out->valuelen) < 0)
            return -1;
    } else if (is(w, wl, "insert-header") || is(w, wl, "change-header")) {
        ssize_t d;
        out->kind = w[0] == 'i' ? FILTER_INSERT_HEADER : FILTER_CHANGE_HEADER;
        if (number(line, n, &i, 100000, &out->index) < 0) return -1;
        if (out->kind == FILTER_CHANGE_HEADER && !out->index) return -1;
        if (!word(line, n, &i, &v, &vl) || !header_name_valid(v, vl)) return -1;
        memcpy(out->name, v, vl);
        out->name[vl] = 0;
        if (!word(line, n, &i, &v, &vl)) return -1;
        d = filterproto_field_decode(out->value, sizeof out->value, v, vl, &out->value_absent);
        if (d < 0 || (out->value_absent && out->kind == FILTER_INSERT_HEADER)) return -1;
        /* What follows the colon, as it is: a space first, or none. */
        if (d && !header_value_valid(out->value + (out->value[0] == ' ' || out->value[0] == '\t'),
                                     (size_t)d - (out->value[0] == ' ' || out->value[0] == '\t')))
            return -1;
        out->valuelen = (size_t)d;
    } else if (is(w, wl, "add-recipient") || is(w, wl, "delete-recipient") ||
               is(w, wl, "change-sender")) {
        out->kind = w[0] == 'a' ? FILTER_ADD_RECIPIENT : w[0] == 'd' ? FILTER_DELETE_RECIPIENT
                                                                      : FILTER_CHANGE_SENDER;
        if (!word(line, n, &i, &v, &vl) ||
            address_field(v, vl, out->kind == FILTER_CHANGE_SENDER, out->name) < 0)
            return -1;
        if (out->kind != FILTER_DELETE_RECIPIENT) {
            if (!word(line, n, &i, &v, &vl) ||
                params_field(v, vl, out->value, &out->valuelen, &out->value_absent) < 0)
                return -1;
        }
    } else if (is(w, wl, "replace-message")) {
        out->kind = FILTER_REPLACE_MESSAGE;
    } else if (is(w, wl, "quarantine")) {
        out->kind = FILTER_QUARANTINE;
        if (!word(line, n, &i, &v, &vl) ||
            text_field(v, vl, out->value, FILTERPROTO_TEXT_MAX, &out->valuelen) < 0)
            return -1;
    } else {
        return -1;
    }
    if (filterproto_is_verdict(out->kind) && token(line, n, &i, &out->token) < 0) return -1;
    return i == n ? 0 : -1;
}

int filterproto_kind_allowed(enum filter_kind kind, int version, enum filter_event ev)
{
    switch (kind) {
    case FILTER_CLASS: return ev == FILTER_RCPT;
    case FILTER_DISCARD: return ev == FILTER_EOM;
    case FILTER_FACT: return version >= 2;
    case FILTER_INSERT_HEADER: case FILTER_CHANGE_HEADER: case FILTER_ADD_RECIPIENT:
    case FILTER_DELETE_RECIPIENT: case FILTER_CHANGE_SENDER: case FILTER_REPLACE_MESSAGE:
    case FILTER_QUARANTINE:
        return version >= 2 && ev == FILTER_EOM;
    default: return 1;
    }
}

int filterproto_fact_name_valid(const char *s, size_t n)
{
    size_t k;
    if (!n || n > FILTERPROTO_FACT_NAME_MAX || !strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]))
        return 0;
    for (k = 0; k < n; k++)
        if (!s[k] || !strchr("abcdefghijklmnopqrstuvwxyz0123456789._-", s[k])) return 0;
    return 1;
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
