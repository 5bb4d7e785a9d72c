/* The smtp-filter(7) side: eom events only; the message is read from fd
 * 3 in fixed chunks, and no further than the verdict needs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bodycheck.h"
#include "filterside.h"
#include "log.h"

/* One page: a larger chunk costs a page fault for each 4 KB it holds of
 * the message (a fault costs more than a read of 4 KB more) and stays
 * resident as long as the process. */
static char chunk[4096];

static void read_message(struct check *c, unsigned long long size)
{
    unsigned long long left = size;
    while (left && !check_stopped(c)) {
        ssize_t r = read(3, chunk, left < sizeof chunk ? (size_t)left : sizeof chunk);
        if (r < 0) {
            if (errno == EINTR) continue;
            log_fatal_sys(111, "unable to read the message on fd 3");
        }
        if (r == 0) log_fatal(111, "the message on fd 3 ends %llu octets before its size", left);
        check_feed(c, chunk, (size_t)r);
        left -= (unsigned long long)r;
    }
}

/* Not inlined: its line buffer (4 KB) stays out of message()'s frame. */
static __attribute__((noinline)) void log_result(const struct check *c)
{
    static const char *const verdicts[] = { "continue", "tempfail", "reject" };
    struct log_line l;
    unsigned i;
    if (!c->nfound && c->verdict == VERDICT_CONTINUE) return;
    log_line_start(&l, "info");
    log_kv_conn(&l);
    log_kv_str(&l, "verdict", verdicts[c->verdict]);
    log_kv_num(&l, "size", (long long)c->size);
    if (c->score) log_kv_num(&l, "score", c->score);
    for (i = 0; i < c->nfound; i++) {
        char t[sizeof c->found[i].value + BODYCHECK_PART_MAX + 16];
        size_t k = check_finding_token(&c->found[i], t, sizeof t);
        log_kv(&l, "found", t, k);
        if (c->found[i].namelen) log_kv(&l, "name", c->found[i].name, c->found[i].namelen);
    }
    if (c->more) log_kv_num(&l, "more", c->more);
    log_line_emit(&l);
}

/* The lines that need a buffer are made in frames of their own: the
 * common answer, a bare continue, then needs none (4 KB less stack). */
static __attribute__((noinline)) int say_verdict(struct filter_side *fs, const struct check *c)
{
    char line[FILTERPROTO_LINE_MAX];
    check_verdict_line(c, line, sizeof line);
    return filterside_say(fs, line);
}

static __attribute__((noinline)) int say_tag(struct filter_side *fs, const struct check *c,
                                             const struct config *cfg)
{
    char line[FILTERPROTO_LINE_MAX];
    size_t n = check_tag_value(c, line, sizeof line);
    return filterside_header(fs, cfg->add_header, line, n);
}

static int answer(struct filter_side *fs, const struct check *c, const struct config *cfg)
{
    char line[32];
    if (c->verdict != VERDICT_CONTINUE) return say_verdict(fs, c);
    if (cfg->add_header[0] && say_tag(fs, c, cfg) < 0) return -1;
    if (c->score) {
        snprintf(line, sizeof line, "score %ld", c->score);
        if (filterside_say(fs, line) < 0) return -1;
    }
    return filterside_say(fs, "continue");
}

/* One message at eom: read, checked, answered. */
static int message(struct filter_side *fs, unsigned long long size, void *arg)
{
    static struct check c;
    struct config *cfg = arg;
    check_start(&c, cfg, size);
    read_message(&c, size);
    check_end(&c);
    log_result(&c);
    return answer(fs, &c, cfg);
}

int bodycheck_serve(struct config *cfg)
{
    static struct filter_side fs;
    if (filterside_start(&fs, 1u << FILTER_EOM) < 0)
        log_fatal(111, "the proxy does not speak smtp-filter version 1");
    switch (filterside_eom_loop(&fs, message, (void *)cfg)) {
    case FILTERSIDE_BAD_EVENT: log_fatal(111, "malformed event from the proxy");
    case FILTERSIDE_WRITE: log_fatal_sys(111, "unable to answer the proxy");
    }
    return 0;
}
