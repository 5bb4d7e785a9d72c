/* rspamd's reply: the HTTP framing, then the JSON mapped to one answer.
 * Every string kept is copied to the answer's arena, so the answer lives
 * on after the JSON is freed. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "header.h"
#include "log.h"
#include "rspamd.h"

/* --- HTTP ---------------------------------------------------------------- */

static const char *find_crlfcrlf(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i + 3 < n; i++)
        if (s[i] == '\r' && s[i + 1] == '\n' && s[i + 2] == '\r' && s[i + 3] == '\n') return s + i;
    return 0;
}

static int header_is(const char *line, size_t n, const char *name, const char **value, size_t *vn)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k)) return 0;
    line += k + 1;
    n -= k + 1;
    while (n && (*line == ' ' || *line == '\t')) line++, n--;
    while (n && (line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
    *value = line;
    *vn = n;
    return 1;
}

int rspamd_http_reply(const char *buf, size_t len, int eof, const char **body, size_t *bodylen,
                      char *why, size_t size)
{
    const char *end = find_crlfcrlf(buf, len), *p, *v;
    size_t head, vn, clen = (size_t)-1, i;
    int code;
    if (!end) {
        if (len >= RSPAMD_REPLY_MAX) return log_why(why, size, "reply header too long");
        if (eof) return log_why(why, size, "connection closed within the reply header");
        return 0;
    }
    head = (size_t)(end - buf) + 4;
    if (head < 14 || (memcmp(buf, "HTTP/1.0 ", 9) && memcmp(buf, "HTTP/1.1 ", 9)))
        return log_why(why, size, "not an HTTP/1 reply");
    for (i = 9, code = 0; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9') return log_why(why, size, "malformed HTTP status line");
        code = code * 10 + (buf[i] - '0');
    }
    if (buf[12] != ' ' && buf[12] != '\r') return log_why(why, size, "malformed HTTP status line");
    if (code != 200) {
        const char *eol = memchr(buf, '\r', head);
        int n = (int)(eol - buf);
        for (i = 0; i < (size_t)n; i++)
            if (buf[i] < 32 || buf[i] > 126) { n = 12; break; }
        return log_why(why, size, "rspamd answered \"%.*s\"", n > 200 ? 200 : n, buf);
    }
    /* the header fields, line by line after the status line */
    p = (const char *)memchr(buf, '\n', head) + 1;
    while (p < buf + head - 2) {
        const char *eol = memchr(p, '\n', (size_t)(buf + head - p));
        size_t n = (size_t)(eol - p);
        if (n && p[n - 1] == '\r') n--;
        if (header_is(p, n, "Content-Length", &v, &vn)) {
            size_t c = 0;
            if (!vn || vn > 9 || clen != (size_t)-1) return log_why(why, size, "bad Content-Length");
            for (i = 0; i < vn; i++) {
                if (v[i] < '0' || v[i] > '9') return log_why(why, size, "bad Content-Length");
                c = c * 10 + (size_t)(v[i] - '0');
            }
            clen = c;
        } else if (header_is(p, n, "Transfer-Encoding", &v, &vn) ||
                   header_is(p, n, "Content-Encoding", &v, &vn) ||
                   header_is(p, n, "Compression", &v, &vn)) {
            if (!(vn == 8 && !strncasecmp(v, "identity", 8)))
                return log_why(why, size, "an encoded reply (not asked for)");
        }
        p = eol + 1;
    }
    if (clen == (size_t)-1) {
        if (!eof) return 0;
        clen = len - head;
    }
    if (clen > RSPAMD_REPLY_MAX - head) return log_why(why, size, "reply too long");
    if (len - head < clen) {
        if (eof) return log_why(why, size, "connection closed within the reply body");
        return 0;
    }
    /* (what may follow is not read: the reply is complete) */
    *body = buf + head;
    *bodylen = clen;
    return 1;
}

/* --- jansson's memory ---------------------------------------------------- */

/* The values jansson makes of one reply come from an arena, reset for the
 * next: with musl's malloc, the parse of rspamd's usual 2 KB reply took
 * 95 us, against 35 us with glibc's.  What does not fit comes from
 * malloc.  Sanitized builds keep malloc, where ASan sees every value. */
#if defined(__SANITIZE_ADDRESS__)
#define JSON_ARENA_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JSON_ARENA_OFF 1
#endif
#endif

#ifndef JSON_ARENA_OFF
#define JSON_ARENA 262144
static union {
    long double align1;
    void *align2;
    long long align3;
    unsigned char b[JSON_ARENA];
} arena;
static size_t arena_used;

static void *arena_alloc(size_t n)
{
    if (n <= JSON_ARENA - arena_used) {
        void *p = arena.b + arena_used;
        arena_used += (n + 15) & ~(size_t)15;
        if (arena_used > JSON_ARENA) arena_used = JSON_ARENA;
        return p;
    }
    return malloc(n);
}

static void arena_free(void *p)
{
    if (p && ((unsigned char *)p < arena.b || (unsigned char *)p >= arena.b + JSON_ARENA)) free(p);
}
#endif

static void arena_reset(void)
{
#ifndef JSON_ARENA_OFF
    arena_used = 0;
    json_set_alloc_funcs(arena_alloc, arena_free);
#endif
}

/* --- the answer ---------------------------------------------------------- */

struct mapping {
    struct rspamd_answer *a;
    const struct rspamd_config *cfg;
    const struct rspamd_headers *h;
    char *why;
    size_t size;
};

static const char *arena_copy(struct mapping *m, const char *s, size_t n)
{
    struct rspamd_answer *a = m->a;
    char *d;
    if (n >= sizeof a->arena - a->arena_len) return 0;
    d = a->arena + a->arena_len;
    memcpy(d, s, n);
    d[n] = 0;
    a->arena_len += n + 1;
    return d;
}

static struct rspamd_op *op_new(struct mapping *m, enum rspamd_op_kind kind)
{
    struct rspamd_op *op;
    if (m->a->nops >= RSPAMD_OPS_MAX) {
        log_why(m->why, m->size, "more than %d changes asked for", RSPAMD_OPS_MAX);
        return 0;
    }
    op = &m->a->op[m->a->nops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    return op;
}

/* How many fields (of name; NULL: all) the message has once the changes
 * so far are made. */
static unsigned long fields_now(const struct mapping *m, const char *name)
{
    unsigned long n = m->h->count(m->h->ctx, name);
    unsigned i;
    for (i = 0; i < m->a->nops; i++) {
        const struct rspamd_op *op = &m->a->op[i];
        if (op->kind != OP_INSERT && op->kind != OP_CHANGE) continue;
        if (name && strcasecmp(op->name, name)) continue;
        if (op->kind == OP_INSERT || op->adds) n++;
        else if (!op->value && n) n--;
    }
    return n;
}

static int name_ok(const char *s)
{
    return header_name_valid(s, strlen(s)) && strlen(s) < FILTERPROTO_HEADER_NAME_MAX;
}

/* A field value from rspamd (no leading space; folded with LF or CRLF)
 * as the protocol wants it: leading space, CRLF folds.  NULL if it is no
 * valid value (8-bit, control characters, too long for one line of the
 * protocol once in xtext). */
static const char *field_value(struct mapping *m, const char *s, size_t n, size_t *out)
{
    char buf[FILTERPROTO_HEADER_VALUE_MAX + 1];
    size_t i, k = 0, encoded = 0;
    buf[k++] = ' ';
    for (i = 0; i < n; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) {
            if (k >= sizeof buf) return 0;
            buf[k++] = '\r';
        }
        if (k >= sizeof buf) return 0;
        buf[k++] = s[i];
    }
    if (!header_value_valid(buf, k)) return 0;
    for (i = 0; i < k; i++)
        encoded += buf[i] > 32 && buf[i] < 127 && buf[i] != '+' && buf[i] != '=' ? 1 : 3;
    if (encoded > FILTERPROTO_LINE_MAX - 128) return 0;
    *out = k;
    return arena_copy(m, buf, k);
}

static int add_field(struct mapping *m, enum rspamd_op_kind kind, unsigned long index,
                     const char *name, const char *value, size_t n)
{
    struct rspamd_op *op;
    const char *v = 0, *nm;
    size_t vn = 0;
    int adds;
    if (!name_ok(name)) {
        log_warn("rspamd asked for a field with a bad name; left out");
        return 0;
    }
    if (value && !(v = field_value(m, value, n, &vn))) {
        log_warn("rspamd's value for %s is no valid field value; left out", name);
        return 0;
    }
    if (kind == OP_INSERT && index > fields_now(m, 0)) index = fields_now(m, 0);
    if (kind == OP_CHANGE && !value && index > fields_now(m, name)) return 0;   /* nothing there */
    adds = kind == OP_CHANGE && value && index > fields_now(m, name);
    if (!(nm = arena_copy(m, name, strlen(name)))) return log_why(m->why, m->size, "changes too long");
    if (!(op = op_new(m, kind))) return -1;
    op->index = index;
    op->name = nm;
    op->value = v;
    op->len = vn;
    op->adds = adds;
    return 0;
}

/* remove_headers: n >= 1 the n-th, 0 all, < 0 the -n-th from the end. */
static int remove_fields(struct mapping *m, const char *name, long n)
{
    unsigned long have = fields_now(m, name), i;
    if (n > 0) return add_field(m, OP_CHANGE, (unsigned long)n, name, 0, 0);
    if (n == 0) {
        for (i = have; i >= 1; i--)
            if (add_field(m, OP_CHANGE, i, name, 0, 0) < 0) return -1;
        return 0;
    }
    if ((unsigned long)-(n + 1) >= have) return 0;
    return add_field(m, OP_CHANGE, have - (unsigned long)-(n + 1), name, 0, 0);
}

/* add_headers: a value is a string (added at the end), an object with
 * value and order (or index: where to insert; < 0 from the end), or an
 * array of those. */
static int add_one(struct mapping *m, const char *name, json_t *v)
{
    json_t *val, *order;
    json_int_t at;
    unsigned long total = fields_now(m, 0);
    if (json_is_string(v))
        return add_field(m, OP_INSERT, total, name, json_string_value(v), json_string_length(v));
    if (!json_is_object(v)) return 0;
    val = json_object_get(v, "value");
    if (!json_is_string(val)) return 0;
    order = json_object_get(v, "order");
    if (!order) order = json_object_get(v, "index");
    if (!json_is_integer(order))
        return add_field(m, OP_INSERT, total, name, json_string_value(val), json_string_length(val));
    at = json_integer_value(order);
    if (at < 0) at = -at <= (json_int_t)total ? (json_int_t)total + at + 1 : 0;
    return add_field(m, OP_INSERT, (unsigned long)at, name, json_string_value(val),
                     json_string_length(val));
}

static int add_fields(struct mapping *m, json_t *obj)
{
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v) {
        if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
                if (add_one(m, name, e) < 0) return -1;
        } else if (add_one(m, name, v) < 0) return -1;
    }
    return 0;
}

