/* smtp-greylist's logic, apart from main() so that the unit test drives
 * it with its own clock and store: see smtp-greylist(8). */
#ifndef SMTP_GREYLIST_H
#define SMTP_GREYLIST_H

#include <stdint.h>

#include "filterside.h"
#include "ipaddr.h"
#include "statustext.h"
#include "store.h"

#define GREYLIST_LIST_MAX 1024          /* entries per allow-list file */
#define GREYLIST_FACTS_MAX 8

enum { T_GREYLISTED, T_COUNT };
extern struct statustext greylist_texts[T_COUNT];

struct greylist_prefix {
    struct ipaddr addr;
    unsigned len;
};

struct greylist_config {
    const char *store;
    int64_t delay, retry, memory;       /* seconds */
    unsigned v4len, v6len;              /* the client network */
    int64_t store_ms;                   /* the budget of one event's requests */
    unsigned nclients, ndomains;
    struct greylist_prefix clients[GREYLIST_LIST_MAX];
    char *domains[GREYLIST_LIST_MAX];   /* lower case */
    int score_window;                   /* greylist only low <= score < high */
    long score_low, score_high;
    unsigned nskip;                     /* no greylisting with these facts */
    const char *skip_name[GREYLIST_FACTS_MAX], *skip_value[GREYLIST_FACTS_MAX];
};

/* What the proxy said before the event (version 2 context lines). */
struct greylist_context {
    long score;
    const char *(*fact)(void *arg, const char *name);
    void *arg;
};

struct greylist {
    const struct greylist_config *cfg;
    struct store store;
    int have_client;
    struct ipaddr client;
    char net[IPADDR_KEY_MAX];
    char sender[STORE_KEY_MAX];
    char reply[STATUSTEXT_MAX + 32];
};

/* 0, or -1 with why (a bad store name). */
int greylist_init(struct greylist *g, const struct greylist_config *cfg, char *why, size_t size);
void greylist_end(struct greylist *g);
/* Read an allow-list file into cfg: 0, or -1 with why. */
int greylist_load_clients(struct greylist_config *cfg, const char *path, char *why, size_t size);
int greylist_load_domains(struct greylist_config *cfg, const char *path, char *why, size_t size);

void greylist_connect(struct greylist *g, const char *ip);
void greylist_mail(struct greylist *g, const char *sender);
/* The verdict for a recipient ("continue" or "tempfail 451 4.7.1 ..."),
 * or NULL when the store failed (why in g->store.why). */
const char *greylist_rcpt(struct greylist *g, const char *rcpt, const struct greylist_context *c, int64_t now);
/* One event from the proxy; NULL when the store failed. */
const char *greylist_event(struct greylist *g, struct filter_side *fs, const struct filter_request *r,
                           int64_t now);

#endif
