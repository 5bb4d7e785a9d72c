/* The DATA stream: receiving (undot) and sending (dot), and the round trip.
 *
 * The receiving side is the "SMTP smuggling" front line: only CRLF "." CRLF
 * may end the data; every other combination of CR, LF and a dot must be
 * taken as message content and flagged SMTP_DATA_BARE_EOL. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"

/* The whole result of feeding an input in chunks. */
struct undone {
    char out[8192];
    size_t outlen;
    size_t consumed;
    struct smtp_undot u;
};

/* Feed in[0..n-1] in chunks of the given sizes (cycled; 0 = everything at
 * once), stopping when the state machine says done. */
static void undot_chunks(struct undone *r, const char *in, size_t n,
                         const size_t *chunks, size_t nchunks)
{
    size_t i = 0, c = 0;
    smtp_undot_init(&r->u);
    r->outlen = 0;
    r->consumed = 0;
    while (i < n && !r->u.done) {
        size_t k = nchunks ? chunks[c++ % nchunks] : n;
        size_t used, o;
        if (k > n - i) k = n - i;
        ck_assert(r->outlen + 2 * k <= sizeof r->out);
        used = smtp_undot_feed(&r->u, in + i, k, r->out + r->outlen, &o);
        ck_assert_msg(o <= 2 * k, "%zu bytes out for %zu in", o, k);
        ck_assert_msg(used == k || r->u.done, "stopped early without the end");
        ck_assert(used <= k);
        r->outlen += o;
        i += used;
    }
    r->consumed = i;
}

static void undot_all(struct undone *r, const char *in, size_t n)
{
    undot_chunks(r, in, n, NULL, 0);
}

#define UNDOT(r, lit) undot_all(r, lit, sizeof lit - 1)

static void assert_out(const struct undone *r, const char *expect, size_t n)
{
    ck_assert_msg(r->outlen == n, "out length %zu, expected %zu", r->outlen, n);
    ck_assert_mem_eq(r->out, expect, n);
    ck_assert_uint_eq(r->u.size, n);
}
#define ASSERT_OUT(r, lit) assert_out(r, lit, sizeof lit - 1)

START_TEST(test_undot_normal_message)
{
    static struct undone r;
    UNDOT(&r, "Subject: x\r\n\r\nbody\r\n.\r\n");
    ck_assert_int_eq(r.u.done, 1);
    ck_assert_uint_eq(r.consumed, 23);
    ASSERT_OUT(&r, "Subject: x\r\n\r\nbody\r\n");
    ck_assert_uint_eq(r.u.flags & SMTP_DATA_BARE_EOL, 0);
}
END_TEST

START_TEST(test_undot_removes_one_leading_dot)
{
    static struct undone r;
    UNDOT(&r, "..a\r\n.b\r\n...\r\nx.y\r\n.\r\n");
    ck_assert_int_eq(r.u.done, 1);
    ASSERT_OUT(&r, ".a\r\nb\r\n..\r\nx.y\r\n");
    ck_assert(r.u.flags & SMTP_DATA_DOT_LINES);
    ck_assert_uint_eq(r.u.flags & SMTP_DATA_BARE_EOL, 0);
}
END_TEST

START_TEST(test_undot_dot_first_byte_of_data)
{
    static struct undone r;
    UNDOT(&r, ".x\r\n.\r\n");
    ck_assert_int_eq(r.u.done, 1);
    ASSERT_OUT(&r, "x\r\n");
}
END_TEST

START_TEST(test_undot_empty_message)
{
    static struct undone r;
    UNDOT(&r, ".\r\nQUIT\r\n");
    ck_assert_int_eq(r.u.done, 1);
    ck_assert_uint_eq(r.consumed, 3);
    ck_assert_uint_eq(r.outlen, 0);
    ck_assert_uint_eq(r.u.size, 0);
    ck_assert_uint_eq(r.u.flags & SMTP_DATA_BARE_EOL, 0);
}
END_TEST

