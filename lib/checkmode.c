#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkmode.h"
#include "endpoint.h"
#include "io.h"
#include "log.h"

static unsigned problems;
static int worst;               /* 100 beats 111: a fix of the configuration comes first */

int checkmode_on(void)
{
    const char *c = getenv("NOQUEUE_CHECK");
    return c && !strcmp(c, "1");
}

static void problem(int status, int err, int always, const char *fmt, va_list ap)
{
    char text[LOG_LINE_MAX];
    struct log_line l;
    vsnprintf(text, sizeof text, fmt, ap);
    if (!always && !checkmode_on()) {
        if (err) {
            errno = err;
            log_fatal_sys(status, "%s", text);
        }
        log_fatal(status, "%s", text);
    }
    problems++;
    if (status != 111) worst = 100;
    else if (!worst) worst = 111;
    log_line_start(&l, "fatal");
    log_raw(&l, " ", 1);
    log_raw(&l, text, strlen(text));
    if (err) {
        log_raw(&l, ": ", 2);
        log_raw(&l, strerror(err), strlen(strerror(err)));
    }
    log_line_emit(&l);
}

void checkmode_fatal(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem(status, 0, 0, fmt, ap);
    va_end(ap);
}

void checkmode_report(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem(status, 0, 1, fmt, ap);
    va_end(ap);
}

void checkmode_fatal_sys(int status, const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    problem(status, err, 0, fmt, ap);
    va_end(ap);
}

unsigned checkmode_problems(void)
{
    return problems;
}

unsigned checkmode_texts(struct statustext *table, size_t n, size_t room)
{
    unsigned bad = 0;
    size_t i = 0;
    while (i < n) {
        const char *why;
        int k = statustext_load(table + i, n - i, &why);
        if (k < 0) break;
        checkmode_fatal(100, "SMTP_TEXT_%s %s", table[i + (size_t)k].name, why);
        bad++;
        i += (size_t)k + 1;
    }
    if (room)
        for (i = 0; i < n; i++)
            if (strlen(table[i].text) > room) {
                checkmode_fatal(100, "SMTP_TEXT_%s is longer than %zu characters", table[i].name, room);
                bad++;
            }
    return bad;
}

int checkmode_ask(const struct endpoint *e, const char *what, const char *request, size_t n, char end,
                  char *answer, size_t size, int64_t deadline, char *why, size_t whysize)
{
    size_t len = 0;
    char *at;
    int fd = endpoint_connect(e, deadline), ret = -1;
    if (fd < 0) {
        if (errno == ETIMEDOUT) return log_why(why, whysize, "unable to connect to %s %s in time", what, e->name);
        return log_why(why, whysize, "unable to connect to %s %s: %s", what, e->name, strerror(errno));
    }
    if (io_write_all(fd, request, n, deadline) < 0) {
        log_why(why, whysize, "unable to write to %s %s: %s", what, e->name, strerror(errno));
        goto done;
    }
    while (!(at = memchr(answer, end, len))) {
        ssize_t got;
        if (len + 1 >= size) {
            log_why(why, whysize, "%s %s: an answer longer than %zu octets", what, e->name, len);
            goto done;
        }
        got = read(fd, answer + len, size - 1 - len);
        if (got > 0) {
            len += (size_t)got;
            continue;
        }
        if (got == 0) {
            log_why(why, whysize, "%s %s closed the connection without an answer", what, e->name);
            goto done;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) {
            log_why(why, whysize, "unable to read from %s %s: %s", what, e->name, strerror(errno));
            goto done;
        }
        if (io_wait(fd, POLLIN, deadline) <= 0) {
            log_why(why, whysize, "%s %s did not answer in time", what, e->name);
            goto done;
        }
    }
    *at = 0;
    if (at > answer && at[-1] == '\r') at[-1] = 0;
    ret = 0;
done:
    close(fd);
    return ret;
}

void checkmode_end(void)
{
    if (problems) _exit(worst);
}
