/* smtp-dnscheck: options; the lists and the decision are in check.c, the
 * event loop in run.c.  See smtp-dnscheck(8). */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "checkdns.h"
#include "checkmode.h"
#include "deadline.h"
#include "dnscheck.h"
#include "log.h"
#include "scan.h"

#define USAGE "usage: smtp-dnscheck [-d server[:port]]... [-l zone[=filter][*weight]]..." \
              " [-L zone[=filter][*weight]]... [-T threshold] [-A allow-threshold]" \
              " [-f points] [-y points] [-t milliseconds]"

static struct dnscheck_config conf;
static const char *servers[DNS_SERVERS_MAX];
static unsigned nservers;

/* In check mode it returns: every problem is reported. */
static void usage(const char *why)
{
    checkmode_fatal(100, "%s; %s", why, USAGE);
}

static void options(int argc, char **argv)
{
    char why[300];
    unsigned long n;
    int opt;
    conf.threshold = 1;
    conf.budget_ms = 5000;
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "d:l:L:T:A:f:y:t:")) != -1) {
        switch (opt) {
        case 'd':
            if (nservers == DNS_SERVERS_MAX) usage("too many -d");
            else if (!dns_server_valid(optarg)) usage("bad -d: say an address, address:port or [IPv6]:port");
            else servers[nservers++] = optarg;
            break;
        case 'l':
        case 'L':
            if (dnscheck_config_add(&conf, opt == 'l', optarg, why, sizeof why) < 0) usage(why);
            break;
        case 'T':
            if (!scan_long(optarg, 1000000, &conf.threshold)) usage("bad -T: say an integer");
            break;
        case 'A':
            if (!scan_long(optarg, 1000000, &conf.allow_threshold) || conf.allow_threshold > 0)
                usage("bad -A: say a negative integer, or 0 for none");
            break;
        case 'f':
            if (!scan_long(optarg, 1000000, &conf.fcrdns_points)) usage("bad -f: say an integer");
            conf.fcrdns = 1;
            break;
        case 'y':
            if (!scan_long(optarg, 1000000, &conf.dynamic_points)) usage("bad -y: say an integer");
            conf.dynamic = 1;
            break;
        case 't':
            if (!scan_ulong(optarg, 600000, &n) || n == 0) usage("bad -t: say milliseconds, 1 to 600000");
            else conf.budget_ms = (unsigned)n;
            break;
        default: usage("bad option, or an option without its value");
        }
    }
    if (optind != argc) usage("no arguments are taken");
}

int main(int argc, char **argv)
{
    char why[600];
    struct dns *dns;
    log_program = "smtp-dnscheck";
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    options(argc, argv);
    checkmode_texts(dnscheck_texts, T_COUNT, 0);
    dns = dns_open(servers, nservers, conf.budget_ms < 2000 ? conf.budget_ms : 2000, why, sizeof why);
    if (!dns) checkmode_fatal(111, "%s", why);
    else if (checkmode_on() && checkdns_ask(dns, deadline_in_ms(conf.budget_ms), why, sizeof why) < 0)
        checkmode_fatal(111, "%s", why);
    checkmode_end();
    if (dnscheck_run(&conf, dns, why, sizeof why)) log_fatal(111, "%s", why);
    dns_close(dns);
    return 0;
}