START_TEST(test_undot_dot_lines_flag_not_set_by_final_dot)
{
    /* SMTP_DATA_DOT_LINES: "some line started with a dot".  The end of
     * data is not a message line: a message without dot lines has no
     * flag, else the flag would be set on every message. */
    static struct undone r;
    UNDOT(&r, "a\r\nb\r\n.\r\n");
    ck_assert_int_eq(r.u.done, 1);
    ck_assert_uint_eq(r.u.flags, 0);
}
END_TEST

START_TEST(test_undot_empty_lines_kept)
{
    static struct undone r;
    UNDOT(&r, "\r\n\r\n\r\n.\r\n");
    ck_assert_int_eq(r.u.done, 1);
    ASSERT_OUT(&r, "\r\n\r\n\r\n");
    ck_assert_uint_eq(r.u.flags & SMTP_DATA_BARE_EOL, 0);
}
END_TEST

START_TEST(test_undot_nul_and_eight_bit_pass_through)
{
    static struct undone r;
    UNDOT(&r, "\0\x80\xff caf\xc3\xa9\r\n.\r\n");
    ck_assert_int_eq(r.u.done, 1);
    ASSERT_OUT(&r, "\0\x80\xff caf\xc3\xa9\r\n");
    ck_assert_uint_eq(r.u.flags & SMTP_DATA_BARE_EOL, 0);
}
END_TEST

START_TEST(test_undot_bytes_after_end_unconsumed)
{
    struct smtp_undot u;
    char out[64];
    size_t o;
    const char in[] = "a\r\n.\r\nQUIT\r\n";
    smtp_undot_init(&u);
    ck_assert_uint_eq(smtp_undot_feed(&u, in, sizeof in - 1, out, &o), 6);
    ck_assert_int_eq(u.done, 1);
    ck_assert_uint_eq(o, 3);
    ck_assert_mem_eq(out, "a\r\n", 3);
    /* done stays done: nothing more is taken */
    ck_assert_uint_eq(smtp_undot_feed(&u, in + 6, 6, out, &o), 0);
    ck_assert_uint_eq(o, 0);
    ck_assert_uint_eq(u.size, 3);
}
END_TEST

START_TEST(test_undot_unfinished_is_not_done)
{
    static struct undone r;
    UNDOT(&r, "a\r\n.\r");
    ck_assert_int_eq(r.u.done, 0);
    ck_assert_uint_eq(r.consumed, 5);
    UNDOT(&r, "a\r\n.");
    ck_assert_int_eq(r.u.done, 0);
    UNDOT(&r, "a\r\n");
    ck_assert_int_eq(r.u.done, 0);
    ASSERT_OUT(&r, "a\r\n");
}
END_TEST

START_TEST(test_undot_lone_cr_held_back_until_next_byte)
{
    struct smtp_undot u;
    char out[16];
    size_t o;
    smtp_undot_init(&u);
    ck_assert_uint_eq(smtp_undot_feed(&u, "ab\r", 3, out, &o), 3);
    ck_assert_uint_eq(o, 2);
    ck_assert_mem_eq(out, "ab", 2);
    ck_assert_uint_eq(smtp_undot_feed(&u, "\n", 1, out, &o), 1);
    ck_assert_uint_eq(o, 2);
    ck_assert_mem_eq(out, "\r\n", 2);
    ck_assert_uint_eq(u.flags & SMTP_DATA_BARE_EOL, 0);
    ck_assert_uint_eq(smtp_undot_feed(&u, "c\r", 2, out, &o), 2);
    ck_assert_uint_eq(smtp_undot_feed(&u, "d", 1, out, &o), 1);
    ck_assert_uint_eq(o, 2);
    ck_assert_mem_eq(out, "\rd", 2);
    ck_assert(u.flags & SMTP_DATA_BARE_EOL);
    ck_assert_uint_eq(u.size, 7);
}
END_TEST

/* The end of data split across two feed calls, at every byte boundary,
 * and byte by byte. */
