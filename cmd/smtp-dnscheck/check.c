/* smtp-dnscheck: the lists, their filters and weights, the queries and
 * the decision.  Nothing here reads the proxy: run.c does. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "deadline.h"
#include "dnscheck.h"
#include "log.h"
#include "scan.h"

struct statustext dnscheck_texts[T_COUNT] = {
    [T_LISTED] = { "DNSBL_LISTED", "Service unavailable; client [%a] blocked using %z" },
};

/* --- configuration --------------------------------------------------------- */

/* One part of a filter: a number, or [a;b..c;...]. */
static int filter_part(const char *s, size_t n, unsigned char set[32])
{
    unsigned long lo, hi;
    size_t i = 0;
    char num[8];
    int bracket = n >= 2 && s[0] == '[' && s[n - 1] == ']';
    memset(set, 0, 32);
    if (bracket) {
        s++;
        n -= 2;
        if (n == 0) return -1;
    }
    while (i < n || (!bracket && i == 0)) {
        size_t j = i, k;
        while (j < n && s[j] != ';') j++;
        /* s[i..j): n or n..m */
        for (k = i; k + 1 < j && !(s[k] == '.' && s[k + 1] == '.'); k++) {}
        if (k + 1 < j) {
            if (k - i >= sizeof num || j - k - 2 >= sizeof num) return -1;
            memcpy(num, s + i, k - i);
            num[k - i] = 0;
            if (!scan_ulong(num, 255, &lo)) return -1;
            memcpy(num, s + k + 2, j - k - 2);
            num[j - k - 2] = 0;
            if (!scan_ulong(num, 255, &hi) || hi < lo) return -1;
        } else {
            if (j - i >= sizeof num || j == i) return -1;
            memcpy(num, s + i, j - i);
            num[j - i] = 0;
            if (!scan_ulong(num, 255, &lo)) return -1;
            hi = lo;
        }
        for (; lo <= hi; lo++) set[lo / 8] |= (unsigned char)(1u << (lo % 8));
        if (!bracket) return j == n ? 0 : -1;
        i = j + 1;
        if (j == n) break;
        if (i == n) return -1;          /* a trailing ; */
    }
    return 0;
}

