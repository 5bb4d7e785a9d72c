/* SpamAssassin's spamd protocol, as spamd 4 speaks it.  The request:
 *   SYMBOLS SPAMC/1.5          (or REPORT)
 *   Content-length: SIZE
 *   User: NAME                 (when -u is given)
 *   (empty line, then SIZE octets of the message)
 * The answer, after which spamd closes the connection:
 *   SPAMD/1.1 0 EX_OK
 *   Content-length: N
 *   Spam: True ; 1002.7 / 5.0
 *   (empty line, then N octets: the rules hit, comma-separated, or the
 *   report)
 * Any other code than 0 is an error, with spamd's text after it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "deadline.h"
#include "io.h"
#include "log.h"
#include "scan.h"
#include "spamd.h"

struct statustext spamd_texts[TEXT_COUNT] = {
    [TEXT_SPAM] = { "SPAM", "Message refused as spam, score" },
};

void spamd_config_init(struct spamd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout = 20;
    cfg->method = METHOD_SYMBOLS;
    cfg->max = 500 * 1024;              /* spamc's own default */
    cfg->refuse = REFUSE_NEVER;
    cfg->tag = 1;
}

int spamd_score_parse(const char *s, size_t n, long *thousandths)
{
    size_t i = 0, digits = 0, decimals = 0;
    long v = 0;
    int neg = 0;
    if (i < n && s[i] == '-') { neg = 1; i++; }
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        v = v * 10 + (s[i] - '0');
        if (v > SPAMD_SCORE_MAX) return 0;
    }
    if (!digits) return 0;
    v *= 1000;
    if (i < n && s[i] == '.') {
        long unit = 100;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, decimals++) {
            if (decimals == 3) return 0;
            v += (s[i] - '0') * unit;
            unit /= 10;
        }
        if (!decimals) return 0;
    }
    if (i != n) return 0;
    *thousandths = neg ? -v : v;
    return 1;
}

size_t spamd_request(const struct spamd_config *cfg, unsigned long long msgsize, char *out, size_t size)
{
    int n = snprintf(out, size, "%s SPAMC/1.5\r\nContent-length: %llu\r\n%s%s%s\r\n",
                     cfg->method == METHOD_REPORT ? "REPORT" : "SYMBOLS", msgsize,
                     cfg->user[0] ? "User: " : "", cfg->user, cfg->user[0] ? "\r\n" : "");
    return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

static int printable(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] < 32 || s[i] > 126) return 0;
    return 1;
}

static int nonsense(const char *what, const char *s, size_t n, char *why, size_t size)
{
    if (!printable(s, n)) return log_why(why, size, "spamd's %s is not text", what);
    return log_why(why, size, "spamd's %s is malformed: \"%.*s%s\"", what, (int)(n > 100 ? 100 : n), s,
                   n > 100 ? "..." : "");
}

/* One line of the answer's head, CRLF stripped: its length, or -1. */
static ssize_t head_line(struct io_in *in, char *line, int64_t deadline, char *why, size_t size)
{
    ssize_t n = io_getline(in, line, SPAMD_LINE_MAX, deadline);
    if (n == IO_TOOLONG) return log_why(why, size, "spamd's answer has a line longer than %d octets", SPAMD_LINE_MAX);
    if (n == IO_EOF) return log_why(why, size, "spamd closed the connection before the end of its answer");
    if (n < 0) {
        if (errno == ETIMEDOUT) return log_why(why, size, "spamd did not answer in time");
        return log_why(why, size, "unable to read spamd's answer: %s", strerror(errno));
    }
    if (n < 2 || line[n - 2] != '\r') return nonsense("answer", line, (size_t)n - 1, why, size);
    line[n -= 2] = 0;
    return n;
}

/* "SPAMD/1.1 0 EX_OK" */
static int status_line(const char *s, size_t n, char *why, size_t size)
{
    size_t i = 6;
    if (n < 6 || memcmp(s, "SPAMD/", 6)) return nonsense("answer", s, n, why, size);
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) i++;
    if (i == 6 || i >= n || s[i] != ' ') return nonsense("answer", s, n, why, size);
    if (!printable(s, n)) return nonsense("answer", s, n, why, size);
    if (n - i >= 2 && s[i + 1] == '0' && (i + 2 == n || s[i + 2] == ' ')) return 0;
    return log_why(why, size, "spamd said \"%.*s\"", (int)(n > 200 ? 200 : n), s);
}

