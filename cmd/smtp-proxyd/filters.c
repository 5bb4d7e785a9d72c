/* The filter chain: started once per connection, asked event by event,
 * in order, each with its own deadline.  A filter that exits, times out,
 * answers anything but the protocol, or writes when it was not asked has
 * failed: it is stopped and its policy answers for it from then on.  See
 * smtp-filter(7). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "proxyd.h"

#define ALL_EVENTS ((1u << FILTER_EVENTS) - 1)
/* A failed filter answers, by its policy, for every event that can still
 * refuse something. */
#define FAILED_EVENTS (ALL_EVENTS & ~(1u << FILTER_REPORT | 1u << FILTER_RSET))

/* enum outcome's, for the log */
static const char *const names[] = { "continue", "accept", "reject", "tempfail", "discard" };
static char *const *oneshot_env;
static int spool = -1, scratch = -1;
static struct changes changes;          /* of the filter being asked */

static const char *policy_name(enum policy p)
{
    return p == POLICY_ACCEPT ? "accept" : p == POLICY_TEMPFAIL ? "tempfail" : "required";
}

static void close_pipes(struct filter *f)
{
    if (f->proc.to >= 0) close(f->proc.to);
    if (f->proc.from >= 0) close(f->proc.from);
    f->proc.to = f->proc.from = -1;
}

/* Stop a failed filter: one that exited is reaped, with its status in the
 * log; any other is killed. */
static void fail(struct filter *f, enum filter_event ev, const char *why, int exited)
{
    char status[32] = "";
    if (f->proc.pid > 0) {
        int st = exited ? child_reap(f->proc.pid, f->proc.from, deadline_in_ms(1000)) : child_kill(f->proc.pid);
        if (exited) child_status_text(st, status, sizeof status);
        f->proc.pid = -1;
    }
    close_pipes(f);
    log_warn("filter %s failed at %s: %s%s%s; policy %s", f->name,
             filterproto_event_name(ev), why, status[0] ? " with " : "", status,
             policy_name(f->policy));
    f->failed = why;
    f->events = FAILED_EVENTS;
}

int facts_set(struct facts *fs, const char *name, const char *value)
{
    unsigned i;
    for (i = 0; i < fs->n; i++)
        if (!strcmp(fs->f[i].name, name)) break;
    if (i == FILTERPROTO_FACTS) return -1;
    if (i == fs->n) {
        fs->n++;
        snprintf(fs->f[i].name, sizeof fs->f[i].name, "%s", name);
    }
    snprintf(fs->f[i].value, sizeof fs->f[i].value, "%s", value);
    return 0;
}

int facts_merge(struct facts *to, const struct facts *from)
{
    unsigned i;
    for (i = 0; i < from->n; i++)
        if (facts_set(to, from->f[i].name, from->f[i].value) < 0) return -1;
    return 0;
}

/* Keep a change for after the verdict: 0, or -1 when they do not fit. */
static int change_add(struct changes *c, const struct filter_line *fl)
{
    struct change *ch;
    size_t k = strlen(fl->name);
    if (c->n == FILTERPROTO_MODIFIERS_V2 || c->len + k + fl->valuelen + 2 > sizeof c->arena)
        return -1;
    ch = &c->c[c->n++];
    ch->kind = fl->kind;
    ch->index = fl->index;
    ch->absent = fl->value_absent;
    ch->name = c->len;
    memcpy(c->arena + c->len, fl->name, k + 1);
    c->len += k + 1;
    ch->value = c->len;
    ch->valuelen = fl->valuelen;
    memcpy(c->arena + c->len, fl->value, fl->valuelen);
    c->arena[c->len + fl->valuelen] = 0;
    c->len += fl->valuelen + 1;
    return 0;
}

