/* The filter's side of smtp-filter(7) (lib/filterside.c, used by every
 * filter written in C): events read from a descriptor that gives the
 * bytes in pieces, the token and the fields decoded; each answered with a
 * verdict, which echoes the token.  A field comes out NUL terminated,
 * within the decoded buffer, and "-" only as absent.  In version 2 the
 * context lines before an event (facts, score, client, sender,
 * recipients) are kept, and what the accessors give is within them.
 * Input: a seed byte (its low bit: version 1 or 2), then what the proxy
 * sends (after "filter 1"). */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "filterside.h"
#include "fuzz.h"

static int devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    unsigned seed = fuzz_byte(&in), i, events = 0;
    struct filter_side *fs = malloc(sizeof *fs);
    struct filter_request r;
    int n;
    if (!fs) abort();
    memset(fs, 0xa5, sizeof *fs);           /* nothing may rely on zeros */
    fs->version = 1 + (seed & 1);           /* as filterside_start_version sets it */
    memset(&fs->ctx, 0, sizeof fs->ctx);
    fuzz_fd_set(in.p, in.n, seed * 0x85ebca6bu + (uint32_t)size);
    io_in_init(&fs->in, fuzz_fd(), fs->inbuf, sizeof fs->inbuf);
    io_out_init(&fs->out, devnull, fs->outbuf, sizeof fs->outbuf);
    fs->in.flush = &fs->out;
    while ((n = filterside_next(fs, &r)) > 0) {
        const char *lo = fs->decoded, *hi = fs->decoded + sizeof fs->decoded;
        FUZZ_ASSERT(r.event < FILTER_EVENTS);
        FUZZ_ASSERT(r.nfields <= FILTERSIDE_FIELDS);
        FUZZ_ASSERT(fs->token[0] && strlen(fs->token) < sizeof fs->token);
        FUZZ_ASSERT(strspn(fs->token, "0123456789") == strlen(fs->token));
        for (i = 0; i < r.nfields; i++) {
            FUZZ_ASSERT(r.field[i] >= lo && r.field[i] + r.len[i] < hi);
            FUZZ_ASSERT(r.field[i][r.len[i]] == 0);
            FUZZ_ASSERT(!r.absent[i] || r.len[i] == 0);
            if (i) FUZZ_ASSERT(r.field[i] > r.field[i - 1] + r.len[i - 1]);
        }
        events |= 1u << r.event;
        if (fs->version == 1) FUZZ_ASSERT(!fs->ctx.nfacts && !fs->ctx.nrcpts && !fs->ctx.sender_set);
        for (i = 0; i < filterside_recipients(fs); i++) {
            int code;
            const char *params, *a = filterside_recipient(fs, i, &code, &params);
            FUZZ_ASSERT(a && strlen(a) < fs->ctx.len && code >= 0 && code <= 999);
        }
        FUZZ_ASSERT(!filterside_recipient(fs, filterside_recipients(fs), 0, 0));
        if (filterside_sender(fs)) FUZZ_ASSERT(filterside_id(fs) || !filterside_id(fs));
        (void)filterside_fact(fs, "spf");
        (void)filterside_client(fs, CLIENT_HELO);
        /* Answers, as the filters give them. */
        switch (r.event) {
        case FILTER_RCPT:
            FUZZ_ASSERT(filterside_say(fs, "reject 550 5.7.1 No") == 0);
            break;
        case FILTER_EOM:
            /* An empty value cannot be sent (a field is never empty). */
            FUZZ_ASSERT(filterside_header(fs, "X-Fuzz", r.nfields ? r.field[0] : "", r.nfields ? r.len[0] : 0) == 0 ||
                        !r.nfields || !r.len[0] || r.len[0] * 3 + 16 >= FILTERPROTO_LINE_MAX);
            /* fall through */
        default:
            FUZZ_ASSERT(filterside_say(fs, "continue") == 0);
        }
    }
    FUZZ_ASSERT(n == 0 || n == -1);
    FUZZ_ASSERT(filterside_flush(fs) == 0);
    (void)events;
    free(fs->ctx.arena);
    free(fs->ctx.rcpts);
    free(fs);
    return 0;
}
