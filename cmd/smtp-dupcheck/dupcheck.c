#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "deadline.h"
#include "dupcheck.h"
#include "log.h"

static void transaction_reset(struct dupcheck *d)
{
    d->nrcpts = 0;
    d->have_fp = 0;
    d->sender[0] = 0;
    d->msgid[0] = 0;
}

/* Field by field, not a memset of the whole: that would write the 32 KB
 * of recipients' digests (nine pages) in every process. */
void dupcheck_init(struct dupcheck *d, const struct dupcheck_config *cfg)
{
    d->cfg = cfg;
    memset(&d->store, 0, sizeof d->store);
    d->store.fd = d->store.file.fd = -1;
    d->store_parsed = 0;
    memset(&d->permanent, 0, sizeof d->permanent);
    d->permanent_open = 0;
    transaction_reset(d);
}

/* Opened at the first message that needs it, not per connection: most
 * connections of a busy MX never get that far.  A failure is retried at
 * the next message. */
static int store_ready(struct dupcheck *d, int64_t now)
{
    if (d->store_parsed) return 1;
    /* The file is noqueue-dupstore(5) version 1, keyed by the
     * fingerprint itself, as it always was; Redis keys are dup:HEX. */
    d->store.slots = d->cfg->slots;
    d->store.file_version = DUPSTORE_VERSION;
    if (store_parse(&d->store, d->cfg->store) < 0) {
        log_warn("store %s: %s", d->cfg->store, d->store.why);
        return 0;
    }
    d->store_parsed = 1;
    return 1;
}

/* Logged; the store is opened (or connected) again at the next message. */
static void store_failed(struct dupcheck *d, const char *what)
{
    log_warn("store %s: %s; %s", d->cfg->store, d->store.why, what);
    store_close(&d->store);
    d->store_parsed = 0;
}

static void fingerprint_key(struct dupcheck *d, struct store_key *k)
{
    char hex[2 * FINGERPRINT_SIZE + 1];
    const char *parts[2] = {"dup", hex};
    dupstore_hex(d->fp, hex);
    store_key(k, 2, parts);
    memcpy(k->digest, d->fp, FINGERPRINT_SIZE);
}

/* 1 when the Message-ID is a permanent entry. */
static int permanent(struct dupcheck *d, const char *msgid)
{
    const char *path = d->cfg->permanent;
    int r;
    if (!path) return 0;
    if (!d->permanent_open) {
        if (table_open(&d->permanent, path) < 0) {
            log_warn_sys("unable to open %s; permanent entries not checked", path);
            return 0;
        }
        d->permanent_open = 1;
    }
    r = table_get(&d->permanent, msgid, strlen(msgid), 0, 0);
    if (r < 0) log_warn_sys("unable to read %s", path);
    return r > 0;
}

/* The log lines are not inlined: a line buffer (4 KB) in eom's or
 * report's frame would put the frames below it (the scan, the store) on
 * pages of their own. */
static __attribute__((noinline)) void log_unchecked(struct dupcheck *d, const char *reason)
{
    struct log_line l;
    log_line_event(&l, "unchecked");
    if (d->msgid[0]) log_kv_str(&l, "msgid", d->msgid);
    log_kv_str(&l, "reason", reason);
    log_line_emit(&l);
}

static __attribute__((noinline)) const char *duplicate(struct dupcheck *d, const char *source, int64_t age)
{
    struct log_line l;
    char hex[2 * FINGERPRINT_SIZE + 1];
    dupstore_hex(d->fp, hex);
    log_line_event(&l, "duplicate");
    log_kv_str(&l, "fp", hex);
    log_kv_str(&l, "msgid", d->msgid);
    log_kv_str(&l, "from", d->sender);
    log_kv_num(&l, "rcpts", (long long)d->nrcpts);
    log_kv_str(&l, "source", source);
    if (age >= 0) log_kv_num(&l, "age", age);
    log_kv_str(&l, "action", d->cfg->dry_run ? "none" : "discard");
    log_line_emit(&l);
    return d->cfg->dry_run ? "continue" : "discard";
}

