/* smtp-dupcheck: a filter (smtp-filter(7)) that discards a message
 * already delivered within a window; see smtp-dupcheck(8). */
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "checkmode.h"
#include "deadline.h"
#include "dupcheck.h"
#include "log.h"
#include "scan.h"
#include "table.h"

#define USAGE "usage: smtp-dupcheck [-n] [-w window-seconds] [-t lock-milliseconds]" \
    " [-s slots] [-c permanent.cdb] store"

static struct dupcheck_config cfg = {
    .slots = DUPSTORE_SLOTS_DEFAULT, .window = 86400, .lock_wait_ms = 1000, .msgfd = 3,
};
static struct dupcheck d;
static struct filter_side fs;

/* One event answered; at eom with the envelope of version 2's context
 * lines, its recipients in an array as long as they need (at most
 * DUPCHECK_RCPT_MAX: 8 KB), not a static one of 8 KB written in every
 * process. */
static __attribute__((noinline)) int answer(const struct filter_request *r)
{
    unsigned i, n = r->event == FILTER_EOM ? filterside_recipients(&fs) : 0;
    unsigned k = n < DUPCHECK_RCPT_MAX ? n : DUPCHECK_RCPT_MAX;    /* over it: unchecked */
    const char *rcpts[k ? k : 1];
    struct dupcheck_envelope env;
    if (r->event != FILTER_EOM)
        return filterside_say(&fs, dupcheck_event(&d, r, 0, store_now()));
    env.sender = filterside_sender(&fs);
    env.nrcpts = n;
    for (i = 0; i < k; i++) rcpts[i] = filterside_recipient(&fs, i, 0, 0);
    env.rcpts = rcpts;
    return filterside_say(&fs, dupcheck_event(&d, r, &env, store_now()));
}

static void options(int argc, char **argv)
{
    unsigned long v;
    int opt;
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "+nw:t:s:c:")) != -1) {
        switch (opt) {
        case 'n': cfg.dry_run = 1; break;
        case 'w':
            if (!scan_ulong(optarg, 366UL * 86400, &v) || !v) checkmode_fatal(100, "bad window: %s", optarg);
            else cfg.window = (int64_t)v;
            break;
        case 't':
            if (!scan_ulong(optarg, 60000, &v) || !v) checkmode_fatal(100, "bad lock wait: %s", optarg);
            else cfg.lock_wait_ms = (int64_t)v;
            break;
        case 's':
            if (!scan_ulong(optarg, DUPSTORE_SLOTS_MAX, &v) || v < DUPSTORE_SLOTS_MIN)
                checkmode_fatal(100, "bad number of slots: %s (%lu to %lu)", optarg,
                          (unsigned long)DUPSTORE_SLOTS_MIN, (unsigned long)DUPSTORE_SLOTS_MAX);
            else cfg.slots = v;
            break;
        case 'c': cfg.permanent = optarg; break;
        default: checkmode_fatal(100, "bad option -%c, or an option without its value; %s", optopt, USAGE);
        }
    }
    if (argc - optind != 1 || !argv[optind][0]) {
        log_fatal(100, "%s%s", checkmode_problems() ? "and no store; " : "", USAGE);
    }
    cfg.store = argv[optind];
}

/* Check mode: what the first message would open, the permanent table
 * and the store (one look-up of a key no message has). */
static void check(void)
{
    static struct store s;
    static const char *const parts[1] = { "noqueue-check" };
    struct store_key k;
    struct table t;
    int64_t when;
    if (cfg.permanent) {
        if (table_open(&t, cfg.permanent) < 0) checkmode_fatal_sys(100, "unable to open %s", cfg.permanent);
        else table_close(&t);
    }
    s.slots = cfg.slots;
    s.file_version = DUPSTORE_VERSION;
    if (store_parse(&s, cfg.store) < 0) return;     /* reported by main */
    store_key(&k, 1, parts);
    if (store_seen(&s, &k, store_now(), cfg.window, &when, deadline_in_ms(cfg.lock_wait_ms + 4000)) < 0)
        checkmode_fatal(s.kind == STORE_REDIS ? 111 : 100, "store %s: %s", cfg.store, s.why);
    store_close(&s);
}

int main(int argc, char **argv)
{
    struct filter_request r;
    int n;
    log_program = "smtp-dupcheck";
    signal(SIGPIPE, SIG_IGN);
    options(argc, argv);
    dupcheck_init(&d, &cfg);
    if (store_parse(&d.store, cfg.store) < 0) checkmode_fatal(100, "store %s: %s", cfg.store, d.store.why);
    else if (checkmode_on()) check();
    checkmode_end();
    if (filterside_start_version(&fs, 1u << FILTER_EOM | 1u << FILTER_REPORT, 2) < 0)
        log_fatal(111, "no smtp-filter handshake on standard input");
    while ((n = filterside_next(&fs, &r)) > 0)
        if (answer(&r) < 0) log_fatal_sys(111, "unable to answer");
    if (n < 0) log_fatal_sys(111, "unable to read an event");
    dupcheck_end(&d);
    if (filterside_flush(&fs) < 0) log_fatal_sys(111, "unable to answer");
    return 0;
}
