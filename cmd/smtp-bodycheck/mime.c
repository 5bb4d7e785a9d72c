/* The streaming MIME scanner (RFC 2045, 2046, 5322).  Bytes come in
 * chunks of any size; lines end at LF (a CR before it belongs to the line
 * end).  Memory is the struct: one header field of at most
 * BODYCHECK_FIELD_MAX octets, one line prefix long enough to hold a
 * delimiter, one boundary per open multipart, the start of one line of a
 * text body (embedded.c).  Bodies are never kept: only the first octets
 * of a line that starts with "-" are, to see if it is a delimiter.  Every
 * malformation is reported, and each has one defined reading
 * (smtp-bodycheck(8), MALFORMED MESSAGES). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bodycheck.h"

static const char *const malformation_names[MALFORMED_KINDS] = {
    "bad-boundary", "unclosed-boundary", "encoded-container", "depth", "parts",
    "header-section", "long-field", "header-syntax", "duplicate-field",
    "8bit-header", "nul", "bad-continuation", "embedded-attachment",
};

const char *malformation_name(enum malformation m)
{
    return malformation_names[m];
}

int malformation_find(const char *name, size_t n)
{
    int i;
    for (i = 0; i < MALFORMED_KINDS; i++)
        if (strlen(malformation_names[i]) == n && !memcmp(malformation_names[i], name, n)) return i;
    return -1;
}

static void malformed(struct mime_scanner *m, enum malformation kind)
{
    if (m->reported & 1u << kind) return;
    m->reported |= 1u << kind;
    m->ev->malformed(m->ctx, m->part, kind);
}

/* The section number of the entity inside levels[0..n-1]. */
static void set_part(struct mime_scanner *m, unsigned n)
{
    size_t len = 0;
    unsigned i;
    m->part[0] = 0;
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(m->part + len, sizeof m->part - len, "%s%u", i ? "." : "", m->level[i].part);
}

/* A new entity: its header section comes next.  Beyond the parts limit it
 * is not read at all. */
static void new_entity(struct mime_scanner *m, unsigned depth, int default_message)
{
    m->depth = depth;
    memset(&m->ent, 0, sizeof m->ent);
    m->ent.default_message = default_message;
    m->ent.text = 1;                    /* until a Content-Type says otherwise */
    m->text.active = 0;
    m->section_len = 0;
    m->have_field = m->continuation = m->field_long = 0;
    m->field_len = 0;
    if (++m->entities > BODYCHECK_PARTS_MAX) {
        malformed(m, MALFORMED_PARTS);
        m->state = MIME_BODY;
        return;
    }
    m->state = MIME_HEADER;
}

void mime_start(struct mime_scanner *m, const struct mime_events *ev, void *ctx)
{
    m->ev = ev;
    m->ctx = ctx;
    m->stop = 0;
    m->entities = 0;
    m->nlevels = 0;
    m->reported = 0;
    m->part[0] = 0;
    m->cr = 0;
    m->line_len = 0;
    new_entity(m, 0, 0);
}

static int name_char(unsigned char c)
{
    return c > 32 && c < 127 && c != ':';
}

static int wsp(char c)
{
    return c == ' ' || c == '\t';
}

static void name_found(void *ctx, const char *name, size_t n)
{
    struct mime_scanner *m = ctx;
    if (!m->stop) m->ev->file_name(m->ctx, m->part, name, n);
}

/* The file names of a Content-Type or Content-Disposition value. */
static void names(struct mime_scanner *m, const char *v, size_t n)
{
    if (!m->stop && param_names(v, n, name_found, m)) malformed(m, MALFORMED_BAD_CONTINUATION);
}

/* An attachment inside a text body.  Its name is checked as it is, and
 * as the parameter Thunderbird makes of it (Content-Disposition: inline;
 * filename="NAME"), which it then reads like any other. */
static void embedded_found(void *ctx, enum embedded_kind kind, const char *name, size_t n)
{
    static const char head[] = "inline; filename=\"";
    static char value[sizeof head + BODYCHECK_EMBED_LINE + 1];
    struct mime_scanner *m = ctx;
    if (m->stop) return;
    if (kind == EMBEDDED_UNCHECKED) {
        malformed(m, MALFORMED_EMBEDDED_ATTACHMENT);
        return;
    }
    name_found(m, name, n);
    memcpy(value, head, sizeof head - 1);
    memcpy(value + sizeof head - 1, name, n);
    value[sizeof head - 1 + n] = '"';
    names(m, value, sizeof head + n);
}

