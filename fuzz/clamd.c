/* smtp-clamd's reading of clamd's answer (cmd/smtp-clamd/clamd.c): the
 * answer alone (clamd_reply_parse) and read from a descriptor that gives
 * the bytes in pieces (clamd_reply_read).  An answer taken is one of the
 * four kinds with a name of printable ASCII within its size, one word for
 * a find; and what the filter then says (the fact, the verdict) is a line
 * the proxy accepts.
 * Input: a mode byte (the action of a find), then the bytes clamd sends. */
#include <string.h>

#include "clamd.h"
#include "deadline.h"
#include "filterproto.h"
#include "fuzz.h"

/* "WORD TOKEN REST" as filterside_say sends it, parsed as the proxy does. */
static void proxy_takes(const char *line)
{
    char sent[FILTERPROTO_LINE_MAX];
    struct filter_line fl;
    const char *space = strchr(line, ' ');
    size_t w = space ? (size_t)(space - line) : strlen(line);
    int n = snprintf(sent, sizeof sent, "%.*s 42%s", (int)w, line, space ? space : "");
    FUZZ_ASSERT(n > 0 && (size_t)n < sizeof sent);
    FUZZ_ASSERT(filterproto_parse_line(sent, (size_t)n, &fl) == 0);
    FUZZ_ASSERT(filterproto_is_verdict(fl.kind));
}

static void fact_taken(const char *value)
{
    char line[FILTERPROTO_LINE_MAX] = "fact clamd";
    size_t len = strlen(line);
    struct filter_line fl;
    FUZZ_ASSERT(filterproto_field(line, sizeof line, &len, value, strlen(value)) == 0);
    FUZZ_ASSERT(filterproto_parse_line(line, len, &fl) == 0 && fl.kind == FILTER_FACT);
}

static void check_result(const struct clamd_result *r, unsigned mode)
{
    static const enum clamd_action actions[] = { ACTION_REJECT, ACTION_TEMPFAIL, ACTION_DISCARD };
    struct clamd_config cfg;
    char fact[CLAMD_NAME_MAX + 16], line[FILTERPROTO_LINE_MAX];
    size_t n = strlen(r->name), i;
    FUZZ_ASSERT(n <= CLAMD_NAME_MAX);
    for (i = 0; i < n; i++) FUZZ_ASSERT(r->name[i] >= 32 && r->name[i] <= 126);
    switch (r->status) {
    case CLAMD_CLEAN: FUZZ_ASSERT(n == 0); break;
    case CLAMD_FOUND: FUZZ_ASSERT(n > 0 && !strchr(r->name, ' ')); break;
    case CLAMD_LIMIT: case CLAMD_ERROR: return;     /* failures: no verdict */
    default: FUZZ_ASSERT(0);
    }
    clamd_config_init(&cfg);
    cfg.found = actions[mode % 3];
    if (mode & 4) cfg.found_code = cfg.found == ACTION_TEMPFAIL ? 450 : 550;
    i = (size_t)clamd_verdict(&cfg, r, fact, sizeof fact, line, sizeof line);
    FUZZ_ASSERT(i == (r->status == CLAMD_CLEAN));
    proxy_takes(line);
    fact_taken(fact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    unsigned mode = fuzz_byte(&in);
    struct clamd_result r;
    char why[400], *copy = fuzz_dup(in.p, in.n);
    why[0] = 0;
    if (clamd_reply_parse(copy, in.n, &r, why, sizeof why) == 0) check_result(&r, mode);
    else FUZZ_ASSERT(why[0] && memchr(why, 0, sizeof why));
    free(copy);

    fuzz_fd_set(in.p, in.n, (uint32_t)size * 2654435761u ^ mode);
    why[0] = 0;
    if (clamd_reply_read(fuzz_fd(), DEADLINE_NONE, &r, why, sizeof why) == 0) {
        /* the answer is what comes before the first NUL, within the limit */
        const uint8_t *nul = memchr(in.p, 0, in.n);
        FUZZ_ASSERT(nul && (size_t)(nul - in.p) < CLAMD_REPLY_MAX);
        check_result(&r, mode);
    } else {
        FUZZ_ASSERT(why[0] && memchr(why, 0, sizeof why));
    }
    return 0;
}
