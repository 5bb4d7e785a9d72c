#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "transaction.h"

struct transaction tx;
static struct rcpt *rcpts;
static unsigned capacity, max_client;

int transaction_init(unsigned max_rcpt)
{
    max_client = max_rcpt;
    static struct rcpt room[RCPT_MAX_DEFAULT + 16 + RCPT_ADDED_MAX];
    capacity = max_rcpt + 16 + RCPT_ADDED_MAX;
    /* Not zeroed: an entry is written before it is read, and untouched
     * pages cost no page fault.  Room for -r's default is static (no
     * mapping made and unmade per connection); more is allocated. */
    rcpts = capacity <= sizeof room / sizeof *room ? room : malloc(capacity * sizeof *rcpts);
    return rcpts ? 0 : -1;
}

void transaction_clear(void)
{
    /* All but the text of the smarthost's refusal (16 KB) and the
     * buffers of the filters' header fields and facts (17 KB), the last
     * two members, of which only what their length and count cover is
     * ever read: pages a transaction does not use stay untouched. */
    memset(&tx, 0, offsetof(struct transaction, upstream_refusal));
    tx.upstream_refusal.code = 0;
    tx.upstream_refusal.lines = 0;
    tx.upstream_refusal.len = 0;
    tx.upstream_refusal.text[0] = 0;
    tx.tx_mods.score = 0;
    tx.tx_mods.headers.len = 0;
    tx.tx_mods.facts.n = 0;
}

unsigned transaction_capacity(void)
{
    return capacity;
}

struct rcpt *transaction_rcpt(unsigned i)
{
    return i < tx.nrcpts ? &rcpts[i] : 0;
}

/* Every recipient the smarthost accepted is kept (filters at eom learn
 * them all); a refused one only while that leaves room for the rest. */
void transaction_record_params(const char *addr, const char *params, int code)
{
    struct rcpt *r;
    int accepted = code / 100 == 2;
    unsigned room = accepted || tx.accepted >= max_client ? 0 : max_client - tx.accepted;
    if (tx.nrcpts + room >= capacity - RCPT_ADDED_MAX) {
        tx.rcpt_lost++;
        return;
    }
    r = &rcpts[tx.nrcpts++];
    snprintf(r->addr, sizeof r->addr, "%s", addr);
    r->code = code;
    r->state = accepted ? RCPT_ACCEPTED : RCPT_REFUSED;
    snprintf(r->params, sizeof r->params, "%s", params);
}

int rcpt_live(const struct rcpt *r)
{
    return r->state == RCPT_ACCEPTED || r->state == RCPT_ADDED;
}

struct rcpt *transaction_find(const char *addr)
{
    unsigned i;
    for (i = 0; i < tx.nrcpts; i++)
        if (rcpt_live(&rcpts[i]) && !strcmp(rcpts[i].addr, addr)) return &rcpts[i];
    return 0;
}

/* SIZE and BODY only, in buf, or NULL. */
static const char *transaction_params(char buf[64])
{
    int n = 0;
    if (tx.size_param[0]) n = snprintf(buf, 64, "SIZE=%s", tx.size_param);
    if (tx.body_param[0]) snprintf(buf + n, 64 - (size_t)n, "%sBODY=%s", n ? " " : "", tx.body_param);
    return n || tx.body_param[0] ? buf : 0;
}

const char *transaction_params_all(char buf[TX_PARAMS_MAX])
{
    char some[64];
    const char *p = transaction_params(some);
    snprintf(buf, TX_PARAMS_MAX, "%s%s%s", p ? p : "", p && tx.mail_params[0] ? " " : "",
             tx.mail_params);
    return buf[0] ? buf : 0;
}

int transaction_param_append(char *buf, size_t size, const struct smtp_param *p)
{
    size_t len = strlen(buf);
    int k = snprintf(buf + len, size - len, "%s%s%s%s", len ? " " : "", p->key,
                     p->value[0] ? "=" : "", p->value);
    if (k < 0 || (size_t)k >= size - len) {
        buf[len] = 0;
        return -1;
    }
    return 0;
}

void transaction_rcpt_params(const char *p, size_t n, char out[TX_RCPT_PARAMS_MAX])
{
    struct smtp_param prm;
    const char *end = p + n;
    unsigned seen = 0;
    int valid;
    out[0] = 0;
    while (smtp_param_next(&p, end, &prm) > 0) {
        enum smtp_param_kind k = smtp_param_kind(&prm, 1, &valid);
        if (k == SMTP_PARAM_UNKNOWN || !valid || seen & (1u << k) ||
            transaction_param_append(out, TX_RCPT_PARAMS_MAX, &prm) < 0)
            log_warn("added recipient: parameter %s left out: %s", prm.key,
                     k == SMTP_PARAM_UNKNOWN ? "not relayed" : "bad syntax");
        seen |= 1u << k;
    }
}

/* Those the forwarder relays (SIZE, BODY, SMTPUTF8, RET, ENVID) are
 * kept, any other is left out with a warning, as Postfix does with the
 * parameters of a milter's sender change it cannot honour. */
