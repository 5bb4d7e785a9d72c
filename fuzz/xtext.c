/* xtext (RFC 3461), the encoding of every field of the filter protocol:
 * encode then decode gives the bytes back, whatever they are; decode of
 * any input never writes past the size it is given (the buffers here are
 * exactly that size) and gives only what re-encodes to a valid xtext;
 * the protocol's own field codec ("-" for none) round-trips too.
 * Input: a byte for the output sizes, then the bytes. */
#include <string.h>

#include "filterproto.h"
#include "fuzz.h"
#include "xtext.h"

static int plain(unsigned char c)
{
    return c >= 33 && c <= 126 && c != '+' && c != '=';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    unsigned cut = fuzz_byte(&in);
    const char *s = fuzz_dup(in.p, in.n);
    size_t n = in.n, room = 3 * n + 1, small, i;
    char *enc = malloc(room), *dec = malloc(n + 1), *buf;
    ssize_t e, d;
    int absent;
    if (!enc || !dec) abort();

    /* Round trip. */
    e = xtext_encode(enc, room, s, n);
    FUZZ_ASSERT(e >= (ssize_t)n && e <= (ssize_t)(3 * n));
    FUZZ_ASSERT(enc[e] == 0 && strlen(enc) == (size_t)e);
    for (i = 0; i < (size_t)e; i++) FUZZ_ASSERT(plain((unsigned char)enc[i]) || enc[i] == '+');
    d = xtext_decode(dec, n + 1, enc, (size_t)e);
    FUZZ_ASSERT(d == (ssize_t)n && !memcmp(dec, s, n) && dec[n] == 0);

    /* Too small a buffer: -1, never a write past it. */
    small = room ? cut % room : 0;
    buf = malloc(small ? small : 1);
    if (!buf) abort();
    e = xtext_encode(buf, small, s, n);
    FUZZ_ASSERT(e == -1 || (e < (ssize_t)small && buf[e] == 0));
    free(buf);

    /* Decoding the input itself, into any size. */
    small = cut % (n + 2);
    buf = malloc(small ? small : 1);
    if (!buf) abort();
    d = xtext_decode(buf, small, s, n);
    if (d >= 0) {
        char *again = malloc(3 * (size_t)d + 1);
        ssize_t e2;
        if (!again) abort();
        FUZZ_ASSERT((size_t)d < small && buf[d] == 0 && (size_t)d <= n);
        /* Valid xtext: each byte plain, or '+' and two upper-case hex digits. */
        for (i = 0; i < n; i++) {
            if (s[i] == '+') {
                FUZZ_ASSERT(i + 2 < n && strchr("0123456789ABCDEF", s[i + 1]) && s[i + 1] &&
                            strchr("0123456789ABCDEF", s[i + 2]) && s[i + 2]);
                i += 2;
            } else {
                FUZZ_ASSERT(plain((unsigned char)s[i]));
            }
        }
        e2 = xtext_encode(again, 3 * (size_t)d + 1, buf, (size_t)d);
        FUZZ_ASSERT(e2 >= 0 && e2 <= (ssize_t)n);
        free(again);
    }
    free(buf);

    /* The protocol's fields: encoded with the leading space, decoded back. */
    {
        char field[4096];
        size_t len = 0;
        if (n && n < 1000 && filterproto_field(field, sizeof field, &len, s, n) == 0) {
            FUZZ_ASSERT(field[0] == ' ' && len < sizeof field && field[len] == 0);
            FUZZ_ASSERT(!memchr(field + 1, ' ', len - 1) && !memchr(field, '\n', len));
            d = filterproto_field_decode(dec, n + 1, field + 1, len - 1, &absent);
            FUZZ_ASSERT(!absent && d == (ssize_t)n && !memcmp(dec, s, n));
        }
        len = 0;
        FUZZ_ASSERT(filterproto_field(field, sizeof field, &len, 0, 0) == 0);
        d = filterproto_field_decode(dec, n + 1, field + 1, len - 1, &absent);
        FUZZ_ASSERT(absent && d == 0);
    }
    free(enc);
    free(dec);
    free((void *)s);
    return 0;
}
