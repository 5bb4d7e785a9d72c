/* smtp-spf: check_host() (RFC 7208 4) on lib/dns.  Every look-up counts
 * against the limits of 4.6.4 before it is sent, and waits at most until
 * the evaluation's deadline: past it, the result is temperror. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deadline.h"
#include "spf.h"

/* The outcome of one term: matched, not matched, or an error that ends
 * the evaluation. */
enum outcome { NO_MATCH, MATCH, TEMPERROR, PERMERROR };

static enum outcome problem(struct spf_eval *e, enum outcome o, const char *fmt, const char *arg)
{
    if (!e->problem[0]) snprintf(e->problem, sizeof e->problem, fmt, arg);
    return o;
}

/* Ask and wait: the query's status, DNS_TIMEOUT past the deadline. */
static enum dns_status ask(struct spf_eval *e, struct dns_query *q, const char *name, enum dns_type type)
{
    if (dns_send(e->dns, q, name, type) < 0) return DNS_TEMPFAIL;
    if (!dns_wait(e->dns, q, e->deadline)) {
        dns_release(e->dns, q);
        q->status = DNS_TIMEOUT;
    }
    return q->status;
}

static int count_lookup(struct spf_eval *e)
{
    return ++e->lookups <= SPF_LOOKUPS_MAX;
}

/* A void look-up (4.6.4): over the limit is a permerror. */
static int count_void(struct spf_eval *e, enum dns_status s)
{
    if (s != DNS_NXDOMAIN && s != DNS_NODATA && s != DNS_BADNAME) return 1;
    return ++e->voids <= SPF_VOID_MAX;
}

static int in_network(const struct ipaddr *a, const struct ipaddr *net, unsigned cidr4, unsigned cidr6)
{
    struct ipaddr x = *a, y = *net;
    unsigned len = a->bits == 32 ? cidr4 : cidr6;
    if (a->bits != net->bits) return 0;
    ipaddr_mask(&x, len);
    ipaddr_mask(&y, len);
    return ipaddr_equal(&x, &y);
}

static enum dns_type address_type(const struct spf_eval *e)
{
    return e->m.ip.bits == 32 ? DNS_A : DNS_AAAA;
}

/* The addresses of several names, asked at once: MATCH when one is in
 * the network, TEMPERROR when a name could not be looked up and strict. */
static enum outcome addresses_match(struct spf_eval *e, char names[][DNS_NAME_MAX + 1], unsigned n,
                                    unsigned cidr4, unsigned cidr6, int strict)
{
    struct dns_query q[SPF_NAMES_MAX];
    enum outcome o = NO_MATCH;
    unsigned i, k;
    for (i = 0; i < n; i++)
        if (dns_send(e->dns, &q[i], names[i], address_type(e)) < 0) q[i].status = DNS_TEMPFAIL;
    for (i = 0; i < n; i++) {
        if (!dns_wait(e->dns, &q[i], e->deadline)) q[i].status = DNS_TIMEOUT;
        if (q[i].status == DNS_TIMEOUT || q[i].status == DNS_TEMPFAIL) {
            if (strict && o == NO_MATCH) o = TEMPERROR;
            continue;
        }
        for (k = 0; k < q[i].n && o != MATCH; k++)
            if (in_network(&q[i].record[k].addr, &e->m.ip, cidr4, cidr6)) o = MATCH;
    }
    for (i = 0; i < n; i++) dns_release(e->dns, &q[i]);
    return o;
}

/* The client's validated reverse names (5.5), at most 10 asked. */
static int validated_names(struct spf_eval *e, char out[][DNS_NAME_MAX + 1], unsigned *nout,
                           enum dns_status *ptr_status)
{
    struct dns_query ptr, q[SPF_NAMES_MAX];
    char rev[DNS_NAME_MAX + 1];
    unsigned i, k, n = 0;
    *nout = 0;
    if (!dns_reverse_name(&e->m.ip, NULL, rev, sizeof rev)) return -1;
    *ptr_status = ask(e, &ptr, rev, DNS_PTR);
    if (*ptr_status != DNS_OK) return 0;
    for (i = 0; i < ptr.n && n < SPF_NAMES_MAX; i++)
        if (dns_send(e->dns, &q[n], ptr.record[i].text, address_type(e)) == 0) {
            snprintf(out[n], DNS_NAME_MAX + 1, "%s", ptr.record[i].text);
            n++;
        }
    dns_release(e->dns, &ptr);
    for (i = 0; i < n; i++) {
        int ok = 0;
        dns_wait(e->dns, &q[i], e->deadline);
        for (k = 0; k < q[i].n; k++)
            if (ipaddr_equal(&q[i].record[k].addr, &e->m.ip)) ok = 1;
        dns_release(e->dns, &q[i]);
        if (ok && *nout != i) memmove(out[*nout], out[i], DNS_NAME_MAX + 1);
        if (ok) (*nout)++;
    }
    return 0;
}

