/* Splitting a log line: its stamp, program, level, word and fields. */
#include <string.h>
#include <time.h>

#include "logstat.h"

/* TAI64 labels count from 2^62; TAI is ahead of UTC by 10 s and the leap
 * seconds since 1972, 27 of them since 2017 (s6-tai64n's labels). */
#define TAI_BASE 0x4000000000000000ULL
#define TAI_OFFSET 37

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int digits(const char *s, size_t k, int *out)
{
    int v = 0;
    size_t i;
    for (i = 0; i < k; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int64_t local_time(int y, int mo, int d, int h, int mi, int sec)
{
    struct tm tm;
    time_t t;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    t = mktime(&tm);
    return t == (time_t)-1 ? NO_TIME : (int64_t)t;
}

/* "YYYY-MM-DD" then, when more, a space or T and "HH:MM[:SS]": the number
 * of octets taken, 0 when not a date. */
static size_t date_parse(const char *s, size_t n, int64_t *t, int need_seconds)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    size_t k = 10;
    if (n < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
        return 0;
    if (n >= 16 && (s[10] == ' ' || s[10] == 'T') && digits(s + 11, 2, &h) && s[13] == ':' &&
        digits(s + 14, 2, &mi)) {
        k = 16;
        if (n >= 19 && s[16] == ':' && digits(s + 17, 2, &sec)) k = 19;
        if (h > 23 || mi > 59 || sec > 60) return 0;
    }
    if (need_seconds && k != 19) return 0;
    *t = local_time(y, mo, d, h, mi, sec);
    return *t == NO_TIME ? 0 : k;
}

size_t stamp_parse(const char *s, size_t n, int64_t *t)
{
    size_t i, k;
    if (n >= 26 && s[0] == '@' && s[25] == ' ') {
        unsigned long long sec = 0;
        for (i = 1; i < 25; i++)
            if (hexval((unsigned char)s[i]) < 0) return 0;
        for (i = 1; i < 17; i++) sec = sec << 4 | (unsigned long long)hexval((unsigned char)s[i]);
        if (sec < TAI_BASE + TAI_OFFSET || sec - TAI_BASE > (1ULL << 40)) return 0;
        *t = (int64_t)(sec - TAI_BASE - TAI_OFFSET);
        return 26;
    }
    /* s6-tai64nlocal: 2026-11-24 10:42:07.310512114 */
    k = date_parse(s, n, t, 1);
    if (!k) return 0;
    if (k < n && s[k] == '.') {
        k++;
        while (k < n && s[k] >= '0' && s[k] <= '9') k++;
    }
    return k < n && s[k] == ' ' ? k + 1 : 0;
}

int time_parse(const char *s, int64_t *t)
{
    size_t n = strlen(s);
    if (s[0] == '@') {
        int64_t v = 0;
        size_t i;
        if (n < 2 || n > 13) return -1;
        for (i = 1; i < n; i++) {
            if (s[i] < '0' || s[i] > '9') return -1;
            v = v * 10 + (s[i] - '0');
        }
        *t = v;
        return 0;
    }
    return date_parse(s, n, t, 0) == n && n ? 0 : -1;
}

int field_next(const char **p, const char *end, char *key, size_t ksize,
               char *val, size_t vsize)
{
    const char *s = *p;
    size_t k = 0, v = 0;
    while (s < end && *s == ' ') s++;
    if (s >= end) { *p = s; return 0; }
    while (s < end && *s != ' ' && *s != '=') {
        if (k + 1 < ksize) key[k++] = *s;
        s++;
    }
    key[k] = 0;
    if (s >= end || *s == ' ') {
        /* a bare word: its text as the value, no key */
        size_t len = k < vsize - 1 ? k : vsize - 1;
        memmove(val, key, len);
        val[len] = 0;
        key[0] = 0;
        *p = s;
        return 1;
    }
    s++;                        /* the = */
    if (s < end && *s == '"') {
        s++;
        while (s < end && *s != '"') {
            int c = (unsigned char)*s++;
            if (c == '\\' && s < end) {
                c = (unsigned char)*s++;
                if (c == 'x' && end - s >= 2 && hexval((unsigned char)s[0]) >= 0 &&
                    hexval((unsigned char)s[1]) >= 0) {
                    c = hexval((unsigned char)s[0]) << 4 | hexval((unsigned char)s[1]);
                    s += 2;
                }
            }
            if (v + 1 < vsize) val[v++] = (char)c;
        }
        if (s < end) s++;       /* the closing quote */
    } else {
        while (s < end && *s != ' ') {
            if (v + 1 < vsize) val[v++] = *s;
            s++;
        }
    }
    val[v] = 0;
    *p = s;
    return 1;
}

int field_get(const struct logline *l, const char *key, char *val, size_t vsize)
{
    const char *p = l->fields;
    char k[64];
    while (field_next(&p, l->end, k, sizeof k, val, vsize))
        if (!strcmp(k, key)) return 1;
    val[0] = 0;
    return 0;
}

/* A program's name: letters, digits, - _ . */
static size_t name_len(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n && i < 64; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            break;
    }
    return i;
}

int logline_parse(const char *s, size_t n, struct logline *l)
{
    const char *end = s + n, *p;
    size_t k;
    memset(l, 0, sizeof *l);
    l->time = NO_TIME;
    k = stamp_parse(s, n, &l->time);
    s += k;
    n -= k;
    k = name_len(s, n);
    if (!k || k + 2 > n || s[k] != ':' || s[k + 1] != ' ') return 0;
    l->prog = s;
    l->prog_len = k;
    p = s + k + 2;
    k = name_len(p, (size_t)(end - p));
    if (!k || p + k >= end || p[k] != ':') return 0;
    l->level = p;
    l->level_len = k;
    p += k + 1;
    if (p < end && *p == ' ') p++;
    l->end = end;
    if (l->level_len == 4 && !memcmp(l->level, "info", 4)) {
        const char *w = p, *q = p;
        char key[16], val[64];
        while (q < end && *q != ' ' && *q != '=') q++;
        if (q < end && *q == '=') {
            l->word = "";
            l->fields = p;
        } else {
            l->word = w;
            l->word_len = (size_t)(q - w);
            l->fields = q;
        }
        /* conn= is never quoted: find where it is in the line */
        q = l->fields;
        for (;;) {
            const char *before;
            while (q < end && *q == ' ') q++;
            before = q;
            if (!field_next(&q, end, key, sizeof key, val, sizeof val)) break;
            if (!strcmp(key, "conn")) {
                l->conn = before + 5;
                l->conn_len = (size_t)(q - l->conn);
                break;
            }
        }
    } else {
        /* warning and fatal: "conn=ID: text" when the line is about one */
        l->word = "";
        l->fields = p;
        if (end - p > 5 && !memcmp(p, "conn=", 5)) {
            const char *q = p + 5;
            while (q < end && *q != ':' && *q != ' ') q++;
            if (q < end && *q == ':' && q > p + 5) {
                l->conn = p + 5;
                l->conn_len = (size_t)(q - l->conn);
            }
        }
    }
    /* an id is lower-case hexadecimal digits, a dash and digits, or digits */
    for (k = 0; k < l->conn_len && k < 64; k++)
        if (!((l->conn[k] >= '0' && l->conn[k] <= '9') || (l->conn[k] >= 'a' && l->conn[k] <= 'f') ||
              l->conn[k] == '-'))
            break;
    if (!l->conn_len || l->conn_len >= 64 || k < l->conn_len) l->conn = 0, l->conn_len = 0;
    return 1;
}
