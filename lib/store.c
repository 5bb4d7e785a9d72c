#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <nettle/sha2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "io.h"
#include "log.h"
#include "scan.h"
#include "store.h"

/* --- SHA-256, from nettle ---------------------------------------------- */

void store_sha256(const void *data, size_t n, unsigned char out[STORE_DIGEST_SIZE])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, n, data);
    sha256_digest(&c, STORE_DIGEST_SIZE, out);
}

int store_key(struct store_key *k, unsigned nparts, const char *const *parts)
{
    unsigned i;
    k->len = 0;
    for (i = 0; i < nparts; i++) {
        size_t n = strlen(parts[i]);
        if (k->len + n + (i > 0) >= sizeof k->text) return -1;
        if (i) k->text[k->len++] = ':';
        memcpy(k->text + k->len, parts[i], n);
        k->len += n;
    }
    k->text[k->len] = 0;
    store_sha256(k->text, k->len, k->digest);
    return 0;
}

int64_t store_now(void)
{
    const char *s = getenv("NOQUEUE_NOW");
    unsigned long v;
    if (s && scan_ulong(s, 0xffffffffffUL, &v) && v) return (int64_t)v;
    return (int64_t)time(0);
}

/* --- the address --------------------------------------------------------- */

int store_parse(struct store *s, const char *spec)
{
    char inet[sizeof s->server.name];
    size_t n = strlen(spec);
    s->fd = -1;
    s->redis = 0;
    s->refused = 0;
    s->file_open = 0;
    s->file.fd = -1;
    s->db = 0;
    s->why[0] = 0;
    if (!s->slots) s->slots = DUPSTORE_SLOTS_DEFAULT;
    if (!s->file_version) s->file_version = DUPSTORE_VERSION_VALUES;
    if (!n || n >= sizeof s->spec) return log_why(s->why, sizeof s->why, "store name empty or too long");
    memcpy(s->spec, spec, n + 1);
    if (!strncmp(spec, "unix:", 5)) {
        s->kind = STORE_REDIS;
        return endpoint_parse(&s->server, spec, s->why, sizeof s->why);
    }
    if (!strncmp(spec, "redis://", 8)) {
        const char *hostport = spec + 8, *slash = strchr(hostport, '/');
        size_t hn = slash ? (size_t)(slash - hostport) : strlen(hostport);
        s->kind = STORE_REDIS;
        if (slash && !scan_ulong(slash + 1, 1000000, &s->db))
            return log_why(s->why, sizeof s->why, "bad database number after /");
        if (hn + 6 > sizeof inet) return log_why(s->why, sizeof s->why, "address too long");
        memcpy(inet, "inet:", 5);
        memcpy(inet + 5, hostport, hn);
        inet[5 + hn] = 0;
        return endpoint_parse(&s->server, inet, s->why, sizeof s->why);
    }
    s->kind = STORE_FILE;
    return 0;
}

void store_close(struct store *s)
{
    if (s->file_open) dupstore_close(&s->file);
    if (s->redis) redisFree(s->redis);          /* closes s->fd */
    else if (s->fd >= 0) close(s->fd);
    s->redis = 0;
    s->file_open = 0;
    s->fd = -1;
}

/* --- the file ------------------------------------------------------------ */

static int file_ready(struct store *s, int64_t now, int64_t deadline)
{
    if (s->file_open) return 0;
    if (dupstore_open_version(&s->file, s->spec, 1, 1, s->slots, s->file_version, now, deadline) < 0)
        return log_why(s->why, sizeof s->why, "%s", s->file.why);
    s->file_open = 1;
    if (s->file.repaired) log_warn("store %s: was cut short: extended with empty records", s->spec);
    return 0;
}

static int file_error(struct store *s)
{
    return log_why(s->why, sizeof s->why, "%s", s->file.why);
}

/* --- Redis, through hiredis, non-blocking -------------------------------- */

/* hiredis builds the replies and keeps the buffers; the waiting is ours:
 * the socket is lib/endpoint's (non-blocking, connected within the
 * deadline) and every wait is a poll(2) bounded by the caller's deadline
 * (io_wait), never a socket time-out. */

#define REPLY_MAX 1024      /* longer strings are refused: ours are short */
#define REPLY_ELEMENTS 64   /* longer arrays too (SCAN's COUNT is 16) */
/* What one reply may take on the wire: a SCAN batch at its largest.
 * hiredis's maxbuf only frees an idle buffer, so the bound is kept here,
 * counting what each read adds. */
#define REPLY_BYTES_MAX (REPLY_ELEMENTS * (REPLY_MAX + 16) + 64)

