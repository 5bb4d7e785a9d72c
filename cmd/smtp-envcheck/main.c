/* smtp-envcheck: options; the checks are in check.c, the event loop in
 * run.c.  See smtp-envcheck(8). */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "checkmode.h"
#include "envcheck.h"
#include "log.h"
#include "smtp_command.h"

#define USAGE "usage: smtp-envcheck [-c clients.cdb] [-s senders.cdb] [-r recipients.cdb]" \
              " [-H syntax,fqdn,self|none] [-n name]... [-a address]..."

static struct envcheck ec;

static void usage(const char *why)
{
    checkmode_fatal(100, "%s; %s", why, USAGE);
}

static void options(int argc, char **argv)
{
    int opt;
    ec.helo = HELO_SYNTAX | HELO_SELF;
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "c:s:r:H:n:a:")) != -1) {
        switch (opt) {
        case 'c': ec.clients.path = optarg; break;
        case 's': ec.senders.path = optarg; break;
        case 'r': ec.recipients.path = optarg; break;
        case 'H':
            if (envcheck_helo_checks(optarg, &ec.helo) < 0) usage("bad -H: say syntax, fqdn, self, or none");
            break;
        case 'n':
            if (ec.nnames == OURS_MAX) usage("too many -n");
            else if (!smtp_domain_valid(optarg, strlen(optarg))) usage("bad host name in -n");
            else ec.names[ec.nnames++] = optarg;
            break;
        case 'a':
            if (ec.naddresses == OURS_MAX) usage("too many -a");
            else if (!ipaddr_parse(&ec.addresses[ec.naddresses++], optarg, strlen(optarg)))
                usage("bad address in -a");
            break;
        default: usage("bad option, or an option without its value");
        }
    }
    if (optind != argc) usage("no arguments are taken");
}

int main(int argc, char **argv)
{
    char why[600];
    log_program = "smtp-envcheck";
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    options(argc, argv);
    checkmode_texts(envcheck_texts, T_COUNT, 0);
    if (checkmode_on()) envcheck_check(&ec);
    checkmode_end();
    if (envcheck_open(&ec, why, sizeof why) < 0) log_fatal(100, "%s", why);
    if (envcheck_run(&ec, why, sizeof why)) log_fatal(111, "%s", why);
    return 0;
}
