/* smtp-trust: the level of trust, a filter (smtp-filter(7)) that learns
 * who the users write to and trusts mail back from them; see
 * smtp-trust(8). */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "checkmode.h"
#include "checkstore.h"
#include "deadline.h"
#include "log.h"
#include "scan.h"
#include "trust.h"

#define USAGE "usage: smtp-trust [-o] [-a] [-p points] [-P points] [-M max] [-D decay] [-T threshold]" \
              " [-f freemail] [-t milliseconds] store, or smtp-trust -l store"

static struct trust_config cfg = {
    .pair_points = 10, .domain_points = 3, .max_points = 200, .decay = 1, .threshold = 40, .store_ms = 5000,
};
static struct trust t;
static struct filter_side fs;
static int list;

/* In check mode it returns: every problem is reported. */
static void usage(const char *why)
{
    checkmode_fatal(100, "%s; %s", why, USAGE);
}

static long number(const char *s, unsigned long max, const char *what)
{
    unsigned long v;
    if (!scan_ulong(s, max, &v)) {
        checkmode_fatal(100, "bad %s: %s (0 to %lu)", what, s, max);
        return 1;
    }
    return (long)v;
}

static void options(int argc, char **argv)
{
    char why[600];
    unsigned long v;
    int opt;
    opterr = 0;                 /* one line, ours */
    trust_default_freemail(&cfg);
    while ((opt = getopt(argc, argv, "+oalp:P:M:D:T:f:t:")) != -1) {
        switch (opt) {
        case 'o': cfg.outbound = 1; break;
        case 'a': cfg.accept = 1; break;
        case 'l': list = 1; break;
        case 'p': cfg.pair_points = number(optarg, 10000, "pair points"); break;
        case 'P': cfg.domain_points = number(optarg, 10000, "domain points"); break;
        case 'M': cfg.max_points = number(optarg, 100000, "most points"); break;
        case 'D': cfg.decay = number(optarg, 100000, "decay"); break;
        case 'T':
            if (!(cfg.threshold = number(optarg, 100000, "threshold"))) usage("bad -T: 0");
            break;
        case 'f':
            if (trust_load_freemail(&cfg, optarg, why, sizeof why) < 0) checkmode_fatal(100, "%s", why);
            break;
        case 't':
            if (!scan_ulong(optarg, 600000, &v) || !v) usage("bad -t: 1 to 600000 milliseconds");
            else cfg.store_ms = (int64_t)v;
            break;
        default: usage("bad option, or an option without its value");
        }
    }
    if (argc - optind != 1 || !argv[optind][0])
        log_fatal(100, "%sone store is needed; %s", checkmode_problems() ? "and " : "", USAGE);
    cfg.store = argv[optind];
}

int main(int argc, char **argv)
{
    struct filter_request r;
    char why[600];
    const char *verdict;
    unsigned events;
    int n;
    log_program = "smtp-trust";
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    options(argc, argv);
    if (trust_init(&t, &cfg, why, sizeof why) < 0) checkmode_fatal(100, "%s", why);
    else if (checkmode_on() && !list) checkstore_probe(&t.store, cfg.store, deadline_in_ms(cfg.store_ms));
    checkmode_end();
    if (list) {
        if (trust_list(&t, store_now()) < 0) log_fatal(111, "store %s: %s", cfg.store, t.store.why);
        return 0;
    }
    events = cfg.outbound ? 1u << FILTER_REPORT
                          : 1u << FILTER_MAIL | 1u << FILTER_RCPT | 1u << FILTER_EOM | 1u << FILTER_RSET;
    if (filterside_start_version(&fs, events, 2) < 0) log_fatal(111, "no smtp-filter handshake on standard input");
    while ((n = filterside_next(&fs, &r)) > 0) {
        /* A store that cannot answer: this filter fails, and the proxy
         * applies its failure policy (smtp-proxyd -p). */
        if (!(verdict = trust_event(&t, &fs, &r, store_now())))
            log_fatal(111, "store %s: %s", cfg.store, t.store.why);
        if (filterside_say(&fs, verdict) < 0) log_fatal_sys(111, "unable to answer");
    }
    if (n < 0) log_fatal_sys(111, "unable to read an event");
    trust_end(&t);
    if (filterside_flush(&fs) < 0) log_fatal_sys(111, "unable to answer");
    return 0;
}
