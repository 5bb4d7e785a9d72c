/* smtp-greylist: a filter (smtp-filter(7)) that asks a client it does not
 * know to come back later; see smtp-greylist(8). */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "checkmode.h"
#include "checkstore.h"
#include "deadline.h"
#include "greylist.h"
#include "log.h"
#include "scan.h"

#define USAGE "usage: smtp-greylist [-d delay] [-r retry-window] [-m pass-memory] [-4 bits] [-6 bits]" \
              " [-c clients] [-f sender-domains] [-s low:high] [-k fact[=value]]... [-t milliseconds] store"

static struct greylist_config cfg = {
    .delay = 300, .retry = 2 * 86400, .memory = 35 * 86400, .v4len = 24, .v6len = 64, .store_ms = 5000,
};
static struct greylist g;
static struct filter_side fs;

/* In check mode it returns: every problem is reported. */
static void usage(const char *why)
{
    checkmode_fatal(100, "%s; %s", why, USAGE);
}

static int64_t seconds(const char *s, const char *what)
{
    unsigned long v;
    if (!scan_ulong(s, 10UL * 366 * 86400, &v)) {
        checkmode_fatal(100, "bad %s: %s", what, s);
        return 1;
    }
    return (int64_t)v;
}

static void score_window(const char *s)
{
    const char *colon = strchr(s, ':');
    char low[24];
    if (!colon || (size_t)(colon - s) >= sizeof low) {
        usage("bad -s: say low:high");
        return;
    }
    memcpy(low, s, (size_t)(colon - s));
    low[colon - s] = 0;
    if (!scan_long(low, 1000000, &cfg.score_low) || !scan_long(colon + 1, 1000000, &cfg.score_high) ||
        cfg.score_low >= cfg.score_high)
        usage("bad -s: say low:high, two integers, low below high");
    else cfg.score_window = 1;
}

static void options(int argc, char **argv)
{
    char why[600];
    unsigned long v;
    unsigned before;
    int opt;
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "+d:r:m:4:6:c:f:s:k:t:")) != -1) {
        switch (opt) {
        case 'd': cfg.delay = seconds(optarg, "delay"); break;
        case 'r':
            if (!(cfg.retry = seconds(optarg, "retry window"))) usage("bad -r: 0");
            break;
        case 'm':
            if (!(cfg.memory = seconds(optarg, "pass memory"))) usage("bad -m: 0");
            break;
        case '4':
            if (!scan_ulong(optarg, 32, &v) || !v) usage("bad -4: 1 to 32");
            else cfg.v4len = (unsigned)v;
            break;
        case '6':
            if (!scan_ulong(optarg, 128, &v) || !v) usage("bad -6: 1 to 128");
            else cfg.v6len = (unsigned)v;
            break;
        case 'c':
            before = checkmode_problems();    /* its bad lines are reported each */
            if (greylist_load_clients(&cfg, optarg, why, sizeof why) < 0 && checkmode_problems() == before)
                checkmode_fatal(100, "%s", why);
            break;
        case 'f':
            before = checkmode_problems();
            if (greylist_load_domains(&cfg, optarg, why, sizeof why) < 0 && checkmode_problems() == before)
                checkmode_fatal(100, "%s", why);
            break;
        case 's': score_window(optarg); break;
        case 'k': {
            char *eq = strchr(optarg, '=');
            if (cfg.nskip == GREYLIST_FACTS_MAX) {
                usage("too many -k");
                break;
            }
            if (eq) *eq = 0;
            if (!*optarg) usage("bad -k: no fact name");
            cfg.skip_name[cfg.nskip] = optarg;
            cfg.skip_value[cfg.nskip++] = eq ? eq + 1 : 0;
            break;
        }
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
    int n;
    log_program = "smtp-greylist";
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    options(argc, argv);
    checkmode_texts(greylist_texts, T_COUNT, 0);
    if (greylist_init(&g, &cfg, why, sizeof why) < 0) checkmode_fatal(100, "%s", why);
    else if (checkmode_on()) checkstore_probe(&g.store, cfg.store, deadline_in_ms(cfg.store_ms));
    checkmode_end();
    if (filterside_start_version(&fs, 1u << FILTER_CONNECT | 1u << FILTER_MAIL | 1u << FILTER_RCPT, 2) < 0)
        log_fatal(111, "no smtp-filter handshake on standard input");
    while ((n = filterside_next(&fs, &r)) > 0) {
        /* A store that cannot answer: this filter fails, and the proxy
         * applies its failure policy (smtp-proxyd -p). */
        if (!(verdict = greylist_event(&g, &fs, &r, store_now())))
            log_fatal(111, "store %s: %s", cfg.store, g.store.why);
        if (filterside_say(&fs, verdict) < 0) log_fatal_sys(111, "unable to answer");
    }
    if (n < 0) log_fatal_sys(111, "unable to read an event");
    greylist_end(&g);
    if (filterside_flush(&fs) < 0) log_fatal_sys(111, "unable to answer");
    return 0;
}
