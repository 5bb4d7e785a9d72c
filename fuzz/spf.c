/* smtp-spf's parser of SPF records and its macro expander, on text from
 * DNS (anyone's): the input, after "v=spf1 ", is parsed as a record; a
 * parsed record's domain-specs, redirect= and exp= expand to at most 253
 * characters; the input as a macro-string expands into a buffer of the
 * size the input chooses without writing past it, and with no truncation
 * when the buffer is large enough.  No DNS: %{p} is "unknown".
 * Input: a byte of choices (exp or not, the output size), then the text. */
#include <string.h>

#include "fuzz.h"
#include "spf.h"

static struct spf_record rec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    unsigned choice = fuzz_byte(&in);
    int exp = choice & 1, truncated = 0, r;
    size_t n = in.n, room = 1 + (choice >> 1) * 4, i;
    char why[200], dom[DNS_NAME_MAX + 1];
    char *record = malloc(n + 8), *out = malloc(room), *big;
    struct spf_macros m;
    if (!record || !out) abort();
    memset(&m, 0, sizeof m);
    ipaddr_parse(&m.ip, (choice & 2) ? "2001:db8::cb01" : "192.0.2.3", (choice & 2) ? 14 : 9);
    m.sender = "strong-bad@email.example.com";
    m.helo = "mx.example.org";
    m.receiver = "mx.example.net";
    m.now = 1;

    /* The input as the terms of a record. */
    memcpy(record, "v=spf1 ", 7);
    memcpy(record + 7, in.p, n);
    record[n + 7] = 0;
    if (spf_parse(record, n + 7, &rec, why, sizeof why) == 0) {
        FUZZ_ASSERT(rec.n <= SPF_TERMS_MAX);
        for (i = 0; i < rec.n; i++) {
            const struct spf_term *t = &rec.term[i];
            FUZZ_ASSERT(t->cidr4 <= 32 && t->cidr6 <= 128);
            if (!t->spec) continue;
            FUZZ_ASSERT(t->spec >= record && t->spec + t->spec_len <= record + n + 7);
            if (spf_expand_domain(&m, "email.example.com", t->spec, t->spec_len, dom, sizeof dom) == 0)
                FUZZ_ASSERT(strlen(dom) <= DNS_NAME_MAX);
        }
        if (rec.redirect && spf_expand_domain(&m, "x.example", rec.redirect, rec.redirect_len, dom, sizeof dom) == 0)
            FUZZ_ASSERT(strlen(dom) <= DNS_NAME_MAX);
        if (rec.exp) FUZZ_ASSERT(spf_domain_spec_valid(rec.exp, rec.exp_len));
    } else {
        FUZZ_ASSERT(why[0]);
    }

    /* The input as a macro-string, into the size chosen. */
    r = spf_expand(&m, "email.example.com", (const char *)in.p, n, exp, out, room, &truncated);
    if (r == 0) FUZZ_ASSERT(strlen(out) < room);
    /* Into a buffer large enough for anything it can make: no truncation. */
    big = malloc(n * 1100 + 16);
    if (!big) abort();
    FUZZ_ASSERT(spf_expand(&m, "email.example.com", (const char *)in.p, n, exp, big, n * 1100 + 16,
                           &truncated) == r);
    if (r == 0) FUZZ_ASSERT(!truncated);
    spf_domain_spec_valid((const char *)in.p, n);
    free(big);
    free(record);
    free(out);
    return 0;
}
