/* smtp-envcheck: the checks.  Each takes what the proxy sent (never
 * trusted: any byte, any length) and gives a verdict. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "checkmode.h"
#include "envcheck.h"
#include "log.h"
#include "smtp_command.h"
#include "smtp_reply.h"

/* The keys smtp-table(8) writes besides the entries. */
#define KIND_KEY "noqueue-table"
#define PREFIXES4_KEY "noqueue-prefixes4"
#define PREFIXES6_KEY "noqueue-prefixes6"

#define VALUE_MAX 512

struct statustext envcheck_texts[T_COUNT] = {
    [T_CLIENT_DENIED]     = { "CLIENT_DENIED", "Client host rejected" },
    [T_HELO_INVALID]      = { "HELO_INVALID", "Invalid HELO name" },
    [T_HELO_NOT_FQDN]     = { "HELO_NOT_FQDN", "HELO name must be a fully qualified domain name" },
    [T_HELO_SELF]         = { "HELO_SELF", "You are not this host" },
    [T_SENDER_DENIED]     = { "SENDER_DENIED", "Sender address rejected" },
    [T_RECIPIENT_UNKNOWN] = { "RECIPIENT_UNKNOWN", "No such user here" },
    [T_RELAY_DENIED]      = { "RELAY_DENIED", "Relaying denied" },
    [T_LOOKUP_FAILED]     = { "LOOKUP_FAILED", "Temporary lookup failure, try again later" },
};

/* --- verdicts ------------------------------------------------------------ */

static void verdict_clear(struct verdict *v)
{
    v->code = 0;
    v->text[0] = v->class[0] = v->entry[0] = 0;
    v->reason = 0;
}

/* "ESC TEXT" ("TEXT" when esc is ""), at most STATUSTEXT_MAX characters:
 * the proxy takes no more. */
static void set_refusal(struct verdict *v, int code, const char *esc, const char *text, size_t n,
                        const char *reason)
{
    size_t k = *esc ? strlen(esc) + 1 : 0;
    v->code = code;
    v->reason = reason;
    if (n > STATUSTEXT_MAX - k) n = STATUSTEXT_MAX - k;
    snprintf(v->text, sizeof v->text, "%s%s%.*s", esc, *esc ? " " : "", (int)n, text);
}

/* A text of a table entry or of RBLSMTPD may bring its own enhanced status
 * code, of the reply code's class. */
static void refuse(struct verdict *v, int code, const char *esc, const char *text, size_t n,
                   const char *reason)
{
    if (smtp_enhanced_code_length(text, n) && text[0] - '0' == code / 100) esc = "";
    set_refusal(v, code, esc, text, n, reason);
}

/* One of our texts: its enhanced status code is ours, whatever it says. */
static void refuse_with(struct verdict *v, int code, const char *esc, int t, const char *reason)
{
    const char *text = envcheck_texts[t].text;
    set_refusal(v, code, esc, text, strlen(text), reason);
}

static void lookup_failed(struct verdict *v)
{
    refuse_with(v, 451, "4.3.0", T_LOOKUP_FAILED, "lookup failed");
}

/* --- tables -------------------------------------------------------------- */

static int is(const char *value, const char *word)
{
    size_t k = strlen(word);
    return !strncmp(value, word, k) && (!value[k] || value[k] == ' ');
}

/* 1 found (value NUL terminated), 0 not, -1 a read error (logged). */
static int lookup(struct envcheck_table *t, const char *key, size_t n, char *value)
{
    int r = table_get(&t->t, key, n, value, VALUE_MAX + 1);
    if (r < 0) log_warn_sys("unable to read %s", t->path);
    return r;
}

static int bad_value(struct envcheck_table *t, const char *key)
{
    log_warn("bad value in %s for %s: not made by smtp-table?", t->path, key);
    return -1;
}

/* "deny [TEXT]": the refusal.  A text that is not printable ASCII (not
 * from smtp-table) is a bad value. */