/* The transfer encoding a reader undoes before it reads a text body: its
 * first word, in any case. */
static enum transfer transfer(const char *v, size_t n)
{
    size_t k = 0;
    while (k < n && !wsp(v[k]) && v[k] != ';' && v[k] != '(') k++;
    if (k == 6 && !strncasecmp(v, "base64", 6)) return TRANSFER_BASE64;
    if (k == 16 && !strncasecmp(v, "quoted-printable", 16)) return TRANSFER_QUOTED_PRINTABLE;
    return TRANSFER_IDENTITY;
}

/* What the entity's own fields say about its structure.  The first
 * Content-Type and Content-Transfer-Encoding count; a second one is
 * reported, and its names and type are still checked. */
static void content_field(struct mime_scanner *m, const char *name, size_t nlen,
                          const char *v, size_t n)
{
    char type[128];
    if (nlen == 12 && !strncasecmp(name, "Content-Type", 12)) {
        param_type(v, n, type, sizeof type);
        if (m->ent.have_type) {
            malformed(m, MALFORMED_DUPLICATE_FIELD);
        } else {
            m->ent.have_type = 1;
            m->ent.multipart = !strncmp(type, "multipart/", 10);
            m->ent.digest = !strcmp(type, "multipart/digest");
            m->ent.message = !strcmp(type, "message/rfc822") || !strcmp(type, "message/global");
            m->ent.text = !type[0] || !strncmp(type, "text/", 5);
            if (m->ent.multipart)
                m->ent.boundary_len = param_boundary(v, n, m->ent.boundary, sizeof m->ent.boundary);
        }
        if (type[0]) m->ev->content_type(m->ctx, m->part, type);
        names(m, v, n);
    } else if (nlen == 19 && !strncasecmp(name, "Content-Disposition", 19)) {
        names(m, v, n);
    } else if (nlen == 25 && !strncasecmp(name, "Content-Transfer-Encoding", 25)) {
        size_t a = 0;
        if (m->ent.have_encoding) {
            malformed(m, MALFORMED_DUPLICATE_FIELD);
            return;
        }
        m->ent.have_encoding = 1;
        while (n && wsp(v[n - 1])) n--;
        while (a < n && wsp(v[a])) a++;
        v += a;
        n -= a;
        m->ent.encoded = !((n == 4 && (!strncasecmp(v, "7bit", 4) || !strncasecmp(v, "8bit", 4))) ||
                           (n == 6 && !strncasecmp(v, "binary", 6)));
        m->ent.transfer = transfer(v, n);
    }
}

/* The pending field is complete: report it. */
static void finish_field(struct mime_scanner *m)
{
    const char *f = m->field, *colon;
    size_t nlen, a, n;
    if (!m->have_field) return;
    m->have_field = 0;
    colon = memchr(f, ':', m->field_len);
    for (nlen = (size_t)(colon - f); nlen && wsp(f[nlen - 1]); nlen--) continue;
    for (a = (size_t)(colon + 1 - f); a < m->field_len && wsp(f[a]); a++) continue;
    for (n = m->field_len; n > a && wsp(f[n - 1]); n--) continue;
    m->ev->field(m->ctx, m->depth, f, nlen, f + a, n - a);
    if (!m->stop) content_field(m, f, nlen, f + a, n - a);
}

/* The header section ended; what follows is the entity's body. */
static void begin_body(struct mime_scanner *m, int opaque)
{
    struct mime_entity *e = &m->ent;
    m->ev->header_end(m->ctx, m->depth);
    m->state = MIME_BODY;
    if (m->stop || opaque) return;
    if (!e->have_type && e->default_message) e->message = 1;
    if (!e->multipart && !e->message) {
        if (e->text) embedded_start(&m->text, e->transfer, embedded_found, m);
        return;
    }
    if (e->multipart && e->boundary_len <= 0) {
        malformed(m, MALFORMED_BAD_BOUNDARY);
        return;
    }
    if (e->encoded) {                   /* RFC 2045 6.4: never encoded */
        malformed(m, MALFORMED_ENCODED_CONTAINER);
        return;
    }
    if (m->depth + 1 > BODYCHECK_DEPTH_MAX) {
        malformed(m, MALFORMED_DEPTH);
        return;
    }
    if (e->message) {
        new_entity(m, m->depth + 1, 0);
        return;
    }
    {
        struct mime_level *l = &m->level[m->nlevels++];
        memcpy(l->boundary, e->boundary, (size_t)e->boundary_len);
        l->len = (size_t)e->boundary_len;
        l->depth = m->depth;
        l->part = 0;
        l->digest = e->digest;
    }
}

