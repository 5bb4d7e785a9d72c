/* The rule engine: what the scanner reports, held against the rules.
 * Each rule fires at most once per message; the first reject ends the
 * scan (nothing later can change the verdict); a reject wins over a
 * tempfail, whatever their order. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bodycheck.h"
#include "filterproto.h"
#include "smtp_reply.h"
#include "statustext.h"

struct statustext bodycheck_texts[TEXT_COUNT] = {
    [TEXT_TOO_BIG] = { "TOO_BIG", "Message size exceeds fixed maximum message size" },
    [TEXT_MISSING_HEADER] = { "MISSING_HEADER", "Message lacks a required header field" },
    [TEXT_REJECTED] = { "REJECTED", "Message rejected" },
    [TEXT_ATTACHMENT] = { "ATTACHMENT", "Message contains a forbidden attachment" },
    [TEXT_MALFORMED] = { "MALFORMED", "Message structure is malformed or too complex" },
    [TEXT_TEMPFAIL] = { "TEMPFAIL", "Temporary failure, try again later" },
};

/* Per kind of rule: its name in findings, its default reply. */
static const struct {
    const char *name;
    int code;
    const char *status;                 /* the enhanced code, less its class */
    int text;
} kinds[] = {
    [RULE_SIZE] = { "size", 552, "3.4", TEXT_TOO_BIG },
    [RULE_REQUIRE] = { "missing", 550, "6.0", TEXT_MISSING_HEADER },
    [RULE_HEADER] = { "header", 550, "7.1", TEXT_REJECTED },
    [RULE_EXTENSION] = { "extension", 550, "7.1", TEXT_ATTACHMENT },
    [RULE_TYPE] = { "type", 550, "7.1", TEXT_ATTACHMENT },
    [RULE_MALFORMED] = { "malformed", 554, "6.0", TEXT_MALFORMED },
};

static void fire(struct check *c, struct rule *r, const char *value, const char *part,
                 const char *name, size_t namelen)
{
    struct finding *f;
    if (c->verdict == VERDICT_REJECT || r->fired == c->cfg->message) return;
    r->fired = c->cfg->message;
    if (r->action.kind == ACTION_IGNORE) return;
    if (c->nfound < BODYCHECK_FINDINGS_MAX) {
        f = &c->found[c->nfound++];
        f->rule = r;
        snprintf(f->value, sizeof f->value, "%s", value);
        snprintf(f->part, sizeof f->part, "%s", part);
        f->namelen = namelen < sizeof f->name ? namelen : sizeof f->name;
        if (name) memcpy(f->name, name, f->namelen);
    } else {
        c->more++;
    }
    switch (r->action.kind) {
    case ACTION_SCORE:
        c->score += r->action.score;
        if (c->score > FILTERPROTO_SCORE_MAX) c->score = FILTERPROTO_SCORE_MAX;
        if (c->score < -FILTERPROTO_SCORE_MAX) c->score = -FILTERPROTO_SCORE_MAX;
        break;
    case ACTION_TEMPFAIL:
        if (c->verdict == VERDICT_CONTINUE) {
            c->verdict = VERDICT_TEMPFAIL;
            c->decisive = r;
        }
        break;
    case ACTION_REJECT:
        c->verdict = VERDICT_REJECT;
        c->decisive = r;
        c->mime.stop = 1;
        break;
    default:
        break;
    }
}

static int same_name(const char *key, const char *name, size_t n)
{
    return strlen(key) == n && !strncasecmp(key, name, n);
}

static void on_field(void *ctx, unsigned depth, const char *name, size_t nlen,
                     const char *value, size_t n)
{
    struct check *c = ctx;
    const struct config *cfg = c->cfg;
    int have_raw = 0, have_decoded = 0;
    size_t i, k;
    if (depth) return;                  /* rules are about the message's own header */
    for (i = 0; i < cfg->nrules && !c->mime.stop; i++) {
        struct rule *r = cfg->rule[i];
        const char *subject;
        char where[80];
        if ((r->kind != RULE_REQUIRE && r->kind != RULE_HEADER) || !same_name(r->key, name, nlen)) continue;
        if (r->kind == RULE_REQUIRE) {
            if (n) r->seen = cfg->message;      /* present and not empty */
            continue;
        }
        if (r->fired == cfg->message) continue;
        /* The scanner gives no NUL; a decoded "=00" reads as a space too,
         * so nothing after it hides from regexec(). */
        if (r->raw) {
            if (!have_raw) {
                memcpy(c->raw, value, n);
                c->raw[n] = 0;
                have_raw = 1;
            }
            subject = c->raw;
        } else {
            if (!have_decoded) {
                size_t d = decode_words(c->value, sizeof c->value - 1, value, n);
                for (k = 0; k < d; k++)
                    if (!c->value[k]) c->value[k] = ' ';
                c->value[d] = 0;
                have_decoded = 1;
            }
            subject = c->value;
        }
        if (regexec(&r->re, subject, 0, 0, 0)) continue;
        snprintf(where, sizeof where, "%s:%u", r->key, r->line);
        fire(c, r, where, "", 0, 0);
    }
}

static void on_header_end(void *ctx, unsigned depth)
{
    struct check *c = ctx;
    size_t i;
    if (depth) return;
    for (i = 0; i < c->cfg->nrules; i++) {
        struct rule *r = c->cfg->rule[i];
        if (r->kind == RULE_REQUIRE && r->seen != c->cfg->message) fire(c, r, r->key, "", 0, 0);
    }
}

