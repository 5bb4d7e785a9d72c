/* smtp-forward: the smarthost side of noqueue.  Reads commands on stdin,
 * one reply per command on stdout; see smtp-forward(8). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "deadline.h"
#include "filterproto.h"
#include "header.h"
#include "hostname.h"
#include "io.h"
#include "log.h"
#include "scan.h"
#include "smtp_command.h"
#include "smtp_data.h"
#include "smtp_reply.h"
#include "statustext.h"
#include "request.h"
#include "upstream.h"

#define USAGE "usage: smtp-forward [-h helo] [-c connect-seconds] [-r reply-seconds]" \
              " [-d data-seconds] [-k keepalive-seconds] [-m fd]" \
              " [-T off|opportunistic|required|verify] [-a cafile] [-A cadir] [-n name]" \
              " [-L tls-program] [-X auto|off] host port [host port ...]"

enum { T_UNAVAILABLE, T_LOST, T_PROTOCOL, T_NO_MESSAGE, T_LOST_EXTENSION, T_COUNT };
static struct statustext texts[T_COUNT] = {
    [T_UNAVAILABLE] = { "UPSTREAM_UNAVAILABLE", "Mail server unavailable, try again later" },
    [T_LOST]        = { "UPSTREAM_LOST", "Connection to the mail server lost, try again later" },
    [T_PROTOCOL]    = { "UPSTREAM_PROTOCOL", "Mail server protocol error, try again later" },
    [T_NO_MESSAGE]  = { "LOCAL_ERROR", "Local error, try again later" },
    [T_LOST_EXTENSION] = { "UPSTREAM_EXTENSION", "Mail server no longer offers an extension used, try again later" },
};

enum state { IDLE, TRANSACTION, LOST };

static char cmd_buf[8192], reply_buf[8192];
static char headers[HEADER_BLOCK_MAX];
static struct upstream up;

/* What every connection writes, kept together and initialized: in the
 * data segment, on the page the program writes at its start anyway, not
 * on pages of their own (a page written is a page fault; bench/README). */
static struct upstream_config cfg = {
    .connect_timeout = 10, .reply_timeout = 120,
    .tls_mode = TLS_OPPORTUNISTIC, .tls_program = "smtp-tls", .tell_client = 1,
};
static unsigned data_timeout = 480, keepalive = 30;
static int msgfd = 3;
static int msgfd_errno;         /* why msgfd was unusable at the start, or 0 */
static struct connection {
    struct io_in cmd_in;        /* smtp-proxyd's commands */
    struct io_out reply_out;    /* our replies */
    enum state state;
    unsigned rcpt_accepted;
    int tx_utf8;                /* the transaction's MAIL had SMTPUTF8 */
    size_t headers_len;
    int header_refused;         /* a HEADER (or any line) refused: the
                                 * DATA that follows is refused too */
} conn = {
    .cmd_in = { .fd = 0, .buf = cmd_buf, .size = sizeof cmd_buf, .wake = -1 },
    .reply_out = { .fd = 1, .buf = reply_buf, .size = sizeof reply_buf },
    .state = IDLE,
};

static int64_t reply_deadline(void)
{
    return deadline_in_seconds(cfg.reply_timeout);
}

static void reply_text(const char *s, size_t n)
{
    if (io_put(&conn.reply_out, s, n, reply_deadline()) < 0)
        log_fatal_sys(111, "unable to write a reply");
}

