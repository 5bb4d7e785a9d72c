#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ipaddr.h"

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Strict: inet_pton's IPv4 rules differ between C libraries (leading
 * zeros), and a table must mean the same thing everywhere. */
static int ipv4_parse(unsigned char *out, const char *s, size_t n)
{
    size_t i = 0;
    int part;
    for (part = 0; part < 4; part++) {
        unsigned value = 0, digits = 0;
        if (part) {
            if (i >= n || s[i] != '.') return 0;
            i++;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4) {
            value = value * 10 + (unsigned)(s[i++] - '0');
            digits++;
        }
        if (!digits || digits > 3 || value > 255) return 0;
        if (digits > 1 && s[i - digits] == '0') return 0;
        out[part] = (unsigned char)value;
    }
    return i == n;
}

int ipaddr_parse(struct ipaddr *a, const char *s, size_t n)
{
    char buf[64];
    memset(a, 0, sizeof *a);
    if (!memchr(s, ':', n)) {
        a->bits = 32;
        return ipv4_parse(a->byte, s, n);
    }
    if (n >= sizeof buf || memchr(s, 0, n)) return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (inet_pton(AF_INET6, buf, a->byte) != 1) return 0;
    a->bits = 128;
    if (!memcmp(a->byte, v4_mapped, sizeof v4_mapped)) {
        memmove(a->byte, a->byte + 12, 4);
        memset(a->byte + 4, 0, 12);
        a->bits = 32;
    }
    return 1;
}

int ipaddr_parse_prefix(struct ipaddr *a, unsigned *length, const char *s, size_t n)
{
    const char *slash = memchr(s, '/', n);
    size_t k = slash ? (size_t)(slash - s) : n, i;
    unsigned len = 0;
    int mapped;
    if (!ipaddr_parse(a, s, k)) return 0;
    if (!slash) {
        *length = a->bits;
        return 1;
    }
    if (k + 1 == n || n - k - 1 > 3 || (s[k + 1] == '0' && n - k - 1 > 1)) return 0;
    for (i = k + 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        len = len * 10 + (unsigned)(s[i] - '0');
    }
    /* Was it written as IPv6 and folded to IPv4 by ipaddr_parse? */
    mapped = a->bits == 32 && memchr(s, ':', k) != 0;
    if (mapped) {
        if (len > 128) return 0;
        if (len < 96) {                 /* wider than the mapped range: IPv6 */
            memmove(a->byte + 12, a->byte, 4);
            memcpy(a->byte, v4_mapped, sizeof v4_mapped);
            a->bits = 128;
        } else {
            len -= 96;
        }
    }
    if (len > a->bits) return 0;
    *length = len;
    return 1;
}

int ipaddr_parse_literal(struct ipaddr *a, const char *s, size_t n)
{
    if (n < 3 || s[0] != '[' || s[n - 1] != ']') return 0;
    s++;
    n -= 2;
    if (n > 5 && !strncasecmp(s, "IPv6:", 5)) return memchr(s + 5, ':', n - 5) && ipaddr_parse(a, s + 5, n - 5);
    return !memchr(s, ':', n) && ipaddr_parse(a, s, n);
}

void ipaddr_mask(struct ipaddr *a, unsigned length)
{
    unsigned i;
    for (i = 0; i < 16; i++) {
        if (length >= 8 * (i + 1)) continue;
        a->byte[i] &= length > 8 * i ? (unsigned char)(0xff << (8 - (length - 8 * i))) : 0;
    }
}

int ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
    return a->bits == b->bits && !memcmp(a->byte, b->byte, a->bits / 8);
}

size_t ipaddr_key(const struct ipaddr *a, unsigned length, char *out)
{
    struct ipaddr m = *a;
    int n;
    if (length > m.bits) length = m.bits;
    ipaddr_mask(&m, length);
    if (m.bits == 32)
        n = snprintf(out, IPADDR_KEY_MAX, "%u.%u.%u.%u/%u", m.byte[0], m.byte[1], m.byte[2],
                     m.byte[3], length);
    else
        n = snprintf(out, IPADDR_KEY_MAX, "%x:%x:%x:%x:%x:%x:%x:%x/%u",
                     m.byte[0] << 8 | m.byte[1], m.byte[2] << 8 | m.byte[3],
                     m.byte[4] << 8 | m.byte[5], m.byte[6] << 8 | m.byte[7],
                     m.byte[8] << 8 | m.byte[9], m.byte[10] << 8 | m.byte[11],
                     m.byte[12] << 8 | m.byte[13], m.byte[14] << 8 | m.byte[15], length);
    return (size_t)n;
}
