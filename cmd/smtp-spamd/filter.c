/* The smtp-filter(7) side, version 2, eom only: each message goes to
 * spamd on a connection of its own.  spamd down, slow or talking nonsense
 * is a failed filter: one line on stderr and exit 111, and the policy of
 * the filter block decides. */
#include <stdio.h>
#include <string.h>

#include "deadline.h"
#include "filterside.h"
#include "log.h"
#include "spamd.h"

static void log_result(const char *result, const struct spamd_reply *r, const char *tests,
                       unsigned long long size, int64_t start)
{
    struct log_line l;
    log_line_start(&l, "info");
    log_kv_conn(&l);
    log_kv_str(&l, "spamd", result);
    if (r) {
        log_kv_str(&l, "score", r->score_text);
        log_kv_str(&l, "required", r->threshold_text);
        log_kv_str(&l, "tests", tests);
    }
    log_kv_num(&l, "size", (long long)size);
    log_kv_num(&l, "ms", (long long)(deadline_now() - start));
    log_line_emit(&l);
}

static int tag(struct filter_side *fs, const struct spamd_config *cfg, const struct spamd_reply *r,
               const char *tests)
{
    static char value[SPAMD_STATUS_MAX + 1];
    size_t n;
    if (r->spam && filterside_header(fs, "X-Spam-Flag", "YES", 3) < 0) return -1;
    if (filterside_header(fs, "X-Spam-Score", r->score_text, strlen(r->score_text)) < 0) return -1;
    n = spamd_status_field(r, tests, value, sizeof value);
    if (filterside_header(fs, "X-Spam-Status", value, n) < 0) return -1;
    if (cfg->method == METHOD_REPORT) {
        n = spamd_report_field(r->body, r->bodylen, value, sizeof value);
        if (n && filterside_header(fs, "X-Spam-Report", value, n) < 0) return -1;
    }
    return 0;
}

static int answer(struct filter_side *fs, const struct spamd_config *cfg, unsigned long long size)
{
    static struct spamd_reply r;
    char line[FILTERPROTO_LINE_MAX], why[400], tests[SPAMD_STATUS_MAX];
    int64_t start = deadline_now();
    if (size > cfg->max) {
        log_result("unscanned:size", 0, 0, size, start);
        if (filterside_fact_set(fs, "spamd", "unscanned:size") < 0) return -1;
        return filterside_say(fs, "continue");
    }
    if (spamd_scan(cfg, 3, size, deadline_in_seconds(cfg->timeout), &r, why, sizeof why) < 0)
        log_fatal(111, "%s", why);
    if (spamd_tests(cfg->method, r.body, r.bodylen, tests, sizeof tests) < 0)
        log_fatal(111, "spamd %s: the rules hit are not a list of names", cfg->spamd.name);
    log_result(r.spam ? "spam" : "ham", &r, tests, size, start);
    if (filterside_fact_set(fs, "spamd", r.spam ? "spam" : "ham") < 0 ||
        filterside_fact_set(fs, "spamd.score", r.score_text) < 0)
        return -1;
    if (spamd_refused(cfg, &r, line, sizeof line)) return filterside_say(fs, line);
    if (cfg->tag && tag(fs, cfg, &r, tests) < 0) return -1;
    if (cfg->points) {
        snprintf(line, sizeof line, "score %ld", spamd_points(cfg, &r));
        if (filterside_say(fs, line) < 0) return -1;
    }
    return filterside_say(fs, "continue");
}

/* One message at eom. */
static int message(struct filter_side *fs, unsigned long long size, void *arg)
{
    return answer(fs, arg, size);
}

int spamd_serve(const struct spamd_config *cfg)
{
    static struct filter_side fs;
    if (filterside_start_version(&fs, 1u << FILTER_EOM, 2) < 0)
        log_fatal(111, "the proxy does not speak smtp-filter version 2");
    switch (filterside_eom_loop(&fs, message, (void *)cfg)) {
    case FILTERSIDE_BAD_EVENT: log_fatal(111, "malformed event from the proxy");
    case FILTERSIDE_WRITE: log_fatal_sys(111, "unable to answer the proxy");
    }
    return 0;
}
