/* The PROXY protocol parser: whatever the octets, it reads none past n,
 * a header's length is within the input and the bound, the same header
 * parses the same from any longer input, a shorter prefix of a header
 * asks for more, never a verdict, and the addresses it gives are numeric
 * addresses that parse back, with decimal ports.
 * Input: the octets as a balancer (or anyone) would send them. */
#include <arpa/inet.h>
#include <string.h>

#include "fuzz.h"
#include "proxyproto.h"

static void check_fields(const struct proxyproto *p)
{
    unsigned char bin[16];
    size_t i;
    if (p->local) FUZZ_ASSERT(!p->src[0] && !p->dst[0]);
    if (!p->src[0]) {
        FUZZ_ASSERT(!p->dst[0] && !p->src_port[0] && !p->dst_port[0]);
        return;
    }
    FUZZ_ASSERT(memchr(p->src, 0, sizeof p->src) && memchr(p->dst, 0, sizeof p->dst));
    FUZZ_ASSERT(inet_pton(strchr(p->src, ':') ? AF_INET6 : AF_INET, p->src, bin) == 1);
    FUZZ_ASSERT(inet_pton(strchr(p->dst, ':') ? AF_INET6 : AF_INET, p->dst, bin) == 1);
    FUZZ_ASSERT(p->src_port[0] && p->dst_port[0]);
    for (i = 0; p->src_port[i]; i++) FUZZ_ASSERT(p->src_port[i] >= '0' && p->src_port[i] <= '9');
    for (i = 0; p->dst_port[i]; i++) FUZZ_ASSERT(p->dst_port[i] >= '0' && p->dst_port[i] <= '9');
    FUZZ_ASSERT(atol(p->src_port) <= 65535 && atol(p->dst_port) <= 65535);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proxyproto p, q;
    char why[128], why2[128];
    /* An exact-size copy, so that a read past n is a sanitizer report. */
    unsigned char *buf = malloc(size ? size : 1);
    int r, r2;
    size_t k;
    if (!buf) abort();
    memcpy(buf, data, size);
    why[0] = 0;
    r = proxyproto_parse(buf, size, &p, why, sizeof why);
    FUZZ_ASSERT(r >= -1 && r <= (int)size && r <= PROXYPROTO_MAX);
    if (r < 0) FUZZ_ASSERT(why[0] && memchr(why, 0, sizeof why));
    if (r > 0) {
        unsigned char *exact = malloc((size_t)r);
        if (!exact) abort();
        check_fields(&p);
        FUZZ_ASSERT(r >= 15);
        memcpy(exact, buf, (size_t)r);
        /* The header alone parses the same. */
        r2 = proxyproto_parse(exact, (size_t)r, &q, why2, sizeof why2);
        FUZZ_ASSERT(r2 == r && !memcmp(&p, &q, sizeof p));
        /* Any prefix of it asks for more. */
        for (k = 0; k < (size_t)r; k += 1 + k / 8)
            FUZZ_ASSERT(proxyproto_parse(exact, k, &q, why2, sizeof why2) == 0);
        free(exact);
    }
    if (r == 0) {
        /* Waiting: every prefix waits too. */
        for (k = 0; k < size; k += 1 + k / 8)
            FUZZ_ASSERT(proxyproto_parse(buf, k, &q, why2, sizeof why2) == 0);
    }
    free(buf);
    return 0;
}
