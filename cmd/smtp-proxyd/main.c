/* smtp-proxyd: options, the filter blocks, then the session. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "hostname.h"
#include "log.h"
#include "proxyd.h"
#include "scan.h"
#include "transaction.h"

#ifndef NOQUEUE_VERSION
#define NOQUEUE_VERSION "unknown"
#endif

#define OPTIONS "Cvh:e:b:D:w:s:r:E:m:S:t:p:d:RQ:g:y:P:c:k:a:VTL:"
#define USAGE "usage: smtp-proxyd [-C] [-v] [-h host] [-e envelope-seconds] [-b body-seconds]" \
    " [-D bytes-per-second] [-w end-of-data-seconds] [-s size] [-r max-recipients] [-E max-errors]" \
    " [-m first|split] [-S [class=]points] [-t filter-seconds] [-p accept|tempfail]" \
    " [-d spool-dir] [-R] [-Q mailbox] [-g greet-milliseconds] [-y errors] [-P balancers] [-c cert] [-k key] [-a cafile] [-V] [-T] [-L tls-program]" \
    " [{ [-t seconds] [-p accept|tempfail|required] [-1] [-d] [-e events] [-n name]" \
    " program [args...] }]... -- forwarder [args...]"

struct config cfg;
static int option;                      /* the one being read, for errors */
static int check;                       /* -C: 1, -CC: 2 */
static int tls_bad;                     /* -C: the TLS options had a problem */

static void usage(const char *why)
{
    if (why && option) log_fatal(100, "-%c: %s; %s", option, why, USAGE);
    if (why) log_fatal(100, "%s; %s", why, USAGE);
    log_fatal(100, "%s", USAGE);
}

static unsigned seconds(const char *s, unsigned max)
{
    unsigned long v;
    if (!scan_ulong(s, max, &v) || !v) usage("bad number of seconds");
    return (unsigned)v;
}

static enum policy policy(const char *s, int allow_required)
{
    if (!strcmp(s, "accept")) return POLICY_ACCEPT;
    if (!strcmp(s, "tempfail")) return POLICY_TEMPFAIL;
    if (allow_required && !strcmp(s, "required")) return POLICY_REQUIRED;
    usage("bad policy");
    return POLICY_TEMPFAIL;
}

static void threshold(const char *arg)
{
    struct threshold *t;
    const char *eq = strchr(arg, '=');
    size_t k = eq ? (size_t)(eq - arg) : 0;
    if (cfg.nthresholds == sizeof cfg.thresholds / sizeof cfg.thresholds[0])
        usage("too many -S options");
    t = &cfg.thresholds[cfg.nthresholds++];
    if (k > FILTERPROTO_CLASS_MAX || (eq && !k)) usage("bad class in -S");
    memcpy(t->class, arg, k);
    t->class[k] = 0;
    if (!scan_long(eq ? eq + 1 : arg, FILTERPROTO_SCORE_MAX, &t->points) || t->points <= 0)
        usage("bad points in -S");
}

/* -P: addresses or prefixes, comma-separated. */
static void balancers(const char *arg)
{
    const char *p = arg;
    while (*p) {
        size_t n = strcspn(p, ",");
        struct balancer *b;
        if (cfg.nbalancers == sizeof cfg.balancers / sizeof cfg.balancers[0])
            usage("too many balancers in -P");
        b = &cfg.balancers[cfg.nbalancers++];
        if (!ipaddr_parse_prefix(&b->addr, &b->length, p, n)) usage("bad balancer address in -P");
        ipaddr_mask(&b->addr, b->length);
        p += n + (p[n] == ',');
    }
    if (!cfg.nbalancers) usage("bad balancer address in -P");
}

/* The quarantine mailbox: an address as a client would give it. */
static void quarantine(const char *arg)
{
    static char addr[SMTP_ADDRESS_MAX + 1];
    char path[SMTP_ADDRESS_MAX + 3];
    size_t n = strlen(arg), used;
    if (n > SMTP_ADDRESS_MAX) usage("quarantine mailbox too long");
    path[0] = '<';
    memcpy(path + 1, arg, n);
    path[n + 1] = '>';
    if (smtp_path_parse(path, n + 2, 0, addr, &used) != SMTP_PATH_OK || used != n + 2 || !addr[0])
        usage("bad quarantine mailbox");
    cfg.quarantine = addr;
}

/* -e: the events a filter takes, comma-separated, as its greeting names
 * them. */
static unsigned events(const char *arg)
{
    char line[256];
    unsigned e;
    int version, n = snprintf(line, sizeof line, "filter 1 %s", arg), k;
    if (n < 0 || (size_t)n >= sizeof line || strchr(arg, ' ')) usage("bad list of events");
    for (k = 9; k < n; k++)
        if (line[k] == ',') line[k] = ' ';
    if (filterproto_parse_hello(line, (size_t)n, &e, &version) < 0 || !e) usage("bad list of events");
    return e;
}