START_TEST(test_undot_end_split_at_every_boundary)
{
    static const char in[] = "H: v\r\n\r\n..dot\r\nx\r\n.\r\nQUIT\r\n";
    static const char expect[] = "H: v\r\n\r\n.dot\r\nx\r\n";
    const size_t n = sizeof in - 1, end = n - 6;
    size_t k;
    static struct undone r;
    for (k = 0; k <= n; k++) {
        size_t chunks[2];
        chunks[0] = k ? k : 1;
        chunks[1] = n;
        if (!k) undot_chunks(&r, in, n, (size_t[]){ 1 }, 1);
        else undot_chunks(&r, in, n, chunks, 2);
        ck_assert_msg(r.u.done, "split %zu: not done", k);
        ck_assert_msg(r.consumed == end, "split %zu: consumed %zu", k, r.consumed);
        ck_assert_msg(r.outlen == sizeof expect - 1 && !memcmp(r.out, expect, r.outlen),
                      "split %zu: wrong output", k);
        ck_assert_uint_eq(r.u.flags & SMTP_DATA_BARE_EOL, 0);
    }
}
END_TEST

/* Each smuggling variant sits between "a" and "X\r\n.\r\nQUIT\r\n": it
 * must not end the data, must be flagged, and the real end must still be
 * found.  expect is the message as the state machine keeps it. */
static const struct {
    const char *variant;
    const char *expect;
} smuggle[] = {
    { "\n.\n",       "a\n.\nX\r\n" },
    { "\r.\r",       "a\r.\rX\r\n" },
    { "\n.\r\n",     "a\n.\r\nX\r\n" },
    { "\r\n.\n",     "a\r\n\nX\r\n" },      /* the leading dot is stuffing */
    { "\r\n.\r",     "a\r\n\rX\r\n" },
    { "\r.\r\n",     "a\r.\r\nX\r\n" },
    { "\n.\r",       "a\n.\rX\r\n" },
    { "\r.\n",       "a\r.\nX\r\n" },
    { "\n\n.\n\n",   "a\n\n.\n\nX\r\n" },
    { "\r\r.\r\r",   "a\r\r.\r\rX\r\n" },
    { "\r\n.\r\r\n", "a\r\n\r\r\nX\r\n" },
    { "\n.\n.\r\n",  "a\n.\n.\r\nX\r\n" },
    { "\r\n.\n.\n",  "a\r\n\n.\nX\r\n" },
    { "\r\n\n.\r\n", "a\r\n\n.\r\nX\r\n" },
    { "\n\r.\r\n",   "a\n\r.\r\nX\r\n" },
};

static size_t smuggle_input(char *buf, size_t v)
{
    return (size_t)sprintf(buf, "a%sX\r\n.\r\nQUIT\r\n", smuggle[v].variant);
}

START_TEST(test_undot_smuggling_variant_never_ends_data)
{
    static struct undone r;
    char in[64];
    size_t n = smuggle_input(in, (size_t)_i);
    const char *expect = smuggle[_i].expect;
    undot_all(&r, in, n);
    ck_assert_msg(r.u.done, "variant %d: real end not found", _i);
    ck_assert_msg(r.consumed == n - 6, "variant %d: data ended after %zu of %zu bytes",
                  _i, r.consumed, n - 6);
    ck_assert_msg(r.u.flags & SMTP_DATA_BARE_EOL, "variant %d: not flagged", _i);
    ck_assert_msg(r.outlen == strlen(expect) && !memcmp(r.out, expect, r.outlen),
                  "variant %d: wrong output", _i);
}
END_TEST

START_TEST(test_undot_smuggling_variant_byte_by_byte)
{
    static struct undone r;
    char in[64];
    size_t n = smuggle_input(in, (size_t)_i), one = 1;
    const char *expect = smuggle[_i].expect;
    undot_chunks(&r, in, n, &one, 1);
    ck_assert_msg(r.consumed == n - 6, "variant %d: ended after %zu", _i, r.consumed);
    ck_assert(r.u.done);
    ck_assert(r.u.flags & SMTP_DATA_BARE_EOL);
    ck_assert_msg(r.outlen == strlen(expect) && !memcmp(r.out, expect, r.outlen),
                  "variant %d: wrong output", _i);
}
END_TEST

