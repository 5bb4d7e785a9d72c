/* smtp-spamd: options, the status text, then the filter loop. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "scan.h"
#include "spamd.h"

#define USAGE "usage: smtp-spamd [-t seconds] [-M symbols|report] [-u user] [-m size]" \
    " [-r spam|points] [-c code] [-P points] [-n] inet:HOST:PORT|unix:PATH"

int main(int argc, char **argv)
{
    static struct spamd_config cfg;
    unsigned long n;
    unsigned long long size;
    const char *reason;
    char why[300];
    int opt, bad;
    size_t i;
    log_program = "smtp-spamd";
    /* A closed stderr would let the next open() take fd 2. */
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    spamd_config_init(&cfg);
    opterr = 0;
    while ((opt = getopt(argc, argv, "t:M:u:m:r:c:P:n")) != -1) {
        switch (opt) {
        case 't':
            if (!scan_ulong(optarg, 3600, &n) || !n) log_fatal(100, "option -t: bad number of seconds: %s", optarg);
            cfg.timeout = (unsigned)n;
            break;
        case 'M':
            if (!strcmp(optarg, "symbols")) cfg.method = METHOD_SYMBOLS;
            else if (!strcmp(optarg, "report")) cfg.method = METHOD_REPORT;
            else log_fatal(100, "option -M: neither symbols nor report: %s", optarg);
            break;
        case 'u':
            /* spamd takes a user name of printable characters; ours has
             * no space or colon either, so that it stays one word. */
            if (!*optarg || strlen(optarg) > SPAMD_USER_MAX) log_fatal(100, "option -u: bad user name: %s", optarg);
            for (i = 0; optarg[i]; i++)
                if (optarg[i] <= 32 || optarg[i] > 126 || optarg[i] == ':')
                    log_fatal(100, "option -u: bad user name: %s", optarg);
            strcpy(cfg.user, optarg);
            break;
        case 'm':
            if (!scan_size(optarg, 1ULL << 30, &size) || !size) log_fatal(100, "option -m: bad size: %s", optarg);
            cfg.max = size;
            break;
        case 'r':
            if (!strcmp(optarg, "spam")) cfg.refuse = REFUSE_SPAM;
            else if (spamd_score_parse(optarg, strlen(optarg), &cfg.refuse_at)) cfg.refuse = REFUSE_POINTS;
            else log_fatal(100, "option -r: neither spam nor a score: %s", optarg);
            break;
        case 'c':
            if (!scan_ulong(optarg, 599, &n) || n < 500) log_fatal(100, "option -c: bad reply code: %s", optarg);
            cfg.code = (int)n;
            break;
        case 'P':
            if (!scan_ulong(optarg, 1000, &n) || !n) log_fatal(100, "option -P: bad number of points: %s", optarg);
            cfg.points = (long)n;
            break;
        case 'n': cfg.tag = 0; break;
        default: log_fatal(100, "bad option -%c; %s", optopt, USAGE);
        }
    }
    if (optind + 1 != argc) log_fatal(100, "%s; %s", optind == argc ? "no spamd address" : "too many arguments", USAGE);
    if (endpoint_parse(&cfg.spamd, argv[optind], why, sizeof why) < 0)
        log_fatal(100, "bad spamd address %s: %s", argv[optind], why);
    bad = statustext_load(spamd_texts, TEXT_COUNT, &reason);
    if (bad >= 0) log_fatal(100, "SMTP_TEXT_%s %s", spamd_texts[bad].name, reason);
    return spamd_serve(&cfg);
}
