/* The milter protocol's codec: what goes to the milter, and every reply
 * checked before anything of it reaches the proxy.  No I/O here. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "scan.h"
#include "milter.h"
#include "smtp_reply.h"

static unsigned long get32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

size_t milter_packet_start(unsigned char *buf, int cmd, size_t payload)
{
    size_t len = payload + 1;
    buf[0] = (unsigned char)(len >> 24);
    buf[1] = (unsigned char)(len >> 16);
    buf[2] = (unsigned char)(len >> 8);
    buf[3] = (unsigned char)len;
    buf[4] = (unsigned char)cmd;
    return 5;
}

static int copy(char *out, size_t size, const char *s, size_t n)
{
    if (n >= size) return -1;
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

int milter_address_normalise(const char *spec, char *out, size_t size)
{
    const char *at;
    int n;
    if (!strncmp(spec, "local:", 6)) n = snprintf(out, size, "unix:%s", spec + 6);
    else if (!strncmp(spec, "inet:", 5) && (at = strchr(spec, '@'))) {
        /* libmilter's inet:PORT@HOST, as in the milter's own configuration */
        const char *host = at + 1;
        int bracketed = host[0] == '[';
        n = snprintf(out, size, "inet:%s%s%s:%.*s", !bracketed && strchr(host, ':') ? "[" : "",
                     host, !bracketed && strchr(host, ':') ? "]" : "", (int)(at - spec - 5),
                     spec + 5);
    } else n = snprintf(out, size, "%s", spec);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int milter_negotiation_parse(const unsigned char *p, size_t n, struct milter_negotiation *neg,
                             char *why, size_t size)
{
    size_t i;
    memset(neg, 0, sizeof *neg);
    if (n < 12) return log_why(why, size, "negotiation reply of %zu octets", n);
    neg->version = get32(p);
    neg->actions = get32(p + 4);
    neg->protocol = get32(p + 8);
    if (neg->version < 2 || neg->version > MILTER_VERSION)
        return log_why(why, size, "milter protocol version %lu", neg->version);
    if (neg->actions & ~(unsigned long)SMFIF_ALL)
        return log_why(why, size, "actions 0x%lx beyond those offered", neg->actions);
    if (neg->protocol & ~(unsigned long)SMFIP_ALL)
        return log_why(why, size, "protocol steps 0x%lx beyond those offered", neg->protocol);
    /* Older milters know fewer events: do not send them what they lack. */
    if (neg->version < 4) neg->protocol |= SMFIP_NODATA;
    if (neg->version < 6)
        neg->protocol &= ~(unsigned long)(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
                                          SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN |
                                          SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC |
                                          SMFIP_SKIP | SMFIP_RCPT_REJ);
    /* SETSYMLIST: pairs of a stage and its macro names. */
    for (i = 12; i < n;) {
        unsigned long stage;
        const unsigned char *end;
        if (n - i < 5) return log_why(why, size, "truncated macro list");
        stage = get32(p + i);
        i += 4;
        end = memchr(p + i, 0, n - i);
        if (!end) return log_why(why, size, "macro list without its NUL");
        if (stage >= STAGE_COUNT) return log_why(why, size, "macro list for stage %lu", stage);
        if (copy(neg->list[stage], MACRO_LIST_MAX, (const char *)p + i, (size_t)(end - p - i)) < 0)
            return log_why(why, size, "macro list too long");
        neg->has_list[stage] = 1;
        i = (size_t)(end - p) + 1;
    }
    return 0;
}

/* Append c to the reply text, a space first between lines; beyond the
 * proxy's limit the text is cut. */
static void text_put(struct milter_verdict *v, size_t *len, int *space, char c)
{
    if (*space && *len) {
        if (*len + 1 < FILTERPROTO_TEXT_MAX) v->text[(*len)++] = ' ';
        *space = 0;
    }
    if (*len < FILTERPROTO_TEXT_MAX) v->text[(*len)++] = c;
}

