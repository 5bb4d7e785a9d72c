#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "io.h"

void io_in_init(struct io_in *in, int fd, char *buf, size_t size)
{
    in->fd = fd;
    in->buf = buf;
    in->size = size;
    in->start = in->end = 0;
    in->flush = 0;
    in->wake = -1;
}

void io_out_init(struct io_out *out, int fd, char *buf, size_t size)
{
    out->fd = fd;
    out->buf = buf;
    out->size = size;
    out->len = 0;
}

int io_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    if (flags & O_NONBLOCK) return 0;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int io_wait_wake(int fd, short events, int wake, int64_t deadline)
{
    struct pollfd p[2];
    int r;
    p[0].fd = fd;
    p[0].events = events;
    p[1].fd = wake;
    p[1].events = POLLIN;
    for (;;) {
        p[0].revents = p[1].revents = 0;
        r = poll(p, wake >= 0 ? 2 : 1, deadline_poll_ms(deadline));
        if (r > 0 && wake >= 0 && p[1].revents) {
            errno = EINTR;
            return -1;
        }
        if (r > 0) return 1;
        if (r == 0) return 0;
        if (errno != EINTR) return -1;
    }
}

int io_wait(int fd, short events, int64_t deadline)
{
    return io_wait_wake(fd, events, -1, deadline);
}

int io_spoke_unasked(struct io_in *in)
{
    if (io_buffered(in)) return 1;
    if (io_wait(in->fd, POLLIN, 0) != 1) return 0;
    return io_fill(in, deadline_now()) == 0 ? 2 : 1;
}

int io_write_all(int fd, const char *s, size_t n, int64_t deadline)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w > 0) {
            s += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno != EAGAIN) return -1;
        switch (io_wait(fd, POLLOUT, deadline)) {
        case 0: errno = ETIMEDOUT; return -1;
        case -1: return -1;
        }
    }
    return 0;
}

int io_flush(struct io_out *out, int64_t deadline)
{
    size_t n = out->len;
    if (!n) return 0;
    out->len = 0;
    return io_write_all(out->fd, out->buf, n, deadline);
}

int io_put(struct io_out *out, const char *s, size_t n, int64_t deadline)
{
    if (n > out->size - out->len) {
        if (io_flush(out, deadline) < 0) return -1;
        if (n >= out->size) return io_write_all(out->fd, s, n, deadline);
    }
    memcpy(out->buf + out->len, s, n);
    out->len += n;
    return 0;
}

int io_puts(struct io_out *out, const char *s, int64_t deadline)
{
    return io_put(out, s, strlen(s), deadline);
}

ssize_t io_fill(struct io_in *in, int64_t deadline)
{
    if (in->start == in->end) in->start = in->end = 0;
    else if (in->start && in->end == in->size) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->start = 0;
    }
    if (in->end == in->size) { errno = ENOBUFS; return -1; }
    if (in->flush && io_flush(in->flush, deadline) < 0) return -1;
    for (;;) {
        ssize_t r = read(in->fd, in->buf + in->end, in->size - in->end);
        if (r >= 0) {
            in->end += (size_t)r;
            return r;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return -1;
        switch (io_wait_wake(in->fd, POLLIN, in->wake, deadline)) {
        case 0: errno = ETIMEDOUT; return -1;
        case -1: return -1;
        }
    }
}

ssize_t io_getline_at(struct io_in *in, char **line, size_t max, int64_t deadline)
{
    size_t scanned = 0;
    for (;;) {
        size_t have = in->end - in->start;
        size_t limit = have < max ? have : max;
        const char *lf = memchr(in->buf + in->start + scanned, '\n', limit - scanned);
        if (lf) {
            size_t n = (size_t)(lf - (in->buf + in->start)) + 1;
            *line = in->buf + in->start;
            in->start += n;
            return (ssize_t)n;
        }
        scanned = limit;
        if (limit == max) {
            in->start += limit;
            return IO_TOOLONG;
        }
        /* Make room at the front so a line of max bytes fits. */
        if (in->start && in->size - in->start <= max) {
            memmove(in->buf, in->buf + in->start, have);
            in->start = 0;
            in->end = have;
        }
        switch (io_fill(in, deadline)) {
        case 0: in->start = in->end; return IO_EOF;
        case -1: return IO_ERROR;
        }
    }
}

ssize_t io_getline(struct io_in *in, char *line, size_t size, int64_t deadline)
{
    char *p;
    ssize_t n = io_getline_at(in, &p, size - 1, deadline);
    if (n > 0) {
        memcpy(line, p, (size_t)n);
        line[n] = 0;
    }
    return n;
}

int io_skipline(struct io_in *in, int64_t deadline)
{
    for (;;) {
        const char *p = in->buf + in->start;
        const char *lf = memchr(p, '\n', in->end - in->start);
        if (lf) {
            in->start += (size_t)(lf - p) + 1;
            return 1;
        }
        in->start = in->end;
        switch (io_fill(in, deadline)) {
        case 0: return 0;
        case -1: return -1;
        }
    }
}
