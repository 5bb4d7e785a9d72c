#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkmode.h"
#include "deadline.h"
#include "greylist.h"
#include "io.h"
#include "log.h"

struct statustext greylist_texts[T_COUNT] = {
    [T_GREYLISTED] = {"GREYLISTED", "Greylisted, please try again later"},
};

int greylist_init(struct greylist *g, const struct greylist_config *cfg, char *why, size_t size)
{
    memset(g, 0, sizeof *g);
    g->cfg = cfg;
    if (store_parse(&g->store, cfg->store) < 0) return log_why(why, size, "store %s: %s", cfg->store, g->store.why);
    return 0;
}

void greylist_end(struct greylist *g)
{
    store_close(&g->store);
}

static void lower(char *s)
{
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

/* Each line of path, without its LF, comments (#) and blank lines
 * skipped, to each(); -1 with why on the first error.  Every bad line
 * is also reported (checkmode_report), not only the first: the caller's
 * checkmode_end then exits 100. */
static int read_lines(const char *path, int (*each)(struct greylist_config *, char *, char *, size_t),
                      struct greylist_config *cfg, char *why, size_t size)
{
    char buf[4096], line[512], reason[200];
    struct io_in in;
    unsigned lineno = 0, bad = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return log_why(why, size, "unable to open %s: %s", path, strerror(errno));
    io_in_init(&in, fd, buf, sizeof buf);
    while ((n = io_getline(&in, line, sizeof line, DEADLINE_NONE)) != IO_EOF) {
        char *p, *end;
        lineno++;
        if (n < 0) {
            close(fd);
            log_why(why, size, "%s line %u: %s", path, lineno, n == IO_TOOLONG ? "too long" : strerror(errno));
            if (bad) checkmode_report(100, "%s", why);
            return -1;
        }
        for (p = line; *p == ' ' || *p == '\t'; p++) {}
        end = p + strcspn(p, "#\r\n");
        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
        *end = 0;
        if (!*p) continue;
        if (each(cfg, p, reason, sizeof reason) < 0) {
            checkmode_report(100, "%s line %u: %s", path, lineno, reason);
            if (!bad++) log_why(why, size, "%s line %u: %s", path, lineno, reason);
        }
    }
    close(fd);
    return bad ? -1 : 0;
}

static int add_client(struct greylist_config *cfg, char *s, char *why, size_t size)
{
    struct greylist_prefix *p;
    if (cfg->nclients == GREYLIST_LIST_MAX) return log_why(why, size, "more than %d entries", GREYLIST_LIST_MAX);
    p = &cfg->clients[cfg->nclients];
    if (!ipaddr_parse_prefix(&p->addr, &p->len, s, strlen(s))) return log_why(why, size, "not an address or prefix: %s", s);
    ipaddr_mask(&p->addr, p->len);
    cfg->nclients++;
    return 0;
}

static int add_domain(struct greylist_config *cfg, char *s, char *why, size_t size)
{
    if (cfg->ndomains == GREYLIST_LIST_MAX) return log_why(why, size, "more than %d entries", GREYLIST_LIST_MAX);
    if (strchr(s, ' ') || strchr(s, '@')) return log_why(why, size, "not a domain: %s", s);
    if (!(cfg->domains[cfg->ndomains] = strdup(s))) return log_why(why, size, "out of memory");
    lower(cfg->domains[cfg->ndomains++]);
    return 0;
}

int greylist_load_clients(struct greylist_config *cfg, const char *path, char *why, size_t size)
{
    return read_lines(path, add_client, cfg, why, size);
}

int greylist_load_domains(struct greylist_config *cfg, const char *path, char *why, size_t size)
{
    return read_lines(path, add_domain, cfg, why, size);
}

void greylist_connect(struct greylist *g, const char *ip)
{
    const struct greylist_config *c = g->cfg;
    g->have_client = ipaddr_parse(&g->client, ip, strlen(ip));
    if (g->have_client) ipaddr_key(&g->client, g->client.bits == 32 ? c->v4len : c->v6len, g->net);
}

void greylist_mail(struct greylist *g, const char *sender)
{
    size_t n = strlen(sender);
    if (n >= sizeof g->sender) n = sizeof g->sender - 1;
    memcpy(g->sender, *sender ? sender : "<>", *sender ? n : 2);
    g->sender[*sender ? n : 2] = 0;
    lower(g->sender);
}

static int client_listed(const struct greylist *g)
{
    unsigned i;
    for (i = 0; i < g->cfg->nclients; i++) {
        struct ipaddr a = g->client;
        const struct greylist_prefix *p = &g->cfg->clients[i];
        if (a.bits != p->addr.bits) continue;
        ipaddr_mask(&a, p->len);
        if (ipaddr_equal(&a, &p->addr)) return 1;
    }
    return 0;
}

static int domain_listed(const struct greylist *g)
{
    const char *at = strrchr(g->sender, '@');
    unsigned i;
    if (!at) return 0;
    for (i = 0; i < g->cfg->ndomains; i++)
        if (!strcmp(at + 1, g->cfg->domains[i])) return 1;
    return 0;
}

/* Not doubtful enough to greylist: the reason, else NULL. */
static const char *exempt(const struct greylist *g, const struct greylist_context *ctx)
{
    const struct greylist_config *c = g->cfg;
    unsigned i;
    if (client_listed(g)) return "client";
    if (domain_listed(g)) return "sender-domain";
    if (c->score_window && ctx && (ctx->score < c->score_low || ctx->score >= c->score_high)) return "score";
    for (i = 0; ctx && ctx->fact && i < c->nskip; i++) {
        const char *v = ctx->fact(ctx->arg, c->skip_name[i]);
        if (v && (!c->skip_value[i] || !strcmp(v, c->skip_value[i]))) return "fact";
    }
    return 0;
}

static void log_decision(struct greylist *g, const char *what, const char *rcpt, const char *reason,
                         int64_t age)
{
    struct log_line l;
    log_line_event(&l, what);
    log_kv_str(&l, "net", g->net);
    log_kv_str(&l, "from", g->sender);
    log_kv_str(&l, "to", rcpt);
    if (reason) log_kv_str(&l, "reason", reason);
    if (age >= 0) log_kv_num(&l, "age", age);
    log_line_emit(&l);
}

const char *greylist_rcpt(struct greylist *g, const char *rcpt, const struct greylist_context *ctx, int64_t now)
{
    const struct greylist_config *c = g->cfg;
    int64_t deadline = deadline_in_ms(c->store_ms);
    struct store_key white, grey;
    struct store_value v;
    char to[STORE_KEY_MAX];
    const char *parts[4], *reason;
    size_t n = strlen(rcpt);
    int r;
    if (!g->have_client) return "continue";     /* no connect event: nothing to key on */
    if (n >= sizeof to) n = sizeof to - 1;
    memcpy(to, rcpt, n);
    to[n] = 0;
    lower(to);
    if ((reason = exempt(g, ctx))) {
        log_decision(g, "exempt", to, reason, -1);
        return "continue";
    }
    parts[0] = "white", parts[1] = g->net;
    store_key(&white, 2, parts);
    parts[0] = "grey", parts[2] = g->sender, parts[3] = to;
    if (store_key(&grey, 4, parts) < 0) {
        log_decision(g, "exempt", to, "too long", -1);
        return "continue";
    }
    r = store_get(&g->store, &white, now, &v, deadline);
    if (r < 0) return 0;
    if (r) {
        /* Known good: remembered for another pass memory from now (at
         * most once an hour, to spare the store a write per recipient). */
        if (now - v.time >= 3600 && store_put(&g->store, &white, now, v.value, c->memory, deadline) < 0) return 0;
        log_decision(g, "known", to, 0, -1);
        return "continue";
    }
    r = store_get(&g->store, &grey, now, &v, deadline);
    if (r < 0) return 0;
    if (r && now - v.value >= c->delay) {
        if (store_put(&g->store, &white, now, now, c->memory, deadline) < 0) return 0;
        if (store_delete(&g->store, &grey, deadline) < 0) return 0;
        log_decision(g, "passed", to, 0, now - v.value);
        return "continue";
    }
    if (!r) {
        /* First seen: it may come back after the delay, within the window. */
        if (store_put(&g->store, &grey, now, now, c->delay + c->retry, deadline) < 0) return 0;
        log_decision(g, "greylisted", to, 0, 0);
    } else {
        log_decision(g, "greylisted", to, "too early", now - v.value);
    }
    snprintf(g->reply, sizeof g->reply, "tempfail 451 4.7.1 %s", greylist_texts[T_GREYLISTED].text);
    return g->reply;
}

static const char *fact_of(void *arg, const char *name)
{
    return filterside_fact(arg, name);
}

const char *greylist_event(struct greylist *g, struct filter_side *fs, const struct filter_request *r,
                           int64_t now)
{
    struct greylist_context ctx;
    switch (r->event) {
    case FILTER_CONNECT:
        if (r->nfields >= 1) greylist_connect(g, r->field[0]);
        break;
    case FILTER_MAIL:
        greylist_mail(g, r->nfields >= 1 ? r->field[0] : "");
        break;
    case FILTER_RCPT:
        if (r->nfields < 1) break;
        ctx.score = filterside_score(fs);
        ctx.fact = fact_of;
        ctx.arg = fs;
        return greylist_rcpt(g, r->field[0], &ctx, now);
    default:
        break;
    }
    return "continue";
}
