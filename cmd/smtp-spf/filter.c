/* smtp-spf: the filter: what each result does (-r), the Received-SPF
 * field, the refusal text, and the event loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "filterside.h"
#include "log.h"
#include "scan.h"
#include "spf.h"

struct statustext spf_texts[T_COUNT] = {
    [T_SPF_REJECTED] = { "SPF_REJECTED", "SPF %r: %i is not permitted to send mail for %d" },
    [T_SPF_TEMPFAIL] = { "SPF_TEMPFAIL", "SPF %r for %d, try again later" },
};

void spf_config_defaults(struct spf_config *c)
{
    int i;
    for (i = 0; i < SPF_RESULTS; i++) c->action[i].kind = ACTION_CONTINUE;
    c->action[SPF_FAIL].kind = ACTION_SCORE;
    c->action[SPF_FAIL].points = 5;
    c->action[SPF_SOFTFAIL].kind = ACTION_SCORE;
    c->action[SPF_SOFTFAIL].points = 1;
    c->timeout_ms = 20000;
    c->header = 1;
}

int spf_action_parse(struct spf_config *c, const char *s, char *why, size_t size)
{
    const char *eq = strchr(s, '='), *a;
    struct spf_action act = { ACTION_CONTINUE, 0 };
    int r;
    if (!eq || (r = spf_result_parse(s, (size_t)(eq - s))) < 0)
        return log_why(why, size, "-r %s: say RESULT=ACTION, RESULT one of pass fail softfail neutral"
                       " none temperror permerror", s);
    a = eq + 1;
    if (!strcmp(a, "continue")) act.kind = ACTION_CONTINUE;
    else if (!strcmp(a, "tempfail")) act.kind = ACTION_TEMPFAIL;
    else if (!strcmp(a, "reject")) act.kind = ACTION_REJECT;
    else if (!strncmp(a, "score:", 6) && scan_long(a + 6, 1000000, &act.points)) act.kind = ACTION_SCORE;
    else return log_why(why, size, "-r %s: the action is continue, score:N, tempfail or reject", s);
    /* A domain without SPF says nothing about the mail. */
    if (r == SPF_NONE && (act.kind == ACTION_REJECT || act.kind == ACTION_TEMPFAIL))
        return log_why(why, size, "-r %s: a sender without SPF is never refused", s);
    c->action[r] = act;
    return 0;
}

/* key=value with value a dot-atom, or a quoted-string (RFC 5322). */
static size_t kv(char *out, size_t size, const char *key, const char *value)
{
    size_t n = 0, i, len = strlen(value);
    int atom = len > 0 && value[0] != '.' && value[len - 1] != '.' && !strstr(value, "..");
    if (len > 256) len = 256;
    for (i = 0; i < len && atom; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.", value[i]))
            atom = 0;
    n += (size_t)snprintf(out + n, size - n, " %s=%s", key, atom ? "" : "\"");
    for (i = 0; i < len && n + 4 < size; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 32 || c > 126) c = '?';
        if (!atom && (c == '"' || c == '\\')) out[n++] = '\\';
        out[n++] = (char)c;
    }
    if (n + 3 < size) n += (size_t)snprintf(out + n, size - n, "%s;", atom ? "" : "\"");
    out[n < size ? n : size - 1] = 0;
    return n;
}

