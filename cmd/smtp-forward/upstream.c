#include <errno.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "deadline.h"
#include "endpoint.h"
#include "log.h"
#include "scan.h"
#include "smtp_command.h"
#include "upstream.h"

void upstream_init(struct upstream *u)
{
    u->fd = -1;
    u->tls_pid = -1;
    u->caps = u->xclient = u->xforward = 0;
    u->peer[0] = 0;
}

/* Given up: smtp-tls is killed at once (it may be waiting for a peer that
 * is gone, and our 451 must not wait for it). */
void upstream_close(struct upstream *u)
{
    if (u->fd >= 0) close(u->fd);
    u->fd = -1;
    if (u->tls_pid > 0) child_kill(u->tls_pid);
    u->tls_pid = -1;
}

int upstream_read_reply(struct upstream *u, int64_t deadline, const char *what)
{
    struct smtp_reply *r = &u->reply;
    int e = smtp_reply_read(&u->in, r, 1, deadline);
    if (e == SMTP_REPLY_OK) {
        u->last_activity = deadline_now();
        if (r->code == 421) {
            log_warn("smarthost %s said 421 after %s, closing", u->peer, what);
            upstream_close(u);
        }
        return 0;
    }
    if (e == SMTP_REPLY_EOF)
        log_warn("smarthost %s closed the connection after %s", u->peer, what);
    else if (e == SMTP_REPLY_MALFORMED)
        log_warn("smarthost %s sent a malformed reply to %s", u->peer, what);
    else if (errno == ETIMEDOUT)
        log_warn("smarthost %s timed out after %s", u->peer, what);
    else
        log_warn_sys("smarthost %s: unable to read the reply to %s", u->peer, what);
    upstream_close(u);
    return -1;
}

/* A command's verb, for the log: at most 15 octets of it. */
static void verb_of(const char *line, char verb[16])
{
    size_t v = strcspn(line, " ");
    snprintf(verb, 16, "%.*s", (int)(v < 15 ? v : 15), line);
}

int upstream_send(struct upstream *u, const char *line, int64_t deadline)
{
    char verb[16];
    /* Its replies would no longer match our commands. */
    if (io_buffered(&u->in)) {
        upstream_unasked(u);
        return -1;
    }
    if (io_puts(&u->out, line, deadline) < 0 || io_put(&u->out, "\r\n", 2, deadline) < 0) {
        verb_of(line, verb);
        log_warn_sys("smarthost %s: unable to send %s", u->peer, verb);
        upstream_close(u);
        return -1;
    }
    return 0;
}

int upstream_command(struct upstream *u, const char *line, int64_t deadline)
{
    char verb[16];
    if (upstream_send(u, line, deadline) < 0) return -1;
    verb_of(line, verb);
    return upstream_read_reply(u, deadline, verb);
}

void upstream_unasked(struct upstream *u)
{
    struct smtp_reply *r = &u->reply;
    int e = smtp_reply_read(&u->in, r, 1, deadline_in_seconds(5));
    if (e == SMTP_REPLY_OK)
        log_warn("smarthost %s spoke unasked, closing: %.*s", u->peer,
                 (int)strcspn(r->text, "\n"), r->text);
    else if (e == SMTP_REPLY_EOF)
        log_warn("smarthost %s closed the connection", u->peer);
    else
        log_warn("smarthost %s sent something unasked and unreadable, closing", u->peer);
    upstream_close(u);
}

/* The smarthost's greeting reply, whole, for smtp-forward's check mode
 * only: no copy of it on a connection that relays mail. */
static void keep_reply(struct upstream *u, const struct smtp_reply *r)
{
    if (!u->keep_ehlo) return;
    memcpy(u->ehlo_reply, r->text, r->len);
    u->ehlo_len = r->len;
}