int headers_add(struct headers *h, const char *name, const char *value, size_t n)
{
    size_t k = strlen(name);
    if (h->len + k + 2 + n + 1 > sizeof h->buf) return -1;
    memcpy(h->buf + h->len, name, k);
    memcpy(h->buf + h->len + k, ": ", 2);
    memcpy(h->buf + h->len + k + 2, value, n);
    h->len += k + 2 + n;
    h->buf[h->len++] = 0;
    return 0;
}

/* Does it get the message (fd 3) and the scratch file (fd 4)?  Not a
 * filter whose -e names only events of the envelope: there is no message
 * to read then. */
static int takes_message(const struct filter *f)
{
    return !f->declared ||
           f->declared & (1u << FILTER_DATA | 1u << FILTER_EOM | 1u << FILTER_REPORT);
}

int filters_need_files(void)
{
    unsigned i;
    for (i = 0; i < cfg.nfilters; i++)
        if (!cfg.filters[i].oneshot && !cfg.filters[i].declared) return 1;   /* started now */
    return 0;
}

void filters_set_files(int spool_fd, int scratch_fd)
{
    spool = spool_fd;
    scratch = scratch_fd;
}

static void start_one(struct filter *f)
{
    int body = takes_message(f);
    f->proc.pid = -1;
    f->proc.to = f->proc.from = -1;
    if (f->oneshot) {
        f->events = 1u << FILTER_EOM;
        return;
    }
    /* The files made for it first, if they are not yet. */
    if (body) session_files();
    if (child_spawn_scratch(&f->proc, f->argv, 0, -1, body ? spool : -1, body ? scratch : -1) < 0) {
        log_warn_sys("filter %s failed at start: unable to start %s; policy %s", f->name,
                     f->argv[0], policy_name(f->policy));
        f->failed = "start";
        f->events = FAILED_EVENTS;
        return;
    }
    io_in_init(&f->in, f->proc.from, f->inbuf, sizeof f->inbuf);
    io_out_init(&f->out, f->proc.to, f->outbuf, sizeof f->outbuf);
    f->in.flush = &f->out;
    if (io_puts(&f->out, "filter 1\n", deadline_in_seconds(f->timeout)) < 0 ||
        io_flush(&f->out, deadline_in_seconds(f->timeout)) < 0)
        fail(f, FILTER_CONNECT, "exited", 1);
}

/* Its greeting: the events it takes (with -e, those it was told, no more),
 * and its version. */
static void greeting(struct filter *f, enum filter_event ev, int64_t deadline)
{
    char line[FILTERPROTO_LINE_MAX + 1];
    ssize_t n;
    if (f->failed || f->oneshot) return;
    n = io_getline(&f->in, line, sizeof line, deadline_min(deadline, deadline_in_seconds(f->timeout)));
    if (n == IO_EOF) fail(f, ev, "exited", 1);
    else if (n == IO_ERROR) fail(f, ev, errno == ETIMEDOUT ? "timeout" : "read error", 0);
    else if (n == IO_TOOLONG || filterproto_parse_hello(line, (size_t)n - 1, &f->events, &f->version) < 0 ||
             io_buffered(&f->in))
        fail(f, ev, "bad greeting", 0);
    else if (f->declared)
        f->events &= f->declared;
}

/* Every filter is started and greeted first, then all greetings are read,
 * so start-up costs one round trip, not one per filter.  A filter whose
 * events are given (-e) waits for the first of them: a client refused at
 * RCPT never starts the filters of the message. */
void filters_start(int spool_fd, int scratch_fd, int64_t deadline)
{
    unsigned i;
    spool = spool_fd;
    scratch = scratch_fd;
    for (i = 0; i < cfg.nfilters; i++) {
        struct filter *f = &cfg.filters[i];
        if (f->declared && !f->oneshot) {
            f->proc.pid = -1;
            f->proc.to = f->proc.from = -1;
            f->events = f->declared;
            f->lazy = 1;
            continue;
        }
        start_one(f);
    }
    for (i = 0; i < cfg.nfilters; i++)
        if (!cfg.filters[i].lazy) greeting(&cfg.filters[i], FILTER_CONNECT, deadline);
}

