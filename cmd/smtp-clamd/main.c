/* smtp-clamd: options, the status texts, then the filter loop. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "checkmode.h"
#include "clamd.h"
#include "deadline.h"
#include "header.h"
#include "log.h"
#include "scan.h"

#define USAGE "usage: smtp-clamd [-t seconds] [-m size] [-a reject|tempfail|discard] [-c code]" \
    " [-b reject|tempfail|continue] [-H field] inet:HOST:PORT|unix:PATH"

int main(int argc, char **argv)
{
    static struct clamd_config cfg;
    unsigned long n;
    unsigned long long size;
    char why[300];
    int opt;
    log_program = "smtp-clamd";
    /* A closed stderr would let the next open() take fd 2. */
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    clamd_config_init(&cfg);
    opterr = 0;
    while ((opt = getopt(argc, argv, "t:m:a:c:b:H:")) != -1) {
        switch (opt) {
        case 't':
            if (!scan_ulong(optarg, 3600, &n) || !n) checkmode_fatal(100, "option -t: bad number of seconds: %s", optarg);
            else cfg.timeout = (unsigned)n;
            break;
        case 'm':
            if (!scan_size(optarg, 4ULL << 30, &size) || !size) checkmode_fatal(100, "option -m: bad size: %s", optarg);
            else cfg.max = size;
            break;
        case 'a':
            if (clamd_action_parse(optarg, &cfg.found) < 0 || cfg.found == ACTION_CONTINUE)
                checkmode_fatal(100, "option -a: neither reject, tempfail nor discard: %s", optarg);
            break;
        case 'c':
            if (!scan_ulong(optarg, 599, &n) || n < 400) checkmode_fatal(100, "option -c: bad reply code: %s", optarg);
            else cfg.found_code = (int)n;
            break;
        case 'b':
            if (clamd_action_parse(optarg, &cfg.oversize) < 0 || cfg.oversize == ACTION_DISCARD)
                checkmode_fatal(100, "option -b: neither reject, tempfail nor continue: %s", optarg);
            break;
        case 'H':
            if (strlen(optarg) >= sizeof cfg.header || !header_name_valid(optarg, strlen(optarg)))
                checkmode_fatal(100, "option -H: bad header field name: %s", optarg);
            else strcpy(cfg.header, optarg);
            break;
        default: checkmode_fatal(100, "bad option -%c; %s", optopt, USAGE);
        }
    }
    if (optind + 1 != argc) checkmode_fatal(100, "%s; %s", optind == argc ? "no clamd address" : "too many arguments", USAGE);
    else if (endpoint_parse(&cfg.clamd, argv[optind], why, sizeof why) < 0)
        checkmode_fatal(100, "bad clamd address %s: %s", argv[optind], why);
    else if (checkmode_on()) {
        char pong[64];
        if (checkmode_ask(&cfg.clamd, "clamd", "zPING", 6, 0, pong, sizeof pong,
                          deadline_in_ms(1000LL * cfg.timeout), why, sizeof why) < 0)
            checkmode_fatal(111, "%s", why);
        else if (strcmp(pong, "PONG"))
            checkmode_fatal(111, "clamd %s answered PING with %.60s, not PONG", cfg.clamd.name, pong);
    }
    if (cfg.found_code && (cfg.found == ACTION_DISCARD ||
                           cfg.found_code / 100 != (cfg.found == ACTION_REJECT ? 5 : 4)))
        checkmode_fatal(100, "option -c: %d does not fit -a %s", cfg.found_code,
                  cfg.found == ACTION_REJECT ? "reject" : cfg.found == ACTION_TEMPFAIL ? "tempfail" : "discard");
    checkmode_texts(clamd_texts, TEXT_COUNT, 0);
    checkmode_end();
    return clamd_serve(&cfg);
}
