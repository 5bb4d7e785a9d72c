/* Content-Type and Content-Disposition values (RFC 2045, 2183, 2231):
 * the type, the boundary, and every file name, read the way the strictest
 * and the most lenient mail readers read them, so that a name cannot hide
 * in the difference. */
#include <stdlib.h>
#include <string.h>

#include "bodycheck.h"

static int space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int token_char(unsigned char c)
{
    return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?=", c);
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* White space and (nested (comments)); an unclosed comment is not one.
 * Used before the type only: an unclosed comment costs a scan to the end
 * of the value, which a few calls per field can afford and one call per
 * parameter cannot. */
static size_t skip_cfws(const char *v, size_t n, size_t i)
{
    for (;;) {
        size_t j, depth = 0;
        while (i < n && space(v[i])) i++;
        if (i == n || v[i] != '(') return i;
        for (j = i; j < n; j++) {
            if (v[j] == '\\' && j + 1 < n) j++;
            else if (v[j] == '(') depth++;
            else if (v[j] == ')' && !--depth) break;
        }
        if (j == n) return i;
        i = j + 1;
    }
}

void param_type(const char *v, size_t n, char *type, size_t size)
{
    size_t i = skip_cfws(v, n, 0), a = i, o = 0, b;
    type[0] = 0;
    while (i < n && token_char((unsigned char)v[i])) i++;
    if (i == a) return;
    b = skip_cfws(v, n, i);
    if (b == n || v[b] != '/') return;
    b = skip_cfws(v, n, b + 1);
    while (a < i && o + 1 < size) type[o++] = lower(v[a++]);
    if (o + 1 < size) type[o++] = '/';
    a = b;
    while (b < n && token_char((unsigned char)v[b])) b++;
    if (b == a) { type[0] = 0; return; }
    while (a < b && o + 1 < size) type[o++] = lower(v[a++]);
    type[o] = 0;
}

/* One parameter: its attribute (lower case), its value read strictly (a
 * quoted-string, or up to white space or ";") and leniently (everything
 * up to the next ";" outside quotes, quotes removed, trimmed). */
struct param {
    char attr[64];
    size_t strict_len, lenient_len;
    char strict[BODYCHECK_FIELD_MAX];
    char lenient[BODYCHECK_FIELD_MAX];
};

static struct param param;              /* one parameter at a time */

static int attr_char(char c)
{
    return !space(c) && c != ';' && c != '=' && c != '"';
}

static size_t skip_space(const char *v, size_t n, size_t i)
{
    while (i < n && space(v[i])) i++;
    return i;
}

/* Read the next parameter from v[*i..]: 1, or 0 at the end.  A word
 * without "=" (the type, "attachment", a comment, junk) is passed over,
 * so a missing ";" does not hide the parameter after it; a comment with
 * a "=" in it hides what follows in the strict reading, not in the
 * lenient one. */
static int param_next(const char *v, size_t n, size_t *ip, struct param *p)
{
    size_t i = *ip;
    for (;;) {
        size_t a, eq, k;
        int quoted = 0;
        while (i < n && (space(v[i]) || v[i] == ';')) i++;
        if (i == n) { *ip = i; return 0; }
        for (a = i; i < n && attr_char(v[i]); i++) continue;
        if (i == a) { i++; continue; }              /* a stray '=' or '"' */
        eq = skip_space(v, n, i);
        if (eq == n || v[eq] != '=') continue;
        if (i - a < sizeof p->attr) {
            for (k = 0; a < i; k++, a++) p->attr[k] = lower(v[a]);
            p->attr[k] = 0;
        } else {
            p->attr[0] = 0;                          /* no attribute we know */
        }
        i = skip_space(v, n, eq + 1);
        /* strict */
        p->strict_len = 0;
        if (i < n && v[i] == '"') {
            for (k = i + 1; k < n && v[k] != '"'; k++) {
                if (v[k] == '\\' && k + 1 < n) k++;
                if (p->strict_len < sizeof p->strict) p->strict[p->strict_len++] = v[k];
            }
        } else {
            for (k = i; k < n && !space(v[k]) && v[k] != ';'; k++)
                if (p->strict_len < sizeof p->strict) p->strict[p->strict_len++] = v[k];
        }
        /* lenient, and the end of this parameter */
        p->lenient_len = 0;
        for (; i < n && (quoted || v[i] != ';'); i++) {
            if (v[i] == '"') { quoted = !quoted; continue; }
            if (quoted && v[i] == '\\' && i + 1 < n) i++;
            if (p->lenient_len < sizeof p->lenient) p->lenient[p->lenient_len++] = v[i];
        }
        while (p->lenient_len && space(p->lenient[p->lenient_len - 1])) p->lenient_len--;
        *ip = i;
        return 1;
    }
}

long param_boundary(const char *v, size_t n, char *out, size_t size)
{
    struct param *p = &param;
    size_t i = 0;
    while (param_next(v, n, &i, p)) {
        if (strcmp(p->attr, "boundary")) continue;
        if (p->strict_len > size) return -1;
        memcpy(out, p->strict, p->strict_len);
        return (long)p->strict_len;
    }
    return 0;
}

/* RFC 2231 section numbers: past this one, every number reads as it. */
#define SECTION_ABSURD 100000

/* "name" and "filename", with their RFC 2231 forms: family 0 or 1, the
 * section (-1 for none), whether it is extended, whether its number has
 * a leading zero; -1 for another attribute. */
static int family(const char *attr, long *section, int *extended, int *padded)
{
    static const char *const names[] = { "name", "filename" };
    int f;
    for (f = 0; f < 2; f++) {
        size_t k = strlen(names[f]);
        const char *r = attr + k;
        if (strncmp(attr, names[f], k)) continue;
        *section = -1;
        *extended = *padded = 0;
        if (!*r) return f;
        if (*r++ != '*') continue;
        if (!*r) { *extended = 1; return f; }
        if (*r < '0' || *r > '9') continue;
        *padded = r[0] == '0' && r[1] >= '0' && r[1] <= '9';
        for (*section = 0; *r >= '0' && *r <= '9'; r++)
            if (*section < SECTION_ABSURD) *section = *section * 10 + (*r - '0');
        if (*section > SECTION_ABSURD) *section = SECTION_ABSURD;
        if (*r == '*') { *extended = 1; r++; }
        if (!*r) return f;
    }
    return -1;
}

struct section {
    unsigned char family, extended, padded;
    unsigned index, order;              /* index <= SECTION_ABSURD */
    unsigned short off, len;            /* in section_text */
};

/* Every section of a value takes at least 8 octets of it ("name*0=x"). */
#define SECTIONS_MAX (BODYCHECK_FIELD_MAX / 8)

static struct section sections[SECTIONS_MAX];
static char section_text[BODYCHECK_FIELD_MAX];
static char converted[2 * BODYCHECK_FIELD_MAX], words[2 * BODYCHECK_FIELD_MAX];

static int section_order(const void *a, const void *b)
{
    const struct section *x = a, *y = b;
    if (x->family != y->family) return x->family < y->family ? -1 : 1;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    return x->order < y->order ? -1 : 1;
}

/* A name in a charset: as converted, and with its encoded-words decoded
 * (which RFC 2047 does not allow inside a parameter, but every mail
 * reader does). */
static void deliver(const char *charset, size_t clen, const char *s, size_t n,
                    param_name_fn *fn, void *ctx)
{
    size_t a = decode_charset(converted, sizeof converted, charset, clen, s, n), b;
    fn(ctx, converted, a);
    b = decode_words(words, sizeof words, converted, a);
    if (b != a || memcmp(words, converted, a)) fn(ctx, words, b);
}

/* RFC 2231 "charset'language'text": deliver the text, %XX decoded. */
static void deliver_extended(const char *s, size_t n, param_name_fn *fn, void *ctx)
{
    static char plain[BODYCHECK_FIELD_MAX];
    const char *q1 = memchr(s, '\'', n), *q2 = q1 ? memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - s)) : 0;
    size_t clen = 0, k;
    if (q2) {
        clen = (size_t)(q1 - s);
        k = decode_percent(plain, sizeof plain, q2 + 1, n - (size_t)(q2 + 1 - s));
    } else {
        k = decode_percent(plain, sizeof plain, s, n);
    }
    deliver(s, clen, plain, k, fn, ctx);
}

