#define _GNU_SOURCE             /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

/* Linux: a file that never has a name, and a read-only description of
 * it by /proc.  Cheaper than a named file (no directory entry to make,
 * lock and remove) when many connections start at once. */
static int spool_open_unnamed(struct spool *s, const char *dir)
{
#ifdef O_TMPFILE
    char path[64];
    s->fd_rw = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (s->fd_rw < 0) return -1;
    snprintf(path, sizeof path, "/proc/self/fd/%d", s->fd_rw);
    s->fd_ro = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd_ro >= 0) return 0;
    close(s->fd_rw);
#else
    (void)s;
    (void)dir;
#endif
    return -1;
}

int spool_open(struct spool *s, const char *dir)
{
    char path[4096];
    int e;
    if (spool_open_unnamed(s, dir) == 0) return 0;
    if ((size_t)snprintf(path, sizeof path, "%s/noqueue.XXXXXX", dir) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    s->fd_rw = mkstemp(path);
    if (s->fd_rw < 0) return -1;
    fcntl(s->fd_rw, F_SETFD, FD_CLOEXEC);
    s->fd_ro = open(path, O_RDONLY | O_CLOEXEC);
    e = errno;
    unlink(path);
    if (s->fd_ro < 0) {
        close(s->fd_rw);
        errno = e;
        return -1;
    }
    return 0;
}

int spool_reset(struct spool *s)
{
    if (ftruncate(s->fd_rw, 0) < 0) return -1;
    return lseek(s->fd_rw, 0, SEEK_SET) < 0 ? -1 : 0;
}
