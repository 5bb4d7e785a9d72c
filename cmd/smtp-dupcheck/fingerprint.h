/* The fingerprint of a message, as smtp-dupcheck(8) defines it: SHA-256
 * over a fixed tag and the SHA-256 digests of the header fields that
 * count (the Message-ID, and those a reader shows or reads the body by),
 * the envelope sender, the body and each distinct recipient, these in
 * the order of their digests (so the order of the RCPT commands does not
 * matter).  Every part is 32 octets: the encoding is unambiguous. */
#ifndef NOQUEUE_FINGERPRINT_H
#define NOQUEUE_FINGERPRINT_H

#include <stddef.h>

#include <nettle/sha2.h>

#define FINGERPRINT_SIZE 32
#define FINGERPRINT_TAG "noqueue-dupcheck 2"     /* 1: the Message-ID alone */
#define MSGID_MAX 998                   /* RFC 5322 line length */

#define FIELD_NAME_MAX 32                /* the longest name that counts, and more */

/* The message as it streams by: its Message-ID field, the digest of the
 * fields that count, the digest of its body (everything after the empty
 * line that ends the header). */
struct message_scan {
    int state;
    unsigned name_len;          /* the field name so far, lower case */
    char name[FIELD_NAME_MAX];
    int in_msgid;               /* in the Message-ID field or its continuation */
    int msgid_seen;             /* only the first Message-ID field counts */
    int msgid_too_long;
    int msgid_nul;              /* a NUL in it: no C string says it */
    size_t msgid_len;
    char msgid[MSGID_MAX + 1];
    int in_field;               /* in a field that counts, or its continuation */
    int field_started, field_space;     /* its value so far: not empty; a blank pending */
    size_t pending;             /* octets of it not yet hashed */
    unsigned char pend[256];
    struct sha256_ctx fields;
    unsigned long long body_size;
    struct sha256_ctx body;
};

void message_scan_init(struct message_scan *m);
void message_scan_feed(struct message_scan *m, const char *p, size_t n);
/* The whole of fd from offset 0 (pread: the shared offset is left alone).
 * 0, or -1 with errno. */
int message_scan_fd(struct message_scan *m, int fd);
/* The Message-ID with all white space removed, NUL terminated; NULL when
 * there is none, it is empty, longer than MSGID_MAX or has a NUL. */
const char *message_scan_msgid(const struct message_scan *m);
void message_scan_body_digest(struct message_scan *m, unsigned char out[FINGERPRINT_SIZE]);
/* The digest of the header fields that count, as smtp-dupcheck(8) says:
 * each From, Sender, Reply-To, Subject, MIME-Version, Content-Type,
 * Content-Transfer-Encoding and Content-Disposition field in the order of
 * the header, as "name:value\n" (the name in lower case, the value
 * unfolded, each run of white space one space, none at either end), then
 * "message-id:" and the Message-ID (as message_scan_msgid, or nothing)
 * and "\n".  Once per scan, at its end. */
void message_scan_header_digest(struct message_scan *m, unsigned char out[FINGERPRINT_SIZE]);

void fingerprint_digest(const void *p, size_t n, unsigned char out[FINGERPRINT_SIZE]);
/* header is message_scan_header_digest's; rcpts[0..n-1] are the
 * recipients' digests, sorted in place. */
void fingerprint_compute(unsigned char out[FINGERPRINT_SIZE],
                         const unsigned char header[FINGERPRINT_SIZE],
                         const unsigned char sender[FINGERPRINT_SIZE],
                         const unsigned char body[FINGERPRINT_SIZE],
                         unsigned char (*rcpts)[FINGERPRINT_SIZE], size_t n);

#endif