/* EHLO keywords we use (those of the EHLO cache are in u->ehlo). */
static void parse_capabilities(struct upstream *u, const struct smtp_reply *r)
{
    const char *p = r->text, *end = r->text + r->len;
    u->caps = u->xclient = u->xforward = 0;
    ehlo_caps_parse(&u->ehlo, r->text, r->len);
    keep_reply(u, r);
    for (; p < end; p = strchr(p, '\n') + 1) {
        const char *kw = p + 4, *eol = strchr(p, '\n');
        size_t n;
        if (p == r->text || eol - p < 5) continue;     /* first line: a name */
        n = strcspn(kw, " \n");
        if (n == 8 && !strncasecmp(kw, "STARTTLS", n)) u->caps |= CAP_STARTTLS;
        else if (n == 7 && !strncasecmp(kw, "XCLIENT", n)) {
            u->caps |= CAP_XCLIENT;
            u->xclient = client_attributes(kw + n, (size_t)(eol - kw) - n);
        } else if (n == 8 && !strncasecmp(kw, "XFORWARD", n)) {
            u->caps |= CAP_XFORWARD;
            u->xforward = client_attributes(kw + n, (size_t)(eol - kw) - n);
        }
    }
}

/* EHLO NAME, or HELO NAME when EHLO is refused: 0, or -1 with the
 * connection closed. */
static int hello_as(struct upstream *u, const char *name, int64_t deadline)
{
    struct smtp_reply *r = &u->reply;
    char line[512];
    snprintf(line, sizeof line, "EHLO %s", name);
    /* A 421 closed the connection: the next smarthost, not this one. */
    if (upstream_command(u, line, deadline) < 0 || u->fd < 0) return -1;
    if (r->code / 100 == 2) {
        parse_capabilities(u, r);
        return 0;
    }
    if (r->code / 100 == 5 && u->fd >= 0) {
        snprintf(line, sizeof line, "HELO %s", name);
        if (upstream_command(u, line, deadline) < 0 || u->fd < 0) return -1;
        u->caps = u->xclient = u->xforward = 0;
        u->ehlo.flags = 0;
        u->ehlo.size = 0;
        keep_reply(u, r);
        if (r->code / 100 == 2) return 0;
    }
    log_warn("smarthost %s refused EHLO and HELO: %.*s", u->peer,
             (int)strcspn(r->text, "\n"), r->text);
    upstream_close(u);
    return -1;
}

static int hello(struct upstream *u, const struct upstream_config *cfg, int64_t deadline)
{
    return hello_as(u, cfg->helo, deadline);
}

/* STARTTLS, then smtp-tls between us and the smarthost, then EHLO again.
 * 0 done, -1 failed (closed), 1 failed in a way that a new connection in
 * plaintext may go round (opportunistic mode only). */
#define TLS_RETRY_PLAIN 1
static int starttls(struct upstream *u, const struct upstream_config *cfg, const char *host,
                    int64_t deadline)
{
    struct smtp_reply *r = &u->reply;
    char *argv[TLSPIPE_ARGV_MAX], secs[24];
    struct tlspipe_args a = { 0 };
    int plain, opportunistic = cfg->tls_mode == TLS_OPPORTUNISTIC;
    if (upstream_command(u, "STARTTLS", deadline) < 0 || u->fd < 0) return -1;
    if (r->code != 220) {
        log_warn("smarthost %s refused STARTTLS: %.*s%s", u->peer, (int)strcspn(r->text, "\n"),
                 r->text, opportunistic ? "; going on without TLS" : "");
        if (opportunistic) return 0;
        upstream_close(u);
        return -1;
    }
    if (io_buffered(&u->in)) {          /* sent in the clear after 220 */
        upstream_unasked(u);
        return -1;
    }
    a.program = cfg->tls_program;
    a.verify = cfg->tls_mode == TLS_VERIFY;
    a.name = cfg->tls_name ? cfg->tls_name : host;
    a.cafile = cfg->tls_cafile;
    a.cadir = cfg->tls_cadir;
    a.deadline = deadline;
    tlspipe_argv(&a, argv, secs);
    if (tlspipe_start(argv, u->fd, u->fd, &u->tls_pid, &plain) < 0) {
        log_warn_sys("unable to start %s", cfg->tls_program);
        upstream_close(u);
        return -1;
    }
    close(u->fd);                       /* smtp-tls has it now */
    u->fd = plain;
    io_in_init(&u->in, u->fd, u->inbuf, sizeof u->inbuf);
    io_out_init(&u->out, u->fd, u->outbuf, sizeof u->outbuf);
    u->in.flush = &u->out;
    if (tlspipe_status(&u->in, &u->tls, deadline) < 0) {
        log_warn("TLS with smarthost %s failed: %s%s", u->peer, u->tls.reason,
                 opportunistic ? "; trying again without TLS" : "");
        upstream_close(u);
        return opportunistic ? TLS_RETRY_PLAIN : -1;
    }
    return hello(u, cfg, deadline);
}