int milter_replycode_parse(const char *p, size_t n, struct milter_verdict *v, char *why, size_t size)
{
    size_t i = 0, len = 0;
    int code = 0, esc = 0, space = 0;
    if (n && p[n - 1] == 0) n--;
    if (!n) return log_why(why, size, "empty reply code");
    if (memchr(p, 0, n)) return log_why(why, size, "reply code with a NUL");
    while (i < n) {
        size_t end = i, k;
        int c;
        while (end < n && p[end] != '\r' && p[end] != '\n') end++;
        if (end < n && (p[end] != '\r' || end + 1 >= n || p[end + 1] != '\n'))
            return log_why(why, size, "reply code with a bare CR or LF");
        if (end + 2 == n) return log_why(why, size, "reply code ending in CRLF");
        if (end - i < 3 || p[i] < '4' || p[i] > '5' || p[i + 1] < '0' || p[i + 1] > '5' ||
            p[i + 2] < '0' || p[i + 2] > '9')
            return log_why(why, size, "reply code not 4xx or 5xx");
        c = (p[i] - '0') * 100 + (p[i + 1] - '0') * 10 + (p[i + 2] - '0');
        if (code && c != code) return log_why(why, size, "reply codes %d and %d in one reply", code, c);
        code = c;
        i += 3;
        if (i < end) {
            if (p[i] != ' ' && p[i] != '-') return log_why(why, size, "reply code without a separator");
            if (end + 2 < n && p[i] != '-') return log_why(why, size, "reply line before the last with a space");
            if (end == n && p[i] != ' ') return log_why(why, size, "last reply line with a dash");
            i++;
        } else if (end < n) {
            return log_why(why, size, "reply line before the last without a dash");
        }
        k = (size_t)smtp_enhanced_code_length(p + i, end - i);
        if (k) {
            if (p[i] - '0' != code / 100)
                return log_why(why, size, "enhanced code %.*s with reply code %d", (int)k, p + i, code);
            if (!esc) {                         /* the first line's is the reply's */
                memcpy(v->text, p + i, k);
                len = k;
                esc = space = 1;
            }
            i += k;
            while (i < end && p[i] == ' ') i++;
        }
        for (; i < end; i++) {
            unsigned char ch = (unsigned char)p[i];
            if (ch < 32 || ch > 126) return log_why(why, size, "reply text not printable");
            if (ch == '%') {                    /* sendmail's format: %% is %, a lone % nothing */
                if (i + 1 < end && p[i + 1] == '%') i++;
                else continue;
            }
            text_put(v, &len, &space, (char)ch);
        }
        space = 1;
        i = end < n ? end + 2 : end;
    }
    while (len && v->text[len - 1] == ' ') len--;
    v->text[len] = 0;
    if (!esc) {                                 /* none given: the class's usual */
        size_t k = len > FILTERPROTO_TEXT_MAX - 6 ? FILTERPROTO_TEXT_MAX - 6 : len;
        memmove(v->text + 6, v->text, k);
        memcpy(v->text, code / 100 == 5 ? "5.7.1 " : "4.7.1 ", 6);
        len = k + 6;
        while (len && v->text[len - 1] == ' ') len--;
        v->text[len] = 0;
    }
    v->code = code;
    v->kind = code / 100 == 5 ? REPLY_REJECT : REPLY_TEMPFAIL;
    return 0;
}

int milter_reply_parse(int c, const unsigned char *p, size_t n, struct milter_verdict *v,
                       char *why, size_t size)
{
    static const char *const simple = "cartds4";
    const char *k;
    memset(v, 0, sizeof *v);
    if (c == 'p') {
        if (n) return log_why(why, size, "progress reply with %zu octets", n);
        return 0;
    }
    if (c == 'y') {
        if (milter_replycode_parse((const char *)p, n, v, why, size) < 0) return -1;
        return 1;
    }
    if (!c || !(k = strchr(simple, c))) {
        log_why(why, size, "reply 0x%02x", (unsigned)c & 0xff);
        return -1;
    }
    if (n) return log_why(why, size, "reply '%c' followed by %zu octets", c, n);
    switch (c) {
    case 'c': v->kind = REPLY_CONTINUE; break;
    case 'a': v->kind = REPLY_ACCEPT; break;
    case 'r':
        v->kind = REPLY_REJECT;
        v->code = 550;
        strcpy(v->text, "5.7.1 Command rejected");
        break;
    case 't':
        v->kind = REPLY_TEMPFAIL;
        v->code = 451;
        strcpy(v->text, "4.7.1 Service unavailable - try again later");
        break;
    case 'd': v->kind = REPLY_DISCARD; break;
    case 's': v->kind = REPLY_SKIP; break;
    default:                                    /* '4': shutdown */
        v->kind = REPLY_SHUTDOWN;
        v->code = 421;
        strcpy(v->text, "4.7.0 Server closing connection");
        break;
    }
    return 1;
}