static int redis_fail(struct store *s, const char *what)
{
    int e = errno;
    if (s->redis) redisFree(s->redis);          /* closes s->fd */
    else if (s->fd >= 0) close(s->fd);
    s->redis = 0;
    s->fd = -1;
    s->refused = 0;
    errno = e;
    return log_why(s->why, sizeof s->why, "redis %s: %s", s->server.name, what);
}

static int redis_fail_sys(struct store *s, const char *what)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s: %s", what, errno == ETIMEDOUT ? "timed out" : strerror(errno));
    return redis_fail(s, buf);
}

/* hiredis's own reply objects, each checked as the reader makes it: a
 * string too long, not followed by CRLF (a bulk string's length that lies)
 * or an array too long is refused, with the reason kept for s->why. */
static redisReplyObjectFunctions *hiredis_objects;

static void *refuse(const redisReadTask *t, const char *why)
{
    struct store *s = t->privdata;
    if (s && !s->refused) s->refused = why;
    return 0;
}

static void *checked_string(const redisReadTask *t, char *str, size_t len)
{
    /* (The reader calls this only when the CRLF after str is buffered.) */
    if (len > REPLY_MAX) return refuse(t, t->type == REDIS_REPLY_STRING ? "bulk reply too long" : "reply line too long");
    if (str[len] != '\r' || str[len + 1] != '\n') return refuse(t, "malformed bulk reply");
    return hiredis_objects->createString(t, str, len);
}

static void *checked_array(const redisReadTask *t, int elements)
{
    if (elements > REPLY_ELEMENTS) return refuse(t, "array reply too long");
    return hiredis_objects->createArray(t, elements);
}

static void *checked_integer(const redisReadTask *t, long long v)
{
    return hiredis_objects->createInteger(t, v);
}

static void *checked_nil(const redisReadTask *t)
{
    return hiredis_objects->createNil(t);
}

static void checked_free(void *reply)
{
    hiredis_objects->freeObject(reply);
}

static redisReplyObjectFunctions checked_objects = {
    checked_string, checked_array, checked_integer, checked_nil, checked_free,
};

/* Why hiredis gave up, in our words. */
static int redis_fail_hiredis(struct store *s, const char *doing)
{
    char buf[180];
    if (s->refused) return redis_fail(s, s->refused);
    switch (s->redis->err) {
    case REDIS_ERR_EOF: return redis_fail(s, "connection closed");
    case REDIS_ERR_PROTOCOL: snprintf(buf, sizeof buf, "malformed reply: %.120s", s->redis->errstr); break;
    default: snprintf(buf, sizeof buf, "%s: %.120s", doing, s->redis->errstr); break;
    }
    return redis_fail(s, buf);
}

/* A command and its reply (*r, freed by the caller), which must not be an
 * error. */
static int command(struct store *s, int argc, const char **argv, const size_t *len, redisReply **r,
                   int64_t deadline)
{
    void *reply = 0;
    int done = 0;
    size_t got = 0;
    *r = 0;
    if (redisAppendCommandArgv(s->redis, argc, argv, len) != REDIS_OK)
        return redis_fail_hiredis(s, "unable to send");
    for (;;) {
        int w;
        if (redisBufferWrite(s->redis, &done) != REDIS_OK) return redis_fail_hiredis(s, "unable to send");
        if (done) break;
        w = io_wait(s->fd, POLLOUT, deadline);
        if (w == 0) errno = ETIMEDOUT;
        if (w <= 0) return redis_fail_sys(s, "unable to send");
    }
    for (;;) {
        size_t before;
        int w;
        if (redisGetReplyFromReader(s->redis, &reply) != REDIS_OK) return redis_fail_hiredis(s, "unable to read a reply");
        if (reply) break;
        w = io_wait(s->fd, POLLIN, deadline);
        if (w == 0) errno = ETIMEDOUT;
        if (w <= 0) return redis_fail_sys(s, "unable to read a reply");
        before = s->redis->reader->len;
        if (redisBufferRead(s->redis) != REDIS_OK) return redis_fail_hiredis(s, "unable to read a reply");
        got += s->redis->reader->len - before;
        if (got > REPLY_BYTES_MAX) return redis_fail(s, "reply too long");
    }
    *r = reply;
    /* One request, one reply: anything after it is not Redis speaking. */
    if (s->redis->reader->pos < s->redis->reader->len) {
        freeReplyObject(reply);
        *r = 0;
        return redis_fail(s, "malformed reply: data after the reply");
    }
    if ((*r)->type == REDIS_REPLY_ERROR) {
        char buf[120];
        snprintf(buf, sizeof buf, "%s: %.80s", argv[0], (*r)->str);
        freeReplyObject(reply);
        *r = 0;
        return redis_fail(s, buf);
    }
    return 0;
}

