/* smtp-rspamd: a filter (smtp-filter(7), version 2) that has rspamd's
 * normal worker check each message at eom; see smtp-rspamd(8). */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "checkmode.h"
#include "deadline.h"
#include "header.h"
#include "log.h"
#include "exchange.h"
#include "scan.h"

#define USAGE "usage: smtp-rspamd [-g] [-t seconds] [-m size] [-s settings-id] [-n mta-name]" \
    " [-H spam-header] [-P points] [-r reject-text] [-T tempfail-text] inet:HOST:PORT|unix:PATH"

static struct rspamd_config cfg = {
    .timeout = 20, .max_size = 50UL << 20, .spam_header = "X-Spam", .reject_text = "Spam message rejected",
    .tempfail_text = "Try again later",
};
static struct endpoint ep;
static struct filter_side fs;
static struct rspamd_answer answer;
static char replybuf[RSPAMD_REPLY_MAX];

static const char *text(const char *s, const char *what)
{
    size_t i, n = strlen(s);
    if (!n || n > FILTERPROTO_TEXT_MAX - 16) {
        checkmode_fatal(100, "bad %s: empty or too long", what);
        return s;
    }
    for (i = 0; i < n; i++)
        if (s[i] < 32 || s[i] > 126) {
            checkmode_fatal(100, "bad %s: not printable ASCII", what);
            break;
        }
    return s;
}

static void options(int argc, char **argv)
{
    char why[200];
    unsigned long v;
    unsigned long long size;
    int opt;
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "+gt:m:s:n:H:P:r:T:")) != -1) {
        switch (opt) {
        case 'g': cfg.greylist_continue = 1; break;
        case 't':
            if (!scan_ulong(optarg, 3600, &v) || !v) checkmode_fatal(100, "bad timeout: %s", optarg);
            else cfg.timeout = (unsigned)v;
            break;
        case 'm':
            if (!scan_size(optarg, 1ULL << 40, &size) || !size) checkmode_fatal(100, "bad size: %s", optarg);
            else cfg.max_size = size;
            break;
        case 's': cfg.settings_id = text(optarg, "settings id"); break;
        case 'n': cfg.mta_name = text(optarg, "MTA name"); break;
        case 'H':
            if (!header_name_valid(optarg, strlen(optarg))) checkmode_fatal(100, "bad header name: %s", optarg);
            else cfg.spam_header = optarg;
            break;
        case 'P':
            if (!scan_ulong(optarg, 1000, &v) || !v) checkmode_fatal(100, "bad points: %s", optarg);
            else cfg.points = v;
            break;
        case 'r': cfg.reject_text = text(optarg, "reject text"); break;
        case 'T': cfg.tempfail_text = text(optarg, "tempfail text"); break;
        default: checkmode_fatal(100, "bad option -%c, or an option without its value; %s", optopt, USAGE);
        }
    }
    if (argc - optind != 1) log_fatal(100, "%s", USAGE);
    cfg.address = argv[optind];
    if (endpoint_parse(&ep, cfg.address, why, sizeof why) < 0)
        checkmode_fatal(100, "bad address %s: %s", cfg.address, why);
    else if (checkmode_on()) {
        /* rspamd's workers answer GET /ping with 200 and "pong" */
        char status[200];
        if (checkmode_ask(&ep, "rspamd", "GET /ping HTTP/1.0\r\n\r\n", 22, '\n', status, sizeof status,
                          deadline_in_ms(1000LL * cfg.timeout), why, sizeof why) < 0)
            checkmode_fatal(111, "%s", why);
        else if (strncmp(status, "HTTP/1.", 7) || !status[7] || strncmp(status + 8, " 200", 4))
            checkmode_fatal(111, "rspamd %s answered GET /ping with %.60s", cfg.address, status);
    }
    checkmode_end();
}

/* Where the message starts on fd 3. */
struct message {
    int fd;
    off_t start;
};

