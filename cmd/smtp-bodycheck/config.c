/* The configuration: one grammar for the file and the options (each
 * option is a line of it).  Every error names its reason; config_file
 * adds "file:line".  Nothing here is used after start-up but the rules. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bodycheck.h"
#include "filterproto.h"
#include "log.h"
#include "scan.h"
#include "smtp_reply.h"
#include "statustext.h"

static void *allocate(size_t n)
{
    void *p = calloc(1, n);
    if (!p) log_fatal_sys(111, "unable to allocate memory");
    return p;
}

/* A new rule, zeroed: one of first[] while there are some left. */
static struct rule *rule_new(struct config *c)
{
    struct rule *r;
    if (c->nfirst == BODYCHECK_FIRST_RULES) return allocate(sizeof *r);
    r = &c->first[c->nfirst++];
    memset(r, 0, sizeof *r);
    return r;
}

static void rule_free(struct config *c, struct rule *r)
{
    if (r >= c->first && r < c->first + BODYCHECK_FIRST_RULES) {
        if (r == &c->first[c->nfirst - 1]) c->nfirst--;    /* the last taken: again */
    } else {
        free(r);
    }
}

/* The rule of this kind and key, or a new one at the end.  Size, require,
 * extension, type and malformed entries replace an earlier one with the
 * same key; header rules never do. */
static struct rule *rule_for(struct config *c, enum rule_kind kind, const char *key, int malformation)
{
    struct rule *r;
    size_t i;
    if (kind != RULE_HEADER)
        for (i = 0; i < c->nrules; i++) {
            r = c->rule[i];
            if (r->kind != kind) continue;
            if (kind == RULE_SIZE || (kind == RULE_MALFORMED && r->malformation == malformation) ||
                (kind != RULE_MALFORMED && !strcasecmp(r->key, key))) {
                free(r->action.text);
                memset(&r->action, 0, sizeof r->action);
                return r;
            }
        }
    if (c->nrules == c->room) {
        struct rule **more;
        c->room *= 2;
        more = realloc(c->rule == c->first_rule ? 0 : c->rule, c->room * sizeof *more);
        if (!more) log_fatal_sys(111, "unable to allocate memory");
        if (c->rule == c->first_rule) memcpy(more, c->first_rule, sizeof c->first_rule);
        c->rule = more;
    }
    r = c->rule[c->nrules++] = rule_new(c);
    r->kind = kind;
    r->malformation = malformation;
    snprintf(r->key, sizeof r->key, "%s", key);
    return r;
}

/* Not first[]: each rule is zeroed when taken. */
static void config_clear(struct config *c)
{
    memset(c, 0, offsetof(struct config, first));
    c->rule = c->first_rule;
    c->room = BODYCHECK_FIRST_RULES;
}

/* What is not reported by default is only tagged: the reader saw all of
 * the message anyway (an unclosed boundary), or it is common in honest
 * mail (8-bit octets in headers, from mailers that do not encode). */
void config_init(struct config *c)
{
    int m;
    config_clear(c);
    rule_for(c, RULE_REQUIRE, "From", -1)->action.kind = ACTION_REJECT;
    for (m = 0; m < MALFORMED_KINDS; m++)
        rule_for(c, RULE_MALFORMED, malformation_name((enum malformation)m), m)->action.kind =
            m == MALFORMED_UNCLOSED_BOUNDARY || m == MALFORMED_8BIT_HEADER ? ACTION_TAG : ACTION_REJECT;
}

void config_free(struct config *c)
{
    size_t i;
    for (i = 0; i < c->nrules; i++) {
        if (c->rule[i]->kind == RULE_HEADER) regfree(&c->rule[i]->re);
        free(c->rule[i]->action.text);
        rule_free(c, c->rule[i]);
    }
    if (c->rule != c->first_rule) free(c->rule);
    config_clear(c);
}

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next word of s: *w and its length, s moved past it and the blanks. */
static size_t word(const char **s, const char **w)
{
    size_t n = 0;
    while (blank(**s)) (*s)++;
    *w = *s;
    while ((*s)[n] && !blank((*s)[n])) n++;
    *s += n;
    while (blank(**s)) (*s)++;
    return n;
}

static int is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(w, lit, n);
}

/* ACTION: reject [CODE [TEXT]] | tempfail [CODE [TEXT]] | score N | tag |
 * ignore; nothing is reject with the check's default reply. */
