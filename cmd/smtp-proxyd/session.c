/* The client's SMTP session: commands, the filter chain at each step, the
 * smarthost's answers relayed live, the body spooled, the final reply only
 * once the smarthost has answered.  See smtp-proxyd(8). */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "ehlocache.h"
#include "header.h"
#include "log.h"
#include "proxyd.h"
#include "transaction.h"
#include "scan.h"
#include "proxyproto.h"
#include "selfpipe.h"
#include "smtp_data.h"
#include "tlspipe.h"
#include "xtext.h"

#define LINE_MAX_SMTP 1024       /* a command line, CRLF included */

struct statustext texts[T_COUNT] = {
    [T_GREETING] = { "GREETING", "ESMTP" },
    [T_OK] = { "OK", "Ok" },
    [T_BYE] = { "BYE", "Bye" },
    [T_HELP] = { "HELP", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP" },
    [T_VRFY] = { "VRFY", "Cannot VRFY user, but will accept message and attempt delivery" },
    [T_DATA_GO] = { "DATA", "End data with <CR><LF>.<CR><LF>" },
    [T_DISCARDED] = { "DISCARDED", "Ok" },
    [T_NO_SERVICE] = { "NO_SERVICE", "No SMTP service here" },
    [T_TIMEOUT] = { "TIMEOUT", "Timeout exceeded, closing connection" },
    [T_TOO_MANY_ERRORS] = { "TOO_MANY_ERRORS", "Too many errors, closing connection" },
    [T_LINE_TOO_LONG] = { "LINE_TOO_LONG", "Line too long" },
    [T_BARE_EOL_COMMAND] = { "BARE_EOL_COMMAND", "Bare CR or LF in command" },
    [T_BAD_COMMAND] = { "BAD_COMMAND", "Command unrecognized" },
    [T_NOT_IMPLEMENTED] = { "NOT_IMPLEMENTED", "Command not implemented" },
    [T_BAD_SEQUENCE] = { "BAD_SEQUENCE", "Bad sequence of commands" },
    [T_BAD_SYNTAX] = { "BAD_SYNTAX", "Syntax error" },
    [T_BAD_SENDER] = { "BAD_SENDER", "Bad sender address syntax" },
    [T_BAD_RECIPIENT] = { "BAD_RECIPIENT", "Bad recipient address syntax" },
    [T_BAD_PARAMETER] = { "BAD_PARAMETER", "Unsupported parameter" },
    [T_TOO_MANY_RECIPIENTS] = { "TOO_MANY_RECIPIENTS", "Too many recipients" },
    [T_NO_RECIPIENTS] = { "NO_RECIPIENTS", "No valid recipients" },
    [T_TOO_BIG] = { "TOO_BIG", "Message size exceeds fixed maximum message size" },
    [T_BARE_EOL] = { "BARE_EOL", "Message contains bare CR or LF" },
    [T_STORAGE] = { "STORAGE", "Insufficient system storage" },
    [T_REJECTED] = { "REJECTED", "Message rejected" },
    [T_TEMPFAIL] = { "TEMPFAIL", "Temporary failure, try again later" },
    [T_FILTER_FAILED] = { "FILTER_FAILED", "Temporary failure in content checking, try again later" },
    [T_UNAVAILABLE] = { "UNAVAILABLE", "Service temporarily unavailable, try again later" },
    [T_UPSTREAM_PROTOCOL] = { "UPSTREAM_PROTOCOL", "Mail server protocol error, try again later" },
    [T_TLS_GO] = { "TLS_GO", "Ready to start TLS" },
    [T_TLS_REQUIRED] = { "TLS_REQUIRED", "Must issue a STARTTLS command first" },
    [T_SHUTDOWN] = { "SHUTDOWN", "Service shutting down, try again later" },
    [T_ENVELOPE_REFUSED] = { "ENVELOPE_REFUSED", "Changed envelope refused by the mail server, try again later" },
    [T_UPSTREAM_LOST] = { "UPSTREAM_LOST", "Connection to the mail server lost, try again later" },
    [T_EARLY_TALKER] = { "EARLY_TALKER", "Protocol error: talked before the greeting" },
};

static struct {
    struct io_in in;
    struct io_out out;
    struct spool spool;
    const char *ip, *port, *localip, *localport, *remotehost;
    char helo[256];
    int helo_seen, esmtp, refused;
    unsigned errors, transactions;
    int64_t start;
    int64_t deadline;                   /* of the phase: envelope, body, end of data */
    struct trail session_trail;         /* connect, TLS and HELO verdicts */
    int tls;                            /* after a successful STARTTLS */
    char conn[LOG_CONN_ID_MAX + 1];     /* conn= of the log, and NOQUEUE_CONN */
    pid_t tls_pid;
    struct verdict refusal;             /* of the tls event, for the next command */
    int refusal_pending;
    int ending;                         /* session_finish has begun */

    struct spool scratch;               /* fd 4 of version 2 filters */
    /* What the last EHLO reply offered, from the smarthost's (the EHLO
     * cache smtp-forward writes; see smtp-proxyd(8)) */
    struct ehlo_caps offered;
    struct ehlo_caps cached;            /* the EHLO cache, read at the first EHLO */
    int cache_read;
    unsigned long long size_offered;
    int bdat_refused;                   /* since a chunk was refused, until another command */

