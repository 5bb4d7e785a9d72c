/* smtp-milter's reading of a milter's replies (cmd/smtp-milter/proto.c):
 * the negotiation reply, a final reply to an event (REPLYCODE above all),
 * and every change at the end of a message.  What is taken must be what
 * the proxy takes: the verdict line, and each change as the modifier line
 * smtp-milter sends (filterproto_parse_line).  Also the header fields as
 * they would go to the milter, and CRLF in a replaced body.
 * Input: packets, each a command byte, a length byte, the payload; the
 * first one is also read as a negotiation reply. */
#include <string.h>

#include "filterproto.h"
#include "fuzz.h"
#include "header.h"
#include "milter.h"

/* "WORD 42 REST" for a verdict, "WORD REST" for a modifier: the proxy
 * must take it as that kind. */
static void proxy_takes(const char *word, const char *rest, size_t n, int verdict,
                        enum filter_kind kind)
{
    char line[FILTERPROTO_LINE_MAX + 64];
    struct filter_line fl;
    int k = snprintf(line, sizeof line, "%s%s", word, verdict ? " 42" : "");
    size_t len;
    FUZZ_ASSERT(k > 0);
    len = (size_t)k;
    if (rest) {
        FUZZ_ASSERT(len + 1 + n < sizeof line);
        line[len++] = ' ';
        memcpy(line + len, rest, n);
        len += n;
    }
    FUZZ_ASSERT(filterproto_parse_line(line, len, &fl) == 0);
    FUZZ_ASSERT(fl.kind == kind);
}

static void verdict(const struct milter_verdict *v)
{
    char rest[FILTERPROTO_TEXT_MAX + 8];
    int n;
    if (v->kind != REPLY_REJECT && v->kind != REPLY_TEMPFAIL && v->kind != REPLY_SHUTDOWN) return;
    FUZZ_ASSERT(strlen(v->text) <= FILTERPROTO_TEXT_MAX);
    n = snprintf(rest, sizeof rest, "%d %s", v->code, v->text);
    FUZZ_ASSERT(n > 0 && (size_t)n < sizeof rest);
    if (v->kind == REPLY_REJECT) {
        FUZZ_ASSERT(v->code >= 500 && v->code <= 599);
        proxy_takes("reject", rest, (size_t)n, 1, FILTER_REJECT);
    } else {
        FUZZ_ASSERT(v->code >= 400 && v->code <= 499);
        proxy_takes("tempfail", rest, (size_t)n, 1, FILTER_TEMPFAIL);
    }
}

/* The modifier line as filterside writes it: fields in xtext. */
static void change(const struct milter_edit *e)
{
    char rest[FILTERPROTO_LINE_MAX];
    size_t len = 0;
    int n;
    switch (e->kind) {
    case 'h':
    case 'i':
    case 'm':
        FUZZ_ASSERT(header_name_valid(e->name, strlen(e->name)));
        if (!e->delete_field) FUZZ_ASSERT(header_value_valid(e->value, e->valuelen));
        n = snprintf(rest, sizeof rest, "%lu %s", e->kind == 'h' ? 100000UL : e->index, e->name);
        FUZZ_ASSERT(n > 0);
        len = (size_t)n;
        if (filterproto_field(rest, sizeof rest, &len, e->delete_field ? 0 : e->value, e->valuelen) < 0)
            return;                     /* too long a line: smtp-milter would fail, not send it */
        proxy_takes(e->kind == 'i' ? "insert-header" : "change-header", rest, len, 0,
                    e->kind == 'i' ? FILTER_INSERT_HEADER : FILTER_CHANGE_HEADER);
        break;
    case '+':
    case '2':
    case 'e':
        FUZZ_ASSERT(filterproto_field(rest, sizeof rest, &len, e->addr[0] || e->kind != 'e' ? e->addr : 0,
                                      strlen(e->addr)) == 0);
        FUZZ_ASSERT(filterproto_field(rest, sizeof rest, &len, e->params[0] ? e->params : 0,
                                      strlen(e->params)) == 0);
        proxy_takes(e->kind == 'e' ? "change-sender" : "add-recipient", rest + 1, len - 1, 0,
                    e->kind == 'e' ? FILTER_CHANGE_SENDER : FILTER_ADD_RECIPIENT);
        break;
    case '-':
        FUZZ_ASSERT(filterproto_field(rest, sizeof rest, &len, e->addr, strlen(e->addr)) == 0);
        proxy_takes("delete-recipient", rest + 1, len - 1, 0, FILTER_DELETE_RECIPIENT);
        break;
    case 'q':
        FUZZ_ASSERT(filterproto_field(rest, sizeof rest, &len, e->value, e->valuelen) == 0);
        proxy_takes("quarantine", rest + 1, len - 1, 0, FILTER_QUARANTINE);
        break;
    }
}

static void as_header(const char *p, size_t n)
{
    static char out[MILTER_CHUNK + 2];
    size_t fields, body, k, i;
    int complete;
    body = milter_header_end(p, n, &fields, &complete);
    FUZZ_ASSERT(fields <= body && body <= n);
    k = milter_header_payload(p, n, (int)(n & 1), out, sizeof out);
    if (k) {
        FUZZ_ASSERT(k <= sizeof out && out[k - 1] == 0);
        FUZZ_ASSERT(strlen(out) > 0 && strlen(out) < k);
        for (i = 0; i < k; i++) FUZZ_ASSERT(out[i] != '\r' || (i + 1 < k && out[i + 1] != '\n'));
    }
}

static void crlf(const char *p, size_t n)
{
    static char out[2 * 256 + 1];
    size_t k, i;
    int cr = 0;
    k = milter_body_crlf(p, n, &cr, out);
    FUZZ_ASSERT(k <= 2 * n);
    for (i = 0; i < k; i++) {
        if (out[i] == '\n') FUZZ_ASSERT(i > 0 && out[i - 1] == '\r');
        if (out[i] == '\r' && i + 1 < k) FUZZ_ASSERT(out[i + 1] == '\n');
    }
    FUZZ_ASSERT(cr == (k > 0 && out[k - 1] == '\r'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    struct milter_negotiation neg;
    struct milter_verdict v;
    struct milter_edit e;
    char why[300];
    int first = 1;
    while (in.n) {
        int c = (int)fuzz_byte(&in);
        size_t n = fuzz_byte(&in), r;
        const unsigned char *p = in.p;
        if (n > in.n) n = in.n;
        in.p += n;
        in.n -= n;
        if (first) {
            if (milter_negotiation_parse(p, n, &neg, why, sizeof why) == 0) {
                FUZZ_ASSERT(!(neg.actions & ~(unsigned long)SMFIF_ALL));
                FUZZ_ASSERT(!(neg.protocol & ~(unsigned long)SMFIP_ALL));
                FUZZ_ASSERT(neg.version >= 2 && neg.version <= MILTER_VERSION);
            }
            as_header((const char *)p, n);
            crlf((const char *)p, n);
            first = 0;
        }
        switch (milter_reply_parse(c, p, n, &v, why, sizeof why)) {
        case 1: verdict(&v); break;
        case 0: FUZZ_ASSERT(c == 'p' && n == 0); break;
        default: break;
        }
        r = (size_t)milter_edit_parse(c, p, n, (int)(c & 1), &e, why, sizeof why);
        if (r == 1) change(&e);
    }
    return 0;
}
