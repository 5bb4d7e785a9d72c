/* Attachments inside a text body, where mail readers find them: at the
 * start of a line of the body once its transfer encoding is undone
 * (Thunderbird's mimeunty.cpp for text without a type; Outlook and
 * others for text/plain too).  uuencode ("begin 644 name"), yEnc
 * ("=ybegin ... name=name") and BinHex ("(This file must be converted
 * with BinHex 4.0)").  Recognised more leniently than any reader does,
 * since a line taken for one needlessly costs only a check of its name.
 *
 * The body streams through: of a decoded line only the first octets are
 * kept, and only when its first octet could start one of them.  A bare
 * CR ends a decoded line too, as it does for some readers. */
#include <string.h>
#include <strings.h>

#include "bodycheck.h"

/* The octets that decide whether a line may still be one of them. */
#define DECIDES 8

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

static int starts(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && !strncasecmp(s, lit, k);
}

static const char binhex[] = "(This file must be converted with BinHex";

/* May a line that starts with these DECIDES octets be one of them? */
static int could_be(const char *s)
{
    return (starts(s, DECIDES, "begin") && (blank(s[5]) || s[5] == '-')) ||
           (starts(s, DECIDES, "=ybegin") && blank(s[7])) || !strncasecmp(s, binhex, DECIDES);
}

static void found(struct embedded *e, const char *s, size_t n)
{
    if (n) e->fn(e->ctx, EMBEDDED_NAME, s, n);
}

/* The name as far as the line goes, and its first word (a reader that
 * splits the line into words). */
static void name_and_word(struct embedded *e, const char *s, size_t n)
{
    size_t k = 0;
    found(e, s, n);
    while (k < n && !blank(s[k])) k++;
    if (k < n) found(e, s, k);
}

/* "begin" ["-base64"] blanks, 1 to 4 digits (the mode), blanks, the name
 * (Thunderbird: "begin ", 3 or 4 octal digits, " "). */
static void uuencode(struct embedded *e, const char *s, size_t n)
{
    size_t i = 5, a;
    if (starts(s + i, n - i, "-base64")) i += 7;
    if (i == n || !blank(s[i])) return;
    while (i < n && blank(s[i])) i++;
    for (a = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) continue;
    if (i == a || i - a > 4 || i == n || !blank(s[i])) return;
    while (i < n && blank(s[i])) i++;
    if (e->too_long) {
        e->fn(e->ctx, EMBEDDED_UNCHECKED, 0, 0);
        return;
    }
    name_and_word(e, s + i, n - i);
}

/* "=ybegin" and keywords, the name being the last: everything after
 * "name=" (yEnc, Thunderbird), or the word after the first or the last
 * "name=" (a reader that reads keyword=value words). */
static void yenc(struct embedded *e, const char *s, size_t n)
{
    size_t i, first = 0, last = 0;
    if (e->too_long) {
        e->fn(e->ctx, EMBEDDED_UNCHECKED, 0, 0);
        return;
    }
    for (i = 8; i + 5 <= n; i++)
        if (blank(s[i - 1]) && starts(s + i, n - i, "name=")) {
            if (!first) first = i + 5;
            last = i + 5;
        }
    if (!first) return;
    name_and_word(e, s + first, n - first);
    if (last != first) name_and_word(e, s + last, n - last);
}

static void line_done(struct embedded *e)
{
    const char *s = e->keep;
    size_t n = e->keep_len;
    if (e->candidate) {
        if (starts(s, n, binhex)) e->fn(e->ctx, EMBEDDED_UNCHECKED, 0, 0);
        else if (starts(s, n, "=ybegin") && n > 7 && blank(s[7])) yenc(e, s, n);
        else if (starts(s, n, "begin")) uuencode(e, s, n);
    }
    e->line_len = 0;
    e->keep_len = 0;
    e->candidate = e->too_long = 0;
}

/* Decoded octets of a line: no CR, no LF among them. */
static void text(struct embedded *e, const char *p, size_t n)
{
    size_t k;
    e->after_cr = 0;
    if (!e->line_len)
        e->candidate = p[0] == 'b' || p[0] == 'B' || p[0] == '=' || p[0] == '(';
    e->line_len += n;
    if (!e->candidate) return;
    k = sizeof e->keep - e->keep_len;
    if (n > k) e->too_long = 1;
    else k = n;
    memcpy(e->keep + e->keep_len, p, k);
    e->keep_len += k;
    if (e->candidate == 1 && e->keep_len >= DECIDES) e->candidate = could_be(e->keep) ? 2 : 0;
}