static int deny(struct envcheck_table *t, const char *key, const char *value, struct verdict *v,
                int code, int deftext, const char *reason)
{
    const char *text = value + 4, *why;
    if (!*text) {
        refuse_with(v, code, "5.7.1", deftext, reason);
    } else {
        if (!statustext_valid(++text, &why)) return bad_value(t, key);
        refuse(v, code, "5.7.1", text, strlen(text), reason);
    }
    snprintf(v->entry, sizeof v->entry, "%s", key);
    return 0;
}

/* The prefix lengths a clients table has, from its own list. */
static int prefix_list(struct envcheck_table *t, const char *key, unsigned max,
                       unsigned char *out, unsigned *count, char *why, size_t size)
{
    char value[VALUE_MAX + 1], *p = value;
    unsigned long last = max + 1UL;
    *count = 0;
    if (table_get(&t->t, key, strlen(key), value, sizeof value) != 1) goto bad;
    while (*p) {
        char *end;
        unsigned long len = strtoul(p, &end, 10);
        if (end == p || *p < '0' || *p > '9' || len >= last || (*end && *end != ' ')) goto bad;
        out[(*count)++] = (unsigned char)len;
        last = len;
        p = *end ? end + 1 : end;
    }
    return 0;
bad:
    snprintf(why, size, "%s: no valid %s: not made by smtp-table?", t->path, key);
    return -1;
}

static int open_table(struct envcheck_table *t, const char *kind, char *why, size_t size)
{
    char value[VALUE_MAX + 1], want[32];
    int r;
    if (!t->path) return 0;
    if (table_open(&t->t, t->path) < 0) {
        snprintf(why, size, "unable to open %s: %s", t->path, strerror(errno));
        return -1;
    }
    snprintf(want, sizeof want, "%s 1", kind);
    r = table_get(&t->t, KIND_KEY, strlen(KIND_KEY), value, sizeof value);
    if (r < 0) snprintf(why, size, "unable to read %s: %s", t->path, strerror(errno));
    else if (r == 0 || strcmp(value, want)) {
        snprintf(why, size, "%s is not a %s table made by smtp-table%s%.20s%s", t->path, kind,
                 r ? " (it says: " : "", r ? value : "", r ? ")" : "");
        r = -1;
    }
    if (r < 0) table_close(&t->t);
    return r < 0 ? -1 : 0;
}

int envcheck_open(struct envcheck *ec, char *why, size_t size)
{
    if (open_table(&ec->clients, "clients", why, size) < 0 ||
        open_table(&ec->senders, "senders", why, size) < 0 ||
        open_table(&ec->recipients, "recipients", why, size) < 0 ||
        (ec->clients.path &&
         (prefix_list(&ec->clients, PREFIXES4_KEY, 32, ec->prefixes4, &ec->nprefixes4, why, size) < 0 ||
          prefix_list(&ec->clients, PREFIXES6_KEY, 128, ec->prefixes6, &ec->nprefixes6, why, size) < 0))) {
        envcheck_close(ec);
        return -1;
    }
    return 0;
}

unsigned envcheck_check(struct envcheck *ec)
{
    struct envcheck_table *t[3] = { &ec->clients, &ec->senders, &ec->recipients };
    static const char *const kind[3] = { "clients", "senders", "recipients" };
    char why[600];
    unsigned i, bad = 0;
    for (i = 0; i < 3; i++) {
        if (open_table(t[i], kind[i], why, sizeof why) < 0 ||
            (i == 0 && t[i]->path &&
             (prefix_list(t[i], PREFIXES4_KEY, 32, ec->prefixes4, &ec->nprefixes4, why, sizeof why) < 0 ||
              prefix_list(t[i], PREFIXES6_KEY, 128, ec->prefixes6, &ec->nprefixes6, why, sizeof why) < 0))) {
            checkmode_fatal(100, "%s", why);
            bad++;
        }
        table_close(&t[i]->t);
    }
    return bad;
}

void envcheck_close(struct envcheck *ec)
{
    table_close(&ec->clients.t);
    table_close(&ec->senders.t);
    table_close(&ec->recipients.t);
}

