/* The address of a local daemon (a scanner, a milter), as given on a
 * command line, and a connection to it bounded by a deadline:
 *   inet:HOST:PORT    HOST a numeric IPv4 address, or an IPv6 address in
 *                     brackets (inet:[::1]:3310); PORT 1..65535
 *   unix:PATH         a Unix domain stream socket
 * Names are not looked up: a resolver call could not be bounded by the
 * deadline, and these daemons run on the host or next to it. */
#ifndef NOQUEUE_ENDPOINT_H
#define NOQUEUE_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ENDPOINT_NAME_MAX 120

struct endpoint {
    struct sockaddr_storage addr;
    socklen_t len;
    char name[ENDPOINT_NAME_MAX];   /* the text given, for log lines */
};

/* 0, or -1 with the reason in why[0..size-1]. */
int endpoint_parse(struct endpoint *e, const char *text, char *why, size_t size);
/* A connected stream socket, non-blocking and close-on-exec; -1 with
 * errno set (ETIMEDOUT at the deadline). */
int endpoint_connect(const struct endpoint *e, int64_t deadline);
/* The same for any stream socket address (smtp-forward's smarthosts). */
int endpoint_connect_address(const struct sockaddr *addr, socklen_t len, int64_t deadline);

#endif
