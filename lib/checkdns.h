/* Check mode (checkmode.h) of a filter that asks DNS: one query the
 * name servers must answer, whatever the answer (the PTR of 127.0.0.1):
 * NXDOMAIN or no data is an answer; a timeout, a refusal or a server
 * failure is not. */
#ifndef NOQUEUE_CHECKDNS_H
#define NOQUEUE_CHECKDNS_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"

/* 0, or -1 with why. */
int checkdns_ask(struct dns *d, int64_t deadline, char *why, size_t size);

#endif
