#include "scan.h"

static int digits(const char **sp, unsigned long long max, unsigned long long *out)
{
    const char *s = *sp;
    unsigned long long v = 0;
    if (*s < '0' || *s > '9') return 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (d > max || v > (max - d) / 10) return 0;
        v = v * 10 + d;
    }
    *sp = s;
    *out = v;
    return 1;
}

int scan_ulong(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long long v;
    if (!digits(&s, max, &v) || *s) return 0;
    *out = (unsigned long)v;
    return 1;
}

int scan_size(const char *s, unsigned long long max, unsigned long long *out)
{
    unsigned long long v, unit = 1;
    if (!digits(&s, max, &v)) return 0;
    switch (*s) {
    case 0: break;
    case 'k': case 'K': unit = 1024ULL; s++; break;
    case 'm': case 'M': unit = 1024ULL * 1024; s++; break;
    case 'g': case 'G': unit = 1024ULL * 1024 * 1024; s++; break;
    default: return 0;
    }
    if (*s || v > max / unit) return 0;
    *out = v * unit;
    return 1;
}

int scan_long(const char *s, long max, long *out)
{
    unsigned long long v;
    int neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    if (!digits(&s, (unsigned long long)max, &v) || *s) return 0;
    *out = neg ? -(long)v : (long)v;
    return 1;
}

int scan_printable(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) return 0;
    return 1;
}
