/* smtp-spf: SPF records parsed and macros expanded (RFC 7208 4.6, 5,
 * 6, 7).  The text comes from DNS, so from anyone: every syntax error is
 * a permerror, and every expansion is bounded by its output buffer. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "spf.h"

static const char *const result_names[SPF_RESULTS] = {
    [SPF_NONE] = "none", [SPF_NEUTRAL] = "neutral", [SPF_PASS] = "pass", [SPF_FAIL] = "fail",
    [SPF_SOFTFAIL] = "softfail", [SPF_TEMPERROR] = "temperror", [SPF_PERMERROR] = "permerror",
};

const char *spf_result_name(enum spf_result r)
{
    return (unsigned)r < SPF_RESULTS ? result_names[r] : "?";
}

int spf_result_parse(const char *s, size_t n)
{
    int i;
    for (i = 0; i < SPF_RESULTS; i++)
        if (strlen(result_names[i]) == n && !strncasecmp(s, result_names[i], n)) return i;
    return -1;
}

int spf_is_record(const char *text, size_t n)
{
    return n >= 6 && !strncasecmp(text, "v=spf1", 6) && (n == 6 || text[6] == ' ');
}

/* --- macro-strings ----------------------------------------------------------- */

static int is_delimiter(char c) { return c && strchr(".-+,/_=", c) != NULL; }

/* One macro-expand at s[0] == '%': its length, or 0 if malformed.  In
 * *letter the macro letter (0 for %% %_ %-). */
static size_t macro_length(const char *s, size_t n, int exp, char *letter)
{
    size_t i;
    *letter = 0;
    if (n < 2) return 0;
    if (s[1] == '%' || s[1] == '_' || s[1] == '-') return 2;
    if (s[1] != '{' || n < 4) return 0;
    *letter = (char)tolower((unsigned char)s[2]);
    if (!strchr("slodiphv", *letter) || !*letter) {
        if (!exp || !strchr("crt", *letter) || !*letter) return 0;
    }
    i = 3;
    while (i < n && isdigit((unsigned char)s[i])) i++;
    if (i < n && (s[i] == 'r' || s[i] == 'R')) i++;
    while (i < n && is_delimiter(s[i])) i++;
    if (i >= n || s[i] != '}') return 0;
    return i + 1;
}

/* A macro-string: visible characters, '%' only in a macro-expand. */
static int macro_string_valid(const char *s, size_t n, int exp)
{
    size_t i = 0, k;
    char letter;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            k = macro_length(s + i, n - i, exp, &letter);
            if (!k) return 0;
            i += k;
        } else if (c < 0x21 || c > 0x7e) {
            if (!exp || c != ' ') return 0;     /* an explanation may have spaces */
            i++;
        } else {
            i++;
        }
    }
    return 1;
}

static int toplabel_valid(const char *s, size_t n)
{
    size_t i;
    int alpha = 0, hyphen = 0;
    if (!n || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1])) return 0;
    for (i = 0; i < n; i++) {
        if (isalpha((unsigned char)s[i])) alpha = 1;
        else if (s[i] == '-') hyphen = 1;
        else if (!isdigit((unsigned char)s[i])) return 0;
    }
    return alpha || hyphen;
}

int spf_domain_spec_valid(const char *s, size_t n)
{
    size_t i = 0, last_macro_end = 0, k, end, dot;
    char letter;
    if (!n || !macro_string_valid(s, n, 0)) return 0;
    /* Does it end with a macro-expand? */
    while (i < n) {
        if (s[i] == '%') {
            k = macro_length(s + i, n - i, 0, &letter);
            i += k;
            last_macro_end = i;
        } else {
            i++;
        }
    }
    if (last_macro_end == n) return 1;
    /* "." toplabel [ "." ] after the last macro */
    end = n;
    if (s[end - 1] == '.') end--;
    dot = end;
    while (dot > last_macro_end && s[dot - 1] != '.') dot--;
    if (dot == last_macro_end) return 0;        /* no dot after the last macro */
    return toplabel_valid(s + dot, end - dot);
}

