/* DNS on c-ares: see dns.h.  The answers are read from the raw reply
 * here (one walk over the answer section for every type) rather than
 * through c-ares's hostent parsers, so that every record of the type asked
 * is kept and nothing else is. */
#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "dns.h"

struct dns {
    ares_channel channel;
    unsigned pending;
};

/* What c-ares holds for a query in flight: the query may be released
 * before c-ares calls back, so c-ares gets this, not the query. */
struct dns_pending {
    struct dns *d;
    struct dns_query *q;
};

const char *dns_status_name(enum dns_status s)
{
    switch (s) {
    case DNS_PENDING: return "pending";
    case DNS_OK: return "ok";
    case DNS_NXDOMAIN: return "nxdomain";
    case DNS_NODATA: return "nodata";
    case DNS_TEMPFAIL: return "tempfail";
    case DNS_TIMEOUT: return "timeout";
    case DNS_BADNAME: return "badname";
    }
    return "?";
}

int dns_server_valid(const char *s)
{
    char host[64];
    const char *port = NULL, *end;
    struct ipaddr a;
    size_t n;
    unsigned long p = 0;
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (!end || end[1] != ':') return 0;
        n = (size_t)(end - s - 1);
        if (n >= sizeof host) return 0;
        memcpy(host, s + 1, n);
        host[n] = 0;
        port = end + 2;
        if (!ipaddr_parse(&a, host, n) || a.bits != 128) return 0;
    } else {
        end = strchr(s, ':');
        if (end && strchr(end + 1, ':')) end = NULL;        /* a bare IPv6 address */
        n = end ? (size_t)(end - s) : strlen(s);
        if (n >= sizeof host) return 0;
        memcpy(host, s, n);
        host[n] = 0;
        if (!ipaddr_parse(&a, host, n)) return 0;
        if (end) port = end + 1;
    }
    if (port) {
        if (!*port || strlen(port) > 5) return 0;
        for (end = port; *end; end++) {
            if (*end < '0' || *end > '9') return 0;
            p = p * 10 + (unsigned long)(*end - '0');
        }
        if (p == 0 || p > 65535) return 0;
    }
    return 1;
}

struct dns *dns_open(const char *const *servers, unsigned nservers, unsigned timeout_ms,
                     char *why, size_t size)
{
    struct ares_options o;
    struct dns *d;
    char csv[DNS_SERVERS_MAX * 64];
    size_t len = 0;
    unsigned i;
    int r;

    if (nservers > DNS_SERVERS_MAX) {
        snprintf(why, size, "more than %d name servers", DNS_SERVERS_MAX);
        return NULL;
    }
    for (i = 0; i < nservers; i++) {
        if (!dns_server_valid(servers[i]) || strlen(servers[i]) + 2 > sizeof csv - len) {
            snprintf(why, size, "not a name server address: %s", servers[i]);
            return NULL;
        }
        len += (size_t)snprintf(csv + len, sizeof csv - len, "%s%s", i ? "," : "", servers[i]);
    }
    r = ares_library_init(ARES_LIB_INIT_ALL);
    if (r != ARES_SUCCESS) {
        snprintf(why, size, "unable to start c-ares: %s", ares_strerror(r));
        return NULL;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(why, size, "out of memory");
        return NULL;
    }
    memset(&o, 0, sizeof o);
    /* Exactly the name asked (no search list), EDNS for long TXT records,
     * one socket per server for all the queries of the connection. */
    o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS | ARES_FLAG_STAYOPEN;
    o.timeout = timeout_ms ? (int)timeout_ms : 2000;
    o.tries = 2;
    o.ndots = 0;
    /* DNS only ("b"): no /etc/hosts, and nsswitch.conf is not read. */
    o.lookups = (char *)"b";
    r = ares_init_options(&d->channel, &o, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                                               ARES_OPT_NDOTS | ARES_OPT_LOOKUPS);
    if (r != ARES_SUCCESS) {
        snprintf(why, size, "unable to start c-ares: %s", ares_strerror(r));
        free(d);
        return NULL;
    }
    if (nservers) {
        r = ares_set_servers_ports_csv(d->channel, csv);
        if (r != ARES_SUCCESS) {
            snprintf(why, size, "unable to use name servers %s: %s", csv, ares_strerror(r));
            ares_destroy(d->channel);
            free(d);
            return NULL;
        }
    }
    return d;
}

void dns_close(struct dns *d)
{
    if (!d) return;
    ares_destroy(d->channel);   /* calls back every query still pending */
    free(d);
}

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

/* Skip an encoded name at p: the offset after it, or -1. */
static long skip_name(const unsigned char *abuf, int alen, long p)
{
    char *s;
    long n;
    if (ares_expand_name(abuf + p, abuf, alen, &s, &n) != ARES_SUCCESS) return -1;
    ares_free_string(s);
    return p + n;
}