/* A filter of -e, at the first of its events. */
static void start_late(struct filter *f, enum filter_event ev, int64_t deadline)
{
    f->lazy = 0;
    start_one(f);
    greeting(f, ev, deadline);
}

int filters_want(enum filter_event ev)
{
    unsigned i;
    for (i = 0; i < cfg.nfilters; i++)
        if (cfg.filters[i].events & (1u << ev)) return 1;
    return 0;
}

static void set_text(struct verdict *v, int code, const char *status, const char *text, size_t n)
{
    size_t esc = (size_t)smtp_enhanced_code_length(text, n);
    v->code = code;
    if (esc && text[0] - '0' == code / 100)
        snprintf(v->text, sizeof v->text, "%.*s", (int)n, text);
    else
        snprintf(v->text, sizeof v->text, "%s %.*s", status, (int)n, text);
}

static void set_failed(struct verdict *v)
{
    set_text(v, 451, "4.3.0", texts[T_FILTER_FAILED].text, strlen(texts[T_FILTER_FAILED].text));
}

static enum outcome policy_outcome(struct filter *f, struct verdict *v)
{
    if (f->policy == POLICY_ACCEPT) return O_CONTINUE;
    set_failed(v);
    return O_TEMPFAIL;
}

/* Did the filter write while no event was pending?  Its next answer would
 * then be taken for the wrong event: that is a failure, as is an exit. */
static const char *spoke_unasked(struct filter *f, int *exited)
{
    int r = io_spoke_unasked(&f->in);
    *exited = r == 2;
    return r == 2 ? "exited" : r ? "spoke unasked" : 0;
}

/* The event line with this filter's next token after its name. */
static int send_event(struct filter *f, const char *event, size_t n, int64_t deadline)
{
    const char *space = memchr(event, ' ', n);
    size_t name = space ? (size_t)(space - event) : n;
    char token[24];
    int k = snprintf(token, sizeof token, " %lu", ++f->token);
    if (f->token == FILTERPROTO_TOKEN_MAX) f->token = 0;
    return io_put(&f->out, event, name, deadline) < 0 ||
           io_put(&f->out, token, (size_t)k, deadline) < 0 ||
           io_put(&f->out, event + name, n - name, deadline) < 0 ||
           io_put(&f->out, "\n", 1, deadline) < 0 ? -1 : 0;
}

/* Ask one filter.  Its modifiers go to v once its verdict line is valid;
 * whether they count is the caller's decision. */
