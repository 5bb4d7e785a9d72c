#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "filterside.h"
#include "scan.h"
#include "xtext.h"

#define ABSENT ((size_t)-1)

int filterside_start_version(struct filter_side *fs, unsigned events, int version)
{
    ssize_t n;
    int ev;
    char hello[16];
    char *line;
    fs->version = version;
    /* Field by field: a memset would write the facts' offsets too. */
    fs->ctx.text = fs->ctx.arena = 0;
    fs->ctx.len = fs->ctx.size = 0;
    fs->ctx.rcpt = fs->ctx.rcpts = 0;
    fs->ctx.rcpt_size = 0;
    io_in_init(&fs->in, 0, fs->inbuf, sizeof fs->inbuf);
    io_out_init(&fs->out, 1, fs->outbuf, sizeof fs->outbuf);
    fs->in.flush = &fs->out;
    n = io_getline_at(&fs->in, &line, FILTERPROTO_LINE_MAX - 1, DEADLINE_NONE);
    if (n != 9 || memcmp(line, "filter 1\n", 9)) return -1;
    if (version != 1 && version != 2) return -1;
    memcpy(hello, "filter 1", 9);
    hello[7] = (char)('0' + version);
    if (io_puts(&fs->out, hello, DEADLINE_NONE) < 0) return -1;
    for (ev = 0; ev < FILTER_EVENTS; ev++)
        if (events & (1u << ev)) {
            if (io_put(&fs->out, " ", 1, DEADLINE_NONE) < 0 ||
                io_puts(&fs->out, filterproto_event_name((enum filter_event)ev), DEADLINE_NONE) < 0)
                return -1;
        }
    if (io_put(&fs->out, "\n", 1, DEADLINE_NONE) < 0) return -1;
    return io_flush(&fs->out, DEADLINE_NONE);
}

int filterside_start(struct filter_side *fs, unsigned events)
{
    return filterside_start_version(fs, events, 1);
}

/* Split the line (NUL at end) after its first word into decoded fields,
 * in place from its start: a field decoded is at most as long as it was
 * in xtext and the space before it, so out stays before f. */
static int fields(char *line, char *p, char *end, struct filter_request *r)
{
    char *out = line;
    size_t room = (size_t)(end + 1 - line);
    r->nfields = 0;
    while (p < end && r->nfields < FILTERSIDE_FIELDS) {
        char *f = p + 1, *next = strchr(f, ' ');
        ssize_t d;
        if (!next) next = end;
        d = filterproto_field_decode(out, room, f, (size_t)(next - f), &r->absent[r->nfields]);
        if (d < 0) return -1;
        r->field[r->nfields] = out;
        r->len[r->nfields++] = (size_t)d;
        out += d + 1;
        room -= (size_t)d + 1;
        p = next;
    }
    return 0;
}

/* Keep a copy of s[0..n-1] in the text: its offset, or ABSENT - 1 when
 * out of memory.  first (FILTERSIDE_FIRST_TEXT octets) serves until it is
 * too small: most processes then never call malloc. */
static size_t keep_string(struct filterside_context *c, char *first, const char *s, size_t n)
{
    size_t at;
    if (!c->size && n + 1 <= FILTERSIDE_FIRST_TEXT) {
        c->text = first;
        c->size = FILTERSIDE_FIRST_TEXT;
    }
    if (c->len + n + 1 > c->size) {
        size_t size = c->size > FILTERSIDE_FIRST_TEXT ? c->size : 4096;
        char *a;
        while (size < c->len + n + 1) size *= 2;
        if (!(a = realloc(c->arena, size))) return ABSENT - 1;
        if (c->text == first) memcpy(a, first, c->len);
        c->text = c->arena = a;
        c->size = size;
    }
    at = c->len;
    memcpy(c->text + at, s, n);
    c->text[at + n] = 0;
    c->len += n + 1;
    return at;
}