/* "True ; 1002.7 / 5.0" */
static int spam_value(struct spamd_reply *r, const char *s, size_t n)
{
    const char *semi = memchr(s, ';', n), *slash, *score, *end = s + n;
    size_t w;
    if (!semi || semi == s || semi[-1] != ' ') return 0;
    w = (size_t)(semi - 1 - s);
    if (w == 4 && !memcmp(s, "True", 4)) r->spam = 1;
    else if (w == 5 && !memcmp(s, "False", 5)) r->spam = 0;
    else return 0;
    if (end - semi < 2 || semi[1] != ' ') return 0;
    score = semi + 2;
    slash = memchr(score, '/', (size_t)(end - score));
    if (!slash || slash == score || slash[-1] != ' ' || end - slash < 3 || slash[1] != ' ') return 0;
    w = (size_t)(slash - 1 - score);
    if (w >= sizeof r->score_text || !spamd_score_parse(score, w, &r->score)) return 0;
    memcpy(r->score_text, score, w);
    r->score_text[w] = 0;
    w = (size_t)(end - slash - 2);
    if (w >= sizeof r->threshold_text || !spamd_score_parse(slash + 2, w, &r->threshold)) return 0;
    memcpy(r->threshold_text, slash + 2, w);
    r->threshold_text[w] = 0;
    return 1;
}

int spamd_reply_read(int fd, int64_t deadline, struct spamd_reply *r, char *why, size_t size)
{
    char buf[SPAMD_LINE_MAX], line[SPAMD_LINE_MAX];
    struct io_in in;
    ssize_t n;
    unsigned lines = 0;
    int have_spam = 0, have_length = 0;
    unsigned long length = 0;
    io_in_init(&in, fd, buf, sizeof buf);
    r->spam = 0;
    r->bodylen = 0;
    r->body[0] = 0;
    if ((n = head_line(&in, line, deadline, why, size)) < 0) return -1;
    if (status_line(line, (size_t)n, why, size) < 0) return -1;
    for (;;) {
        char *colon;
        if ((n = head_line(&in, line, deadline, why, size)) < 0) return -1;
        if (!n) break;
        if (++lines > SPAMD_HEAD_LINES) return log_why(why, size, "spamd's answer has too many header lines");
        colon = memchr(line, ':', (size_t)n);
        if (!colon || colon == line || colon[1] != ' ') return nonsense("header line", line, (size_t)n, why, size);
        if (colon - line == 14 && !strncasecmp(line, "Content-length", 14)) {
            if (have_length || !scan_ulong(colon + 2, SPAMD_BODY_MAX, &length))
                return nonsense("Content-length", line, (size_t)n, why, size);
            have_length = 1;
        } else if (colon - line == 4 && !strncasecmp(line, "Spam", 4)) {
            if (have_spam || !spam_value(r, colon + 2, (size_t)(line + n - colon - 2)))
                return nonsense("Spam line", line, (size_t)n, why, size);
            have_spam = 1;
        }
    }
    if (!have_spam) return log_why(why, size, "spamd's answer has no Spam line");
    if (!have_length) return log_why(why, size, "spamd's answer has no Content-length");
    while (r->bodylen < length) {
        size_t k = io_buffered(&in);
        if (!k) {
            ssize_t got = io_fill(&in, deadline);
            if (got == 0) return log_why(why, size, "spamd's answer ends %lu octets early", length - r->bodylen);
            if (got < 0) {
                if (errno == ETIMEDOUT) return log_why(why, size, "spamd did not answer in time");
                return log_why(why, size, "unable to read spamd's answer: %s", strerror(errno));
            }
            continue;
        }
        if (k > length - r->bodylen) k = length - r->bodylen;
        memcpy(r->body + r->bodylen, io_peek(&in), k);
        io_consume(&in, k);
        r->bodylen += k;
    }
    r->body[r->bodylen] = 0;
    return 0;
}

