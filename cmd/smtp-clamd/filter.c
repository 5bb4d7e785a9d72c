/* The smtp-filter(7) side, version 2, eom only: each message goes to
 * clamd on a connection of its own.  clamd down, slow or talking nonsense
 * is a failed filter: one line on stderr and exit 111, so that the
 * policy of the filter block decides (-p required: 451). */
#include <stdio.h>
#include <string.h>

#include "clamd.h"
#include "deadline.h"
#include "filterside.h"
#include "log.h"

static void log_result(const char *fact, unsigned long long size, int64_t start)
{
    struct log_line l;
    log_line_start(&l, "info");
    log_kv_conn(&l);
    log_kv_str(&l, "clamd", fact);
    log_kv_num(&l, "size", (long long)size);
    log_kv_num(&l, "ms", (long long)(deadline_now() - start));
    log_line_emit(&l);
}

static int answer(struct filter_side *fs, const struct clamd_config *cfg, unsigned long long size)
{
    char fact[CLAMD_NAME_MAX + 16], line[FILTERPROTO_LINE_MAX], why[400];
    int64_t start = deadline_now();
    int pass;
    if (size > cfg->max) {
        pass = clamd_verdict_oversize(cfg, fact, sizeof fact, line, sizeof line);
    } else {
        struct clamd_result r;
        if (clamd_scan(&cfg->clamd, 3, size, deadline_in_seconds(cfg->timeout), &r, why, sizeof why) < 0)
            log_fatal(111, "%s", why);
        if (r.status == CLAMD_LIMIT)
            log_fatal(111, "clamd %s refused a message of %llu octets as too big: "
                      "its StreamMaxLength is below -m", cfg->clamd.name, size);
        if (r.status == CLAMD_ERROR) log_fatal(111, "clamd %s: %s", cfg->clamd.name, r.name);
        pass = clamd_verdict(cfg, &r, fact, sizeof fact, line, sizeof line);
    }
    log_result(fact, size, start);
    if (filterside_fact_set(fs, "clamd", fact) < 0) return -1;
    if (pass && cfg->header[0] && !strcmp(fact, "clean") &&
        filterside_header(fs, cfg->header, "clean", 5) < 0)
        return -1;
    return filterside_say(fs, line);
}

/* One message at eom. */
static int message(struct filter_side *fs, unsigned long long size, void *arg)
{
    return answer(fs, arg, size);
}

int clamd_serve(const struct clamd_config *cfg)
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