static int zone_valid(const char *s, size_t n)
{
    size_t i, label = 0;
    if (n == 0 || n > DNS_NAME_MAX - 73) return 0;     /* room for 32 nibbles */
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (!label) return 0;
            label = 0;
        } else if (isalnum((unsigned char)c) || c == '-' || c == '_') {
            if (++label > 63) return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

int dnscheck_list_parse(const char *spec, struct dnslist *l, char *why, size_t size)
{
    const char *eq = strchr(spec, '='), *star = strrchr(spec, '*');
    size_t zn;
    memset(l, 0, sizeof *l);
    l->weight = 1;
    if (star && eq && star < eq) star = NULL;
    zn = eq ? (size_t)(eq - spec) : star ? (size_t)(star - spec) : strlen(spec);
    if (!zone_valid(spec, zn)) return log_why(why, size, "not a DNS zone in %s", spec);
    memcpy(l->zone, spec, zn);
    l->zone[zn] = 0;
    if (star && !scan_long(star + 1, 1000000, &l->weight))
        return log_why(why, size, "not a weight (an integer) in %s", spec);
    if (eq) {
        const char *f = eq + 1, *end = star ? star : f + strlen(f), *p = f;
        unsigned part;
        l->has_filter = 1;
        for (part = 0; part < 4; part++) {
            const char *dot = p;
            int in = 0;
            while (dot < end && (in || *dot != '.' || (dot + 1 < end && dot[1] == '.') ||
                                 (dot > p && dot[-1] == '.'))) {
                if (*dot == '[') in = 1;
                if (*dot == ']') in = 0;
                dot++;
            }
            if ((part < 3) != (dot < end) || filter_part(p, (size_t)(dot - p), l->allowed[part]) < 0)
                return log_why(why, size, "not a filter d.d.d.d (d: a number or [n;n..m]) in %s", spec);
            p = dot + 1;
        }
    }
    return 0;
}

int dnscheck_config_add(struct dnscheck_config *c, int ip, const char *spec, char *why, size_t size)
{
    struct dnslist *l = ip ? &c->ip[c->nip] : &c->domain[c->ndomain];
    const char **zones = ip ? c->ipzone : c->domainzone;
    unsigned *nzones = ip ? &c->nipzone : &c->ndomainzone, i;
    if ((ip ? c->nip : c->ndomain) == LISTS_MAX)
        return log_why(why, size, "more than %d lists", LISTS_MAX);
    if (dnscheck_list_parse(spec, l, why, size) < 0) return -1;
    for (i = 0; i < *nzones; i++)
        if (!strcasecmp(zones[i], l->zone)) break;
    if (i == *nzones) zones[(*nzones)++] = l->zone;
    l->query = i;
    if (ip) c->nip++;
    else c->ndomain++;
    return 0;
}

int dnscheck_list_matches(const struct dnslist *l, const struct ipaddr *a)
{
    unsigned i;
    if (a->bits != 32 || dnscheck_answer_is_error(a)) return 0;
    if (!l->has_filter) return 1;
    for (i = 0; i < 4; i++)
        if (!(l->allowed[i][a->byte[i] / 8] & (1u << (a->byte[i] % 8)))) return 0;
    return 1;
}

int dnscheck_answer_is_error(const struct ipaddr *a)
{
    return a->bits == 32 && a->byte[0] == 127 && a->byte[1] == 255 && a->byte[2] == 255;
}

/* --- the reverse name ---------------------------------------------------------- */

int dnscheck_looks_dynamic(const char *name, const struct ipaddr *addr)
{
    static const char *const words[] = {
        "dyn", "dynamic", "dhcp", "pool", "dsl", "adsl", "xdsl", "vdsl", "cable", "ppp",
        "pppoe", "dial", "dialup", "dialin", "broadband", "client", "customer", "cust",
        "host", "user", "ip", "unknown", "nat", "wifi", "mobile", "catv", "fttx", "ftth",
    };
    char label[64];
    const char *p = name, *end = name + strlen(name);
    unsigned labels = 0, i, found = 0;
    size_t n;
    const char *q;
    for (q = name; *q; q++) labels += *q == '.';
    /* The numbers of the address in the first labels: 192-0-2-1.example.net,
     * c000020a.example.net, host1-2.0.192.example.net */
    if (addr->bits == 32) {
        char dec[4][4], hex[9];
        for (i = 0; i < 4; i++) snprintf(dec[i], sizeof dec[i], "%u", addr->byte[i]);
        snprintf(hex, sizeof hex, "%02x%02x%02x%02x", addr->byte[0], addr->byte[1], addr->byte[2],
                 addr->byte[3]);
        char lower[DNS_NAME_MAX + 1];
        for (i = 0; name[i] && i < DNS_NAME_MAX; i++) lower[i] = (char)tolower((unsigned char)name[i]);
        lower[i] = 0;
        if (strstr(lower, hex)) return 1;
        /* the last two numbers, as whole tokens, in the labels before the domain */
        for (i = 2; i < 4; i++) {
            const char *s = name;
            size_t k = strlen(dec[i]);
            while ((s = strstr(s, dec[i])) != NULL) {
                int before = s == name || !isdigit((unsigned char)s[-1]);
                int after = !isdigit((unsigned char)s[k]);
                if (before && after) {
                    found++;
                    break;
                }
                s++;
            }
        }
        if (found == 2 && labels >= 2) return 1;
    }
    /* A word of the list as a token of a label that is not one of the last two. */
    for (i = 0; p < end && i + 2 < labels + 1; i++) {
        const char *dot = strchr(p, '.');
        const char *t;
        if (!dot) break;
        n = (size_t)(dot - p);
        if (n >= sizeof label) n = sizeof label - 1;
        memcpy(label, p, n);
        label[n] = 0;
        for (t = label; *t;) {
            char tok[64];
            size_t k = 0;
            unsigned w;
            while (*t && !isalpha((unsigned char)*t)) t++;
            while (*t && isalpha((unsigned char)*t) && k + 1 < sizeof tok) tok[k++] = (char)tolower((unsigned char)*t++);
            tok[k] = 0;
            if (!k) continue;
            for (w = 0; w < sizeof words / sizeof words[0]; w++)
                if (!strcmp(tok, words[w]) && strpbrk(label, "0123456789")) return 1;
            if (!strcmp(tok, "dynamic") || !strcmp(tok, "dyn") || !strcmp(tok, "dhcp") ||
                !strcmp(tok, "dsl") || !strcmp(tok, "adsl") || !strcmp(tok, "dialup") || !strcmp(tok, "pool"))
                return 1;
        }
        p = dot + 1;
    }
    return 0;
}

void dnscheck_text(const char *pattern, const char *ip, const char *zones, char *out, size_t size)
{
    const char *const values[] = { ip, zones };
    if (size) statustext_expand(pattern, "az", values, out, size);
}

/* --- the queries --------------------------------------------------------------- */

static int64_t later(int64_t a, int64_t b) { return a > b ? a : b; }

void dnscheck_start(struct dnscheck *dc, const struct dnscheck_config *c, struct dns *dns)
{
    memset(dc, 0, sizeof *dc);
    dc->c = c;
    dc->dns = dns;
    dc->deadline = deadline_in_ms(c->budget_ms);
}

static void send_zone(struct dnscheck *dc, struct zone_query *z, const char *zone, const char *prefix)
{
    char name[DNS_NAME_MAX + 2];
    z->zone = zone;
    if ((size_t)snprintf(name, sizeof name, "%s.%s", prefix, zone) >= sizeof name) return;
    if (dns_send(dc->dns, &z->q, name, DNS_A) < 0) return;
    z->sent = 1;
}

void dnscheck_connect(struct dnscheck *dc, const char *ip)
{
    char rev[DNS_NAME_MAX + 1];
    unsigned i;
    snprintf(dc->ip, sizeof dc->ip, "%s", ip);
    if (!ipaddr_parse(&dc->addr, ip, strlen(ip))) return;   /* no address: nothing to ask */
    dc->have_addr = 1;
    dc->deadline = deadline_in_ms(dc->c->budget_ms);
    if (!dns_reverse_name(&dc->addr, "", rev, sizeof rev)) return;
    rev[strlen(rev) - 1] = 0;           /* "d.c.b.a." without its dot */
    for (i = 0; i < dc->c->nipzone; i++) send_zone(dc, &dc->ipq[i], dc->c->ipzone[i], rev);
    dc->nipq = dc->c->nipzone;
    if ((dc->c->fcrdns || dc->c->dynamic) && dns_reverse_name(&dc->addr, NULL, rev, sizeof rev) &&
        dns_send(dc->dns, &dc->ptr, rev, DNS_PTR) == 0)
        dc->ptr_sent = 1;
}

/* A domain to look up in the domain lists: a name with a dot, not an
 * address literal. */
static int lookup_domain(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= DNS_NAME_MAX - 64 && strchr(name, '.') && name[0] != '[' &&
           name[0] != '.' && !strstr(name, "..");
}

static void send_forward(struct dnscheck *dc);

/* What has come meanwhile is read without waiting, so that the forward
 * look-ups of the reverse names go out as soon as the PTR answer is in. */
static void progress(struct dnscheck *dc)
{
    if (!dc->ptr_sent || dc->forward_sent) return;
    dns_wait(dc->dns, &dc->ptr, deadline_now());
    send_forward(dc);
}

static void release_zones(struct dnscheck *dc, struct zone_query *z, unsigned *n)
{
    unsigned i;
    for (i = 0; i < *n; i++)
        if (z[i].sent) dns_release(dc->dns, &z[i].q);
    memset(z, 0, *n * sizeof *z);
    *n = 0;
}

void dnscheck_helo(struct dnscheck *dc, const char *name)
{
    unsigned i;
    progress(dc);
    release_zones(dc, dc->heloq, &dc->nheloq);
    snprintf(dc->helo, sizeof dc->helo, "%s", name);
    if (!lookup_domain(name)) return;
    for (i = 0; i < dc->c->ndomainzone; i++) send_zone(dc, &dc->heloq[i], dc->c->domainzone[i], name);
    dc->nheloq = dc->c->ndomainzone;
    /* The answers to HELO and MAIL get the budget from when they were asked. */
    dc->deadline = later(dc->deadline, deadline_in_ms(dc->c->budget_ms));
}

void dnscheck_mail(struct dnscheck *dc, const char *sender)
{
    const char *at = strrchr(sender, '@');
    unsigned i;
    progress(dc);
    release_zones(dc, dc->senderq, &dc->nsenderq);
    dc->decided = 0;
    dc->sender_domain[0] = 0;
    if (!at || !lookup_domain(at + 1)) return;
    snprintf(dc->sender_domain, sizeof dc->sender_domain, "%s", at + 1);
    for (i = 0; i < dc->c->ndomainzone; i++) send_zone(dc, &dc->senderq[i], dc->c->domainzone[i], at + 1);
    dc->nsenderq = dc->c->ndomainzone;
    dc->deadline = later(dc->deadline, deadline_in_ms(dc->c->budget_ms));
}

/* --- the decision ----------------------------------------------------------------- */

static void append(char *buf, size_t size, const char *sep, const char *s)
{
    size_t n = strlen(buf);
    if (n + strlen(sep) + strlen(s) + 1 > size) return;
    snprintf(buf + n, size - n, "%s%s", n ? sep : "", s);
}

/* The forward look-ups of the reverse names, once the PTR answered. */
static void send_forward(struct dnscheck *dc)
{
    unsigned i;
    if (dc->forward_sent || !dc->ptr_sent || dc->ptr.status == DNS_PENDING) return;
    dc->forward_sent = 1;
    if (dc->ptr.status != DNS_OK) return;
    for (i = 0; i < dc->ptr.n && dc->nforward < PTR_NAMES_MAX; i++)
        if (dns_send(dc->dns, &dc->forward[dc->nforward], dc->ptr.record[i].text,
                     dc->addr.bits == 32 ? DNS_A : DNS_AAAA) == 0)
            dc->nforward++;
}

/* The answers of one kind of list: weights added, facts and zones. */
static long score_zones(struct dnscheck *dc, const struct dnslist *lists, unsigned nlists,
                        struct zone_query *z, unsigned nz, const char *what, const char *subject,
                        struct dnscheck_result *r, int domain)
{
    long score = 0;
    unsigned i, k;
    char item[DNS_NAME_MAX + 64], addr[IPADDR_KEY_MAX];
    for (i = 0; i < nz; i++) {
        struct dns_query *q = &z[i].q;
        if (!z[i].sent) continue;
        if (q->status == DNS_PENDING || q->status == DNS_TIMEOUT) {
            if (!z[i].warned) log_warn("%s %s did not answer for %s in time: taken as not listed",
                                       what, z[i].zone, subject);
            z[i].warned = 1;
            continue;
        }
        if (q->status == DNS_TEMPFAIL && !z[i].warned) {
            log_warn("%s %s failed for %s: taken as not listed", what, z[i].zone, subject);
            z[i].warned = 1;
        }
        if (q->status != DNS_OK) continue;
        for (k = 0; k < q->n; k++)
            if (dnscheck_answer_is_error(&q->record[k].addr) && !z[i].warned) {
                ipaddr_key(&q->record[k].addr, 32, addr);
                *strchr(addr, '/') = 0;
                log_warn("%s %s answered %s, an error (refused queries?), not a listing", what, z[i].zone, addr);
                z[i].warned = 1;
            }
    }
    for (i = 0; i < nlists; i++) {
        const struct dnslist *l = &lists[i];
        struct dns_query *q;
        if (l->query >= nz || !z[l->query].sent) continue;
        q = &z[l->query].q;
        if (q->status != DNS_OK) continue;
        for (k = 0; k < q->n; k++)
            if (dnscheck_list_matches(l, &q->record[k].addr)) break;
        if (k == q->n) continue;
        score += l->weight;
        ipaddr_key(&q->record[k].addr, 32, addr);
        *strchr(addr, '/') = 0;
        if (domain) snprintf(item, sizeof item, "%s:%s:%s", what, l->zone, addr);
        else snprintf(item, sizeof item, "%s:%s", l->zone, addr);
        if (domain) append(r->rhsbl, sizeof r->rhsbl, ",", item);
        else if (l->weight < 0) append(r->dnswl, sizeof r->dnswl, ",", item);
        else append(r->dnsbl, sizeof r->dnsbl, ",", item);
        if (l->weight > 0 && !strstr(r->zones, l->zone)) append(r->zones, sizeof r->zones, ", ", l->zone);
    }
    return score;
}

void dnscheck_decide(struct dnscheck *dc, struct dnscheck_result *r)
{
    const struct dnscheck_config *c = dc->c;
    unsigned i, k;
    memset(r, 0, sizeof *r);
    r->dynamic = -1;
    if (dc->ptr_sent) {
        dns_wait(dc->dns, &dc->ptr, dc->deadline);
        send_forward(dc);
    }
    dns_wait_all(dc->dns, dc->deadline);
    r->score += score_zones(dc, c->ip, c->nip, dc->ipq, dc->nipq, "list", dc->ip, r, 0);
    r->score += score_zones(dc, c->domain, c->ndomain, dc->heloq, dc->nheloq, "helo", dc->helo, r, 1);
    r->score += score_zones(dc, c->domain, c->ndomain, dc->senderq, dc->nsenderq, "sender",
                            dc->sender_domain, r, 1);
    if (dc->ptr_sent) {
        int pending = dc->ptr.status == DNS_PENDING || dc->ptr.status == DNS_TIMEOUT ||
                      dc->ptr.status == DNS_TEMPFAIL;
        for (i = 0; i < dc->nforward && !r->rdns[0]; i++) {
            struct dns_query *f = &dc->forward[i];
            if (f->status == DNS_PENDING || f->status == DNS_TIMEOUT || f->status == DNS_TEMPFAIL)
                pending = 1;
            for (k = 0; k < f->n; k++)
                if (ipaddr_equal(&f->record[k].addr, &dc->addr)) {
                    snprintf(r->rdns, sizeof r->rdns, "%s", dc->ptr.record[i].text);
                    break;
                }
        }
        if (r->rdns[0]) r->fcrdns = "pass";
        else r->fcrdns = pending ? "temperror" : "fail";
        if (c->fcrdns && !strcmp(r->fcrdns, "fail")) r->score += c->fcrdns_points;
        if (c->dynamic && dc->ptr.status == DNS_OK) {
            /* The confirmed name, or the first one given. */
            r->dynamic = dnscheck_looks_dynamic(r->rdns[0] ? r->rdns : dc->ptr.record[0].text, &dc->addr);
            if (r->dynamic) r->score += c->dynamic_points;
        }
        if (!c->fcrdns) r->fcrdns = NULL;
    }
    if (r->score >= c->threshold) r->decision = DECIDE_REFUSE;
    else if (c->allow_threshold < 0 && r->score <= c->allow_threshold) r->decision = DECIDE_ACCEPT;
    else r->decision = DECIDE_CONTINUE;
    if (r->decision == DECIDE_REFUSE && !r->zones[0]) {
        if (r->fcrdns && !strcmp(r->fcrdns, "fail")) append(r->zones, sizeof r->zones, ", ", "no confirmed reverse name");
        if (r->dynamic == 1) append(r->zones, sizeof r->zones, ", ", "a dynamic reverse name");
    }
    dc->decided = 1;
}
