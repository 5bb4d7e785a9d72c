#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fingerprint.h"

/* Debian's libnettle.a is built against glibc with _FORTIFY_SOURCE: its
 * CPU detection (run at start, to use the SHA instructions where the CPU
 * has them) prints with __fprintf_chk when NETTLE_FAT_VERBOSE is set.  A
 * static musl program supplies it (see INSTALL). */
#ifndef __GLIBC__
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
    va_list ap;
    int r;
    (void)flag;
    va_start(ap, fmt);
    r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}
#endif

enum { S_LINE_START, S_CR, S_NAME, S_VALUE, S_BODY };

static const char msgid_name[] = "message-id";
#define MSGID_NAME_LEN 10

void message_scan_init(struct message_scan *m)
{
    memset(m, 0, sizeof *m);
    m->state = S_LINE_START;
    sha256_init(&m->body);
}

static void name_char(struct message_scan *m, unsigned char c)
{
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
    if (m->name_pos < MSGID_NAME_LEN && c == (unsigned char)msgid_name[m->name_pos])
        m->name_pos++;
    else if (!(m->name_pos == MSGID_NAME_LEN && (c == ' ' || c == '\t')))  /* obs "Name :" */
        m->name_match = 0;
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
                m->state = S_BODY;
            } else if (c == ' ' || c == '\t') {
                m->state = S_VALUE;             /* a continuation line */
            } else {
                m->in_msgid = 0;
                m->name_pos = 0;
                m->name_match = 1;
                m->state = S_NAME;
                name_char(m, c);
            }
            break;
        case S_CR:
            if (c == '\n') {
                m->state = S_BODY;              /* the empty line */
            } else {
                m->in_msgid = 0;
                m->state = S_VALUE;             /* a line that is no field */
            }
            break;
        case S_NAME:
            if (c == ':') {
                if (m->name_match && m->name_pos == MSGID_NAME_LEN && !m->msgid_seen)
                    m->in_msgid = m->msgid_seen = 1;
                m->state = S_VALUE;
            } else if (c == '\n') {
                m->state = S_LINE_START;
            } else {
                name_char(m, c);
            }
            break;
        case S_VALUE:
            if (c == '\n') {
                m->state = S_LINE_START;
            } else if (m->in_msgid && c != ' ' && c != '\t' && c != '\r') {
                if (m->msgid_len < MSGID_MAX) m->msgid[m->msgid_len++] = (char)c;
                else m->msgid_too_long = 1;
            }
            break;
        }
    }
    if (i < n) {
        sha256_update(&m->body, n - i, (const uint8_t *)p + i);
        m->body_size += n - i;
    }
}

int message_scan_fd(struct message_scan *m, int fd)
{
    static char buf[65536];
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
    if (!m->msgid_seen || !m->msgid_len || m->msgid_too_long) return 0;
    return m->msgid;
}

void message_scan_body_digest(struct message_scan *m, unsigned char out[FINGERPRINT_SIZE])
{
    sha256_digest(&m->body, FINGERPRINT_SIZE, out);
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
                         const unsigned char msgid[FINGERPRINT_SIZE],
                         const unsigned char sender[FINGERPRINT_SIZE],
                         const unsigned char body[FINGERPRINT_SIZE],
                         unsigned char (*rcpts)[FINGERPRINT_SIZE], size_t n)
{
    struct sha256_ctx c;
    size_t i;
    qsort(rcpts, n, FINGERPRINT_SIZE, compare);
    sha256_init(&c);
    sha256_update(&c, sizeof FINGERPRINT_TAG - 1, (const uint8_t *)FINGERPRINT_TAG);
    sha256_update(&c, FINGERPRINT_SIZE, msgid);
    sha256_update(&c, FINGERPRINT_SIZE, sender);
    sha256_update(&c, FINGERPRINT_SIZE, body);
    for (i = 0; i < n; i++)
        if (!i || memcmp(rcpts[i], rcpts[i - 1], FINGERPRINT_SIZE))
            sha256_update(&c, FINGERPRINT_SIZE, rcpts[i]);
    sha256_digest(&c, FINGERPRINT_SIZE, out);
}
