/* clamd's INSTREAM exchange and the mapping of its answer.  clamd reads
 * "zINSTREAM\0", then chunks of a 4-octet big-endian length and that many
 * octets, then a zero length; it answers one NUL-terminated line:
 *   stream: OK
 *   stream: NAME FOUND
 *   INSTREAM size limit exceeded. ERROR     (past its StreamMaxLength)
 *   TEXT ERROR                              (anything else it could not do)
 * and closes the connection. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clamd.h"
#include "deadline.h"
#include "io.h"
#include "log.h"
#include "scan.h"

struct statustext clamd_texts[TEXT_COUNT] = {
    [TEXT_FOUND] = { "MALWARE_FOUND", "Malware found:" },
    [TEXT_TOO_BIG] = { "TOO_BIG_TO_SCAN", "Message too big to be scanned for malware" },
};

void clamd_config_init(struct clamd_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout = 20;
    cfg->max = 100ULL << 20;            /* clamd's own default StreamMaxLength */
    cfg->found = ACTION_REJECT;
    cfg->oversize = ACTION_REJECT;
}

int clamd_action_parse(const char *s, enum clamd_action *a)
{
    if (!strcmp(s, "reject")) *a = ACTION_REJECT;
    else if (!strcmp(s, "tempfail")) *a = ACTION_TEMPFAIL;
    else if (!strcmp(s, "discard")) *a = ACTION_DISCARD;
    else if (!strcmp(s, "continue")) *a = ACTION_CONTINUE;
    else return -1;
    return 0;
}

/* The answer quoted in a reason: the first 100 octets when printable. */
static int nonsense(const char *s, size_t n, char *why, size_t size)
{
    if (!scan_printable(s, n)) return log_why(why, size, "clamd answered %zu octets that are not text", n);
    return log_why(why, size, "clamd answered \"%.*s%s\"", (int)(n > 100 ? 100 : n), s,
                   n > 100 ? "..." : "");
}

static int ends_with(const char *s, size_t n, const char *tail)
{
    size_t t = strlen(tail);
    return n >= t && !memcmp(s + n - t, tail, t);
}

int clamd_reply_parse(const char *s, size_t n, struct clamd_result *r, char *why, size_t size)
{
    static const char limit[] = "INSTREAM size limit exceeded";
    r->name[0] = 0;
    if (!n) return log_why(why, size, "clamd answered an empty line");
    if (!scan_printable(s, n)) return nonsense(s, n, why, size);
    if (ends_with(s, n, " ERROR")) {
        size_t k = n - 6;
        if (k > CLAMD_NAME_MAX) k = CLAMD_NAME_MAX;
        memcpy(r->name, s, k);
        r->name[k] = 0;
        r->status = n - 6 >= sizeof limit - 1 && !memcmp(s, limit, sizeof limit - 1)
                    ? CLAMD_LIMIT : CLAMD_ERROR;
        return 0;
    }
    if (n < 8 || memcmp(s, "stream: ", 8)) return nonsense(s, n, why, size);
    if (n == 10 && !memcmp(s + 8, "OK", 2)) {
        r->status = CLAMD_CLEAN;
        return 0;
    }
    if (ends_with(s, n, " FOUND")) {
        size_t k = n - 8 - 6;
        /* A signature's name is one word; it goes into our reply text. */
        if (!k || k > CLAMD_NAME_MAX || memchr(s + 8, ' ', k)) return nonsense(s, n, why, size);
        memcpy(r->name, s + 8, k);
        r->name[k] = 0;
        r->status = CLAMD_FOUND;
        return 0;
    }
    return nonsense(s, n, why, size);
}

