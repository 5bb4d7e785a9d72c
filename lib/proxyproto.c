#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "deadline.h"
#include "log.h"
#include "proxyproto.h"

static const unsigned char v2_signature[12] = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};
static const char v1_prefix[] = "PROXY ";

static void clear(struct proxyproto *p)
{
    memset(p, 0, sizeof *p);
}

/* A decimal port, 0..65535, without leading zeros. */
static int v1_port(char out[6], const char *s, size_t n)
{
    unsigned long v = 0;
    size_t i;
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0')) return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535) return -1;
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

/* An address of the family, written back in inet_ntop's form. */
static int v1_address(char out[46], int family, const char *s, size_t n)
{
    char text[46];
    unsigned char bin[16];
    if (n == 0 || n >= sizeof text) return -1;
    memcpy(text, s, n);
    text[n] = 0;
    if (inet_pton(family, text, bin) != 1) return -1;
    return inet_ntop(family, bin, out, 46) ? 0 : -1;
}

/* One v1 line, CRLF included, len octets. */
static int v1_line(const char *s, size_t len, struct proxyproto *p, char *why, size_t size)
{
    const char *field[5];
    size_t flen[5], nf = 0, i, start;
    int family;
    size_t end = len - 2;          /* before the CRLF */
    for (i = 0; i < end; i++)
        if (s[i] == '\r' || s[i] == '\n' || s[i] == 0)
            return log_why(why, size, "malformed PROXY v1 header (a control octet)");
    s += sizeof v1_prefix - 1;
    end -= sizeof v1_prefix - 1;
    if (end >= 7 && !memcmp(s, "UNKNOWN", 7) && (end == 7 || s[7] == ' ')) {
        /* What follows UNKNOWN is not to be trusted: ignored. */
        return (int)len;
    }
    /* Exactly five fields, each separated by one space. */
    for (start = 0, i = 0; i <= end; i++) {
        if (i == end || s[i] == ' ') {
            if (nf == 5) return log_why(why, size, "malformed PROXY v1 header (too many fields)");
            field[nf] = s + start;
            flen[nf++] = i - start;
            start = i + 1;
        }
    }
    if (nf != 5) return log_why(why, size, "malformed PROXY v1 header (too few fields)");
    if (flen[0] == 4 && !memcmp(field[0], "TCP4", 4))
        family = AF_INET;
    else if (flen[0] == 4 && !memcmp(field[0], "TCP6", 4))
        family = AF_INET6;
    else
        return log_why(why, size, "malformed PROXY v1 header (protocol not TCP4, TCP6 or UNKNOWN)");
    if (v1_address(p->src, family, field[1], flen[1]) < 0 ||
        v1_address(p->dst, family, field[2], flen[2]) < 0)
        return log_why(why, size, "malformed PROXY v1 header (an address)");
    if (v1_port(p->src_port, field[3], flen[3]) < 0 || v1_port(p->dst_port, field[4], flen[4]) < 0)
        return log_why(why, size, "malformed PROXY v1 header (a port)");
    return (int)len;
}

static int v1_parse(const unsigned char *buf, size_t n, struct proxyproto *p, char *why, size_t size)
{
    size_t i, limit = n < PROXYPROTO_V1_MAX ? n : PROXYPROTO_V1_MAX;
    for (i = 0; i < limit; i++) {
        if (buf[i] == '\n') {
            if (i == 0 || buf[i - 1] != '\r')
                return log_why(why, size, "malformed PROXY v1 header (a bare LF)");
            return v1_line((const char *)buf, i + 1, p, why, size);
        }
        if (buf[i] == '\r' && i + 1 < n && buf[i + 1] != '\n')
            return log_why(why, size, "malformed PROXY v1 header (a bare CR)");
    }
    if (n >= PROXYPROTO_V1_MAX)
        return log_why(why, size, "PROXY v1 header too long (no CRLF in %d octets)", PROXYPROTO_V1_MAX);
    return 0;
}

static int v2_parse(const unsigned char *buf, size_t n, struct proxyproto *p, char *why, size_t size)
{
    unsigned command, family;
    size_t len, addresses, i;
    if (n < 16) return 0;
    if (buf[12] >> 4 != 2) return log_why(why, size, "PROXY v2 header of version %u", buf[12] >> 4);
    command = buf[12] & 0x0F;
    if (command > 1) return log_why(why, size, "PROXY v2 header with command %u", command);
    family = buf[13];
    switch (family >> 4) {
    case 1: addresses = 12; break;
    case 2: addresses = 36; break;
    case 3: addresses = 216; break;
    default: addresses = 0; break;
    }
    len = (size_t)buf[14] << 8 | buf[15];
    if (len > addresses + PROXYPROTO_EXTRA_MAX)
        return log_why(why, size, "PROXY v2 extra data over %d octets (%zu)", PROXYPROTO_EXTRA_MAX,
                       len < addresses ? (size_t)0 : len - addresses);
    if (command == 0) {
        /* LOCAL: the balancer speaks for itself; its addresses, whatever
         * the family says, are ignored. */
        if (n < 16 + len) return 0;
        p->local = 1;
        return (int)(16 + len);
    }
    if (family != 0x00 && family != 0x11 && family != 0x21)
        return log_why(why, size, "PROXY v2 header of family 0x%02x (not TCP over IPv4 or IPv6)", family);
    if (len < addresses) return log_why(why, size, "PROXY v2 header shorter than its addresses");
    if (n < 16 + len) return 0;
    /* The extra fields (type, length, value) must fill the rest exactly. */
    for (i = 16 + addresses; i < 16 + len;) {
        size_t tlv;
        if (16 + len - i < 3) return log_why(why, size, "malformed PROXY v2 header (a truncated TLV)");
        tlv = (size_t)buf[i + 1] << 8 | buf[i + 2];
        if (tlv > 16 + len - i - 3) return log_why(why, size, "malformed PROXY v2 header (a TLV too long)");
        i += 3 + tlv;
    }
    if (family == 0x11) {
        inet_ntop(AF_INET, buf + 16, p->src, sizeof p->src);
        inet_ntop(AF_INET, buf + 20, p->dst, sizeof p->dst);
        snprintf(p->src_port, sizeof p->src_port, "%u", (unsigned)buf[24] << 8 | buf[25]);
        snprintf(p->dst_port, sizeof p->dst_port, "%u", (unsigned)buf[26] << 8 | buf[27]);
    } else if (family == 0x21) {
        inet_ntop(AF_INET6, buf + 16, p->src, sizeof p->src);
        inet_ntop(AF_INET6, buf + 32, p->dst, sizeof p->dst);
        snprintf(p->src_port, sizeof p->src_port, "%u", (unsigned)buf[48] << 8 | buf[49]);
        snprintf(p->dst_port, sizeof p->dst_port, "%u", (unsigned)buf[50] << 8 | buf[51]);
    }
    return (int)(16 + len);
}

int proxyproto_parse(const unsigned char *buf, size_t n, struct proxyproto *p, char *why, size_t size)
{
    size_t k;
    clear(p);
    if (n == 0) return 0;
    if (buf[0] == v2_signature[0]) {
        k = n < sizeof v2_signature ? n : sizeof v2_signature;
        if (memcmp(buf, v2_signature, k)) return log_why(why, size, "not a PROXY header");
        return v2_parse(buf, n, p, why, size);
    }
    k = n < sizeof v1_prefix - 1 ? n : sizeof v1_prefix - 1;
    if (memcmp(buf, v1_prefix, k)) return log_why(why, size, "not a PROXY header");
    if (n < sizeof v1_prefix - 1) return 0;
    return v1_parse(buf, n, p, why, size);
}

/* Take exactly want octets that are known to be waiting. */
static int consume(int fd, unsigned char *buf, size_t want, char *why, size_t size)
{
    while (want) {
        ssize_t r = recv(fd, buf, want, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return log_why(why, size, "unable to read the PROXY header: %s",
                                   r == 0 ? "end of file" : strerror(errno));
        buf += r;
        want -= (size_t)r;
    }
    return 0;
}

int proxyproto_read(int fd, int64_t deadline, struct proxyproto *p, char *why, size_t size)
{
    unsigned char buf[PROXYPROTO_MAX];
    size_t have = 0;
    for (;;) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        ssize_t m;
        int r, ms = deadline_poll_ms(deadline);
        if (ms == 0) return log_why(why, size, "timeout reading the PROXY header (%zu octets)", have);
        r = poll(&pfd, 1, ms);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return log_why(why, size, "unable to poll for the PROXY header: %s", strerror(errno));
        if (r == 0) continue;
        m = recv(fd, buf + have, sizeof buf - have, MSG_PEEK | MSG_DONTWAIT);
        if (m < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (m < 0) return log_why(why, size, "unable to read the PROXY header: %s", strerror(errno));
        if (m == 0)
            return log_why(why, size, "end of file %s the PROXY header", have ? "within" : "before");
        r = proxyproto_parse(buf, have + (size_t)m, p, why, size);
        if (r < 0) return -1;
        if (r > 0) return consume(fd, buf + have, (size_t)r - have, why, size);
        /* Every octet seen belongs to the header: take them, so that the
         * next poll waits for new ones. */
        if (consume(fd, buf + have, (size_t)m, why, size) < 0) return -1;
        have += (size_t)m;
        if (have == sizeof buf) return log_why(why, size, "PROXY header too long");
    }
}
