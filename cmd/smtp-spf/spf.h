/* smtp-spf: SPF (RFC 7208) of the MAIL identity, or of the HELO identity
 * for the null sender.  record.c parses records and expands macros (no
 * DNS: what the fuzzer runs), eval.c is check_host() on lib/dns, run.c
 * the filter.  See smtp-spf(8). */
#ifndef SMTP_SPF_H
#define SMTP_SPF_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "ipaddr.h"
#include "statustext.h"

/* RFC 7208 4.6.4 */
#define SPF_LOOKUPS_MAX 10          /* terms that ask DNS: include a mx ptr exists redirect */
#define SPF_VOID_MAX 2              /* look-ups answered NXDOMAIN or with no record */
#define SPF_NAMES_MAX 10            /* address look-ups per mx and ptr */
#define SPF_TERMS_MAX 256           /* ours: more terms in a record is a permerror */
#define SPF_EXPLANATION_MAX 300

enum spf_result {
    SPF_NONE, SPF_NEUTRAL, SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_TEMPERROR, SPF_PERMERROR,
    SPF_RESULTS
};
const char *spf_result_name(enum spf_result r);
/* -1 when s names none */
int spf_result_parse(const char *s, size_t n);

enum spf_mechanism { SPF_ALL, SPF_INCLUDE, SPF_A, SPF_MX, SPF_PTR, SPF_IP4, SPF_IP6, SPF_EXISTS };

struct spf_term {
    enum spf_mechanism mechanism;
    enum spf_result qualifier;      /* pass, fail, softfail, neutral */
    const char *spec;               /* the domain-spec, NULL if none */
    size_t spec_len;
    struct ipaddr network;          /* ip4, ip6 */
    unsigned cidr4, cidr6;          /* a, mx, ip4, ip6: 32 and 128 if not given */
};

struct spf_record {
    struct spf_term term[SPF_TERMS_MAX];
    unsigned n;
    const char *redirect, *exp;     /* domain-specs, NULL if none */
    size_t redirect_len, exp_len;
};

/* Is the TXT record text an SPF version 1 record ("v=spf1" alone or
 * followed by a space)? */
int spf_is_record(const char *text, size_t n);
/* Parse a whole record (text points into the caller's copy, which must
 * outlive r): 0, or -1 on any syntax error (a permerror) with why. */
int spf_parse(const char *text, size_t n, struct spf_record *r, char *why, size_t size);
/* Is s a valid domain-spec (a macro-string ending in "." toplabel or in
 * a macro)? */
int spf_domain_spec_valid(const char *s, size_t n);

/* What macros expand to. */
struct spf_macros {
    struct ipaddr ip;
    const char *sender;             /* local@domain, local "postmaster" if it was empty */
    const char *helo;
    const char *receiver;           /* %{r} */
    long long now;                  /* %{t} */
    /* %{p}: the validated reverse name for the current domain, or "unknown";
     * NULL for always "unknown" */
    const char *(*p)(void *arg, const char *domain);
    void *arg;
};

/* Expand the macro-string s of n bytes, domain being %{d}, into out (of
 * size, NUL terminated; truncated if it does not fit, *truncated set).
 * exp: in an explanation, where %{c} %{r} %{t} are allowed.  0, or -1 on
 * a syntax error. */
int spf_expand(const struct spf_macros *m, const char *domain, const char *s, size_t n, int exp,
               char *out, size_t size, int *truncated);
/* A domain-spec expanded, with labels dropped from the left until it is
 * at most 253 characters (RFC 7208 4.8); its trailing dot removed. */
int spf_expand_domain(const struct spf_macros *m, const char *domain, const char *s, size_t n,
                      char *out, size_t size);
/* Is d a domain check_host() can look up: labels of 1 to 63 bytes, at
 * least two of them, at most 253 in all? */
int spf_domain_valid(const char *d);

/* One evaluation, of one identity. */
struct spf_eval {
    struct dns *dns;
    struct spf_macros m;
    int64_t deadline;
    unsigned lookups, voids;
    int in_include;
    char explanation[SPF_EXPLANATION_MAX + 1];
    char problem[512];              /* why a permerror or temperror, for the log */
    /* %{p}, found once */
    int p_done;
    char p_names[SPF_NAMES_MAX][DNS_NAME_MAX + 1];
    unsigned p_n;
};

/* check_host(ip, domain, sender): the result; e->explanation is set on
 * a fail with an exp= modifier. */
enum spf_result spf_check_host(struct spf_eval *e, const char *domain);

/* --- the filter ------------------------------------------------------------ */

enum spf_action_kind { ACTION_CONTINUE, ACTION_SCORE, ACTION_TEMPFAIL, ACTION_REJECT };
struct spf_action {
    enum spf_action_kind kind;
    long points;
};

enum { T_SPF_REJECTED, T_SPF_TEMPFAIL, T_COUNT };
extern struct statustext spf_texts[T_COUNT];

struct spf_config {
    struct spf_action action[SPF_RESULTS];
    const char *receiver;           /* -h */
    unsigned timeout_ms;            /* -t: the whole evaluation */
    int header;                     /* add Received-SPF (not with -H) */
};

/* -r RESULT=ACTION: continue, score:N, tempfail, reject; 0 or -1 with why. */
int spf_action_parse(struct spf_config *c, const char *s, char *why, size_t size);
void spf_config_defaults(struct spf_config *c);

/* The Received-SPF field's value (after "Received-SPF:"), one line. */
size_t spf_received(char *out, size_t size, enum spf_result r, const char *receiver,
                    const char *ip, const char *sender, const char *helo, int helo_identity,
                    const char *problem);
/* The refusal text: %r result, %i address, %d domain, %% a percent; the
 * explanation, if any, after ": ". */
void spf_text(const char *pattern, const char *result, const char *ip, const char *domain,
              const char *explanation, char *out, size_t size);

int spf_run(const struct spf_config *c, struct dns *dns, char *why, size_t size);

#endif
