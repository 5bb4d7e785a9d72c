/* smtp-proxyd -C: the whole command line checked, no client served.  Each
 * problem is one warning line, and all are reported, not the first only:
 * the spool directory, the status texts, STARTTLS's files and program
 * (the certificate and key matched by smtp-tls -s -x),
 * every filter started with NOQUEUE_CHECK=1 and greeted, the forwarder
 * run in its own check mode (with -CC: connecting to each smarthost). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "proxyd.h"

static unsigned problems;
static int temporary_only = 1;

void check_problem(int temporary, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_warn("check: %s", buf);
    problems++;
    if (!temporary) temporary_only = 0;
}

/* A child's end: 0 for exit 0, else a problem named after what. */
static void judge(const char *what, int status)
{
    char text[32];
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    check_problem(WIFEXITED(status) && WEXITSTATUS(status) == 111, "%s: %s", what,
            child_status_text(status, text, sizeof text));
}

static void check_filter(struct filter *f, const struct spool *sp)
{
    char what[256], line[FILTERPROTO_LINE_MAX + 1];
    struct io_in in;
    struct io_out out;
    char inbuf[FILTERPROTO_LINE_MAX + 1], outbuf[64];
    int64_t deadline = deadline_in_seconds(f->timeout);
    unsigned events;
    int version;
    ssize_t n;

    snprintf(what, sizeof what, "filter %s", f->name);
    if (f->oneshot) {
        /* Started per message with the message on stdin: found, no more. */
        if (!child_findable(f->argv[0])) check_problem(0, "%s: unable to find %s", what, f->argv[0]);
        return;
    }
    if (child_spawn_scratch(&f->proc, f->argv, 0, -1, sp->fd_ro, -1) < 0) {
        check_problem(0, "%s: unable to start %s: %s", what, f->argv[0], strerror(errno));
        return;
    }
    io_in_init(&in, f->proc.from, inbuf, sizeof inbuf);
    io_out_init(&out, f->proc.to, outbuf, sizeof outbuf);
    if (io_puts(&out, "filter 1\n", deadline) < 0 || io_flush(&out, deadline) < 0) {
        n = IO_EOF;
    } else {
        n = io_getline(&in, line, sizeof line, deadline);
    }
    close(f->proc.to);
    if (n == IO_ERROR && errno == ETIMEDOUT) {
        check_problem(1, "%s: no greeting within %u seconds", what, f->timeout);
        child_kill(f->proc.pid);
    } else if (n <= 0) {
        /* It said why on its standard error, ours: its status. */
        judge(what, child_reap(f->proc.pid, f->proc.from, deadline));
    } else if (filterproto_parse_hello(line, (size_t)n - 1, &events, &version) < 0) {
        check_problem(0, "%s: bad greeting", what);
        child_kill(f->proc.pid);
    } else {
        judge(what, child_reap(f->proc.pid, f->proc.from, deadline));
    }
    close(f->proc.from);
    f->proc.pid = -1;
}

/* The certificate and the key loaded, and matched, by smtp-tls itself. */
static void check_tls(void)
{
    char *argv[10];
    int n = 0;
    struct child c;
    argv[n++] = (char *)cfg.tls_program;
    argv[n++] = "-s";
    argv[n++] = "-x";
    argv[n++] = "-c";
    argv[n++] = (char *)cfg.tls_cert;
    argv[n++] = "-k";
    argv[n++] = (char *)cfg.tls_key;
    if (cfg.tls_ca) {
        argv[n++] = "-a";
        argv[n++] = (char *)cfg.tls_ca;
    }
    argv[n] = 0;
    if (child_spawn(&c, argv, 0, -1, -1) < 0) {
        check_problem(0, "STARTTLS: unable to start %s: %s", cfg.tls_program, strerror(errno));
        return;
    }
    close(c.to);
    judge("STARTTLS: the certificate and the key", child_reap(c.pid, c.from, deadline_in_seconds(30)));
    close(c.from);
}

static void check_forwarder(int connect)
{
    struct child c;
    if (setenv("NOQUEUE_CHECK", connect ? "connect" : "1", 1) < 0) {
        check_problem(1, "unable to set NOQUEUE_CHECK");
        return;
    }
    if (child_spawn(&c, cfg.forward_argv, 0, -1, -1) < 0) {
        check_problem(0, "forwarder: unable to start %s: %s", cfg.forward_argv[0], strerror(errno));
        return;
    }
    close(c.to);
    judge("forwarder", child_reap(c.pid, c.from, deadline_in_seconds(connect ? 120 : 30)));
    close(c.from);
}

int check_run(int level, int tls_bad)
{
    struct spool sp;
    unsigned i;

    if (!tls_bad && cfg.tls_cert) check_tls();
    sp.fd_ro = sp.fd_rw = -1;
    if (spool_open(&sp, cfg.spool_dir) < 0)
        check_problem(0, "unable to make a spool file in %s: %s", cfg.spool_dir, strerror(errno));
    if (setenv("NOQUEUE_CHECK", "1", 1) < 0) check_problem(1, "unable to set NOQUEUE_CHECK");
    for (i = 0; i < cfg.nfilters; i++) check_filter(&cfg.filters[i], &sp);
    check_forwarder(level > 1);
    if (!problems) {
        struct log_line l;
        log_line_start(&l, "info");
        log_raw(&l, " check ok", 9);
        log_kv_num(&l, "filters", cfg.nfilters);
        log_line_emit(&l);
        return 0;
    }
    log_warn("check: %u problem%s", problems, problems > 1 ? "s" : "");
    return temporary_only ? 111 : 100;
}
