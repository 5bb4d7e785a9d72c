#include <string.h>

#include "deadline.h"
#include "filterside.h"
#include "xtext.h"

int filterside_start(struct filter_side *fs, unsigned events)
{
    ssize_t n;
    int ev;
    io_in_init(&fs->in, 0, fs->inbuf, sizeof fs->inbuf);
    io_out_init(&fs->out, 1, fs->outbuf, sizeof fs->outbuf);
    fs->in.flush = &fs->out;
    n = io_getline(&fs->in, fs->line, sizeof fs->line, DEADLINE_NONE);
    if (n != 9 || memcmp(fs->line, "filter 1\n", 9)) return -1;
    if (io_puts(&fs->out, "filter 1", DEADLINE_NONE) < 0) return -1;
    for (ev = 0; ev < FILTER_EVENTS; ev++)
        if (events & (1u << ev)) {
            if (io_put(&fs->out, " ", 1, DEADLINE_NONE) < 0 ||
                io_puts(&fs->out, filterproto_event_name((enum filter_event)ev), DEADLINE_NONE) < 0)
                return -1;
        }
    if (io_put(&fs->out, "\n", 1, DEADLINE_NONE) < 0) return -1;
    return io_flush(&fs->out, DEADLINE_NONE);
}

int filterside_next(struct filter_side *fs, struct filter_request *r)
{
    ssize_t n = io_getline(&fs->in, fs->line, sizeof fs->line, DEADLINE_NONE);
    char *p, *end, *out = fs->decoded;
    size_t room = sizeof fs->decoded;
    int ev;
    if (n == IO_EOF) return 0;
    if (n < 0) return -1;
    end = fs->line + n - 1;                     /* at the LF */
    *end = 0;
    p = strchr(fs->line, ' ');
    if (!p) p = end;
    for (ev = 0; ev < FILTER_EVENTS; ev++) {
        const char *name = filterproto_event_name((enum filter_event)ev);
        if ((size_t)(p - fs->line) == strlen(name) && !memcmp(fs->line, name, strlen(name))) break;
    }
    if (ev == FILTER_EVENTS) return -1;
    r->event = (enum filter_event)ev;
    r->nfields = 0;
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
    return 1;
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

int filterside_header(struct filter_side *fs, const char *name, const char *value, size_t n)
{
    char buf[FILTERPROTO_LINE_MAX];
    size_t k = strlen(name);
    if (k + 9 >= sizeof buf) return -1;
    memcpy(buf, "header ", 7);
    memcpy(buf + 7, name, k);
    buf[7 + k] = ' ';
    if (xtext_encode(buf + 8 + k, sizeof buf - 8 - k, value, n) < 0) return -1;
    return filterside_say(fs, buf);
}

int filterside_flush(struct filter_side *fs)
{
    return io_flush(&fs->out, DEADLINE_NONE);
}
