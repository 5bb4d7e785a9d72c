/* Who the client is, for the smarthost: XCLIENT or XFORWARD (Postfix's
 * SMTP extensions) built from the environment smtp-proxyd gives us.  No
 * I/O here: t/unit/check_smtp-forward.c runs these functions. */
#ifndef SMTP_FORWARD_CLIENT_H
#define SMTP_FORWARD_CLIENT_H

#include <stddef.h>

/* The attributes we send, as a smarthost lists them after the keyword. */
#define CLIENT_ADDR  1u
#define CLIENT_PORT  2u
#define CLIENT_NAME  4u
#define CLIENT_HELO  8u
#define CLIENT_PROTO 16u

/* RFC 5321's command line, CRLF included. */
#define CLIENT_LINE_MAX 512

struct client_info {
    const char *addr, *port, *name, *helo, *proto;  /* 0 when unknown */
};

/* TCPREMOTEIP, TCPREMOTEPORT, TCPREMOTEHOST, NOQUEUE_HELO, NOQUEUE_PROTO. */
void client_from_env(struct client_info *c);

/* The attributes in an EHLO keyword's parameters ("ADDR NAME PORT ..."),
 * case-insensitive; those we do not send are ignored. */
unsigned client_attributes(const char *params, size_t n);

/* "VERB ATTR=value ..." without CRLF into line[CLIENT_LINE_MAX - 2], only
 * the attributes in attrs, values in xtext; a name that is unknown or not
 * a host name, a HELO name that is unknown, not printable, or that would
 * make the line too long, goes as [UNAVAILABLE]; a port
 * that is not one, a protocol other than SMTP or ESMTP, is left out.
 * Returns the length, or 0 when there is nothing to say (no client
 * address, or the smarthost takes no ADDR). */
size_t client_command(char *line, const char *verb, unsigned attrs, const struct client_info *c);

#endif
