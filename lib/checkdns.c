#include "checkdns.h"
#include "log.h"

int checkdns_ask(struct dns *d, int64_t deadline, char *why, size_t size)
{
    struct dns_query q;
    enum dns_status st;
    if (dns_send(d, &q, "1.0.0.127.in-addr.arpa", DNS_PTR) < 0)
        return log_why(why, size, "unable to ask the name servers: out of memory");
    dns_wait(d, &q, deadline);
    st = q.status;
    dns_release(d, &q);
    if (st == DNS_OK || st == DNS_NXDOMAIN || st == DNS_NODATA) return 0;
    return log_why(why, size, "the name servers do not answer (1.0.0.127.in-addr.arpa PTR: %s)",
                   st == DNS_PENDING ? "timeout" : dns_status_name(st));
}
