#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "endpoint.h"
#include "io.h"
#include "log.h"
#include "scan.h"

static int parse_inet(struct endpoint *e, const char *s, char *why, size_t size)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port;
    size_t n;
    unsigned long p;
    int bracket = *s == '[';
    if (bracket) {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return log_why(why, size, "missing ]: after an IPv6 address");
        n = (size_t)(close - s - 1);
        s++;
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) return log_why(why, size, "no :PORT");
        n = (size_t)(colon - s);
        port = colon + 1;
    }
    if (!n || n >= sizeof host) return log_why(why, size, "malformed address");
    memcpy(host, s, n);
    host[n] = 0;
    if (!scan_ulong(port, 65535, &p) || !p) return log_why(why, size, "malformed port");
    memset(&e->addr, 0, sizeof e->addr);
    if (!bracket && inet_pton(AF_INET, host, &((struct sockaddr_in *)&e->addr)->sin_addr) == 1) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&e->addr;
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)p);
        e->len = sizeof *v4;
        return 0;
    }
    if (bracket && inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&e->addr)->sin6_addr) == 1) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&e->addr;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)p);
        e->len = sizeof *v6;
        return 0;
    }
    return log_why(why, size, "not a numeric address (IPv6 goes in brackets)");
}

int endpoint_parse(struct endpoint *e, const char *text, char *why, size_t size)
{
    size_t n = strlen(text);
    if (n >= sizeof e->name) return log_why(why, size, "address too long");
    memcpy(e->name, text, n + 1);
    if (!strncmp(text, "inet:", 5)) return parse_inet(e, text + 5, why, size);
    if (!strncmp(text, "unix:", 5)) {
        struct sockaddr_un *un = (struct sockaddr_un *)&e->addr;
        size_t len = n - 5;
        if (!len || text[5] != '/') return log_why(why, size, "unix: needs an absolute path");
        if (len >= sizeof un->sun_path) return log_why(why, size, "socket path too long");
        memset(&e->addr, 0, sizeof e->addr);
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, text + 5, len + 1);
        e->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
        return 0;
    }
    return log_why(why, size, "neither inet:HOST:PORT nor unix:PATH");
}

int endpoint_connect_address(const struct sockaddr *addr, socklen_t len, int64_t deadline)
{
    int family = addr->sa_family;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int err = 0, one = 1;
    socklen_t errlen = sizeof err;
    if (fd < 0) return -1;
    if (connect(fd, addr, len) < 0) {
        /* (A Unix socket with a full listen queue says EAGAIN: a failure.) */
        if (errno != EINPROGRESS) goto fail;
        switch (io_wait(fd, POLLOUT, deadline)) {
        case 0: errno = ETIMEDOUT; goto fail;
        case -1: goto fail;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) goto fail;
        if (err) { errno = err; goto fail; }
    }
    /* Requests and replies are written in whole pieces: no delay wanted. */
    if (family != AF_UNIX) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
fail:
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

int endpoint_connect(const struct endpoint *e, int64_t deadline)
{
    return endpoint_connect_address((const struct sockaddr *)&e->addr, e->len, deadline);
}
