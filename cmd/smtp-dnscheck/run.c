/* smtp-dnscheck: one connection, event by event (smtp-filter(7)). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dnscheck.h"
#include "filterside.h"
#include "log.h"

/* Field i as a string; "" when absent or when it holds a NUL. */
static const char *field(const struct filter_request *r, unsigned i)
{
    if (i >= r->nfields || r->absent[i] || memchr(r->field[i], 0, r->len[i])) return "";
    return r->field[i];
}

static void log_decision(const struct dnscheck *dc, const struct dnscheck_result *r, const char *event)
{
    struct log_line l;
    log_line_event(&l, event);
    log_kv_str(&l, "ip", dc->ip);
    log_kv_num(&l, "score", r->score);
    if (r->zones[0]) log_kv_str(&l, "zones", r->zones);
    if (r->dnsbl[0]) log_kv_str(&l, "dnsbl", r->dnsbl);
    if (r->dnswl[0]) log_kv_str(&l, "dnswl", r->dnswl);
    if (r->rhsbl[0]) log_kv_str(&l, "rhsbl", r->rhsbl);
    if (r->fcrdns) log_kv_str(&l, "fcrdns", r->fcrdns);
    log_line_emit(&l);
}

/* The facts and the score, at the first RCPT of a transaction that goes on. */
static int say_facts(struct filter_side *fs, const struct dnscheck_result *r)
{
    char n[32];
    if (r->dnsbl[0] && filterside_fact_set(fs, "dnsbl", r->dnsbl) < 0) return -1;
    if (r->dnswl[0] && filterside_fact_set(fs, "dnswl", r->dnswl) < 0) return -1;
    if (r->rhsbl[0] && filterside_fact_set(fs, "rhsbl", r->rhsbl) < 0) return -1;
    if (r->fcrdns && filterside_fact_set(fs, "fcrdns", r->fcrdns) < 0) return -1;
    if (r->rdns[0] && filterside_fact_set(fs, "rdns", r->rdns) < 0) return -1;
    if (r->dynamic >= 0 && filterside_fact_set(fs, "rdns.dynamic", r->dynamic ? "yes" : "no") < 0)
        return -1;
    snprintf(n, sizeof n, "%ld", r->score);
    if (filterside_fact_set(fs, "dnscheck.score", n) < 0) return -1;
    if (r->score) {
        snprintf(n, sizeof n, "score %ld", r->score);
        if (filterside_say(fs, n) < 0) return -1;
    }
    return 0;
}

int dnscheck_run(const struct dnscheck_config *c, struct dns *dns, char *why, size_t size)
{
    static struct filter_side fs;
    static struct dnscheck dc;
    struct filter_request req;
    struct dnscheck_result res;
    char line[STATUSTEXT_MAX + 64], text[STATUSTEXT_MAX + 1];
    unsigned events = 1u << FILTER_CONNECT | 1u << FILTER_MAIL | 1u << FILTER_RCPT;
    int r, s = 0;

    if (c->ndomain) events |= 1u << FILTER_HELO;
    dnscheck_start(&dc, c, dns);
    if (filterside_start_version(&fs, events, 2) < 0) {
        snprintf(why, size, "the proxy does not speak smtp-filter(7)");
        return 111;
    }
    memset(&res, 0, sizeof res);
    while ((r = filterside_next(&fs, &req)) > 0) {
        /* Flushed now: the answers go out before the first wait for DNS. */
        switch (req.event) {
        case FILTER_CONNECT:
            dnscheck_connect(&dc, field(&req, 0));
            s = filterside_say(&fs, "continue");
            break;
        case FILTER_HELO:
            dnscheck_helo(&dc, field(&req, 1));
            s = filterside_say(&fs, "continue");
            break;
        case FILTER_MAIL:
            dnscheck_mail(&dc, field(&req, 0));
            s = filterside_say(&fs, "continue");
            break;
        case FILTER_RCPT:
            if (!dc.decided) {
                dnscheck_decide(&dc, &res);
                if (res.decision == DECIDE_REFUSE) {
                    log_decision(&dc, &res, "refused");
                } else if (say_facts(&fs, &res) < 0) {
                    s = -1;
                    break;
                }
            }
            if (res.decision == DECIDE_REFUSE) {
                dnscheck_text(dnscheck_texts[T_LISTED].text, dc.ip, res.zones, text, sizeof text);
                snprintf(line, sizeof line, "reject 554 5.7.1 %s", text);
                s = filterside_say(&fs, line);
            } else {
                s = filterside_say(&fs, res.decision == DECIDE_ACCEPT ? "accept" : "continue");
            }
            break;
        default:
            s = filterside_say(&fs, "continue");
            break;
        }
        if (s < 0) break;
    }
    if (s < 0 || (filterside_flush(&fs) < 0 && r == 0)) {
        snprintf(why, size, "unable to answer the proxy: %s", strerror(errno));
        return 111;
    }
    if (r < 0) {
        snprintf(why, size, "a malformed event from the proxy");
        return 111;
    }
    return 0;
}
