#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "scan.h"
#include "store.h"

/* --- SHA-256 (FIPS 180-4) ------------------------------------------------ */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n) { return x >> n | x << (32 - n); }

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (i = 0; i < 64; i++) {
        t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
        t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void store_sha256(const void *data, size_t n, unsigned char out[STORE_DIGEST_SIZE])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const unsigned char *p = data;
    unsigned char last[128];
    uint64_t bits = (uint64_t)n * 8;
    size_t rest, pad;
    int i;
    for (; n >= 64; n -= 64, p += 64) sha256_block(h, p);
    rest = n;
    memset(last, 0, sizeof last);
    memcpy(last, p, rest);
    last[rest] = 0x80;
    pad = rest < 56 ? 64 : 128;
    for (i = 0; i < 8; i++) last[pad - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha256_block(h, last);
    if (pad == 128) sha256_block(h, last + 64);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
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
    if (s->fd >= 0) close(s->fd);
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

/* --- Redis (RESP 2) ------------------------------------------------------ */

#define REPLY_MAX 1024      /* longer bulk replies are refused: ours are short */

struct reply {
    char type;              /* + - : $ * */
    long long num;          /* : the integer, $ the length (-1 nil), * the count */
    char text[REPLY_MAX + 1];
    size_t len;
};

static int redis_fail(struct store *s, const char *what)
{
    int e = errno;
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    errno = e;
    return log_why(s->why, sizeof s->why, "redis %s: %s", s->server.name, what);
}

static int redis_fail_sys(struct store *s, const char *what)
{
    char buf[120];
    snprintf(buf, sizeof buf, "%s: %s", what, errno == ETIMEDOUT ? "timed out" : strerror(errno));
    return redis_fail(s, buf);
}

static int send_command(struct store *s, unsigned argc, const char *const *argv, const size_t *len,
                        int64_t deadline)
{
    char head[32];
    unsigned i;
    snprintf(head, sizeof head, "*%u\r\n", argc);
    if (io_puts(&s->out, head, deadline) < 0) return -1;
    for (i = 0; i < argc; i++) {
        size_t n = len ? len[i] : strlen(argv[i]);
        snprintf(head, sizeof head, "$%zu\r\n", n);
        if (io_puts(&s->out, head, deadline) < 0 || io_put(&s->out, argv[i], n, deadline) < 0 ||
            io_put(&s->out, "\r\n", 2, deadline) < 0)
            return -1;
    }
    return io_flush(&s->out, deadline);
}

/* One element of a reply: for an array, only its header. */
static int read_reply(struct store *s, struct reply *r, int64_t deadline)
{
    char line[REPLY_MAX + 3];
    ssize_t n = io_getline(&s->in, line, sizeof line, deadline);
    long sign = 1;
    const char *p;
    if (n == IO_ERROR) return redis_fail_sys(s, "unable to read a reply");
    if (n == IO_EOF) return redis_fail(s, "connection closed");
    if (n == IO_TOOLONG) return redis_fail(s, "reply line too long");
    if (n < 3 || line[n - 2] != '\r') return redis_fail(s, "malformed reply");
    line[n - 2] = 0;
    r->type = line[0];
    r->num = 0;
    r->len = 0;
    r->text[0] = 0;
    switch (r->type) {
    case '+':
    case '-':
        r->len = (size_t)n - 3;
        memcpy(r->text, line + 1, r->len + 1);
        return 0;
    case ':':
    case '$':
    case '*':
        p = line + 1;
        if (*p == '-') {
            sign = -1;
            p++;
        }
        if (!*p) return redis_fail(s, "malformed number in a reply");
        for (; *p; p++) {
            if (*p < '0' || *p > '9' || r->num > (INT64_MAX - 9) / 10) return redis_fail(s, "malformed number in a reply");
            r->num = r->num * 10 + (*p - '0');
        }
        r->num *= sign;
        break;
    default:
        return redis_fail(s, "malformed reply");
    }
    if (r->type != '$' || r->num < 0) {
        if (r->type != ':' && r->num < -1) return redis_fail(s, "malformed count in a reply");
        return 0;
    }
    if (r->num > REPLY_MAX) return redis_fail(s, "bulk reply too long");
    while (io_buffered(&s->in) < (size_t)r->num + 2) {
        ssize_t got = io_fill(&s->in, deadline);
        if (got < 0) return redis_fail_sys(s, "unable to read a reply");
        if (got == 0) return redis_fail(s, "connection closed");
    }
    r->len = (size_t)r->num;
    memcpy(r->text, io_peek(&s->in), r->len);
    r->text[r->len] = 0;
    if (memcmp(io_peek(&s->in) + r->len, "\r\n", 2)) return redis_fail(s, "malformed bulk reply");
    io_consume(&s->in, r->len + 2);
    return 0;
}

/* A command and its reply, which must not be an error. */
static int command(struct store *s, unsigned argc, const char *const *argv, const size_t *len,
                   struct reply *r, int64_t deadline)
{
    if (send_command(s, argc, argv, len, deadline) < 0) return redis_fail_sys(s, "unable to send");
    if (read_reply(s, r, deadline) < 0) return -1;
    if (r->type == '-') {
        char buf[120];
        snprintf(buf, sizeof buf, "%s: %.80s", argv[0], r->text);
        return redis_fail(s, buf);
    }
    return 0;
}

static int redis_ready(struct store *s, int64_t deadline)
{
    struct reply r;
    if (s->fd >= 0) return 0;
    s->fd = endpoint_connect(&s->server, deadline);
    if (s->fd < 0) return redis_fail_sys(s, "unable to connect");
    io_in_init(&s->in, s->fd, s->inbuf, sizeof s->inbuf);
    io_out_init(&s->out, s->fd, s->outbuf, sizeof s->outbuf);
    if (s->db) {
        char db[24];
        const char *argv[2] = {"SELECT", db};
        snprintf(db, sizeof db, "%lu", s->db);
        if (command(s, 2, argv, 0, &r, deadline) < 0) return -1;
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
    struct reply r;
    if (s->kind == STORE_FILE) {
        int found;
        if (file_ready(s, now, deadline) < 0) return -1;
        found = dupstore_get(&s->file, k->digest, now, deadline, &v->time, &v->expires, &v->value);
        return found < 0 ? file_error(s) : found;
    } else {
        const char *argv[2] = {"GET", k->text};
        size_t len[2] = {3, k->len};
        if (redis_ready(s, deadline) < 0 || command(s, 2, argv, len, &r, deadline) < 0) return -1;
        if (r.type != '$') return redis_fail(s, "GET: unexpected reply");
        if (r.num < 0) return 0;
        if (parse_value(r.text, v) < 0) return 0;       /* not ours: as if absent */
        return !v->expires || v->expires > now;
    }
}

int store_put(struct store *s, const struct store_key *k, int64_t now, int64_t value, int64_t ttl,
              int64_t deadline)
{
    struct reply r;
    if (ttl < 1) ttl = 1;
    if (s->kind == STORE_FILE) {
        if (file_ready(s, now, deadline) < 0) return -1;
        if (dupstore_put(&s->file, k->digest, now, now + ttl, value, deadline, 0) < 0) return file_error(s);
        return 0;
    } else {
        char val[72], ex[24];
        const char *argv[5] = {"SET", k->text, val, "EX", ex};
        size_t len[5] = {3, k->len, 0, 2, 0};
        len[2] = (size_t)snprintf(val, sizeof val, "%" PRId64 " %" PRId64 " %" PRId64, value, now, now + ttl);
        len[4] = (size_t)snprintf(ex, sizeof ex, "%" PRId64, ttl);
        if (redis_ready(s, deadline) < 0 || command(s, 5, argv, len, &r, deadline) < 0) return -1;
        if (r.type != '+') return redis_fail(s, "SET: unexpected reply");
        return 0;
    }
}

int store_delete(struct store *s, const struct store_key *k, int64_t deadline)
{
    struct reply r;
    if (s->kind == STORE_FILE) {
        int found;
        if (file_ready(s, store_now(), deadline) < 0) return -1;
        found = dupstore_delete(&s->file, k->digest, deadline);
        return found < 0 ? file_error(s) : found;
    } else {
        const char *argv[2] = {"DEL", k->text};
        size_t len[2] = {3, k->len};
        if (redis_ready(s, deadline) < 0 || command(s, 2, argv, len, &r, deadline) < 0) return -1;
        if (r.type != ':') return redis_fail(s, "DEL: unexpected reply");
        return r.num > 0;
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
        struct reply r;
        static struct store_key keys[64];
        long long i, count;
        int nkeys = 0, j;
        const char *argv[6] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "16"};
        if (command(s, 6, argv, 0, &r, deadline) < 0) return -1;
        if (r.type != '*' || r.num != 2) return redis_fail(s, "SCAN: unexpected reply");
        if (read_reply(s, &r, deadline) < 0) return -1;
        if (r.type != '$' || r.len >= sizeof cursor) return redis_fail(s, "SCAN: unexpected cursor");
        memcpy(cursor, r.text, r.len + 1);
        if (read_reply(s, &r, deadline) < 0) return -1;
        if (r.type != '*') return redis_fail(s, "SCAN: unexpected reply");
        count = r.num;
        for (i = 0; i < count; i++) {
            if (read_reply(s, &r, deadline) < 0) return -1;
            if (r.type != '$' || r.num < 0) return redis_fail(s, "SCAN: unexpected key");
            /* (COUNT is a hint: a batch may be larger, rarely this much.) */
            if (nkeys == 64) return redis_fail(s, "SCAN: too many keys at once");
            if (r.len < STORE_KEY_MAX) {
                memcpy(keys[nkeys].text, r.text, r.len + 1);
                keys[nkeys++].len = r.len;
            }
        }
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