/* The next NUL-terminated string of p[*i..n-1]. */
static int take(const unsigned char *p, size_t n, size_t *i, const char **s, size_t *len)
{
    const unsigned char *end;
    if (*i >= n || !(end = memchr(p + *i, 0, n - *i))) return -1;
    *s = (const char *)p + *i;
    *len = (size_t)(end - p) - *i;
    *i += *len + 1;
    return 0;
}

int milter_header_value(const char *v, size_t n, int leadspc, char *out, size_t size, size_t *outlen)
{
    size_t i, k = 0;
    if (!leadspc) {
        if (size < 2) return -1;
        out[k++] = ' ';
    }
    for (i = 0; i < n; i++) {
        if (k + 3 > size) return -1;
        if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r')) out[k++] = '\r';
        out[k++] = v[i];
    }
    if (!k) out[k++] = ' ';             /* "Name:" and "Name: " are one; xtext has no "" */
    out[k] = 0;
    *outlen = k;
    return header_value_valid(out, k) ? 0 : -1;
}

/* An address as a milter gives it: with or without its angle brackets;
 * checked as the proxy checks a client's path. */
static int address(const char *s, size_t n, int null_ok, char *out)
{
    char path[SMTP_ADDRESS_MAX + 3];
    size_t used;
    if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
        s++;
        n -= 2;
    }
    if (n > SMTP_ADDRESS_MAX || !scan_printable(s, n)) return -1;
    path[0] = '<';
    memcpy(path + 1, s, n);
    path[n + 1] = '>';
    if (smtp_path_parse(path, n + 2, null_ok, out, &used) != SMTP_PATH_OK || used != n + 2) return -1;
    return 0;
}

/* ESMTP parameters as the proxy checks them: KEY[=VALUE] ... */
static int params_valid(const char *s, size_t n)
{
    struct smtp_param prm;
    const char *end = s + n;
    int r;
    while ((r = smtp_param_next(&s, end, &prm)) > 0) ;
    return r;
}

int milter_edit_parse(int c, const unsigned char *p, size_t n, int leadspc,
                      struct milter_edit *e, char *why, size_t size)
{
    const char *s, *t;
    size_t i = 0, sl, tl;
    memset(e, 0, sizeof *e);
    e->kind = (char)c;
    switch (c) {
    case 'i':
    case 'm':
        if (n < 4) return log_why(why, size, "header change without its index");
        e->index = get32(p);
        if (c == 'm' && !e->index) e->index = 1;        /* as Postfix */
        if (e->index > 100000) e->index = 100000;       /* beyond any header: the end */
        i = 4;
        /* fall through */
    case 'h':
        if (take(p, n, &i, &s, &sl) < 0 || take(p, n, &i, &t, &tl) < 0 || i != n)
            return log_why(why, size, "header change '%c' malformed", c);
        if (!header_name_valid(s, sl)) {
            log_why(why, size, "header name %.*s not valid", (int)(sl > 64 ? 64 : sl), s);
            return 0;
        }
        memcpy(e->name, s, sl);
        e->name[sl] = 0;
        if (c == 'm' && !tl) {
            e->delete_field = 1;
            return 1;
        }
        if (milter_header_value(t, tl, leadspc, e->value, sizeof e->value, &e->valuelen) < 0) {
            log_why(why, size, "value of header %s not valid or too long", e->name);
            return 0;
        }
        return 1;
    case '+':
    case '-':
    case '2':
    case 'e':
        if (take(p, n, &i, &s, &sl) < 0 || address(s, sl, c == 'e', e->addr) < 0)
            return log_why(why, size, "address in reply '%c' malformed", c);
        if (i < n && c != '+' && c != '-') {
            if (take(p, n, &i, &t, &tl) < 0 || tl > FILTERPROTO_PARAMS_MAX || !scan_printable(t, tl))
                return log_why(why, size, "parameters in reply '%c' malformed", c);
            while (tl && t[0] == ' ') t++, tl--;
            while (tl && t[tl - 1] == ' ') tl--;
            memcpy(e->params, t, tl);
            e->params[tl] = 0;
            if (params_valid(e->params, tl) < 0)
                return log_why(why, size, "parameters in reply '%c' malformed", c);
        }
        if (i != n) return log_why(why, size, "reply '%c' followed by more", c);
        return 1;
    case 'q':
        if (take(p, n, &i, &s, &sl) < 0 || i != n || !scan_printable(s, sl))
            return log_why(why, size, "quarantine reason malformed");
        if (sl > FILTERPROTO_TEXT_MAX) sl = FILTERPROTO_TEXT_MAX;
        if (!sl) {                              /* the proxy needs a reason */
            s = "milter";
            sl = 6;
        }
        memcpy(e->value, s, sl);
        e->value[sl] = 0;
        e->valuelen = sl;
        return 1;
    default:
        return log_why(why, size, "reply 0x%02x at the end of the message", (unsigned)c & 0xff);
    }
}

