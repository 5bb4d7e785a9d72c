/* The relay: network to plaintext (SSL_read, write fd 1) and plaintext to
 * network (read fd 0, SSL_write), both at once, on non-blocking
 * descriptors, one fixed buffer each way.
 *
 * Each turn tries every step that has work; a step that cannot go on
 * says what it waits for (SSL_read may need to write, SSL_write to read),
 * and poll(2) waits for that only when no step moved.  fd 6 is polled only
 * after SSL_read asked for it, so data OpenSSL already holds (SSL_pending,
 * a whole record read ahead) is never left waiting for the network.  A
 * full buffer stops its reader: neither side can make us grow, and a
 * stalled side only stalls its own direction. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "tls.h"

#define BUFFER_SIZE 16384       /* one TLS record */

struct direction {
    char buf[BUFFER_SIZE];
    size_t start, end;          /* the bytes not yet written */
    int eof;                    /* the source is done */
    int closed;                 /* and the destination told so */
};

struct waits {
    short net_read, net_write, plain_read, plain_write;   /* poll events */
};

/* The network side failed: one log line, and the relay is over. */
static void network_error(SSL *ssl, int ret, int err, const char *op)
{
    char what[700];
    const char *why;
    snprintf(what, sizeof what, "connection with %s, %s", tls_peer_name(), op);
    if (SSL_get_error(ssl, ret) == SSL_ERROR_SYSCALL && !ERR_peek_error())
        why = err ? strerror(err) : "connection closed";
    else
        why = tls_error_text("protocol error");
    log_warn("%s: %s", what, why);
    _exit(111);
}

/* After SSL_read, SSL_write or SSL_shutdown did not complete: notes what
 * OpenSSL waits for and returns 0 (try again after poll), 1 for the
 * peer's close_notify, -1 for an error. */
static int ssl_wait(SSL *ssl, int ret, struct waits *w)
{
    switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ: w->net_read = POLLIN; return 0;
    case SSL_ERROR_WANT_WRITE: w->net_write = POLLOUT; return 0;
    case SSL_ERROR_ZERO_RETURN: return 1;
    default: return -1;
    }
}

/* The peer's close_notify, or the end of the connection without one:
 * many SMTP peers just close after QUIT, and SMTP has its own framing to
 * tell a complete session from a cut one. */
static int unexpected_eof(int ret, int err, SSL *ssl)
{
    unsigned long e = ERR_peek_error();
    int kind = SSL_get_error(ssl, ret);
    if (kind == SSL_ERROR_SSL)
        return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
    return kind == SSL_ERROR_SYSCALL && !e && !err;
}

/* Network to plaintext: 1 when it moved. */
static int step_down(SSL *ssl, struct direction *d, struct waits *w)
{
    int moved = 0;
    if (!d->eof && d->start == d->end) {
        int r, err;
        ERR_clear_error();
        errno = 0;
        r = SSL_read(ssl, d->buf, sizeof d->buf);
        err = errno;
        if (r > 0) {
            d->start = 0;
            d->end = (size_t)r;
            moved = 1;
        } else {
            int s = ssl_wait(ssl, r, w);
            if (s == 1 || (s < 0 && unexpected_eof(r, err, ssl))) {
                d->eof = 1;
                moved = 1;
            } else if (s < 0) {
                network_error(ssl, r, err, "reading");
            }
        }
    }
    if (d->start < d->end) {
        ssize_t n = write(FD_PLAIN_WRITE, d->buf + d->start, d->end - d->start);
        if (n > 0) {
            d->start += (size_t)n;
            if (d->start == d->end) d->start = d->end = 0;
            moved = 1;
        } else if (n < 0 && errno == EAGAIN) {
            w->plain_write = POLLOUT;
        } else if (n < 0 && errno != EINTR) {
            log_fatal_sys(111, "unable to write to the plaintext side");
        }
    }
    if (d->eof && d->start == d->end && !d->closed) {
        /* The local side sees the end; it may still write to us. */
        if (shutdown(FD_PLAIN_WRITE, SHUT_WR) < 0 && errno != ENOTCONN) {
            if (errno != ENOTSOCK) log_fatal_sys(111, "unable to end the plaintext side");
            close(FD_PLAIN_WRITE);
        }
        d->closed = 1;
        moved = 1;
    }
    return moved;
}

/* Plaintext to network: 1 when it moved.  down_eof: the peer is gone, so
 * a close_notify it cannot get is no error. */
static int step_up(SSL *ssl, struct direction *u, int down_eof, struct waits *w)
{
    int moved = 0;
    if (!u->eof && u->start == u->end) {
        ssize_t n = read(FD_PLAIN_READ, u->buf, sizeof u->buf);
        if (n > 0) {
            u->start = 0;
            u->end = (size_t)n;
            moved = 1;
        } else if (n == 0) {
            u->eof = 1;
            moved = 1;
        } else if (errno == EAGAIN) {
            w->plain_read = POLLIN;
        } else if (errno != EINTR) {
            log_fatal_sys(111, "unable to read from the plaintext side");
        }
    }
    if (u->start < u->end) {
        /* After a WANT_*, the same bytes again: start and end only move
         * on success. */
        int r, err;
        ERR_clear_error();
        errno = 0;
        r = SSL_write(ssl, u->buf + u->start, (int)(u->end - u->start));
        err = errno;
        if (r > 0) {
            u->start += (size_t)r;
            if (u->start == u->end) u->start = u->end = 0;
            moved = 1;
        } else if (ssl_wait(ssl, r, w) != 0 || (w->net_read && down_eof)) {
            /* (Nothing more can come to satisfy a write that reads.) */
            network_error(ssl, r, err, "writing");
        }
    }
    if (u->eof && u->start == u->end && !u->closed) {
        int r, err;
        ERR_clear_error();
        errno = 0;
        r = SSL_shutdown(ssl);
        err = errno;
        if (r >= 0) {
            /* close_notify is out; the FIN says the same to TCP. */
            shutdown(FD_NET_WRITE, SHUT_WR);
            u->closed = 1;
            moved = 1;
        } else if (ssl_wait(ssl, r, w) != 0) {
            if (!down_eof) network_error(ssl, r, err, "closing");
            u->closed = 1;
            moved = 1;
        }
    }
    return moved;
}

int tls_relay(SSL *ssl)
{
    static struct direction down, up;  /* network to plaintext, and back */
    for (;;) {
        struct waits w = { 0, 0, 0, 0 };
        struct pollfd p[4];
        int moved = step_down(ssl, &down, &w);
        moved |= step_up(ssl, &up, down.eof, &w);
        if (down.closed && up.closed) return 0;
        if (moved) continue;
        /* An entry with no events would still wake us for POLLHUP or
         * POLLERR: those are left out (a negative fd). */
        p[0].fd = w.net_read ? FD_NET_READ : -1;       p[0].events = w.net_read;
        p[1].fd = w.net_write ? FD_NET_WRITE : -1;     p[1].events = w.net_write;
        p[2].fd = w.plain_read ? FD_PLAIN_READ : -1;   p[2].events = w.plain_read;
        p[3].fd = w.plain_write ? FD_PLAIN_WRITE : -1; p[3].events = w.plain_write;
        if (poll(p, 4, -1) < 0 && errno != EINTR)
            log_fatal_sys(111, "unable to poll");
    }
}