/* Who the client is, when the smarthost takes it: XCLIENT (then a new
 * greeting, and EHLO again, as after STARTTLS), else XFORWARD.  A refusal
 * is logged and the session goes on without.  0, or -1 (closed). */
static int tell_client(struct upstream *u, const struct upstream_config *cfg, int64_t deadline)
{
    struct smtp_reply *r = &u->reply;
    char line[CLIENT_LINE_MAX];
    const char *verb = "XCLIENT", *helo = cfg->client.helo;
    int expect = 220;
    if (!cfg->tell_client) return 0;
    if (!(u->caps & CAP_XCLIENT) || !client_command(line, verb, u->xclient, &cfg->client)) {
        verb = "XFORWARD";
        expect = 250;
        if (!(u->caps & CAP_XFORWARD) || !client_command(line, verb, u->xforward, &cfg->client))
            return 0;
    }
    if (upstream_command(u, line, deadline) < 0 || u->fd < 0) return -1;
    if (r->code == expect) {
        if (expect == 250) return 0;
        /* The smarthost takes the name of the EHLO that follows as the
         * client's HELO name (Postfix does): the client's own, when it is
         * one we could have sent. */
        if (!helo || strlen(helo) > 255 || !smtp_domain_valid(helo, strlen(helo))) helo = cfg->helo;
        return hello_as(u, helo, deadline);
    }
    if (r->code / 100 == 4 || r->code / 100 == 5) {
        log_warn("smarthost %s refused %s: %.*s", u->peer, verb, (int)strcspn(r->text, "\n"), r->text);
        return 0;
    }
    log_warn("smarthost %s gave an unexpected reply to %s: %.*s", u->peer, verb,
             (int)strcspn(r->text, "\n"), r->text);
    upstream_close(u);
    return -1;
}

/* The greeting, EHLO, and STARTTLS as the mode says: 0, -1 (closed), or
 * TLS_RETRY_PLAIN. */
static int greet(struct upstream *u, const struct upstream_config *cfg, const char *host,
                 int tls, int64_t deadline)
{
    struct smtp_reply *r = &u->reply;
    if (upstream_read_reply(u, deadline, "connect") < 0) return -1;
    if (r->code != 220) {
        log_warn("smarthost %s refused the connection: %.*s", u->peer,
                 (int)strcspn(r->text, "\n"), r->text);
        upstream_close(u);
        return -1;
    }
    if (hello(u, cfg, deadline) < 0) return -1;
    if (cfg->tls_mode != TLS_OFF && tls) {
        if (u->caps & CAP_STARTTLS) {
            int t = starttls(u, cfg, host, deadline);
            if (t != 0 || u->fd < 0) return t ? t : -1;
        } else if (cfg->tls_mode != TLS_OPPORTUNISTIC) {
            log_warn("smarthost %s does not offer STARTTLS, and TLS is required", u->peer);
            upstream_close(u);
            return -1;
        }
    }
    return tell_client(u, cfg, deadline);
}

/* A smarthost given as an address (the usual case) as the one entry of
 * *ai, with no getaddrinfo: its result is malloc'd, and the first malloc
 * alone costs a forwarder four system calls on every connection.  0 when
 * host is a name. */
