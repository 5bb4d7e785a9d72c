/* DNS queries for the filters that ask many at once (smtp-dnscheck,
 * smtp-spf), on c-ares: the name servers of /etc/resolv.conf or those
 * given, every query sent at once, and every wait bounded by a deadline
 * (poll(2)).  A query is a structure of the caller's; its answer is in it
 * once it is done.  A query still pending when the caller gives up is
 * released with dns_release: its answer, if it comes, goes nowhere. */
#ifndef NOQUEUE_DNS_H
#define NOQUEUE_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

#define DNS_SERVERS_MAX 8
#define DNS_NAME_MAX 253            /* a domain name as text, no final dot */

enum dns_type { DNS_A = 1, DNS_NS = 2, DNS_PTR = 12, DNS_MX = 15, DNS_TXT = 16, DNS_AAAA = 28 };

enum dns_status {
    DNS_PENDING = 0,
    DNS_OK,                         /* records: n > 0 */
    DNS_NXDOMAIN,                   /* the name does not exist */
    DNS_NODATA,                     /* the name exists, with no record of the type */
    DNS_TEMPFAIL,                   /* server failure, refused, garbage: worth a retry */
    DNS_TIMEOUT,                    /* no answer from any server */
    DNS_BADNAME                     /* the name is not one that can be asked */
};

struct dns_record {
    struct ipaddr addr;             /* A, AAAA */
    unsigned preference;            /* MX */
    char *text;                     /* TXT (the strings of one record joined),
                                     * MX, PTR (the name, no final dot) */
    size_t len;
};

struct dns_query {
    enum dns_type type;
    enum dns_status status;
    unsigned n;
    struct dns_record *record;      /* n records, freed by dns_release */
    void *pending;                  /* ours: not NULL while it is */
};

struct dns;

/* The resolver: servers are "ADDRESS", "ADDRESS:PORT" or "[IPv6]:PORT",
 * nservers 0 for those of /etc/resolv.conf.  timeout_ms: the wait for one
 * server before the next is tried.  NULL with why set on failure. */
struct dns *dns_open(const char *const *servers, unsigned nservers, unsigned timeout_ms,
                     char *why, size_t size);
void dns_close(struct dns *d);
/* Is s "ADDRESS[:PORT]" or "[IPv6]:PORT", as dns_open takes it? */
int dns_server_valid(const char *s);

/* Send the query for name (no final dot needed) and type: 0, or -1 when
 * out of memory; a name that cannot be asked (too long, empty label) is
 * answered at once with DNS_BADNAME. */
int dns_send(struct dns *d, struct dns_query *q, const char *name, enum dns_type type);
/* Wait until q is answered, or until the deadline: 1 answered, 0 not yet. */
int dns_wait(struct dns *d, struct dns_query *q, int64_t deadline);
/* Wait until every query sent is answered, or until the deadline: the
 * number still pending. */
unsigned dns_wait_all(struct dns *d, int64_t deadline);
/* Free q's answer; if it is still pending, its answer is dropped. */
void dns_release(struct dns *d, struct dns_query *q);

/* The name of the address in the reverse tree under zone: "2.0.0.127.zone"
 * or the 32 nibbles of IPv6; zone NULL for in-addr.arpa / ip6.arpa.
 * Returns the length, or 0 when it would not fit in size. */
size_t dns_reverse_name(const struct ipaddr *a, const char *zone, char *out, size_t size);
const char *dns_status_name(enum dns_status s);

#endif
