/* smtp-logstat: a summary of noqueue's log (s6-log files or standard
 * input), as text or one HTML page, or the lines of one message; see
 * smtp-logstat(8). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "scan.h"
#include "logstat.h"

#ifndef NOQUEUE_VERSION
#define NOQUEUE_VERSION "unknown"
#endif
#define USAGE "usage: smtp-logstat [-V] [-H] [-n top] [-m pattern] [-f time] [-t time] [dir|file|- ...]"
#define FILES_MAX 4096          /* files read, over every directory */

static struct stats st;
static struct track tr;
static char *files[FILES_MAX];
static unsigned nfiles;
static int64_t from = NO_TIME, to = NO_TIME;
static char line[LINE_MAX_IN + 2];
static uint64_t lineno;

static void add_file(char *name)
{
    if (nfiles == FILES_MAX) log_fatal(111, "more than %d files to read", FILES_MAX);
    files[nfiles++] = name;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An s6-log directory: its rotated files (@TAI64N.s or .u; the names sort
 * in time order), then current. */
static void add_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned first = nfiles;
    size_t k = strlen(dir);
    char *name;
    if (!d) log_fatal_sys(111, "unable to open directory %s", dir);
    while ((errno = 0, e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] != '@' || n < 3 || e->d_name[n - 2] != '.' ||
            (e->d_name[n - 1] != 's' && e->d_name[n - 1] != 'u'))
            continue;
        name = malloc(k + n + 2);
        if (!name) log_fatal(111, "out of memory");
        memcpy(name, dir, k);
        name[k] = '/';
        memcpy(name + k + 1, e->d_name, n + 1);
        add_file(name);
    }
    if (errno) log_fatal_sys(111, "unable to read directory %s", dir);
    closedir(d);
    qsort(files + first, nfiles - first, sizeof *files, by_name);
    name = malloc(k + sizeof "/current");
    if (!name) log_fatal(111, "out of memory");
    memcpy(name, dir, k);
    memcpy(name + k, "/current", sizeof "/current");
    if (access(name, F_OK) == 0) add_file(name);
    else free(name);
}

enum pass { SUMMARY, FIND, BOUND, PRINT };

static int in_range(const char *s, size_t n)
{
    int64_t t;
    if (from == NO_TIME && to == NO_TIME) return 1;
    if (!stamp_parse(s, n, &t)) return 1;       /* a line without a time */
    return (from == NO_TIME || t >= from) && (to == NO_TIME || t < to);
}

static void one_line(enum pass pass, size_t n)
{
    struct logline l;
    lineno++;
    if (!in_range(line, n)) return;
    if (pass == SUMMARY) {
        stats_line(&st, line, n);
        return;
    }
    if (!logline_parse(line, n, &l)) return;
    if (pass == FIND) track_find(&tr, &l, lineno);
    else if (pass == BOUND) track_bound(&tr, &l, lineno);
    else if (track_want(&tr, &l, lineno)) {
        line[n] = '\n';
        fwrite(line, 1, n + 1, stdout);
    }
}

static void read_file(FILE *f, const char *name, enum pass pass)
{
    size_t n = 0;
    int c, skipping = 0;
    while ((c = getc(f)) != EOF) {
        if (c == '\n') {
            if (skipping) {
                lineno++;
                if (pass == SUMMARY) stats_too_long(&st);
            } else
                one_line(pass, n);
            n = 0;
            skipping = 0;
        } else if (skipping) {
        } else if (n < LINE_MAX_IN) {
            line[n++] = (char)c;
        } else
            skipping = 1;
    }
    if (ferror(f)) log_fatal_sys(111, "unable to read %s", name);
    if (skipping) {
        lineno++;
        if (pass == SUMMARY) stats_too_long(&st);
    } else if (n)
        one_line(pass, n);
}

static void read_all(enum pass pass, FILE *spool)
{
    unsigned i;
    lineno = 0;
    if (spool) {
        rewind(spool);
        read_file(spool, "standard input", pass);
        return;
    }
    for (i = 0; i < nfiles; i++) {
        FILE *f;
        if (!strcmp(files[i], "-")) {
            read_file(stdin, "standard input", pass);
            continue;
        }
        f = fopen(files[i], "r");
        if (!f) log_fatal_sys(111, "unable to open %s", files[i]);
        read_file(f, files[i], pass);
        fclose(f);
    }
}