int spamd_scan(const struct spamd_config *cfg, int msgfd, unsigned long long size, int64_t deadline,
               struct spamd_reply *r, char *why, size_t whysize)
{
    static char chunk[65536];
    unsigned long long left = size;
    size_t k = spamd_request(cfg, size, chunk, sizeof chunk);
    int fd = endpoint_connect(&cfg->spamd, deadline), ret;
    if (fd < 0) {
        if (errno == ETIMEDOUT) return log_why(why, whysize, "unable to connect to spamd %s in time", cfg->spamd.name);
        return log_why(why, whysize, "unable to connect to spamd %s: %s", cfg->spamd.name, strerror(errno));
    }
    /* The head and the first part of the message in one write. */
    while (left || k) {
        size_t want = sizeof chunk - k;
        if (want > left) want = (size_t)left;
        if (want) {
            ssize_t got = read(msgfd, chunk + k, want);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) {
                ret = log_why(why, whysize, "unable to read the message on fd 3: %s", strerror(errno));
                goto done;
            }
            if (got == 0) {
                ret = log_why(why, whysize, "the message on fd 3 ends %llu octets before its size", left);
                goto done;
            }
            k += (size_t)got;
            left -= (unsigned long long)got;
        }
        if (io_write_all(fd, chunk, k, deadline) < 0) {
            if (errno == ETIMEDOUT) ret = log_why(why, whysize, "spamd did not take the message in time");
            else ret = log_why(why, whysize, "unable to send the message to spamd: %s", strerror(errno));
            goto done;
        }
        k = 0;
    }
    ret = spamd_reply_read(fd, deadline, r, why, whysize);
done:
    close(fd);
    return ret;
}

static int rule_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

/* Append a rule's name to out (len so far): 0, or -1 when it is not a
 * name.  A name that does not fit is left out, and so are those after it. */
static int add_test(const char *name, size_t n, char *out, size_t size, size_t *len, int *full)
{
    size_t i;
    if (!n || n > SPAMD_RULE_MAX) return -1;
    for (i = 0; i < n; i++)
        if (!rule_char(name[i])) return -1;
    if (*full || *len + (*len ? 1 : 0) + n + 1 > size) {
        *full = 1;
        return 0;
    }
    if (*len) out[(*len)++] = ',';
    memcpy(out + *len, name, n);
    *len += n;
    out[*len] = 0;
    return 0;
}

int spamd_tests(enum spamd_method method, const char *body, size_t n, char *out, size_t size)
{
    size_t len = 0, i = 0;
    int full = 0;
    if (!size) return -1;
    out[0] = 0;
    if (method == METHOD_SYMBOLS) {
        while (n && (body[n - 1] == '\n' || body[n - 1] == '\r' || body[n - 1] == ' ')) n--;
        while (i < n) {
            const char *comma = memchr(body + i, ',', n - i);
            size_t k = comma ? (size_t)(comma - body) - i : n - i;
            if (add_test(body + i, k, out, size, &len, &full) < 0) return -1;
            i += k + 1;
            if (comma && i == n) return -1;         /* a trailing comma */
        }
        return 0;
    }
    /* REPORT: the rows after the "---- ----" line, " pts NAME description",
     * up to the first empty line. */
    for (;;) {
        const char *nl = memchr(body + i, '\n', n - i);
        if (!nl) return 0;                          /* no table: nothing hit */
        if (n - i >= 5 && !memcmp(body + i, "---- ", 5)) { i = (size_t)(nl - body) + 1; break; }
        i = (size_t)(nl - body) + 1;
    }
    while (i < n) {
        const char *nl = memchr(body + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - body) : n, j = i, start;
        long points;
        while (end > i && body[end - 1] == '\r') end--;
        if (end == i) break;
        while (j < end && body[j] == ' ') j++;
        start = j;
        while (j < end && body[j] != ' ') j++;
        /* A row is " pts NAME description"; a description too long for
         * its row goes on in lines indented further, without points. */
        if (start - i <= 1 && spamd_score_parse(body + start, j - start, &points)) {
            while (j < end && body[j] == ' ') j++;
            start = j;
            while (j < end && body[j] != ' ') j++;
            if (add_test(body + start, j - start, out, size, &len, &full) < 0) return -1;
        } else if (start - i <= 1) {
            return -1;
        }
        i = nl ? (size_t)(nl - body) + 1 : n;
    }
    return 0;
}

