/* The DATA codec, both ways, fed in pieces of sizes the input chooses.
 *
 * Receiving (smtp_undot): the end is the first CRLF "." CRLF (the data
 * starting with "." CRLF counts), never anything else; at most 2 n bytes
 * out of n in; the output is the input less the dot of each line that
 * starts with one and less the final ".CRLF", whatever the chunking; the
 * flags say exactly whether a bare CR or LF, or a dot line, was seen.
 *
 * Sending then receiving: undot(dot(M)) is M with every bare CR or LF made
 * CRLF and a CRLF added at the end if missing, and the receiver sees
 * neither a bare line end nor an early end.
 * Input: a seed byte for the chunk sizes, then the bytes. */
#include <string.h>

#include "fuzz.h"
#include "smtp_data.h"

/* The receiver's output for in[0..n-1], computed the plain way.  *end
 * gets the number of bytes up to the end of data, or n when it is not
 * there; *flags the flags. */
static size_t reference_undot(const uint8_t *in, size_t n, char *out, size_t *end,
                              unsigned *flags, int *done)
{
    size_t i, o = 0, stop = n;
    *flags = 0;
    *done = 0;
    /* The end: "." CRLF at a line start; line starts are 0 and after CRLF. */
    for (i = 0; i < n; i++) {
        int line_start = i == 0 || (i >= 2 && in[i - 2] == '\r' && in[i - 1] == '\n');
        if (line_start && i + 2 < n && in[i] == '.' && in[i + 1] == '\r' && in[i + 2] == '\n') {
            stop = i;
            *done = 1;
            break;
        }
    }
    *end = *done ? stop + 3 : n;
    for (i = 0; i < stop; i++) {
        int line_start = i == 0 || (i >= 2 && in[i - 2] == '\r' && in[i - 1] == '\n');
        if (in[i] == '\r' && (i + 1 < n ? in[i + 1] != '\n' : 0)) *flags |= SMTP_DATA_BARE_EOL;
        if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) *flags |= SMTP_DATA_BARE_EOL;
        if (line_start && in[i] == '.') {
            /* A dot line that is not the end: something follows the dot
             * other than CRLF (and not the end of the input). */
            if (i + 1 < n && (in[i + 1] != '\r' || (i + 2 < n && in[i + 2] != '\n')))
                *flags |= SMTP_DATA_DOT_LINES;
            continue;
        }
        out[o++] = (char)in[i];
    }
    /* Not done: a CR at the very end may still pair with an LF. */
    if (!*done && o && n && in[n - 1] == '\r') o--;
    return o;
}

/* undot in pieces; returns the output length, *used the bytes taken. */
static size_t undot_chunked(const uint8_t *in, size_t n, uint32_t seed, char *out,
                            struct smtp_undot *u, size_t *used)
{
    size_t i = 0, o = 0;
    smtp_undot_init(u);
    while (i < n && !u->done) {
        size_t k = fuzz_chunk(&seed, n - i), got, outlen = 0;
        /* Exactly 2 k bytes of room: a write past them is an ASan report. */
        char *piece = malloc(2 * k);
        const char *src = fuzz_dup(in + i, k);
        if (!piece) abort();
        got = smtp_undot_feed(u, src, k, piece, &outlen);
        FUZZ_ASSERT(got <= k && outlen <= 2 * k);
        FUZZ_ASSERT(got == k || u->done);
        memcpy(out + o, piece, outlen);
        o += outlen;
        i += got;
        free(piece);
        free((void *)src);
    }
    FUZZ_ASSERT(u->size == o);
    *used = i;
    return o;
}

/* dot in pieces, then the end. */
static size_t dot_chunked(const uint8_t *in, size_t n, uint32_t seed, char *out)
{
    struct smtp_dot d;
    size_t i = 0, o = 0;
    char *tail = malloc(5);
    if (!tail) abort();
    smtp_dot_init(&d);
    while (i < n) {
        size_t k = fuzz_chunk(&seed, n - i), m;
        char *piece = malloc(2 * k + 2);
        const char *src = fuzz_dup(in + i, k);
        if (!piece) abort();
        m = smtp_dot_feed(&d, src, k, piece);
        FUZZ_ASSERT(m <= 2 * k + 2);
        memcpy(out + o, piece, m);
        o += m;
        i += k;
        free(piece);
        free((void *)src);
    }
    i = smtp_dot_end(&d, tail);
    FUZZ_ASSERT(i >= 3 && i <= 5);
    memcpy(out + o, tail, i);
    free(tail);
    return o + i;
}

/* Bare CR and bare LF made CRLF, a final CRLF added if missing. */
static size_t normalize(const uint8_t *in, size_t n, char *out)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        if (in[i] == '\r') {
            out[o++] = '\r';
            out[o++] = '\n';
            if (i + 1 < n && in[i + 1] == '\n') i++;
        } else if (in[i] == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
        } else {
            out[o++] = (char)in[i];
        }
    }
    if (o && !(o >= 2 && out[o - 2] == '\r' && out[o - 1] == '\n')) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint32_t seed = fuzz_byte(&in) * 0x01010101u + (uint32_t)size;
    size_t n = in.n, used, refend, o, r, d, m, used2;
    unsigned flags;
    int done;
    struct smtp_undot u;
    char *out = malloc(2 * n + 1), *ref = malloc(n + 1), *dotted = malloc(2 * n + 8),
         *back = malloc(2 * n + 8), *norm = malloc(2 * n + 8);
    if (!out || !ref || !dotted || !back || !norm) abort();

    /* Receiving arbitrary bytes. */
    o = undot_chunked(in.p, n, seed, out, &u, &used);
    r = reference_undot(in.p, n, ref, &refend, &flags, &done);
    FUZZ_ASSERT(u.done == done);
    FUZZ_ASSERT(used == refend);
    FUZZ_ASSERT(u.flags == flags);
    FUZZ_ASSERT(o == r && !memcmp(out, ref, o));

    /* Sending, then receiving. */
    d = dot_chunked(in.p, n, seed ^ 0x5bd1e995u, dotted);
    FUZZ_ASSERT(d <= 2 * n + 5);
    m = undot_chunked((const uint8_t *)dotted, d, seed + 1, back, &u, &used2);
    FUZZ_ASSERT(u.done && used2 == d);
    FUZZ_ASSERT(!(u.flags & SMTP_DATA_BARE_EOL));
    r = normalize(in.p, n, norm);
    FUZZ_ASSERT(m == r && !memcmp(back, norm, m));

    free(out);
    free(ref);
    free(dotted);
    free(back);
    free(norm);
    return 0;
}
