#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "io.h"
#include "log.h"
#include "trust.h"

/* Mailbox providers whose domain says nothing about who writes: a user
 * there earns trust as an address, never for the whole domain. */
static const char *const default_freemail[] = {
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.de", "yahoo.fr", "yahoo.co.uk", "hotmail.com",
    "hotmail.de", "outlook.com", "outlook.de", "live.com", "msn.com", "aol.com", "icloud.com", "me.com",
    "mail.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "web.de", "t-online.de", "freenet.de",
    "posteo.de", "mailbox.org", "protonmail.com", "proton.me", "yandex.ru", "mail.ru", "zoho.com",
    "orange.fr", "free.fr", "laposte.net", "libero.it", "qq.com", "163.com",
};

int trust_init(struct trust *t, const struct trust_config *cfg, char *why, size_t size)
{
    memset(t, 0, sizeof *t);
    t->cfg = cfg;
    if (store_parse(&t->store, cfg->store) < 0) return log_why(why, size, "store %s: %s", cfg->store, t->store.why);
    return 0;
}

void trust_end(struct trust *t)
{
    store_close(&t->store);
}

void trust_default_freemail(struct trust_config *cfg)
{
    unsigned i;
    for (i = 0; i < sizeof default_freemail / sizeof *default_freemail; i++)
        cfg->freemail[i] = (char *)default_freemail[i];
    cfg->nfreemail = i;
}

static void lower_copy(char *out, size_t size, const char *s)
{
    size_t i;
    for (i = 0; s[i] && i + 1 < size; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = 0;
}

int trust_load_freemail(struct trust_config *cfg, const char *path, char *why, size_t size)
{
    char buf[4096], line[300];
    struct io_in in;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return log_why(why, size, "unable to open %s: %s", path, strerror(errno));
    io_in_init(&in, fd, buf, sizeof buf);
    cfg->nfreemail = 0;
    while ((n = io_getline(&in, line, sizeof line, DEADLINE_NONE)) != IO_EOF) {
        char *p = line, *end;
        if (n < 0) {
            close(fd);
            return log_why(why, size, "unable to read %s: %s", path, n == IO_TOOLONG ? "line too long" : strerror(errno));
        }
        while (*p == ' ' || *p == '\t') p++;
        end = p + strcspn(p, "# \t\r\n");
        *end = 0;
        if (!*p) continue;
        if (cfg->nfreemail == TRUST_FREEMAIL_MAX || !(cfg->freemail[cfg->nfreemail] = malloc(strlen(p) + 1))) {
            close(fd);
            return log_why(why, size, "%s: too many domains", path);
        }
        lower_copy(cfg->freemail[cfg->nfreemail++], strlen(p) + 1, p);
    }
    close(fd);
    return 0;
}

static int freemail(const struct trust_config *cfg, const char *domain)
{
    unsigned i;
    for (i = 0; i < cfg->nfreemail; i++)
        if (!strcmp(domain, cfg->freemail[i])) return 1;
    return 0;
}

long trust_decayed(const struct trust_config *cfg, long points, int64_t since, int64_t now)
{
    int64_t lost = now > since ? (now - since) * cfg->decay / 86400 : 0;
    return lost >= points ? 0 : points - (long)lost;
}

static const char *domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at && at[1] ? at + 1 : 0;
}

/* The points of a key now, 0 when absent; -1 when the store failed. */
static long points_of(struct trust *t, const struct store_key *k, int64_t now, int64_t deadline)
{
    struct store_value v;
    int r = store_get(&t->store, k, now, &v, deadline);
    if (r <= 0) return r;
    return trust_decayed(t->cfg, (long)v.value, v.time, now);
}

static int add_points(struct trust *t, const struct store_key *k, long add, int64_t now, int64_t deadline)
{
    const struct trust_config *c = t->cfg;
    long p = points_of(t, k, now, deadline);
    int64_t ttl;
    if (p < 0) return -1;
    p += add;
    if (p > c->max_points) p = c->max_points;
    /* Forgotten when the decay has taken every point. */
    ttl = c->decay ? ((int64_t)p * 86400 + c->decay - 1) / c->decay : 10LL * 366 * 86400;
    return store_put(&t->store, k, now, p, ttl, deadline);
}

int trust_learn(struct trust *t, const char *sender, const char *rcpt, int64_t now)
{
    const struct trust_config *c = t->cfg;
    int64_t deadline = deadline_in_ms(c->store_ms);
    char local[STORE_KEY_MAX], external[STORE_KEY_MAX];
    const char *parts[4], *domain, *own;
    struct store_key k;
    struct log_line l;
    lower_copy(local, sizeof local, sender);
    lower_copy(external, sizeof external, rcpt);
    domain = domain_of(external);
    own = domain_of(local);
    if (!domain || !own) return 0;
    parts[0] = "trust", parts[1] = "pair", parts[2] = local, parts[3] = external;
    if (store_key(&k, 4, parts) == 0 && c->pair_points && add_points(t, &k, c->pair_points, now, deadline) < 0)
        return -1;
    log_line_event(&l, "learned");
    log_kv_str(&l, "from", local);
    log_kv_str(&l, "to", external);
    /* A domain earns nothing from mail inside itself, or when anyone can
     * have an address there. */
    if (strcmp(domain, own) && !freemail(c, domain) && c->domain_points) {
        parts[1] = "domain", parts[2] = domain;
        if (store_key(&k, 3, parts) == 0 && add_points(t, &k, c->domain_points, now, deadline) < 0) return -1;
        log_kv_str(&l, "domain", domain);
    }
    log_line_emit(&l);
    return 0;
}

