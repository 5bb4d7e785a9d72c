/* The fingerprint of a message, as smtp-dupcheck(8) defines it: SHA-256
 * over a fixed tag and the SHA-256 digests of the Message-ID, the
 * envelope sender, the body and each distinct recipient, these in the
 * order of their digests (so the order of the RCPT commands does not
 * matter).  Every part is 32 octets: the encoding is unambiguous. */
#ifndef NOQUEUE_FINGERPRINT_H
#define NOQUEUE_FINGERPRINT_H

#include <stddef.h>

#include <nettle/sha2.h>

#define FINGERPRINT_SIZE 32
#define FINGERPRINT_TAG "noqueue-dupcheck 1"
#define MSGID_MAX 998                   /* RFC 5322 line length */

/* The message as it streams by: its Message-ID field, the digest of its
 * body (everything after the empty line that ends the header). */
struct message_scan {
    int state;
    unsigned name_pos;
    int name_match;
    int in_msgid;               /* in the Message-ID field or its continuation */
    int msgid_seen;             /* only the first Message-ID field counts */
    int msgid_too_long;
    size_t msgid_len;
    char msgid[MSGID_MAX + 1];
    unsigned long long body_size;
    struct sha256_ctx body;
};

void message_scan_init(struct message_scan *m);
void message_scan_feed(struct message_scan *m, const char *p, size_t n);
/* The whole of fd from offset 0 (pread: the shared offset is left alone).
 * 0, or -1 with errno. */
int message_scan_fd(struct message_scan *m, int fd);
/* The Message-ID with all white space removed, NUL terminated; NULL when
 * there is none, it is empty, or longer than MSGID_MAX. */
const char *message_scan_msgid(const struct message_scan *m);
void message_scan_body_digest(struct message_scan *m, unsigned char out[FINGERPRINT_SIZE]);

void fingerprint_digest(const void *p, size_t n, unsigned char out[FINGERPRINT_SIZE]);
/* rcpts[0..n-1] are the recipients' digests; sorted in place. */
void fingerprint_compute(unsigned char out[FINGERPRINT_SIZE],
                         const unsigned char msgid[FINGERPRINT_SIZE],
                         const unsigned char sender[FINGERPRINT_SIZE],
                         const unsigned char body[FINGERPRINT_SIZE],
                         unsigned char (*rcpts)[FINGERPRINT_SIZE], size_t n);

#endif
