/* The message changes of version 2 filters at end of data: header fields
 * inserted, changed or deleted, and a whole new message checked like a
 * client's.  Files in, files out: no socket, so that the unit tests can
 * call every function here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "proxyd.h"

static int read_at(int fd, char *buf, size_t n, off_t off, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = pread(fd, buf + *got, n - *got, off + (off_t)*got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        *got += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* in from offset off to its end, appended to out. */
static int copy_from(int in, off_t off, int out)
{
    char buf[65536];
    for (;;) {
        size_t got;
        if (read_at(in, buf, sizeof buf, off, &got) < 0) return -1;
        if (!got) return 0;
        if (write_all(out, buf, got) < 0) return -1;
        off += (off_t)got;
    }
}

int message_copy(int in, int out)
{
    if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0) return -1;
    return copy_from(in, 0, out);
}

int message_check(int in, unsigned long long limit, unsigned long long *size, const char **why)
{
    char buf[65536];
    off_t off = 0;
    int cr = 0;                         /* the last octet was a CR */
    for (;;) {
        size_t got, i;
        if (read_at(in, buf, sizeof buf, off, &got) < 0) {
            *why = "unreadable";
            return -1;
        }
        if (!got) break;
        for (i = 0; i < got; i++) {
            if (cr != (buf[i] == '\n')) {
                *why = "bare CR or LF";
                return -1;
            }
            cr = buf[i] == '\r';
        }
        off += (off_t)got;
        if ((unsigned long long)off > limit) {
            *why = "too big";
            return -1;
        }
    }
    if (cr) {
        *why = "bare CR or LF";
        return -1;
    }
    if (!off) {                         /* nothing written to fd 4 */
        *why = "empty";
        return -1;
    }
    *size = (unsigned long long)off;
    return 0;
}

/* A field of the header: its text with its CRLFs, in the message or in
 * a new field's text. */
struct field {
    const char *p;
    size_t n;
};

struct header {
    struct field *f;
    unsigned n, size;
};

static int header_insert(struct header *h, unsigned at, const char *p, size_t n)
{
    if (h->n == h->size) {
        unsigned size = h->size ? 2 * h->size : 64;
        struct field *f = realloc(h->f, size * sizeof *f);
        if (!f) return -1;
        h->f = f;
        h->size = size;
    }
    if (at > h->n) at = h->n;
    memmove(h->f + at + 1, h->f + at, (h->n - at) * sizeof *h->f);
    h->f[at].p = p;
    h->f[at].n = n;
    h->n++;
    return 0;
}

/* Does field f have this name (case-insensitive, up to its colon)? */
static int field_named(const struct field *f, const char *name)
{
    size_t k = strlen(name);
    return f->n > k && f->p[k] == ':' && !strncasecmp(f->p, name, k);
}

/* A line of the header section: a field's first line starts with a name
 * and a colon; a continuation starts with a space or a tab. */
static int field_start(const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n && p[i] != ':'; i++)
        if ((unsigned char)p[i] <= 32 || (unsigned char)p[i] >= 127) return 0;
    return i > 0 && i < n;
}