static int add_record(struct dns_query *q, unsigned *size, struct dns_record *r)
{
    struct dns_record *m;
    if (q->n == *size) {
        *size = *size ? 2 * *size : 4;
        m = realloc(q->record, *size * sizeof *m);
        if (!m) return -1;
        q->record = m;
    }
    q->record[q->n++] = *r;
    return 0;
}

/* A name in rdata, without its final dot, into r->text. */
static int rdata_name(const unsigned char *abuf, int alen, long p, struct dns_record *r)
{
    char *s;
    long n;
    if (ares_expand_name(abuf + p, abuf, alen, &s, &n) != ARES_SUCCESS) return -1;
    r->len = strlen(s);
    r->text = malloc(r->len + 1);
    if (r->text) memcpy(r->text, s, r->len + 1);
    ares_free_string(s);
    return r->text ? 0 : -1;
}

/* The records of q's type in the answer section. */
static enum dns_status parse_answer(struct dns_query *q, const unsigned char *abuf, int alen)
{
    unsigned qd, an, i, type, rdlen, size = 0;
    long p = 12, end;
    struct dns_record r;

    if (alen < 12) return DNS_TEMPFAIL;
    qd = get16(abuf + 4);
    an = get16(abuf + 6);
    for (i = 0; i < qd; i++) {
        p = skip_name(abuf, alen, p);
        if (p < 0 || p + 4 > alen) return DNS_TEMPFAIL;
        p += 4;
    }
    for (i = 0; i < an; i++) {
        p = skip_name(abuf, alen, p);
        if (p < 0 || p + 10 > alen) return DNS_TEMPFAIL;
        type = get16(abuf + p);
        rdlen = get16(abuf + p + 8);
        p += 10;
        end = p + (long)rdlen;
        if (end > alen) return DNS_TEMPFAIL;
        if (type == (unsigned)q->type && get16(abuf + p - 8) == 1) {
            memset(&r, 0, sizeof r);
            switch (q->type) {
            case DNS_A:
                if (rdlen != 4) return DNS_TEMPFAIL;
                r.addr.bits = 32;
                memcpy(r.addr.byte, abuf + p, 4);
                break;
            case DNS_AAAA:
                if (rdlen != 16) return DNS_TEMPFAIL;
                r.addr.bits = 128;
                memcpy(r.addr.byte, abuf + p, 16);
                break;
            case DNS_TXT: {
                long s = p;
                r.text = malloc(rdlen + 1);
                if (!r.text) return DNS_TEMPFAIL;
                /* The strings of one record joined (RFC 7208 3.3). */
                while (s < end) {
                    unsigned k = abuf[s++];
                    if (s + (long)k > end) {
                        free(r.text);
                        return DNS_TEMPFAIL;
                    }
                    memcpy(r.text + r.len, abuf + s, k);
                    r.len += k;
                    s += k;
                }
                r.text[r.len] = 0;
                break;
            }
            case DNS_MX:
                if (rdlen < 3) return DNS_TEMPFAIL;
                r.preference = get16(abuf + p);
                if (rdata_name(abuf, alen, p + 2, &r) < 0) return DNS_TEMPFAIL;
                break;
            case DNS_PTR:
            case DNS_NS:
                if (rdata_name(abuf, alen, p, &r) < 0) return DNS_TEMPFAIL;
                break;
            }
            if (add_record(q, &size, &r) < 0) {
                free(r.text);
                return DNS_TEMPFAIL;
            }
        }
        p = end;
    }
    return q->n ? DNS_OK : DNS_NODATA;
}

static void free_records(struct dns_query *q)
{
    unsigned i;
    for (i = 0; i < q->n; i++) free(q->record[i].text);
    free(q->record);
    q->record = NULL;
    q->n = 0;
}

static void answered(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct dns_pending *p = arg;
    struct dns_query *q = p->q;
    enum dns_status s;
    (void)timeouts;
    p->d->pending--;
    free(p);
    if (!q) return;                     /* released meanwhile */
    q->pending = NULL;
    switch (status) {
    case ARES_SUCCESS:
        s = parse_answer(q, abuf, alen);
        if (s != DNS_OK) free_records(q);
        break;
    case ARES_ENODATA: s = DNS_NODATA; break;
    case ARES_ENOTFOUND: s = DNS_NXDOMAIN; break;
    case ARES_ETIMEOUT: s = DNS_TIMEOUT; break;
    case ARES_EBADNAME: s = DNS_BADNAME; break;
    default: s = DNS_TEMPFAIL; break;
    }
    q->status = s;
}

/* A name that can be asked: labels of 1 to 63 bytes, 253 in all.  Any
 * byte may be in a label (SPF macros make names with spaces); c-ares
 * reads a backslash as an escape, so each is doubled into buf (of
 * 2 * DNS_NAME_MAX + 1).  0 when the name cannot be asked. */
