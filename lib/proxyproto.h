/* The PROXY protocol header (HAProxy's, versions 1 and 2) that a load
 * balancer writes before the client's first octet, naming the client it
 * stands for.  Only what a TCP relay needs: TCP over IPv4 or IPv6, a LOCAL
 * connection (the balancer's own health check), and UNKNOWN (v1) / UNSPEC
 * (v2).  Version 2's extra fields (TLVs) are skipped, within a bound. */
#ifndef NOQUEUE_PROXYPROTO_H
#define NOQUEUE_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROXYPROTO_V1_MAX 107      /* "PROXY TCP6 <39> <39> <5> <5>\r\n" */
#define PROXYPROTO_EXTRA_MAX 512   /* v2 octets after the addresses */
/* The longest header accepted: v2's 16 octets, a UNIX address block (216,
 * only in a LOCAL header, whose addresses are ignored) and the extra. */
#define PROXYPROTO_MAX (16 + 216 + PROXYPROTO_EXTRA_MAX)

struct proxyproto {
    int local;              /* v2 LOCAL command (a health check): use the socket's own addresses */
    char src[46], dst[46];  /* numeric addresses, "" when local or UNKNOWN (v1) / UNSPEC (v2) */
    char src_port[6], dst_port[6];
};

/* Read exactly one PROXY header, v2 or v1, from fd (non-blocking) by the
 * deadline, and not one octet more (MSG_PEEK, then read what the header
 * is): 0, or -1 with the reason in why[0..size-1] (malformed, too long,
 * v2 extra data over a bound, end of file, timeout). */
int proxyproto_read(int fd, int64_t deadline, struct proxyproto *p, char *why, size_t size);

/* The same parser on a buffer, for tests and the fuzz harness: the
 * header's length (>0), 0 when more octets are needed, -1 when it is not
 * a valid header (why set). */
int proxyproto_parse(const unsigned char *buf, size_t n, struct proxyproto *p, char *why, size_t size);

#endif