static int action(const char *s, struct action *a, char *why, size_t size)
{
    const char *w, *text;
    size_t n = word(&s, &w), k;
    char buf[32];
    const char *reason;
    a->kind = ACTION_REJECT;
    if (!n) return 0;
    if (is(w, n, "tag") || is(w, n, "ignore")) {
        a->kind = is(w, n, "tag") ? ACTION_TAG : ACTION_IGNORE;
        return *s ? log_why(why, size, "unexpected %s after the action", s) : 0;
    }
    if (is(w, n, "score")) {
        a->kind = ACTION_SCORE;
        n = word(&s, &w);
        if (!n || n >= sizeof buf) return log_why(why, size, "bad points: %.*s", (int)n, w);
        memcpy(buf, w, n);
        buf[n] = 0;
        if (!scan_long(buf, FILTERPROTO_SCORE_MAX, &a->score)) return log_why(why, size, "bad points: %s", buf);
        return *s ? log_why(why, size, "unexpected %s after the action", s) : 0;
    }
    if (!is(w, n, "reject") && !is(w, n, "tempfail")) return log_why(why, size, "unknown action %.*s", (int)n, w);
    a->kind = is(w, n, "reject") ? ACTION_REJECT : ACTION_TEMPFAIL;
    n = word(&s, &w);
    if (!n) return 0;
    if (n != 3 || w[0] != (a->kind == ACTION_REJECT ? '5' : '4') || w[1] < '0' || w[1] > '9' ||
        w[2] < '0' || w[2] > '9')
        return log_why(why, size, "bad reply code %.*s (%s)", (int)n, w,
                    a->kind == ACTION_REJECT ? "500 to 599" : "400 to 499");
    a->code = (w[0] - '0') * 100 + (w[1] - '0') * 10 + (w[2] - '0');
    text = s;
    k = strlen(text);
    if (!k) return 0;
    if (!statustext_valid(text, &reason)) return log_why(why, size, "the text %s", reason);
    n = (size_t)smtp_enhanced_code_length(text, k);
    if (n && text[0] != w[0]) return log_why(why, size, "the enhanced status code is not of class %c", w[0]);
    if (!n && k > BODYCHECK_TEXT_ROOM)
        return log_why(why, size, "the text is longer than %d characters", BODYCHECK_TEXT_ROOM);
    a->text = allocate(k + 1);
    memcpy(a->text, text, k);
    return 0;
}

/* A comma-separated list: each item checked, lower-cased, and given a
 * rule of its own. */
