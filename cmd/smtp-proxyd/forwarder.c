/* The link to smtp-forward (or any program speaking its protocol): started
 * on the first command that needs the smarthost, then one request line,
 * one reply.  See smtp-forward(8). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "proxyd.h"

static struct child proc = { -1, -1, -1 };
static int dead, spool = -1;
static struct io_in in;
static struct io_out out;
static char inbuf[8192], outbuf[4096];

void forwarder_set_spool(int fd)
{
    spool = fd;
}

int forwarder_alive(void)
{
    return !dead;
}

static int start(void)
{
    session_files();                    /* its fd 3, made now if not yet */
    if (child_spawn(&proc, cfg.forward_argv, 0, -1, spool) < 0) {
        log_warn_sys("unable to start %s", cfg.forward_argv[0]);
        dead = 1;
        return -1;
    }
    io_in_init(&in, proc.from, inbuf, sizeof inbuf);
    io_out_init(&out, proc.to, outbuf, sizeof outbuf);
    in.flush = &out;
    return 0;
}

static unsigned pending;               /* requests sent, replies not read */
static int lost;                        /* the smarthost left the open transaction */

/* The one line smtp-forward writes unasked: the smarthost went away
 * while a transaction was open (it said 421, or closed, or refused a
 * NOOP).  Taken wherever it comes: before a reply, after one, alone. */
#define NOTICE "* lost\n"
static void take_notices(void)
{
    while (io_buffered(&in) >= sizeof NOTICE - 1 && !memcmp(io_peek(&in), NOTICE, sizeof NOTICE - 1)) {
        io_consume(&in, sizeof NOTICE - 1);
        lost = 1;
    }
}

/* One request, one reply: anything else from the forwarder while no
 * request is pending would pair the next reply with the wrong request.
 * 0, or -1 with the forwarder dead. */
static int check_unasked(void)
{
    int r = io_spoke_unasked(&in);
    if (r == 1) take_notices();
    if (r == 0 || (r == 1 && !io_buffered(&in))) return 0;
    log_warn("%s %s", cfg.forward_argv[0], r == 2 ? "exited" : "spoke unasked");
    dead = 1;
    return -1;
}

int forwarder_upstream_lost(void)
{
    if (dead || proc.pid < 0) return 0;
    if (!pending && check_unasked() < 0) return 0;
    return lost;
}

int forwarder_send(const char *line, int64_t deadline)
{
    if (dead) return -1;
    if (proc.pid < 0 && start() < 0) return -1;
    if (!pending && check_unasked() < 0) return -1;
    /* A new transaction, or none: what was lost is behind. */
    if (!strncmp(line, "MAIL ", 5) || !strcmp(line, "RSET")) lost = 0;
    if (io_puts(&out, line, deadline) < 0 || io_put(&out, "\n", 1, deadline) < 0) {
        log_warn_sys("unable to write to %s", cfg.forward_argv[0]);
        dead = 1;
        return -1;
    }
    pending++;
    return 0;
}

/* Replies are SMTP replies with LF line ends, already checked by the
 * forwarder; checked again here, since we trust no other process.  The
 * write of what was sent happens here, before the read. */
int forwarder_reply(struct smtp_reply *r, int64_t deadline)
{
    int e;
    if (dead || !pending) return -1;
    /* A notice may come first: the whole line is there once its LF is. */
    for (;;) {
        const char *lf = memchr(io_peek(&in), '\n', io_buffered(&in));
        if (lf && (lf != io_peek(&in) + sizeof NOTICE - 2 ||
                   memcmp(io_peek(&in), NOTICE, sizeof NOTICE - 1)))
            break;
        if (lf) {
            take_notices();
            continue;
        }
        if (io_fill(&in, deadline) <= 0) break;     /* smtp_reply_read says why */
    }
    e = smtp_reply_read(&in, r, 0, deadline);
    if (e == SMTP_REPLY_OK) take_notices();
    if (e == SMTP_REPLY_OK && (--pending || !io_buffered(&in))) return 0;
    if (e == SMTP_REPLY_OK) log_warn("%s gave more than one reply", cfg.forward_argv[0]);
    else if (e == SMTP_REPLY_EOF) log_warn("%s exited", cfg.forward_argv[0]);
    else if (e == SMTP_REPLY_MALFORMED) log_warn("%s gave a malformed reply", cfg.forward_argv[0]);
    else if (errno == ETIMEDOUT) log_warn("%s timed out", cfg.forward_argv[0]);
    else log_warn_sys("unable to read from %s", cfg.forward_argv[0]);
    dead = 1;
    return -1;
}

int forwarder_request(const char *line, struct smtp_reply *r, int64_t deadline)
{
    if (forwarder_send(line, deadline) < 0) return -1;
    return forwarder_reply(r, deadline);
}

void forwarder_stop(int64_t deadline)
{
    if (proc.pid < 0) return;
    if (dead) child_kill(proc.pid);
    close(proc.to);             /* end of commands: it says QUIT and exits */
    if (!dead) child_reap(proc.pid, proc.from, deadline);
    close(proc.from);
    proc.pid = -1;
}