/* Append s[0..n) to out, folding before it when the line would pass 78. */
static void fold_append(char *out, size_t size, size_t *len, size_t *col, const char *s, size_t n)
{
    if (*col + n > 78 && *col > 1) {
        if (*len + 3 >= size) return;
        memcpy(out + *len, "\r\n\t", 3);
        *len += 3;
        *col = 1;
    }
    if (*len + n >= size) return;
    memcpy(out + *len, s, n);
    *len += n;
    *col += n;
    out[*len] = 0;
}

size_t spamd_status_field(const struct spamd_reply *r, const char *tests, char *out, size_t size)
{
    char head[80];
    size_t len = 0, col = 15, i = 0, n = strlen(tests);     /* "X-Spam-Status: " */
    int k = snprintf(head, sizeof head, "%s, score=%s required=%s tests=", r->spam ? "Yes" : "No",
                     r->score_text, r->threshold_text);
    if (!size) return 0;
    out[0] = 0;
    fold_append(out, size, &len, &col, head, (size_t)k);
    if (!n) fold_append(out, size, &len, &col, "none", 4);
    while (i < n) {
        const char *comma = strchr(tests + i, ',');
        size_t w = comma ? (size_t)(comma - tests) - i + 1 : n - i;
        fold_append(out, size, &len, &col, tests + i, w);
        i += w;
    }
    return len;
}

size_t spamd_report_field(const char *body, size_t n, char *out, size_t size)
{
    static const char details[] = "Content analysis details:";
    const char *from = body;
    size_t len = 0, i;
    if (!size) return 0;
    out[0] = 0;
    for (i = 0; i + sizeof details - 1 <= n; i++)
        if (!memcmp(body + i, details, sizeof details - 1) && (i == 0 || body[i - 1] == '\n')) {
            from = body + i;
            break;
        }
    n -= (size_t)(from - body);
    i = 0;
    while (i < n) {
        const char *nl = memchr(from + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - from) : n, k, start = i;
        while (end > start && (from[end - 1] == '\r' || from[end - 1] == ' ' || from[end - 1] == '\t')) end--;
        while (start < end && (from[start] == ' ' || from[start] == '\t')) start++;
        if (end - start > 200) end = start + 200;
        if (end > start) {
            /* "\r\n\t" before every line but the first, then the line. */
            if (len + (len ? 3 : 0) + (end - start) + 1 > size) break;
            if (len) { memcpy(out + len, "\r\n\t", 3); len += 3; }
            for (k = start; k < end; k++) {
                char c = from[k];
                out[len++] = c >= 32 && c <= 126 ? c : c == '\t' ? ' ' : '?';
            }
            out[len] = 0;
        }
        i = nl ? (size_t)(nl - from) + 1 : n;
    }
    return len;
}

int spamd_refused(const struct spamd_config *cfg, const struct spamd_reply *r, char *line, size_t size)
{
    int refused = cfg->refuse == REFUSE_SPAM ? r->spam
                : cfg->refuse == REFUSE_POINTS ? r->score >= cfg->refuse_at : 0;
    if (!refused) return 0;
    snprintf(line, size, "reject %d 5.7.1 %.*s %s", cfg->code ? cfg->code : 550,
             (int)(400 - 6 - 1 - strlen(r->score_text)), spamd_texts[TEXT_SPAM].text, r->score_text);
    return 1;
}

long spamd_points(const struct spamd_config *cfg, const struct spamd_reply *r)
{
    long long p = (long long)r->score * cfg->points;
    p = p >= 0 ? (p + 500) / 1000 : -((-p + 500) / 1000);
    if (p > SPAMD_SCORE_MAX) p = SPAMD_SCORE_MAX;
    if (p < -SPAMD_SCORE_MAX) p = -SPAMD_SCORE_MAX;
    return (long)p;
}