static unsigned long count(void *ctx, const char *name)
{
    const struct message *m = ctx;
    return rspamd_count_fields(m->fd, m->start, name);
}

static int say(const struct rspamd_answer *a)
{
    unsigned i;
    for (i = 0; i < a->nops; i++) {
        const struct rspamd_op *op = &a->op[i];
        int r = 0;
        char points[24];
        switch (op->kind) {
        case OP_FACT: r = filterside_fact_set(&fs, op->name, op->value); break;
        case OP_SCORE:
            snprintf(points, sizeof points, "score %ld", op->points);
            r = filterside_say(&fs, points);
            break;
        case OP_INSERT: r = filterside_insert_header(&fs, op->index, op->name, op->value, op->len); break;
        case OP_CHANGE: r = filterside_change_header(&fs, op->index, op->name, op->value, op->len); break;
        case OP_QUARANTINE: r = filterside_quarantine(&fs, op->value); break;
        }
        if (r < 0) return -1;
    }
    return filterside_say(&fs, a->verdict);
}

static unsigned changes(const struct rspamd_answer *a)
{
    unsigned i, n = 0;
    for (i = 0; i < a->nops; i++)
        n += a->op[i].kind == OP_INSERT || a->op[i].kind == OP_CHANGE;
    return n;
}

static int eom(struct filter_side *side, unsigned long long size, void *arg)
{
    struct message msg = { 3, 0 };
    struct rspamd_headers h = { count, &msg };
    struct log_line l;
    const char *json;
    size_t jsonlen;
    char why[300];
    int64_t start = deadline_now();
    (void)side;
    (void)arg;
    if (size > cfg.max_size) {
        /* as spamc and the MTAs' rspamd clients do: too big to be spam */
        if (filterside_fact_set(&fs, "rspamd.action", "unscanned") < 0 ||
            filterside_say(&fs, "continue") < 0)
            log_fatal_sys(111, "unable to answer");
        log_line_event(&l, "scan");
        log_kv_str(&l, "id", filterside_id(&fs) ? filterside_id(&fs) : "-");
        log_kv_str(&l, "action", "unscanned");
        log_kv_num(&l, "size", (long long)size);
        log_line_emit(&l);
        return 0;
    }
    msg.start = lseek(msg.fd, 0, SEEK_CUR);
    if (msg.start < 0) msg.start = 0;
    if (rspamd_scan(&cfg, &ep, &fs, msg.fd, size, replybuf, &json, &jsonlen, why, sizeof why) < 0)
        log_fatal(111, "rspamd at %s: %s", cfg.address, why);
    if (rspamd_answer(&answer, &cfg, json, jsonlen, &h, why, sizeof why) < 0)
        log_fatal(111, "rspamd at %s: %s", cfg.address, why);
    if (say(&answer) < 0) log_fatal_sys(111, "unable to answer");
    log_line_event(&l, "scan");
    log_kv_str(&l, "id", filterside_id(&fs) ? filterside_id(&fs) : "-");
    log_kv_str(&l, "action", answer.action);
    log_kv_str(&l, "score", answer.score);
    log_kv_num(&l, "changes", (long long)changes(&answer));
    log_kv_num(&l, "ms", (long long)(deadline_now() - start));
    log_line_emit(&l);
    return 0;
}

int main(int argc, char **argv)
{
    log_program = "smtp-rspamd";
    signal(SIGPIPE, SIG_IGN);
    options(argc, argv);
    if (filterside_start_version(&fs, 1u << FILTER_EOM, 2) < 0)
        log_fatal(111, "no smtp-filter handshake on standard input");
    switch (filterside_eom_loop(&fs, eom, 0)) {
    case FILTERSIDE_BAD_EVENT: log_fatal(111, "malformed event from the proxy");
    case FILTERSIDE_WRITE: log_fatal_sys(111, "unable to answer the proxy");
    }
    return 0;
}
