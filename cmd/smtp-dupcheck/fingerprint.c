#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fingerprint.h"

enum { S_LINE_START, S_CR, S_NAME, S_VALUE, S_BODY };

/* The fields that count besides the Message-ID: what a mail reader shows
 * as the author, the subject and where replies go, and what it reads the
 * body by.  Not those that differ between two copies of one message
 * (Received, Date as a client may set it again, To as another path may
 * rewrite it). */
static const char *const counted[] = {
    "from", "sender", "reply-to", "subject", "mime-version", "content-type",
    "content-transfer-encoding", "content-disposition",
};

void message_scan_init(struct message_scan *m)
{
    memset(m, 0, sizeof *m);
    m->state = S_LINE_START;
    sha256_init(&m->fields);
    sha256_init(&m->body);
}

static int blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Octets of the text of the fields that count, hashed in blocks. */
static void put(struct message_scan *m, const void *p, size_t n)
{
    const unsigned char *s = p;
    while (n) {
        size_t k = sizeof m->pend - m->pending;
        if (k > n) k = n;
        memcpy(m->pend + m->pending, s, k);
        m->pending += k;
        s += k;
        n -= k;
        if (m->pending == sizeof m->pend) {
            sha256_update(&m->fields, m->pending, m->pend);
            m->pending = 0;
        }
    }
}

static void field_end(struct message_scan *m)
{
    if (!m->in_field) return;
    m->in_field = 0;
    put(m, "\n", 1);
}

/* A field name is complete: which is it? */
static void field_start(struct message_scan *m)
{
    size_t n = m->name_len, i;
    if (n > FIELD_NAME_MAX) return;                 /* none we know */
    while (n && blank((unsigned char)m->name[n - 1])) n--;    /* obsolete "Name :" */
    if (n == 10 && !memcmp(m->name, "message-id", 10)) {
        if (!m->msgid_seen) m->in_msgid = m->msgid_seen = 1;
        return;
    }
    for (i = 0; i < sizeof counted / sizeof counted[0]; i++)
        if (strlen(counted[i]) == n && !memcmp(m->name, counted[i], n)) {
            m->in_field = 1;
            m->field_started = m->field_space = 0;
            put(m, m->name, n);
            put(m, ":", 1);
            return;
        }
}

static void name_char(struct message_scan *m, unsigned char c)
{
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
    if (m->name_len < FIELD_NAME_MAX) m->name[m->name_len] = (char)c;
    if (m->name_len <= FIELD_NAME_MAX) m->name_len++;
}

/* An octet of a value that counts: white space runs (the line ends of a
 * folded field among them) are one space, none at either end. */
static void field_char(struct message_scan *m, unsigned char c)
{
    if (blank(c) || c == '\r' || c == '\n') {
        m->field_space = m->field_started;
        return;
    }
    if (m->field_space) put(m, " ", 1);
    put(m, &c, 1);
    m->field_space = 0;
    m->field_started = 1;
}

/* The header, octet by octet (it is small); the body in one call. */
void message_scan_feed(struct message_scan *m, const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n && m->state != S_BODY; i++) {
        unsigned char c = (unsigned char)p[i];
        switch (m->state) {
        case S_LINE_START:
            if (c == '\r') {
                m->state = S_CR;
            } else if (c == '\n') {
                field_end(m);
                m->state = S_BODY;
            } else if (blank(c)) {
                m->state = S_VALUE;             /* a continuation line */
            } else {
                field_end(m);
                m->in_msgid = 0;
                m->name_len = 0;
                m->state = S_NAME;
                name_char(m, c);
            }
            break;
        case S_CR:
            field_end(m);
            if (c == '\n') {
                m->state = S_BODY;              /* the empty line */
            } else {
                m->in_msgid = 0;
                m->state = S_VALUE;             /* a line that is no field */
            }
            break;
        case S_NAME:
            if (c == ':') {
                field_start(m);
                m->state = S_VALUE;
            } else if (c == '\n') {
                m->state = S_LINE_START;
            } else {
                name_char(m, c);
            }
            break;
        case S_VALUE:
            if (c == '\n') m->state = S_LINE_START;
            else if (m->in_msgid && !blank(c) && c != '\r') {
                if (!c) m->msgid_nul = 1;
                if (m->msgid_len < MSGID_MAX) m->msgid[m->msgid_len++] = (char)c;
                else m->msgid_too_long = 1;
            }
            if (m->in_field) field_char(m, c);
            break;
        }
    }
    if (i < n) {
        sha256_update(&m->body, n - i, (const uint8_t *)p + i);
        m->body_size += n - i;
    }
}

/* One page at a time: a larger buffer costs a page fault for each 4 KB
 * it holds of the message (a fault costs more than a read of 4 KB more)
 * and stays resident as long as the process. */
int message_scan_fd(struct message_scan *m, int fd)
{
    static char buf[4096];
    off_t off = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return 0;
        message_scan_feed(m, buf, (size_t)r);
        off += r;
    }
}

/* msgid[] was zeroed at the start and is filled up to MSGID_MAX only:
 * it is always NUL terminated. */
const char *message_scan_msgid(const struct message_scan *m)
{
    if (!m->msgid_seen || !m->msgid_len || m->msgid_too_long || m->msgid_nul) return 0;
    return m->msgid;
}

void message_scan_body_digest(struct message_scan *m, unsigned char out[FINGERPRINT_SIZE])
{
    sha256_digest(&m->body, FINGERPRINT_SIZE, out);
}

void message_scan_header_digest(struct message_scan *m, unsigned char out[FINGERPRINT_SIZE])
{
    const char *msgid = message_scan_msgid(m);
    field_end(m);                       /* a header without an empty line */
    put(m, "message-id:", 11);
    if (msgid) put(m, msgid, strlen(msgid));
    put(m, "\n", 1);
    sha256_update(&m->fields, m->pending, m->pend);
    m->pending = 0;
    sha256_digest(&m->fields, FINGERPRINT_SIZE, out);
}

void fingerprint_digest(const void *p, size_t n, unsigned char out[FINGERPRINT_SIZE])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, n, p);
    sha256_digest(&c, FINGERPRINT_SIZE, out);
}

static int compare(const void *a, const void *b)
{
    return memcmp(a, b, FINGERPRINT_SIZE);
}

void fingerprint_compute(unsigned char out[FINGERPRINT_SIZE],
                         const unsigned char header[FINGERPRINT_SIZE],
                         const unsigned char sender[FINGERPRINT_SIZE],
                         const unsigned char body[FINGERPRINT_SIZE],
                         unsigned char (*rcpts)[FINGERPRINT_SIZE], size_t n)
{
    struct sha256_ctx c;
    size_t i;
    qsort(rcpts, n, FINGERPRINT_SIZE, compare);
    sha256_init(&c);
    sha256_update(&c, sizeof FINGERPRINT_TAG - 1, (const uint8_t *)FINGERPRINT_TAG);
    sha256_update(&c, FINGERPRINT_SIZE, header);
    sha256_update(&c, FINGERPRINT_SIZE, sender);
    sha256_update(&c, FINGERPRINT_SIZE, body);
    for (i = 0; i < n; i++)
        if (!i || memcmp(rcpts[i], rcpts[i - 1], FINGERPRINT_SIZE))
            sha256_update(&c, FINGERPRINT_SIZE, rcpts[i]);
    sha256_digest(&c, FINGERPRINT_SIZE, out);
}
