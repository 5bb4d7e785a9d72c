/* The summary's counts: bounded tables, millisecond histograms, and what
 * each kind of line adds to them (the fields of noqueue(7), THE LOG). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logstat.h"

const char *const result_names[R_COUNT] = {
    "delivered", "rejected", "tempfailed", "discarded", "quarantined",
    "aborted", "norecipient", "unavailable", "other",
};

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

#define SLOTS (2 * TABLE_CAP)

/* The slot of key, or of the free slot where it would go. */
static uint32_t slot_of(const struct table *t, const char *k)
{
    uint32_t i = hash(k) % SLOTS;
    while (t->slot[i] && strcmp(t->e[t->slot[i] - 1].key, k)) i = (i + 1) % SLOTS;
    return i;
}

/* Free slot i, moving back the keys after it that would no longer be
 * found (linear probing's deletion, without tombstones). */
static void slot_free(struct table *t, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        uint32_t home;
        j = (j + 1) % SLOTS;
        if (!t->slot[j]) break;
        home = hash(t->e[t->slot[j] - 1].key) % SLOTS;
        /* may the key at j move to i: is i between its home and j? */
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            t->slot[i] = t->slot[j];
            i = j;
        }
    }
    t->slot[i] = 0;
}

/* src cut to size - 1 octets */
static void copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

void table_add(struct table *t, const char *key, uint64_t count)
{
    uint32_t i;
    unsigned m, k;
    char key_cut[KEY_MAX];
    copy(key_cut, sizeof key_cut, key);
    i = slot_of(t, key_cut);
    if (t->slot[i]) { t->e[t->slot[i] - 1].count += count; return; }
    if (t->n < TABLE_CAP) {
        memcpy(t->e[t->n].key, key_cut, strlen(key_cut) + 1);
        t->e[t->n].count = count;
        t->e[t->n].err = 0;
        t->slot[i] = (uint16_t)++t->n;
        return;
    }
    /* Full: the key with the smallest count gives its place. */
    for (m = 0, k = 1; k < TABLE_CAP; k++)
        if (t->e[k].count < t->e[m].count) m = k;
    slot_free(t, slot_of(t, t->e[m].key));
    t->evicted++;
    memcpy(t->e[m].key, key_cut, strlen(key_cut) + 1);
    t->e[m].err = t->e[m].count;
    t->e[m].count += count;
    t->slot[slot_of(t, key_cut)] = (uint16_t)(m + 1);
}

static const struct table *sort_table;
static int by_count(const void *a, const void *b)
{
    const struct table_entry *x = &sort_table->e[*(const unsigned *)a];
    const struct table_entry *y = &sort_table->e[*(const unsigned *)b];
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

unsigned table_sorted(const struct table *t, unsigned *idx)
{
    unsigned i;
    for (i = 0; i < t->n; i++) idx[i] = i;
    sort_table = t;
    qsort(idx, t->n, sizeof *idx, by_count);
    return t->n;
}

void series_add(struct series *s, uint64_t ms)
{
    size_t i = ms < HIST_EXACT ? (size_t)ms
             : ms < HIST_EXACT + HIST_SECONDS * 1000ULL ? HIST_EXACT + (size_t)((ms - HIST_EXACT) / 1000)
             : HIST_SLOTS - 1;
    s->slot[i]++;
    s->count++;
    s->sum += ms;
    if (ms > s->max) s->max = ms;
}

uint64_t series_percentile(const struct series *s, unsigned p)
{
    uint64_t rank = (s->count * p + 99) / 100, seen = 0;
    size_t i;
    if (!s->count) return 0;
    if (!rank) rank = 1;
    for (i = 0; i < HIST_SLOTS; i++) {
        seen += s->slot[i];
        if (seen >= rank) break;
    }
    if (i < HIST_EXACT) return i;
    return HIST_EXACT + (uint64_t)(i - HIST_EXACT) * 1000;
}

void stats_init(struct stats *st)
{
    memset(st, 0, sizeof *st);
    st->first = st->last = NO_TIME;
    st->other_results.title = "other results";
    st->end_reasons.title = "connections by end reason";
    st->refusals.title = "verdicts by filter";
    st->filter_lines.title = "refusals in the filters' lines";
    st->clients.title = "refused clients";
    st->senders.title = "refused senders";
    st->domains.title = "refused recipient domains";
    strcpy(st->upstream.name, "smarthost");
    strcpy(st->filters[SERIES_MAX].name, "(others)");
}

void stats_too_long(struct stats *st)
{
    st->lines++;
    st->too_long++;
}


static int word_is(const struct logline *l, const char *w)
{
    return l->word_len == strlen(w) && !memcmp(l->word, w, l->word_len);
}

static int hour_of(int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t == NO_TIME || !localtime_r(&tt, &tm)) return 24;
    return tm.tm_hour;
}