static int redis_ready(struct store *s, int64_t deadline)
{
    if (s->redis) return 0;
    s->fd = endpoint_connect(&s->server, deadline);
    if (s->fd < 0) return redis_fail_sys(s, "unable to connect");
    s->redis = redisConnectFd(s->fd);
    if (!s->redis) return redis_fail(s, "out of memory");
    if (s->redis->err) return redis_fail_hiredis(s, "unable to connect");
    /* Ours to wait for: hiredis must never block on the socket. */
    s->redis->flags &= ~REDIS_BLOCK;
    if (!hiredis_objects) hiredis_objects = s->redis->reader->fn;
    s->redis->reader->fn = &checked_objects;
    s->redis->reader->privdata = s;
    s->redis->reader->maxbuf = REPLY_BYTES_MAX;
    s->refused = 0;
    if (s->db) {
        char db[24];
        const char *argv[2] = {"SELECT", db};
        redisReply *r;
        snprintf(db, sizeof db, "%lu", s->db);
        if (command(s, 2, argv, 0, &r, deadline) < 0) return -1;
        freeReplyObject(r);
    }
    return 0;
}

/* The value of a key: "VALUE TIME EXPIRES" in decimal.  Redis's own TTL
 * is set too, but only to collect garbage: the expiry that counts is
 * ours, on the programs' clock (store_now). */
static int parse_value(const char *t, struct store_value *v)
{
    long long x[3];
    char *end;
    int i;
    for (i = 0; i < 3; i++) {
        errno = 0;
        x[i] = strtoll(t, &end, 10);
        if (errno || end == t || (*end != (i < 2 ? ' ' : 0))) return -1;
        t = end + (i < 2);
    }
    v->value = x[0];
    v->time = x[1];
    v->expires = x[2];
    return 0;
}

/* --- the operations ------------------------------------------------------ */

int store_get(struct store *s, const struct store_key *k, int64_t now, struct store_value *v,
              int64_t deadline)
{
    if (s->kind == STORE_FILE) {
        int found;
        if (file_ready(s, now, deadline) < 0) return -1;
        found = dupstore_get(&s->file, k->digest, now, deadline, &v->time, &v->expires, &v->value);
        return found < 0 ? file_error(s) : found;
    } else {
        const char *argv[2] = {"GET", k->text};
        size_t len[2] = {3, k->len};
        redisReply *r;
        int found;
        if (redis_ready(s, deadline) < 0 || command(s, 2, argv, len, &r, deadline) < 0) return -1;
        if (r->type == REDIS_REPLY_NIL) found = 0;
        else if (r->type != REDIS_REPLY_STRING) found = -1;
        else if (parse_value(r->str, v) < 0) found = 0;     /* not ours: as if absent */
        else found = !v->expires || v->expires > now;
        freeReplyObject(r);
        return found < 0 ? redis_fail(s, "GET: unexpected reply") : found;
    }
}

int store_put(struct store *s, const struct store_key *k, int64_t now, int64_t value, int64_t ttl,
              int64_t deadline)
{
    if (ttl < 1) ttl = 1;
    if (s->kind == STORE_FILE) {
        if (file_ready(s, now, deadline) < 0) return -1;
        if (dupstore_put(&s->file, k->digest, now, now + ttl, value, deadline, 0) < 0) return file_error(s);
        return 0;
    } else {
        char val[72], ex[24];
        const char *argv[5] = {"SET", k->text, val, "EX", ex};
        size_t len[5] = {3, k->len, 0, 2, 0};
        redisReply *r;
        int ok;
        len[2] = (size_t)snprintf(val, sizeof val, "%" PRId64 " %" PRId64 " %" PRId64, value, now, now + ttl);
        len[4] = (size_t)snprintf(ex, sizeof ex, "%" PRId64, ttl);
        if (redis_ready(s, deadline) < 0 || command(s, 5, argv, len, &r, deadline) < 0) return -1;
        ok = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        return ok ? 0 : redis_fail(s, "SET: unexpected reply");
    }
}

int store_delete(struct store *s, const struct store_key *k, int64_t deadline)
{
    if (s->kind == STORE_FILE) {
        int found;
        if (file_ready(s, store_now(), deadline) < 0) return -1;
        found = dupstore_delete(&s->file, k->digest, deadline);
        return found < 0 ? file_error(s) : found;
    } else {
        const char *argv[2] = {"DEL", k->text};
        size_t len[2] = {3, k->len};
        redisReply *r;
        long long n;
        if (redis_ready(s, deadline) < 0 || command(s, 2, argv, len, &r, deadline) < 0) return -1;
        /* (One key: 0 or 1, anything else is nonsense.) */
        n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        freeReplyObject(r);
        if (n != 0 && n != 1) return redis_fail(s, "DEL: unexpected reply");
        return (int)n;
    }
}