static int numeric_host(const char *host, const char *port, struct sockaddr_storage *ss,
                        struct addrinfo *ai)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    unsigned long p;
    if (!scan_ulong(port, 65535, &p)) return 0;   /* main checked it */
    memset(ss, 0, sizeof *ss);
    memset(ai, 0, sizeof *ai);
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)p);
        ai->ai_addrlen = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)p);
        ai->ai_addrlen = sizeof *v6;
    } else {
        return 0;
    }
    ai->ai_family = ss->ss_family;
    ai->ai_socktype = SOCK_STREAM;
    ai->ai_addr = (struct sockaddr *)ss;
    return 1;
}

const char *upstream_ehlo_reply(const struct upstream *u, size_t *n)
{
    *n = u->ehlo_len;
    return u->ehlo_reply;
}

/* What this smarthost offers, for smtp-proxyd's next EHLO reply. */
static void record_capabilities(const struct upstream *u, const struct upstream_config *cfg)
{
    char text[EHLO_CACHE_MAX];
    size_t n;
    if (!cfg->ehlo_cache) return;
    n = ehlo_cache_format(&u->ehlo, u->peer, text, sizeof text);
    if (ehlo_cache_write(cfg->ehlo_cache, text, n) < 0)
        log_warn_sys("unable to write the EHLO cache %s", cfg->ehlo_cache);
}

int upstream_connect_one(struct upstream *u, const struct upstream_config *cfg, int i,
                         int64_t deadline)
{
    struct addrinfo hints, one, *res = 0, *ai;
    struct sockaddr_storage ss;
    int e;
    if (numeric_host(cfg->hosts[i], cfg->hosts[i + 1], &ss, &one)) {
        ai = &one;
    } else {
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        e = getaddrinfo(cfg->hosts[i], cfg->hosts[i + 1], &hints, &res);
        if (e) {
            log_warn("unable to resolve smarthost %s: %s", cfg->hosts[i], gai_strerror(e));
            return -1;
        }
        ai = res;
    }
    for (; ai; ai = ai->ai_next) {
        char host[64] = "?";
        int tls = 1, g;
        getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, 0, 0, NI_NUMERICHOST);
        snprintf(u->peer, sizeof u->peer, "%s:%s", host, cfg->hosts[i + 1]);
        do {
            u->fd = endpoint_connect_address(ai->ai_addr, ai->ai_addrlen, deadline_min(deadline, deadline_in_seconds(cfg->connect_timeout)));
            if (u->fd < 0) {
                log_warn_sys("unable to connect to smarthost %s", u->peer);
                break;
            }
            io_in_init(&u->in, u->fd, u->inbuf, sizeof u->inbuf);
            io_out_init(&u->out, u->fd, u->outbuf, sizeof u->outbuf);
            u->in.flush = &u->out;
            u->last_activity = deadline_now();
            g = greet(u, cfg, cfg->hosts[i], tls, deadline);
            if (g == 0) {
                if (res) freeaddrinfo(res);
                record_capabilities(u, cfg);
                return 0;
            }
            tls = 0;                /* once, in plaintext, after a failed handshake */
        } while (g == TLS_RETRY_PLAIN);
    }
    if (res) freeaddrinfo(res);
    return -1;
}

int upstream_connect(struct upstream *u, const struct upstream_config *cfg, int64_t deadline)
{
    int i;
    for (i = 0; i + 1 < cfg->nhosts; i += 2)
        if (upstream_connect_one(u, cfg, i, deadline) == 0) return 0;
    return -1;
}

void upstream_quit(struct upstream *u)
{
    struct smtp_reply *r = &u->reply;
    if (u->fd < 0) return;
    if (io_puts(&u->out, "QUIT\r\n", deadline_in_seconds(5)) == 0)
        smtp_reply_read(&u->in, r, 1, deadline_in_seconds(5));
    /* A clean end: smtp-tls sends close_notify when its plaintext side
     * closes, and exits; a moment for that, no more. */
    close(u->fd);
    u->fd = -1;
    if (u->tls_pid > 0) child_reap(u->tls_pid, -1, deadline_in_seconds(1));
    u->tls_pid = -1;
}