/* --- records ---------------------------------------------------------------- */

static int name_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && !strncasecmp(s, name, n);
}

/* "/N" with N 0..max and no leading zero: 1, or 0. */
static int cidr(const char *s, size_t n, unsigned max, unsigned *out)
{
    unsigned v = 0;
    size_t i;
    if (n < 2 || n > 4 || s[0] != '/' || (s[1] == '0' && n > 2)) return 0;
    for (i = 1; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max) return 0;
    *out = v;
    return 1;
}

/* The digits at the end of s[0..n) after a '/': where the '/' is, or n. */
static size_t trailing_slash_number(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && isdigit((unsigned char)s[i - 1])) i--;
    if (i == n || i == 0 || s[i - 1] != '/') return n;
    return i - 1;
}

/* [ "/" ip4-cidr ] [ "//" ip6-cidr ] at the end of s[0..*n): shortens *n. */
static int dual_cidr(const char *s, size_t *n, struct spf_term *t)
{
    size_t at = trailing_slash_number(s, *n);
    if (at < *n && at > 0 && s[at - 1] == '/') {    /* "//N" */
        if (!cidr(s + at, *n - at, 128, &t->cidr6)) return 0;
        *n = at - 1;
        at = trailing_slash_number(s, *n);
    }
    if (at < *n) {
        if (at > 0 && s[at - 1] == '/') return 0;   /* "///N" */
        if (!cidr(s + at, *n - at, 32, &t->cidr4)) return 0;
        *n = at;
    }
    return 1;
}

static int mechanism(const char *s, size_t n, struct spf_term *t, char *why, size_t size)
{
    static const struct { const char *name; enum spf_mechanism m; } names[] = {
        { "all", SPF_ALL }, { "include", SPF_INCLUDE }, { "a", SPF_A }, { "mx", SPF_MX },
        { "ptr", SPF_PTR }, { "ip4", SPF_IP4 }, { "ip6", SPF_IP6 }, { "exists", SPF_EXISTS },
    };
    size_t k = 0, i, rest;
    const char *arg;
    memset(t, 0, sizeof *t);
    t->qualifier = SPF_PASS;
    t->cidr4 = 32;
    t->cidr6 = 128;
    switch (s[0]) {
    case '+': t->qualifier = SPF_PASS; s++; n--; break;
    case '-': t->qualifier = SPF_FAIL; s++; n--; break;
    case '~': t->qualifier = SPF_SOFTFAIL; s++; n--; break;
    case '?': t->qualifier = SPF_NEUTRAL; s++; n--; break;
    }
    while (k < n && s[k] != ':' && s[k] != '/') k++;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name_is(s, k, names[i].name)) break;
    if (i == sizeof names / sizeof names[0])
        return log_why(why, size, "unknown mechanism %.*s", (int)(k < 40 ? k : 40), s);
    t->mechanism = names[i].m;
    arg = s + k;
    rest = n - k;
    switch (t->mechanism) {
    case SPF_ALL:
        if (rest) return log_why(why, size, "all takes no argument");
        return 0;
    case SPF_INCLUDE:
    case SPF_EXISTS:
        if (rest < 2 || arg[0] != ':' || !spf_domain_spec_valid(arg + 1, rest - 1))
            return log_why(why, size, "%s needs a valid domain-spec", names[i].name);
        t->spec = arg + 1;
        t->spec_len = rest - 1;
        return 0;
    case SPF_A:
    case SPF_MX:
        if (!dual_cidr(arg, &rest, t)) return log_why(why, size, "bad prefix length in %s", names[i].name);
        if (rest == 0) return 0;
        if (arg[0] != ':' || !spf_domain_spec_valid(arg + 1, rest - 1))
            return log_why(why, size, "%s: not a valid domain-spec", names[i].name);
        t->spec = arg + 1;
        t->spec_len = rest - 1;
        return 0;
    case SPF_PTR:
        if (rest == 0) return 0;
        if (arg[0] != ':' || !spf_domain_spec_valid(arg + 1, rest - 1))
            return log_why(why, size, "ptr: not a valid domain-spec");
        t->spec = arg + 1;
        t->spec_len = rest - 1;
        return 0;
    case SPF_IP4:
    case SPF_IP6: {
        size_t at;
        unsigned max = t->mechanism == SPF_IP4 ? 32 : 128;
        if (rest < 2 || arg[0] != ':') return log_why(why, size, "%s needs an address", names[i].name);
        arg++;
        rest--;
        at = trailing_slash_number(arg, rest);
        if (at < rest) {
            if (!cidr(arg + at, rest - at, max, t->mechanism == SPF_IP4 ? &t->cidr4 : &t->cidr6))
                return log_why(why, size, "bad prefix length in %s", names[i].name);
            rest = at;
        }
        if (!ipaddr_parse(&t->network, arg, rest) ||
            (t->mechanism == SPF_IP4 && (t->network.bits != 32 || memchr(arg, ':', rest))) ||
            (t->mechanism == SPF_IP6 && !memchr(arg, ':', rest)))
            return log_why(why, size, "%s: not an address: %.*s", names[i].name, (int)(rest < 60 ? rest : 60), arg);
        if (t->mechanism == SPF_IP6 && t->network.bits == 32) {
            /* ::ffff:a.b.c.d/N: the IPv4 prefix it carries */
            t->cidr4 = t->cidr6 >= 96 ? t->cidr6 - 96 : 0;
            if (t->cidr6 < 96) {
                /* wider than the mapped range: it cannot match an IPv4
                 * client as such; keep it as a plain IPv6 network */
                memmove(t->network.byte + 12, t->network.byte, 4);
                memset(t->network.byte, 0, 10);
                t->network.byte[10] = t->network.byte[11] = 0xff;
                t->network.bits = 128;
            }
        }
        return 0;
    }
    }
    return log_why(why, size, "unknown mechanism");
}

