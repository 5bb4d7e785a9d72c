#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "deadline.h"
#include "ehlocache.h"
#include "io.h"
#include "scan.h"

static const struct { const char *name; unsigned flag; } keywords[] = {
    { "PIPELINING", EHLO_PIPELINING }, { "SIZE", EHLO_SIZE }, { "8BITMIME", EHLO_8BITMIME },
    { "SMTPUTF8", EHLO_SMTPUTF8 }, { "DSN", EHLO_DSN }, { "CHUNKING", EHLO_CHUNKING },
    { "BINARYMIME", EHLO_BINARYMIME },
};
#define NKEYWORDS (sizeof keywords / sizeof keywords[0])

/* One line's keyword and its parameters (from the start of the line, the
 * line without its LF). */
static void keyword(struct ehlo_caps *c, const char *p, size_t n)
{
    size_t k = 0, i;
    while (k < n && p[k] != ' ') k++;
    for (i = 0; i < NKEYWORDS; i++) {
        if (strlen(keywords[i].name) != k || strncasecmp(p, keywords[i].name, k)) continue;
        c->flags |= keywords[i].flag;
        if (keywords[i].flag == EHLO_SIZE) {
            char num[24];
            unsigned long v;
            size_t l = n - k;
            c->size = 0;
            while (l && p[n - l] == ' ') l--;
            if (l && l < sizeof num) {
                memcpy(num, p + n - l, l);
                num[l] = 0;
                if (strspn(num, "0123456789") == l && scan_ulong(num, ~0UL, &v)) c->size = v;
            }
        }
    }
}

void ehlo_caps_parse(struct ehlo_caps *c, const char *text, size_t n)
{
    const char *p = text, *end = text + n;
    c->flags = 0;
    c->size = 0;
    while (p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        size_t len = lf ? (size_t)(lf - p) : (size_t)(end - p);
        if (len && p[len - 1] == '\r') len--;
        if (p != text && len > 4) keyword(c, p + 4, len - 4);
        if (!lf) break;
        p = lf + 1;
    }
}

size_t ehlo_cache_format(const struct ehlo_caps *c, const char *peer, char *buf, size_t size)
{
    size_t len, i;
    int n = snprintf(buf, size, "smarthost %.80s\n", peer);
    len = n > 0 && (size_t)n < size ? (size_t)n : 0;
    for (i = 0; i < NKEYWORDS; i++) {
        if (!(c->flags & keywords[i].flag)) continue;
        if (keywords[i].flag == EHLO_SIZE && c->size)
            n = snprintf(buf + len, size - len, "SIZE %llu\n", c->size);
        else
            n = snprintf(buf + len, size - len, "%s\n", keywords[i].name);
        if (n > 0 && (size_t)n < size - len) len += (size_t)n;
    }
    buf[len] = 0;
    return len;
}

/* The whole file into buf (NUL-terminated): its length, or -1.  Only a
 * regular file of our own is taken: the spool directory may be /tmp,
 * where another user could put a FIFO (an open that never returns) or a
 * file of made-up limits under the name. */
static ssize_t slurp(const char *path, char *buf, size_t size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    size_t len = 0;
    if (fd < 0) return -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, size - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { close(fd); return -1; }
        if (r == 0) break;
        len += (size_t)r;
        if (len == size - 1) { close(fd); return -1; }      /* not ours */
        /* A short read of a regular file is its end: no second read. */
        if ((size_t)r < size - 1 - (len - (size_t)r)) break;
    }
    close(fd);
    buf[len] = 0;
    return (ssize_t)len;
}

int ehlo_cache_read(const char *path, struct ehlo_caps *c)
{
    char buf[EHLO_CACHE_MAX + 1];
    const char *p, *lf;
    ssize_t n = path ? slurp(path, buf, sizeof buf) : -1;
    *c = EHLO_CAPS_DEFAULT;
    if (n <= 0 || strncmp(buf, "smarthost ", 10) || buf[n - 1] != '\n') return 0;
    c->flags = 0;
    c->size = 0;
    for (p = strchr(buf, '\n') + 1; (lf = strchr(p, '\n')); p = lf + 1) keyword(c, p, (size_t)(lf - p));
    return 1;
}

int ehlo_cache_write(const char *path, const char *text, size_t n)
{
    char old[EHLO_CACHE_MAX + 1], tmp[4096];
    ssize_t o = slurp(path, old, sizeof old);
    int fd, k;
    if (o >= 0 && (size_t)o == n && !memcmp(old, text, n)) return 0;
    k = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    if (k < 0 || (size_t)k >= sizeof tmp) { errno = ENAMETOOLONG; return -1; }
    unlink(tmp);                        /* one of ours, left by a crash */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return -1;
    k = io_write_all(fd, text, n, DEADLINE_NONE);
    if (close(fd) < 0) k = -1;
    if (k < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 1;
}
