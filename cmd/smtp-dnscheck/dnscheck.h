/* smtp-dnscheck: the client address, its reverse name, the HELO name and
 * the sender's domain in DNS lists, weighted as postscreen does; the
 * queries go out at connect, HELO and MAIL, the answers are awaited at the
 * first RCPT within a budget.  See smtp-dnscheck(8). */
#ifndef SMTP_DNSCHECK_H
#define SMTP_DNSCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "ipaddr.h"
#include "statustext.h"

#define LISTS_MAX 32
#define ZONES_MAX 32                /* distinct zones of each kind */
#define PTR_NAMES_MAX 10            /* reverse names checked forward */

enum { T_LISTED, T_COUNT };
extern struct statustext dnscheck_texts[T_COUNT];

/* One -l or -L: ZONE[=FILTER][*WEIGHT].  The filter is four sets of
 * byte values, one per part of an answer d.d.d.d. */
struct dnslist {
    char zone[DNS_NAME_MAX + 1];
    int has_filter;
    unsigned char allowed[4][32];   /* a bit per value 0..255 */
    long weight;
    unsigned query;                 /* the index of its zone's query */
};

/* The answer for one zone and one name. */
struct zone_query {
    const char *zone;
    struct dns_query q;
    int sent;
    int warned;
};

struct dnscheck_config {
    struct dnslist ip[LISTS_MAX], domain[LISTS_MAX];
    unsigned nip, ndomain;
    const char *ipzone[ZONES_MAX], *domainzone[ZONES_MAX];     /* distinct, each asked once */
    unsigned nipzone, ndomainzone;
    long threshold;                 /* -T: refused at or over */
    long allow_threshold;           /* -A: 0 off; accepted at or under */
    int fcrdns;                     /* -f given */
    long fcrdns_points;             /* -f: for a client whose reverse name is not confirmed */
    int dynamic;                    /* -y given */
    long dynamic_points;            /* -y: for a reverse name that looks dynamic */
    unsigned budget_ms;             /* -t */
};

struct dnscheck {
    const struct dnscheck_config *c;
    struct dns *dns;
    /* the connection */
    char ip[64];
    struct ipaddr addr;
    int have_addr;
    int64_t deadline;               /* of every answer awaited */
    struct zone_query ipq[ZONES_MAX];
    unsigned nipq;
    struct dns_query ptr;
    int ptr_sent, forward_sent;
    struct dns_query forward[PTR_NAMES_MAX];
    unsigned nforward;
    struct zone_query heloq[ZONES_MAX];
    unsigned nheloq;
    char helo[DNS_NAME_MAX + 1];
    /* the transaction */
    struct zone_query senderq[ZONES_MAX];
    unsigned nsenderq;
    char sender_domain[DNS_NAME_MAX + 1];
    int decided;                    /* at its first RCPT */
};

/* The outcome at RCPT. */
struct dnscheck_result {
    long score;
    enum { DECIDE_CONTINUE, DECIDE_ACCEPT, DECIDE_REFUSE } decision;
    char zones[STATUSTEXT_MAX + 1];        /* the block lists that listed it, "a, b" */
    char dnsbl[1024], dnswl[1024], rhsbl[1024];    /* facts: "zone:answer,..." or "" */
    const char *fcrdns;                    /* "pass", "fail", "temperror" or NULL */
    char rdns[DNS_NAME_MAX + 1];           /* the confirmed name, or "" */
    int dynamic;                           /* 1 looks dynamic, 0 not, -1 not known */
};

/* -l / -L: 0, or -1 with why. */
int dnscheck_list_parse(const char *spec, struct dnslist *l, char *why, size_t size);
/* Add a parsed list to c (ip 1 for -l, 0 for -L): 0, or -1 with why. */
int dnscheck_config_add(struct dnscheck_config *c, int ip, const char *spec, char *why, size_t size);
/* Does the answer a (an IPv4 address) pass l's filter? */
int dnscheck_list_matches(const struct dnslist *l, const struct ipaddr *a);
/* An answer from 127.255.255.0/24: a list's error, never a listing. */
int dnscheck_answer_is_error(const struct ipaddr *a);
/* Does a reverse name look like that of a dynamic address (addr's
 * numbers in its first label, or words like dsl, dyn, pool)? */
int dnscheck_looks_dynamic(const char *name, const struct ipaddr *addr);
/* The refusal text: %a the client address, %z the zones, %% a percent. */
void dnscheck_text(const char *pattern, const char *ip, const char *zones, char *out, size_t size);

void dnscheck_start(struct dnscheck *dc, const struct dnscheck_config *c, struct dns *dns);
void dnscheck_connect(struct dnscheck *dc, const char *ip);
void dnscheck_helo(struct dnscheck *dc, const char *name);
void dnscheck_mail(struct dnscheck *dc, const char *sender);
/* At the first RCPT of a transaction: wait for the answers (within the
 * budget) and decide. */
void dnscheck_decide(struct dnscheck *dc, struct dnscheck_result *r);

/* Serve one connection: 0 at its end, 111 with why. */
int dnscheck_run(const struct dnscheck_config *c, struct dns *dns, char *why, size_t size);

#endif