/* Is the line a delimiter of level l: "--" boundary ["--"] then only
 * white space?  1 for a delimiter, 2 for the close delimiter. */
static int delimiter(const struct mime_scanner *m, const struct mime_level *l)
{
    size_t i = 2 + l->len, have = m->prefix_len;
    int close = 0;
    if (m->line_len < i || m->prefix[1] != '-' || memcmp(m->prefix + 2, l->boundary, l->len)) return 0;
    if (m->line_len >= i + 2 && m->prefix[i] == '-' && m->prefix[i + 1] == '-') {
        close = 1;
        i += 2;
    }
    for (; i < have; i++)
        if (!wsp(m->prefix[i])) return 0;
    if (m->line_len > have && !m->tail_space) return 0;
    return 1 + close;
}

/* A delimiter of level k: parts of deeper levels end with it. */
static void at_delimiter(struct mime_scanner *m, unsigned k, int close)
{
    if (m->state != MIME_BODY) {
        finish_field(m);
        if (m->stop) return;
        m->ev->header_end(m->ctx, m->depth);
        if (m->stop) return;
    }
    if (k + 1 < m->nlevels) {
        set_part(m, m->nlevels - 1);
        malformed(m, MALFORMED_UNCLOSED_BOUNDARY);
        if (m->stop) return;
    }
    m->nlevels = k + 1;
    if (close) {
        m->nlevels = k;
        m->depth = m->level[k].depth;
        m->state = MIME_BODY;           /* the epilogue */
        set_part(m, k);
        return;
    }
    m->level[k].part++;
    set_part(m, k + 1);
    new_entity(m, m->level[k].depth + 1, m->level[k].digest);
}

/* A header line is complete (its content is in field[] when it started
 * a field). */
static void header_line_end(struct mime_scanner *m)
{
    const char *f = m->field;
    size_t i;
    if (m->line_len == 0) {             /* the end of the section */
        finish_field(m);
        if (!m->stop) begin_body(m, m->state == MIME_HEADER_SKIP);
        return;
    }
    if (m->state == MIME_HEADER_SKIP || m->continuation) return;
    for (i = 0; i < m->field_len && name_char((unsigned char)f[i]); i++) continue;
    if (i > 0) while (i < m->field_len && wsp(f[i])) i++;   /* obsolete "Name :" */
    if (i > 0 && i < m->field_len && f[i] == ':') {
        m->have_field = 1;
        return;
    }
    /* Not a field: the header section ends here, and this line is the
     * first of the body (as Postfix and Python's email read it). */
    m->field_len = 0;
    malformed(m, MALFORMED_HEADER_SYNTAX);
    if (!m->stop) begin_body(m, 0);
}

/* Beyond the section limit: the rest of the section is passed over, the
 * field being read is dropped, and the body is not looked into. */
static void section_too_big(struct mime_scanner *m)
{
    malformed(m, MALFORMED_HEADER_SECTION);
    m->state = MIME_HEADER_SKIP;
    m->have_field = 0;
}

/* A line of a text body that may be a delimiter waits until it is known
 * not to be one: its first octets in prefix[], the white space after them
 * counted.  Then it is fed as it was, but for that white space, which is
 * fed as spaces (one reading, however the input was cut). */
static void release(struct mime_scanner *m, const char *p, size_t n, size_t from)
{
    static const char spaces[] = "                                                                ";
    unsigned long long left = m->held_space;
    m->hold = 0;
    embedded_feed(&m->text, m->prefix, m->prefix_len);
    while (from < n && wsp(p[from])) {
        from++;
        left++;
    }
    while (left) {
        size_t k = left < sizeof spaces - 1 ? (size_t)left : sizeof spaces - 1;
        embedded_feed(&m->text, spaces, k);
        left -= k;
    }
    if (from < n) embedded_feed(&m->text, p + from, n - from);
}

/* Octets of a body line, k of them already in prefix[]. */
static void body_text(struct mime_scanner *m, const char *p, size_t n, size_t k)
{
    if (!m->hold) embedded_feed(&m->text, p, n);
    else if (m->tail_space) m->held_space += n - k;
    else release(m, p, n, k);
}