static void reply_local(int code, const char *status, const char *text)
{
    char line[600];
    int n = snprintf(line, sizeof line, "%d %s %s\n", code, status, text);
    reply_text(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* A 421 from the smarthost ends its connection, not proxyd's session. */
static void reply_upstream(struct smtp_reply *r)
{
    if (r->code == 421) {
        char *p = r->text, *end = r->text + r->len;
        for (; p < end; p = strchr(p, '\n') + 1) memcpy(p, "451", 3);
        r->code = 451;
    }
    reply_text(r->text, r->len);
}

static void transaction_end(void)
{
    conn.state = IDLE;
    conn.rcpt_accepted = 0;
    conn.headers_len = 0;
    conn.header_refused = 0;
}

/* The connection went away inside a transaction. */
static void lost(void)
{
    if (conn.state == TRANSACTION) conn.state = LOST;
    reply_local(451, "4.4.2", texts[T_LOST].text);
}

static void protocol_error(const struct smtp_reply *r, const char *what)
{
    log_warn("smarthost %s gave an unexpected reply to %s: %.*s", up.peer, what,
             (int)strcspn(r->text, "\n"), r->text);
    upstream_close(&up);
    if (conn.state == TRANSACTION) conn.state = LOST;
    reply_local(451, "4.5.0", texts[T_PROTOCOL].text);
}

static void refuse(const struct request_refusal *why)
{
    reply_local(why->code, why->status, why->text);
}

/* The smarthost's reply to a RCPT: relayed, and counted. */
static void rcpt_reply(struct smtp_reply *r)
{
    if (r->code / 100 == 3) { protocol_error(r, "RCPT"); return; }
    if (r->code == 421) conn.state = LOST;
    if (r->code / 100 == 2) conn.rcpt_accepted++;
    reply_upstream(r);
}

/* The RCPT that came with MAIL (smtp-proxyd sends them in one write),
 * when it can go with MAIL to a smarthost that offers PIPELINING: its
 * line for the smarthost, and the command taken from the input.  0 when
 * there is none, or it is one to answer here (it is then left where it
 * is, for the main loop). */
static int pipelined_rcpt(int utf8, char line[REQUEST_LINE_MAX])
{
    const char *p = io_peek(&conn.cmd_in), *lf = memchr(p, '\n', io_buffered(&conn.cmd_in));
    char cmd[REQUEST_LINE_MAX + 16];
    struct smtp_command c;
    unsigned needs;
    size_t n;
    if (!(up.ehlo.flags & EHLO_PIPELINING) || !lf || (size_t)(lf - p) >= sizeof cmd) return 0;
    n = (size_t)(lf - p);
    memcpy(cmd, p, n);
    cmd[n] = 0;
    if (request_split(cmd, n, &c) || c.verb != SMTP_RCPT ||
        request_rcpt_esmtp(c.arg, c.arglen, utf8, &needs, line) || needs & ~up.ehlo.flags)
        return 0;
    io_consume(&conn.cmd_in, (size_t)(lf - p) + 1);
    return 1;
}

/* MAIL to the smarthost, connected, with the RCPT after it when it can
 * go in the same write.  Not inlined: its command lines are on the stack
 * only now, not under the connection's calls, which go deepest. */
static __attribute__((noinline)) void mail_send(const struct request_mail *m)
{
    char line[REQUEST_LINE_MAX], rcpt[REQUEST_LINE_MAX];
    struct smtp_reply *r = &up.reply;   /* MAIL's, then the RCPT's */
    int with_rcpt;

    if (m->needs & ~up.ehlo.flags) {
        /* Offered to the client when the smarthost had it (the EHLO
         * cache); not now: the client tries again later, and its next
         * EHLO reply no longer offers it. */
        unsigned lost = m->needs & ~up.ehlo.flags;
        log_warn("smarthost %s does not offer %s%s%s now: MAIL refused", up.peer,
                 lost & EHLO_SMTPUTF8 ? "SMTPUTF8" : "", lost == (EHLO_SMTPUTF8 | EHLO_DSN) ? " and " : "",
                 lost & EHLO_DSN ? "DSN" : "");
        reply_local(451, "4.3.3", texts[T_LOST_EXTENSION].text);
        return;
    }
    if (m->body[0] && strcasecmp(m->body, "7BIT") && !(up.ehlo.flags & EHLO_8BITMIME))
        log_warn("smarthost %s does not announce 8BITMIME: an 8-bit message goes as it is",
                 up.peer);
    /* Only the parameters this smarthost announced. */
    request_mail_line(m, up.ehlo.flags & EHLO_SIZE, up.ehlo.flags & EHLO_8BITMIME, line);
    /* MAIL and the RCPT after it in one write, when the smarthost takes
     * that (RFC 2920): a round trip less for each message. */
    with_rcpt = pipelined_rcpt(m->smtputf8, rcpt);
    if (!with_rcpt) {
        if (upstream_command(&up, line, reply_deadline()) < 0) { lost(); return; }
    } else if (upstream_send(&up, line, reply_deadline()) < 0 ||
               upstream_send(&up, rcpt, reply_deadline()) < 0 ||
               upstream_read_reply(&up, reply_deadline(), "MAIL") < 0) {
        lost();
        reply_local(503, "5.5.1", "Need MAIL first");      /* the RCPT's */
        return;
    }
    if (r->code / 100 == 3) {
        protocol_error(r, "MAIL");
        if (with_rcpt) reply_local(503, "5.5.1", "Need MAIL first");
        return;
    }
    if (r->code / 100 == 2) {
        conn.state = TRANSACTION;
        conn.rcpt_accepted = 0;
        conn.tx_utf8 = m->smtputf8;
    }
    reply_upstream(r);
    if (!with_rcpt) return;
    /* The RCPT's reply comes in any case (a refusal after a refused
     * MAIL), unless the connection went. */
    if (up.fd < 0 || upstream_read_reply(&up, reply_deadline(), "RCPT") < 0) {
        if (conn.state == TRANSACTION) lost();
        else reply_local(503, "5.5.1", "Need MAIL first");
        return;
    }
    if (conn.state != TRANSACTION) {
        reply_local(503, "5.5.1", "Need MAIL first");
        return;
    }
    rcpt_reply(r);
}

static void do_mail(const char *arg, size_t n)
{
    struct request_mail m;
    const struct request_refusal *why;

    if (conn.state == TRANSACTION) { reply_local(503, "5.5.1", "Transaction already open"); return; }
    conn.state = IDLE;
    conn.header_refused = 0;
    if ((why = request_mail(arg, n, &m))) { refuse(why); return; }
    if (up.fd < 0 && upstream_connect(&up, &cfg, reply_deadline()) < 0) {
        reply_local(451, "4.4.1", texts[T_UNAVAILABLE].text);
        return;
    }
    mail_send(&m);
}

static void do_rcpt(const char *arg, size_t n)
{
    char line[REQUEST_LINE_MAX];
    const struct request_refusal *why;
    unsigned needs;

    if (conn.state == LOST) { lost(); return; }
    if (conn.state == IDLE) { reply_local(503, "5.5.1", "Need MAIL first"); return; }
    if ((why = request_rcpt_esmtp(arg, n, conn.tx_utf8, &needs, line))) { refuse(why); return; }
    if (needs & ~up.ehlo.flags) {
        log_warn("smarthost %s does not offer DSN now: RCPT refused", up.peer);
        reply_local(451, "4.3.3", texts[T_LOST_EXTENSION].text);
        return;
    }
    if (upstream_command(&up, line, reply_deadline()) < 0) { lost(); return; }
    rcpt_reply(&up.reply);
}

static __attribute__((noinline)) void do_header(const char *arg, size_t n)
{
    char field[REQUEST_FIELD_MAX];
    ssize_t d = request_header(arg, n, field);
    if (d < 0) {
        conn.header_refused = 1;
        reply_local(501, "5.5.4", "Bad header field");
        return;
    }
    if ((size_t)d + 2 > sizeof headers - conn.headers_len) {
        conn.header_refused = 1;
        reply_local(452, "4.3.1", "Too many header fields");
        return;
    }
    memcpy(headers + conn.headers_len, field, (size_t)d);
    conn.headers_len += (size_t)d;
    memcpy(headers + conn.headers_len, "\r\n", 2);
    conn.headers_len += 2;
    reply_local(250, "2.0.0", "Header field added");
}

/* Dot-stuffed into the smarthost's output buffer itself, with room for
 * the worst case (2 * n + 2 octets, smtp_data.h): no copy of the message
 * between, and no buffer of its own to touch. */
typedef char outbuf_holds_the_headers[2 * HEADER_BLOCK_MAX + 8 <= sizeof up.outbuf ? 1 : -1];
static int dot_put(struct smtp_dot *dot, const char *s, size_t n, int64_t deadline)
{
    if (up.out.size - up.out.len < 2 * n + 8 && io_flush(&up.out, deadline) < 0) return -1;
    up.out.len += smtp_dot_feed(dot, s, n, up.out.buf + up.out.len);
    return 0;
}

/* The header fields, then the message from its descriptor, all
 * dot-stuffed, by the deadline.  0, or -1 with the connection closed:
 * without the final dot the smarthost keeps nothing.  The message is read
 * 8 KB at a time: a buffer that size lies on stack pages that the
 * commands before have touched already, where a larger one costs a page
 * fault for each 4 KB of the message it holds (bench/README). */
static __attribute__((noinline)) int send_message(int64_t deadline)
{
    char in[8192];
    struct smtp_dot dot;
    off_t off = 0;
    smtp_dot_init(&dot);
    if (dot_put(&dot, headers, conn.headers_len, deadline) < 0) goto write_error;
    for (;;) {
        ssize_t r = pread(msgfd, in, sizeof in, off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            log_warn_sys("unable to read the message on fd %d", msgfd);
            upstream_close(&up);
            return -1;
        }
        /* Only a read of 0 octets is the end: a short one is not, on
         * every file system (FUSE with direct_io, some network ones),
         * and a message cut there would still get its final dot. */
        if (!r) break;
        off += r;
        if (dot_put(&dot, in, (size_t)r, deadline) < 0) goto write_error;
    }
    if (up.out.size - up.out.len < 8 && io_flush(&up.out, deadline) < 0) goto write_error;
    up.out.len += smtp_dot_end(&dot, up.out.buf + up.out.len);
    if (io_flush(&up.out, deadline) < 0) goto write_error;
    return 0;
write_error:
    log_warn_sys("smarthost %s: unable to send the message", up.peer);
    upstream_close(&up);
    return -1;
}

/* DATA [seconds]: the whole exchange (DATA, the message, the final reply)
 * within the seconds given, and never longer than -d. */
static void do_data(const char *arg, size_t n)
{
    struct smtp_reply *r = &up.reply;
    unsigned long seconds = data_timeout;
    int64_t deadline;

    if (request_data(arg, n, &seconds) < 0) {
        reply_local(501, "5.5.4", "Syntax: DATA [seconds]");
        return;
    }
    if (seconds > data_timeout) seconds = data_timeout;
    deadline = deadline_in_seconds((unsigned)seconds);
    if (conn.state == LOST) { lost(); return; }
    if (conn.state == IDLE) { reply_local(503, "5.5.1", "Need MAIL first"); return; }
    if (!conn.rcpt_accepted) { reply_local(503, "5.5.1", "Need RCPT first"); return; }
    if (conn.header_refused) {
        /* Sent in a row with the fields: never without one of them. */
        reply_local(451, "4.3.0", texts[T_NO_MESSAGE].text);
        return;
    }
    if (msgfd_errno) {
        errno = msgfd_errno;
        log_warn_sys("no message on fd %d", msgfd);
        reply_local(451, "4.3.0", texts[T_NO_MESSAGE].text);
        return;
    }
    if (upstream_command(&up, "DATA", deadline) < 0) { lost(); return; }
    if (r->code != 354) {
        if (r->code / 100 == 2 || r->code / 100 == 3) { protocol_error(r, "DATA"); return; }
        reply_upstream(r);
        return;
    }
    if (send_message(deadline) < 0) {
        transaction_end();
        reply_local(451, "4.4.2", texts[T_LOST].text);
        return;
    }
    transaction_end();
    if (upstream_read_reply(&up, deadline, "end of data") < 0) {
        reply_local(451, "4.4.2", texts[T_LOST].text);
        return;
    }
    if (r->code / 100 == 3) { protocol_error(r, "end of data"); return; }
    reply_upstream(r);
}

static void do_rset(void)
{
    if (conn.state == TRANSACTION && up.fd >= 0) {
        if (upstream_command(&up, "RSET", reply_deadline()) == 0 && up.reply.code / 100 != 2) {
            log_warn("smarthost %s refused RSET, closing", up.peer);
            upstream_close(&up);
        }
    }
    transaction_end();
    reply_local(250, "2.0.0", "Ok");
}

static void do_noop(void)
{
    if (up.fd < 0) { reply_local(250, "2.0.0", "Ok"); return; }
    if (upstream_command(&up, "NOOP", reply_deadline()) < 0) { lost(); return; }
    reply_upstream(&up.reply);
}

static void finish(void)
{
    upstream_quit(&up);
    io_flush(&conn.reply_out, reply_deadline());
    _exit(0);
}

static void command(char *line, size_t n)
{
    struct smtp_command c;
    if (request_split(line, n, &c)) {
        do_header(c.arg, c.arglen);
        return;
    }
    switch (c.verb) {
    case SMTP_MAIL: do_mail(c.arg, c.arglen); break;
    case SMTP_RCPT: do_rcpt(c.arg, c.arglen); break;
    case SMTP_DATA: do_data(c.arg, c.arglen); break;
    case SMTP_RSET: do_rset(); break;
    case SMTP_NOOP: do_noop(); break;
    case SMTP_QUIT:
        reply_local(221, "2.0.0", "Bye");
        finish();
        break;
    default: reply_local(500, "5.5.2", "Unknown command");
    }
}

/* The smarthost left the open transaction while no command was pending:
 * smtp-proxyd is told at once, unasked, so that it can answer its client
 * now (see smtp-forward(8)). */
static void lost_while_idle(void)
{
    if (conn.state != TRANSACTION) return;
    conn.state = LOST;
    reply_text("* lost\n", 7);
    if (io_flush(&conn.reply_out, reply_deadline()) < 0) log_fatal_sys(111, "unable to write a reply");
}

static void read_commands(int64_t deadline)
{
    ssize_t r = io_fill(&conn.cmd_in, deadline);
    if (r == 0) finish();
    if (r < 0 && errno != ETIMEDOUT) log_fatal_sys(111, "unable to read commands");
}

/* Keep the smarthost session alive while waiting, and notice when it goes:
 * a smarthost that speaks unasked is closing (421) or broken. */
static void idle(void)
{
    struct pollfd p[2];
    int timeout = -1;
    if (up.fd < 0) {
        /* Nothing to watch but the commands: the read waits, no poll
         * before it. */
        read_commands(DEADLINE_NONE);
        return;
    }
    p[0].fd = 0;
    p[0].events = POLLIN;
    p[1].fd = up.fd;
    p[1].events = POLLIN;
    if (io_buffered(&up.in)) timeout = 0;
    else if (keepalive) {
        int64_t left = up.last_activity + (int64_t)keepalive * 1000 - deadline_now();
        timeout = left < 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
    }
    if (poll(p, 2, timeout) < 0) {
        if (errno == EINTR) return;
        log_fatal_sys(111, "unable to poll");
    }
    if (p[1].revents || io_buffered(&up.in)) {
        upstream_unasked(&up);
        lost_while_idle();
    } else if (!p[0].revents && keepalive) {
        if (deadline_now() - up.last_activity >= (int64_t)keepalive * 1000) {
            if (upstream_command(&up, "NOOP", reply_deadline()) < 0 || up.reply.code != 250) {
                if (up.fd >= 0) {
                    log_warn("smarthost %s refused NOOP, closing", up.peer);
                    upstream_close(&up);
                }
                lost_while_idle();
            }
        }
    }
    if (p[0].revents) read_commands(deadline_now());
}

/* NOQUEUE_CHECK: 0, or 1 (check), or 2 (check, and connect). */
static int checking;

/* Bad usage: one line naming the option, and exit 100; when checking,
 * every problem is said (a line each) before the exit. */
static unsigned problems;
static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!checking) log_fatal(100, "%s", line);
    log_warn("%s", line);
    problems++;
}