/* { [-t seconds] [-p policy] [-1] [-d] [-e events] [-n name] program args... } */
static int filter_block(char **argv, int i, int argc, struct filter *f)
{
    char why[64];
    int known;
    /* Not started yet: nothing of it to close or reap. */
    f->proc.pid = -1;
    f->proc.to = f->proc.from = -1;
    f->timeout = cfg.filter_timeout;
    f->policy = cfg.filter_policy;
    for (i++; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *o = argv[i];
        option = 0;
        if (!strcmp(o, "-1")) { f->oneshot = 1; continue; }
        if (!strcmp(o, "-d")) { f->dry = 1; continue; }
        known = !strcmp(o, "-t") || !strcmp(o, "-p") || !strcmp(o, "-n") || !strcmp(o, "-e");
        snprintf(why, sizeof why, "filter option %.20s %s", o, known ? "without its value" : "unknown");
        if (i + 1 >= argc || !known) usage(why);
        option = o[1];
        if (!strcmp(o, "-t")) f->timeout = seconds(argv[++i], 86400);
        else if (!strcmp(o, "-p")) f->policy = policy(argv[++i], 1);
        else if (!strcmp(o, "-e")) f->declared = events(argv[++i]);
        else f->name = argv[++i];
        option = 0;
    }
    if (i >= argc || !strcmp(argv[i], "}")) usage("a filter block without a program");
    f->argv = argv + i;
    if (!f->name) {
        const char *slash = strrchr(argv[i], '/');
        f->name = slash ? slash + 1 : argv[i];
    }
    while (i < argc && strcmp(argv[i], "}")) i++;
    if (i >= argc) usage("a filter block without its closing }");
    argv[i] = 0;                        /* the filter's argv ends here */
    return i + 1;
}

/* A problem of the TLS options: fatal, but with -C one more line of the
 * check, and the next is looked for. */
static void tls_wrong(const char *fmt, const char *arg, int err)
{
    char line[400];
    snprintf(line, sizeof line, fmt, arg);
    if (!check) {
        errno = err;
        if (err) log_fatal_sys(100, "%s", line);
        log_fatal(100, "%s", line);
    }
    check_problem(0, "%s%s%s", line, err ? ": " : "", err ? strerror(err) : "");
    tls_bad = 1;
}

/* STARTTLS is offered when there are a certificate and a key; a file that
 * cannot be read refuses the start (a full check that they match:
 * smtp-tls -s -x, for a run script). */
static void readable(const char *what, const char *path)
{
    char fmt[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) { close(fd); return; }
    snprintf(fmt, sizeof fmt, "unable to read the TLS %s %%s", what);
    tls_wrong(fmt, path, errno);
}

static void tls_options(void)
{
    if (cfg.tls_cert && !*cfg.tls_cert) cfg.tls_cert = 0;
    if (cfg.tls_key && !*cfg.tls_key) cfg.tls_key = 0;
    if (!cfg.tls_cert != !cfg.tls_key) {
        tls_wrong("STARTTLS needs both a certificate and a key (-c and -k, or CERTFILE and KEYFILE)%s", "", 0);
        return;
    }
    if (!cfg.tls_cert) {
        if (cfg.tls_required) tls_wrong("-T needs a certificate and a key for STARTTLS%s", "", 0);
        return;
    }
    readable("certificate", cfg.tls_cert);
    readable("key", cfg.tls_key);
    if (cfg.tls_ca) readable("CA file", cfg.tls_ca);
    /* Or STARTTLS would be offered, and fail after its 220. */
    if (!child_findable(cfg.tls_program))
        tls_wrong("unable to find %s for STARTTLS (not in PATH, or not executable)", cfg.tls_program, 0);
}