int clamd_reply_read(int fd, int64_t deadline, struct clamd_result *r, char *why, size_t size)
{
    char buf[CLAMD_REPLY_MAX];
    size_t len = 0;
    for (;;) {
        char *nul = memchr(buf, 0, len);
        ssize_t got;
        if (nul) return clamd_reply_parse(buf, (size_t)(nul - buf), r, why, size);
        if (len == sizeof buf) return log_why(why, size, "clamd's answer is longer than %zu octets", len);
        got = read(fd, buf + len, sizeof buf - len);
        if (got > 0) {
            len += (size_t)got;
            continue;
        }
        if (got == 0) {
            if (!len) return log_why(why, size, "clamd closed the connection without an answer");
            return log_why(why, size, "clamd's answer ends without its NUL");
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return log_why(why, size, "unable to read clamd's answer: %s", strerror(errno));
        switch (io_wait(fd, POLLIN, deadline)) {
        case 0: return log_why(why, size, "clamd did not answer in time");
        case -1: return log_why(why, size, "unable to wait for clamd: %s", strerror(errno));
        }
    }
}

/* A write failed: clamd may have said why before closing (its size
 * limit).  A moment for that answer, no more. */
static int cut_short(int fd, int err, int64_t deadline, struct clamd_result *r, char *why, size_t size)
{
    char ignored[256];
    if (err == ETIMEDOUT) return log_why(why, size, "clamd did not take the message in time");
    if (clamd_reply_read(fd, deadline_min(deadline, deadline_in_ms(1000)), r, ignored, sizeof ignored) == 0)
        return 0;
    return log_why(why, size, "unable to send the message to clamd: %s", strerror(err));
}

int clamd_scan(const struct endpoint *e, int msgfd, unsigned long long size, int64_t deadline,
               struct clamd_result *r, char *why, size_t whysize)
{
    static char chunk[4 + CLAMD_CHUNK];
    unsigned long long left = size;
    int fd = endpoint_connect(e, deadline), ret;
    if (fd < 0) {
        if (errno == ETIMEDOUT) return log_why(why, whysize, "unable to connect to clamd %s in time", e->name);
        return log_why(why, whysize, "unable to connect to clamd %s: %s", e->name, strerror(errno));
    }
    if (io_write_all(fd, "zINSTREAM", 10, deadline) < 0) {   /* its NUL included */
        ret = cut_short(fd, errno, deadline, r, why, whysize);
        goto done;
    }
    while (left) {
        size_t want = left < CLAMD_CHUNK ? (size_t)left : CLAMD_CHUNK;
        ssize_t got = read(msgfd, chunk + 4, want);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            ret = log_why(why, whysize, "unable to read the message on fd 3: %s", strerror(errno));
            goto done;
        }
        if (got == 0) {
            ret = log_why(why, whysize, "the message on fd 3 ends %llu octets before its size", left);
            goto done;
        }
        chunk[0] = (char)((unsigned long)got >> 24);
        chunk[1] = (char)((unsigned long)got >> 16 & 255);
        chunk[2] = (char)((unsigned long)got >> 8 & 255);
        chunk[3] = (char)((unsigned long)got & 255);
        if (io_write_all(fd, chunk, 4 + (size_t)got, deadline) < 0) {
            ret = cut_short(fd, errno, deadline, r, why, whysize);
            goto done;
        }
        left -= (unsigned long long)got;
    }
    memset(chunk, 0, 4);
    if (io_write_all(fd, chunk, 4, deadline) < 0) {
        ret = cut_short(fd, errno, deadline, r, why, whysize);
        goto done;
    }
    ret = clamd_reply_read(fd, deadline, r, why, whysize);
done:
    close(fd);
    return ret;
}

/* "CODE X.Y.Z TEXT NAME" within the 400 characters of a reply text. */
static void refusal(char *line, size_t size, const char *verb, int code, const char *enhanced,
                    const char *text, const char *name)
{
    size_t room = 400 - strlen(enhanced) - 1 - (name[0] ? strlen(name) + 1 : 0);
    snprintf(line, size, "%s %d %s %.*s%s%s", verb, code, enhanced, (int)room, text,
             name[0] ? " " : "", name);
}

int clamd_verdict(const struct clamd_config *cfg, const struct clamd_result *r,
                  char *fact, size_t factsize, char *line, size_t size)
{
    if (r->status != CLAMD_FOUND) {
        snprintf(fact, factsize, "clean");
        snprintf(line, size, "continue");
        return 1;
    }
    snprintf(fact, factsize, "infected:%s", r->name);
    switch (cfg->found) {
    case ACTION_TEMPFAIL:
        refusal(line, size, "tempfail", cfg->found_code ? cfg->found_code : 451, "4.7.1",
                clamd_texts[TEXT_FOUND].text, r->name);
        break;
    case ACTION_DISCARD:
        snprintf(line, size, "discard");
        break;
    default:
        refusal(line, size, "reject", cfg->found_code ? cfg->found_code : 554, "5.7.1",
                clamd_texts[TEXT_FOUND].text, r->name);
        break;
    }
    return 0;
}

int clamd_verdict_oversize(const struct clamd_config *cfg, char *fact, size_t factsize,
                           char *line, size_t size)
{
    snprintf(fact, factsize, "unscanned:size");
    switch (cfg->oversize) {
    case ACTION_CONTINUE:
        snprintf(line, size, "continue");
        return 1;
    case ACTION_TEMPFAIL:
        refusal(line, size, "tempfail", 452, "4.3.4", clamd_texts[TEXT_TOO_BIG].text, "");
        return 0;
    default:
        refusal(line, size, "reject", 552, "5.3.4", clamd_texts[TEXT_TOO_BIG].text, "");
        return 0;
    }
}