static int authenticated(const struct trust_context *c)
{
    static const char *const names[] = {"spf", "dkim", "dmarc"};
    unsigned i;
    for (i = 0; c && c->fact && i < 3; i++) {
        const char *v = c->fact(c->arg, names[i]);
        /* "pass", or "pass:example.org" (dkim) */
        if (v && !strncmp(v, "pass", 4) && (!v[4] || v[4] == ':')) return 1;
    }
    return 0;
}

long trust_points(struct trust *t, const char *sender, const char *rcpt, const struct trust_context *c,
                  int64_t now, const char **why)
{
    const struct trust_config *cfg = t->cfg;
    int64_t deadline = deadline_in_ms(cfg->store_ms);
    char local[STORE_KEY_MAX], external[STORE_KEY_MAX];
    const char *parts[4], *domain;
    struct store_key k;
    long pair = 0, dom = 0;
    lower_copy(local, sizeof local, rcpt);
    lower_copy(external, sizeof external, sender);
    if (!(domain = domain_of(external))) return 0;
    parts[0] = "trust", parts[1] = "pair", parts[2] = local, parts[3] = external;
    if (store_key(&k, 4, parts) == 0 && (pair = points_of(t, &k, now, deadline)) < 0) return -1;
    if (pair >= cfg->threshold) {
        *why = "pair";
        return pair;
    }
    if (!authenticated(c) || freemail(cfg, domain)) return 0;
    parts[1] = "domain", parts[2] = domain;
    if (store_key(&k, 3, parts) == 0 && (dom = points_of(t, &k, now, deadline)) < 0) return -1;
    if (dom >= cfg->threshold) {
        *why = "domain";
        return dom;
    }
    return 0;
}

static const char *fact_of(void *arg, const char *name)
{
    return filterside_fact(arg, name);
}

/* Inbound, at a recipient or at eom (where a DKIM or DMARC pass is
 * known): the bonus, once per transaction. */
static const char *inbound(struct trust *t, struct filter_side *fs, const char *rcpt, int64_t now)
{
    struct trust_context c = {fact_of, fs};
    const char *why = 0;
    char line[64];
    struct log_line l;
    long p;
    if (t->bonus_given || !rcpt) return "continue";
    p = trust_points(t, t->sender, rcpt, &c, now, &why);
    if (p < 0) return 0;
    if (!p) return "continue";
    t->bonus_given = 1;
    /* One point is a tenth of a score point (NoSpamProxy's scale). */
    snprintf(line, sizeof line, "score %ld", -(p / 10));
    filterside_say(fs, line);
    snprintf(line, sizeof line, "%ld", p);
    filterside_fact_set(fs, "trust", line);
    log_line_event(&l, "trusted");
    log_kv_str(&l, "from", t->sender);
    log_kv_str(&l, "to", rcpt);
    log_kv_str(&l, "by", why);
    log_kv_num(&l, "points", p);
    log_line_emit(&l);
    return t->cfg->accept ? "accept" : "continue";
}

const char *trust_event(struct trust *t, struct filter_side *fs, const struct filter_request *r, int64_t now)
{
    const struct trust_config *c = t->cfg;
    unsigned i, n;
    switch (r->event) {
    case FILTER_MAIL:
        lower_copy(t->sender, sizeof t->sender, r->nfields >= 1 ? r->field[0] : "");
        t->bonus_given = 0;
        break;
    case FILTER_RCPT:
        if (!c->outbound && r->nfields >= 1 && t->sender[0]) return inbound(t, fs, r->field[0], now);
        break;
    case FILTER_EOM:
        if (!c->outbound && t->sender[0] && filterside_recipients(fs))
            return inbound(t, fs, filterside_recipient(fs, 0, 0, 0), now);
        break;
    case FILTER_REPORT: {
        const char *sender = filterside_sender(fs);
        if (!c->outbound || r->nfields < 1 || strcmp(r->field[0], "delivered") || !sender || !*sender) break;
        n = filterside_recipients(fs);
        for (i = 0; i < n; i++) {
            int code = 0;
            const char *rcpt = filterside_recipient(fs, i, &code, 0);
            if (rcpt && code >= 200 && code < 300 && trust_learn(t, sender, rcpt, now) < 0) return 0;
        }
        break;
    }
    case FILTER_RSET:
        t->sender[0] = 0;
        t->bonus_given = 0;
        break;
    default:
        break;
    }
    return "continue";
}

static void print_one(const char *key, const unsigned char *digest, const struct store_value *v, void *arg)
{
    struct trust *t = arg;
    int64_t now = t->list_now;
    char line[STORE_KEY_MAX + 200];
    long p = trust_decayed(t->cfg, (long)v->value, v->time, now);
    int n;
    if (key && !strncmp(key, "trust:pair:", 11)) {
        const char *rest = key + 11, *colon = strchr(rest, ':');
        if (!colon) return;
        n = snprintf(line, sizeof line, "pair %.*s %s %ld %lld\n", (int)(colon - rest), rest, colon + 1, p,
                     (long long)v->time);
    } else if (key && !strncmp(key, "trust:domain:", 13)) {
        n = snprintf(line, sizeof line, "domain %s %ld %lld\n", key + 13, p, (long long)v->time);
    } else if (digest) {
        char hex[2 * STORE_DIGEST_SIZE + 1];
        dupstore_hex(digest, hex);
        n = snprintf(line, sizeof line, "digest %s %ld %lld\n", hex, p, (long long)v->time);
    } else {
        return;
    }
    if (n > 0 && (size_t)n < sizeof line) io_write_all(1, line, (size_t)n, DEADLINE_NONE);
}

int trust_list(struct trust *t, int64_t now)
{
    t->list_now = now;
    return store_list(&t->store, "trust:", now, print_one, t, deadline_in_ms(t->cfg->store_ms * 100));
}