static unsigned seconds_option(int opt, const char *what, unsigned long max, int zero_ok, unsigned dflt)
{
    unsigned long v;
    if (!scan_ulong(optarg, max, &v) || (!v && !zero_ok)) {
        problem("-%c: bad %s: %s (%s to %lu)", opt, what, optarg, zero_ok ? "0" : "1", max);
        return dflt;
    }
    return (unsigned)v;
}

/* Not inlined: its frame is gone before the first command. */
static __attribute__((noinline)) void options(int argc, char **argv)
{
    unsigned long v;
    int opt;
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "+:h:c:r:d:k:m:T:a:A:n:L:X:")) != -1) {
        switch (opt) {
        case 'h': cfg.helo = optarg; break;
        case 'c': cfg.connect_timeout = seconds_option(opt, "connect timeout", 3600, 0, 10); break;
        case 'r': cfg.reply_timeout = seconds_option(opt, "reply timeout", 3600, 0, 120); break;
        case 'd': data_timeout = seconds_option(opt, "data timeout", 3600, 0, 480); break;
        case 'k': keepalive = seconds_option(opt, "keep-alive interval", 3600, 1, 30); break;
        case 'm': msgfd = (int)seconds_option(opt, "descriptor", 1024, 1, 3); break;
        case 'T':
            if (!strcmp(optarg, "off")) cfg.tls_mode = TLS_OFF;
            else if (!strcmp(optarg, "opportunistic")) cfg.tls_mode = TLS_OPPORTUNISTIC;
            else if (!strcmp(optarg, "required")) cfg.tls_mode = TLS_REQUIRED;
            else if (!strcmp(optarg, "verify")) cfg.tls_mode = TLS_VERIFY;
            else problem("-T: bad TLS mode: %s (off, opportunistic, required, verify)", optarg);
            break;
        case 'a': cfg.tls_cafile = optarg; break;
        case 'A': cfg.tls_cadir = optarg; break;
        case 'n': cfg.tls_name = optarg; break;
        case 'L': cfg.tls_program = optarg; break;
        case 'X':
            if (!strcmp(optarg, "off")) cfg.tell_client = 0;
            else if (!strcmp(optarg, "auto")) cfg.tell_client = 1;
            else problem("-X: bad mode: %s (auto, off)", optarg);
            break;
        case ':': problem("-%c: needs an argument", optopt); break;
        default: problem("-%c: unknown option", optopt); break;
        }
    }
    argc -= optind;
    argv += optind;
    if (argc < 2 || argc % 2) problem("want host port [host port ...]; %s", USAGE);
    for (opt = 0; opt + 1 < argc; opt += 2) {
        if (!argv[opt][0]) problem("an empty smarthost name");
        if (!scan_ulong(argv[opt + 1], 65535, &v) || !v)
            problem("bad port of smarthost %s: %s", argv[opt], argv[opt + 1]);
    }
    cfg.hosts = argv;
    cfg.nhosts = argc - argc % 2;
    if (!cfg.helo) cfg.helo = hostname_default();
    client_from_env(&cfg.client);
    if (!smtp_domain_valid(cfg.helo, strlen(cfg.helo)))
        problem("-h: bad helo name: %s", cfg.helo);
    if (checking) {
        /* What would fail only later, at the first message. */
        if (cfg.tls_cafile && access(cfg.tls_cafile, R_OK) < 0)
            problem("-a: unable to read %s: %s", cfg.tls_cafile, strerror(errno));
        if (cfg.tls_cadir && access(cfg.tls_cadir, R_OK | X_OK) < 0)
            problem("-A: unable to read %s: %s", cfg.tls_cadir, strerror(errno));
        /* Opportunistic TLS goes on in plaintext without it: said, not
         * counted. */
        if (cfg.tls_mode == TLS_OPPORTUNISTIC && !child_findable(cfg.tls_program))
            log_warn("-L: no program %s%s: STARTTLS will fail, and the mail go in plaintext",
                     cfg.tls_program, strchr(cfg.tls_program, '/') ? "" : " in PATH");
        else if (cfg.tls_mode != TLS_OFF && !child_findable(cfg.tls_program))
            problem("-L: no program %s%s", cfg.tls_program,
                    strchr(cfg.tls_program, '/') ? "" : " in PATH");
    }
    cfg.ehlo_cache = getenv("NOQUEUE_EHLO_CACHE");
    if (cfg.ehlo_cache && !*cfg.ehlo_cache) cfg.ehlo_cache = 0;
}