START_TEST(test_undot_smuggled_second_message_stays_in_the_first)
{
    static const char in[] =
        "Subject: one\r\n\r\nhello\r\n\n.\n"
        "MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n"
        "Subject: two\r\n\r\nsmuggled\r\n.\r\n";
    static struct undone r;
    UNDOT(&r, in);
    ck_assert_int_eq(r.u.done, 1);
    ck_assert_uint_eq(r.consumed, sizeof in - 1);
    ck_assert(r.u.flags & SMTP_DATA_BARE_EOL);
    ck_assert_uint_eq(r.outlen, sizeof in - 1 - 3);
    ck_assert_mem_eq(r.out, in, sizeof in - 1 - 3);
}
END_TEST

START_TEST(test_undot_bare_lf_never_ends_data)
{
    static struct undone r;
    UNDOT(&r, "a\n.\r\n");
    ck_assert_int_eq(r.u.done, 0);
    ck_assert(r.u.flags & SMTP_DATA_BARE_EOL);
    ASSERT_OUT(&r, "a\n.\r\n");
}
END_TEST

START_TEST(test_undot_bare_cr_never_ends_data)
{
    static struct undone r;
    UNDOT(&r, "a\r.\r\nb");
    ck_assert_int_eq(r.u.done, 0);
    ck_assert(r.u.flags & SMTP_DATA_BARE_EOL);
    ASSERT_OUT(&r, "a\r.\r\nb");
}
END_TEST

/* A tiny deterministic PRNG (xorshift64*), so a seed means the same run
 * on every libc. */
static uint64_t rng_state;
static uint32_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}
#define SEED 0x6e6f7175657565ULL     /* "noqueue" */

START_TEST(test_undot_chunking_never_changes_the_result)
{
    /* Random bytes from an alphabet rich in CR, LF and dots, cut into
     * random chunks: the same output, flags and end as one big feed. */
    static const char alphabet[] = "\r\n.\r\n.x";
    static char in[512];
    static struct undone whole, parts;
    int round;
    rng_state = SEED;
    printf("smtp_data chunking: seed 0x%llx\n", (unsigned long long)SEED);
    for (round = 0; round < 2000; round++) {
        size_t n = 1 + rng() % sizeof in, i, chunks[8];
        for (i = 0; i < n; i++) in[i] = alphabet[rng() % (sizeof alphabet - 1)];
        for (i = 0; i < 8; i++) chunks[i] = 1 + rng() % 7;
        undot_all(&whole, in, n);
        undot_chunks(&parts, in, n, chunks, 8);
        ck_assert_msg(whole.consumed == parts.consumed && whole.u.done == parts.u.done &&
                      whole.u.flags == parts.u.flags && whole.outlen == parts.outlen &&
                      !memcmp(whole.out, parts.out, whole.outlen),
                      "seed 0x%llx round %d: chunking changed the result",
                      (unsigned long long)SEED, round);
    }
}
END_TEST

START_TEST(test_undot_ends_only_at_crlf_dot_crlf)
{
    /* Reference: the data ends right after the first CRLF "." CRLF whose
     * CRLF is a real line end (or at the very start: ".\r\n"). */
    static const char alphabet[] = "\r\n.\r\n.x";
    static char in[256];
    static struct undone r;
    int round;
    rng_state = SEED + 1;
    for (round = 0; round < 3000; round++) {
        size_t n = 1 + rng() % sizeof in, i, end = 0;
        int line_start = 1;
        for (i = 0; i < n; i++) in[i] = alphabet[rng() % (sizeof alphabet - 1)];
        /* walk real lines: a line ends at CRLF; bare CR or LF never end one */
        for (i = 0; i < n && !end; ) {
            if (line_start && i + 3 <= n && !memcmp(in + i, ".\r\n", 3)) { end = i + 3; break; }
            if (i + 2 <= n && in[i] == '\r' && in[i + 1] == '\n') { i += 2; line_start = 1; continue; }
            line_start = 0;
            i++;
        }
        undot_all(&r, in, n);
        ck_assert_msg(r.u.done == (end != 0), "seed 0x%llx round %d: done %d, expected %d",
                      (unsigned long long)(SEED + 1), round, r.u.done, end != 0);
        if (end) ck_assert_msg(r.consumed == end, "seed 0x%llx round %d: ended at %zu, expected %zu",
                               (unsigned long long)(SEED + 1), round, r.consumed, end);
    }
}
END_TEST

