/* smtp-bodycheck: options (each one a line of the configuration
 * grammar), the status texts, then the filter loop. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bodycheck.h"
#include "checkmode.h"
#include "log.h"
#include "statustext.h"

#define USAGE "usage: smtp-bodycheck [-f file] [-s size] [-r field] [-e ext[,ext...]]" \
    " [-t type[,type...]] [-H field]"

static struct config cfg;

/* -s 10M is the line "size 10M": the same checks, the same errors.  The
 * line is as long as it needs (at most BODYCHECK_CONFIG_LINE - 1), not a
 * 4 KB frame that every later frame would sit below. */
static void option(int letter, const char *keyword, const char *arg)
{
    size_t k = strlen(keyword), n = strlen(arg);
    char why[300];
    if (strpbrk(arg, " \t") || k + 1 + n >= BODYCHECK_CONFIG_LINE) {
        checkmode_fatal(100, "option -%c: bad argument: %s", letter, arg);
        return;
    }
    {
        char line[k + 1 + n + 1];
        memcpy(line, keyword, k);
        line[k] = ' ';
        memcpy(line + k + 1, arg, n + 1);
        if (config_line(&cfg, line, 0, why, sizeof why) < 0) checkmode_fatal(100, "option -%c: %s", letter, why);
    }
}

/* Every bad line of the file, each on its own line, then exit 100: a
 * typo must not hide the next one. */
static void bad_line(const char *path, unsigned lineno, const char *reason)
{
    checkmode_report(100, "%s:%u: %s", path, lineno, reason);
}

/* -f, with its buffer for the reason in its own frame, gone once read. */
static __attribute__((noinline)) void file_option(const char *path)
{
    char why[BODYCHECK_CONFIG_LINE + 300];
    unsigned before;
    if (cfg.have_file) {
        checkmode_fatal(100, "only one -f; %s", USAGE);
        return;
    }
    before = checkmode_problems();
    if (config_read(&cfg, path, bad_line, why, sizeof why) < 0 && checkmode_problems() == before)
        checkmode_fatal(100, "%s", why);
}

int main(int argc, char **argv)
{
    int opt;
    log_program = "smtp-bodycheck";
    /* A closed stderr would let the next open() take fd 2. */
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    signal(SIGPIPE, SIG_IGN);
    config_init(&cfg);
    opterr = 0;
    while ((opt = getopt(argc, argv, "f:s:r:e:t:H:")) != -1) {
        switch (opt) {
        case 'f': file_option(optarg); break;
        case 's': option(opt, "size", optarg); break;
        case 'r': option(opt, "require", optarg); break;
        case 'e': option(opt, "extension", optarg); break;
        case 't': option(opt, "type", optarg); break;
        case 'H': option(opt, "add-header", optarg); break;
        default: checkmode_fatal(100, "bad option -%c; %s", optopt, USAGE);
        }
    }
    if (optind != argc) checkmode_fatal(100, "unexpected argument %s; %s", argv[optind], USAGE);
    checkmode_texts(bodycheck_texts, TEXT_COUNT, BODYCHECK_TEXT_ROOM);
    checkmode_end();
    return bodycheck_serve(&cfg);
}
