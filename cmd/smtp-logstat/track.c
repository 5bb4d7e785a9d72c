/* -m: the lines of one message or connection, in three passes over the
 * input (find, bound, print), so that memory stays bounded. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logstat.h"

/* A connection id: a pid, or 16 hexadecimal digits, a dash and a pid. */
static int conn_like(const char *s, size_t n)
{
    size_t i = 0;
    if (n > 17 && s[16] == '-') {
        for (; i < 16; i++)
            if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
        i = 17;
    }
    if (i == n || n >= 64) return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

int track_init(struct track *tr, const char *pattern)
{
    struct track_target *t = &tr->t[0];
    const char *dot = strrchr(pattern, '.');
    size_t n = strlen(pattern);
    memset(tr, 0, sizeof *tr);
    tr->pattern = pattern;
    t->hi = UINT64_MAX;
    if (conn_like(pattern, n)) {
        memcpy(t->conn, pattern, n + 1);
        tr->ntargets = tr->by_conn = 1;
    } else if (dot && conn_like(pattern, (size_t)(dot - pattern)) && dot[1] &&
               strspn(dot + 1, "0123456789") == strlen(dot + 1) && strlen(dot + 1) < 9) {
        memcpy(t->conn, pattern, (size_t)(dot - pattern));
        t->conn[dot - pattern] = 0;
        t->n = atol(dot + 1);
        tr->ntargets = tr->by_conn = 1;
    }
    return tr->by_conn;
}

/* An address or Message-ID, with or without its angle brackets, without
 * regard to case. */
static int same(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an >= 2 && a[0] == '<' && a[an - 1] == '>') a++, an -= 2;
    if (bn >= 2 && b[0] == '<' && b[bn - 1] == '>') b++, bn -= 2;
    return an == bn && an && !strncasecmp(a, b, an);
}

static int in_rcpts(const char *v, const char *pattern)
{
    const char *p = v;
    while (*p == '<') {
        const char *q = p + 1;
        while (*q && !(q[0] == '>' && q[1] == ':')) q++;
        if (!*q) return 0;
        if (same(p + 1, (size_t)(q - p - 1), pattern)) return 1;
        p = strchr(q, ',');
        if (!p) return 0;
        p++;
    }
    return 0;
}

static long line_n(const struct logline *l)
{
    char v[32];
    return field_get(l, "n", v, sizeof v) ? atol(v) : 0;
}

static int is_end(const struct logline *l)
{
    return l->prog_len == 11 && !memcmp(l->prog, "smtp-proxyd", 11) && l->word_len == 3 &&
           !memcmp(l->word, "end", 3);
}

static void add_target(struct track *tr, const struct logline *l, long n, uint64_t lineno)
{
    unsigned i;
    for (i = 0; i < tr->ntargets; i++)
        if (strlen(tr->t[i].conn) == l->conn_len && !memcmp(tr->t[i].conn, l->conn, l->conn_len) &&
            tr->t[i].n == n) {
            /* the same id again: a pid used anew by a later connection */
            if (lineno > tr->t[i].hi) continue;
            return;
        }
    if (tr->ntargets == TRACK_MAX) { tr->overflow = 1; return; }
    memcpy(tr->t[i].conn, l->conn, l->conn_len);
    tr->t[i].conn[l->conn_len] = 0;
    tr->t[i].n = n;
    tr->t[i].match = lineno;
    tr->t[i].lo = 0;
    tr->t[i].hi = UINT64_MAX;
    tr->ntargets++;
}

void track_find(struct track *tr, const struct logline *l, uint64_t lineno)
{
    static char val[LINE_MAX_IN];
    char key[64];
    const char *p;
    int transaction, hit = 0;
    if (tr->by_conn || !l->conn || !(l->level_len == 4 && !memcmp(l->level, "info", 4))) return;
    if (is_end(l)) {
        /* the end of a connection followed: a later line with its id
         * (an old pid-named log) is another connection's */
        unsigned i;
        for (i = 0; i < tr->ntargets; i++) {
            struct track_target *t = &tr->t[i];
            if (t->hi == UINT64_MAX && strlen(t->conn) == l->conn_len &&
                !memcmp(t->conn, l->conn, l->conn_len))
                t->hi = lineno;
        }
        return;
    }
    transaction = l->prog_len == 11 && !memcmp(l->prog, "smtp-proxyd", 11) && l->word_len == 11 &&
                  !memcmp(l->word, "transaction", 11);
    p = l->fields;
    while (!hit && field_next(&p, l->end, key, sizeof key, val, sizeof val)) {
        if (!strcmp(key, "msgid")) hit = same(val, strlen(val), tr->pattern);
        else if (transaction && !strcmp(key, "from")) hit = same(val, strlen(val), tr->pattern);
        else if (transaction && !strcmp(key, "rcpt")) hit = in_rcpts(val, tr->pattern);
    }
    if (hit) add_target(tr, l, transaction ? line_n(l) : 0, lineno);
}

void track_bound(struct track *tr, const struct logline *l, uint64_t lineno)
{
    unsigned i;
    if (tr->by_conn || !l->conn || !is_end(l)) return;
    for (i = 0; i < tr->ntargets; i++) {
        struct track_target *t = &tr->t[i];
        if (strlen(t->conn) != l->conn_len || memcmp(t->conn, l->conn, l->conn_len)) continue;
        if (lineno < t->match) t->lo = lineno + 1;
    }
}

int track_want(const struct track *tr, const struct logline *l, uint64_t lineno)
{
    unsigned i;
    long n = -1;
    if (!l->conn) return 0;
    for (i = 0; i < tr->ntargets; i++) {
        const struct track_target *t = &tr->t[i];
        if (strlen(t->conn) != l->conn_len || memcmp(t->conn, l->conn, l->conn_len)) continue;
        if (lineno < t->lo || lineno > t->hi) continue;
        if (!t->n) return 1;
        if (n < 0) n = line_n(l);
        if (!n || n == t->n) return 1;
    }
    return 0;
}