static struct series *filter_series(struct stats *st, const char *name)
{
    unsigned i;
    for (i = 0; i < st->nfilters; i++)
        if (!strcmp(st->filters[i].name, name)) return &st->filters[i];
    if (st->nfilters == SERIES_MAX) return &st->filters[SERIES_MAX];
    i = st->nfilters++;
    strncpy(st->filters[i].name, name, KEY_MAX - 1);
    return &st->filters[i];
}

static int number(const char *s, unsigned long long *v)
{
    unsigned long long x = 0;
    if (!*s) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > 1000000000000ULL) return 0;
        x = x * 10 + (unsigned long long)(*s - '0');
    }
    *v = x;
    return 1;
}

/* filter_ms=NAME:MS,NAME:MS */
static void add_filter_ms(struct stats *st, char *v)
{
    char *item = v, *next;
    for (; item && *item; item = next) {
        char *colon;
        unsigned long long ms;
        next = strchr(item, ',');
        if (next) *next++ = 0;
        colon = strrchr(item, ':');
        if (!colon || colon == item) continue;
        *colon = 0;
        if (number(colon + 1, &ms)) series_add(filter_series(st, item), ms);
    }
}

#define MAX_RCPTS 512
struct rcpts {
    unsigned n;
    int code[MAX_RCPTS];
    char used[MAX_RCPTS];
};

static int is_code(const char *s)
{
    return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9';
}

/* rcpt=<a@b>:250,<c@d>:550: codes into r, refused domains counted */
static void add_rcpts(struct stats *st, const char *v, struct rcpts *r)
{
    const char *p = v;
    while (*p == '<') {
        const char *q = p + 1, *close = 0;
        /* the address ends at the ">:DDD" followed by "," or the end */
        for (; *q; q++)
            if (q[0] == '>' && q[1] == ':' && is_code(q + 2) && (q[5] == ',' || !q[5])) {
                close = q;
                break;
            }
        if (!close) return;
        {
            int code = (close[2] - '0') * 100 + (close[3] - '0') * 10 + (close[4] - '0');
            if (r->n < MAX_RCPTS) r->code[r->n++] = code;
            if (code >= 400) {
                char dom[KEY_MAX];
                const char *at = 0, *a;
                size_t k = 0;
                st->refused_rcpts++;
                for (a = p + 1; a < close; a++)
                    if (*a == '@') at = a;
                if (at) {
                    for (a = at + 1; a < close && k + 1 < sizeof dom; a++)
                        dom[k++] = (char)(*a >= 'A' && *a <= 'Z' ? *a + 32 : *a);
                    dom[k] = 0;
                } else
                    strcpy(dom, "(no domain)");
                table_add(&st->domains, dom, 1);
            }
        }
        p = close + 5;
        if (*p == ',') p++;
    }
}

/* The code of the next recipient refused with a code of class c (4 or 5)
 * not yet given to a filter's verdict: its code, or 0. */
static int take_rcpt(struct rcpts *r, int c)
{
    unsigned i;
    for (i = 0; i < r->n; i++)
        if (!r->used[i] && r->code[i] / 100 == c) {
            r->used[i] = 1;
            return r->code[i];
        }
    return 0;
}

static int refusing(const char *verdict)
{
    return strcmp(verdict, "accept") && strcmp(verdict, "continue") && strcmp(verdict, "failed-accept") &&
           strcmp(verdict, "would-accept") && strcmp(verdict, "would-continue");
}

/* filters=NAME:EVENT:VERDICT,...: the refusals into the table; returns
 * whether one refused the message (not a recipient) or the connection. */
static int add_trail(struct stats *st, char *v, struct rcpts *r, int reply)
{
    char *item = v, *next;
    int refused = 0;
    for (; item && *item; item = next) {
        char key[KEY_MAX], *verdict, *event;
        int code = 0;
        next = strchr(item, ',');
        if (next) *next++ = 0;
        verdict = strrchr(item, ':');
        if (!verdict) {         /* early-talker */
            snprintf(key, sizeof key, "%s -", item);
            table_add(&st->refusals, key, 1);
            refused = 1;
            continue;
        }
        *verdict++ = 0;
        event = strrchr(item, ':');
        if (event) *event++ = 0; else event = (char *)"-";
        if (!refusing(verdict)) continue;
        if (!strncmp(verdict, "would-", 6)) {
            code = 0;
        } else if (r && !strcmp(event, "rcpt")) {
            code = take_rcpt(r, !strcmp(verdict, "reject") ? 5 : !strcmp(verdict, "discard") ? 2 : 4);
        } else {
            code = reply;
            refused = 1;
        }
        if (code) snprintf(key, sizeof key, "%s:%s:%s %d", item, event, verdict, code);
        else snprintf(key, sizeof key, "%s:%s:%s -", item, event, verdict);
        table_add(&st->refusals, key, 1);
    }
    return refused;
}