/* --- sending -------------------------------------------------------------- */

static size_t dot_all(const char *in, size_t n, char *out)
{
    struct smtp_dot d;
    size_t o;
    smtp_dot_init(&d);
    o = smtp_dot_feed(&d, in, n, out);
    ck_assert(o <= 2 * n + 2);
    return o + smtp_dot_end(&d, out + o);
}
#define DOT_EQ(lit, expect) do { \
    char out_[256]; \
    size_t o_ = dot_all(lit, sizeof lit - 1, out_); \
    ck_assert_msg(o_ == sizeof expect - 1 && !memcmp(out_, expect, o_), \
                  "dot(%s): got %.*s", #lit, (int)o_, out_); \
} while (0)

/* A CR or an LF at every position of the eight-byte words the scan
 * looks at, in a run of bytes that differ from them in a bit or two
 * (0x0c, 0x0e, 0x8d, 0x8a, ...) and with a CR further on: found where it
 * is, in both directions (a bare one is flagged when received, made CRLF
 * when sent). */
static size_t ordinary_run(char *p, size_t n)
{
    static const char fill[] = "a\x0c\x0e\x8d\x8a\x0b\x09\x2e\xff";
    size_t k;
    for (k = 0; k < n; k++) p[k] = fill[k % 9];
    return n;
}

START_TEST(test_cr_and_lf_found_at_every_offset)
{
    char in[80], expect[80], out[200];
    size_t pos, n, o, e, bare;
    struct undone r;
    struct smtp_dot d;
    for (pos = 0; pos < 40; pos++)
        for (bare = 0; bare < 2; bare++) {
            /* pos ordinary bytes, a bare LF (or CR), 11 more, CRLF, the end */
            n = ordinary_run(in, pos);
            in[n++] = bare ? '\r' : '\n';
            n += ordinary_run(in + n, 11);
            memcpy(in + n, "\r\n.\r\n", 5);
            undot_all(&r, in, n + 5);
            ck_assert(r.u.done);
            ck_assert_uint_eq(r.outlen, n + 2);
            ck_assert_mem_eq(r.out, in, n + 2);
            ck_assert_msg(r.u.flags & SMTP_DATA_BARE_EOL, "the bare %s after %zu bytes not seen",
                          bare ? "CR" : "LF", pos);
            smtp_dot_init(&d);
            o = smtp_dot_feed(&d, in, n + 2, out);
            e = ordinary_run(expect, pos);
            memcpy(expect + e, "\r\n", 2);
            e += 2 + ordinary_run(expect + e + 2, 11);
            memcpy(expect + e, "\r\n", 2);
            ck_assert_uint_eq(o, e + 2);
            ck_assert_mem_eq(out, expect, o);
        }
}
END_TEST

START_TEST(test_dot_leading_dots_doubled)
{
    DOT_EQ("a\r\n.b\r\n..\r\nc.d\r\n", "a\r\n..b\r\n...\r\nc.d\r\n.\r\n");
    DOT_EQ(".first\r\n", "..first\r\n.\r\n");
    DOT_EQ(".\r\n", "..\r\n.\r\n");
}
END_TEST

START_TEST(test_dot_bare_lf_becomes_crlf)
{
    DOT_EQ("a\nb\n", "a\r\nb\r\n.\r\n");
    DOT_EQ("\n\n", "\r\n\r\n.\r\n");
    DOT_EQ("a\n.b\n", "a\r\n..b\r\n.\r\n");
}
END_TEST