/* -m reads its input three times: standard input goes to a file first. */
static FILE *spool_stdin(void)
{
    const char *dir = getenv("TMPDIR");
    char name[4096];
    char buf[65536];
    size_t n;
    int fd;
    FILE *f;
    if (!dir || !*dir) dir = "/tmp";
    if ((size_t)snprintf(name, sizeof name, "%s/smtp-logstat.XXXXXX", dir) >= sizeof name)
        log_fatal(111, "TMPDIR too long");
    fd = mkstemp(name);
    if (fd < 0) log_fatal_sys(111, "unable to create a file in %s", dir);
    unlink(name);
    f = fdopen(fd, "w+");
    if (!f) log_fatal_sys(111, "unable to create a file in %s", dir);
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        if (fwrite(buf, 1, n, f) != n) log_fatal_sys(111, "unable to write to a file in %s", dir);
    if (ferror(stdin)) log_fatal_sys(111, "unable to read standard input");
    if (fflush(f)) log_fatal_sys(111, "unable to write to a file in %s", dir);
    return f;
}

int main(int argc, char **argv)
{
    static char outbuf[65536];
    const char *pattern = 0;
    int html = 0, opt, i, only_stdin;
    unsigned long top = 10;
    FILE *spool = 0;
    log_program = "smtp-logstat";
    if (fcntl(2, F_GETFD) < 0) open("/dev/null", O_WRONLY);
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "VHm:f:t:n:")) != -1) {
        switch (opt) {
        case 'V':
            if (printf("smtp-logstat %s\n", NOQUEUE_VERSION) < 0 || fflush(stdout))
                log_fatal_sys(111, "unable to write to standard output");
            return 0;
        case 'H': html = 1; break;
        case 'm':
            if (!*optarg) log_fatal(100, "empty pattern for -m");
            pattern = optarg;
            break;
        case 'f':
            if (time_parse(optarg, &from)) log_fatal(100, "not a time for -f: %s (YYYY-MM-DD [HH:MM[:SS]] or @seconds)", optarg);
            break;
        case 't':
            if (time_parse(optarg, &to)) log_fatal(100, "not a time for -t: %s (YYYY-MM-DD [HH:MM[:SS]] or @seconds)", optarg);
            break;
        case 'n':
            if (!scan_ulong(optarg, TABLE_CAP, &top) || !top)
                log_fatal(100, "not a number from 1 to %d for -n: %s", TABLE_CAP, optarg);
            break;
        default:
            if (optopt == 'm' || optopt == 'f' || optopt == 't' || optopt == 'n')
                log_fatal(100, "option -%c needs a value; %s", optopt, USAGE);
            log_fatal(100, "unknown option -%c; %s", optopt, USAGE);
        }
    }
    if (pattern && html) log_fatal(100, "-m and -H do not go together");
    for (i = optind; i < argc; i++) {
        struct stat sb;
        if (!strcmp(argv[i], "-")) { add_file(argv[i]); continue; }
        if (stat(argv[i], &sb) < 0) log_fatal_sys(111, "unable to open %s", argv[i]);
        if (S_ISDIR(sb.st_mode)) add_dir(argv[i]);
        else add_file(argv[i]);
    }
    if (optind == argc) add_file((char *)"-");
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    if (pattern) {
        only_stdin = 0;
        for (i = 0; i < (int)nfiles; i++)
            if (!strcmp(files[i], "-")) only_stdin++;
        if (only_stdin > 1 || (only_stdin && nfiles > 1))
            log_fatal(100, "-m reads its input more than once: standard input only alone");
        if (only_stdin) spool = spool_stdin();
        if (!track_init(&tr, pattern)) {
            read_all(FIND, spool);
            read_all(BOUND, spool);
        }
        read_all(PRINT, spool);
        if (tr.overflow)
            log_warn("more than %d connections match %s: the first %d are shown", TRACK_MAX, pattern, TRACK_MAX);
        if (fflush(stdout) || ferror(stdout)) log_fatal_sys(111, "unable to write to standard output");
        return 0;
    }
    stats_init(&st);
    read_all(SUMMARY, 0);
    if ((html ? report_html(stdout, &st, (unsigned)top) : report_text(stdout, &st, (unsigned)top)) < 0)
        log_fatal_sys(111, "unable to write to standard output");
    return 0;
}
