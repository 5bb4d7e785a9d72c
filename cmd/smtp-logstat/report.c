/* The summary as text, and as one HTML page with inline SVG charts. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logstat.h"

static unsigned idx[TABLE_CAP];

static unsigned long long U(uint64_t v) { return (unsigned long long)v; }

static const char *when(int64_t t, char *buf, size_t size)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t == NO_TIME || !localtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
        return "-";
    return buf;
}

static unsigned pct10(uint64_t part, uint64_t whole)    /* per mille */
{
    return whole ? (unsigned)((part * 1000 + whole / 2) / whole) : 0;
}

static void text_table(FILE *f, const struct table *t, unsigned top)
{
    unsigned n = table_sorted(t, idx), i;
    fprintf(f, "\n%s\n", t->title);
    for (i = 0; i < n && i < top; i++) {
        const struct table_entry *e = &t->e[idx[i]];
        fprintf(f, "  %-60s %10llu", e->key, U(e->count - e->err));
        if (e->err) fprintf(f, " (up to %llu more)", U(e->err));
        fputc('\n', f);
    }
    if (n > top) fprintf(f, "  (%u more)\n", n - top);
    if (t->evicted)
        fprintf(f, "  (more than %u keys: %llu gave their place to others)\n", TABLE_CAP, U(t->evicted));
}

static void text_series(FILE *f, const struct series *s)
{
    if (!s->count) return;
    fprintf(f, "  %-30s %8llu %8llu %8llu %8llu %8llu\n", s->name, (unsigned long long)s->count,
            (unsigned long long)series_percentile(s, 50), (unsigned long long)series_percentile(s, 95),
            (unsigned long long)series_percentile(s, 99), (unsigned long long)s->max);
}

static void html_table(FILE *f, const struct table *t, unsigned top);

/* The tables after the hours, in the order of both reports. */
static void each_table(FILE *f, const struct stats *st, unsigned top,
                       void (*show)(FILE *, const struct table *, unsigned))
{
    const struct table *const tables[] = {
        &st->end_reasons, &st->refusals, &st->filter_lines, &st->clients, &st->senders, &st->domains,
    };
    unsigned i;
    for (i = 0; i < sizeof tables / sizeof *tables; i++) show(f, tables[i], top);
}

int report_text(FILE *f, const struct stats *st, unsigned top)
{
    char a[32], b[32];
    unsigned i, m;
    fprintf(f, "period %s to %s\n", when(st->first, a, sizeof a), when(st->last, b, sizeof b));
    fprintf(f, "lines %llu (of the programs %llu, other %llu, without a time %llu, too long %llu)\n",
            U(st->lines), U(st->program_lines), U(st->other_lines), U(st->unstamped), U(st->too_long));
    m = pct10(st->tls, st->connections);
    fprintf(f, "connections %llu\n", U(st->connections));
    fprintf(f, "tls %llu (%u.%u%%)\n", U(st->tls), m / 10, m % 10);
    fprintf(f, "early-talkers %llu\n", U(st->early_talkers));
    fprintf(f, "transactions %llu\n", U(st->transactions));
    fprintf(f, "refused-recipients %llu\n", U(st->refused_rcpts));
    fprintf(f, "\nresults\n");
    for (i = 0; i < R_OTHER; i++) fprintf(f, "  %-60s %10llu\n", result_names[i], U(st->results[i]));
    fprintf(f, "  %-60s %10llu\n", "other", U(st->results[R_OTHER]));
    if (st->other_results.n) text_table(f, &st->other_results, top);
    fprintf(f, "\nper hour   connections transactions  delivered    refused\n");
    for (i = 0; i < HOURS; i++) {
        const struct hour *h = &st->hours[i];
        if (i == 24 && !h->connections && !h->transactions) continue;
        if (i < 24) fprintf(f, "  %02u", i); else fprintf(f, "  --");
        fprintf(f, "       %11llu %12llu %10llu %10llu\n", U(h->connections), U(h->transactions),
                U(h->delivered), U(h->refused));
    }
    each_table(f, st, top, text_table);
    fprintf(f, "\ntimes (ms)                         count   median      p95      p99      max\n");
    text_series(f, &st->upstream);
    for (i = 0; i < st->nfilters; i++) text_series(f, &st->filters[i]);
    text_series(f, &st->filters[SERIES_MAX]);
    return fflush(f) || ferror(f) ? -1 : 0;
}