static enum outcome ask(struct filter *f, enum filter_event ev, const char *event, size_t n,
                        int64_t deadline, struct verdict *v, int *failed)
{
    struct filter_line fl;
    const char *why;
    int lines, exited, class_set = 0;
    int max = f->version >= 2 ? FILTERPROTO_MODIFIERS_V2 : FILTERPROTO_MODIFIERS;
    long score = 0;
    char class[FILTERPROTO_CLASS_MAX + 1];
    size_t headers_before = v->headers->len;
    static struct facts facts;          /* this filter's, until its verdict */

    facts.n = 0;
    changes.n = 0;
    changes.len = 0;
    deadline = deadline_min(deadline, deadline_in_seconds(f->timeout));
    if ((why = spoke_unasked(f, &exited))) goto failure;
    if ((f->version >= 2 && session_context(&f->out, ev, v, deadline) < 0) ||
        send_event(f, event, n, deadline) < 0) {
        why = errno == ETIMEDOUT ? "timeout" : "exited";
        exited = errno != ETIMEDOUT;
        goto failure;
    }
    for (lines = 0; lines <= max; lines++) {
        char line[FILTERPROTO_LINE_MAX + 1];
        ssize_t r = io_getline(&f->in, line, sizeof line, deadline);
        exited = r == IO_EOF;
        if (r == IO_EOF) { why = "exited"; goto failure; }
        if (r == IO_ERROR) { why = errno == ETIMEDOUT ? "timeout" : "read error"; goto failure; }
        why = "malformed reply";
        if (r == IO_TOOLONG || filterproto_parse_line(line, (size_t)r - 1, &fl) < 0) goto failure;
        if (!filterproto_kind_allowed(fl.kind, f->version, ev)) {
            why = "modifier not allowed here";
            goto failure;
        }
        switch (fl.kind) {
        case FILTER_HEADER:
            if (headers_add(v->headers, fl.name, fl.value, fl.valuelen) < 0) {
                log_warn("filter %s: header fields over %zu octets at %s", f->name,
                         sizeof v->headers->buf, filterproto_event_name(ev));
                v->headers->len = headers_before;
                set_failed(v);
                return O_TEMPFAIL;      /* fail closed: never drop a field */
            }
            continue;
        case FILTER_SCORE:
            score += fl.score;
            continue;
        case FILTER_CLASS:
            memcpy(class, fl.name, sizeof class);
            class_set = 1;
            continue;
        case FILTER_FACT:
            if (facts_set(&facts, fl.name, fl.value) < 0) { why = "too many facts"; goto failure; }
            continue;
        case FILTER_INSERT_HEADER: case FILTER_CHANGE_HEADER: case FILTER_ADD_RECIPIENT:
        case FILTER_DELETE_RECIPIENT: case FILTER_CHANGE_SENDER: case FILTER_REPLACE_MESSAGE:
        case FILTER_QUARANTINE:
            if (change_add(&changes, &fl) < 0) { why = "too many changes"; goto failure; }
            continue;
        default:
            break;
        }
        /* An answer to another event: out of step, whatever it says. */
        if (fl.token != f->token) { why = "answered another event"; goto failure; }
        if (io_buffered(&f->in)) { why = "spoke unasked"; goto failure; }
        /* A dry run: the verdict is for the log, and nothing changes. */
        if (f->dry) {
            v->headers->len = headers_before;
            goto verdict;
        }
        /* A valid verdict: its modifiers go with it, and the message
         * changes are made at once, for the next filter to see. */
        if ((fl.kind == FILTER_CONTINUE || fl.kind == FILTER_ACCEPT) && changes.n &&
            (why = session_apply_changes(&changes)))
            goto failure;
        if (facts_merge(v->facts, &facts) < 0) {
            log_warn("filter %s: more than %d facts at %s", f->name, FILTERPROTO_FACTS,
                     filterproto_event_name(ev));
            set_failed(v);
            return O_TEMPFAIL;          /* fail closed: never drop one */
        }
        v->score += score;
        if (class_set) {
            memcpy(v->class, class, sizeof v->class);
            v->class_set = 1;
        }
    verdict:
        switch (fl.kind) {
        case FILTER_ACCEPT: return O_ACCEPT;
        case FILTER_DISCARD: return O_DISCARD;
        case FILTER_REJECT:
            if (fl.textlen) set_text(v, fl.code, "5.7.1", fl.text, fl.textlen);
            else set_text(v, fl.code, "5.7.1", texts[T_REJECTED].text, strlen(texts[T_REJECTED].text));
            return O_REJECT;
        case FILTER_TEMPFAIL:
            if (fl.textlen) set_text(v, fl.code, "4.7.1", fl.text, fl.textlen);
            else set_text(v, fl.code, "4.7.1", texts[T_TEMPFAIL].text, strlen(texts[T_TEMPFAIL].text));
            return O_TEMPFAIL;
        default:
            return O_CONTINUE;
        }
    }
    why = "too many modifiers";
failure:
    v->headers->len = headers_before;
    fail(f, ev, why, exited);
    *failed = 1;
    return policy_outcome(f, v);
}

static char *last_lf(char *s, size_t n)
{
    while (n--) if (s[n] == '\n') return s + n;
    return 0;
}

/* Legacy programs: the message on stdin, the verdict in the exit status
 * (0 ok, 100 reject, 111 tempfail), the text on the last line of stdout.
 * Any other ending is a failure for this message. */