/* name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static size_t modifier_name(const char *s, size_t n)
{
    size_t i;
    if (!n || !isalpha((unsigned char)s[0])) return 0;
    for (i = 1; i < n; i++) {
        if (s[i] == '=') return i;
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i])) return 0;
    }
    return 0;
}

int spf_parse(const char *text, size_t n, struct spf_record *r, char *why, size_t size)
{
    size_t i = 6, start, k;
    memset(r, 0, sizeof *r);
    if (!spf_is_record(text, n)) return log_why(why, size, "not an SPF record");
    while (i < n) {
        const char *t;
        size_t len;
        while (i < n && text[i] == ' ') i++;
        if (i == n) break;
        start = i;
        while (i < n && text[i] != ' ') i++;
        t = text + start;
        len = i - start;
        k = modifier_name(t, len);
        if (k) {
            const char *v = t + k + 1;
            size_t vn = len - k - 1;
            if (name_is(t, k, "redirect") || name_is(t, k, "exp")) {
                int redirect = name_is(t, k, "redirect");
                if (redirect ? r->redirect != NULL : r->exp != NULL)
                    return log_why(why, size, "%s= given twice", redirect ? "redirect" : "exp");
                if (!spf_domain_spec_valid(v, vn))
                    return log_why(why, size, "%s=: not a valid domain-spec", redirect ? "redirect" : "exp");
                if (redirect) {
                    r->redirect = v;
                    r->redirect_len = vn;
                } else {
                    r->exp = v;
                    r->exp_len = vn;
                }
            } else if (!macro_string_valid(v, vn, 0)) {
                return log_why(why, size, "a bad macro in modifier %.*s", (int)(k < 40 ? k : 40), t);
            }
            continue;
        }
        if (r->n == SPF_TERMS_MAX) return log_why(why, size, "more than %d terms", SPF_TERMS_MAX);
        for (k = 0; k < len; k++)
            if ((unsigned char)t[k] < 0x21 || (unsigned char)t[k] > 0x7e)
                return log_why(why, size, "a byte that is not visible ASCII");
        if (mechanism(t, len, &r->term[r->n], why, size) < 0) return -1;
        r->n++;
    }
    return 0;
}

/* --- macro expansion -------------------------------------------------------- */

