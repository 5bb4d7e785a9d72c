/* The exchange with rspamd for one message (see exchange.c). */
#ifndef NOQUEUE_RSPAMD_EXCHANGE_H
#define NOQUEUE_RSPAMD_EXCHANGE_H

#include "endpoint.h"
#include "filterside.h"
#include "rspamd.h"

/* The message (size octets on msgfd, from its offset), with the envelope
 * of fs's context, to rspamd at ep; its reply into buf (RSPAMD_REPLY_MAX
 * octets), the JSON found at *json.  0, or -1 with the reason in why. */
int rspamd_scan(const struct rspamd_config *cfg, const struct endpoint *ep,
                const struct filter_side *fs, int msgfd, unsigned long long size, char *buf,
                const char **json, size_t *jsonlen, char *why, size_t whysize);

#endif