static enum outcome run_oneshot(struct filter *f, int64_t deadline, struct verdict *v, int *failed)
{
    char out[1024], st[32];
    size_t len = 0, i;
    int status;
    const char *why = 0;

    deadline = deadline_min(deadline, deadline_in_seconds(f->timeout));
    if (lseek(spool, 0, SEEK_SET) < 0 ||
        child_spawn(&f->proc, f->argv, oneshot_env, spool, spool) < 0) {
        log_warn_sys("filter %s failed at eom: unable to start %s; policy %s", f->name,
                     f->argv[0], policy_name(f->policy));
        *failed = 1;
        return policy_outcome(f, v);
    }
    for (;;) {
        ssize_t r;
        if (len == sizeof out) {        /* keep only the last line */
            char *lf = last_lf(out, len);
            len = lf ? len - (size_t)(lf + 1 - out) : 0;
            if (lf) memmove(out, lf + 1, len);
        }
        r = read(f->proc.from, out + len, sizeof out - len);
        if (r > 0) { len += (size_t)r; continue; }
        if (r == 0) break;
        if (errno == EINTR) continue;
        if (errno != EAGAIN || io_wait(f->proc.from, POLLIN, deadline) != 1) { why = "timeout"; break; }
    }
    close_pipes(f);
    status = why ? child_kill(f->proc.pid) : child_reap(f->proc.pid, -1, deadline);
    f->proc.pid = -1;
    if (!why && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) why = "timeout";
    if (!why && WIFEXITED(status)) {
        const char *text;
        size_t n;
        while (len && (out[len - 1] == '\n' || out[len - 1] == '\r')) len--;
        text = last_lf(out, len);
        text = text ? text + 1 : out;
        n = len - (size_t)(text - out);
        for (i = 0; i < n; i++)           /* not printable ASCII: not used */
            if ((unsigned char)text[i] < 32 || (unsigned char)text[i] > 126) n = 0;
        if (n > 300) n = 300;
        switch (WEXITSTATUS(status)) {
        case 0: return O_CONTINUE;
        case 100:
            if (!n) { text = texts[T_REJECTED].text; n = strlen(text); }
            set_text(v, 554, "5.7.1", text, n);
            return O_REJECT;
        case 111:
            if (!n) { text = texts[T_TEMPFAIL].text; n = strlen(text); }
            set_text(v, 451, "4.7.1", text, n);
            return O_TEMPFAIL;
        }
    }
    log_warn("filter %s failed at eom: %s; policy %s", f->name,
             why ? why : child_status_text(status, st, sizeof st), policy_name(f->policy));
    *failed = 1;
    return policy_outcome(f, v);
}

static void trail_add(struct trail *t, const struct filter *f, enum filter_event ev,
                      const char *what)
{
    size_t len = strlen(t->buf);
    if (len + strlen(f->name) + strlen(what) + 16 >= sizeof t->buf) return;
    snprintf(t->buf + len, sizeof t->buf - len, "%s%s:%s:%s", len ? "," : "", f->name,
             filterproto_event_name(ev), what);
}

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int of_connection(enum filter_event ev)
{
    return ev == FILTER_CONNECT || ev == FILTER_TLS || ev == FILTER_HELO;
}

size_t filters_times(char *buf, size_t size, int which)
{
    size_t len = 0;
    unsigned i;
    buf[0] = 0;
    for (i = 0; i < cfg.nfilters; i++) {
        struct filter *f = &cfg.filters[i];
        int n;
        if (!f->asked[which]) continue;
        n = snprintf(buf + len, size - len, "%s%s:%lld", len ? "," : "", f->name,
                     (long long)((f->us[which] + 500) / 1000));
        if (n < 0 || (size_t)n >= size - len) {
            buf[len] = 0;               /* those that fit */
            break;
        }
        len += (size_t)n;
    }
    for (i = 0; i < cfg.nfilters; i++) {
        cfg.filters[i].us[which] = 0;
        cfg.filters[i].asked[which] = 0;
    }
    return len;
}