/* A decoded field: its offset, ABSENT, or ABSENT - 1. */
static size_t keep(struct filter_side *fs, const struct filter_request *r, unsigned i)
{
    if (i >= r->nfields || r->absent[i]) return ABSENT;
    return keep_string(&fs->ctx, fs->first_text, r->field[i], r->len[i]);
}

static void context_clear(struct filterside_context *c)
{
    c->len = 0;
    c->nfacts = 0;
    c->score_set = c->client_set = c->sender_set = 0;
    c->nrcpts = 0;
}

/* One context line, split into r: 0, or -1. */
static int context_line(struct filter_side *fs, enum filter_context kind,
                        const struct filter_request *r)
{
    struct filterside_context *c = &fs->ctx;
    unsigned i;
    unsigned long code;
    switch (kind) {
    case CONTEXT_FACT:
        if (r->nfields != 2 || r->absent[0] || c->nfacts == 4 * FILTERPROTO_FACTS) return -1;
        fs->fact_name[c->nfacts] = keep(fs, r, 0);
        fs->fact_value[c->nfacts] = keep(fs, r, 1);
        if (fs->fact_name[c->nfacts] >= ABSENT - 1 || fs->fact_value[c->nfacts] == ABSENT - 1) return -1;
        c->nfacts++;
        return 0;
    case CONTEXT_SCORE:
        if (r->nfields != 1 || !scan_long(r->field[0], LONG_MAX, &c->score)) return -1;
        c->score_set = 1;
        return 0;
    case CONTEXT_CLIENT:
        if (r->nfields < CLIENT_FIELDS) return -1;
        for (i = 0; i < CLIENT_FIELDS; i++)
            if ((c->client[i] = keep(fs, r, i)) == ABSENT - 1) return -1;
        c->client_set = 1;
        return 0;
    case CONTEXT_SENDER:
        if (r->nfields < 3) return -1;
        /* "-" is the null sender: "" */
        c->sender = r->absent[0] ? keep_string(c, fs->first_text, "", 0) : keep(fs, r, 0);
        c->sender_params = keep(fs, r, 1);
        c->id = keep(fs, r, 2);
        if (c->sender == ABSENT - 1 || c->sender_params == ABSENT - 1 || c->id == ABSENT - 1)
            return -1;
        c->sender_set = 1;
        return 0;
    case CONTEXT_RECIPIENT:
        if (r->nfields < 3 || r->absent[0] || !scan_ulong(r->field[1], 999, &code)) return -1;
        if (!c->rcpt_size) {            /* the first ones need no malloc */
            c->rcpt = fs->first_rcpts;
            c->rcpt_size = FILTERSIDE_FIRST_RCPTS;
        }
        if (c->nrcpts == c->rcpt_size) {
            unsigned size = c->rcpt_size > FILTERSIDE_FIRST_RCPTS ? 2 * c->rcpt_size : 64;
            struct filterside_rcpt *p = realloc(c->rcpts, size * sizeof *c->rcpts);
            if (!p) return -1;
            if (c->rcpt == fs->first_rcpts) memcpy(p, fs->first_rcpts, sizeof fs->first_rcpts);
            c->rcpt = c->rcpts = p;
            c->rcpt_size = size;
        }
        c->rcpt[c->nrcpts].addr = keep(fs, r, 0);
        c->rcpt[c->nrcpts].params = keep(fs, r, 2);
        c->rcpt[c->nrcpts].code = (int)code;
        if (c->rcpt[c->nrcpts].addr >= ABSENT - 1 || c->rcpt[c->nrcpts].params == ABSENT - 1)
            return -1;
        c->nrcpts++;
        return 0;
    default:
        return -1;
    }
}

