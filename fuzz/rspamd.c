/* smtp-rspamd's reading of rspamd's reply (cmd/smtp-rspamd: the HTTP
 * framing, then the JSON mapped to modifiers and a verdict), as
 * exchange.c feeds it: the reply grows piece by piece until the framing
 * says it is complete or malformed, then EOF.  Invariants: the framing
 * gives the same result in pieces as in one piece; every modifier and the
 * verdict of an answer is a valid version 2 line at eom once on the wire
 * (what the proxy would otherwise refuse as a failed filter), with the
 * values it was given; an answer that failed has no modifiers.
 * Input: a byte for the options and the seed, a byte n, n bytes of the
 * message's header (its fields are counted for the header changes), then
 * the reply. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "filterproto.h"
#include "fuzz.h"
#include "header.h"
#include "rspamd.h"

static int msgfd = -1;
static struct rspamd_answer answer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    msgfd = open(fuzz_scratch_file("message"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    FUZZ_ASSERT(msgfd >= 0);
    return 0;
}

static unsigned long count(void *ctx, const char *name)
{
    return rspamd_count_fields(*(int *)ctx, 0, name);
}

/* The framing of buf[0..n-1] fed as exchange.c feeds it: returns the
 * framing's last result and the body it found. */
static int frame(const char *buf, size_t n, uint32_t *seed, const char **body, size_t *bodylen)
{
    char why[300];
    size_t have = 0;
    for (;;) {
        int eof = have == n, r = rspamd_http_reply(buf, have, eof, body, bodylen, why, sizeof why);
        if (r) return r;
        FUZZ_ASSERT(!eof);
        have += seed ? fuzz_chunk(seed, n - have) : n - have;
    }
}

/* The answer's lines as they go on the wire, each parsed as the proxy
 * parses it. */
static void check_lines(const struct rspamd_answer *a)
{
    struct filter_line fl;
    char line[FILTERPROTO_LINE_MAX];
    size_t len, w;
    unsigned i;
    FUZZ_ASSERT(a->nops <= RSPAMD_OPS_MAX && a->nops <= FILTERPROTO_MODIFIERS_V2);
    for (i = 0; i < a->nops; i++) {
        const struct rspamd_op *op = &a->op[i];
        enum filter_kind want = FILTER_FACT;
        int k = 0;
        switch (op->kind) {
        case OP_FACT: k = snprintf(line, sizeof line, "fact %s", op->name); break;
        case OP_SCORE: k = snprintf(line, sizeof line, "score %ld", op->points); want = FILTER_SCORE; break;
        case OP_INSERT:
            k = snprintf(line, sizeof line, "insert-header %lu %s", op->index, op->name);
            want = FILTER_INSERT_HEADER;
            break;
        case OP_CHANGE:
            k = snprintf(line, sizeof line, "change-header %lu %s", op->index, op->name);
            want = FILTER_CHANGE_HEADER;
            break;
        case OP_QUARANTINE: k = snprintf(line, sizeof line, "quarantine"); want = FILTER_QUARANTINE; break;
        }
        FUZZ_ASSERT(k > 0 && (size_t)k < sizeof line);
        len = (size_t)k;
        if (op->kind != OP_SCORE)
            FUZZ_ASSERT(filterproto_field(line, sizeof line, &len, op->value, op->len) == 0);
        FUZZ_ASSERT(filterproto_parse_line(line, len, &fl) == 0);
        FUZZ_ASSERT(fl.kind == want);
        FUZZ_ASSERT(filterproto_kind_allowed(fl.kind, 2, FILTER_EOM));
        if (op->kind == OP_INSERT || (op->kind == OP_CHANGE && op->value)) {
            FUZZ_ASSERT(header_name_valid(op->name, strlen(op->name)));
            FUZZ_ASSERT(fl.valuelen == op->len && !memcmp(fl.value, op->value, op->len));
        }
        if (op->kind == OP_CHANGE && !op->value) FUZZ_ASSERT(fl.value_absent);
    }
    /* the verdict, with the token filterside puts after its first word */
    w = strcspn(a->verdict, " ");
    len = (size_t)snprintf(line, sizeof line, "%.*s 1%s", (int)w, a->verdict, a->verdict + w);
    FUZZ_ASSERT(filterproto_parse_line(line, len, &fl) == 0);
    FUZZ_ASSERT(filterproto_is_verdict(fl.kind) && fl.kind != FILTER_ACCEPT);
    if (fl.kind == FILTER_REJECT) FUZZ_ASSERT(fl.code == 554);
    if (fl.kind == FILTER_TEMPFAIL) FUZZ_ASSERT(fl.code == 451);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    struct rspamd_config cfg = {
        .timeout = 20, .spam_header = "X-Spam", .reject_text = "Spam message rejected",
        .tempfail_text = "Try again later",
    };
    struct rspamd_headers h = { count, &msgfd };
    unsigned opts = fuzz_byte(&in), n = fuzz_byte(&in);
    uint32_t seed = opts * 2654435761u + 1;
    const char *body1, *body2;
    size_t len1, len2;
    char *reply, why[300];
    int r1, r2;
    if (n > in.n) n = (unsigned)in.n;
    FUZZ_ASSERT(ftruncate(msgfd, 0) == 0);
    FUZZ_ASSERT(pwrite(msgfd, in.p, n, 0) == (ssize_t)n);
    in.p += n;
    in.n -= n;
    cfg.greylist_continue = opts & 1;
    cfg.points = opts & 2 ? 1 + (opts >> 4) : 0;
    if (opts & 4) cfg.spam_header = "X-Is-Spam";

    reply = fuzz_dup(in.p, in.n);
    r1 = frame(reply, in.n, 0, &body1, &len1);
    r2 = frame(reply, in.n, &seed, &body2, &len2);
    FUZZ_ASSERT(r1 == r2);
    if (r1 == 1) {
        FUZZ_ASSERT(body1 == body2 && len1 == len2);
        FUZZ_ASSERT(body1 >= reply && body1 + len1 <= reply + in.n);
    }
    /* the JSON mapping, on the body when there is one, else on all */
    if (r1 != 1) {
        body1 = reply;
        len1 = in.n;
    }
    if (rspamd_answer(&answer, &cfg, body1, len1, &h, why, sizeof why) == 0)
        check_lines(&answer);
    else
        FUZZ_ASSERT(answer.nops == 0 && why[0]);
    free(reply);
    return 0;
}
