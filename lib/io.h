/* Buffered I/O on non-blocking descriptors, every call bounded by an
 * absolute deadline.  Buffers are the caller's: no allocation here.
 *
 * Input is flushed-before-read: an io_in may name an io_out that is
 * flushed whenever the reader is about to wait, so replies are written in
 * one batch per pipelined group of commands. */
#ifndef NOQUEUE_IO_H
#define NOQUEUE_IO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct io_out {
    int fd;
    char *buf;
    size_t size, len;
};

struct io_in {
    int fd;
    char *buf;
    size_t size, start, end;
    struct io_out *flush;       /* flushed before blocking; may be NULL */
    int wake;                   /* readable: stop waiting (a self-pipe), or -1 */
};

/* io_getline results other than a length */
#define IO_EOF      0
#define IO_ERROR   (-1)         /* errno set; ETIMEDOUT at the deadline */
#define IO_TOOLONG (-2)         /* no LF within the buffer; bytes consumed */

void io_in_init(struct io_in *in, int fd, char *buf, size_t size);
void io_out_init(struct io_out *out, int fd, char *buf, size_t size);
int io_nonblock(int fd);

/* Read what is available into the buffer: >0 bytes, 0 at EOF, -1 error
 * (EINTR: in->wake became readable, nothing was read). */
ssize_t io_fill(struct io_in *in, int64_t deadline);
static inline size_t io_buffered(const struct io_in *in) { return in->end - in->start; }
static inline const char *io_peek(const struct io_in *in) { return in->buf + in->start; }
static inline void io_consume(struct io_in *in, size_t n) { in->start += n; }

/* One line, LF included, copied to line[0..size-1] and NUL terminated;
 * size must not exceed the io_in's buffer size.
 * Returns its length, IO_EOF (a partial last line is dropped), IO_ERROR or
 * IO_TOOLONG (the first size-1 bytes were consumed; see io_skipline). */
ssize_t io_getline(struct io_in *in, char *line, size_t size, int64_t deadline);
/* The same without the copy: *line points at the line (LF included, not
 * NUL terminated) where it lies in the buffer, valid until the next read
 * of in; max (the longest line, LF included) less than the buffer's size. */
ssize_t io_getline_at(struct io_in *in, char **line, size_t max, int64_t deadline);
/* Discard up to and including the next LF: 1 done, 0 EOF, -1 error. */
int io_skipline(struct io_in *in, int64_t deadline);

int io_put(struct io_out *out, const char *s, size_t n, int64_t deadline);
int io_puts(struct io_out *out, const char *s, int64_t deadline);
int io_flush(struct io_out *out, int64_t deadline);
int io_write_all(int fd, const char *s, size_t n, int64_t deadline);
/* Wait until fd is readable (POLLIN) or writable: 1 ready, 0 timeout,
 * -1 error. */
int io_wait(int fd, short events, int64_t deadline);
/* The same, and wake >= 0 readable ends the wait with -1, errno EINTR. */
int io_wait_wake(int fd, short events, int wake, int64_t deadline);
/* Has the peer on in's descriptor written (or closed) while nothing was
 * asked of it?  0 no; 1 it wrote (what it wrote is in the buffer); 2 it
 * closed its end.  A program that asks one question at a time checks this
 * before it asks, so that an answer is never taken for another's. */
int io_spoke_unasked(struct io_in *in);

#endif