    /* The big ones last: a connection touches the pages it uses. */
    struct tls_info tls_info;           /* 3 KB */
    struct modifiers connect_mods;      /* from connect: for every message */
    struct modifiers helo_mods;         /* from the last HELO/EHLO */
    char inbuf[65536];
    char outbuf[8192];
} s;

static void session_end(const char *reason) __attribute__((noreturn));
static void terminated(const char *where) __attribute__((noreturn));
static void session_fail(const char *reason) __attribute__((noreturn));
static void transaction_log(const char *result, int code);
static void report(const char *outcome, int code);
static void eom_line(struct event *e);
static char **oneshot_environment(void);
static struct event *eom_event;         /* while the eom chain runs */
static const char *ehlo_cache;          /* NOQUEUE_EHLO_CACHE: ehlo_cache_path */

/* --- replies ------------------------------------------------------------ */

static void put(const char *p, size_t n)
{
    if (io_put(&s.out, p, n, s.deadline) < 0) session_end("write error");
}

static void reply_text(int code, const char *status, const char *text)
{
    char line[STATUSTEXT_MAX + 32];
    int n = snprintf(line, sizeof line, "%d %s%s%s\r\n", code, status, *status ? " " : "", text);
    put(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void reply(int code, const char *status, enum text t)
{
    reply_text(code, status, texts[t].text);
}

static void reply_verdict(const struct verdict *v)
{
    reply_text(v->code, "", v->text);
}

static void reply_upstream(const struct smtp_reply *r)
{
    char out[SMTP_REPLY_MAX * 2];
    size_t n = smtp_reply_format(r, 0, out, sizeof out);
    if (!n) {
        reply(451, "4.5.0", T_UPSTREAM_PROTOCOL);
        return;
    }
    put(out, n);
}

static void flush(void)
{
    if (io_flush(&s.out, s.deadline) < 0) session_end("write error");
}

/* The tarpit: after -y errors, each error reply waits a second more than
 * the one before (at most 10, and never past the phase's deadline), so
 * that a client that tries recipient after recipient pays in time.
 * SIGTERM still ends the wait. */
static void tarpit(void)
{
    unsigned over = s.errors - cfg.tarpit;
    int64_t until = deadline_min(s.deadline, deadline_in_ms((int64_t)(over < 10 ? over : 10) * 1000));
    if (io_wait(s.in.wake, POLLIN, until) == 1) terminated("");
}

static void protocol_error(void)
{
    if (++s.errors >= cfg.max_errors) {
        reply(421, "4.7.0", T_TOO_MANY_ERRORS);
        session_end("too many errors");
    }
    if (cfg.tarpit && s.errors > cfg.tarpit) tarpit();
}

/* --- filters ------------------------------------------------------------ */

static void event_start(struct event *e, enum filter_event ev)
{
    e->len = (size_t)snprintf(e->buf, sizeof e->buf, "%s", filterproto_event_name(ev));
    e->v1len = (size_t)-1;
}

/* The fields that follow are version 2's. */
static void event_v2(struct event *e)
{
    e->v1len = e->len;
}

/* An empty field is sent as absent.  Fields are bounded well below the
 * line length, so one that does not fit cannot occur: it too would be
 * sent as absent, never dropped, so that no field moves to another's place. */
static void event_field(struct event *e, const char *field)
{
    if (field && !*field) field = 0;
    if (filterproto_field(e->buf, sizeof e->buf, &e->len, field, field ? strlen(field) : 0) < 0)
        filterproto_field(e->buf, sizeof e->buf, &e->len, 0, 0);
}

static void event_number(struct event *e, unsigned long long n)
{
    char num[24];
    snprintf(num, sizeof num, "%llu", n);
    event_field(e, num);
}

/* The whole chain for one event, bounded by the phase's deadline.  The
 * verdict's modifiers are not applied here: see modifiers_apply. */
static void run_filters(enum filter_event ev, struct event *e, struct verdict *v)
{
    static struct {                     /* in this order: see struct headers */
        struct headers headers;
        struct facts facts;
    } store;
    int session = ev == FILTER_CONNECT || ev == FILTER_TLS || ev == FILTER_HELO;
    v->headers = &store.headers;
    v->facts = &store.facts;
    v->outcome = O_CONTINUE;
    v->score = 0;
    v->class_set = 0;
    v->headers->len = 0;
    v->facts->n = 0;
    if (!filters_want(ev)) return;
    filters_event(ev, e, s.deadline, v, session ? &s.session_trail : &tx.trail);
}

/* A refusal from the filters: the reply, and a 421 ends the session. */
static int refused(const struct verdict *v)
{
    if (v->outcome != O_REJECT && v->outcome != O_TEMPFAIL) return 0;
    reply_verdict(v);
    if (v->code == 421) session_end("closed by filter");
    if (v->code / 100 == 5) protocol_error();
    return 1;
}

/* Will the modifiers of an event fit?  When they do not, the event is
 * refused (451) rather than a field or a fact lost: fail closed. */
static int modifiers_fit(const struct modifiers *m, const struct verdict *v)
{
    static struct facts all;            /* 9 KB: copied only when there are facts */
    if (m->headers.len + v->headers->len > sizeof m->headers.buf) {
        log_warn("header fields from the filters over %zu octets: refused", sizeof m->headers.buf);
    } else if (v->facts->n && (all = m->facts, facts_merge(&all, v->facts) < 0)) {
        log_warn("facts from the filters over %d: refused", FILTERPROTO_FACTS);
    } else {
        return 1;
    }
    reply(451, "4.3.0", T_FILTER_FAILED);
    return 0;
}

/* Apply the modifiers of an event that passed (they fit). */
static void modifiers_add(struct modifiers *m, const struct verdict *v)
{
    memcpy(m->headers.buf + m->headers.len, v->headers->buf, v->headers->len);
    m->headers.len += v->headers->len;
    m->score += v->score;
    facts_merge(&m->facts, v->facts);
}

/* The event passes if no filter refused it and its modifiers fit. */
static int passes(struct modifiers *m, const struct verdict *v)
{
    if (refused(v) || !modifiers_fit(m, v)) return 0;
    modifiers_add(m, v);
    return 1;
}

/* --- the transaction ---------------------------------------------------- */

/* Waits for the forwarder end with the phase; -w bounds the end of data. */
static int64_t forward_deadline(void)
{
    return s.deadline;
}

/* The forwarder is gone: no message can be relayed on this connection. */
static void forwarder_lost(void) __attribute__((noreturn));
static void forwarder_lost(void)
{
    reply(421, "4.3.0", T_UNAVAILABLE);
    session_end("forwarder failed");
}

/* The forwarder's replies, one at a time: each is used (or kept in
 * tx.upstream_refusal) before the next is read.  One for the session
 * rather than a 16 KB local in every handler that reads one: frames
 * stay small, and so do the stack pages a connection touches. */
static struct smtp_reply fwd_reply;

static void upstream_rset(void)
{
    if (tx.upstream == 1 && forwarder_request("RSET", &fwd_reply, forward_deadline()) < 0)
        forwarder_lost();
    tx.upstream = 0;
}

/* A transaction given up before its end (RSET, HELO). */
static void transaction_abort(const char *result)
{
    struct event e;
    struct verdict v;
    if (!tx.in_mail) return;
    upstream_rset();
    event_start(&e, FILTER_RSET);
    run_filters(FILTER_RSET, &e, &v);
    transaction_log(result, 0);         /* the rset event's time in it */
    transaction_clear();
}

/* --- version 2: context and changes ------------------------------------- */

static void context_start(struct event *e, enum filter_context c)
{
    e->len = (size_t)snprintf(e->buf, sizeof e->buf, "%s", filterproto_context_name(c));
}

static int context_put(struct io_out *out, const struct event *e, int64_t deadline)
{
    return io_put(out, e->buf, e->len, deadline) < 0 || io_put(out, "\n", 1, deadline) < 0 ? -1 : 0;
}

const char *session_conn(void)
{
    return s.conn;
}

unsigned session_transaction(void)
{
    return s.transactions;
}

/* The transaction's id, as in the Received field. */
static const char *transaction_id(void)
{
    static char id[LOG_CONN_ID_MAX + 16];
    snprintf(id, sizeof id, "%s.%u", s.conn, s.transactions);
    return id;
}

int session_context(struct io_out *out, enum filter_event ev, const struct verdict *v,
                    int64_t deadline)
{
    const struct facts *scope[4] = { &s.connect_mods.facts, &s.helo_mods.facts,
                                     &tx.tx_mods.facts, v->facts };
    struct event e;
    unsigned i, k;
    char params[TX_PARAMS_MAX];
    for (i = 0; i < 4; i++)
        for (k = 0; k < scope[i]->n; k++) {
            context_start(&e, CONTEXT_FACT);
            event_field(&e, scope[i]->f[k].name);
            event_field(&e, scope[i]->f[k].value);
            if (context_put(out, &e, deadline) < 0) return -1;
        }
    context_start(&e, CONTEXT_SCORE);
    e.len += (size_t)snprintf(e.buf + e.len, sizeof e.buf - e.len, " %ld",
                              s.connect_mods.score + s.helo_mods.score + tx.tx_mods.score + v->score);
    if (context_put(out, &e, deadline) < 0) return -1;
    if (ev != FILTER_EOM && ev != FILTER_REPORT) return 0;
    context_start(&e, CONTEXT_CLIENT);
    event_field(&e, s.ip);
    event_field(&e, s.port);
    event_field(&e, s.localip);
    event_field(&e, s.localport);
    event_field(&e, s.remotehost);
    event_field(&e, s.helo[0] ? (s.esmtp ? "EHLO" : "HELO") : 0);
    event_field(&e, s.helo);
    event_field(&e, s.tls ? s.tls_info.version : 0);
    event_field(&e, s.tls ? s.tls_info.cipher : 0);
    if (context_put(out, &e, deadline) < 0) return -1;
    context_start(&e, CONTEXT_SENDER);
    event_field(&e, tx.sender);
    event_field(&e, transaction_params_all(params));
    event_field(&e, transaction_id());
    if (context_put(out, &e, deadline) < 0) return -1;
    for (i = 0; i < tx.nrcpts; i++) {
        const struct rcpt *r = transaction_rcpt(i);
        if (!rcpt_live(r)) continue;
        context_start(&e, CONTEXT_RECIPIENT);
        event_field(&e, r->addr);
        event_number(&e, (unsigned long long)(ev == FILTER_REPORT ? tx.final_code : r->code));
        event_field(&e, r->params);
        if (context_put(out, &e, deadline) < 0) return -1;
    }
    return 0;
}

/* The spool was written and may now hold half a change: whatever the
 * filter's policy, this message is not relayed (data_verdict). */
static const char *damaged(const char *what)
{
    log_warn_sys("%s", what);
    tx.damaged = 1;
    return "the changed message could not be stored";
}

const char *session_apply_changes(const struct changes *c)
{
    static char why[128];
    unsigned i, adds = 0;
    int replace = 0, headers = 0, r;
    unsigned long long size = tx.size;
    const char *bad;
    struct stat st;
    for (i = 0; i < c->n; i++) {
        switch (c->c[i].kind) {
        case FILTER_REPLACE_MESSAGE: replace = 1; break;
        case FILTER_INSERT_HEADER: case FILTER_CHANGE_HEADER: headers = 1; break;
        case FILTER_ADD_RECIPIENT: adds++; break;
        default: break;
        }
    }
    /* Everything that can be checked is, before the spool is touched: a
     * change refused leaves the message as it was. */
    if (replace && message_check(s.scratch.fd_rw, cfg.size_limit, &size, &bad) < 0) {
        snprintf(why, sizeof why, "replacement message: %s", bad);
        return why;
    }
    if (tx.nrcpts + adds > transaction_capacity()) return "too many recipients added";
    if (replace) {
        /* The new message, with the header changes if any, straight into
         * the spool; message_edit refuses a header too large before it
         * writes anything. */
        r = headers ? message_edit(s.scratch.fd_rw, s.spool.fd_rw, c) : message_copy(s.scratch.fd_rw, s.spool.fd_rw);
        if (r == -2) return "header changes: the header is over 256 KB";
        if (r < 0) return damaged("unable to replace the message");
    } else if (headers) {
        r = message_edit(s.spool.fd_rw, s.scratch.fd_rw, c);
        if (r == -2) return "header changes: the header is over 256 KB";
        if (r < 0) {
            log_warn_sys("unable to change the header");
            return "header changes: not stored";
        }
        if (message_copy(s.scratch.fd_rw, s.spool.fd_rw) < 0) return damaged("unable to change the header");
    }
    if ((replace || headers) && fstat(s.spool.fd_rw, &st) == 0) size = (unsigned long long)st.st_size;
    tx.size = size;
    transaction_change_envelope(c);
    if (eom_event) eom_line(eom_event);
    if (tx.added || tx.deleted || tx.sender_changed) filters_set_oneshot_env(oneshot_environment());
    return 0;
}

static void log_tls(struct log_line *l)
{
    log_kv_str(l, "tls", s.tls_info.version);
    log_kv_str(l, "cipher", s.tls_info.cipher);
    if (s.tls_info.peer[0]) log_kv_str(l, "peer", s.tls_info.peer);
}

static void transaction_log(const char *result, int code)
{
    struct log_line l;
    char list[LOG_LINE_MAX];
    size_t len = 0;
    unsigned i;
    /* What the client saw is in reply=; the result says why. */
    if (!strcmp(result, "tempfailed") && tx.unavailable) result = "unavailable";
    else if (!code && tx.nrcpts && !tx.accepted) result = tx.unavailable ? "unavailable" : "norecipient";
    log_line_event(&l, "transaction");
    log_kv_num(&l, "n", s.transactions);
    log_kv_str(&l, "ip", s.ip);
    log_kv_str(&l, "helo", s.helo);
    if (s.tls) log_tls(&l);
    len = (size_t)snprintf(list, sizeof list, "<%s>", tx.sender);
    log_kv(&l, "from", list, len);
    for (i = 0, len = 0; i < tx.nrcpts && len < sizeof list - 300; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s<%s>:%d", i ? "," : "",
                                transaction_rcpt(i)->addr, transaction_rcpt(i)->code);
    if (len) log_kv(&l, "rcpt", list, len);
    if (tx.rcpt_lost) log_kv_num(&l, "rcpt_unlogged", tx.rcpt_lost);
    log_kv_num(&l, "accepted", tx.accepted);
    if (tx.class_set && tx.class[0]) log_kv_str(&l, "class", tx.class);
    if (tx.size) log_kv_num(&l, "size", (long long)tx.size);
    if (tx.size && message_id(s.spool.fd_ro, list, 201)) log_kv_str(&l, "msgid", list);
    if (tx.tx_mods.score || s.connect_mods.score || s.helo_mods.score)
        log_kv_num(&l, "score", tx.tx_mods.score + s.connect_mods.score + s.helo_mods.score);
    if (s.connect_mods.facts.n || s.helo_mods.facts.n || tx.tx_mods.facts.n) {
        const struct facts *scope[3] = { &s.connect_mods.facts, &s.helo_mods.facts, &tx.tx_mods.facts };
        for (i = 0, len = 0; i < 3; i++) {
            unsigned k;
            for (k = 0; k < scope[i]->n && len < sizeof list - 600; k++)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s=%s", len ? "," : "",
                                        scope[i]->f[k].name, scope[i]->f[k].value);
        }
        log_kv(&l, "facts", list, len);
    }
    if (tx.trail.buf[0]) log_kv_str(&l, "filters", tx.trail.buf);
    if (filters_times(list, sizeof list, 1)) log_kv_str(&l, "filter_ms", list);
    if (tx.upstream_code) log_kv_num(&l, "upstream", tx.upstream_code);
    if (code) log_kv_num(&l, "reply", code);
    if (tx.upstream_code) {
        log_kv_num(&l, "upstream_ms", tx.upstream_ms);
        log_kv_str(&l, "upstream_text", tx.upstream_text);
    }
    log_kv_str(&l, "result", result);
    log_kv_num(&l, "ms", deadline_now() - tx.tx_start);
    log_line_emit(&l);
}

/* --- the session's end -------------------------------------------------- */

static void session_finish(const char *reason, int status) __attribute__((noreturn));
static void session_finish(const char *reason, int status)
{
    struct log_line l;
    int64_t deadline = deadline_in_seconds(5);
    if (s.ending++) _exit(111);           /* a write error while ending */
    io_flush(&s.out, deadline);
    /* Whatever ended the session: a message the smarthost took is
     * reported (a duplicate detector records it), then logged. */
    if (tx.in_mail && tx.delivered && !tx.reported) {
        s.deadline = deadline;
        report("delivered", tx.delivered);
        transaction_log(tx.quarantine ? "quarantined" : "delivered", tx.delivered);
        tx.in_mail = 0;
    }
    if (tx.in_mail) {
        transaction_log(strcmp(reason, "quit") ? reason : "aborted", 0);
        tx.in_mail = 0;
    }
    /* The client first: it has its answer, let it go. */
    shutdown(1, SHUT_RDWR);
    close(0);
    close(1);
    forwarder_stop(deadline);
    filters_stop(deadline);
    if (s.tls_pid > 0) child_reap(s.tls_pid, -1, deadline);
    log_line_event(&l, "end");
    log_kv_str(&l, "ip", s.ip);
    if (s.helo[0]) log_kv_str(&l, "helo", s.helo);
    if (s.tls) log_tls(&l);
    log_kv_num(&l, "transactions", s.transactions);
    if (s.errors) log_kv_num(&l, "errors", s.errors);
    if (s.session_trail.buf[0]) log_kv_str(&l, "filters", s.session_trail.buf);
    {
        char times[1024];
        if (filters_times(times, sizeof times, 0)) log_kv_str(&l, "filter_ms", times);
    }
    log_kv_str(&l, "reason", reason);
    log_kv_num(&l, "ms", deadline_now() - s.start);
    log_line_emit(&l);
    _exit(status);
}

/* The session is over (whatever happened to its messages: the log says). */
static void session_end(const char *reason)
{
    session_finish(reason, 0);
}

/* SIGTERM, seen where the session waits for its client: a command or a
 * body in progress gets 421; a message in its end-of-data checks or in
 * the relay was never interrupted, and got its final reply before. */
static void terminated(const char *where)
{
    char reason[32];
    reply(421, "4.3.2", T_SHUTDOWN);
    snprintf(reason, sizeof reason, "terminated%s", where);
    session_end(reason);
}

/* A system error of ours: the client got a 421. */
static void session_fail(const char *reason)
{
    session_finish(reason, 111);
}

/* --- commands ----------------------------------------------------------- */

static void do_helo(const struct smtp_command *c, int esmtp)
{
    struct event e;
    struct verdict v;
    char line[512];
    size_t i;
    for (i = 0; i < c->arglen; i++)
        if (c->arg[i] == ' ' || c->arg[i] == '\t') break;
    if (!i || i >= sizeof s.helo) {
        reply(501, "5.5.4", T_BAD_SYNTAX);
        protocol_error();
        return;
    }
    transaction_abort("aborted");
    memcpy(s.helo, c->arg, i);
    s.helo[i] = 0;
    s.helo_seen = 0;
    /* What an earlier HELO brought no longer holds. */
    s.helo_mods.score = 0;
    s.helo_mods.headers.len = 0;
    s.helo_mods.facts.n = 0;
    event_start(&e, FILTER_HELO);
    event_field(&e, esmtp ? "EHLO" : "HELO");
    event_field(&e, s.helo);
    run_filters(FILTER_HELO, &e, &v);
    if (!passes(&s.helo_mods, &v)) return;
    s.helo_seen = 1;
    s.esmtp = esmtp;
    /* For smtp-forward, started at the first recipient, to tell the
     * smarthost who the client is (XCLIENT): see smtp-forward(8). */
    if (setenv("NOQUEUE_HELO", s.helo, 1) < 0 || setenv("NOQUEUE_PROTO", esmtp ? "ESMTP" : "SMTP", 1) < 0)
        log_warn_sys("unable to set NOQUEUE_HELO");
    s.offered.flags = 0;
    s.size_offered = cfg.size_limit;
    if (!esmtp) {
        snprintf(line, sizeof line, "250 %s\r\n", cfg.hostname);
        put(line, strlen(line));
        return;
    }
    /* What the smarthost can honour (SMTPUTF8, DSN, 8BITMIME, a smaller
     * SIZE), as smtp-forward last found it, read once a connection (an
     * EHLO after STARTTLS offers the same); PIPELINING and CHUNKING are
     * ours (the body is spooled however it comes). */
    if (!s.cache_read) {
        ehlo_cache_read(ehlo_cache, &s.cached);
        s.cache_read = 1;
    }
    s.offered = s.cached;
    if (s.offered.flags & EHLO_SIZE && s.offered.size && s.offered.size < s.size_offered)
        s.size_offered = s.offered.size;
    snprintf(line, sizeof line,
             "250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n%s%s%s250-CHUNKING\r\n%s"
             "250 ENHANCEDSTATUSCODES\r\n", cfg.hostname, s.size_offered,
             s.offered.flags & EHLO_8BITMIME ? "250-8BITMIME\r\n" : "",
             s.offered.flags & EHLO_SMTPUTF8 ? "250-SMTPUTF8\r\n" : "",
             s.offered.flags & EHLO_DSN ? "250-DSN\r\n" : "",
             cfg.tls_cert && !s.tls ? "250-STARTTLS\r\n" : "");
    put(line, strlen(line));
}

/* STARTTLS (RFC 3207): smtp-tls takes the connection, we get the plaintext
 * on a socketpair as our fds 0 and 1, and the session starts again. */
static void do_starttls(const struct smtp_command *c)
{
    char *argv[TLSPIPE_ARGV_MAX], secs[24];
    struct tlspipe_args a = { 0 };
    struct event e;
    struct verdict v;
    int plain;

    if (!cfg.tls_cert) { reply(502, "5.5.1", T_NOT_IMPLEMENTED); protocol_error(); return; }
    if (s.tls) { reply(503, "5.5.1", T_BAD_SEQUENCE); protocol_error(); return; }
    if (c->arglen) { reply(501, "5.5.4", T_BAD_SYNTAX); protocol_error(); return; }
    transaction_abort("aborted");
    reply(220, "2.0.0", T_TLS_GO);
    flush();
    /* What the client sent after STARTTLS, before the handshake, is never
     * taken as a command: it would have been sent in the clear (the class
     * of CVE-2011-0411). */
    if (io_buffered(&s.in)) {
        log_warn("discarded %zu octets sent after STARTTLS by %s", io_buffered(&s.in), s.ip);
        io_consume(&s.in, io_buffered(&s.in));
    }
    a.program = cfg.tls_program;
    a.server = 1;
    a.cert = cfg.tls_cert;
    a.key = cfg.tls_key;
    a.request_cert = cfg.tls_request_cert;
    a.cafile = cfg.tls_ca;
    a.deadline = s.deadline;
    tlspipe_argv(&a, argv, secs);
    if (tlspipe_start(argv, 0, 1, &s.tls_pid, &plain) < 0) {
        log_warn_sys("unable to start %s", cfg.tls_program);
        session_fail("tls failed");
    }
    if (dup2(plain, 0) < 0 || dup2(plain, 1) < 0) session_fail("tls failed");
    close(plain);
    if (tlspipe_status(&s.in, &s.tls_info, s.deadline) < 0) {
        log_warn("TLS handshake with %s failed: %s", s.ip, s.tls_info.reason);
        session_end("tls failed");
    }
    s.tls = 1;
    /* RFC 3207 4.2: forget what the client told us before. */
    s.helo_seen = 0;
    s.helo_mods.score = 0;
    s.helo_mods.headers.len = 0;
    s.helo_mods.facts.n = 0;
    event_start(&e, FILTER_TLS);
    event_field(&e, s.tls_info.version);
    event_field(&e, s.tls_info.cipher);
    event_field(&e, s.tls_info.peer);
    event_field(&e, s.tls_info.verify);
    run_filters(FILTER_TLS, &e, &v);
    if (v.outcome == O_TEMPFAIL) {
        v.code = 421;
        reply_verdict(&v);
        session_end("refused by filter");
    }
    if (v.outcome == O_REJECT) {
        /* Said in answer to the next command, then 503 to the rest. */
        v.code = 554;
        s.refusal = v;
        s.refusal_pending = s.refused = 1;
        return;
    }
    if (!modifiers_fit(&s.connect_mods, &v)) session_end("refused: header fields");
    modifiers_add(&s.connect_mods, &v);
}

/* MAIL's parameters: 0, or -1 after the reply.  SIZE and BODY as
 * always; SMTPUTF8, RET and ENVID only when offered (the smarthost has
 * them), kept as given for the smarthost. */
static int mail_parameters(const char *p, const char *end)
{
    struct smtp_param prm;
    unsigned seen = 0;
    int r, valid;
    tx.size_param[0] = tx.body_param[0] = tx.mail_params[0] = 0;
    tx.smtputf8 = 0;
    while ((r = smtp_param_next(&p, end, &prm)) > 0) {
        enum smtp_param_kind k = smtp_param_kind(&prm, 0, &valid);
        unsigned needs = k == SMTP_PARAM_SMTPUTF8 ? EHLO_SMTPUTF8 :
                         k == SMTP_PARAM_RET || k == SMTP_PARAM_ENVID ? EHLO_DSN : 0;
        if (k == SMTP_PARAM_UNKNOWN || (needs && !(s.offered.flags & needs)) ||
            (k == SMTP_PARAM_BODY && !strcasecmp(prm.value, "BINARYMIME"))) {
            reply(555, "5.5.4", T_BAD_PARAMETER);
            protocol_error();
            return -1;
        }
        if (!valid || seen & (1u << k)) break;      /* bad, or given twice */
        seen |= 1u << k;
        if (k == SMTP_PARAM_SIZE) {
            unsigned long size;
            /* At most 20 digits, as smtp-forward takes it. */
            if (!scan_ulong(prm.value, ~0UL, &size)) break;
            /* Over our own limit: refused here.  Over the smarthost's as
             * last seen (it may have changed, or be another of the list):
             * the smarthost says so itself, to the SIZE it is given. */
            if (size > cfg.size_limit) {
                reply(552, "5.3.4", T_TOO_BIG);
                return -1;
            }
            strcpy(tx.size_param, prm.value);
            continue;
        }
        if (k == SMTP_PARAM_BODY) {
            strcpy(tx.body_param, prm.value);
            continue;
        }
        /* SMTPUTF8, RET, ENVID: passed on byte for byte (they fit). */
        transaction_param_append(tx.mail_params, sizeof tx.mail_params, &prm);
        if (k == SMTP_PARAM_SMTPUTF8) tx.smtputf8 = 1;
    }
    if (r == 0) return 0;
    reply(501, "5.5.4", T_BAD_SYNTAX);
    protocol_error();
    return -1;
}

/* Where the parameters start: after the path, whatever it holds (a
 * quoted local part may hold spaces); SMTPUTF8 among them says how the
 * path is read. */
static const char *path_end(const char *p, const char *end)
{
    for (; p < end && *p != ' '; p++)
        if (*p == '"')
            while (++p < end && *p != '"')
                if (*p == '\\' && p + 1 < end) p++;
    return p < end ? p : end;
}

static void do_mail(const struct smtp_command *c)
{
    char params[TX_PARAMS_MAX];
    char addr[SMTP_ADDRESS_MAX + 1];
    size_t k, used;
    int path;
    struct event e;
    struct verdict v;

    if (!s.helo_seen || tx.in_mail) {
        reply(503, "5.5.1", T_BAD_SEQUENCE);
        protocol_error();
        return;
    }
    if (cfg.tls_required && !s.tls) {
        reply(530, "5.7.0", T_TLS_REQUIRED);
        protocol_error();
        return;
    }
    k = smtp_path_prefix(c->arg, c->arglen, "FROM:");
    if (!k) { reply(501, "5.5.4", T_BAD_SYNTAX); protocol_error(); return; }
    /* A path that is none, whatever SMTPUTF8 says, is a bad sender. */
    path = smtp_path_parse_utf8(c->arg + k, c->arglen - k, 1, 1, addr, &used);
    if (path != SMTP_PATH_OK && path != SMTP_PATH_NOT_ASCII) {
        reply(501, "5.1.7", T_BAD_SENDER);
        protocol_error();
        return;
    }
    transaction_clear();                /* no transaction is open: nothing lost */
    tx.offered = s.offered.flags;       /* for the filters' envelope changes */
    if (mail_parameters(path_end(c->arg + k, c->arg + c->arglen), c->arg + c->arglen) < 0) {
        transaction_clear();
        return;
    }
    switch (smtp_path_parse_utf8(c->arg + k, c->arglen - k, 1, tx.smtputf8, addr, &used)) {
    case SMTP_PATH_OK:
        if (c->arg + k + used == path_end(c->arg + k, c->arg + c->arglen)) break;
        /* fall through */
    default:
        transaction_clear();
        reply(501, "5.1.7", T_BAD_SENDER);
        protocol_error();
        return;
    case SMTP_PATH_NOT_ASCII:
        /* RFC 6531 3.7.4.1: without SMTPUTF8, or not UTF-8 */
        transaction_clear();
        reply(553, "5.6.7", T_BAD_SENDER);
        protocol_error();
        return;
    }
    strcpy(tx.sender, addr);
    tx.tx_start = deadline_now();
    s.transactions++;
    event_start(&e, FILTER_MAIL);
    event_field(&e, addr[0] ? addr : 0);
    event_v2(&e);
    event_field(&e, transaction_params_all(params));
    run_filters(FILTER_MAIL, &e, &v);
    if (!passes(&tx.tx_mods, &v)) {
        int code = v.outcome == O_REJECT || v.outcome == O_TEMPFAIL ? v.code : 451;
        transaction_log(code / 100 == 5 ? "rejected" : "tempfailed", code);
        return;
    }
    tx.in_mail = 1;
    reply(250, "2.1.0", T_OK);
}

/* A 4xx with 4.4.x (network and routing): smtp-forward's own when the
 * smarthost cannot be reached or was lost, or the smarthost's of that
 * kind.  The log's result says "unavailable" then. */
static void upstream_seen(const struct smtp_reply *r)
{
    if (r->code / 100 == 4 && r->len > 8 && !memcmp(r->text + 4, "4.4.", 4)) tx.unavailable = 1;
}

/* Any reply of the forwarder outside 2xx, 4xx, 5xx is made a 451. */
static void reply_checked(struct smtp_reply *r)
{
    char text[STATUSTEXT_MAX + 8];
    if (r->code / 100 == 2 || r->code / 100 == 4 || r->code / 100 == 5) return;
    snprintf(text, sizeof text, "4.5.0 %s", texts[T_UPSTREAM_PROTOCOL].text);
    smtp_reply_set(r, 451, text);
}

/* MAIL goes to the smarthost with the first recipient that passes, in
 * one write; the reply to MAIL is read here, the RCPT's by the caller. */
static void upstream_mail(const char *rcpt_line)
{
    char line[SMTP_ADDRESS_MAX + TX_PARAMS_MAX + 16], params[TX_PARAMS_MAX];
    struct smtp_reply *r = &fwd_reply;
    const char *p = transaction_params_all(params);
    snprintf(line, sizeof line, "MAIL FROM:<%s>%s%s", tx.sender, p ? " " : "", p ? p : "");
    if (forwarder_send(line, forward_deadline()) < 0 ||
        forwarder_send(rcpt_line, forward_deadline()) < 0 ||
        forwarder_reply(r, forward_deadline()) < 0)
        forwarder_lost();
    reply_checked(r);
    upstream_seen(r);
    if (r->code / 100 == 2) {
        tx.upstream = 1;
        return;
    }
    /* the reply's text only, not the whole 16 KB */
    memcpy(&tx.upstream_refusal, r, offsetof(struct smtp_reply, text) + r->len + 1);
    tx.upstream = -1;
}

static void do_rcpt(const struct smtp_command *c)
{
    char addr[SMTP_ADDRESS_MAX + 1], line[SMTP_ADDRESS_MAX + TX_RCPT_PARAMS_MAX + 16];
    char params[TX_RCPT_PARAMS_MAX];
    const char *class, *p;
    size_t k, used;
    struct smtp_param prm;
    unsigned seen = 0;
    int pe, valid;
    struct event e;
    struct verdict v;
    struct smtp_reply *r = &fwd_reply;

    /* Once the message has begun (BDAT), the envelope is closed. */
    if (!tx.in_mail || tx.bdat) { reply(503, "5.5.1", T_BAD_SEQUENCE); protocol_error(); return; }
    k = smtp_path_prefix(c->arg, c->arglen, "TO:");
    if (!k) { reply(501, "5.5.4", T_BAD_SYNTAX); protocol_error(); return; }
    switch (smtp_path_parse_utf8(c->arg + k, c->arglen - k, 0, tx.smtputf8, addr, &used)) {
    case SMTP_PATH_OK: break;
    case SMTP_PATH_NOT_ASCII:
        reply(553, "5.6.7", T_BAD_RECIPIENT);
        protocol_error();
        return;
    default:
        reply(501, "5.1.3", T_BAD_RECIPIENT);
        protocol_error();
        return;
    }
    /* NOTIFY and ORCPT (RFC 3461) when DSN is offered, kept as given. */
    p = c->arg + k + used;
    params[0] = 0;
    if (p < c->arg + c->arglen && *p != ' ') pe = -1;
    else
        while ((pe = smtp_param_next(&p, c->arg + c->arglen, &prm)) > 0) {
            enum smtp_param_kind kind = smtp_param_kind(&prm, 1, &valid);
            if (kind == SMTP_PARAM_UNKNOWN || !(s.offered.flags & EHLO_DSN)) {
                reply(555, "5.5.4", T_BAD_PARAMETER);
                protocol_error();
                return;
            }
            if (!valid || seen & (1u << kind)) { pe = -1; break; }
            seen |= 1u << kind;
            transaction_param_append(params, sizeof params, &prm);
        }
    if (pe < 0) { reply(501, "5.5.4", T_BAD_SYNTAX); protocol_error(); return; }
    if (tx.accepted >= cfg.max_rcpt) {
        reply(452, "4.5.3", T_TOO_MANY_RECIPIENTS);
        transaction_record_params(addr, params, 452);
        protocol_error();
        return;
    }
    event_start(&e, FILTER_RCPT);
    event_field(&e, addr);
    event_v2(&e);
    event_field(&e, params);
    run_filters(FILTER_RCPT, &e, &v);
    if (refused(&v)) {
        transaction_record_params(addr, params, v.code);
        return;
    }
    /* Checked before the smarthost hears of the recipient, never after. */
    if (!modifiers_fit(&tx.tx_mods, &v)) {
        transaction_record_params(addr, params, 451);
        return;
    }
    /* Multi-recipient policy: one rule class per transaction. */
    class = v.class_set ? v.class : "";
    if (tx.class_set && strcmp(class, tx.class)) {
        if (!cfg.first) {
            reply(452, "4.5.3", T_TOO_MANY_RECIPIENTS);
            transaction_record_params(addr, params, 452);
            return;
        }
        class = tx.class;
    }
    snprintf(line, sizeof line, "RCPT TO:<%s>%s%s", addr, params[0] ? " " : "", params);
    if (tx.upstream == 0) {
        upstream_mail(line);
        /* The RCPT went with MAIL: its reply (a 503 after a refused MAIL)
         * is read in any case, to keep the replies in step. */
        if (forwarder_reply(r, forward_deadline()) < 0) forwarder_lost();
    } else if (tx.upstream > 0 && forwarder_request(line, r, forward_deadline()) < 0) {
        forwarder_lost();
    }
    if (tx.upstream < 0) r = &tx.upstream_refusal;
    else reply_checked(r);
    upstream_seen(r);
    /* The recipient's modifiers count only once the smarthost took it. */
    if (r->code / 100 == 2) {
        modifiers_add(&tx.tx_mods, &v);
        tx.accepted++;
        if (!tx.class_set) {
            memcpy(tx.class, class, strlen(class) + 1);
            tx.class_set = 1;
        }
    }
    reply_upstream(r);
    transaction_record_params(addr, params, r->code);
    if (r->code / 100 == 5) protocol_error();
}

/* The body, to the spool. */
enum body { BODY_OK, BODY_EOF, BODY_TIMEOUT, BODY_TERMINATED, BODY_ERROR };

static enum body receive_body(struct smtp_undot *u, int *too_big, int *spool_errno)
{
    static char out[2 * 32768 + 8];
    /* One deadline for the body, pushed back by every octet that comes
     * (Postfix's minimum data rate): a large message on a slow but
     * steady link gets the time it needs, a drip still ends. */
    int64_t start = deadline_now(), base = (int64_t)cfg.body_timeout * 1000;
    unsigned long long got = 0;
    smtp_undot_init(u);
    *too_big = 0;
    session_files();
    *spool_errno = spool_reset(&s.spool) < 0 ? errno : 0;
    for (;;) {
        size_t take, used, outlen;
        if (!io_buffered(&s.in)) {
            ssize_t r;
            s.deadline = start + base + (cfg.min_data_rate ? (int64_t)(got * 1000 / cfg.min_data_rate) : 0);
            r = io_fill(&s.in, s.deadline);
            if (r == 0) return BODY_EOF;
            if (r < 0) return errno == ETIMEDOUT ? BODY_TIMEOUT : errno == EINTR ? BODY_TERMINATED : BODY_ERROR;
        }
        take = io_buffered(&s.in) < 32768 ? io_buffered(&s.in) : 32768;
        used = smtp_undot_feed(u, io_peek(&s.in), take, out, &outlen);
        io_consume(&s.in, used);
        if (u->size > cfg.size_limit) *too_big = 1;
        if (!*too_big) got += used;         /* a message refused earns no time */
        if (outlen && !*too_big && !*spool_errno &&
            io_write_all(s.spool.fd_rw, out, outlen, DEADLINE_NONE) < 0)
            *spool_errno = errno;
        if (u->done) return BODY_OK;
    }
}

/* The Received field we add on top (RFC 5321 4.4).  A HELO name that is
 * not a domain or an address literal would break its syntax: its odd
 * characters are shown as '_'. */
static void received_header(struct headers *h)
{
    char value[1024], date[64], helo[sizeof s.helo], tls[160];
    time_t now = time(0);
    struct tm tm;
    size_t i;
    int n;
    for (i = 0; s.helo[i]; i++)
        helo[i] = strchr("()<>[]\\\";@,", s.helo[i]) ? '_' : s.helo[i];
    helo[i] = 0;
    if (smtp_domain_valid(s.helo, i)) strcpy(helo, s.helo);
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    if (s.tls)
        snprintf(tls, sizeof tls, "\r\n\t(using %s with cipher %s)", s.tls_info.version,
                 s.tls_info.cipher);
    n = snprintf(value, sizeof value, "from %s (%s%s[%s])%s\r\n\tby %s (noqueue) with %s%s id %s.%u;\r\n\t%s",
                 helo, s.remotehost ? s.remotehost : "", s.remotehost ? " " : "",
                 s.ip, s.tls ? tls : "", cfg.hostname,
                 /* RFC 6531 3.7.3: UTF8SMTP when SMTPUTF8 was used */
                 tx.smtputf8 ? "UTF8SMTP" : s.esmtp ? "ESMTP" : "SMTP",
                 s.tls ? "S" : "", s.conn, s.transactions, date);
    if (n > 0 && (size_t)n < sizeof value && header_value_valid(value, (size_t)n))
        headers_add(h, "Received", value, (size_t)n);
}

/* The octets a list of fields takes in the message: each with CRLF. */
static size_t headers_size(const struct headers *h)
{
    size_t n = h->len, i;
    for (i = 0; i < h->len; i++) if (!h->buf[i]) n++;       /* NUL -> CRLF */
    return n;
}

/* Every field to the forwarder, in one write with the DATA that follows;
 * returns how many were sent.  A field it refuses makes it refuse that
 * DATA too: a field a filter asked for is never lost. */
static unsigned send_headers(const struct headers *h)
{
    char line[7 + 3 * sizeof h->buf + 1];
    const char *p = h->buf, *end = h->buf + h->len;
    unsigned n = 0;
    for (; p < end; p += strlen(p) + 1, n++) {
        memcpy(line, "HEADER ", 7);
        if (xtext_encode(line + 7, sizeof line - 7, p, strlen(p)) < 0 ||
            forwarder_send(line, forward_deadline()) < 0)
            forwarder_lost();
    }
    return n;
}

static void report(const char *outcome, int code)
{
    struct event e;
    struct verdict v;
    tx.final_code = code;
    tx.reported = 1;
    if (!filters_want(FILTER_REPORT)) return;
    event_start(&e, FILTER_REPORT);
    /* The smarthost took a quarantined message: for the filters it was
     * delivered (the fact quarantine says where). */
    event_field(&e, strcmp(outcome, "quarantined") ? outcome : "delivered");
    event_number(&e, (unsigned long long)code);
    run_filters(FILTER_REPORT, &e, &v);
}

static long threshold(void)
{
    long t = 0;
    unsigned i;
    for (i = 0; i < cfg.nthresholds; i++) {
        if (!cfg.thresholds[i].class[0]) t = cfg.thresholds[i].points;
        else if (tx.class_set && !strcmp(cfg.thresholds[i].class, tx.class))
            return cfg.thresholds[i].points;
    }
    return t;
}

/* The message has its final reply: the filters hear of it (even when the
 * client cannot: a delivered message must be recorded, or its retry is
 * delivered twice), the log too, and the envelope deadline starts again. */
static void transaction_done(const char *result, int code)
{
    int written;
    s.deadline = deadline_in_seconds(cfg.envelope_timeout);
    written = io_flush(&s.out, s.deadline) == 0;
    report(result, code);
    transaction_log(result, code);
    transaction_clear();
    if (!written) session_end("write error");
}

/* Refused or dropped at its end: the smarthost forgets the transaction. */
static void message_refused(const char *result, int code)
{
    upstream_rset();
    transaction_done(result, code);
}

/* One-shot filters learn the envelope from their environment. */
static char **oneshot_environment(void)
{
    extern char **environ;
    static char sender[SMTP_ADDRESS_MAX + 32], class[64], *recipients;
    static char **env;
    size_t n = 0, i, len;
    unsigned k;
    for (k = 0; k < cfg.nfilters && !cfg.filters[k].oneshot; k++) ;
    if (k == cfg.nfilters) return 0;
    if (!env) {
        while (environ[n]) n++;
        recipients = malloc((size_t)transaction_capacity() * (SMTP_ADDRESS_MAX + 1) + 32);
        env = recipients ? calloc(n + 4, sizeof *env) : 0;
        if (!env) return 0;
        for (i = 0; i < n; i++) env[i] = environ[i];
        env[n] = sender;
        env[n + 1] = recipients;
        env[n + 2] = class;
    }
    snprintf(sender, sizeof sender, "NOQUEUE_SENDER=%s", tx.sender);
    snprintf(class, sizeof class, "NOQUEUE_CLASS=%s", tx.class_set ? tx.class : "");
    len = (size_t)sprintf(recipients, "NOQUEUE_RECIPIENTS=");
    for (k = 0; k < tx.nrcpts; k++)
        if (rcpt_live(transaction_rcpt(k)))
            len += (size_t)sprintf(recipients + len, "%s%s", len > 19 ? " " : "", transaction_rcpt(k)->addr);
    return env;
}

/* Has the smarthost left the transaction while we were busy with the
 * client?  smtp-forward says so unasked: the client gets 451 now, not
 * after its whole message (or its checks).  1 after the reply. */
static int upstream_gone(void)
{
    if (tx.upstream != 1 || !forwarder_upstream_lost()) return 0;
    reply(451, "4.4.2", T_UPSTREAM_LOST);
    message_refused("tempfailed", 451);
    return 1;
}

/* DATA up to the 354: 0 to go on, -1 after a refusal. */
/* The start of the message (DATA, or the first BDAT): the smarthost
 * still there, and the filters' data event.  0 to go on, -1 after the
 * reply. */
static int data_event(void)
{
    struct event e;
    struct verdict v;
    if (upstream_gone()) return -1;
    event_start(&e, FILTER_DATA);
    event_number(&e, tx.accepted);
    run_filters(FILTER_DATA, &e, &v);
    return passes(&tx.tx_mods, &v) ? 0 : -1;
}

static int data_start(const struct smtp_command *c)
{
    if (!tx.in_mail) { reply(503, "5.5.1", T_BAD_SEQUENCE); protocol_error(); return -1; }
    if (c->arglen) { reply(501, "5.5.4", T_BAD_SYNTAX); protocol_error(); return -1; }
    if (!tx.accepted) { reply(554, "5.5.1", T_NO_RECIPIENTS); return -1; }
    if (data_event() < 0) return -1;
    reply(354, "", T_DATA_GO);
    return 0;
}

/* The body, then its checks of form: 0 when it may go to the filters. */
static int data_receive(void)
{
    struct smtp_undot u;
    int too_big, spool_errno;
    switch (receive_body(&u, &too_big, &spool_errno)) {
    case BODY_OK: break;
    case BODY_EOF: session_end("disconnected in data");
    case BODY_TERMINATED: terminated(" in data");
    case BODY_TIMEOUT:
        reply(421, "4.4.2", T_TIMEOUT);
        session_end("timeout in data");
    case BODY_ERROR: session_end("read error in data");
    }
    /* From here to the final reply: one budget for filters and smarthost. */
    s.deadline = deadline_in_seconds(cfg.eom_timeout);
    tx.size = u.size;
    if (u.flags & SMTP_DATA_BARE_EOL) {
        reply(554, "5.6.0", T_BARE_EOL);
        message_refused("rejected", 554);
        return -1;
    }
    if (too_big) {
        reply(552, "5.3.4", T_TOO_BIG);
        message_refused("rejected", 552);
        return -1;
    }
    if (spool_errno) {
        errno = spool_errno;
        log_warn_sys("unable to spool the message");
        reply(452, "4.3.1", T_STORAGE);
        message_refused("tempfailed", 452);
        return -1;
    }
    return upstream_gone() ? -1 : 0;
}

/* The filters' verdict on the message, and the score threshold. */
/* The eom event: the message's size, the class, and in version 2 how many
 * recipients it goes to.  Made again after a filter changed the message,
 * so that the next one is told the truth. */
static void eom_line(struct event *e)
{
    unsigned i, live = 0;
    for (i = 0; i < tx.nrcpts; i++) live += rcpt_live(transaction_rcpt(i));
    event_start(e, FILTER_EOM);
    event_number(e, tx.size);
    event_field(e, tx.class_set && tx.class[0] ? tx.class : 0);
    event_v2(e);
    event_number(e, live);
}

static void data_verdict(struct verdict *v)
{
    struct event e;
    long t, score;
    eom_line(&e);
    filters_set_oneshot_env(oneshot_environment());
    eom_event = &e;
    run_filters(FILTER_EOM, &e, v);
    eom_event = 0;
    score = tx.tx_mods.score + s.connect_mods.score + s.helo_mods.score + v->score;
    t = threshold();
    if (t > 0 && score >= t && v->outcome != O_REJECT && v->outcome != O_TEMPFAIL) {
        v->outcome = O_REJECT;
        v->code = 550;
        snprintf(v->text, sizeof v->text, "5.7.1 %s", texts[T_REJECTED].text);
    }
    tx.tx_mods.score += v->score;
    if (tx.damaged && v->outcome != O_REJECT && v->outcome != O_TEMPFAIL) {
        v->outcome = O_TEMPFAIL;
        v->code = 452;
        snprintf(v->text, sizeof v->text, "4.3.1 %s", texts[T_STORAGE].text);
    }
    /* The facts of eom, for the report and the log (those of a refused
     * message too: they say why); never one dropped. */
    if (facts_merge(&tx.tx_mods.facts, v->facts) < 0 &&
        v->outcome != O_REJECT && v->outcome != O_TEMPFAIL) {
        log_warn("facts from the filters over %d: refused", FILTERPROTO_FACTS);
        v->outcome = O_TEMPFAIL;
        v->code = 451;
        snprintf(v->text, sizeof v->text, "4.3.0 %s", texts[T_FILTER_FAILED].text);
    }
}

/* A quarantined message goes to the quarantine mailbox with two fields
 * on top: why, and who its recipients were (one a line).  0 or -1. */
static int quarantine_fields(void) __attribute__((noinline));
static int quarantine_fields(void)
{
    char line[SMTP_ADDRESS_MAX + 8];
    unsigned i, n = 0;
    int fd = s.scratch.fd_rw, k;
    if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) return -1;
    k = snprintf(line, sizeof line, "X-Noqueue-Quarantine: ");
    if (io_write_all(fd, line, (size_t)k, DEADLINE_NONE) < 0 ||
        io_write_all(fd, tx.quarantine_reason, strlen(tx.quarantine_reason), DEADLINE_NONE) < 0 ||
        io_write_all(fd, "\r\nX-Noqueue-Recipients:", 24, DEADLINE_NONE) < 0)
        return -1;
    for (i = 0; i < tx.nrcpts; i++) {
        if (!rcpt_live(transaction_rcpt(i))) continue;
        k = snprintf(line, sizeof line, "%s <%s>", n++ ? ",\r\n\t" : "", transaction_rcpt(i)->addr);
        if (io_write_all(fd, line, (size_t)k, DEADLINE_NONE) < 0) return -1;
    }
    if (io_write_all(fd, "\r\n", 2, DEADLINE_NONE) < 0) return -1;
    /* the message after them, then all of it back to the spool */
    {
        char buf[65536];
        off_t off = 0;
        ssize_t r;
        while ((r = pread(s.spool.fd_rw, buf, sizeof buf, off)) > 0) {
            if (io_write_all(fd, buf, (size_t)r, DEADLINE_NONE) < 0) return -1;
            off += r;
        }
        if (r < 0) return -1;
    }
    if (message_copy(fd, s.spool.fd_rw) < 0) return -1;
    tx.size = (unsigned long long)lseek(s.spool.fd_rw, 0, SEEK_END);
    return 0;
}

/* The envelope changes of the filters at eom, made at the smarthost
 * before DATA: an added recipient is one more RCPT; a deleted one, a new
 * sender or a quarantine is RSET and the envelope again.  Any refusal on
 * the way tempfails the whole message (the client keeps it and sends it
 * again): 0 to go on, -1 once the client has its reply. */
static void send_to_forwarder(const char *line, void *arg)
{
    (void)arg;
    if (forwarder_send(line, s.deadline) < 0) forwarder_lost();
}

static int envelope_apply(void)
{
    struct smtp_reply *r = &fwd_reply;
    unsigned i, sent, live = 0, refused = 0;
    if (!tx.sender_changed && !tx.deleted && !tx.quarantine && !tx.added) return 0;
    for (i = 0; i < tx.nrcpts; i++) live += rcpt_live(transaction_rcpt(i));
    if (tx.quarantine && !cfg.quarantine) {
        log_warn("a filter quarantined the message, and no quarantine mailbox is set (-Q)");
        reply(451, "4.3.0", T_FILTER_FAILED);
        message_refused("tempfailed", 451);
        return -1;
    }
    if (!live && !tx.quarantine) {
        /* Every recipient deleted: as a discard. */
        reply(250, "2.0.0", T_DISCARDED);
        message_refused("discarded", 250);
        return -1;
    }
    if (tx.quarantine && quarantine_fields() < 0) {
        log_warn_sys("unable to add the quarantine fields");
        reply(451, "4.3.0", T_STORAGE);
        message_refused("tempfailed", 451);
        return -1;
    }
    sent = transaction_replay(send_to_forwarder, 0, cfg.quarantine);
    tx.upstream = 1;
    for (i = 0; i < sent; i++) {
        if (forwarder_reply(r, s.deadline) < 0) forwarder_lost();
        reply_checked(r);
        if (r->code / 100 != 2) {
            if (!refused++)
                log_warn("the smarthost refused the changed envelope: %.*s",
                         (int)strcspn(r->text, "\n"), r->text);
        }
    }
    if (!refused) return 0;
    reply(451, "4.3.0", T_ENVELOPE_REFUSED);
    message_refused("tempfailed", 451);
    return -1;
}

/* To the smarthost: our Received field, the filters' fields (connect,
 * HELO, transaction, end of data), the message; its reply is the client's. */
static void data_relay(const struct verdict *v)
{
    struct headers received;
    struct smtp_reply *r = &fwd_reply;
    char line[32];
    const char *eol;
    int64_t began;
    unsigned fields, refused = 0;
    received.len = 0;
    if (cfg.received) received_header(&received);
    /* Each scope fits, but together they must fit the forwarder too. */
    if (headers_size(&received) + headers_size(&s.connect_mods.headers) +
        headers_size(&s.helo_mods.headers) + headers_size(&tx.tx_mods.headers) +
        headers_size(v->headers) > HEADER_BLOCK_MAX) {
        log_warn("header fields for the message over %d octets: refused", HEADER_BLOCK_MAX);
        reply(451, "4.3.0", T_FILTER_FAILED);
        message_refused("tempfailed", 451);
        return;
    }
    fields = send_headers(&received) + send_headers(&s.connect_mods.headers) +
             send_headers(&s.helo_mods.headers) + send_headers(&tx.tx_mods.headers) +
             send_headers(v->headers);
    /* The forwarder gets what is left of the budget, less a margin, so
     * that its own timeout answers before ours. */
    snprintf(line, sizeof line, "DATA %u", deadline_seconds_left(s.deadline, 5));
    began = deadline_now();
    if (forwarder_send(line, s.deadline) < 0) forwarder_lost();
    while (fields--) {
        if (forwarder_reply(r, s.deadline) < 0) forwarder_lost();
        if (r->code / 100 != 2) refused++;
    }
    if (forwarder_reply(r, s.deadline) < 0) forwarder_lost();
    if (refused) log_warn("the forwarder refused %u header field%s", refused, refused > 1 ? "s" : "");
    reply_checked(r);
    upstream_seen(r);
    tx.upstream_code = r->code;
    tx.upstream_ms = deadline_now() - began;
    eol = strchr(r->text, '\n');
    if (eol && eol - r->text > 4)
        snprintf(tx.upstream_text, sizeof tx.upstream_text, "%.*s", (int)(eol - r->text - 4), r->text + 4);
    if (r->code / 100 == 2) tx.delivered = r->code;   /* reported whatever comes */
    reply_upstream(r);
    if (r->code / 100 == 2) {
        tx.upstream = 0;                 /* the transaction is over upstream */
        transaction_done(tx.quarantine ? "quarantined" : "delivered", r->code);
    } else {
        message_refused(r->code / 100 == 4 ? "tempfailed" : "rejected", r->code);
    }
}

/* The message is whole and spooled (DATA or BDAT LAST): the filters'
 * verdict, the envelope changes, the relay. */
static void message_end(void)
{
    struct verdict v;
    data_verdict(&v);
    switch (v.outcome) {
    case O_REJECT:
    case O_TEMPFAIL:
        reply_verdict(&v);
        message_refused(v.outcome == O_REJECT ? "rejected" : "tempfailed", v.code);
        if (v.code == 421) session_end("closed by filter");
        return;
    case O_DISCARD:
        reply(250, "2.0.0", T_DISCARDED);
        message_refused("discarded", 250);
        return;
    default:
        if (envelope_apply() == 0) data_relay(&v);
    }
}

static void do_data(const struct smtp_command *c)
{
    /* RFC 3030 3: no DATA in a transaction that has had BDAT. */
    if (tx.bdat) { reply(503, "5.5.1", T_BAD_SEQUENCE); protocol_error(); return; }
    if (data_start(c) < 0 || data_receive() < 0) return;
    message_end();
}

/* BDAT's argument: the chunk's size, and LAST.  0, or -1. */
static int bdat_arg(const struct smtp_command *c, unsigned long long *n, int *last)
{
    size_t i = 0;
    *n = 0;
    while (i < c->arglen && c->arg[i] >= '0' && c->arg[i] <= '9') {
        if (*n > (~0ULL - 9) / 10) return -1;
        *n = *n * 10 + (unsigned long long)(c->arg[i++] - '0');
    }
    if (!i || i > 20) return -1;
    *last = 0;
    if (i == c->arglen) return 0;
    if (c->arglen - i == 5 && !strncasecmp(c->arg + i, " LAST", 5)) {
        *last = 1;
        return 0;
    }
    return -1;
}

/* The chunk's n octets, to the spool when keep (as DATA's body: no bare
 * CR or LF, at most -s octets in all, the same minimum data rate), else
 * read and dropped.  Returns only when they are all read. */
static void bdat_read(unsigned long long n, int keep)
{
    int64_t base = (int64_t)cfg.body_timeout * 1000;
    /* A chunk outside a transaction earns no body time: the envelope
     * deadline stays. */
    int64_t cap = keep || tx.in_mail ? DEADLINE_NONE : s.deadline;
    if (!tx.bdat_start) tx.bdat_start = deadline_now();
    while (n) {
        size_t take, i;
        const char *p;
        if (!io_buffered(&s.in)) {
            ssize_t r;
            s.deadline = deadline_min(cap, tx.bdat_start + base +
                         (cfg.min_data_rate ? (int64_t)(tx.bdat_got * 1000 / cfg.min_data_rate) : 0));
            r = io_fill(&s.in, s.deadline);
            if (r == 0) session_end("disconnected in data");
            if (r < 0 && errno == EINTR) terminated(" in data");
            if (r < 0 && errno == ETIMEDOUT) {
                reply(421, "4.4.2", T_TIMEOUT);
                session_end("timeout in data");
            }
            if (r < 0) session_end("read error in data");
        }
        take = io_buffered(&s.in) < n ? io_buffered(&s.in) : (size_t)n;
        p = io_peek(&s.in);
        if (keep) {
            for (i = 0; i < take; i++) {
                /* a CR must be followed by LF, an LF preceded by CR, even
                 * across chunks */
                if (tx.bdat_cr != (p[i] == '\n')) tx.bdat_bare_eol = 1;
                tx.bdat_cr = p[i] == '\r';
            }
            if (tx.size + take > cfg.size_limit) {
                keep = 0;               /* too big: the rest is only read */
                tx.size = cfg.size_limit + 1;
            } else {
                tx.size += take;
                tx.bdat_got += take;
                if (!tx.bdat_spool_errno && io_write_all(s.spool.fd_rw, p, take, DEADLINE_NONE) < 0)
                    tx.bdat_spool_errno = errno;
            }
        }
        io_consume(&s.in, take);
        n -= take;
    }
}

/* BDAT n [LAST] (RFC 3030): chunks of the message, n octets each right
 * after the command line, spooled as DATA's body is; a refusal comes
 * after the chunk is read, so the session stays in step. */
static void do_bdat(const struct smtp_command *c)
{
    unsigned long long n;
    int last, ok;
    if (bdat_arg(c, &n, &last) < 0) {
        /* The chunk's end is unknown: nothing after can be trusted. */
        reply(501, "5.5.4", T_BAD_SYNTAX);
        session_end("bad BDAT");
    }
    ok = !s.refused && tx.in_mail && tx.accepted && tx.bdat >= 0;
    if (ok && !tx.bdat) {
        /* The first chunk: as DATA up to its 354.  A refusal is said,
         * then the chunk read; the ones after it get 503. */
        if (data_event() < 0) {
            tx.bdat = -1;
            s.bdat_refused = 1;
            bdat_read(n, 0);
            return;
        }
        tx.bdat = 1;
        tx.size = 0;
        tx.bdat_cr = tx.bdat_bare_eol = 0;
        session_files();
        tx.bdat_spool_errno = spool_reset(&s.spool) < 0 ? errno : 0;
    }
    bdat_read(n, ok);
    if (!ok) {
        if (s.refused && s.refusal_pending) reply_verdict(&s.refusal);
        else if (s.refused) reply(503, "5.5.1", T_NO_SERVICE);
        else if (tx.in_mail && !tx.accepted) reply(554, "5.5.1", T_NO_RECIPIENTS);
        else reply(503, "5.5.1", T_BAD_SEQUENCE);
        s.refusal_pending = 0;
        /* The chunks a client pipelined after a refused one are no
         * error of its own: only the first counts. */
        if (!s.bdat_refused) protocol_error();
        return;
    }
    if (tx.size > cfg.size_limit) {
        /* Said at once; what follows of this message gets 503. */
        s.deadline = deadline_in_seconds(cfg.eom_timeout);
        reply(552, "5.3.4", T_TOO_BIG);
        s.bdat_refused = 1;
        message_refused("rejected", 552);
        return;
    }
    if (!last) {
        reply(250, "2.0.0", T_OK);
        return;
    }
    /* From here to the final reply: one budget for filters and smarthost. */
    s.deadline = deadline_in_seconds(cfg.eom_timeout);
    if (tx.bdat_bare_eol || tx.bdat_cr) {
        reply(554, "5.6.0", T_BARE_EOL);
        message_refused("rejected", 554);
        return;
    }
    if (tx.bdat_spool_errno) {
        errno = tx.bdat_spool_errno;
        log_warn_sys("unable to spool the message");
        reply(452, "4.3.1", T_STORAGE);
        message_refused("tempfailed", 452);
        return;
    }
    if (upstream_gone()) return;
    message_end();
}

static void do_rset(const struct smtp_command *c)
{
    if (c->arglen) { reply(501, "5.5.4", T_BAD_SYNTAX); protocol_error(); return; }
    transaction_abort("aborted");
    reply(250, "2.0.0", T_OK);
}

static void command(char *line, size_t n, int eightbit)
{
    struct smtp_command c;
    smtp_command_split(line, n, &c);
    /* A chunk follows BDAT whatever the reply: read before anything. */
    if (c.verb == SMTP_BDAT) {
        do_bdat(&c);
        return;
    }
    s.bdat_refused = 0;
    /* Octets above 126 only in the paths of MAIL and RCPT (RFC 6531). */
    if (eightbit && c.verb != SMTP_MAIL && c.verb != SMTP_RCPT) {
        reply(500, "5.5.2", T_BAD_COMMAND);
        protocol_error();
        return;
    }
    if (s.refused && c.verb != SMTP_QUIT) {
        if (s.refusal_pending) reply_verdict(&s.refusal);
        else reply(503, "5.5.1", T_NO_SERVICE);
        s.refusal_pending = 0;
        protocol_error();
        return;
    }
    switch (c.verb) {
    case SMTP_EHLO: do_helo(&c, 1); break;
    case SMTP_HELO: do_helo(&c, 0); break;
    case SMTP_MAIL: do_mail(&c); break;
    case SMTP_RCPT: do_rcpt(&c); break;
    case SMTP_DATA: do_data(&c); break;
    case SMTP_RSET: do_rset(&c); break;
    case SMTP_NOOP: reply(250, "2.0.0", T_OK); break;
    case SMTP_VRFY:
        if (c.arglen) reply(252, "2.5.2", T_VRFY);
        else { reply(501, "5.5.4", T_BAD_SYNTAX); protocol_error(); }
        break;
    case SMTP_HELP: reply(214, "2.0.0", T_HELP); break;
    case SMTP_STARTTLS: do_starttls(&c); break;
    case SMTP_QUIT:
        reply(221, "2.0.0", T_BYE);
        session_end("quit");
    case SMTP_UNKNOWN:
        reply(500, "5.5.2", T_BAD_COMMAND);
        protocol_error();
        break;
    default:
        reply(502, "5.5.1", T_NOT_IMPLEMENTED);
        protocol_error();
        break;
    }
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* Behind a load balancer (-P): the connection must come from one, and
 * start with a PROXY header naming the client, which then stands for
 * TCPREMOTEIP and TCPREMOTEPORT (and the balancer's destination for
 * TCPLOCALIP and TCPLOCALPORT) everywhere: filters, log, Received field,
 * the environment of every program started.  Anything else: the end line
 * says why, and the connection closes without a greeting. */
static void balancer_header(void)
{
    static char why[160], ip[46], port[6], localip[46], localport[6], reason[200];
    struct proxyproto p;
    struct ipaddr a;
    unsigned i;
    int listed = 0;
    if (ipaddr_parse(&a, s.ip, strlen(s.ip)))
        for (i = 0; i < cfg.nbalancers && !listed; i++) {
            struct ipaddr m = a;
            ipaddr_mask(&m, cfg.balancers[i].length);
            listed = ipaddr_equal(&m, &cfg.balancers[i].addr);
        }
    if (!listed) session_end("not a balancer of -P");
    if (proxyproto_read(0, deadline_in_seconds(5), &p, why, sizeof why) < 0) {
        snprintf(reason, sizeof reason, "PROXY header: %s", why);
        session_end(reason);
    }
    if (p.local || !p.src[0]) return;       /* the balancer itself, or UNKNOWN */
    memcpy(ip, p.src, sizeof ip);
    memcpy(port, p.src_port, sizeof port);
    memcpy(localip, p.dst, sizeof localip);
    memcpy(localport, p.dst_port, sizeof localport);
    if (setenv("TCPREMOTEIP", ip, 1) < 0 || setenv("TCPREMOTEPORT", port, 1) < 0 ||
        setenv("TCPLOCALIP", localip, 1) < 0 || setenv("TCPLOCALPORT", localport, 1) < 0 ||
        unsetenv("TCPREMOTEHOST") < 0 || unsetenv("TCPREMOTEINFO") < 0)
        session_end("out of memory");
    s.ip = ip;
    s.port = port;
    s.localip = localip;
    s.localport = localport;
    s.remotehost = 0;                       /* the balancer's name, not the client's */
}

/* The pregreet test (postscreen's): a client that talks before our
 * greeting, within -g milliseconds, is a bot that does not wait for the
 * server; it gets 554 for a greeting and 503 for all but QUIT.  1 when
 * refused. */
static int early_talker(void)
{
    struct log_line l;
    int r = io_wait_wake(0, POLLIN, s.in.wake, deadline_in_ms(cfg.greet_wait));
    ssize_t n;
    if (r < 0 && errno == EINTR) terminated("");
    if (r != 1) return 0;
    n = io_fill(&s.in, deadline_now());
    if (n == 0) session_end("disconnected before the greeting");
    log_line_event(&l, "early-talker");
    log_kv_str(&l, "ip", s.ip);
    log_kv_num(&l, "octets", n > 0 ? (long long)n : 0);
    if (n > 0) log_kv(&l, "said", io_peek(&s.in), (size_t)n < 100 ? (size_t)n : 100);
    log_line_emit(&l);
    snprintf(s.session_trail.buf, sizeof s.session_trail.buf, "early-talker");
    reply(554, "5.5.1", T_EARLY_TALKER);
    s.refused = 1;
    return 1;
}

static void greet(void)
{
    struct event e;
    struct verdict v;
    char line[STATUSTEXT_MAX + 300];
    event_start(&e, FILTER_CONNECT);
    event_field(&e, s.ip);
    event_field(&e, s.port);
    event_field(&e, s.localip);
    event_field(&e, s.localport);
    event_field(&e, s.remotehost);
    run_filters(FILTER_CONNECT, &e, &v);
    if (v.outcome == O_TEMPFAIL) {
        v.code = 421;                   /* RFC 5321 3.1: 421 or 554 here */
        reply_verdict(&v);
        session_end("refused by filter");
    }
    if (v.outcome == O_REJECT) {
        v.code = 554;
        reply_verdict(&v);
        s.refused = 1;
        return;
    }
    modifiers_add(&s.connect_mods, &v);      /* empty yet: they fit */
    snprintf(line, sizeof line, "220 %s %s\r\n", cfg.hostname, texts[T_GREETING].text);
    put(line, strlen(line));
}

/* A line too long: discarded to its end, never taken as two commands. */
static void line_too_long(void)
{
    switch (io_skipline(&s.in, s.deadline)) {
    case 0: session_end("disconnected");
    case -1:
        if (errno != ETIMEDOUT) session_end("read error");
        reply(421, "4.4.2", T_TIMEOUT);
        session_end("timeout");
    }
    reply(500, "5.5.2", T_LINE_TOO_LONG);
    protocol_error();
}

void session_files(void)
{
    if (s.spool.fd_rw >= 0) return;
    if (spool_open(&s.spool, cfg.spool_dir) < 0) {
        log_warn_sys("unable to create a spool file in %s", cfg.spool_dir);
        reply(421, "4.3.0", T_UNAVAILABLE);
        session_fail("no spool");
    }
    forwarder_set_spool(s.spool.fd_ro);
    /* Version 2 filters write a new message to fd 4: one scratch file. */
    if (cfg.nfilters && spool_open(&s.scratch, cfg.spool_dir) < 0) {
        log_warn_sys("unable to create a scratch file in %s", cfg.spool_dir);
        reply(421, "4.3.0", T_UNAVAILABLE);
        session_fail("no spool");
    }
    if (s.scratch.fd_ro >= 0) close(s.scratch.fd_ro);
    s.scratch.fd_ro = -1;
    filters_set_files(s.spool.fd_ro, s.scratch.fd_rw);
}

/* The filters, then the greeting.  The spool and the scratch file are made
 * when first needed: by a filter that takes the message (started here
 * unless its -e says later), by the forwarder (at the first recipient
 * let through), at the latest by DATA or BDAT. */
static void session_start(void)
{
    if (filters_need_files()) session_files();
    filters_start(s.spool.fd_ro, s.scratch.fd_rw, s.deadline);
    greet();
}

/* The EHLO cache: one file per forwarder command line (so per smarthost
 * list) in the spool directory, named by a hash of that command line;
 * smtp-forward learns its name from NOQUEUE_EHLO_CACHE. */
static void ehlo_cache_path(void)
{
    uint64_t h = 0xcbf29ce484222325ULL;         /* FNV-1a */
    char path[4096], **a;
    for (a = cfg.forward_argv; *a; a++) {
        const char *p;
        for (p = *a; ; p++) {
            h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
            if (!*p) break;
        }
    }
    if ((size_t)snprintf(path, sizeof path, "%s/noqueue-ehlo.%016llx", cfg.spool_dir,
                         (unsigned long long)h) >= sizeof path ||
        setenv("NOQUEUE_EHLO_CACHE", path, 1) < 0)
        log_warn("unable to name the EHLO cache: the defaults are offered");
    else
        ehlo_cache = getenv("NOQUEUE_EHLO_CACHE");     /* setenv's copy */
}

void session_run(void)
{
    struct timespec now;
    s.start = deadline_now();
    /* Our warnings, and those of every program we start, say which
     * connection they are about: conn= of our own lines. */
    if (clock_gettime(CLOCK_REALTIME, &now) < 0) log_fatal_sys(111, "unable to read the clock");
    log_conn_id(s.conn, sizeof s.conn, &now, (long)getpid());
    if (setenv("NOQUEUE_CONN", s.conn, 1) < 0) log_fatal_sys(111, "unable to set NOQUEUE_CONN");
    /* -C's, for the programs it checks; never a session's (smtp-forward
     * would check and exit). */
    unsetenv("NOQUEUE_CHECK");
    s.spool.fd_rw = s.spool.fd_ro = s.scratch.fd_rw = s.scratch.fd_ro = -1;
    s.deadline = deadline_in_seconds(cfg.envelope_timeout);
    s.ip = env_or("TCPREMOTEIP", "unknown");
    s.port = env_or("TCPREMOTEPORT", 0);
    s.localip = env_or("TCPLOCALIP", 0);
    s.localport = env_or("TCPLOCALPORT", 0);
    s.remotehost = env_or("TCPREMOTEHOST", 0);
    io_in_init(&s.in, 0, s.inbuf, sizeof s.inbuf);
    io_out_init(&s.out, 1, s.outbuf, sizeof s.outbuf);
    s.in.flush = &s.out;
    if ((s.in.wake = selfpipe_catch(SIGTERM)) < 0) {
        log_warn_sys("unable to make the self-pipe for SIGTERM");
        reply(421, "4.3.0", T_UNAVAILABLE);
        session_fail("no self-pipe");
    }
    io_nonblock(0);
    io_nonblock(1);
    if (cfg.nbalancers) balancer_header();
    if (transaction_init(cfg.max_rcpt) < 0) {
        log_warn("out of memory");
        reply(421, "4.3.0", T_UNAVAILABLE);
        session_fail("out of memory");
    }
    ehlo_cache_path();
    /* An early talker is refused before anything is started for it. */
    if (!cfg.greet_wait || !early_talker()) session_start();

    for (;;) {
        char line[LINE_MAX_SMTP + 1];
        ssize_t n = io_getline(&s.in, line, sizeof line, s.deadline);
        size_t len;
        int eightbit;
        if (n == IO_EOF) session_end("disconnected");
        if (n == IO_ERROR && errno == EINTR) terminated("");
        if (n == IO_ERROR) {
            if (errno != ETIMEDOUT) session_end("read error");
            reply(421, "4.4.2", T_TIMEOUT);
            session_end("timeout");
        }
        if (n == IO_TOOLONG) {
            line_too_long();
            continue;
        }
        len = (size_t)n;
        switch (smtp_line_check8(line, &len, &eightbit)) {
        case SMTP_LINE_OK:
            command(line, len, eightbit);
            break;
        case SMTP_LINE_BARE_LF:
        case SMTP_LINE_BARE_CR:
            reply(500, "5.5.2", T_BARE_EOL_COMMAND);
            protocol_error();
            break;
        default:
            reply(500, "5.5.2", T_BAD_COMMAND);
            protocol_error();
            break;
        }
    }
}
