/* smtp-dupcheck's message reader (cmd/smtp-dupcheck/fingerprint.c): the
 * Message-ID and the body digest of a message, fed whole and in pieces
 * of sizes the input chooses, which must give the same; and from a file,
 * as smtp-dupcheck reads fd 3.  The Message-ID is NUL terminated, without
 * white space, at most MSGID_MAX; the body digest is SHA-256 of exactly
 * what follows the empty line.  The fingerprint ignores the order and the
 * repetition of recipients.
 * Input: a seed byte, then the message. */
#include <string.h>
#include <unistd.h>

#include "fingerprint.h"
#include "fuzz.h"

static struct message_scan whole, pieces;

/* Where the body starts: after the first empty line (CRLF or LF). */
static size_t body_start(const uint8_t *p, size_t n)
{
    size_t i;
    if (n && p[0] == '\n') return 1;
    if (n >= 2 && p[0] == '\r' && p[1] == '\n') return 2;
    for (i = 0; i + 1 < n; i++) {
        if (p[i] != '\n') continue;
        if (p[i + 1] == '\n') return i + 2;
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') return i + 3;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    uint32_t seed = fuzz_byte(&in) * 0x2545f491u + (uint32_t)size;
    unsigned char d1[FINGERPRINT_SIZE], d2[FINGERPRINT_SIZE], d3[FINGERPRINT_SIZE];
    unsigned char fp1[FINGERPRINT_SIZE], fp2[FINGERPRINT_SIZE], zero[FINGERPRINT_SIZE];
    unsigned char rcpts[4][FINGERPRINT_SIZE], again[4][FINGERPRINT_SIZE];
    const char *m1, *m2;
    size_t i = 0, start;

    message_scan_init(&whole);
    {
        char *copy = fuzz_dup(in.p, in.n);
        message_scan_feed(&whole, copy, in.n);
        free(copy);
    }
    message_scan_init(&pieces);
    while (i < in.n) {
        size_t k = fuzz_chunk(&seed, in.n - i);
        char *piece = fuzz_dup(in.p + i, k);
        message_scan_feed(&pieces, piece, k);
        free(piece);
        i += k;
    }
    m1 = message_scan_msgid(&whole);
    m2 = message_scan_msgid(&pieces);
    FUZZ_ASSERT(!m1 == !m2);
    if (m1) {
        size_t n = strlen(m1);
        FUZZ_ASSERT(!strcmp(m1, m2));
        FUZZ_ASSERT(n >= 1 && n <= MSGID_MAX && n == whole.msgid_len);
        FUZZ_ASSERT(!strpbrk(m1, " \t\r\n"));
    }
    FUZZ_ASSERT(whole.body_size == pieces.body_size);
    message_scan_body_digest(&whole, d1);
    message_scan_body_digest(&pieces, d2);
    FUZZ_ASSERT(!memcmp(d1, d2, sizeof d1));

    /* The body is what follows the first empty line, octet for octet. */
    start = body_start(in.p, in.n);
    FUZZ_ASSERT(whole.body_size == in.n - start);
    fingerprint_digest(in.p + start, in.n - start, d3);
    FUZZ_ASSERT(!memcmp(d1, d3, sizeof d1));

    /* Recipients: order and repetition do not count. */
    memset(zero, 0, sizeof zero);
    fingerprint_digest("a@example.org", 13, rcpts[0]);
    fingerprint_digest("b@example.org", 13, rcpts[1]);
    memcpy(rcpts[2], rcpts[0], FINGERPRINT_SIZE);
    fingerprint_digest(in.p, in.n < 64 ? in.n : 64, rcpts[3]);
    memcpy(again[0], rcpts[3], FINGERPRINT_SIZE);
    memcpy(again[1], rcpts[1], FINGERPRINT_SIZE);
    memcpy(again[2], rcpts[0], FINGERPRINT_SIZE);
    memcpy(again[3], rcpts[1], FINGERPRINT_SIZE);
    fingerprint_compute(fp1, zero, d1, d1, rcpts, 4);
    fingerprint_compute(fp2, zero, d1, d1, again, 4);
    FUZZ_ASSERT(!memcmp(fp1, fp2, sizeof fp1));
    return 0;
}
