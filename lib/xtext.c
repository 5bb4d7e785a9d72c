#include "xtext.h"

static const char hex[] = "0123456789ABCDEF";

static int plain(unsigned char c)
{
    return c >= 33 && c <= 126 && c != '+' && c != '=';
}

ssize_t xtext_encode(char *out, size_t size, const char *s, size_t n)
{
    size_t o = 0, i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (plain(c)) {
            if (o + 1 >= size) return -1;
            out[o++] = (char)c;
        } else {
            if (o + 3 >= size) return -1;
            out[o++] = '+';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= size) return -1;
    out[o] = 0;
    return (ssize_t)o;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

ssize_t xtext_decode(char *out, size_t size, const char *s, size_t n)
{
    size_t o = 0, i = 0;
    if (!size) return -1;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (o + 1 >= size) return -1;
        if (c == '+') {
            int hi, lo;
            if (n - i < 3) return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            out[o++] = (char)(hi << 4 | lo);
            i += 3;
        } else if (plain(c)) {
            out[o++] = (char)c;
            i++;
        } else {
            return -1;
        }
    }
    out[o] = 0;
    return (ssize_t)o;
}

int xtext_valid(const char *s, size_t n)
{
    size_t i;
    if (!n) return 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) return 0;
            i += 2;
        } else if (!plain((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}