/* How a reader takes sections that repeat a number: all of them (Python's
 * email), the first (going on, or stopping there as Thunderbird does),
 * the last (a reader that keeps them by number). */
enum take { TAKE_ALL, TAKE_FIRST, TAKE_FIRST_STOP, TAKE_LAST };

/* One reading of the sections [from, to) of a family, sorted by number:
 * into whole[], its length; the charset from its first section, when
 * that one is extended and has a "charset'language'" prefix. */
static char whole[BODYCHECK_FIELD_MAX];

static size_t reading(size_t from, size_t to, enum take take, int stop_at_gap, int drop_padded,
                      const char **charset, size_t *clen)
{
    size_t len = 0, i = from, g, j;
    unsigned expected = 0;
    int first = 1;
    *charset = "";
    *clen = 0;
    for (; i < to; i = g) {
        size_t a = to, b = to, count = 0;
        for (g = i; g < to && sections[g].index == sections[i].index; g++) {
            if (drop_padded && sections[g].padded) continue;
            if (a == to) a = g;
            b = g;
            count++;
        }
        if (!count) continue;
        if (stop_at_gap && sections[i].index != expected) break;
        expected = sections[i].index + 1;
        for (j = i; j < g; j++) {
            const char *s = section_text + sections[j].off;
            size_t n = sections[j].len;
            if (drop_padded && sections[j].padded) continue;
            if (take != TAKE_ALL && j != (take == TAKE_LAST ? b : a)) continue;
            if (first && sections[j].extended) {
                const char *q1 = memchr(s, '\'', n), *q2 = q1 ? memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - s)) : 0;
                if (q2) {
                    *charset = s;
                    *clen = (size_t)(q1 - s);
                    n -= (size_t)(q2 + 1 - s);
                    s = q2 + 1;
                }
            }
            first = 0;
            if (sections[j].extended) {
                len += decode_percent(whole + len, sizeof whole - len, s, n);
            } else {
                size_t k = n < sizeof whole - len ? n : sizeof whole - len;
                memcpy(whole + len, s, k);
                len += k;
            }
        }
        if (take == TAKE_FIRST_STOP && count > 1) break;
    }
    return len;
}