int envcheck_helo_checks(const char *list, unsigned *bits)
{
    const char *p = list;
    *bits = 0;
    if (!strcmp(list, "none")) return 0;
    while (*p) {
        size_t k = strcspn(p, ",");
        if (k == 6 && !strncmp(p, "syntax", 6)) *bits |= HELO_SYNTAX;
        else if (k == 4 && !strncmp(p, "fqdn", 4)) *bits |= HELO_FQDN;
        else if (k == 4 && !strncmp(p, "self", 4)) *bits |= HELO_SELF;
        else return -1;
        p += k;
        if (*p && !*++p) return -1;         /* a trailing comma */
    }
    return *bits ? 0 : -1;
}

/* --- connect: the client, decided now, refused at each RCPT ---------------- */

/* What every RCPT of this client gets. */
static void client_decided(struct envcheck *ec, const struct verdict *v)
{
    ec->client_code = v->code;
    memcpy(ec->client_text, v->text, sizeof ec->client_text);
    ec->client_reason = v->reason;
}

/* RBLSMTPD as rblsmtpd(1) takes it: a leading '-' makes the refusal
 * permanent; bytes outside printable ASCII become '?', as there. */
static void rblsmtpd(struct envcheck *ec, const char *rbl)
{
    struct verdict v;
    char text[STATUSTEXT_MAX + 1];
    size_t n = 0;
    int permanent = rbl[0] == '-';
    const char *p = rbl + permanent;
    for (; *p && n < STATUSTEXT_MAX; p++)
        text[n++] = (unsigned char)*p < 32 || (unsigned char)*p > 126 ? '?' : *p;
    if (!n) {
        refuse_with(&v, permanent ? 553 : 451, permanent ? "5.7.1" : "4.7.1", T_CLIENT_DENIED, "RBLSMTPD");
    } else {
        text[n] = 0;
        refuse(&v, permanent ? 553 : 451, permanent ? "5.7.1" : "4.7.1", text, n, "RBLSMTPD");
    }
    client_decided(ec, &v);
}

static void client_table(struct envcheck *ec, const char *ip)
{
    struct ipaddr a;
    struct verdict v;
    char value[VALUE_MAX + 1];
    const unsigned char *lengths;
    unsigned count, i;
    int r = 0;

    verdict_clear(&v);
    if (!ipaddr_parse(&a, ip, strlen(ip))) {
        log_warn("client address %s is not an IP address: refusing its recipients", ip);
        lookup_failed(&v);
        goto done;
    }
    lengths = a.bits == 32 ? ec->prefixes4 : ec->prefixes6;
    count = a.bits == 32 ? ec->nprefixes4 : ec->nprefixes6;
    for (i = 0; i < count; i++) {
        char key[IPADDR_KEY_MAX];
        size_t n = ipaddr_key(&a, lengths[i], key);
        r = lookup(&ec->clients, key, n, value);
        if (r < 0) break;
        if (!r) continue;
        if (is(value, "allow")) ;
        else if (is(value, "relay")) ec->relay = 1;
        else if (is(value, "deny")) r = deny(&ec->clients, key, value, &v, 554, T_CLIENT_DENIED, "client table");
        else r = bad_value(&ec->clients, key);
        snprintf(ec->client_entry, sizeof ec->client_entry, "%s", key);
        break;
    }
    if (r < 0) lookup_failed(&v);
done:
    client_decided(ec, &v);
}

void envcheck_connect(struct envcheck *ec, const char *ip, const char *localip, struct verdict *v)
{
    const char *rbl = getenv("RBLSMTPD");
    verdict_clear(v);
    ec->relay = 0;
    ec->client_code = 0;
    ec->client_text[0] = ec->client_entry[0] = 0;
    ec->client_reason = 0;
    snprintf(ec->ip, sizeof ec->ip, "%s", ip);
    ec->have_localip = ipaddr_parse(&ec->localip, localip, strlen(localip));
    /* Set and empty: the rules allow this client explicitly. */
    if (rbl && *rbl) rblsmtpd(ec, rbl);
    else if (!rbl && ec->clients.path) client_table(ec, ip);
    if (getenv("RELAYCLIENT")) ec->relay = 1;
}

