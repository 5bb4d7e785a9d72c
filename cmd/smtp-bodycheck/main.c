/* smtp-bodycheck: options (each one a line of the configuration
 * grammar), the status texts, then the filter loop. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bodycheck.h"
#include "log.h"
#include "statustext.h"

#define USAGE "usage: smtp-bodycheck [-f file] [-s size] [-r field] [-e ext[,ext...]]" \
    " [-t type[,type...]] [-H field]"

static struct config cfg;

/* -s 10M is the line "size 10M": the same checks, the same errors. */
static void option(int letter, const char *keyword, const char *arg)
{
    char line[BODYCHECK_CONFIG_LINE], why[300];
    if (strpbrk(arg, " \t") || (size_t)snprintf(line, sizeof line, "%s %s", keyword, arg) >= sizeof line)
        log_fatal(100, "option -%c: bad argument: %s", letter, arg);
    if (config_line(&cfg, line, 0, why, sizeof why) < 0) log_fatal(100, "option -%c: %s", letter, why);
}

int main(int argc, char **argv)
{
    char why[BODYCHECK_CONFIG_LINE + 300];
    const char *reason;
    int opt, bad;
    log_program = "smtp-bodycheck";
    /* A closed stderr would let the next open() take fd 2. */
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    config_init(&cfg);
    opterr = 0;
    while ((opt = getopt(argc, argv, "f:s:r:e:t:H:")) != -1) {
        switch (opt) {
        case 'f':
            if (cfg.have_file) log_fatal(100, "only one -f; %s", USAGE);
            if (config_file(&cfg, optarg, why, sizeof why) < 0) log_fatal(100, "%s", why);
            break;
        case 's': option(opt, "size", optarg); break;
        case 'r': option(opt, "require", optarg); break;
        case 'e': option(opt, "extension", optarg); break;
        case 't': option(opt, "type", optarg); break;
        case 'H': option(opt, "add-header", optarg); break;
        default: log_fatal(100, "bad option -%c; %s", optopt, USAGE);
        }
    }
    if (optind != argc) log_fatal(100, "unexpected argument %s; %s", argv[optind], USAGE);
    bad = statustext_load(bodycheck_texts, TEXT_COUNT, &reason);
    if (bad >= 0) log_fatal(100, "SMTP_TEXT_%s %s", bodycheck_texts[bad].name, reason);
    for (bad = 0; bad < TEXT_COUNT; bad++)
        if (strlen(bodycheck_texts[bad].text) > BODYCHECK_TEXT_ROOM)
            log_fatal(100, "SMTP_TEXT_%s is longer than %d characters", bodycheck_texts[bad].name,
                      BODYCHECK_TEXT_ROOM);
    return bodycheck_serve(&cfg);
}