static void line_end(struct mime_scanner *m, unsigned eol)
{
    if (m->state == MIME_HEADER) {
        m->section_len += eol;
        if (m->section_len > BODYCHECK_SECTION_MAX) section_too_big(m);
    }
    if (!m->stop && m->maybe_delimiter && m->nlevels) {
        unsigned k;
        for (k = m->nlevels; k-- > 0;) {
            int d = delimiter(m, &m->level[k]);
            if (d) {
                embedded_end(&m->text);         /* the line held is not the body's */
                if (!m->stop) at_delimiter(m, k, d == 2);
                goto done;
            }
        }
    }
    if (!m->stop && m->text.active) {
        if (m->hold) release(m, 0, 0, 0);
        embedded_line_end(&m->text);
    }
    if (!m->stop && m->state != MIME_BODY) header_line_end(m);
done:
    m->line_len = 0;
    m->prefix_len = 0;
    m->maybe_delimiter = 0;
    m->hold = 0;
}

/* Octets of a header line, one at a time so that what is reported comes
 * in the order of the octets, however the input is cut into chunks. */
static void header_bytes(struct mime_scanner *m, const char *p, size_t n)
{
    size_t i;
    if (m->line_len == 0) {             /* the first octet decides */
        m->continuation = wsp(p[0]) && m->have_field;
        if (!m->continuation) {
            finish_field(m);
            if (m->stop) return;
            m->field_len = 0;
            m->field_long = 0;
        }
    }
    for (i = 0; i < n && !m->stop; i++) {
        unsigned char c = (unsigned char)p[i];
        if (++m->section_len > BODYCHECK_SECTION_MAX) {
            section_too_big(m);
            return;
        }
        if (!c) malformed(m, MALFORMED_NUL);
        else if (c >= 128) malformed(m, MALFORMED_8BIT_HEADER);
        if (m->field_len < sizeof m->field) {
            m->field[m->field_len++] = c ? (char)c : ' ';  /* a NUL reads as a space */
        } else if (!m->field_long) {
            m->field_long = 1;
            malformed(m, MALFORMED_LONG_FIELD);
        }
    }
}

static void line_bytes(struct mime_scanner *m, const char *p, size_t n)
{
    size_t k = 0;
    if (!n) return;
    if (m->line_len == 0) {
        m->maybe_delimiter = p[0] == '-';
        m->tail_space = 1;
        m->hold = m->maybe_delimiter && m->nlevels && m->text.active;
        m->held_space = 0;
    }
    if (m->maybe_delimiter && m->nlevels) {
        size_t room = sizeof m->prefix - m->prefix_len, i;
        k = n < room ? n : room;
        memcpy(m->prefix + m->prefix_len, p, k);
        m->prefix_len += k;
        for (i = k; i < n && m->tail_space; i++)
            if (!wsp(p[i])) m->tail_space = 0;
    }
    if (m->state == MIME_HEADER) {
        header_bytes(m, p, n);
    } else {
        if (memchr(p, 0, n)) malformed(m, MALFORMED_NUL);
        if (!m->stop && m->text.active) body_text(m, p, n, k);
    }
    m->line_len += n;
}

void mime_feed(struct mime_scanner *m, const char *buf, size_t n)
{
    size_t i = 0;
    while (i < n && !m->stop) {
        const char *lf;
        size_t k;
        if (m->cr) {                    /* CR at the end of the last chunk */
            m->cr = 0;
            if (buf[i] == '\n') {
                i++;
                line_end(m, 2);
                continue;
            }
            line_bytes(m, "\r", 1);
            continue;
        }
        lf = memchr(buf + i, '\n', n - i);
        k = lf ? (size_t)(lf - buf) - i : n - i;
        if (lf) {
            int crlf = k > 0 && buf[i + k - 1] == '\r';
            line_bytes(m, buf + i, k - (size_t)crlf);
            i += k + 1;
            if (!m->stop) line_end(m, 1 + (unsigned)crlf);
        } else {
            m->cr = k > 0 && buf[i + k - 1] == '\r';
            line_bytes(m, buf + i, k - (size_t)m->cr);
            i = n;
        }
    }
}

void mime_end(struct mime_scanner *m)
{
    if (m->stop) return;
    if (m->cr) {
        m->cr = 0;
        line_bytes(m, "\r", 1);
    }
    if (!m->stop && m->line_len) line_end(m, 0);       /* a last line without LF */
    if (m->stop) return;
    embedded_end(&m->text);
    if (m->stop) return;
    if (m->state != MIME_BODY) {
        finish_field(m);
        if (m->stop) return;
        m->ev->header_end(m->ctx, m->depth);
        if (m->stop) return;
    }
    if (m->nlevels) {
        set_part(m, m->nlevels - 1);
        malformed(m, MALFORMED_UNCLOSED_BOUNDARY);
    }
}