/* --- HELO ------------------------------------------------------------------ */

/* A bare address or a last label of digits is no domain name. */
static int numeric_name(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && s[i - 1] != '.') i--;
    if (i == n) return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int names_equal(const char *a, size_t n, const char *b)
{
    size_t k = strlen(b);
    if (k && b[k - 1] == '.') k--;
    return n == k && !strncasecmp(a, b, n);
}

static int ours(struct envcheck *ec, const char *name, size_t n)
{
    struct ipaddr a;
    const char *host = getenv("TCPLOCALHOST");
    unsigned i;
    if (n && name[n - 1] == '.') n--;
    for (i = 0; i < ec->nnames; i++)
        if (names_equal(name, n, ec->names[i])) return 1;
    if (host && *host && names_equal(name, n, host)) return 1;
    if (!ipaddr_parse_literal(&a, name, n) && !ipaddr_parse(&a, name, n)) return 0;
    if (ec->have_localip && ipaddr_equal(&a, &ec->localip)) return 1;
    for (i = 0; i < ec->naddresses; i++)
        if (ipaddr_equal(&a, &ec->addresses[i])) return 1;
    return 0;
}

void envcheck_helo(struct envcheck *ec, const char *name, size_t n, struct verdict *v)
{
    int literal = n && name[0] == '[';
    verdict_clear(v);
    if ((ec->helo & HELO_SYNTAX) &&
        (!n || memchr(name, 0, n) || !smtp_domain_valid(name, n) || (!literal && numeric_name(name, n))))
        refuse_with(v, 501, "5.5.2", T_HELO_INVALID, "helo syntax");
    else if ((ec->helo & HELO_SELF) && n && ours(ec, name, n))
        refuse_with(v, 550, "5.7.1", T_HELO_SELF, "helo is us");
    else if ((ec->helo & HELO_FQDN) && !literal && !memchr(name, '.', n))
        refuse_with(v, 504, "5.5.2", T_HELO_NOT_FQDN, "helo not fqdn");
}

/* --- the sender -------------------------------------------------------------- */

static size_t lower_copy(char *out, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    out[n] = 0;
    return n;
}

/* Where the domain of an address starts (after its last '@'), or 0. */
static size_t domain_at(const char *a, size_t n)
{
    while (n > 0 && a[n - 1] != '@') n--;
    return n;
}

/* The sender table's keys, most specific first: the address, "@domain",
 * then ".parent" for each parent domain; "<>" for the null sender. */
void envcheck_mail(struct envcheck *ec, const char *sender, size_t n, struct verdict *v)
{
    char addr[SMTP_ADDRESS_MAX + 2], value[VALUE_MAX + 1];
    const char *key;
    size_t at;
    int r;

    verdict_clear(v);
    if (!ec->senders.path) return;
    if (n > SMTP_ADDRESS_MAX || memchr(sender, 0, n)) {
        refuse_with(v, 550, "5.7.1", T_SENDER_DENIED, "malformed sender");
        return;
    }
    if (!n) {
        r = lookup(&ec->senders, key = "<>", 2, value);
    } else {
        lower_copy(addr + 1, sender, n);
        at = domain_at(addr + 1, n);
        r = lookup(&ec->senders, key = addr + 1, n, value);
        if (!r && at) {
            addr[at] = '@';                     /* "@domain" */
            r = lookup(&ec->senders, key = addr + at, n + 1 - at, value);
        }
        if (!r && at && addr[at + 1] != '[') {
            key = addr + at + 1;
            while (!r && (key = strchr(key + 1, '.')))
                r = lookup(&ec->senders, key, strlen(key), value);
        }
    }
    if (r > 0 && is(value, "deny")) r = deny(&ec->senders, key, value, v, 550, T_SENDER_DENIED, "sender table");
    else if (r > 0 && !is(value, "allow")) r = bad_value(&ec->senders, key);
    if (r < 0) lookup_failed(v);
}