static int askable(const char *name, size_t n, char *buf)
{
    size_t i, k = 0, label = 0;
    if (n == 0 || n > DNS_NAME_MAX) return 0;
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (c == '.') {
            if (label == 0) return 0;
            label = 0;
        } else if (++label > 63) {
            return 0;
        }
        if (c == '\\') buf[k++] = '\\';
        buf[k++] = c;
    }
    buf[k] = 0;
    return 1;
}

int dns_send(struct dns *d, struct dns_query *q, const char *name, enum dns_type type)
{
    struct dns_pending *p;
    char buf[2 * DNS_NAME_MAX + 1];
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '.') n--;
    memset(q, 0, sizeof *q);
    q->type = type;
    if (!askable(name, n, buf)) {
        q->status = DNS_BADNAME;
        return 0;
    }
    p = malloc(sizeof *p);
    if (!p) return -1;
    p->d = d;
    p->q = q;
    q->pending = p;
    d->pending++;
    ares_query(d->channel, buf, 1 /* IN */, (int)type, answered, p);
    return 0;
}

/* One round: poll c-ares's sockets until the deadline or its own next
 * timeout, and let it read what came. */
static void step(struct dns *d, int64_t deadline)
{
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    struct pollfd pfd[ARES_GETSOCK_MAXNUM];
    struct timeval tv, *tvp;
    unsigned bits;
    int i, n = 0, ms, r;

    /* Bits 0..15 readable, 16..31 writable: shifted unsigned here, as
     * c-ares's own macros shift a signed 1 into the sign bit. */
    bits = (unsigned)ares_getsock(d->channel, socks, ARES_GETSOCK_MAXNUM);
    for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
        short ev = 0;
        if (bits >> i & 1u) ev |= POLLIN;
        if (bits >> (i + ARES_GETSOCK_MAXNUM) & 1u) ev |= POLLOUT;
        if (!ev) continue;
        pfd[n].fd = socks[i];
        pfd[n].events = ev;
        pfd[n].revents = 0;
        n++;
    }
    ms = deadline_poll_ms(deadline);
    tvp = ares_timeout(d->channel, NULL, &tv);
    if (tvp) {
        int64_t t = (int64_t)tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000;
        if (ms < 0 || t < ms) ms = (int)t;
    }
    if (n == 0 && !tvp && ms < 0) return;     /* nothing to wait for, ever */
    r = poll(pfd, (nfds_t)n, ms);
    if (r < 0) {
        if (errno != EINTR) ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        return;
    }
    for (i = 0; i < n; i++) {
        if (!pfd[i].revents) continue;
        ares_process_fd(d->channel,
                        pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD,
                        pfd[i].revents & (POLLOUT | POLLERR) ? pfd[i].fd : ARES_SOCKET_BAD);
    }
    if (r == 0) ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);    /* timeouts */
}

/* Each wait reads at least once, even past its deadline: answers that
 * came while the caller was busy elsewhere count. */
int dns_wait(struct dns *d, struct dns_query *q, int64_t deadline)
{
    while (q->status == DNS_PENDING) {
        if (!q->pending) return 0;              /* never sent */
        step(d, deadline);
        if (q->status == DNS_PENDING && deadline_poll_ms(deadline) == 0) return 0;
    }
    return 1;
}

unsigned dns_wait_all(struct dns *d, int64_t deadline)
{
    while (d->pending) {
        step(d, deadline);
        if (deadline_poll_ms(deadline) == 0) break;
    }
    return d->pending;
}

void dns_release(struct dns *d, struct dns_query *q)
{
    (void)d;
    if (q->pending) ((struct dns_pending *)q->pending)->q = NULL;
    q->pending = NULL;
    free_records(q);
}

size_t dns_reverse_name(const struct ipaddr *a, const char *zone, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    char buf[DNS_NAME_MAX + 2];
    size_t n = 0;
    int i;
    if (a->bits == 32) {
        n = (size_t)snprintf(buf, sizeof buf, "%u.%u.%u.%u", a->byte[3], a->byte[2], a->byte[1],
                             a->byte[0]);
    } else {
        for (i = 15; i >= 0; i--) {
            buf[n++] = hex[a->byte[i] & 15];
            buf[n++] = '.';
            buf[n++] = hex[a->byte[i] >> 4];
            if (i) buf[n++] = '.';
        }
        buf[n] = 0;
    }
    if (!zone) zone = a->bits == 32 ? "in-addr.arpa" : "ip6.arpa";
    if (n + 1 + strlen(zone) + 1 > size || n + 1 + strlen(zone) > DNS_NAME_MAX) return 0;
    return (size_t)snprintf(out, size, "%s.%s", buf, zone);
}