START_TEST(test_dot_bare_cr_becomes_crlf)
{
    DOT_EQ("a\rb\r\n", "a\r\nb\r\n.\r\n");
    DOT_EQ("a\r.b\r\n", "a\r\n..b\r\n.\r\n");
    DOT_EQ("a\r\r\n", "a\r\n\r\n.\r\n");
    DOT_EQ("a\r", "a\r\n.\r\n");
}
END_TEST

START_TEST(test_dot_end_adds_crlf_when_needed)
{
    DOT_EQ("", ".\r\n");
    DOT_EQ("a\r\n", "a\r\n.\r\n");
    DOT_EQ("a", "a\r\n.\r\n");
    DOT_EQ("a\n", "a\r\n.\r\n");
}
END_TEST

START_TEST(test_dot_end_lengths)
{
    struct smtp_dot d;
    char out[16];
    smtp_dot_init(&d);
    ck_assert_uint_eq(smtp_dot_end(&d, out), 3);
    ck_assert_mem_eq(out, ".\r\n", 3);
    smtp_dot_feed(&d, "x", 1, out);
    ck_assert_uint_eq(smtp_dot_end(&d, out), 5);
    ck_assert_mem_eq(out, "\r\n.\r\n", 5);
}
END_TEST

START_TEST(test_dot_crlf_split_across_feeds)
{
    struct smtp_dot d;
    char out[16];
    smtp_dot_init(&d);
    ck_assert_uint_eq(smtp_dot_feed(&d, "a\r", 2, out), 1);
    ck_assert_mem_eq(out, "a", 1);
    ck_assert_uint_eq(smtp_dot_feed(&d, "\n.", 2, out), 4);
    ck_assert_mem_eq(out, "\r\n..", 4);
    ck_assert_uint_eq(smtp_dot_feed(&d, "\r", 1, out), 0);
    ck_assert_uint_eq(smtp_dot_feed(&d, ".", 1, out), 4);   /* 2n + 2 */
    ck_assert_mem_eq(out, "\r\n..", 4);
}
END_TEST

START_TEST(test_dot_output_never_holds_bare_eol)
{
    /* Whatever goes in, the output is CRLF lines ending in CRLF.CRLF, and
     * the receiving side takes it back without a bare-EOL flag, ending
     * exactly at its end. */
    static const char alphabet[] = "\r\n.x\r\n.\x80";
    static char in[300], out[2 * 300 + 8];
    static struct undone r;
    int round;
    rng_state = SEED + 2;
    for (round = 0; round < 2000; round++) {
        size_t n = rng() % sizeof in, i, o;
        for (i = 0; i < n; i++) in[i] = alphabet[rng() % (sizeof alphabet - 1)];
        o = dot_all(in, n, out);
        for (i = 0; i < o; i++) {
            if (out[i] == '\r') ck_assert(i + 1 < o && out[i + 1] == '\n');
            if (out[i] == '\n') ck_assert(i > 0 && out[i - 1] == '\r');
        }
        undot_all(&r, out, o);
        ck_assert_msg(r.u.done && r.consumed == o && !(r.u.flags & SMTP_DATA_BARE_EOL),
                      "seed 0x%llx round %d", (unsigned long long)(SEED + 2), round);
    }
}
END_TEST

/* The property: for valid messages m (CRLF lines, some starting with dots,
 * 8-bit bytes), undot(dot(m)) == m, both sides fed in random chunks. */