/* The add header action: every field of that name goes but the first,
 * which gets the value (or is added at the end). */
static int spam_field(struct mapping *m, const char *name, const char *value, size_t n)
{
    unsigned long i;
    if (!name_ok(name)) return 0;
    for (i = fields_now(m, name); i >= 2; i--)
        if (add_field(m, OP_CHANGE, i, name, 0, 0) < 0) return -1;
    return add_field(m, OP_CHANGE, 1, name, value, n);
}

static int text_ok(const char *s, size_t n)
{
    size_t i;
    if (!n || n > FILTERPROTO_TEXT_MAX - 16) return 0;
    for (i = 0; i < n; i++)
        if (s[i] < 32 || s[i] > 126) return 0;
    return 1;
}

static int fact(struct mapping *m, const char *name, const char *value)
{
    struct rspamd_op *op = op_new(m, OP_FACT);
    if (!op) return -1;
    op->name = name;
    op->value = value;
    op->len = strlen(value);
    return 0;
}

static int quarantine_op(struct mapping *m)
{
    struct rspamd_op *op = op_new(m, OP_QUARANTINE);
    if (!op) return -1;
    op->value = "rspamd";
    op->len = 6;
    return 0;
}

static int map(struct mapping *m, json_t *root)
{
    const struct rspamd_config *cfg = m->cfg;
    struct rspamd_answer *a = m->a;
    json_t *action = json_object_get(root, "action"), *score = json_object_get(root, "score");
    json_t *messages = json_object_get(root, "messages"), *milter = json_object_get(root, "milter");
    json_t *smtp = 0, *v;
    const char *act, *text = 0, *name;
    double points;
    size_t i, textlen = 0;
    int discard = 0, quarantine = 0;

    if (!json_is_string(action)) return log_why(m->why, m->size, "no action in the reply");
    if (!json_is_number(score)) return log_why(m->why, m->size, "no score in the reply");
    act = json_string_value(action);
    if (json_string_length(action) >= sizeof a->action)
        return log_why(m->why, m->size, "unknown action");
    for (i = 0; act[i]; i++)
        a->action[i] = act[i] == ' ' ? '_' : act[i];
    a->action[i] = 0;
    points = json_number_value(score);
    if (!isfinite(points) || fabs(points) > 1e6) return log_why(m->why, m->size, "bad score");
    snprintf(a->score, sizeof a->score, "%.2f", points);
    if (fact(m, "rspamd.score", a->score) < 0 || fact(m, "rspamd.action", a->action) < 0) return -1;
    if (cfg->points) {
        double p = points * (double)cfg->points;
        long lp = lround(p > FILTERPROTO_SCORE_MAX ? FILTERPROTO_SCORE_MAX :
                         p < -FILTERPROTO_SCORE_MAX ? -FILTERPROTO_SCORE_MAX : p);
        if (lp) {
            struct rspamd_op *op = op_new(m, OP_SCORE);
            if (!op) return -1;
            op->points = lp;
        }
    }
    if (json_is_object(messages)) smtp = json_object_get(messages, "smtp_message");
    if (json_is_string(smtp) && text_ok(json_string_value(smtp), json_string_length(smtp))) {
        text = json_string_value(smtp);
        textlen = json_string_length(smtp);
    }

    if (json_is_object(milter)) {
        json_t *remove = json_object_get(milter, "remove_headers");
        json_t *add = json_object_get(milter, "add_headers");
        json_t *reject = json_object_get(milter, "reject");
        json_t *no_action = json_object_get(milter, "no_action");
        if (json_is_object(remove))
            json_object_foreach(remove, name, v)
                if (json_is_integer(v) && remove_fields(m, name, (long)json_integer_value(v)) < 0)
                    return -1;
        if (json_is_object(add) && add_fields(m, add) < 0) return -1;
        if (json_is_string(reject)) {
            discard = !strcmp(json_string_value(reject), "discard");
            quarantine = !strcmp(json_string_value(reject), "quarantine");
        }
        if (json_is_true(no_action)) {
            /* rspamd was told to only say what it would have done */
            if (add_field(m, OP_INSERT, fields_now(m, 0), "X-Rspamd-Action", act, strlen(act)) < 0)
                return -1;
            strcpy(a->verdict, "continue");
            return 0;
        }
    }
    /* DKIM signatures rspamd made, at the top */
    v = json_object_get(root, "dkim-signature");
    if (json_is_string(v)) {
        if (add_field(m, OP_INSERT, 0, "DKIM-Signature", json_string_value(v), json_string_length(v)) < 0)
            return -1;
    } else if (json_is_array(v)) {
        json_t *e;
        json_array_foreach(v, i, e)
            if (json_is_string(e) && add_field(m, OP_INSERT, i, "DKIM-Signature", json_string_value(e),
                                               json_string_length(e)) < 0)
                return -1;
    }

    if (!strcmp(act, "no action")) {
        strcpy(a->verdict, "continue");
    } else if (!strcmp(act, "reject")) {
        if (discard) {
            strcpy(a->verdict, "discard");
        } else if (quarantine) {
            if (quarantine_op(m) < 0) return -1;
            strcpy(a->verdict, "continue");
        } else {
            if (!text) text = cfg->reject_text, textlen = strlen(text);
            snprintf(a->verdict, sizeof a->verdict, "reject 554 5.7.1 %.*s", (int)textlen, text);
        }
    } else if (!strcmp(act, "soft reject") || (!strcmp(act, "greylist") && !cfg->greylist_continue)) {
        if (!text) text = cfg->tempfail_text, textlen = strlen(text);
        snprintf(a->verdict, sizeof a->verdict, "tempfail 451 4.7.1 %.*s", (int)textlen, text);
    } else if (!strcmp(act, "greylist")) {
        strcpy(a->verdict, "continue");
    } else if (!strcmp(act, "rewrite subject")) {
        v = json_object_get(root, "subject");
        if (json_is_string(v)) {
            if (add_field(m, OP_CHANGE, 1, "Subject", json_string_value(v), json_string_length(v)) < 0)
                return -1;
        } else {
            log_warn("rspamd said rewrite subject but gave no subject");
        }
        strcpy(a->verdict, "continue");
    } else if (!strcmp(act, "add header")) {
        json_t *sh = json_is_object(milter) ? json_object_get(milter, "spam_header") : 0;
        if (json_is_string(sh)) {
            if (spam_field(m, cfg->spam_header, json_string_value(sh), json_string_length(sh)) < 0)
                return -1;
        } else if (json_is_object(sh)) {
            json_object_foreach(sh, name, v)
                if (json_is_string(v) &&
                    spam_field(m, name, json_string_value(v), json_string_length(v)) < 0)
                    return -1;
        } else if (spam_field(m, cfg->spam_header, "Yes", 3) < 0) {
            return -1;
        }
        strcpy(a->verdict, "continue");
    } else if (!strcmp(act, "quarantine")) {
        if (quarantine_op(m) < 0) return -1;
        strcpy(a->verdict, "continue");
    } else if (!strcmp(act, "discard")) {
        strcpy(a->verdict, "discard");
    } else {
        return log_why(m->why, m->size, "unknown action \"%s\"", a->action);
    }
    return 0;
}

int rspamd_answer(struct rspamd_answer *a, const struct rspamd_config *cfg, const char *json,
                  size_t n, const struct rspamd_headers *h, char *why, size_t size)
{
    struct mapping m = { a, cfg, h, why, size };
    json_error_t err;
    json_t *root;
    int r;
    a->nops = 0;
    a->arena_len = 0;
    a->verdict[0] = a->action[0] = a->score[0] = 0;
    arena_reset();
    root = json_loadb(json, n, 0, &err);
    if (!root) return log_why(why, size, "no JSON: %s at octet %d", err.text, err.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return log_why(why, size, "the JSON is no object");
    }
    r = map(&m, root);
    json_decref(root);
    if (r < 0) a->nops = 0;
    return r;
}
