/* The milter's socket: connect with a deadline, packets out through one
 * buffer flushed before every read, replies in with a deadline each. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"

int conn_open(struct milter_conn *c, const struct endpoint *e, int64_t deadline, char *why,
              size_t size)
{
    c->fd = endpoint_connect(e, deadline);
    if (c->fd < 0) return log_why(why, size, "unable to connect: %s", strerror(errno));
    io_out_init(&c->out, c->fd, c->outbuf, sizeof c->outbuf);
    io_in_init(&c->in, c->fd, c->inbuf, sizeof c->inbuf);
    c->in.flush = &c->out;
    return 0;
}

int conn_send(struct milter_conn *c, int cmd, const void *p, size_t n, int64_t deadline)
{
    unsigned char head[5];
    milter_packet_start(head, cmd, n);
    if (io_put(&c->out, (const char *)head, 5, deadline) < 0) return -1;
    return n ? io_put(&c->out, p, n, deadline) : 0;
}

int conn_flush(struct milter_conn *c, int64_t deadline)
{
    return io_flush(&c->out, deadline);
}

/* k octets in a row at the start of the input buffer. */
static int need(struct milter_conn *c, size_t k, int64_t deadline)
{
    while (io_buffered(&c->in) < k) {
        ssize_t r;
        if (c->in.start + k > c->in.size) {
            memmove(c->in.buf, c->in.buf + c->in.start, io_buffered(&c->in));
            c->in.end -= c->in.start;
            c->in.start = 0;
        }
        r = io_fill(&c->in, deadline);
        if (r == 0) errno = EPIPE;
        if (r <= 0) return -1;
    }
    return 0;
}

int conn_read(struct milter_conn *c, struct milter_packet *pk, int64_t deadline,
              int (*body)(void *arg, const char *p, size_t n), void *arg, char *why, size_t size)
{
    const unsigned char *h;
    unsigned long len;
    if (need(c, 5, deadline) < 0) goto io_error;
    h = (const unsigned char *)io_peek(&c->in);
    len = (unsigned long)h[0] << 24 | (unsigned long)h[1] << 16 | (unsigned long)h[2] << 8 | h[3];
    pk->cmd = h[4];
    if (len < 1) return log_why(why, size, "reply of length 0");
    io_consume(&c->in, 5);
    pk->len = len - 1;
    if (pk->cmd == 'b' && body) {               /* a body part: any size, passed on */
        size_t left = pk->len;
        while (left) {
            size_t k;
            if (!io_buffered(&c->in) && need(c, 1, deadline) < 0) goto io_error;
            k = io_buffered(&c->in) < left ? io_buffered(&c->in) : left;
            if (body(arg, io_peek(&c->in), k) < 0)
                return log_why(why, size, "unable to write the new body on fd 4: %s", strerror(errno));
            io_consume(&c->in, k);
            left -= k;
        }
        pk->data = 0;
        return 0;
    }
    if (pk->len > MILTER_REPLY_MAX)
        return log_why(why, size, "reply '%c' of %zu octets", pk->cmd, pk->len);
    if (need(c, pk->len, deadline) < 0) goto io_error;
    pk->data = (const unsigned char *)io_peek(&c->in);
    io_consume(&c->in, pk->len);                /* valid until the next read */
    return 0;
io_error:
    if (errno == ETIMEDOUT) return log_why(why, size, "timeout waiting for the milter");
    if (errno == EPIPE) return log_why(why, size, "the milter closed the connection");
    return log_why(why, size, "unable to read from the milter: %s", strerror(errno));
}

void conn_close(struct milter_conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}