int filterside_next(struct filter_side *fs, struct filter_request *r)
{
    context_clear(&fs->ctx);
    for (;;) {
        char *line, *p, *end;
        ssize_t n = io_getline_at(&fs->in, &line, FILTERPROTO_LINE_MAX - 1, DEADLINE_NONE);
        size_t w;
        int k;
        if (n == IO_EOF) return 0;
        if (n < 0) return -1;
        end = line + n - 1;                     /* at the LF */
        *end = 0;
        p = strchr(line, ' ');
        if (!p) p = end;
        w = (size_t)(p - line);
        if (fs->version >= 2) {
            for (k = 0; k < CONTEXT_KINDS; k++) {
                const char *name = filterproto_context_name((enum filter_context)k);
                if (w == strlen(name) && !memcmp(line, name, w)) break;
            }
            if (k < CONTEXT_KINDS) {
                if (fields(line, p, end, r) < 0 || context_line(fs, (enum filter_context)k, r) < 0)
                    return -1;
                continue;
            }
        }
        for (k = 0; k < FILTER_EVENTS; k++) {
            const char *name = filterproto_event_name((enum filter_event)k);
            if (w == strlen(name) && !memcmp(line, name, w)) break;
        }
        if (k == FILTER_EVENTS) return -1;
        r->event = (enum filter_event)k;
        {   /* the token: digits, echoed by the verdict */
            char *t = p + 1, *after;
            if (p >= end) return -1;
            after = strchr(t, ' ');
            if (!after) after = end;
            if (after == t || (size_t)(after - t) >= sizeof fs->token ||
                strspn(t, "0123456789") != (size_t)(after - t))
                return -1;
            memcpy(fs->token, t, (size_t)(after - t));
            fs->token[after - t] = 0;
            p = after;
        }
        return fields(line, p, end, r) < 0 ? -1 : 1;
    }
}

int filterside_say(struct filter_side *fs, const char *line)
{
    static const char *const verdicts[] = { "continue", "accept", "discard", "reject", "tempfail" };
    size_t w = strcspn(line, " "), i;
    for (i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++)
        if (w == strlen(verdicts[i]) && !memcmp(line, verdicts[i], w)) break;
    if (i < sizeof verdicts / sizeof verdicts[0]) {
        if (io_put(&fs->out, line, w, DEADLINE_NONE) < 0 ||
            io_put(&fs->out, " ", 1, DEADLINE_NONE) < 0 ||
            io_puts(&fs->out, fs->token, DEADLINE_NONE) < 0)
            return -1;
        line += w;
    }
    if (io_puts(&fs->out, line, DEADLINE_NONE) < 0) return -1;
    return io_put(&fs->out, "\n", 1, DEADLINE_NONE);
}

/* "WORD [ARG] [FIELD1] [FIELD2]": the fields in xtext ("-" for NULL). */
static int say_fields(struct filter_side *fs, const char *word, const char *arg,
                      const char *f1, size_t n1, int has2, const char *f2, size_t n2)
{
    char buf[FILTERPROTO_LINE_MAX];
    size_t len;
    int k = snprintf(buf, sizeof buf, "%s%s%s", word, arg ? " " : "", arg ? arg : "");
    if (k < 0 || (size_t)k >= sizeof buf) return -1;
    len = (size_t)k;
    if (filterproto_field(buf, sizeof buf, &len, f1, n1) < 0) return -1;
    if (has2 && filterproto_field(buf, sizeof buf, &len, f2, n2) < 0) return -1;
    return filterside_say(fs, buf);
}

int filterside_header(struct filter_side *fs, const char *name, const char *value, size_t n)
{
    return say_fields(fs, "header", name, value, n, 0, 0, 0);
}

int filterside_flush(struct filter_side *fs)
{
    return io_flush(&fs->out, DEADLINE_NONE);
}

int filterside_eom_loop(struct filter_side *fs, filterside_answer *answer, void *arg)
{
    struct filter_request r;
    int n;
    while ((n = filterside_next(fs, &r)) > 0) {
        unsigned long size;
        if (r.event != FILTER_EOM) {    /* not asked for; harmless */
            if (filterside_say(fs, "continue") < 0) return FILTERSIDE_WRITE;
            continue;
        }
        if (!r.nfields || r.absent[0] || !scan_ulong(r.field[0], ULONG_MAX, &size))
            return FILTERSIDE_BAD_EVENT;
        /* The proxy waits for this answer: nothing else of ours is due. */
        if (filterside_flush(fs) < 0 || answer(fs, size, arg) < 0 || filterside_flush(fs) < 0)
            return FILTERSIDE_WRITE;
    }
    if (n < 0) return FILTERSIDE_BAD_EVENT;
    return filterside_flush(fs) < 0 ? FILTERSIDE_WRITE : 0;
}