void transaction_set_params(const char *p, size_t n)
{
    struct smtp_param prm;
    const char *end = p + n;
    unsigned seen = 0;
    int valid;
    tx.size_param[0] = tx.body_param[0] = tx.mail_params[0] = 0;
    tx.smtputf8 = 0;
    while (smtp_param_next(&p, end, &prm) > 0) {
        enum smtp_param_kind k = smtp_param_kind(&prm, 0, &valid);
        int ok = valid && !(seen & (1u << k));
        seen |= 1u << k;
        if (ok && k == SMTP_PARAM_SIZE && strlen(prm.value) < sizeof tx.size_param)
            strcpy(tx.size_param, prm.value);
        else if (ok && k == SMTP_PARAM_BODY && strcasecmp(prm.value, "BINARYMIME"))
            strcpy(tx.body_param, prm.value);
        else if (ok && ((k == SMTP_PARAM_SMTPUTF8 && tx.offered & EHLO_SMTPUTF8) ||
                        ((k == SMTP_PARAM_RET || k == SMTP_PARAM_ENVID) && tx.offered & EHLO_DSN)) &&
                 transaction_param_append(tx.mail_params, sizeof tx.mail_params, &prm) == 0)
            tx.smtputf8 |= k == SMTP_PARAM_SMTPUTF8;
        else
            log_warn("sender change: parameter %s left out: %s", prm.key,
                     !ok && k != SMTP_PARAM_UNKNOWN ? "bad syntax" :
                     k == SMTP_PARAM_SMTPUTF8 || k == SMTP_PARAM_RET || k == SMTP_PARAM_ENVID ?
                     "the smarthost does not offer it" : "not relayed");
    }
}

void transaction_change_envelope(const struct changes *c)
{
    unsigned i;
    for (i = 0; i < c->n; i++) {
        const struct change *ch = &c->c[i];
        const char *name = c->arena + ch->name, *value = c->arena + ch->value;
        struct rcpt *rc;
        switch (ch->kind) {
        case FILTER_ADD_RECIPIENT:
            if (transaction_find(name) || tx.nrcpts == capacity) break;    /* there already */
            rc = &rcpts[tx.nrcpts++];
            snprintf(rc->addr, sizeof rc->addr, "%s", name);
            rc->code = 0;
            rc->state = RCPT_ADDED;
            rc->params[0] = 0;
            if (!ch->absent && ch->valuelen && !(tx.offered & EHLO_DSN))
                log_warn("added recipient <%s>: parameters left out: the smarthost does not offer DSN", name);
            else if (!ch->absent)
                transaction_rcpt_params(value, ch->valuelen, rc->params);
            tx.added++;
            break;
        case FILTER_DELETE_RECIPIENT:
            if (!(rc = transaction_find(name))) {
                log_warn("a filter deleted <%s>, which is not a recipient", name);
                break;
            }
            if (rc->state == RCPT_ACCEPTED) tx.deleted++;
            else tx.added--;
            rc->state = RCPT_DELETED;
            break;
        case FILTER_CHANGE_SENDER:
            snprintf(tx.sender, sizeof tx.sender, "%s", name);
            /* No parameters given: those of the client's MAIL stay. */
            if (!ch->absent) transaction_set_params(value, ch->valuelen);
            tx.sender_changed = 1;
            break;
        case FILTER_QUARANTINE:
            tx.quarantine = 1;
            snprintf(tx.quarantine_reason, sizeof tx.quarantine_reason, "%s", value);
            if (facts_set(&tx.tx_mods.facts, "quarantine", value) < 0)
                log_warn("no room for the fact quarantine: the log line will not show it");
            break;
        default:
            break;
        }
    }
}

unsigned transaction_replay(void (*send)(const char *line, void *arg), void *arg,
                            const char *quarantine)
{
    char line[SMTP_ADDRESS_MAX + TX_PARAMS_MAX + TX_RCPT_PARAMS_MAX + 16], params[TX_PARAMS_MAX];
    const char *p;
    unsigned i, sent = 0;
    /* A recipient less, a new sender or a quarantine: SMTP has no way but
     * to start the envelope again.  Recipients added: one more RCPT. */
    int replay = tx.sender_changed || tx.deleted || tx.quarantine;
    if (!replay && !tx.added) return 0;
    if (replay) {
        send("RSET", arg);
        p = transaction_params_all(params);
        snprintf(line, sizeof line, "MAIL FROM:<%s>%s%s", tx.sender, p ? " " : "", p ? p : "");
        send(line, arg);
        sent += 2;
    }
    if (tx.quarantine) {
        snprintf(line, sizeof line, "RCPT TO:<%s>", quarantine);
        send(line, arg);
        return sent + 1;
    }
    for (i = 0; i < tx.nrcpts; i++) {
        if (!rcpt_live(&rcpts[i]) || (!replay && rcpts[i].state != RCPT_ADDED)) continue;
        snprintf(line, sizeof line, "RCPT TO:<%s>%s%s", rcpts[i].addr,
                 rcpts[i].params[0] ? " " : "", rcpts[i].params);
        send(line, arg);
        sent++;
    }
    return sent;
}