struct out {
    char *buf;
    size_t len, size;
    int truncated;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->size) {
        n = o->size - o->len - 1;
        o->truncated = 1;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = 0;
}

/* RFC 3986 unreserved characters stay, the rest is %XX (uppercase macros). */
static void put_escaped(struct out *o, const char *s, size_t n)
{
    size_t i;
    char hex[4];
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || strchr("-._~", c)) {
            put(o, s + i, 1);
        } else {
            snprintf(hex, sizeof hex, "%%%02X", c);
            put(o, hex, 3);
        }
    }
}

static void ip_dotted(const struct ipaddr *a, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    unsigned i;
    if (a->bits == 32) {
        snprintf(out, size, "%u.%u.%u.%u", a->byte[0], a->byte[1], a->byte[2], a->byte[3]);
        return;
    }
    for (i = 0; i < 16 && n + 4 < size; i++) {
        out[n++] = hex[a->byte[i] >> 4];
        out[n++] = '.';
        out[n++] = hex[a->byte[i] & 15];
        if (i < 15) out[n++] = '.';
    }
    out[n] = 0;
}

/* RFC 5952 text of an IPv6 address (for %{c}). */
static void ip_text(const struct ipaddr *a, char *out, size_t size)
{
    unsigned g[8], i, best = 8, bestlen = 0, run = 0;
    size_t n = 0;
    if (a->bits == 32) {
        snprintf(out, size, "%u.%u.%u.%u", a->byte[0], a->byte[1], a->byte[2], a->byte[3]);
        return;
    }
    for (i = 0; i < 8; i++) g[i] = (unsigned)a->byte[2 * i] << 8 | a->byte[2 * i + 1];
    for (i = 0; i <= 8; i++) {
        if (i < 8 && g[i] == 0) {
            run++;
        } else {
            if (run > bestlen && run >= 2) {
                bestlen = run;
                best = i - run;
            }
            run = 0;
        }
    }
    out[0] = 0;
    for (i = 0; i < 8 && n + 6 < size; i++) {
        if (i == best) {
            n += (size_t)snprintf(out + n, size - n, "::");
            i += bestlen - 1;
            continue;
        }
        n += (size_t)snprintf(out + n, size - n, "%s%x", n && out[n - 1] != ':' ? ":" : "", g[i]);
    }
}

/* The value of one macro letter. */
static void macro_value(const struct spf_macros *m, const char *domain, char letter, char *v, size_t size)
{
    const char *at;
    v[0] = 0;
    switch (letter) {
    case 's': snprintf(v, size, "%s", m->sender); break;
    case 'l':
        at = strrchr(m->sender, '@');
        snprintf(v, size, "%.*s", at ? (int)(at - m->sender) : 0, m->sender);
        break;
    case 'o':
        at = strrchr(m->sender, '@');
        snprintf(v, size, "%s", at ? at + 1 : m->sender);
        break;
    case 'd': snprintf(v, size, "%s", domain); break;
    case 'i': ip_dotted(&m->ip, v, size); break;
    case 'c': ip_text(&m->ip, v, size); break;
    case 'p': snprintf(v, size, "%s", m->p ? m->p(m->arg, domain) : "unknown"); break;
    case 'v': snprintf(v, size, "%s", m->ip.bits == 32 ? "in-addr" : "ip6"); break;
    case 'h': snprintf(v, size, "%s", m->helo); break;
    case 'r': snprintf(v, size, "%s", m->receiver && *m->receiver ? m->receiver : "unknown"); break;
    case 't': snprintf(v, size, "%lld", m->now); break;
    }
}