/* --- version 2: the context -------------------------------------------- */

static const char *at(const struct filterside_context *c, size_t off)
{
    return off == ABSENT ? 0 : c->text + off;
}

const char *filterside_fact(const struct filter_side *fs, const char *name)
{
    const struct filterside_context *c = &fs->ctx;
    unsigned i = c->nfacts;
    while (i--)                         /* the latest wins */
        if (!strcmp(at(c, fs->fact_name[i]), name)) return at(c, fs->fact_value[i]);
    return 0;
}

const char *filterside_client(const struct filter_side *fs, enum filterside_client field)
{
    return fs->ctx.client_set && field < CLIENT_FIELDS ? at(&fs->ctx, fs->ctx.client[field]) : 0;
}

const char *filterside_sender(const struct filter_side *fs)
{
    return fs->ctx.sender_set ? at(&fs->ctx, fs->ctx.sender) : 0;
}

const char *filterside_sender_params(const struct filter_side *fs)
{
    return fs->ctx.sender_set ? at(&fs->ctx, fs->ctx.sender_params) : 0;
}

const char *filterside_id(const struct filter_side *fs)
{
    return fs->ctx.sender_set ? at(&fs->ctx, fs->ctx.id) : 0;
}

unsigned filterside_recipients(const struct filter_side *fs)
{
    return fs->ctx.nrcpts;
}

const char *filterside_recipient(const struct filter_side *fs, unsigned i, int *code,
                                 const char **params)
{
    const struct filterside_context *c = &fs->ctx;
    if (i >= c->nrcpts) return 0;
    if (code) *code = c->rcpt[i].code;
    if (params) *params = at(c, c->rcpt[i].params);
    return at(c, c->rcpt[i].addr);
}

long filterside_score(const struct filter_side *fs)
{
    return fs->ctx.score_set ? fs->ctx.score : 0;
}

/* --- version 2: the modifiers ------------------------------------------ */

static size_t length(const char *s)
{
    return s ? strlen(s) : 0;
}

int filterside_fact_set(struct filter_side *fs, const char *name, const char *value)
{
    if (!filterproto_fact_name_valid(name, strlen(name))) return -1;
    return say_fields(fs, "fact", name, value, length(value), 0, 0, 0);
}

int filterside_insert_header(struct filter_side *fs, unsigned long index, const char *name,
                             const char *value, size_t n)
{
    char arg[96];
    snprintf(arg, sizeof arg, "%lu %s", index, name);
    return say_fields(fs, "insert-header", arg, value, n, 0, 0, 0);
}

int filterside_change_header(struct filter_side *fs, unsigned long index, const char *name,
                             const char *value, size_t n)
{
    char arg[96];
    snprintf(arg, sizeof arg, "%lu %s", index, name);
    return say_fields(fs, "change-header", arg, value, n, 0, 0, 0);
}

int filterside_add_recipient(struct filter_side *fs, const char *addr, const char *params)
{
    return say_fields(fs, "add-recipient", 0, addr, length(addr), 1,
                      params && *params ? params : 0, length(params));
}

int filterside_delete_recipient(struct filter_side *fs, const char *addr)
{
    return say_fields(fs, "delete-recipient", 0, addr, length(addr), 0, 0, 0);
}

int filterside_change_sender(struct filter_side *fs, const char *addr, const char *params)
{
    return say_fields(fs, "change-sender", 0, addr && *addr ? addr : 0, length(addr), 1,
                      params && *params ? params : 0, length(params));
}

int filterside_replace_message(struct filter_side *fs)
{
    return filterside_say(fs, "replace-message");
}

int filterside_quarantine(struct filter_side *fs, const char *reason)
{
    return say_fields(fs, "quarantine", 0, reason, length(reason), 0, 0, 0);
}