static void octet(struct embedded *e, unsigned char c)
{
    char ch = (char)c;
    if (!e->candidate && e->line_len && c != '\r' && c != '\n') {     /* most octets */
        e->line_len++;
        return;
    }
    if (c == '\n' && e->after_cr) {
        e->after_cr = 0;
        return;
    }
    if (c == '\r' || c == '\n') {
        line_done(e);
        e->after_cr = c == '\r';
        return;
    }
    text(e, &ch, 1);
}

static int hex(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The value of each octet in base64, -1 for none: a table, since every
 * octet of a base64 text body goes through it. */
static signed char base64[256];

static void base64_table(void)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int i;
    if (base64['/']) return;
    memset(base64, -1, sizeof base64);
    for (i = 0; i < 64; i++) base64[(unsigned char)alphabet[i]] = (signed char)i;
}

/* What was held after "=" is no escape: as it is (its blanks as spaces). */
static void qp_release(struct embedded *e)
{
    int qp = e->qp;
    unsigned long long i;
    e->qp = 0;
    if (!qp) return;
    octet(e, '=');
    if (qp == 2) octet(e, e->qp_digit);
    else for (i = 0; i < e->qp_space; i++) octet(e, ' ');
}

/* RFC 2045 6.7: "=XX" an octet; "=" then only blanks to the line end, a
 * soft line break; any other "=" as it is. */
static void quoted_printable(struct embedded *e, unsigned char c)
{
    if (e->qp == 1) {
        if (blank((char)c)) {
            e->qp_space++;
            return;
        }
        if (!e->qp_space && hex(c) >= 0) {
            e->qp = 2;
            e->qp_digit = c;
            return;
        }
        qp_release(e);
    } else if (e->qp == 2) {
        if (hex(c) >= 0) {
            e->qp = 0;
            octet(e, (unsigned char)(hex(e->qp_digit) << 4 | hex(c)));
            return;
        }
        qp_release(e);
    }
    if (c == '=') {
        e->qp = 1;
        e->qp_space = 0;
    } else {
        octet(e, c);
    }
}

void embedded_start(struct embedded *e, enum transfer t, embedded_fn *fn, void *ctx)
{
    memset(e, 0, sizeof *e);
    e->fn = fn;
    e->ctx = ctx;
    e->transfer = t;
    e->active = 1;
    base64_table();
}

void embedded_feed(struct embedded *e, const char *p, size_t n)
{
    size_t i;
    if (!e->active) return;
    switch (e->transfer) {
    case TRANSFER_IDENTITY:
        while (n) {
            const char *cr = memchr(p, '\r', n);
            size_t k = cr ? (size_t)(cr - p) : n;
            if (k) text(e, p, k);
            if (!cr) break;
            octet(e, '\r');
            p += k + 1;
            n -= k + 1;
        }
        break;
    case TRANSFER_QUOTED_PRINTABLE:
        for (i = 0; i < n; i++) quoted_printable(e, (unsigned char)p[i]);
        break;
    case TRANSFER_BASE64:
        /* Other octets are passed over; "=" ends a group (what follows
         * is read as a new one, as readers of concatenated base64 do). */
        for (i = 0; i < n; i++) {
            int v = base64[(unsigned char)p[i]];
            if (v >= 0) {
                e->bits = (e->bits << 6 | (unsigned long)v) & 0xffffff;
                e->nbits += 6;
                if (e->nbits >= 8) {
                    e->nbits -= 8;
                    octet(e, (unsigned char)(e->bits >> e->nbits & 0xff));
                }
            } else if (p[i] == '=') {
                e->bits = e->nbits = 0;
            }
        }
        break;
    }
}

void embedded_line_end(struct embedded *e)
{
    if (!e->active) return;
    switch (e->transfer) {
    case TRANSFER_IDENTITY:
        octet(e, '\n');
        break;
    case TRANSFER_QUOTED_PRINTABLE:
        if (e->qp == 1) {               /* a soft line break */
            e->qp = 0;
            break;
        }
        qp_release(e);
        octet(e, '\n');
        break;
    case TRANSFER_BASE64:
        break;
    }
}

void embedded_end(struct embedded *e)
{
    if (!e->active) return;
    if (e->transfer == TRANSFER_QUOTED_PRINTABLE && e->qp == 2) qp_release(e);
    if (e->line_len) line_done(e);
    e->active = 0;
}