static const char *eom(struct dupcheck *d, const struct dupcheck_envelope *env, int64_t now)
{
    const struct dupcheck_config *c = d->cfg;
    struct message_scan m;
    unsigned char header_digest[FINGERPRINT_SIZE], body_digest[FINGERPRINT_SIZE];
    const char *msgid;
    unsigned long i;
    int64_t when;
    struct store_key k;
    int r;

    transaction_reset(d);
    if (!env || !env->sender) {
        log_unchecked(d, "no envelope: not protocol version 2");
        return "continue";
    }
    snprintf(d->sender, sizeof d->sender, "%s", env->sender);
    d->nrcpts = env->nrcpts;
    /* The fingerprint names exactly the recipients that get the message
     * (the proxy says which), so that it never discards a copy one of
     * them did not have. */
    if (env->nrcpts > DUPCHECK_RCPT_MAX) {
        log_unchecked(d, "too many recipients");
        return "continue";
    }
    fingerprint_digest(env->sender, strlen(env->sender), d->sender_digest);
    for (i = 0; i < env->nrcpts; i++)
        fingerprint_digest(env->rcpts[i], strlen(env->rcpts[i]), d->rcpts[i]);
    message_scan_init(&m);
    if (message_scan_fd(&m, c->msgfd) < 0) {
        log_warn_sys("unable to read the message on fd %d; not checked", c->msgfd);
        return "continue";
    }
    msgid = message_scan_msgid(&m);
    if (!msgid) {
        log_unchecked(d, m.msgid_too_long ? "Message-ID too long" : m.msgid_nul ? "NUL in the Message-ID"
                                                                  : "no Message-ID");
        return "continue";
    }
    memcpy(d->msgid, msgid, strlen(msgid) + 1);
    message_scan_header_digest(&m, header_digest);
    message_scan_body_digest(&m, body_digest);
    fingerprint_compute(d->fp, header_digest, d->sender_digest, body_digest, d->rcpts, d->nrcpts);
    d->have_fp = 1;

    if (permanent(d, msgid)) return duplicate(d, "permanent", -1);
    if (!store_ready(d, now)) return "continue";
    fingerprint_key(d, &k);
    r = store_seen(&d->store, &k, now, c->window, &when, deadline_in_ms(c->lock_wait_ms));
    if (r < 0) {
        store_failed(d, "not checked");
        return "continue";
    }
    return r ? duplicate(d, "store", now - when) : "continue";
}

static __attribute__((noinline)) void log_recorded(struct dupcheck *d, int evicted)
{
    struct log_line l;
    char hex[2 * FINGERPRINT_SIZE + 1];
    dupstore_hex(d->fp, hex);
    log_line_event(&l, "recorded");
    log_kv_str(&l, "fp", hex);
    log_kv_str(&l, "msgid", d->msgid);
    /* A live entry pushed out: the store is too small for the window. */
    if (evicted) log_kv_num(&l, "evicted", 1);
    log_line_emit(&l);
}

static void report(struct dupcheck *d, const struct filter_request *r, int64_t now)
{
    const struct dupcheck_config *c = d->cfg;
    int evicted = 0;
    if (!d->have_fp || r->nfields < 1 || strcmp(r->field[0], "delivered")) return;
    struct store_key k;
    if (!store_ready(d, now)) return;
    fingerprint_key(d, &k);
    if (store_mark(&d->store, &k, now, c->window, deadline_in_ms(c->lock_wait_ms), &evicted) < 0) {
        store_failed(d, "not recorded");
        return;
    }
    log_recorded(d, evicted);
}

const char *dupcheck_event(struct dupcheck *d, const struct filter_request *r,
                           const struct dupcheck_envelope *env, int64_t now)
{
    switch (r->event) {
    case FILTER_EOM:
        return eom(d, env, now);
    case FILTER_REPORT:
        report(d, r, now);
        transaction_reset(d);
        break;
    default:
        break;
    }
    return "continue";
}

void dupcheck_end(struct dupcheck *d)
{
    if (d->store_parsed) store_close(&d->store);
    d->store_parsed = 0;
    if (d->permanent_open) table_close(&d->permanent);
    d->permanent_open = 0;
}