static void options(int argc, char **argv)
{
    unsigned long v;
    unsigned long long size;
    int opt, i, n;

    cfg.envelope_timeout = 300;
    cfg.body_timeout = 600;
    cfg.min_data_rate = 500;
    cfg.eom_timeout = 540;
    cfg.size_limit = 52428800;
    cfg.max_rcpt = RCPT_MAX_DEFAULT;
    cfg.max_errors = 20;
    cfg.received = 1;
    cfg.filter_timeout = 30;
    cfg.filter_policy = POLICY_TEMPFAIL;
    cfg.spool_dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    cfg.tls_cert = getenv("CERTFILE");
    cfg.tls_key = getenv("KEYFILE");
    cfg.tls_program = "smtp-tls";
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "+" OPTIONS)) != -1) {
        option = opt;
        switch (opt) {
        case 'C': check++; break;
        case 'v':
            if (write(1, "smtp-proxyd " NOQUEUE_VERSION "\n", sizeof "smtp-proxyd " NOQUEUE_VERSION) < 0)
                _exit(111);
            _exit(0);
        case 'h': cfg.hostname = optarg; break;
        case 'e': cfg.envelope_timeout = seconds(optarg, 86400); break;
        case 'b': cfg.body_timeout = seconds(optarg, 86400); break;
        case 'g':
            if (!scan_ulong(optarg, 60000, &v)) usage("bad greeting wait");
            cfg.greet_wait = (unsigned)v;
            break;
        case 'y':
            if (!scan_ulong(optarg, 100000, &v)) usage("bad tarpit");
            cfg.tarpit = (unsigned)v;
            break;
        case 'D':
            if (!scan_ulong(optarg, 1UL << 30, &v)) usage("bad data rate");
            cfg.min_data_rate = v;
            break;
        case 'w': cfg.eom_timeout = seconds(optarg, 86400); break;
        case 's':
            if (!scan_size(optarg, 1ULL << 40, &size) || !size) usage("bad size");
            cfg.size_limit = size;
            break;
        case 'r':
            if (!scan_ulong(optarg, 100000, &v) || !v) usage("bad recipient limit");
            cfg.max_rcpt = (unsigned)v;
            break;
        case 'E':
            if (!scan_ulong(optarg, 100000, &v) || !v) usage("bad error limit");
            cfg.max_errors = (unsigned)v;
            break;
        case 'm':
            if (!strcmp(optarg, "first")) cfg.first = 1;
            else if (!strcmp(optarg, "split")) cfg.first = 0;
            else usage("bad multi-recipient policy");
            break;
        case 'S': threshold(optarg); break;
        case 't': cfg.filter_timeout = seconds(optarg, 86400); break;
        case 'p': cfg.filter_policy = policy(optarg, 0); break;
        case 'd': cfg.spool_dir = optarg; break;
        case 'R': cfg.received = 0; break;
        case 'Q': quarantine(optarg); break;
        case 'P': balancers(optarg); break;
        case 'c': cfg.tls_cert = optarg; break;
        case 'k': cfg.tls_key = optarg; break;
        case 'a': cfg.tls_ca = optarg; break;
        case 'V': cfg.tls_request_cert = 1; break;
        case 'T': cfg.tls_required = 1; break;
        case 'L': cfg.tls_program = optarg; break;
        default: {
            const char *o = optopt && optopt != ':' ? strchr(OPTIONS, optopt) : 0;
            char why[48];
            option = 0;
            if (o && o[1] == ':') snprintf(why, sizeof why, "option -%c without its value", optopt);
            else if (isprint(optopt)) snprintf(why, sizeof why, "unknown option -%c", optopt);
            else snprintf(why, sizeof why, "unknown option");
            usage(why);
        }
        }
    }
    option = 0;
    i = optind;
    /* getopt took a "--" right after the options: no filters. */
    if (!(i > 1 && !strcmp(argv[i - 1], "--"))) {
        /* Room for a usual chain is static: zeroed bss costs no page
         * until used, where calloc would clear (touch) every page of it
         * and start malloc for nothing else. */
        static struct filter room[8];
        for (n = 0, opt = i; opt < argc && strcmp(argv[opt], "--"); opt++)
            if (!strcmp(argv[opt], "{")) n++;
        cfg.filters = (size_t)n + 1 <= sizeof room / sizeof *room ? room
                    : calloc((size_t)n + 1, sizeof *cfg.filters);
        if (!cfg.filters) log_fatal(111, "out of memory");
        while (i < argc && strcmp(argv[i], "--")) {
            if (strcmp(argv[i], "{")) usage("expected { or --");
            i = filter_block(argv, i, argc, &cfg.filters[cfg.nfilters++]);
        }
        if (i >= argc) usage("no -- before the forwarder");
        i++;
    }
    if (i >= argc) usage("no forwarder");
    cfg.forward_argv = argv + i;

    /* "0" is what tcpserver -l 0 sets: no name. */
    if (!cfg.hostname && getenv("TCPLOCALHOST") && strcmp(getenv("TCPLOCALHOST"), "0"))
        cfg.hostname = getenv("TCPLOCALHOST");
    if (!cfg.hostname || !*cfg.hostname) cfg.hostname = hostname_default();
    if (!smtp_domain_valid(cfg.hostname, strlen(cfg.hostname)))
        log_fatal(100, "bad host name: %s", cfg.hostname);
    tls_options();
}

int main(int argc, char **argv)
{
    const char *why;
    int bad;
    char **env;
    extern char **environ;
    log_program = "smtp-proxyd";
    /* A closed stderr would let the next open() take fd 2. */
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    /* A spool over RLIMIT_FSIZE is a write error (452), not our death. */
    signal(SIGXFSZ, SIG_IGN);
    options(argc, argv);
    bad = statustext_load(texts, T_COUNT, &why);
    if (bad >= 0 && !check) log_fatal(100, "SMTP_TEXT_%s %s", texts[bad].name, why);
    if (bad >= 0) check_problem(0, "SMTP_TEXT_%s %s", texts[bad].name, why);
    /* A misspelt name would be ignored: said (a problem for -C). */
    for (env = environ; (env = statustext_unknown(env)); env++) {
        if (check) check_problem(0, "%.*s: no noqueue program takes this status text", (int)strcspn(*env, "="), *env);
        else log_warn("%.*s: no noqueue program takes this status text", (int)strcspn(*env, "="), *env);
    }
    if (check) return check_run(check, tls_bad);
    session_run();
    return 0;
}