static enum result result_of(const char *s)
{
    int i;
    for (i = 0; i < R_OTHER; i++)
        if (!strcmp(s, result_names[i])) return (enum result)i;
    return R_OTHER;
}

static void transaction(struct stats *st, const struct logline *l, int h)
{
    static char rcpt[LINE_MAX_IN], trail[LINE_MAX_IN], fms[LINE_MAX_IN];
    char key[64], val[LINE_MAX_IN], ip[KEY_MAX] = "", from[KEY_MAX] = "", result[KEY_MAX] = "";
    const char *p = l->fields;
    unsigned long long accepted = 0, upstream = 0, reply = 0, ums = 0;
    int have_ums = 0, refused_by_filter;
    struct rcpts r;
    enum result res;
    unsigned i;
    rcpt[0] = trail[0] = fms[0] = 0;
    while (field_next(&p, l->end, key, sizeof key, val, sizeof val)) {
        if (!strcmp(key, "ip")) copy(ip, sizeof ip, val);
        else if (!strcmp(key, "from")) copy(from, sizeof from, val);
        else if (!strcmp(key, "rcpt")) memcpy(rcpt, val, strlen(val) + 1);
        else if (!strcmp(key, "filters")) memcpy(trail, val, strlen(val) + 1);
        else if (!strcmp(key, "filter_ms")) memcpy(fms, val, strlen(val) + 1);
        else if (!strcmp(key, "accepted")) number(val, &accepted);
        else if (!strcmp(key, "upstream")) number(val, &upstream);
        else if (!strcmp(key, "reply")) number(val, &reply);
        else if (!strcmp(key, "upstream_ms")) have_ums = number(val, &ums);
        else if (!strcmp(key, "result")) copy(result, sizeof result, val);
    }
    st->transactions++;
    st->hours[h].transactions++;
    memset(&r, 0, sizeof r);
    add_rcpts(st, rcpt, &r);
    res = result_of(result);
    /* The log before norecipient: every recipient refused read "aborted". */
    if (res == R_ABORTED && !accepted && r.n) {
        for (i = 0; i < r.n && r.code[i] >= 400; i++) {}
        if (i == r.n) res = R_NORECIPIENT;
    }
    st->results[res]++;
    if (res == R_OTHER) table_add(&st->other_results, result[0] ? result : "(none)", 1);
    if (res == R_DELIVERED) st->hours[h].delivered++;
    refused_by_filter = add_trail(st, trail, &r, (int)reply);
    /* refusals that no filter's verdict explains */
    for (i = 0; i < r.n; i++)
        if (!r.used[i] && r.code[i] >= 400) {
            snprintf(val, sizeof val, "(no filter):rcpt:refused %d", r.code[i]);
            table_add(&st->refusals, val, 1);
        }
    if (upstream >= 400) {
        snprintf(val, sizeof val, "(smarthost):data:refused %llu", upstream);
        table_add(&st->refusals, val, 1);
    } else if ((res == R_REJECTED || res == R_TEMPFAILED) && !refused_by_filter && reply >= 400) {
        snprintf(val, sizeof val, "(no filter):message:refused %llu", reply);
        table_add(&st->refusals, val, 1);
    }
    if (res == R_REJECTED || res == R_TEMPFAILED || res == R_NORECIPIENT) {
        st->hours[h].refused++;
        table_add(&st->clients, ip[0] ? ip : "unknown", 1);
        table_add(&st->senders, from[0] ? from : "(none)", 1);
    }
    if (have_ums) series_add(&st->upstream, ums);
    add_filter_ms(st, fms);
}

static void end_line(struct stats *st, const struct logline *l, int h)
{
    static char trail[LINE_MAX_IN], fms[LINE_MAX_IN];
    char key[64], val[LINE_MAX_IN], ip[KEY_MAX] = "", reason[KEY_MAX] = "";
    const char *p = l->fields;
    int tls = 0, refused;
    trail[0] = fms[0] = 0;
    while (field_next(&p, l->end, key, sizeof key, val, sizeof val)) {
        if (!strcmp(key, "ip")) copy(ip, sizeof ip, val);
        else if (!strcmp(key, "tls")) tls = 1;
        else if (!strcmp(key, "filters")) memcpy(trail, val, strlen(val) + 1);
        else if (!strcmp(key, "filter_ms")) memcpy(fms, val, strlen(val) + 1);
        else if (!strcmp(key, "reason")) copy(reason, sizeof reason, val);
    }
    st->connections++;
    st->hours[h].connections++;
    if (tls) st->tls++;
    table_add(&st->end_reasons, reason[0] ? reason : "(none)", 1);
    refused = add_trail(st, trail, 0, 0);
    if (refused || !strcmp(reason, "refused by filter") || !strcmp(reason, "closed by filter"))
        table_add(&st->clients, ip[0] ? ip : "unknown", 1);
    add_filter_ms(st, fms);
}

