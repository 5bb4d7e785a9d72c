/* smtp-trust's logic, apart from main() so that the unit test drives it
 * with its own clock and store: see smtp-trust(8). */
#ifndef SMTP_TRUST_H
#define SMTP_TRUST_H

#include <stdint.h>

#include "filterside.h"
#include "store.h"

#define TRUST_FREEMAIL_MAX 4096

struct trust_config {
    const char *store;
    int outbound;                       /* learn from delivered mail */
    int accept;                         /* trusted mail: accept, not continue */
    long pair_points, domain_points;    /* earned per delivered message */
    long max_points, decay;             /* decay: points lost per day */
    long threshold;
    int64_t store_ms;
    unsigned nfreemail;
    char *freemail[TRUST_FREEMAIL_MAX];
};

/* Facts of the transaction (version 2 context lines). */
struct trust_context {
    const char *(*fact)(void *arg, const char *name);
    void *arg;
};

struct trust {
    const struct trust_config *cfg;
    struct store store;
    char sender[STORE_KEY_MAX];
    int bonus_given;                    /* once per transaction */
    int64_t list_now;                   /* trust_list's clock */
};

int trust_init(struct trust *t, const struct trust_config *cfg, char *why, size_t size);
void trust_end(struct trust *t);
/* The default freemail domains, or those of a file (one a line). */
void trust_default_freemail(struct trust_config *cfg);
int trust_load_freemail(struct trust_config *cfg, const char *path, char *why, size_t size);

/* Points as they are now: stored points less the decay since. */
long trust_decayed(const struct trust_config *cfg, long points, int64_t since, int64_t now);
/* Outbound: a message from sender was delivered to rcpt.  0, -1 store. */
int trust_learn(struct trust *t, const char *sender, const char *rcpt, int64_t now);
/* Inbound: the points of mail from sender to rcpt: the pair's, or the
 * domain's when an spf, dkim or dmarc fact says pass (*why "pair" or
 * "domain"); 0 none; -1 store. */
long trust_points(struct trust *t, const char *sender, const char *rcpt, const struct trust_context *c,
                  int64_t now, const char **why);
/* One event; NULL when the store failed (why in t->store.why). */
const char *trust_event(struct trust *t, struct filter_side *fs, const struct filter_request *r, int64_t now);
/* smtp-trust -l: one line per partner on fd 1. */
int trust_list(struct trust *t, int64_t now);

#endif