static int list(struct config *c, enum rule_kind kind, const char *w, size_t n, const char *rest,
                char *why, size_t size)
{
    struct action a;
    size_t i = 0;
    memset(&a, 0, sizeof a);
    if (!n) return log_why(why, size, "missing list");
    if (action(rest, &a, why, size) < 0) return -1;
    while (i <= n) {
        char key[128];
        size_t j = i, k = 0;
        int m = -1;
        while (j < n && w[j] != ',') j++;
        if (kind == RULE_EXTENSION && j > i && w[i] == '.') i++;
        if (j == i || j - i >= sizeof key || (kind == RULE_EXTENSION && j - i > 32))
            goto bad;
        for (; i < j; i++) {
            unsigned char ch = (unsigned char)w[i];
            if (ch < 33 || ch > 126 || (kind == RULE_EXTENSION && (ch == '/' || ch == '\\'))) goto bad;
            key[k++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        }
        key[k] = 0;
        if (kind == RULE_TYPE && !strchr(key, '/')) goto bad;
        if (kind == RULE_MALFORMED && (m = malformation_find(key, k)) < 0) {
            free(a.text);
            return log_why(why, size, "unknown malformation %s", key);
        }
        {
            struct rule *r = rule_for(c, kind, key, m);
            r->action = a;
            if (a.text) {
                r->action.text = allocate(strlen(a.text) + 1);
                strcpy(r->action.text, a.text);
            }
        }
        i = j + 1;
    }
    free(a.text);
    return 0;
bad:
    free(a.text);
    return log_why(why, size, "bad %s in %.*s", kind == RULE_TYPE ? "type" : kind == RULE_EXTENSION
                ? "extension" : "malformation", (int)n, w);
}

/* header NAME /REGEX/[ir] [ACTION]; "\/" in REGEX is a slash. */
static int header_rule(struct config *c, const char *s, unsigned lineno, char *why, size_t size)
{
    char pattern[BODYCHECK_CONFIG_LINE];
    const char *name;
    size_t n = word(&s, &name), k = 0;
    int flags = REG_EXTENDED | REG_NOSUB, raw = 0, err;
    struct rule *r;
    regex_t re;
    if (!n || !header_name_valid(name, n)) return log_why(why, size, "bad field name %.*s", (int)n, name);
    if (*s != '/') return log_why(why, size, "expected /regular expression/ after %.*s", (int)n, name);
    for (s++; *s && *s != '/' && k + 2 < sizeof pattern; s++) {
        if (*s == '\\' && s[1] == '/') s++;
        else if (*s == '\\' && s[1]) pattern[k++] = *s++;
        pattern[k++] = *s;
    }
    pattern[k] = 0;
    if (*s != '/') return log_why(why, size, "the regular expression has no closing /");
    if (!k) return log_why(why, size, "empty regular expression");
    for (s++; *s && !blank(*s); s++) {
        if (*s == 'i') flags |= REG_ICASE;
        else if (*s == 'r') raw = 1;
        else return log_why(why, size, "unknown flag %c (i or r)", *s);
    }
    if ((err = regcomp(&re, pattern, flags))) {
        char msg[200];
        regerror(err, &re, msg, sizeof msg);
        return log_why(why, size, "bad regular expression: %s", msg);
    }
    r = rule_for(c, RULE_HEADER, "", -1);
    memcpy(r->key, name, n);
    r->key[n] = 0;
    r->re = re;
    r->raw = raw;
    r->line = lineno;
    if (action(s, &r->action, why, size) < 0) {
        regfree(&r->re);
        c->nrules--;
        rule_free(c, r);
        return -1;
    }
    return 0;
}

int config_line(struct config *c, const char *line, unsigned lineno, char *why, size_t size)
{
    const char *s = line, *w, *arg;
    size_t n, an;
    struct action a;
    memset(&a, 0, sizeof a);
    n = word(&s, &w);
    if (!n || w[0] == '#') return 0;
    if (is(w, n, "header")) return header_rule(c, s, lineno, why, size);
    an = word(&s, &arg);
    if (is(w, n, "extension")) return list(c, RULE_EXTENSION, arg, an, s, why, size);
    if (is(w, n, "type")) return list(c, RULE_TYPE, arg, an, s, why, size);
    if (is(w, n, "malformed")) return list(c, RULE_MALFORMED, arg, an, s, why, size);
    if (is(w, n, "size")) {
        char buf[32];
        unsigned long long v;
        struct rule *r;
        if (!an || an >= sizeof buf) return log_why(why, size, "bad size %.*s", (int)an, arg);
        memcpy(buf, arg, an);
        buf[an] = 0;
        if (!scan_size(buf, 1ULL << 50, &v) || !v) return log_why(why, size, "bad size %s", buf);
        if (action(s, &a, why, size) < 0) return -1;
        r = rule_for(c, RULE_SIZE, "", -1);
        r->size = v;
        r->action = a;
        return 0;
    }
    if (is(w, n, "require")) {
        char key[HEADER_NAME_MAX + 1];
        if (!an || !header_name_valid(arg, an)) return log_why(why, size, "bad field name %.*s", (int)an, arg);
        memcpy(key, arg, an);
        key[an] = 0;
        if (action(s, &a, why, size) < 0) return -1;
        rule_for(c, RULE_REQUIRE, key, -1)->action = a;
        return 0;
    }
    if (is(w, n, "add-header")) {
        if (!an || !header_name_valid(arg, an)) return log_why(why, size, "bad field name %.*s", (int)an, arg);
        if (*s) return log_why(why, size, "unexpected %s after the field name", s);
        memcpy(c->add_header, arg, an);
        c->add_header[an] = 0;
        return 0;
    }
    return log_why(why, size, "unknown keyword %.*s", (int)n, w);
}

int config_read(struct config *c, const char *path, config_bad_line *bad_line, char *why, size_t size)
{
    char line[BODYCHECK_CONFIG_LINE], reason[300];
    unsigned lineno = 0, bad_lines = 0;
    FILE *f = fopen(path, "r");
    int ch = 0;
    if (!f) {
        snprintf(why, size, "unable to open %s: %s", path, strerror(errno));
        return -1;
    }
    c->have_file = 1;
    while (ch != EOF) {
        size_t n = 0;
        const char *bad = 0;
        lineno++;
        while ((ch = getc(f)) != EOF && ch != '\n') {
            if (n + 1 >= sizeof line) bad = "line too long";
            else if (ch == 0 || (ch < 32 && ch != '\t' && ch != '\r') || ch == 127) bad = "control character";
            else line[n++] = (char)ch;
        }
        while (n && (line[n - 1] == '\r' || blank(line[n - 1]))) n--;
        line[n] = 0;
        if (!bad && memchr(line, '\r', n)) bad = "control character";
        if (bad || config_line(c, line, lineno, reason, sizeof reason) < 0) {
            if (!bad_lines++) snprintf(why, size, "%s:%u: %s", path, lineno, bad ? bad : reason);
            if (!bad_line) break;
            bad_line(path, lineno, bad ? bad : reason);
        }
    }
    if (!bad_lines && ferror(f)) {
        snprintf(why, size, "unable to read %s: %s", path, strerror(errno));
        bad_lines++;
    }
    fclose(f);
    return bad_lines ? -1 : 0;
}

int config_file(struct config *c, const char *path, char *why, size_t size)
{
    return config_read(c, path, 0, why, size);
}
