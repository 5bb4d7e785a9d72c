/* smtp-spf: options; SPF is in record.c and eval.c, the filter in
 * filter.c.  See smtp-spf(8). */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "checkdns.h"
#include "checkmode.h"
#include "deadline.h"
#include "log.h"
#include "scan.h"
#include "smtp_command.h"
#include "spf.h"

#define USAGE "usage: smtp-spf [-d server[:port]]... [-r result=action]... [-h name]" \
              " [-t milliseconds] [-H]"

static struct spf_config conf;
static const char *servers[DNS_SERVERS_MAX];
static unsigned nservers;
static struct utsname uts;

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
    spf_config_defaults(&conf);
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "d:r:h:t:H")) != -1) {
        switch (opt) {
        case 'd':
            if (nservers == DNS_SERVERS_MAX) usage("too many -d");
            else if (!dns_server_valid(optarg)) usage("bad -d: say an address, address:port or [IPv6]:port");
            else servers[nservers++] = optarg;
            break;
        case 'r':
            if (spf_action_parse(&conf, optarg, why, sizeof why) < 0) usage(why);
            break;
        case 'h':
            if (!smtp_domain_valid(optarg, strlen(optarg))) usage("bad host name in -h");
            else conf.receiver = optarg;
            break;
        case 't':
            if (!scan_ulong(optarg, 600000, &n) || n == 0) usage("bad -t: say milliseconds, 1 to 600000");
            else conf.timeout_ms = (unsigned)n;
            break;
        case 'H': conf.header = 0; break;
        default: usage("bad option, or an option without its value");
        }
    }
    if (optind != argc) usage("no arguments are taken");
    if (!conf.receiver) {
        conf.receiver = "unknown";
        if (uname(&uts) == 0 && smtp_domain_valid(uts.nodename, strlen(uts.nodename)))
            conf.receiver = uts.nodename;
    }
}

int main(int argc, char **argv)
{
    char why[600];
    struct dns *dns;
    log_program = "smtp-spf";
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    options(argc, argv);
    checkmode_texts(spf_texts, T_COUNT, 0);
    dns = dns_open(servers, nservers, conf.timeout_ms < 2000 ? conf.timeout_ms : 2000, why, sizeof why);
    if (!dns) checkmode_fatal(111, "%s", why);
    else if (checkmode_on() && checkdns_ask(dns, deadline_in_ms(conf.timeout_ms), why, sizeof why) < 0)
        checkmode_fatal(111, "%s", why);
    checkmode_end();
    if (spf_run(&conf, dns, why, sizeof why)) log_fatal(111, "%s", why);
    dns_close(dns);
    return 0;
}
