/* This host's name for HELO, the greeting and the Received field, when
 * none is given: gethostname(2), or "localhost". */
#ifndef NOQUEUE_HOSTNAME_H
#define NOQUEUE_HOSTNAME_H

const char *hostname_default(void);

#endif