int spf_expand(const struct spf_macros *m, const char *domain, const char *s, size_t n, int exp,
               char *outbuf, size_t size, int *truncated)
{
    struct out o = { outbuf, 0, size, 0 };
    size_t i = 0;
    if (!size) return -1;
    outbuf[0] = 0;
    if (!macro_string_valid(s, n, exp)) return -1;
    while (i < n) {
        char letter, value[1100], delims[8];
        const char *part[256];
        size_t plen[256], k, len, j, nd = 0;
        unsigned long digits = 0;
        int reverse = 0, have_digits = 0, upper;
        unsigned nparts = 0, first, x;
        if (s[i] != '%') {
            put(&o, s + i, 1);
            i++;
            continue;
        }
        len = macro_length(s + i, n - i, exp, &letter);
        if (s[i + 1] == '%') put(&o, "%", 1);
        else if (s[i + 1] == '_') put(&o, " ", 1);
        else if (s[i + 1] == '-') put(&o, "%20", 3);
        if (!letter) {
            i += 2;
            continue;
        }
        upper = isupper((unsigned char)s[i + 2]);
        k = i + 3;
        while (isdigit((unsigned char)s[k])) {
            have_digits = 1;
            if (digits < 1000) digits = digits * 10 + (unsigned long)(s[k] - '0');
            k++;
        }
        if (have_digits && digits == 0) return -1;   /* RFC 7208 7.3: nonzero */
        if (s[k] == 'r' || s[k] == 'R') {
            reverse = 1;
            k++;
        }
        while (s[k] != '}' && nd < sizeof delims - 1) delims[nd++] = s[k++];
        while (s[k] != '}') k++;                     /* repeated delimiters */
        delims[nd] = 0;
        if (!nd) {
            delims[0] = '.';
            delims[1] = 0;
        }
        i += len;
        macro_value(m, domain, letter, value, sizeof value);
        /* split on the delimiters */
        j = 0;
        part[0] = value;
        for (k = 0;; k++) {
            if (!value[k] || strchr(delims, value[k])) {
                if (nparts < 256) {
                    part[nparts] = value + j;
                    plen[nparts++] = k - j;
                }
                if (!value[k]) break;
                j = k + 1;
            }
        }
        if (reverse)
            for (x = 0; x < nparts / 2; x++) {
                const char *tp = part[x];
                size_t tl = plen[x];
                part[x] = part[nparts - 1 - x];
                plen[x] = plen[nparts - 1 - x];
                part[nparts - 1 - x] = tp;
                plen[nparts - 1 - x] = tl;
            }
        first = have_digits && digits < nparts ? nparts - (unsigned)digits : 0;
        for (x = first; x < nparts; x++) {
            if (x > first) put(&o, ".", 1);
            if (upper) put_escaped(&o, part[x], plen[x]);
            else put(&o, part[x], plen[x]);
        }
    }
    if (truncated) *truncated = o.truncated;
    return 0;
}

int spf_expand_domain(const struct spf_macros *m, const char *domain, const char *s, size_t n,
                      char *out, size_t size)
{
    char buf[2048];
    const char *p;
    size_t len;
    int truncated = 0;
    if (spf_expand(m, domain, s, n, 0, buf, sizeof buf, &truncated) < 0) return -1;
    len = strlen(buf);
    if (len && buf[len - 1] == '.') buf[--len] = 0;
    p = buf;
    while (len > DNS_NAME_MAX) {        /* 4.8: drop labels from the left */
        const char *dot = strchr(p, '.');
        if (!dot) break;
        len -= (size_t)(dot + 1 - p);
        p = dot + 1;
    }
    if (len >= size) return -1;
    memcpy(out, p, len + 1);
    return 0;
}

int spf_domain_valid(const char *d)
{
    size_t i, label = 0, labels = 1, n = strlen(d);
    if (n && d[n - 1] == '.') n--;
    if (n == 0 || n > DNS_NAME_MAX || d[0] == '[') return 0;     /* an address literal */
    for (i = 0; i < n; i++) {
        if (d[i] == '.') {
            if (!label) return 0;
            label = 0;
            labels++;
        } else if (++label > 63) {
            return 0;
        }
    }
    return label > 0 && labels >= 2;
}