static void on_type(void *ctx, const char *part, const char *type)
{
    struct check *c = ctx;
    size_t i;
    for (i = 0; i < c->cfg->nrules; i++) {
        struct rule *r = c->cfg->rule[i];
        if (r->kind == RULE_TYPE && !fnmatch(r->key, type, 0)) fire(c, r, type, part, 0, 0);
    }
}

/* The length of a name without what Windows drops at its end: dots,
 * spaces, control characters. */
static size_t stem(const char *name, size_t n)
{
    while (n && (name[n - 1] == '.' || name[n - 1] == ' ' || (unsigned char)name[n - 1] < 32 ||
                 name[n - 1] == 127))
        n--;
    return n;
}

static int has_extension(const char *name, size_t n, const char *ext)
{
    size_t k = strlen(ext);
    return n > k && name[n - k - 1] == '.' && !strncasecmp(name + n - k, ext, k);
}

static void on_name(void *ctx, const char *part, const char *name, size_t n)
{
    struct check *c = ctx;
    /* A reader written in C sees the name up to a NUL. */
    const char *nul = memchr(name, 0, n);
    size_t whole = stem(name, n), cut = nul ? stem(name, (size_t)(nul - name)) : 0, i;
    for (i = 0; i < c->cfg->nrules; i++) {
        struct rule *r = c->cfg->rule[i];
        if (r->kind == RULE_EXTENSION &&
            (has_extension(name, whole, r->key) || (nul && has_extension(name, cut, r->key))))
            fire(c, r, r->key, part, name, n);
    }
}

static void on_malformed(void *ctx, const char *part, enum malformation m)
{
    struct check *c = ctx;
    size_t i;
    for (i = 0; i < c->cfg->nrules; i++) {
        struct rule *r = c->cfg->rule[i];
        if (r->kind == RULE_MALFORMED && r->malformation == (int)m)
            fire(c, r, malformation_name(m), part, 0, 0);
    }
}

static const struct mime_events events = {
    on_field, on_header_end, on_type, on_name, on_malformed,
};

static void check_size(struct check *c, unsigned long long size)
{
    size_t i;
    for (i = 0; i < c->cfg->nrules; i++) {
        struct rule *r = c->cfg->rule[i];
        char v[32];
        if (r->kind != RULE_SIZE || size <= r->size) continue;
        snprintf(v, sizeof v, "%llu", size);
        fire(c, r, v, "", 0, 0);
    }
}

void check_start(struct check *c, struct config *cfg, unsigned long long size)
{
    c->cfg = cfg;
    cfg->message++;
    c->size = size;
    c->fed = 0;
    c->verdict = VERDICT_CONTINUE;
    c->decisive = 0;
    c->score = 0;
    c->nfound = c->more = 0;
    mime_start(&c->mime, &events, c);
    check_size(c, size);
}

void check_feed(struct check *c, const char *buf, size_t n)
{
    c->fed += n;
    mime_feed(&c->mime, buf, n);
}

void check_end(struct check *c)
{
    mime_end(&c->mime);
    if (c->fed > c->size) check_size(c, c->fed);
}

int check_stopped(const struct check *c)
{
    return c->mime.stop;
}

void check_verdict_line(const struct check *c, char *out, size_t size)
{
    const struct rule *r = c->decisive;
    const struct action *a = &r->action;
    int reject = c->verdict == VERDICT_REJECT;
    int code = a->code ? a->code : reject ? kinds[r->kind].code : 451;
    const char *text = a->text ? a->text : bodycheck_texts[reject ? kinds[r->kind].text : TEXT_TEMPFAIL].text;
    const char *status = a->text || reject ? kinds[r->kind].status : "7.1";
    if (a->text && smtp_enhanced_code_length(a->text, strlen(a->text)))
        snprintf(out, size, "%s %d %s", reject ? "reject" : "tempfail", code, text);
    else
        snprintf(out, size, "%s %d %d.%s %s", reject ? "reject" : "tempfail", code, code / 100, status, text);
}

size_t check_finding_token(const struct finding *f, char *out, size_t size)
{
    int n = snprintf(out, size, "%s=%s%s%s", kinds[f->rule->kind].name, f->value,
                     f->part[0] ? "@" : "", f->part);
    size_t i, len = n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
    for (i = 0; i < len; i++)
        if ((unsigned char)out[i] < 33 || (unsigned char)out[i] > 126) out[i] = '?';
    return len;
}

size_t check_tag_value(const struct check *c, char *out, size_t size)
{
    size_t len = 0, column = 0;
    unsigned i;
    if (size > BODYCHECK_TAG_MAX + 1) size = BODYCHECK_TAG_MAX + 1;
    if (!c->nfound) return (size_t)snprintf(out, size, "none");
    for (i = 0; i < c->nfound; i++) {
        char t[sizeof c->found[i].value + BODYCHECK_PART_MAX + 16];
        size_t k = check_finding_token(&c->found[i], t, sizeof t);
        int fold = column && column + 1 + k > 72;
        if (len + 3 + k + 4 + 1 > size) {       /* fold, token, " ...", NUL */
            memcpy(out + len, " ...", 4);
            len += 4;
            break;
        }
        if (fold) {
            memcpy(out + len, "\r\n ", 3);
            len += 3;
            column = 1;
        } else if (column) {
            out[len++] = ' ';
            column++;
        }
        memcpy(out + len, t, k);
        len += k;
        column += k;
    }
    if (i == c->nfound && c->more && len + 5 <= size) {
        memcpy(out + len, " ...", 4);
        len += 4;
    }
    out[len] = 0;
    return len;
}