/* A dry run's verdict, in the log and the trail, instead of in effect. */
static void would(const struct filter *f, enum filter_event ev, enum outcome o,
                  const struct verdict *v, struct trail *t)
{
    struct log_line l;
    char what[16];
    snprintf(what, sizeof what, "would-%s", names[o]);
    trail_add(t, f, ev, what);
    log_line_event(&l, what);
    if (!of_connection(ev)) log_kv_num(&l, "n", session_transaction());
    log_kv_str(&l, "filter", f->name);
    log_kv_str(&l, "event", filterproto_event_name(ev));
    log_kv_str(&l, "verdict", names[o]);
    if (o == O_REJECT || o == O_TEMPFAIL) {
        log_kv_num(&l, "code", v->code);
        log_kv_str(&l, "text", v->text);
    }
    log_line_emit(&l);
}

void filters_event(enum filter_event ev, const struct event *e, int64_t deadline,
                   struct verdict *v, struct trail *t)
{
    unsigned i;
    int accepted = 0, which = !of_connection(ev);
    for (i = 0; i < cfg.nfilters; i++) {
        struct filter *f = &cfg.filters[i];
        enum outcome o;
        int failed = 0;
        int64_t began;
        int asked;
        if (!(f->events & (1u << ev))) continue;
        /* "accept" skips the rest of the chain, but not a required filter. */
        if (accepted && f->policy != POLICY_REQUIRED) continue;
        began = now_us();
        if (f->lazy) {
            start_late(f, ev, deadline);
            /* It said it does not take this one after all. */
            if (!f->failed && !(f->events & (1u << ev))) continue;
        }
        asked = !f->failed;
        if (f->failed) {
            failed = 1;
            o = policy_outcome(f, v);
        } else if (f->oneshot) {
            o = run_oneshot(f, deadline, v, &failed);
        } else {
            /* The readers share one offset: each finds the message at 0,
             * and an empty scratch file for a new one. */
            if (ev == FILTER_EOM) {
                lseek(spool, 0, SEEK_SET);
                if (scratch >= 0 && f->version >= 2 &&
                    (ftruncate(scratch, 0) < 0 || lseek(scratch, 0, SEEK_SET) < 0))
                    log_warn_sys("unable to empty the scratch file");
            }
            /* Read now: a change by the filter before may have made it anew. */
            o = ask(f, ev, e->buf, f->version >= 2 || e->v1len > e->len ? e->len : e->v1len,
                    deadline, v, &failed);
        }
        if (asked) {
            f->us[which] += now_us() - began;
            f->asked[which]++;
        }
        if (failed)
            trail_add(t, f, ev, f->policy == POLICY_ACCEPT || f->dry ? "failed-accept" : "failed-tempfail");
        else if (o != O_CONTINUE && ev != FILTER_REPORT && f->dry)
            would(f, ev, o, v, t);
        else if (o != O_CONTINUE && ev != FILTER_REPORT)
            trail_add(t, f, ev, names[o]);
        if (f->dry) o = O_CONTINUE;
        if (ev == FILTER_REPORT) continue;
        if (o == O_ACCEPT) {
            accepted = 1;
            continue;
        }
        if (o != O_CONTINUE) {
            v->outcome = o;
            return;
        }
    }
    if (accepted) v->outcome = O_ACCEPT;
}

void filters_set_oneshot_env(char *const env[])
{
    oneshot_env = env;
}

void filters_stop(int64_t deadline)
{
    unsigned i;
    for (i = 0; i < cfg.nfilters; i++) {
        struct filter *f = &cfg.filters[i];
        if (f->proc.to >= 0) close(f->proc.to);
        f->proc.to = -1;
    }
    for (i = 0; i < cfg.nfilters; i++) {
        struct filter *f = &cfg.filters[i];
        if (f->proc.pid > 0) child_reap(f->proc.pid, f->proc.from, deadline);
        f->proc.pid = -1;
        close_pipes(f);
    }
}