static int file_list(struct store *s, int64_t now,
                     void (*each)(const char *, const unsigned char *, const struct store_value *, void *),
                     void *arg)
{
    /* dupstore_scan gives fingerprints and times only: read the values
     * record by record (no lock, like the scan: a record being written
     * reads as its old or new self, or as damaged). */
    unsigned char buf[DUPSTORE_BUCKET_SIZE], fp[DUPSTORE_FP_SIZE];
    uint32_t b;
    for (b = 0; b < s->file.nbuckets; b++) {
        int i;
        ssize_t got = pread(s->file.fd, buf, sizeof buf, (off_t)dupstore_bucket_offset(b));
        if (got < 0) return log_why(s->why, sizeof s->why, "unable to read: %s", strerror(errno));
        if ((size_t)got < sizeof buf) memset(buf + got, 0, sizeof buf - (size_t)got);
        for (i = 0; i < DUPSTORE_BUCKET_RECORDS; i++) {
            struct store_value v;
            if (dupstore_record_decode_value(buf + i * DUPSTORE_RECORD_SIZE, fp, &v.time, &v.expires, &v.value) ==
                    DUPSTORE_USED &&
                (!v.expires || v.expires > now))
                each(0, fp, &v, arg);
        }
    }
    return 0;
}

int store_list(struct store *s, const char *prefix, int64_t now,
               void (*each)(const char *key, const unsigned char *digest, const struct store_value *v,
                            void *arg),
               void *arg, int64_t deadline)
{
    char cursor[32] = "0", pattern[STORE_KEY_MAX + 2];
    if (s->kind == STORE_FILE) {
        if (file_ready(s, now, deadline) < 0) return -1;
        return file_list(s, now, each, arg);
    }
    if (redis_ready(s, deadline) < 0) return -1;
    /* (A prefix with * ? [ or \ in it would need escaping: ours have none.) */
    snprintf(pattern, sizeof pattern, "%s*", prefix);
    do {
        static struct store_key keys[REPLY_ELEMENTS];
        const char *argv[6] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "16"};
        const char *bad = 0;
        redisReply *r, *c, *list;
        size_t i;
        int nkeys = 0, j;
        if (command(s, 6, argv, 0, &r, deadline) < 0) return -1;
        /* [cursor, [key...]]; (COUNT is a hint: a batch may be larger,
         * rarely more than REPLY_ELEMENTS, refused by the reader.) */
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) bad = "SCAN: unexpected reply";
        else if ((c = r->element[0])->type != REDIS_REPLY_STRING || c->len >= sizeof cursor)
            bad = "SCAN: unexpected cursor";
        else if ((list = r->element[1])->type != REDIS_REPLY_ARRAY) bad = "SCAN: unexpected reply";
        else {
            memcpy(cursor, c->str, c->len + 1);
            for (i = 0; i < list->elements && nkeys < REPLY_ELEMENTS && !bad; i++) {
                redisReply *key = list->element[i];
                if (key->type != REDIS_REPLY_STRING) bad = "SCAN: unexpected key";
                else if (key->len < STORE_KEY_MAX) {
                    memcpy(keys[nkeys].text, key->str, key->len + 1);
                    keys[nkeys++].len = key->len;
                }
            }
        }
        freeReplyObject(r);
        if (bad) return redis_fail(s, bad);
        for (j = 0; j < nkeys; j++) {
            struct store_value v;
            int found = store_get(s, &keys[j], now, &v, deadline);
            if (found < 0) return -1;
            if (found) each(keys[j].text, 0, &v, arg);
        }
    } while (strcmp(cursor, "0"));
    return 0;
}

int store_seen(struct store *s, const struct store_key *k, int64_t now, int64_t window, int64_t *when,
               int64_t deadline)
{
    struct store_value v;
    int r;
    if (s->kind == STORE_FILE) {
        if (file_ready(s, now, deadline) < 0) return -1;
        r = dupstore_lookup(&s->file, k->digest, now, window, deadline, when);
        return r < 0 ? file_error(s) : r;
    }
    r = store_get(s, k, now, &v, deadline);
    if (r <= 0) return r;
    if (!(v.time > now - window && v.time < now + window)) return 0;
    if (when) *when = v.time;
    return 1;
}

int store_mark(struct store *s, const struct store_key *k, int64_t now, int64_t window, int64_t deadline,
               int *evicted)
{
    if (evicted) *evicted = 0;
    if (s->kind == STORE_FILE) {
        if (file_ready(s, now, deadline) < 0) return -1;
        return dupstore_record(&s->file, k->digest, now, window, deadline, evicted) < 0 ? file_error(s) : 0;
    }
    return store_put(s, k, now, 0, window, deadline);
}