/* NOQUEUE_CHECK=connect: each smarthost in turn, its EHLO reply on
 * stderr as info lines, then QUIT.  111 when one could not be reached. */
static __attribute__((noinline)) int check_connect(void)
{
    int i, bad = 0;
    up.keep_ehlo = 1;
    for (i = 0; i + 1 < cfg.nhosts; i += 2) {
        const char *p, *end;
        size_t n;
        if (upstream_connect_one(&up, &cfg, i, reply_deadline()) < 0) {
            log_warn("smarthost %s %s: not reachable, or it refused us", cfg.hosts[i], cfg.hosts[i + 1]);
            bad = 1;
            continue;
        }
        p = upstream_ehlo_reply(&up, &n);
        for (end = p + n; p < end; ) {
            struct log_line l;
            const char *lf = memchr(p, '\n', (size_t)(end - p));
            size_t len = lf ? (size_t)(lf - p) : (size_t)(end - p);
            log_line_start(&l, "info");
            log_kv_str(&l, "smarthost", up.peer);
            log_kv(&l, "ehlo", p, len);
            log_line_emit(&l);
            p += len + 1;
        }
        upstream_quit(&up);
    }
    return bad ? 111 : 0;
}

int main(int argc, char **argv)
{
    const char *why;
    int bad, skipping = 0;
    const char *check = getenv("NOQUEUE_CHECK");
    log_program = "smtp-forward";
    signal(SIGPIPE, SIG_IGN);
    if (check && *check) {
        if (!strcmp(check, "1")) checking = 1;
        else if (!strcmp(check, "connect")) checking = 2;
        else problem("NOQUEUE_CHECK: bad value: %s (1, connect)", check);
    }
    options(argc, argv);
    bad = statustext_load(texts, T_COUNT, &why);
    if (bad >= 0) problem("SMTP_TEXT_%s %s", texts[bad].name, why);
    /* NOQUEUE_CHECK=connect tries the smarthosts even after a problem of
     * the options: every problem is said by one run. */
    if (problems && checking != 2) _exit(100);
    upstream_init(&up);
    if (checking == 2) {
        int unreachable = check_connect();
        _exit(problems ? 100 : unreachable);
    }
    if (checking) _exit(0);
    /* The message is ours to read (pread), not smtp-tls's to inherit;
     * and a descriptor that is not open now never will be: DATA is
     * refused without a look at it each time. */
    if (fcntl(msgfd, F_SETFD, FD_CLOEXEC) < 0) msgfd_errno = errno;
    if (!isatty(1)) io_nonblock(1);
    for (;;) {
        const char *lf = memchr(io_peek(&conn.cmd_in), '\n', io_buffered(&conn.cmd_in));
        if (!lf) {
            if (io_buffered(&conn.cmd_in) == sizeof cmd_buf) {
                /* Never two commands out of one line; and since it may
                 * have been a HEADER, no DATA until the next MAIL. */
                io_consume(&conn.cmd_in, io_buffered(&conn.cmd_in));
                if (!skipping) reply_local(500, "5.5.2", "Line too long");
                skipping = 1;
                conn.header_refused = 1;
                continue;
            }
            if (io_flush(&conn.reply_out, reply_deadline()) < 0)
                log_fatal_sys(111, "unable to write a reply");
            idle();
            continue;
        }
        {
            /* The line is used where it lies, its LF made a NUL: taken
             * from the buffer, it stays there while command() runs, as
             * only idle() reads more.  No copy, no 8 KB on the stack. */
            char *line = cmd_buf + (io_peek(&conn.cmd_in) - cmd_buf);
            size_t n = (size_t)(lf - line);
            line[n] = 0;
            io_consume(&conn.cmd_in, n + 1);
            if (!skipping) command(line, n);
            skipping = 0;
        }
    }
}
