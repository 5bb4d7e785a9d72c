/* smtp-spamd: options, the status text, then the filter loop. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "checkmode.h"
#include "deadline.h"
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
    char why[300];
    int opt;
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
            if (!scan_ulong(optarg, 3600, &n) || !n) checkmode_fatal(100, "option -t: bad number of seconds: %s", optarg);
            else cfg.timeout = (unsigned)n;
            break;
        case 'M':
            if (!strcmp(optarg, "symbols")) cfg.method = METHOD_SYMBOLS;
            else if (!strcmp(optarg, "report")) cfg.method = METHOD_REPORT;
            else checkmode_fatal(100, "option -M: neither symbols nor report: %s", optarg);
            break;
        case 'u':
            /* spamd takes a user name of printable characters; ours has
             * no space or colon either, so that it stays one word. */
            for (i = 0; optarg[i]; i++)
                if (optarg[i] <= 32 || optarg[i] > 126 || optarg[i] == ':') break;
            if (!*optarg || optarg[i] || i > SPAMD_USER_MAX) checkmode_fatal(100, "option -u: bad user name: %s", optarg);
            else strcpy(cfg.user, optarg);
            break;
        case 'm':
            if (!scan_size(optarg, 1ULL << 30, &size) || !size) checkmode_fatal(100, "option -m: bad size: %s", optarg);
            else cfg.max = size;
            break;
        case 'r':
            if (!strcmp(optarg, "spam")) cfg.refuse = REFUSE_SPAM;
            else if (spamd_score_parse(optarg, strlen(optarg), &cfg.refuse_at)) cfg.refuse = REFUSE_POINTS;
            else checkmode_fatal(100, "option -r: neither spam nor a score: %s", optarg);
            break;
        case 'c':
            if (!scan_ulong(optarg, 599, &n) || n < 500) checkmode_fatal(100, "option -c: bad reply code: %s", optarg);
            else cfg.code = (int)n;
            break;
        case 'P':
            if (!scan_ulong(optarg, 1000, &n) || !n) checkmode_fatal(100, "option -P: bad number of points: %s", optarg);
            else cfg.points = (long)n;
            break;
        case 'n': cfg.tag = 0; break;
        default: checkmode_fatal(100, "bad option -%c; %s", optopt, USAGE);
        }
    }
    if (optind + 1 != argc) checkmode_fatal(100, "%s; %s", optind == argc ? "no spamd address" : "too many arguments", USAGE);
    else if (endpoint_parse(&cfg.spamd, argv[optind], why, sizeof why) < 0)
        checkmode_fatal(100, "bad spamd address %s: %s", argv[optind], why);
    else if (checkmode_on()) {
        /* "SPAMD/1.5 0 PONG": spamd's answer to PING, no message needed */
        char pong[200];
        const char *sp;
        if (checkmode_ask(&cfg.spamd, "spamd", "PING SPAMC/1.5\r\n\r\n", 18, '\n', pong, sizeof pong,
                          deadline_in_ms(1000LL * cfg.timeout), why, sizeof why) < 0)
            checkmode_fatal(111, "%s", why);
        else if (strncmp(pong, "SPAMD/", 6) || !(sp = strchr(pong, ' ')) || strcmp(sp, " 0 PONG"))
            checkmode_fatal(111, "spamd %s answered PING with %.60s, not SPAMD/1.x 0 PONG", cfg.spamd.name, pong);
    }
    checkmode_texts(spamd_texts, TEXT_COUNT, 0);
    checkmode_end();
    return spamd_serve(&cfg);
}
