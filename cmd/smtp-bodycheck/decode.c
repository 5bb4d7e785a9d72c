/* Decoding what a mail reader decodes before it shows a name: RFC 2047
 * encoded-words, RFC 2231 percent escapes, and the charsets in which an
 * ASCII ".exe" is not the bytes ".exe" (UTF-16, UTF-32, UTF-7).  Other
 * charsets are ASCII-compatible for our purpose and copied. */
#include <string.h>
#include <strings.h>

#include "bodycheck.h"

struct out {
    char *p;
    size_t size, len;
};

static void put(struct out *o, unsigned char c)
{
    if (o->len < o->size) o->p[o->len++] = (char)c;
}

static void put_utf8(struct out *o, unsigned long cp)
{
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
    if (cp < 0x80) {
        put(o, (unsigned char)cp);
    } else if (cp < 0x800) {
        put(o, (unsigned char)(0xc0 | cp >> 6));
        put(o, (unsigned char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        put(o, (unsigned char)(0xe0 | cp >> 12));
        put(o, (unsigned char)(0x80 | (cp >> 6 & 0x3f)));
        put(o, (unsigned char)(0x80 | (cp & 0x3f)));
    } else {
        put(o, (unsigned char)(0xf0 | cp >> 18));
        put(o, (unsigned char)(0x80 | (cp >> 12 & 0x3f)));
        put(o, (unsigned char)(0x80 | (cp >> 6 & 0x3f)));
        put(o, (unsigned char)(0x80 | (cp & 0x3f)));
    }
}

/* UTF-16 code units to UTF-8, pairing surrogates. */
struct utf16 {
    unsigned long high;                 /* a high surrogate waiting, or 0 */
};

static void put_unit(struct out *o, struct utf16 *u, unsigned long unit)
{
    if (u->high) {
        unsigned long high = u->high;
        u->high = 0;
        if (unit >= 0xdc00 && unit <= 0xdfff) {
            put_utf8(o, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
            return;
        }
        put_utf8(o, 0xfffd);
    }
    if (unit >= 0xd800 && unit <= 0xdbff) u->high = unit;
    else put_utf8(o, unit);
}

static void unit_end(struct out *o, struct utf16 *u)
{
    if (u->high) put_utf8(o, 0xfffd);
    u->high = 0;
}

static int hex(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int base64(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

enum charset { CS_OTHER, CS_UTF16, CS_UTF16BE, CS_UTF16LE, CS_UTF32, CS_UTF32BE, CS_UTF32LE, CS_UTF7 };

static enum charset charset_kind(const char *s, size_t n)
{
    static const struct { const char *name; enum charset cs; } known[] = {
        { "utf-16", CS_UTF16 }, { "utf16", CS_UTF16 }, { "utf-16be", CS_UTF16BE },
        { "utf-16le", CS_UTF16LE }, { "ucs-2", CS_UTF16BE }, { "ucs2", CS_UTF16BE },
        { "ucs-2be", CS_UTF16BE }, { "ucs-2le", CS_UTF16LE }, { "utf-32", CS_UTF32 },
        { "utf32", CS_UTF32 }, { "utf-32be", CS_UTF32BE }, { "utf-32le", CS_UTF32LE },
        { "ucs-4", CS_UTF32BE }, { "utf-7", CS_UTF7 }, { "utf7", CS_UTF7 },
        { "unicode-1-1-utf-7", CS_UTF7 },
    };
    const char *star = memchr(s, '*', n);       /* RFC 2231 "charset*lang" */
    size_t i;
    if (star) n = (size_t)(star - s);
    for (i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == n && !strncasecmp(known[i].name, s, n)) return known[i].cs;
    return CS_OTHER;
}

static void utf16(struct out *o, const unsigned char *s, size_t n, int little)
{
    struct utf16 u = { 0 };
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        put_unit(o, &u, little ? (unsigned long)s[i] | (unsigned long)s[i + 1] << 8
                               : (unsigned long)s[i] << 8 | s[i + 1]);
    unit_end(o, &u);
    if (i < n) put_utf8(o, 0xfffd);
}

static void utf32(struct out *o, const unsigned char *s, size_t n, int little)
{
    size_t i;
    for (i = 0; i + 3 < n; i += 4)
        put_utf8(o, little ? (unsigned long)s[i] | (unsigned long)s[i + 1] << 8 |
                             (unsigned long)s[i + 2] << 16 | (unsigned long)s[i + 3] << 24
                           : (unsigned long)s[i] << 24 | (unsigned long)s[i + 1] << 16 |
                             (unsigned long)s[i + 2] << 8 | s[i + 3]);
    if (i < n) put_utf8(o, 0xfffd);
}

/* RFC 2152: "+" starts modified base64 of UTF-16, ended by "-" (dropped)
 * or by any other byte outside base64; "+-" is "+". */
static void utf7(struct out *o, const unsigned char *s, size_t n)
{
    struct utf16 u = { 0 };
    unsigned long bits = 0;
    unsigned nbits = 0;
    int in = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        int v = base64(s[i]);
        if (!in) {
            if (s[i] != '+') { put(o, s[i]); continue; }
            if (i + 1 < n && s[i + 1] == '-') { put(o, '+'); i++; continue; }
            in = 1;
            bits = nbits = 0;
            continue;
        }
        if (v >= 0) {
            bits = (bits << 6 | (unsigned long)v) & 0x3fffff;
            nbits += 6;
            if (nbits >= 16) {
                nbits -= 16;
                put_unit(o, &u, bits >> nbits & 0xffff);
            }
            continue;
        }
        in = 0;
        unit_end(o, &u);
        if (s[i] != '-') put(o, s[i]);
    }
    unit_end(o, &u);
}

size_t decode_charset(char *out, size_t size, const char *charset, size_t clen,
                      const char *s, size_t n)
{
    struct out o = { out, size, 0 };
    const unsigned char *u = (const unsigned char *)s;
    switch (charset_kind(charset, clen)) {
    case CS_UTF16:                      /* RFC 2781: big endian without a BOM */
        if (n >= 2 && u[0] == 0xff && u[1] == 0xfe) utf16(&o, u + 2, n - 2, 1);
        else if (n >= 2 && u[0] == 0xfe && u[1] == 0xff) utf16(&o, u + 2, n - 2, 0);
        else utf16(&o, u, n, 0);
        break;
    case CS_UTF16BE: utf16(&o, u, n, 0); break;
    case CS_UTF16LE: utf16(&o, u, n, 1); break;
    case CS_UTF32:
        if (n >= 4 && !memcmp(u, "\xff\xfe\0\0", 4)) utf32(&o, u + 4, n - 4, 1);
        else if (n >= 4 && !memcmp(u, "\0\0\xfe\xff", 4)) utf32(&o, u + 4, n - 4, 0);
        else utf32(&o, u, n, 0);
        break;
    case CS_UTF32BE: utf32(&o, u, n, 0); break;
    case CS_UTF32LE: utf32(&o, u, n, 1); break;
    case CS_UTF7: utf7(&o, u, n); break;
    case CS_OTHER:
        o.len = n < size ? n : size;
        memcpy(out, s, o.len);
        break;
    }
    return o.len;
}

/* Octets escaped as esc followed by two hex digits ("%XX", "=XX"); with
 * underscore, "_" is a space (RFC 2047 Q). */
static void unescape(struct out *o, const char *s, size_t n, char esc, int underscore)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (s[i] == esc && i + 2 < n && hex((unsigned char)s[i + 1]) >= 0 &&
            hex((unsigned char)s[i + 2]) >= 0) {
            put(o, (unsigned char)(hex((unsigned char)s[i + 1]) << 4 | hex((unsigned char)s[i + 2])));
            i += 2;
        } else {
            put(o, underscore && s[i] == '_' ? ' ' : (unsigned char)s[i]);
        }
    }
}

size_t decode_percent(char *out, size_t size, const char *s, size_t n)
{
    struct out o = { out, size, 0 };
    unescape(&o, s, n, '%', 0);
    return o.len;
}

/* "=?charset?B|Q?text?=" at s: its length, and its parts; 0 if it is not
 * one.  The text runs to the next "?" (RFC 2047 allows no "?" in it). */
static size_t encoded_word(const char *s, size_t n, const char **cs, size_t *cslen,
                           char *enc, const char **text, size_t *textlen)
{
    size_t i = 2, j;
    if (n < 8 || s[0] != '=' || s[1] != '?') return 0;
    while (i < n && s[i] != '?' && (unsigned char)s[i] > 32 && (unsigned char)s[i] < 127) i++;
    if (i == 2 || i + 2 >= n || s[i] != '?' || s[i + 2] != '?') return 0;
    *cs = s + 2;
    *cslen = i - 2;
    *enc = s[i + 1];
    if (*enc != 'B' && *enc != 'b' && *enc != 'Q' && *enc != 'q') return 0;
    i += 3;
    for (j = i; j < n && s[j] != '?'; j++) continue;
    if (j + 1 >= n || s[j + 1] != '=') return 0;
    *text = s + i;
    *textlen = j - i;
    return j + 2;
}

/* The octets of one word, before its charset is converted. */
static size_t word_octets(char *out, size_t size, char enc, const char *s, size_t n)
{
    struct out o = { out, size, 0 };
    size_t i;
    if (enc == 'B' || enc == 'b') {
        unsigned long bits = 0;
        unsigned nbits = 0;
        for (i = 0; i < n && s[i] != '='; i++) {
            int v = base64((unsigned char)s[i]);
            if (v < 0) continue;
            bits = (bits << 6 | (unsigned long)v) & 0xffffff;
            nbits += 6;
            if (nbits >= 8) {
                nbits -= 8;
                put(&o, (unsigned char)(bits >> nbits & 0xff));
            }
        }
        return o.len;
    }
    unescape(&o, s, n, '=', 1);
    return o.len;
}

size_t decode_words(char *out, size_t size, const char *s, size_t n)
{
    static char octets[2 * BODYCHECK_FIELD_MAX];
    struct out o = { out, size, 0 };
    size_t i = 0, after_word = 0;
    int last_was_word = 0;
    while (i < n) {
        const char *cs, *text;
        size_t cslen, textlen, k;
        char enc;
        if (s[i] == '=' && (k = encoded_word(s + i, n - i, &cs, &cslen, &enc, &text, &textlen))) {
            size_t m = word_octets(octets, sizeof octets, enc, text, textlen);
            if (last_was_word) o.len = after_word;     /* drop the space between */
            if (o.len < o.size) o.len += decode_charset(o.p + o.len, o.size - o.len, cs, cslen, octets, m);
            after_word = o.len;
            last_was_word = 1;
            i += k;
            continue;
        }
        if (s[i] != ' ' && s[i] != '\t') last_was_word = 0;
        put(&o, (unsigned char)s[i++]);
    }
    return o.len;
}
