/* smtp-dupcheck's logic: the events of one connection in, a verdict out.
 * At eom the message's fingerprint (of the message, its sender and the
 * recipients it goes to, which version 2 of the filter protocol tells)
 * is looked up (the permanent cdb, then the store); at the report of a
 * delivered message it is recorded.
 * Anything that goes wrong with the store is logged and answered with
 * "continue": a broken duplicate check lets mail through, never holds it
 * up and never drops it. */
#ifndef NOQUEUE_DUPCHECK_H
#define NOQUEUE_DUPCHECK_H

#include <stdint.h>

#include "dupstore.h"
#include "filterside.h"
#include "store.h"
#include "fingerprint.h"
#include "table.h"

#define DUPCHECK_RCPT_MAX 1000

struct dupcheck_config {
    const char *store;          /* the store: a path, or Redis (lib/store.h) */
    const char *permanent;      /* cdb of Message-IDs always duplicates, or NULL */
    unsigned long slots;        /* the store's size if this process makes it */
    int64_t window;             /* seconds */
    int64_t lock_wait_ms;
    int dry_run;                /* log duplicates, never discard */
    int msgfd;                  /* where the message is at eom: 3 */
};

struct dupcheck {
    const struct dupcheck_config *cfg;
    struct store store;
    int store_parsed;
    struct table permanent;
    int permanent_open;
    /* the transaction, from eom to its report; what every message
     * writes first, the 32 KB of recipients' digests last (each message
     * writes only those it has: fewer pages) */
    unsigned long nrcpts;
    int have_fp;                /* computed at eom, to record at report */
    unsigned char fp[FINGERPRINT_SIZE];
    unsigned char sender_digest[FINGERPRINT_SIZE];
    char sender[SMTP_ADDRESS_MAX + 1];
    char msgid[MSGID_MAX + 1];
    unsigned char rcpts[DUPCHECK_RCPT_MAX][FINGERPRINT_SIZE];
};

/* The envelope at eom: the sender ("" for <>) and every recipient the
 * message goes to (nrcpts of them; over DUPCHECK_RCPT_MAX, unchecked). */
struct dupcheck_envelope {
    const char *sender;
    unsigned long nrcpts;
    const char *const *rcpts;
};

void dupcheck_init(struct dupcheck *d, const struct dupcheck_config *cfg);
/* The verdict line for one event, eom or report ("continue" or
 * "discard"); env is eom's; now is the time of day in seconds. */
const char *dupcheck_event(struct dupcheck *d, const struct filter_request *r,
                           const struct dupcheck_envelope *env, int64_t now);
void dupcheck_end(struct dupcheck *d);

#endif
