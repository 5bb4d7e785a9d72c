#include <string.h>
#include <strings.h>

#include "ipaddr.h"
#include "smtp_command.h"
#include "xtext.h"

static int line_check(char *line, size_t *n, int *eightbit)
{
    size_t len = *n, i;
    if (!len || line[len - 1] != '\n') return SMTP_LINE_BARE_LF;
    if (len < 2 || line[len - 2] != '\r') return SMTP_LINE_BARE_LF;
    len -= 2;
    line[len] = 0;
    *n = len;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '\r') return SMTP_LINE_BARE_CR;
        if (c == '\n') return SMTP_LINE_BARE_LF;
        if (c > 127 && eightbit) *eightbit = 1;
        else if ((c < 32 && c != '\t') || c > 126) return SMTP_LINE_BAD_BYTE;
    }
    return SMTP_LINE_OK;
}

int smtp_line_check(char *line, size_t *n)
{
    return line_check(line, n, 0);
}

int smtp_line_check8(char *line, size_t *n, int *eightbit)
{
    *eightbit = 0;
    return line_check(line, n, eightbit);
}

int smtp_utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        unsigned long cp;
        size_t k, more;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) { more = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { more = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { more = 3; cp = c & 0x07; }
        else return 0;
        if (n - i <= more) return 0;
        for (k = 1; k <= more; k++) {
            unsigned char d = (unsigned char)s[i + k];
            if ((d & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (d & 0x3f);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += more + 1;
    }
    return 1;
}

static const struct { const char *name; enum smtp_verb verb; } verbs[] = {
    { "HELO", SMTP_HELO }, { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
    { "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
    { "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT }, { "VRFY", SMTP_VRFY },
    { "EXPN", SMTP_EXPN }, { "HELP", SMTP_HELP }, { "STARTTLS", SMTP_STARTTLS },
    { "AUTH", SMTP_AUTH }, { "BDAT", SMTP_BDAT }, { "ETRN", SMTP_ETRN },
    { "TURN", SMTP_TURN },
};

void smtp_command_split(const char *line, size_t n, struct smtp_command *cmd)
{
    size_t v = 0, i;
    while (v < n && line[v] != ' ') v++;
    cmd->verb = SMTP_UNKNOWN;
    for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strlen(verbs[i].name) == v && !strncasecmp(line, verbs[i].name, v)) {
            cmd->verb = verbs[i].verb;
            break;
        }
    if (v < n) v++;
    cmd->arg = line + v;
    cmd->arglen = n - v;
}

size_t smtp_path_prefix(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    if (n < k || strncasecmp(s, prefix, k)) return 0;
    if (k < n && s[k] == ' ') k++;
    return k;
}

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* atext of RFC 5322; with utf8, UTF8-non-ascii too (RFC 6532 3.2; the
 * whole mailbox is checked for well-formed UTF-8 apart). */
static int is_atext(unsigned char c, int utf8)
{
    return is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c)) || (utf8 && c > 127);
}

static int domain_valid(const char *s, size_t n, int utf8);

static int domain_name_valid(const char *s, size_t n, int utf8)
{
    size_t label = 0, i;
    if (!n || n > 255) return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (!label || s[i - 1] == '-') return 0;
            label = 0;
        } else if (is_alnum(c) || c == '-' || (utf8 && c > 127)) {
            if (!label && c == '-') return 0;
            if (++label > 63) return 0;
        } else {
            return 0;
        }
    }
    return label && s[n - 1] != '-';
}

/* s[0..n-1] is the inside of the brackets. */
static int literal_valid(const char *s, size_t n)
{
    struct ipaddr a;
    size_t i;
    if (ipaddr_parse_literal(&a, s - 1, n + 2)) return 1;
    if (n >= 5 && !strncasecmp(s, "IPv6:", 5)) return 0;
    /* General-address-literal: Standardized-tag ":" 1*dcontent */
    for (i = 0; i < n && (is_alnum((unsigned char)s[i]) || s[i] == '-'); i++) ;
    if (!i || i >= n - 1 || s[i] != ':') return 0;
    for (i++; i < n; i++)
        if (s[i] < 33 || s[i] > 126 || s[i] == '[' || s[i] == ']' || s[i] == '\\') return 0;
    return 1;
}

static int domain_valid(const char *s, size_t n, int utf8)
{
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') return literal_valid(s + 1, n - 2);
    return domain_name_valid(s, n, utf8);
}

int smtp_domain_valid(const char *s, size_t n)
{
    return domain_valid(s, n, 0);
}

/* Local part: a dot-string (dots anywhere, as sent by some real clients)
 * or a quoted string.  Returns its length, 0 when malformed. */
static size_t local_part(const char *s, size_t n, int utf8)
{
    size_t i = 0;
    if (n && s[0] == '"') {
        for (i = 1; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '"') return i + 1;
            if (c == '\\') {
                if (++i >= n || s[i] < 32 || s[i] > 126) return 0;
            } else if (c < 32 || (c > 126 && !utf8)) {
                return 0;
            }
        }
        return 0;
    }
    while (i < n && (is_atext((unsigned char)s[i], utf8) || s[i] == '.')) i++;
    return i;
}

static int mailbox_valid(const char *s, size_t n, int allow_postmaster, int utf8)
{
    size_t l = local_part(s, n, utf8);
    if (!l) return 0;
    if (l == n) return allow_postmaster && n == 10 && !strncasecmp(s, "postmaster", 10);
    if (s[l] != '@') return 0;
    return domain_valid(s + l + 1, n - l - 1, utf8);
}