/* smtp-proxyd: info: would-VERDICT conn=ID [n=K] filter=NAME event=EVENT verdict=V [code=C text=T] */
static void would_line(struct stats *st, const struct logline *l)
{
    char name[KEY_MAX], event[32], verdict[32], code[16], key[KEY_MAX * 2];
    field_get(l, "filter", name, sizeof name);
    field_get(l, "event", event, sizeof event);
    field_get(l, "verdict", verdict, sizeof verdict);
    if (!field_get(l, "code", code, sizeof code)) strcpy(code, "-");
    snprintf(key, sizeof key, "smtp-proxyd would-%s %s:%s %s", verdict, name, event, code);
    table_add(&st->filter_lines, key, 1);
}

/* A filter's own line: is it a refusal, and why?  The words and fields of
 * the filters' LOG sections. */
static void filter_line(struct stats *st, const struct logline *l)
{
    static const char *const details[] = {
        "reason", "found", "spf", "zones", "clamd", "spamd", "action", "reply", 0
    };
    char key[64], val[512], detail[KEY_MAX] = "", code[16] = "", verdict[16] = "", out[KEY_MAX * 2];
    const char *p = l->fields;
    int refusal = word_is(l, "refused") || word_is(l, "duplicate") || word_is(l, "greylisted");
    int rank = 99, i;
    while (field_next(&p, l->end, key, sizeof key, val, sizeof val)) {
        if (!strcmp(key, "code")) copy(code, sizeof code, val);
        if (!strcmp(key, "verdict")) copy(verdict, sizeof verdict, val);
        if ((!strcmp(key, "verdict") || !strcmp(key, "reply")) &&
            (!strcmp(val, "reject") || !strcmp(val, "tempfail") || !strcmp(val, "discard")))
            refusal = 1;
        if (!strcmp(key, "clamd") && !strncmp(val, "infected", 8)) refusal = 1;
        if (!strcmp(key, "spamd") && !strcmp(val, "spam")) refusal = 1;
        if (!strcmp(key, "action") && word_is(l, "scan") &&
            (!strcmp(val, "reject") || !strcmp(val, "soft reject") || !strcmp(val, "greylist")))
            refusal = 1;
        for (i = 0; details[i] && i < rank; i++)
            if (!strcmp(key, details[i])) {
                rank = i;
                copy(detail, sizeof detail, key);
                strcat(detail, "=");
                copy(detail + strlen(detail), sizeof detail - strlen(detail), val);
                break;
            }
    }
    if (!refusal) return;
    /* a line of fields only (smtp-bodycheck, smtp-clamd): its verdict as
     * the word, or "refused" */
    if (!verdict[0]) strcpy(verdict, "refused");
    snprintf(out, sizeof out, "%.*s %.*s%s%s%s%s", (int)l->prog_len, l->prog,
             l->word_len ? (int)l->word_len : (int)strlen(verdict), l->word_len ? l->word : verdict,
             code[0] ? " " : "", code, detail[0] ? " " : "", detail);
    table_add(&st->filter_lines, out, 1);
}

void stats_line(struct stats *st, const char *s, size_t n)
{
    struct logline l;
    int h;
    st->lines++;
    if (!logline_parse(s, n, &l)) {
        st->other_lines++;
        if (l.time == NO_TIME) st->unstamped++;
        return;
    }
    st->program_lines++;
    if (l.time == NO_TIME) st->unstamped++;
    else {
        if (st->first == NO_TIME || l.time < st->first) st->first = l.time;
        if (st->last == NO_TIME || l.time > st->last) st->last = l.time;
    }
    if (!(l.level_len == 4 && !memcmp(l.level, "info", 4))) return;
    h = hour_of(l.time);
    if (l.prog_len == 11 && !memcmp(l.prog, "smtp-proxyd", 11)) {
        if (word_is(&l, "transaction")) transaction(st, &l, h);
        else if (word_is(&l, "end")) end_line(st, &l, h);
        else if (word_is(&l, "early-talker")) st->early_talkers++;
        else if (l.word_len > 6 && !memcmp(l.word, "would-", 6) && !word_is(&l, "would-accept"))
            would_line(st, &l);
    } else
        filter_line(st, &l);
}