/* --- HTML ---------------------------------------------------------------- */

static void esc(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s < 32 || (unsigned char)*s > 126) fprintf(f, "&#%u;", (unsigned char)*s);
            else fputc(*s, f);
        }
}

static void html_table(FILE *f, const struct table *t, unsigned top)
{
    unsigned n = table_sorted(t, idx), i;
    fprintf(f, "<h2>");
    esc(f, t->title);
    fprintf(f, "</h2>\n<table>\n");
    if (!n) fprintf(f, "<tr><td>none</td></tr>\n");
    for (i = 0; i < n && i < top; i++) {
        const struct table_entry *e = &t->e[idx[i]];
        fprintf(f, "<tr><td>");
        esc(f, e->key);
        fprintf(f, "</td><td class=\"n\">%llu", U(e->count - e->err));
        if (e->err) fprintf(f, " (up to %llu more)", U(e->err));
        fprintf(f, "</td></tr>\n");
    }
    if (n > top) fprintf(f, "<tr><td>(%u more)</td><td></td></tr>\n", n - top);
    if (t->evicted)
        fprintf(f, "<tr><td>(more than %u keys: %llu gave their place to others)</td><td></td></tr>\n",
                TABLE_CAP, U(t->evicted));
    fprintf(f, "</table>\n");
}

static const char *const colours[R_COUNT] = {
    "#2e8b57", "#c0392b", "#e67e22", "#7f8c8d", "#8e44ad", "#95a5a6", "#d35400", "#34495e", "#bdc3c7",
};

/* Horizontal bars, one per result. */
static void chart_results(FILE *f, const struct stats *st)
{
    uint64_t max = 1;
    unsigned i, w = 760, row = 26, left = 120;
    for (i = 0; i < R_COUNT; i++)
        if (st->results[i] > max) max = st->results[i];
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" role=\"img\" "
               "aria-label=\"transactions per result\">\n", w + left + 60, R_COUNT * row + 10);
    for (i = 0; i < R_COUNT; i++) {
        unsigned len = (unsigned)(st->results[i] * w / max), y = 5 + i * row;
        fprintf(f, "<text x=\"%u\" y=\"%u\" text-anchor=\"end\">%s</text>", left - 8, y + 16, result_names[i]);
        fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"%s\"/>", left, y,
                len ? len : 1, row - 6, colours[i]);
        fprintf(f, "<text x=\"%u\" y=\"%u\">%llu</text>\n", left + len + 6, y + 16, U(st->results[i]));
    }
    fprintf(f, "</svg>\n");
}

/* Vertical bars per hour: delivered, refused, and the other transactions
 * stacked; connections as a thin bar beside them. */
static void chart_hours(FILE *f, const struct stats *st)
{
    uint64_t max = 1;
    unsigned i, bw = 34, h = 240, top = 10, left = 40;
    for (i = 0; i < 24; i++) {
        if (st->hours[i].transactions > max) max = st->hours[i].transactions;
        if (st->hours[i].connections > max) max = st->hours[i].connections;
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" role=\"img\" "
               "aria-label=\"transactions per hour\">\n", left + 24 * bw + 20, h + top + 50);
    fprintf(f, "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" stroke=\"#333\"/>\n", left, top + h,
            left + 24 * bw, top + h);
    fprintf(f, "<text x=\"%u\" y=\"%u\" text-anchor=\"end\">%llu</text>\n", left - 4, top + 10, U(max));
    for (i = 0; i < 24; i++) {
        const struct hour *hr = &st->hours[i];
        uint64_t other = hr->transactions - hr->delivered - hr->refused;
        unsigned x = left + i * bw + 4, y = top + h;
        unsigned hd = (unsigned)(hr->delivered * h / max), hf = (unsigned)(hr->refused * h / max);
        unsigned ho = (unsigned)(other * h / max), hc = (unsigned)(hr->connections * h / max);
        if (hd) fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"20\" height=\"%u\" fill=\"%s\"/>", x, y - hd, hd, colours[R_DELIVERED]);
        y -= hd;
        if (hf) fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"20\" height=\"%u\" fill=\"%s\"/>", x, y - hf, hf, colours[R_REJECTED]);
        y -= hf;
        if (ho) fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"20\" height=\"%u\" fill=\"%s\"/>", x, y - ho, ho, colours[R_OTHER]);
        if (hc) fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"6\" height=\"%u\" fill=\"#2c7bb6\"/>", x + 22, top + h - hc, hc);
        fprintf(f, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\">%02u</text>\n", x + 13, top + h + 18, i);
    }
    fprintf(f, "<g transform=\"translate(%u,%u)\">"
               "<rect width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"16\" y=\"11\">delivered</text>"
               "<rect x=\"110\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"126\" y=\"11\">refused</text>"
               "<rect x=\"210\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"226\" y=\"11\">other transactions</text>"
               "<rect x=\"390\" width=\"12\" height=\"12\" fill=\"#2c7bb6\"/><text x=\"406\" y=\"11\">connections</text></g>\n",
            left, top + h + 30, colours[R_DELIVERED], colours[R_REJECTED], colours[R_OTHER]);
    fprintf(f, "</svg>\n");
}