int smtp_path_parse(const char *s, size_t n, int allow_null, char *addr, size_t *used)
{
    int r = smtp_path_parse_utf8(s, n, allow_null, 0, addr, used);
    return r == SMTP_PATH_NOT_ASCII ? SMTP_PATH_SYNTAX : r;
}

int smtp_path_parse_utf8(const char *s, size_t n, int allow_null, int utf8, char *addr,
                         size_t *used)
{
    size_t i = 1, start, end;
    int in_quote = 0;
    if (!n || s[0] != '<') return SMTP_PATH_SYNTAX;
    /* Source route "@a,@b:" is accepted and dropped (RFC 5321 4.1.2). */
    if (i < n && s[i] == '@') {
        while (i < n && s[i] != ':' && s[i] != '>') i++;
        if (i >= n || s[i] != ':') return SMTP_PATH_SYNTAX;
        i++;
    }
    start = i;
    for (end = i; end < n; end++) {
        if (in_quote && s[end] == '\\') { end++; continue; }
        if (s[end] == '"') in_quote = !in_quote;
        else if (!in_quote && s[end] == '>') break;
    }
    if (end >= n) return SMTP_PATH_SYNTAX;
    if (end - start > SMTP_ADDRESS_MAX) return SMTP_PATH_TOOLONG;
    if (end == start) {
        if (!allow_null || start != 1) return SMTP_PATH_SYNTAX;
    } else {
        size_t k;
        for (k = start; k < end && (unsigned char)s[k] < 128; k++) ;
        if (k < end && (!utf8 || !smtp_utf8_valid(s + start, end - start)))
            return SMTP_PATH_NOT_ASCII;
    }
    if (end != start && !mailbox_valid(s + start, end - start, !allow_null, utf8)) {
        return SMTP_PATH_SYNTAX;
    }
    memcpy(addr, s + start, end - start);
    addr[end - start] = 0;
    *used = end + 1;
    return SMTP_PATH_OK;
}

int smtp_param_next(const char **sp, const char *end, struct smtp_param *p)
{
    const char *s = *sp;
    size_t k = 0, v = 0;
    while (s < end && *s == ' ') s++;
    if (s >= end) { *sp = end; return 0; }
    if (!is_alnum((unsigned char)*s)) return -1;
    while (s < end && (is_alnum((unsigned char)*s) || *s == '-')) {
        if (k + 1 >= sizeof p->key) return -1;
        p->key[k++] = *s++;
    }
    p->key[k] = 0;
    if (s < end && *s == '=') {
        s++;
        while (s < end && *s != ' ') {
            unsigned char c = (unsigned char)*s;
            if (c < 33 || c > 126 || c == '=' || v + 1 >= sizeof p->value) return -1;
            p->value[v++] = *s++;
        }
        if (!v) return -1;
    }
    p->value[v] = 0;
    if (s < end && *s != ' ') return -1;
    *sp = s;
    return 1;
}

static int notify_valid(const char *v)
{
    static const char *const kw[3] = { "SUCCESS", "FAILURE", "DELAY" };
    unsigned seen = 0, i;
    if (!strcasecmp(v, "NEVER")) return 1;
    for (;;) {
        size_t n = strcspn(v, ",");
        for (i = 0; i < 3; i++)
            if (strlen(kw[i]) == n && !strncasecmp(v, kw[i], n)) break;
        if (i == 3 || seen & (1u << i)) return 0;
        seen |= 1u << i;
        if (!v[n]) return 1;
        v += n + 1;
    }
}

/* addr-type ";" xtext; addr-type an atom (RFC 3461 4.2, "rfc822" or
 * "utf-8" as registered). */
static int orcpt_valid(const char *v)
{
    size_t n = strlen(v), t = 0;
    while (t < n && is_atext((unsigned char)v[t], 0)) t++;
    return n <= 500 && t && t < n && v[t] == ';' && xtext_valid(v + t + 1, n - t - 1);
}

enum smtp_param_kind smtp_param_kind(const struct smtp_param *p, int rcpt, int *valid)
{
    const char *k = p->key, *v = p->value;
    size_t n = strlen(v);
    *valid = 0;
    if (!rcpt && !strcasecmp(k, "SIZE")) {
        *valid = n && n <= 20 && strspn(v, "0123456789") == n;
        return SMTP_PARAM_SIZE;
    }
    if (!rcpt && !strcasecmp(k, "BODY")) {
        *valid = !strcasecmp(v, "7BIT") || !strcasecmp(v, "8BITMIME") || !strcasecmp(v, "BINARYMIME");
        return SMTP_PARAM_BODY;
    }
    if (!rcpt && !strcasecmp(k, "SMTPUTF8")) {
        *valid = !n;
        return SMTP_PARAM_SMTPUTF8;
    }
    if (!rcpt && !strcasecmp(k, "RET")) {
        *valid = !strcasecmp(v, "FULL") || !strcasecmp(v, "HDRS");
        return SMTP_PARAM_RET;
    }
    if (!rcpt && !strcasecmp(k, "ENVID")) {
        *valid = n <= 100 && xtext_valid(v, n);
        return SMTP_PARAM_ENVID;
    }
    if (rcpt && !strcasecmp(k, "NOTIFY")) {
        *valid = n && notify_valid(v);
        return SMTP_PARAM_NOTIFY;
    }
    if (rcpt && !strcasecmp(k, "ORCPT")) {
        *valid = orcpt_valid(v);
        return SMTP_PARAM_ORCPT;
    }
    return SMTP_PARAM_UNKNOWN;
}
