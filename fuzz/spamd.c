/* smtp-spamd's reading of spamd's answer (cmd/smtp-spamd/spamd.c), from a
 * descriptor that gives the bytes in pieces (spamd_reply_read), then what
 * the filter makes of it: the rules hit (SYMBOLS or REPORT), the header
 * fields, the refusal, the points.  An answer taken has scores within
 * their bounds and a body within its size; the rules are names; every
 * header field, fact and verdict is a line the proxy accepts.
 * Input: a mode byte (the method, the refusal), then the bytes spamd
 * sends. */
#include <string.h>

#include "deadline.h"
#include "filterproto.h"
#include "fuzz.h"
#include "spamd.h"

static struct spamd_reply reply;

static void proxy_takes(const char *line, size_t n, enum filter_kind kind)
{
    struct filter_line fl;
    FUZZ_ASSERT(filterproto_parse_line(line, n, &fl) == 0);
    FUZZ_ASSERT(fl.kind == kind);
}

/* "WORD NAME VALUE" with VALUE in xtext, as filterside sends it. */
static void field_taken(const char *word, const char *name, const char *value, size_t n,
                        enum filter_kind kind)
{
    static char line[3 * FILTERPROTO_LINE_MAX];
    size_t len = (size_t)snprintf(line, sizeof line, "%s %s", word, name);
    FUZZ_ASSERT(filterproto_field(line, sizeof line, &len, value, n) == 0);
    FUZZ_ASSERT(len < FILTERPROTO_LINE_MAX);
    proxy_takes(line, len, kind);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char tests[SPAMD_STATUS_MAX], value[SPAMD_STATUS_MAX + 1];
    struct fuzz_input in = { data, size };
    unsigned mode = fuzz_byte(&in);
    struct spamd_config cfg;
    char why[400], line[FILTERPROTO_LINE_MAX];
    size_t n, i;

    fuzz_fd_set(in.p, in.n, (uint32_t)size * 2654435761u ^ mode);
    why[0] = 0;
    if (spamd_reply_read(fuzz_fd(), DEADLINE_NONE, &reply, why, sizeof why) < 0) {
        FUZZ_ASSERT(why[0] && memchr(why, 0, sizeof why));
        return 0;
    }
    FUZZ_ASSERT(reply.bodylen <= SPAMD_BODY_MAX && reply.body[reply.bodylen] == 0);
    FUZZ_ASSERT(reply.score >= -1000L * SPAMD_SCORE_MAX && reply.score <= 1000L * SPAMD_SCORE_MAX);
    FUZZ_ASSERT(reply.spam == 0 || reply.spam == 1);
    field_taken("fact", "spamd.score", reply.score_text, strlen(reply.score_text), FILTER_FACT);

    spamd_config_init(&cfg);
    cfg.method = mode & 1 ? METHOD_REPORT : METHOD_SYMBOLS;
    if (spamd_tests(cfg.method, reply.body, reply.bodylen, tests, sizeof tests) < 0) return 0;
    n = strlen(tests);
    for (i = 0; i < n; i++) FUZZ_ASSERT(tests[i] > 32 && tests[i] < 127 && tests[i] != ' ');
    FUZZ_ASSERT(n == 0 || (tests[0] != ',' && tests[n - 1] != ','));

    n = spamd_status_field(&reply, tests, value, sizeof value);
    FUZZ_ASSERT(n < sizeof value && strlen(value) == n);
    field_taken("header", "X-Spam-Status", value, n, FILTER_HEADER);
    field_taken("header", "X-Spam-Score", reply.score_text, strlen(reply.score_text), FILTER_HEADER);
    n = spamd_report_field(reply.body, reply.bodylen, value, sizeof value);
    FUZZ_ASSERT(n < sizeof value && strlen(value) == n);
    if (n) field_taken("header", "X-Spam-Report", value, n, FILTER_HEADER);

    cfg.refuse = mode & 2 ? REFUSE_SPAM : REFUSE_POINTS;
    cfg.refuse_at = (long)(mode >> 2) * 1000;
    if (spamd_refused(&cfg, &reply, line, sizeof line)) {
        char sent[FILTERPROTO_LINE_MAX + 8];
        int k = snprintf(sent, sizeof sent, "reject 42%s", line + 6);
        proxy_takes(sent, (size_t)k, FILTER_REJECT);
    }
    cfg.points = 1 + (long)(mode >> 2) * 4;
    n = (size_t)snprintf(line, sizeof line, "score %ld", spamd_points(&cfg, &reply));
    proxy_takes(line, n, FILTER_SCORE);
    return 0;
}