/* Is name target, or a name under it? */
static int under(const char *name, const char *target)
{
    size_t n = strlen(name), t = strlen(target);
    if (n && name[n - 1] == '.') n--;
    if (t && target[t - 1] == '.') t--;
    if (n == t) return !strncasecmp(name, target, n);
    return n > t && name[n - t - 1] == '.' && !strncasecmp(name + n - t, target, t);
}

/* %{p}: a validated name equal to or under the domain, else the first
 * validated one, else "unknown" (7.3). */
static const char *p_macro(void *arg, const char *domain)
{
    struct spf_eval *e = arg;
    enum dns_status s;
    unsigned i;
    if (!e->p_done) {
        e->p_done = 1;
        validated_names(e, e->p_names, &e->p_n, &s);
    }
    for (i = 0; i < e->p_n; i++)
        if (under(e->p_names[i], domain)) return e->p_names[i];
    return e->p_n ? e->p_names[0] : "unknown";
}

static enum spf_result check_host(struct spf_eval *e, const char *domain, int depth);

static enum outcome term(struct spf_eval *e, const struct spf_term *t, const char *domain, int depth)
{
    char target[DNS_NAME_MAX + 1], names[SPF_NAMES_MAX][DNS_NAME_MAX + 1];
    struct dns_query q;
    enum dns_status s;
    enum spf_result r;
    unsigned i, n;
    int outer;

    if (t->mechanism == SPF_ALL) return MATCH;
    if (t->mechanism == SPF_IP4 || t->mechanism == SPF_IP6)
        return in_network(&e->m.ip, &t->network, t->cidr4, t->cidr6) ? MATCH : NO_MATCH;
    /* the rest ask DNS: counted first */
    if (!count_lookup(e)) return problem(e, PERMERROR, "more than 10 DNS look-ups%s", "");
    if (t->spec) {
        if (spf_expand_domain(&e->m, domain, t->spec, t->spec_len, target, sizeof target) < 0)
            return problem(e, PERMERROR, "a bad macro%s", "");
    } else {
        snprintf(target, sizeof target, "%s", domain);
    }
    switch (t->mechanism) {
    case SPF_INCLUDE:
        outer = e->in_include;
        e->in_include = 1;
        r = check_host(e, target, depth + 1);
        e->in_include = outer;
        switch (r) {
        case SPF_PASS: return MATCH;
        case SPF_FAIL: case SPF_SOFTFAIL: case SPF_NEUTRAL: return NO_MATCH;
        case SPF_TEMPERROR: return TEMPERROR;
        case SPF_NONE: return problem(e, PERMERROR, "include:%s has no SPF record", target);
        default: return PERMERROR;
        }
    case SPF_A:
    case SPF_EXISTS:
        s = ask(e, &q, target, t->mechanism == SPF_EXISTS ? DNS_A : address_type(e));
        if (s == DNS_TIMEOUT || s == DNS_TEMPFAIL) return problem(e, TEMPERROR, "no answer for %s", target);
        if (!count_void(e, s)) return problem(e, PERMERROR, "more than 2 void look-ups (%s)", target);
        if (s != DNS_OK) return NO_MATCH;
        n = q.n;
        if (t->mechanism == SPF_A)
            for (i = 0, n = 0; i < q.n; i++)
                if (in_network(&q.record[i].addr, &e->m.ip, t->cidr4, t->cidr6)) n++;
        dns_release(e->dns, &q);
        return n ? MATCH : NO_MATCH;
    case SPF_MX:
        s = ask(e, &q, target, DNS_MX);
        if (s == DNS_TIMEOUT || s == DNS_TEMPFAIL) return problem(e, TEMPERROR, "no answer for MX %s", target);
        if (!count_void(e, s)) return problem(e, PERMERROR, "more than 2 void look-ups (%s)", target);
        if (s != DNS_OK) return NO_MATCH;
        if (q.n > SPF_NAMES_MAX) {
            dns_release(e->dns, &q);
            return problem(e, PERMERROR, "more than 10 MX names for %s", target);
        }
        for (i = 0, n = 0; i < q.n; i++)
            if (q.record[i].len) snprintf(names[n++], DNS_NAME_MAX + 1, "%s", q.record[i].text);
        dns_release(e->dns, &q);
        {
            enum outcome o = addresses_match(e, names, n, t->cidr4, t->cidr6, 1);
            if (o == TEMPERROR) return problem(e, TEMPERROR, "no answer for an MX host of %s", target);
            return o;
        }
    case SPF_PTR:
        if (validated_names(e, names, &n, &s) < 0) return NO_MATCH;
        if (!count_void(e, s)) return problem(e, PERMERROR, "more than 2 void look-ups (%s)", "ptr");
        for (i = 0; i < n; i++)
            if (under(names[i], target)) return MATCH;
        return NO_MATCH;
    default:
        return NO_MATCH;
    }
}