START_TEST(test_round_trip_undot_of_dot_is_identity)
{
    static char m[4096], wire[2 * 4096 + 8];
    static struct undone r;
    int round;
    rng_state = SEED + 3;
    printf("smtp_data round trip: seed 0x%llx\n", (unsigned long long)(SEED + 3));
    for (round = 0; round < 1000; round++) {
        size_t n = 0, w = 0, i, chunks[6];
        unsigned lines = rng() % 20, l;
        struct smtp_dot d;
        for (l = 0; l < lines; l++) {
            unsigned len = rng() % 80, j, kind = rng() % 4;
            if (n + len + 4 > sizeof m) break;
            if (kind == 0) m[n++] = '.';
            if (kind == 1) { m[n++] = '.'; m[n++] = '.'; }
            for (j = 0; j < len; j++) {
                unsigned char c;
                do c = (unsigned char)(rng() & 255); while (c == '\r' || c == '\n');
                m[n++] = (char)c;
            }
            m[n++] = '\r';
            m[n++] = '\n';
        }
        /* dot, in random chunks */
        smtp_dot_init(&d);
        for (i = 0; i < n; ) {
            size_t k = 1 + rng() % 50;
            if (k > n - i) k = n - i;
            w += smtp_dot_feed(&d, m + i, k, wire + w);
            i += k;
        }
        w += smtp_dot_end(&d, wire + w);
        for (i = 0; i < 6; i++) chunks[i] = 1 + rng() % 40;
        undot_chunks(&r, wire, w, chunks, 6);
        ck_assert_msg(r.u.done && r.consumed == w, "seed 0x%llx round %d: end not found",
                      (unsigned long long)(SEED + 3), round);
        ck_assert_msg(r.outlen == n && !memcmp(r.out, m, n),
                      "seed 0x%llx round %d: message changed", (unsigned long long)(SEED + 3), round);
        ck_assert_msg(!(r.u.flags & SMTP_DATA_BARE_EOL), "seed 0x%llx round %d: bare EOL",
                      (unsigned long long)(SEED + 3), round);
    }
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("smtp_data");
    TCase *tc = tcase_create("undot");
    tcase_add_test(tc, test_undot_normal_message);
    tcase_add_test(tc, test_undot_removes_one_leading_dot);
    tcase_add_test(tc, test_undot_dot_first_byte_of_data);
    tcase_add_test(tc, test_undot_empty_message);
    tcase_add_test(tc, test_undot_dot_lines_flag_not_set_by_final_dot);
    tcase_add_test(tc, test_undot_empty_lines_kept);
    tcase_add_test(tc, test_undot_nul_and_eight_bit_pass_through);
    tcase_add_test(tc, test_undot_bytes_after_end_unconsumed);
    tcase_add_test(tc, test_undot_unfinished_is_not_done);
    tcase_add_test(tc, test_undot_lone_cr_held_back_until_next_byte);
    tcase_add_test(tc, test_undot_end_split_at_every_boundary);
    suite_add_tcase(s, tc);

    tc = tcase_create("smuggling");
    tcase_add_loop_test(tc, test_undot_smuggling_variant_never_ends_data, 0,
                        (int)(sizeof smuggle / sizeof smuggle[0]));
    tcase_add_loop_test(tc, test_undot_smuggling_variant_byte_by_byte, 0,
                        (int)(sizeof smuggle / sizeof smuggle[0]));
    tcase_add_test(tc, test_undot_smuggled_second_message_stays_in_the_first);
    tcase_add_test(tc, test_undot_bare_lf_never_ends_data);
    tcase_add_test(tc, test_undot_bare_cr_never_ends_data);
    tcase_add_test(tc, test_undot_chunking_never_changes_the_result);
    tcase_add_test(tc, test_undot_ends_only_at_crlf_dot_crlf);
    suite_add_tcase(s, tc);

    tc = tcase_create("dot");
    tcase_add_test(tc, test_dot_leading_dots_doubled);
    tcase_add_test(tc, test_dot_bare_lf_becomes_crlf);
    tcase_add_test(tc, test_dot_bare_cr_becomes_crlf);
    tcase_add_test(tc, test_dot_end_adds_crlf_when_needed);
    tcase_add_test(tc, test_dot_end_lengths);
    tcase_add_test(tc, test_dot_crlf_split_across_feeds);
    tcase_add_test(tc, test_dot_output_never_holds_bare_eol);
    tcase_add_test(tc, test_round_trip_undot_of_dot_is_identity);
    tcase_add_test(tc, test_cr_and_lf_found_at_every_offset);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(data_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