int message_edit(int in, int out, const struct changes *c)
{
    char *buf = malloc(MESSAGE_HEADER_MAX), *fresh = 0;
    struct header h = { 0, 0, 0 };
    size_t got, pos = 0, end, freshlen = 0, need = 0;
    unsigned i;
    int r = -1;
    if (!buf) return -1;
    if (read_at(in, buf, MESSAGE_HEADER_MAX, 0, &got) < 0) goto done;
    /* The fields: up to the empty line, or to a line that is no field. */
    while (pos < got) {
        char *lf = memchr(buf + pos, '\n', got - pos);
        size_t next;
        if (!lf) {
            if (got == MESSAGE_HEADER_MAX) { r = -2; goto done; }
            break;
        }
        next = (size_t)(lf - buf) + 1;
        if (buf[pos] == ' ' || buf[pos] == '\t') {
            if (!h.n) break;
            h.f[h.n - 1].n = next - (size_t)(h.f[h.n - 1].p - buf);
        } else if (field_start(buf + pos, next - pos)) {
            if (header_insert(&h, h.n, buf + pos, next - pos) < 0) goto done;
        } else {
            break;
        }
        pos = next;
    }
    if (got == MESSAGE_HEADER_MAX && pos == got) { r = -2; goto done; }
    end = pos;
    /* The new fields' texts, "Name:value\r\n", made once (they do not move). */
    for (i = 0; i < c->n; i++)
        need += strlen(c->arena + c->c[i].name) + c->c[i].valuelen + 3;
    if (need && !(fresh = malloc(need))) goto done;
    for (i = 0; i < c->n; i++) {
        const struct change *ch = &c->c[i];
        const char *name = c->arena + ch->name;
        size_t k = strlen(name), start = freshlen;
        unsigned at, seen = 0;
        if (ch->kind != FILTER_INSERT_HEADER && ch->kind != FILTER_CHANGE_HEADER) continue;
        if (!ch->absent) {
            memcpy(fresh + freshlen, name, k);
            fresh[freshlen + k] = ':';
            memcpy(fresh + freshlen + k + 1, c->arena + ch->value, ch->valuelen);
            memcpy(fresh + freshlen + k + 1 + ch->valuelen, "\r\n", 2);
            freshlen += k + 3 + ch->valuelen;
        }
        if (ch->kind == FILTER_INSERT_HEADER) {
            at = ch->index > h.n ? h.n : (unsigned)ch->index;
            if (header_insert(&h, at, fresh + start, freshlen - start) < 0) goto done;
            continue;
        }
        for (at = 0; at < h.n; at++)
            if (field_named(&h.f[at], name) && ++seen == ch->index) break;
        if (at < h.n && ch->absent) {
            memmove(h.f + at, h.f + at + 1, (h.n - at - 1) * sizeof *h.f);
            h.n--;
        } else if (at < h.n) {
            h.f[at].p = fresh + start;
            h.f[at].n = freshlen - start;
        } else if (!ch->absent && header_insert(&h, h.n, fresh + start, freshlen - start) < 0) {
            goto done;
        }
    }
    if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0) goto done;
    for (i = 0; i < h.n; i++)
        if (write_all(out, h.f[i].p, h.f[i].n) < 0) goto done;
    r = copy_from(in, (off_t)end, out);
done:
    free(h.f);
    free(fresh);
    free(buf);
    return r;
}

/* The Message-ID field is looked for in the first 16 KB of the message,
 * read 4 KB at a time: one page of stack, and one read for most headers. */
#define MESSAGE_ID_SCAN 16384

size_t message_id(int in, char *out, size_t size)
{
    static const char name[] = "message-id:";
    enum { LINE, NAME, VALUE, SKIP } st = LINE;
    char buf[4096];
    size_t len = 0, m = 0, got, i;
    off_t off = 0;
    int found = 0;                      /* in the Message-ID field */
    while (off < MESSAGE_ID_SCAN) {
        if (read_at(in, buf, sizeof buf, off, &got) < 0 || !got) break;
        off += (off_t)got;
        for (i = 0; i < got; i++) {
            char c = buf[i];
            switch (st) {
            case LINE:                  /* at the start of a line */
                if (c == ' ' || c == '\t') {
                    st = found ? VALUE : SKIP;      /* a folded continuation */
                    break;
                }
                /* the end of the field, or of the header (an empty line) */
                if (found || c == '\r' || c == '\n') goto done;
                st = NAME;
                m = 0;
                /* fall through */
            case NAME:
                if (c == '\n') st = LINE;
                else if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != name[m]) st = SKIP;
                else if (++m == sizeof name - 1) { st = VALUE; found = 1; }
                break;
            case VALUE:
                if (c == '\n') st = LINE;
                else if (c != ' ' && c != '\t' && c != '\r' && len + 1 < size) out[len++] = c;
                break;
            case SKIP:
                if (c == '\n') st = LINE;
                break;
            }
        }
    }
done:
    out[len] = 0;
    return len;
}