size_t spf_received(char *out, size_t size, enum spf_result r, const char *receiver,
                    const char *ip, const char *sender, const char *helo, int helo_identity,
                    const char *problem)
{
    char who[300];
    size_t n, i;
    snprintf(who, sizeof who, "%.256s", sender);
    /* the sender's text in a comment: no parentheses, no backslashes */
    for (i = 0; who[i]; i++)
        if (who[i] == '(' || who[i] == ')' || who[i] == '\\' || (unsigned char)who[i] < 32 ||
            (unsigned char)who[i] > 126)
            who[i] = '?';
    n = (size_t)snprintf(out, size, "%s (%s: ", spf_result_name(r), receiver);
    switch (r) {
    case SPF_PASS: n += (size_t)snprintf(out + n, size - n, "domain of %s designates %s as permitted sender", who, ip); break;
    case SPF_FAIL: n += (size_t)snprintf(out + n, size - n, "domain of %s does not designate %s as permitted sender", who, ip); break;
    case SPF_SOFTFAIL: n += (size_t)snprintf(out + n, size - n, "domain of transitioning %s does not designate %s as permitted sender", who, ip); break;
    case SPF_NEUTRAL: n += (size_t)snprintf(out + n, size - n, "%s is neither permitted nor denied by domain of %s", ip, who); break;
    case SPF_NONE: n += (size_t)snprintf(out + n, size - n, "domain of %s does not designate permitted sender hosts", who); break;
    case SPF_TEMPERROR: n += (size_t)snprintf(out + n, size - n, "error in processing during lookup of %s", who); break;
    default: n += (size_t)snprintf(out + n, size - n, "permanent error in processing domain of %s", who); break;
    }
    if (n + 2 < size) n += (size_t)snprintf(out + n, size - n, ")");
    if (n < size) n += kv(out + n, size - n, "client-ip", ip);
    if (n < size) n += kv(out + n, size - n, "envelope-from", sender);
    if (n < size && helo[0]) n += kv(out + n, size - n, "helo", helo);
    if (n < size && problem && problem[0]) n += kv(out + n, size - n, "problem", problem);
    if (n < size) n += (size_t)snprintf(out + n, size - n, " identity=%s;", helo_identity ? "helo" : "mailfrom");
    if (n < size) n += kv(out + n, size - n, "receiver", receiver);
    if (n >= size) n = size - 1;
    if (n && out[n - 1] == ';') out[--n] = 0;
    return n;
}

void spf_text(const char *pattern, const char *result, const char *ip, const char *domain,
              const char *explanation, char *out, size_t size)
{
    const char *const values[] = { result, ip, domain };
    size_t n;
    if (!size) return;
    n = statustext_expand(pattern, "rid", values, out, size);
    if (explanation && *explanation) {
        const char *e = explanation;
        if (n + 3 < size) {
            out[n++] = ':';
            out[n++] = ' ';
        }
        while (*e && n + 1 < size) out[n++] = *e++;
    }
    out[n] = 0;
}

/* Field i as a string; "" when absent or when it holds a NUL. */
static const char *field(const struct filter_request *r, unsigned i)
{
    if (i >= r->nfields || r->absent[i] || memchr(r->field[i], 0, r->len[i])) return "";
    return r->field[i];
}

struct connection {
    char ip[64];
    struct ipaddr addr;
    int have_addr;
    char helo[DNS_NAME_MAX + 1];
};

