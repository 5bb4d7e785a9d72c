/* IP addresses and prefixes as text: parsed (IPv4 dotted quads, IPv6,
 * SMTP address literals), masked to a prefix, and written in one
 * canonical form that does not depend on the C library, so that a table
 * compiler and a filter that looks up the same address make the same key.
 * An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is taken as the IPv4
 * address it carries: a client reaching an IPv6 socket over IPv4 is the
 * same client. */
#ifndef NOQUEUE_IPADDR_H
#define NOQUEUE_IPADDR_H

#include <stddef.h>

struct ipaddr {
    unsigned bits;                  /* 32 (IPv4) or 128 (IPv6) */
    unsigned char byte[16];         /* network order; IPv4 in byte[0..3] */
};

/* "255.255.255.255/32", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" */
#define IPADDR_KEY_MAX 48

/* An address: IPv4 as four decimal numbers 0..255 without leading zeros,
 * or IPv6 (RFC 4291 text).  1, or 0 when s is not one. */
int ipaddr_parse(struct ipaddr *a, const char *s, size_t n);
/* "ADDRESS/LENGTH" or a plain ADDRESS (its full length).  The address is
 * not masked (the caller may want to know whether host bits were set).
 * An IPv4-mapped prefix of length 96 or more becomes an IPv4 prefix. */
int ipaddr_parse_prefix(struct ipaddr *a, unsigned *length, const char *s, size_t n);
/* An SMTP address literal (RFC 5321 4.1.3): "[192.0.2.1]" or
 * "[IPv6:2001:db8::1]". */
int ipaddr_parse_literal(struct ipaddr *a, const char *s, size_t n);
/* Clear every bit after the first length bits. */
void ipaddr_mask(struct ipaddr *a, unsigned length);
int ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
/* The key of a prefix: "192.0.2.0/24", "2001:db8:0:0:0:0:0:0/32" (eight
 * groups, lower case, no leading zeros, no "::").  The address is masked
 * here.  out has IPADDR_KEY_MAX bytes; returns the length. */
size_t ipaddr_key(const struct ipaddr *a, unsigned length, char *out);

#endif
