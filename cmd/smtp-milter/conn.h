/* The milter socket (conn.c). */
#ifndef NOQUEUE_MILTER_CONN_H
#define NOQUEUE_MILTER_CONN_H

#include "endpoint.h"
#include "milter.h"

struct milter_conn {
    int fd;
    struct io_in in;
    struct io_out out;
    char inbuf[MILTER_REPLY_MAX + 8];
    char outbuf[MILTER_CHUNK + 64];
};

struct milter_packet {
    int cmd;
    const unsigned char *data;          /* valid until the next conn_read */
    size_t len;
};

int conn_open(struct milter_conn *c, const struct endpoint *e, int64_t deadline, char *why,
              size_t size);
/* Buffered; flushed before the next read. */
int conn_send(struct milter_conn *c, int cmd, const void *p, size_t n, int64_t deadline);
int conn_flush(struct milter_conn *c, int64_t deadline);
/* One reply packet; a body part ('b') goes to body() piece by piece when
 * body is given.  0, or -1 with a reason. */
int conn_read(struct milter_conn *c, struct milter_packet *pk, int64_t deadline,
              int (*body)(void *arg, const char *p, size_t n), void *arg, char *why, size_t size);
void conn_close(struct milter_conn *c);

#endif
