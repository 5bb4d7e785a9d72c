/* Check mode (checkmode.h) of a filter that keeps its state in a store
 * (store.h): one look-up of a key no client has, so that a Redis that
 * does not answer (111) or a file that cannot be made or read (100) is
 * found before the first event. */
#ifndef NOQUEUE_CHECKSTORE_H
#define NOQUEUE_CHECKSTORE_H

#include <stdint.h>

#include "store.h"

/* Reported with checkmode_fatal ("store SPEC: why"); the store closed. */
void checkstore_probe(struct store *s, const char *spec, int64_t deadline);

#endif