/* --- recipients ---------------------------------------------------------------- */

static int class_valid(const char *c)
{
    size_t n = strspn(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    return n && n <= FILTERPROTO_CLASS_MAX && !c[n];
}

/* "accept [CLASS]" */
static int accept(struct envcheck_table *t, const char *key, const char *value, struct verdict *v)
{
    if (!is(value, "accept")) return bad_value(t, key);
    if (value[6]) {
        if (!class_valid(value + 7)) return bad_value(t, key);
        strcpy(v->class, value + 7);
    }
    snprintf(v->entry, sizeof v->entry, "%s", key);
    return 0;
}

/* The recipient table's keys: the address, then "*@domain" (every address
 * there), then "@domain" (ours, but only the addresses listed). */
void envcheck_rcpt(struct envcheck *ec, const char *rcpt, size_t n, struct verdict *v)
{
    char addr[SMTP_ADDRESS_MAX + 3], value[VALUE_MAX + 1];
    const char *key;
    size_t at;
    int r;

    verdict_clear(v);
    if (ec->client_code) {
        v->code = ec->client_code;
        memcpy(v->text, ec->client_text, sizeof v->text);
        v->reason = ec->client_reason;
        snprintf(v->entry, sizeof v->entry, "%s", ec->client_entry);
        return;
    }
    if (!n || n > SMTP_ADDRESS_MAX || memchr(rcpt, 0, n)) {
        refuse_with(v, 554, "5.7.1", T_RELAY_DENIED, "malformed recipient");
        return;
    }
    at = domain_at(rcpt, n);
    /* A local part that routes on (user%host@ours, host!user@ours,
     * "user@host"@ours) is relaying through a smarthost that honours it
     * (Postfix does, by default): refused, unless the client may relay. */
    if (at && !ec->relay && (memchr(rcpt, '%', at - 1) || memchr(rcpt, '!', at - 1) ||
                             memchr(rcpt, '@', at - 1))) {
        refuse_with(v, 554, "5.7.1", T_RELAY_DENIED, "routed local part");
        return;
    }
    /* RFC 5321 4.5.1: "postmaster" alone is always taken; see below too. */
    if (!at && n == 10 && !strncasecmp(rcpt, "postmaster", 10)) return;
    if (at && ec->recipients.path) {
        /* addr + 2: the address; its '@' is at addr[at + 1]. */
        lower_copy(addr + 2, rcpt, n);
        r = lookup(&ec->recipients, key = addr + 2, n, value);
        if (!r) {
            addr[at] = '*';
            r = lookup(&ec->recipients, key = addr + at, n + 2 - at, value);
        }
        if (r > 0 && accept(&ec->recipients, key, value, v) == 0) return;
        if (r) goto failed;
        r = lookup(&ec->recipients, key = addr + at + 1, n + 1 - at, value);
        /* Ours: postmaster is taken there, listed or not (RFC 5321 4.5.1). */
        if (r > 0 && is(value, "domain") && at == 11 && !strncasecmp(rcpt, "postmaster@", 11)) return;
        if (r > 0 && is(value, "domain")) {
            refuse_with(v, 550, "5.1.1", T_RECIPIENT_UNKNOWN, "unknown recipient");
            snprintf(v->entry, sizeof v->entry, "%s", key);
            return;
        }
        if (r > 0) bad_value(&ec->recipients, key);
        if (r) goto failed;
    }
    if (!ec->relay) refuse_with(v, 554, "5.7.1", T_RELAY_DENIED, "relaying denied");
    return;
failed:
    lookup_failed(v);
}

int envcheck_answer(const struct verdict *v, char lines[2][STATUSTEXT_MAX + 64])
{
    int n = 0;
    if (v->class[0]) snprintf(lines[n++], sizeof lines[0], "class %s", v->class);
    if (!v->code) snprintf(lines[n++], sizeof lines[0], "continue");
    else snprintf(lines[n++], sizeof lines[0], "%s %d %s", v->code >= 500 ? "reject" : "tempfail",
                  v->code, v->text);
    return n;
}