size_t milter_header_payload(const char *field, size_t n, int leadspc, char *out, size_t size)
{
    const char *colon = memchr(field, ':', n);
    size_t name, i, k;
    if (!colon) return 0;
    name = (size_t)(colon - field);
    while (name && (field[name - 1] == ' ' || field[name - 1] == '\t')) name--;
    if (!name || name + 2 > size || memchr(field, 0, n)) return 0;
    for (i = 0; i < name; i++)
        if (field[i] < 33 || field[i] > 126) return 0;
    memcpy(out, field, name);
    k = name;
    out[k++] = 0;
    i = (size_t)(colon - field) + 1;
    if (!leadspc && i < n && field[i] == ' ') i++;
    for (; i < n; i++) {
        if (field[i] == '\r') {                /* CRLF folding: LF; a bare CR: not a field */
            if (i + 1 < n && field[i + 1] == '\n') continue;
            return 0;
        }
        if (k + 2 > size) return 0;
        out[k++] = field[i];
    }
    out[k++] = 0;
    return k;
}

static int field_start(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n && s[i] != ':'; i++)
        if (s[i] < 33 || s[i] > 126) break;
    if (!i || i == n) return 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;        /* "Name :" */
    return i < n && s[i] == ':';
}

size_t milter_header_end(const char *msg, size_t n, size_t *fields_end, int *complete)
{
    size_t pos = 0, field = 0;
    int any = 0;
    *complete = 1;
    while (pos < n) {
        const char *lf = memchr(msg + pos, '\n', n - pos);
        size_t len;
        if (!lf) break;
        len = (size_t)(lf - msg) + 1 - pos;
        if (len <= 2 && (len == 1 || msg[pos] == '\r')) {      /* the empty line */
            *fields_end = pos;
            return pos + len;
        }
        if (msg[pos] == ' ' || msg[pos] == '\t') {
            if (!any) break;
        } else if (field_start(msg + pos, len)) {
            field = pos;
            any = 1;
        } else {
            break;
        }
        pos += len;
    }
    if (pos < n && !memchr(msg + pos, '\n', n - pos)) {       /* a partial line */
        *complete = 0;
        *fields_end = (msg[pos] == ' ' || msg[pos] == '\t') && any ? field : pos;
        return *fields_end;
    }
    if (pos == n) *complete = 0;                /* the header may go on */
    *fields_end = pos;
    return pos;
}

size_t milter_body_crlf(const char *in, size_t n, int *cr, char *out)
{
    size_t i, k = 0;
    for (i = 0; i < n; i++) {
        char c = in[i];
        if (*cr) {
            *cr = 0;
            out[k++] = '\n';
            if (c == '\n') continue;
        }
        if (c == '\r') {
            out[k++] = '\r';
            *cr = 1;
        } else if (c == '\n') {
            out[k++] = '\r';
            out[k++] = '\n';
        } else {
            out[k++] = c;
        }
    }
    return k;
}
