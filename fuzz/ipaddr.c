/* IP addresses as text (lib/ipaddr.c): addresses, prefixes and SMTP
 * address literals, from clients (HELO [..], MAIL FROM:<a@[..]>) and from
 * tables.  What parses has a canonical key that parses back to the same
 * prefix; masking is idempotent; a literal is the address in brackets.
 * Input: the text. */
#include <string.h>

#include "fuzz.h"
#include "ipaddr.h"

static void key_round_trip(const struct ipaddr *a, unsigned length)
{
    char key[IPADDR_KEY_MAX], again[IPADDR_KEY_MAX];
    struct ipaddr b, m1, m2;
    unsigned len2;
    size_t k = ipaddr_key(a, length, key), k2;
    FUZZ_ASSERT(k > 0 && k < IPADDR_KEY_MAX && key[k] == 0 && strlen(key) == k);
    FUZZ_ASSERT(ipaddr_parse_prefix(&b, &len2, key, k));
    FUZZ_ASSERT(len2 == (length > a->bits ? a->bits : length) && b.bits == a->bits);
    m1 = *a;
    ipaddr_mask(&m1, len2);
    m2 = m1;
    ipaddr_mask(&m2, len2);
    FUZZ_ASSERT(ipaddr_equal(&m1, &m2) && ipaddr_equal(&m1, &b));
    k2 = ipaddr_key(&b, len2, again);
    FUZZ_ASSERT(k2 == k && !memcmp(key, again, k));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = fuzz_dup(data, size);
    struct ipaddr a, b;
    unsigned length;
    if (ipaddr_parse(&a, s, size)) {
        FUZZ_ASSERT(a.bits == 32 || a.bits == 128);
        key_round_trip(&a, a.bits);
        key_round_trip(&a, size % 140);
        FUZZ_ASSERT(ipaddr_parse_prefix(&b, &length, s, size) && length == a.bits && ipaddr_equal(&a, &b));
        {
            /* The same address as a literal: "[a.b.c.d]" or "[IPv6:...]". */
            char lit[80];
            int n = a.bits == 32 && !memchr(s, ':', size)
                        ? snprintf(lit, sizeof lit, "[%.*s]", (int)size, s)
                        : snprintf(lit, sizeof lit, "[IPv6:%.*s]", (int)size, s);
            if (n > 0 && (size_t)n < sizeof lit) {
                char *exact = fuzz_dup(lit, (size_t)n);
                FUZZ_ASSERT(ipaddr_parse_literal(&b, exact, (size_t)n) && ipaddr_equal(&a, &b));
                free(exact);
            }
        }
    }
    if (ipaddr_parse_prefix(&a, &length, s, size)) {
        FUZZ_ASSERT(a.bits == 32 || a.bits == 128);
        FUZZ_ASSERT(length <= a.bits);
        key_round_trip(&a, length);
    }
    if (ipaddr_parse_literal(&a, s, size)) {
        FUZZ_ASSERT(size >= 3 && s[0] == '[' && s[size - 1] == ']');
        FUZZ_ASSERT(a.bits == 32 || a.bits == 128);
        key_round_trip(&a, a.bits);
    }
    free((void *)s);
    return 0;
}