/* The answer to MAIL: the evaluation, its facts, header and verdict. */
static int mail(struct filter_side *fs, const struct spf_config *c, struct dns *dns,
                const struct connection *conn, const char *sender)
{
    static struct spf_eval e;
    char address[1100], domain[DNS_NAME_MAX + 2], value[1400], text[STATUSTEXT_MAX + 1];
    char line[STATUSTEXT_MAX + 64];
    const char *at = strrchr(sender, '@');
    int helo_identity = !*sender;
    enum spf_result r;
    const struct spf_action *act;

    if (!conn->have_addr) return filterside_say(fs, "continue");
    if (helo_identity) {
        snprintf(domain, sizeof domain, "%s", conn->helo);
        snprintf(address, sizeof address, "postmaster@%s", conn->helo);
    } else {
        snprintf(domain, sizeof domain, "%s", at ? at + 1 : "");
        if (!at || at == sender) snprintf(address, sizeof address, "postmaster@%s", at ? at + 1 : sender);
        else snprintf(address, sizeof address, "%s", sender);
    }
    memset(&e, 0, sizeof e);
    e.dns = dns;
    e.m.ip = conn->addr;
    e.m.sender = address;
    e.m.helo = conn->helo;
    e.m.receiver = c->receiver;
    e.m.now = (long long)time(NULL);
    e.deadline = deadline_in_ms(c->timeout_ms);
    r = spf_check_host(&e, domain);

    if (filterside_fact_set(fs, "spf", spf_result_name(r)) < 0 ||
        filterside_fact_set(fs, "spf.identity", helo_identity ? "helo" : "mailfrom") < 0 ||
        (domain[0] && filterside_fact_set(fs, "spf.domain", domain) < 0))
        return -1;
    if (c->header) {
        spf_received(value, sizeof value, r, c->receiver, conn->ip, helo_identity ? address : sender,
                     conn->helo, helo_identity, e.problem);
        if (filterside_header(fs, "Received-SPF", value, strlen(value)) < 0) return -1;
    }
    act = &c->action[r];
    if (act->kind == ACTION_REJECT || act->kind == ACTION_TEMPFAIL) {
        struct log_line l;
        int reject = act->kind == ACTION_REJECT;
        log_line_event(&l, reject ? "refused" : "tempfailed");
        log_kv_str(&l, "spf", spf_result_name(r));
        log_kv_str(&l, "ip", conn->ip);
        log_kv_str(&l, "domain", domain);
        if (e.problem[0]) log_kv_str(&l, "problem", e.problem);
        log_line_emit(&l);
        spf_text(spf_texts[reject ? T_SPF_REJECTED : T_SPF_TEMPFAIL].text, spf_result_name(r), conn->ip,
                 domain, r == SPF_FAIL ? e.explanation : NULL, text, sizeof text - 24);
        snprintf(line, sizeof line, "%s %s %s %s", reject ? "reject" : "tempfail", reject ? "550" : "451",
                 r == SPF_FAIL ? (reject ? "5.7.23" : "4.7.23") : r == SPF_PERMERROR ? (reject ? "5.7.24" : "4.7.24")
                 : r == SPF_TEMPERROR ? (reject ? "5.7.24" : "4.7.24") : (reject ? "5.7.1" : "4.7.1"),
                 text);
        return filterside_say(fs, line);
    }
    if (act->kind == ACTION_SCORE && act->points) {
        snprintf(line, sizeof line, "score %ld", act->points);
        if (filterside_say(fs, line) < 0) return -1;
    }
    return filterside_say(fs, "continue");
}

int spf_run(const struct spf_config *c, struct dns *dns, char *why, size_t size)
{
    static struct filter_side fs;
    static struct connection conn;
    struct filter_request req;
    unsigned events = 1u << FILTER_CONNECT | 1u << FILTER_HELO | 1u << FILTER_MAIL;
    int r, s = 0;
    const char *v;

    if (filterside_start_version(&fs, events, 2) < 0) {
        snprintf(why, size, "the proxy does not speak smtp-filter(7)");
        return 111;
    }
    while ((r = filterside_next(&fs, &req)) > 0) {
        switch (req.event) {
        case FILTER_CONNECT:
            v = field(&req, 0);
            snprintf(conn.ip, sizeof conn.ip, "%s", v);
            conn.have_addr = ipaddr_parse(&conn.addr, v, strlen(v));
            s = filterside_say(&fs, "continue");
            break;
        case FILTER_HELO:
            v = field(&req, 1);
            snprintf(conn.helo, sizeof conn.helo, "%s", strlen(v) <= DNS_NAME_MAX ? v : "");
            s = filterside_say(&fs, "continue");
            break;
        case FILTER_MAIL:
            s = mail(&fs, c, dns, &conn, field(&req, 0));
            break;
        default:
            s = filterside_say(&fs, "continue");
            break;
        }
        if (s < 0) break;
    }
    if (s < 0 || (filterside_flush(&fs) < 0 && r == 0)) {
        snprintf(why, size, "unable to answer the proxy: %s", strerror(errno));
        return 111;
    }
    if (r < 0) {
        snprintf(why, size, "a malformed event from the proxy");
        return 111;
    }
    return 0;
}
