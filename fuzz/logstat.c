/* smtp-logstat: any bytes as log lines.  The summary's counts agree with
 * each other (results and hours add up to the transactions, connections
 * and TLS), the percentiles are in order and never above the maximum, a
 * report is written whole; -m's three passes take any line.  The stats
 * live across inputs, so the tables fill up and their cap is crossed.
 * Input: a byte of choices, then lines; the first line is -m's pattern. */
#include <string.h>

#include "fuzz.h"
#include "logstat.h"

static struct stats st;
static struct track tr;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    stats_init(&st);
    return 0;
}

static void lines(const uint8_t *p, size_t n, int pass)
{
    uint64_t lineno = 0;
    while (n) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        struct logline l;
        lineno++;
        if (pass == 0) stats_line(&st, (const char *)p, k);
        else if (logline_parse((const char *)p, k, &l)) {
            FUZZ_ASSERT(l.conn_len < 64 && (!l.conn || l.conn_len));
            if (pass == 1) track_find(&tr, &l, lineno);
            else if (pass == 2) track_bound(&tr, &l, lineno);
            else track_want(&tr, &l, lineno);
        }
        p += k + (nl ? 1 : 0);
        n -= k + (nl ? 1 : 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = { data, size };
    unsigned choice = fuzz_byte(&in), i;
    uint64_t sum = 0, hours = 0, conns = 0;
    char pattern[256];
    const uint8_t *nl = memchr(in.p, '\n', in.n);
    size_t k = nl ? (size_t)(nl - in.p) : in.n;
    const struct series *s;

    lines(in.p, in.n, 0);
    for (i = 0; i < R_COUNT; i++) sum += st.results[i];
    for (i = 0; i < HOURS; i++) hours += st.hours[i].transactions, conns += st.hours[i].connections;
    FUZZ_ASSERT(sum == st.transactions && hours == st.transactions && conns == st.connections);
    FUZZ_ASSERT(st.tls <= st.connections && st.program_lines + st.other_lines + st.too_long == st.lines);
    FUZZ_ASSERT(st.nfilters <= SERIES_MAX);
    for (i = 0; i <= st.nfilters; i++) {
        s = i < st.nfilters ? &st.filters[i] : &st.upstream;
        if (!s->count) continue;
        FUZZ_ASSERT(series_percentile(s, 50) <= series_percentile(s, 95));
        FUZZ_ASSERT(series_percentile(s, 95) <= series_percentile(s, 99));
        FUZZ_ASSERT(series_percentile(s, 99) <= s->max);
    }
    if ((choice & 63) == 0) {
        FILE *f = fopen("/dev/null", "w");
        if (!f) abort();
        FUZZ_ASSERT(report_text(f, &st, 1 + (choice >> 6)) == 0);
        FUZZ_ASSERT(report_html(f, &st, 1 + (choice >> 6)) == 0);
        fclose(f);
    }

    /* -m with the first line as the pattern */
    if (k && k < sizeof pattern) {
        memcpy(pattern, in.p, k);
        pattern[k] = 0;
        if (strlen(pattern) == k) {
            if (!track_init(&tr, pattern)) {
                lines(in.p, in.n, 1);
                lines(in.p, in.n, 2);
            }
            FUZZ_ASSERT(tr.ntargets <= TRACK_MAX);
            lines(in.p, in.n, 3);
        }
    }
    return 0;
}