static void html_series(FILE *f, const struct series *s)
{
    if (!s->count) return;
    fprintf(f, "<tr><td>");
    esc(f, s->name);
    fprintf(f, "</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td>"
               "<td class=\"n\">%llu</td><td class=\"n\">%llu</td></tr>\n", U(s->count),
            U(series_percentile(s, 50)), U(series_percentile(s, 95)), U(series_percentile(s, 99)), U(s->max));
}

int report_html(FILE *f, const struct stats *st, unsigned top)
{
    char a[32], b[32];
    unsigned i, m = pct10(st->tls, st->connections);
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<title>noqueue: the log from %s to %s</title>\n", when(st->first, a, sizeof a),
            when(st->last, b, sizeof b));
    fprintf(f, "<style>body{font-family:sans-serif;margin:2em;color:#222;background:#fff}"
               "table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
               "td.n{text-align:right}svg text{font-size:12px;font-family:sans-serif}</style>\n</head><body>\n");
    fprintf(f, "<h1>noqueue: the log from %s to %s</h1>\n", when(st->first, a, sizeof a),
            when(st->last, b, sizeof b));
    fprintf(f, "<table>\n<tr><td>lines</td><td class=\"n\">%llu</td></tr>\n"
               "<tr><td>connections</td><td class=\"n\">%llu</td></tr>\n"
               "<tr><td>with TLS</td><td class=\"n\">%llu (%u.%u%%)</td></tr>\n"
               "<tr><td>early talkers</td><td class=\"n\">%llu</td></tr>\n"
               "<tr><td>transactions</td><td class=\"n\">%llu</td></tr>\n"
               "<tr><td>refused recipients</td><td class=\"n\">%llu</td></tr>\n</table>\n",
            U(st->lines), U(st->connections), U(st->tls), m / 10, m % 10, U(st->early_talkers),
            U(st->transactions), U(st->refused_rcpts));
    fprintf(f, "<h2>transactions per result</h2>\n");
    chart_results(f, st);
    fprintf(f, "<table>\n");
    for (i = 0; i < R_COUNT; i++)
        fprintf(f, "<tr><td>%s</td><td class=\"n\">%llu</td></tr>\n", result_names[i], U(st->results[i]));
    fprintf(f, "</table>\n");
    if (st->other_results.n) html_table(f, &st->other_results, top);
    fprintf(f, "<h2>per hour</h2>\n");
    chart_hours(f, st);
    fprintf(f, "<table>\n<tr><th>hour</th><th>connections</th><th>transactions</th><th>delivered</th><th>refused</th></tr>\n");
    for (i = 0; i < HOURS; i++) {
        const struct hour *h = &st->hours[i];
        if (!h->connections && !h->transactions) continue;
        if (i < 24) fprintf(f, "<tr><td>%02u</td>", i); else fprintf(f, "<tr><td>no time</td>");
        fprintf(f, "<td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td></tr>\n",
                U(h->connections), U(h->transactions), U(h->delivered), U(h->refused));
    }
    fprintf(f, "</table>\n");
    each_table(f, st, top, html_table);
    fprintf(f, "<h2>times (milliseconds)</h2>\n<table>\n<tr><th></th><th>count</th><th>median</th>"
               "<th>95th</th><th>99th</th><th>max</th></tr>\n");
    html_series(f, &st->upstream);
    for (i = 0; i < st->nfilters; i++) html_series(f, &st->filters[i]);
    html_series(f, &st->filters[SERIES_MAX]);
    fprintf(f, "</table>\n</body></html>\n");
    return fflush(f) || ferror(f) ? -1 : 0;
}