/* Gaps (no section 0, a number skipped, an absurd one) and repeated
 * numbers among [from, to), with or without the zero-padded ones. */
static void shape(size_t from, size_t to, int drop_padded, int *gap, int *repeat)
{
    unsigned expected = 0;
    int any = 0;
    size_t i;
    *gap = *repeat = 0;
    for (i = from; i < to; i++) {
        if (drop_padded && sections[i].padded) continue;
        if (any && sections[i].index + 1 == expected) *repeat = 1;
        else if (sections[i].index != expected) *gap = 1;
        expected = sections[i].index + 1;
        any = 1;
    }
}

/* The sections of one family as one value.  Well-formed (numbered 0, 1,
 * 2, ... once each, without leading zeros), that is the one reading.
 * Otherwise mail readers differ, and each reading is delivered: all
 * sections, or up to the first gap (where Thunderbird stops); all of a
 * repeated number, its first, or its last; zero-padded numbers as
 * numbers, or not as sections at all.  1 when malformed. */
static int assemble(size_t from, size_t to, param_name_fn *fn, void *ctx)
{
    static char previous[BODYCHECK_FIELD_MAX];
    const char *charset, *previous_charset = 0;
    size_t clen, previous_clen = 0, previous_len = 0, len, i;
    int padded = 0, drop, gap, repeat, stop, take, malformed = 0;
    for (i = from; i < to; i++) padded |= sections[i].padded;
    for (drop = 0; drop <= padded; drop++) {
        shape(from, to, drop, &gap, &repeat);
        if (!drop) malformed = padded || gap || repeat;
        for (stop = 0; stop <= gap; stop++)
            for (take = TAKE_ALL; take <= (repeat ? TAKE_LAST : TAKE_ALL); take++) {
                len = reading(from, to, (enum take)take, stop, drop, &charset, &clen);
                if (!len && malformed) continue;
                if (previous_charset && len == previous_len && clen == previous_clen &&
                    charset == previous_charset && !memcmp(whole, previous, len))
                    continue;
                deliver(charset, clen, whole, len, fn, ctx);
                if (!malformed) return 0;
                memcpy(previous, whole, len);
                previous_len = len;
                previous_charset = charset;
                previous_clen = clen;
            }
    }
    return malformed;
}

int param_names(const char *v, size_t n, param_name_fn *fn, void *ctx)
{
    struct param *p = &param;
    size_t i = 0, nsections = 0, used = 0, s, t;
    int malformed = 0;
    while (param_next(v, n, &i, p)) {
        long index;
        int extended, padded, f = family(p->attr, &index, &extended, &padded);
        if (f < 0) continue;
        if (index < 0 && extended) {
            deliver_extended(p->strict, p->strict_len, fn, ctx);
        } else if (index < 0) {
            deliver("", 0, p->strict, p->strict_len, fn, ctx);
            if (p->lenient_len != p->strict_len || memcmp(p->lenient, p->strict, p->strict_len))
                deliver("", 0, p->lenient, p->lenient_len, fn, ctx);
        } else if (nsections < SECTIONS_MAX && p->strict_len <= sizeof section_text - used) {
            struct section *sec = &sections[nsections];
            sec->family = (unsigned char)f;
            sec->extended = (unsigned char)extended;
            sec->padded = (unsigned char)padded;
            sec->index = (unsigned)index;
            sec->order = (unsigned)nsections++;
            sec->off = (unsigned short)used;
            sec->len = (unsigned short)p->strict_len;
            memcpy(section_text + used, p->strict, p->strict_len);
            used += p->strict_len;
        }
    }
    if (!nsections) return 0;
    qsort(sections, nsections, sizeof sections[0], section_order);
    for (s = 0; s < nsections; s = t) {
        for (t = s; t < nsections && sections[t].family == sections[s].family; t++) continue;
        malformed |= assemble(s, t, fn, ctx);
    }
    return malformed;
}
