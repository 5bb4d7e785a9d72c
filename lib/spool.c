#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

int spool_open(struct spool *s, const char *dir)
{
    char path[4096];
    int e;
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
