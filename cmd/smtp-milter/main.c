/* smtp-milter: options; the milter protocol is in proto.c and conn.c,
 * the events in run.c.  See smtp-milter(8). */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "checkmode.h"
#include "endpoint.h"
#include "hostname.h"
#include "log.h"
#include "milter.h"
#include "scan.h"

#define USAGE "usage: smtp-milter [-h name] [-d name] [-c seconds] [-w seconds] [-b seconds]" \
              " [-m stage:macro[=value]]... address"

static struct milter_config cfg;

/* In check mode it returns: every problem is reported. */
static void usage(const char *why)
{
    checkmode_fatal(100, "%s; %s", why, USAGE);
}

static unsigned seconds(const char *s)
{
    unsigned long n;
    if (!scan_ulong(s, 86400, &n) || !n) {
        usage("bad timeout: say 1 to 86400 seconds");
        return 30;
    }
    return (unsigned)n;
}

/* -m eom:{msg_id}=x or -m connect:{client_addr} */
static void macro(char *arg)
{
    char *colon = strchr(arg, ':'), *eq;
    struct milter_macro *m;
    int stage;
    size_t i;
    if (!colon || (stage = milter_stage_parse(arg, (size_t)(colon - arg))) < 0) {
        usage("bad -m: say STAGE:NAME[=VALUE], STAGE one of connect helo mail rcpt data eoh eom");
        return;
    }
    if (cfg.nmacros == MACRO_EXTRA_MAX) {
        usage("too many -m");
        return;
    }
    m = &cfg.macros[cfg.nmacros++];
    m->stage = (enum milter_stage)stage;
    m->name = colon + 1;
    if ((eq = strchr(m->name, '='))) {
        *eq = 0;
        m->value = eq + 1;
        for (i = 0; m->value[i]; i++)
            if (m->value[i] < 32 || m->value[i] > 126) {
                usage("bad -m: the value is not printable");
                break;
            }
    }
    if (!*m->name || strlen(m->name) > 60 || strpbrk(m->name, " ,=\t"))
        usage("bad -m: a macro name is 1 to 60 characters, no space, comma or =");
}

int main(int argc, char **argv)
{
    static struct endpoint endpoint;
    char address[ENDPOINT_NAME_MAX], why[300];
    int opt;
    log_program = "smtp-milter";
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    cfg.connect_timeout = 30;
    cfg.command_timeout = 30;
    cfg.content_timeout = 300;
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "h:d:c:w:b:m:")) != -1) {
        switch (opt) {
        case 'h': cfg.hostname = optarg; break;
        case 'd': cfg.daemon_name = optarg; break;
        case 'c': cfg.connect_timeout = seconds(optarg); break;
        case 'w': cfg.command_timeout = seconds(optarg); break;
        case 'b': cfg.content_timeout = seconds(optarg); break;
        case 'm': macro(optarg); break;
        default: usage("bad option, or an option without its value");
        }
    }
    if (optind + 1 != argc) log_fatal(100, "%sone milter address is needed; %s",
                                      checkmode_problems() ? "and " : "", USAGE);
    cfg.address = argv[optind];
    if (!cfg.hostname) cfg.hostname = hostname_default();
    if (!cfg.daemon_name) cfg.daemon_name = cfg.hostname;
    if (milter_address_normalise(cfg.address, address, sizeof address) < 0 ||
        endpoint_parse(&endpoint, address, why, sizeof why) < 0) {
        usage("bad address: say inet:HOST:PORT, inet:PORT@HOST or unix:PATH, HOST numeric");
    } else {
        cfg.endpoint = &endpoint;
        /* The milter is checked by milter_run, whose option negotiation
         * comes before the handshake; when the options had problems, a
         * negotiation of its own, so that all are said at once. */
        if (checkmode_problems() && milter_check(&cfg, why, sizeof why) < 0) checkmode_fatal(111, "%s", why);
    }
    checkmode_end();
    return milter_run(&cfg);
}
