/* smtp-envcheck: one connection, event by event (smtp-filter(7)). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "envcheck.h"
#include "filterside.h"
#include "log.h"

/* Field i, "" when absent.  A field with a NUL is passed on with its
 * length, and each check refuses it; the connect fields, used as strings,
 * are taken as absent instead. */
static const char *field(const struct filter_request *r, unsigned i, size_t *n)
{
    if (i >= r->nfields) {
        *n = 0;
        return "";
    }
    *n = r->len[i];
    return r->field[i];
}

static const char *string_field(const struct filter_request *r, unsigned i)
{
    size_t n;
    const char *f = field(r, i, &n);
    return memchr(f, 0, n) ? "" : f;
}

/* A refusal is logged with what decided it, since the proxy's log has
 * only the code; conn= is the proxy's, to join the two.  Not inlined:
 * its line buffer (4 KB) would put every frame below the event loop's
 * on a page of its own. */
static __attribute__((noinline)) void log_refusal(const struct envcheck *ec, enum filter_event ev, const char *value,
                        size_t n, const struct verdict *v)
{
    struct log_line l;
    log_line_event(&l, "refused");
    log_kv_str(&l, "ip", ec->ip);
    log_kv_str(&l, "event", filterproto_event_name(ev));
    if (ev != FILTER_CONNECT) log_kv(&l, ev == FILTER_HELO ? "helo" : "address", value, n);
    log_kv_num(&l, "code", v->code);
    log_kv_str(&l, "reason", v->reason ? v->reason : "?");
    if (v->entry[0]) log_kv_str(&l, "entry", v->entry);
    log_line_emit(&l);
}

/* The answer lines of v; their buffer on the stack only while they are
 * made and said. */
static __attribute__((noinline)) int answer(struct filter_side *fs, const struct verdict *v)
{
    char lines[2][STATUSTEXT_MAX + 64];
    int i, k = envcheck_answer(v, lines);
    for (i = 0; i < k; i++)
        if (filterside_say(fs, lines[i]) < 0) return -1;
    return 0;
}

int envcheck_run(struct envcheck *ec, char *why, size_t size)
{
    static struct filter_side fs;
    struct filter_request req;
    struct verdict v;
    unsigned events = 1u << FILTER_CONNECT | 1u << FILTER_RCPT;
    const char *value;
    size_t n;
    int r;

    if (ec->helo) events |= 1u << FILTER_HELO;
    if (ec->senders.path) events |= 1u << FILTER_MAIL;
    if (filterside_start(&fs, events) < 0) {
        snprintf(why, size, "the proxy does not speak smtp-filter(7) version 1");
        return 111;
    }
    while ((r = filterside_next(&fs, &req)) > 0) {
        switch (req.event) {
        case FILTER_CONNECT:
            value = string_field(&req, 0);
            n = strlen(value);
            envcheck_connect(ec, value, string_field(&req, 2), &v);
            break;
        case FILTER_HELO:
            value = field(&req, 1, &n);
            envcheck_helo(ec, value, n, &v);
            break;
        case FILTER_MAIL:
            value = field(&req, 0, &n);
            envcheck_mail(ec, value, n, &v);
            break;
        case FILTER_RCPT:
            value = field(&req, 0, &n);
            envcheck_rcpt(ec, value, n, &v);
            break;
        default:                        /* not asked for: no objection */
            value = "";
            n = 0;
            memset(&v, 0, sizeof v);
            break;
        }
        if (v.code) log_refusal(ec, req.event, value, n, &v);
        if (answer(&fs, &v) < 0) {
            snprintf(why, size, "unable to answer the proxy: %s", strerror(errno));
            return 111;
        }
    }
    /* The answers given so far still go out. */
    if (filterside_flush(&fs) < 0 && r == 0) {
        snprintf(why, size, "unable to answer the proxy: %s", strerror(errno));
        return 111;
    }
    if (r < 0) {
        snprintf(why, size, "a malformed event from the proxy");
        return 111;
    }
    return 0;
}