/* The explanation of a fail (6.2): any error means none. */
static void explain(struct spf_eval *e, const struct spf_record *r, const char *domain)
{
    char target[DNS_NAME_MAX + 1];
    struct dns_query q;
    unsigned i, found = 0, at = 0;
    int truncated;
    if (!r->exp || e->in_include) return;
    if (spf_expand_domain(&e->m, domain, r->exp, r->exp_len, target, sizeof target) < 0) return;
    if (ask(e, &q, target, DNS_TXT) != DNS_OK) return;
    for (i = 0; i < q.n; i++) {
        found++;
        at = i;
    }
    if (found == 1) {
        const char *t = q.record[at].text;
        size_t n = q.record[at].len;
        if (!memchr(t, 0, n) &&
            spf_expand(&e->m, domain, t, n, 1, e->explanation, sizeof e->explanation, &truncated) < 0)
            e->explanation[0] = 0;
        for (i = 0; e->explanation[i]; i++)     /* a reply text: printable only */
            if ((unsigned char)e->explanation[i] < 32 || (unsigned char)e->explanation[i] > 126)
                e->explanation[i] = '?';
    }
    dns_release(e->dns, &q);
}

static enum spf_result check_host(struct spf_eval *e, const char *domain, int depth)
{
    struct spf_record *r;
    struct dns_query q;
    char why[200], *text = NULL;
    size_t len = 0;
    unsigned i, nrecords = 0;
    enum spf_result result = SPF_NEUTRAL;
    enum dns_status s;

    if (!spf_domain_valid(domain)) return SPF_NONE;
    if (deadline_poll_ms(e->deadline) == 0) {
        problem(e, TEMPERROR, "out of time%s", "");
        return SPF_TEMPERROR;
    }
    s = ask(e, &q, domain, DNS_TXT);
    if (s == DNS_TIMEOUT || s == DNS_TEMPFAIL) {
        problem(e, TEMPERROR, "no answer for TXT %s", domain);
        return SPF_TEMPERROR;
    }
    if (s != DNS_OK) return SPF_NONE;
    for (i = 0; i < q.n; i++)
        if (spf_is_record(q.record[i].text, q.record[i].len)) {
            nrecords++;
            if (!text) {
                len = q.record[i].len;
                text = malloc(len + 1);
                if (text) memcpy(text, q.record[i].text, len + 1);
            }
        }
    dns_release(e->dns, &q);
    if (nrecords == 0) return SPF_NONE;
    if (nrecords > 1 || !text) {
        free(text);
        problem(e, TEMPERROR, nrecords > 1 ? "more than one SPF record for %s" : "out of memory%s",
                nrecords > 1 ? domain : "");
        return nrecords > 1 ? SPF_PERMERROR : SPF_TEMPERROR;
    }
    r = malloc(sizeof *r);
    if (!r) {
        free(text);
        return SPF_TEMPERROR;
    }
    if (spf_parse(text, len, r, why, sizeof why) < 0) {
        if (!e->problem[0]) snprintf(e->problem, sizeof e->problem, "%s: %s", domain, why);
        free(r);
        free(text);
        return SPF_PERMERROR;
    }
    for (i = 0; i < r->n; i++) {
        enum outcome o = term(e, &r->term[i], domain, depth);
        if (o == TEMPERROR) { result = SPF_TEMPERROR; goto done; }
        if (o == PERMERROR) { result = SPF_PERMERROR; goto done; }
        if (o == MATCH) {
            result = r->term[i].qualifier;
            if (result == SPF_FAIL) explain(e, r, domain);
            goto done;
        }
    }
    if (r->redirect) {
        char target[DNS_NAME_MAX + 1];
        if (!count_lookup(e)) {
            problem(e, PERMERROR, "more than 10 DNS look-ups%s", "");
            result = SPF_PERMERROR;
        } else if (spf_expand_domain(&e->m, domain, r->redirect, r->redirect_len, target, sizeof target) < 0) {
            result = SPF_PERMERROR;
        } else {
            result = check_host(e, target, depth + 1);
            if (result == SPF_NONE) {
                problem(e, PERMERROR, "redirect=%s has no SPF record", target);
                result = SPF_PERMERROR;
            }
        }
    }
done:
    free(r);
    free(text);
    return result;
}

enum spf_result spf_check_host(struct spf_eval *e, const char *domain)
{
    e->lookups = e->voids = 0;
    e->in_include = 0;
    e->explanation[0] = e->problem[0] = 0;
    e->m.p = p_macro;
    e->m.arg = e;
    return check_host(e, domain, 0);
}
