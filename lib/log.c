#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

const char *log_program = "noqueue";

/* NOQUEUE_CONN, when it is a connection id (see log_conn_id; a number
 * too): the connection this process works for (smtp-proxyd's conn=
 * field), so that a warning of any program of a connection can be found
 * with that connection's lines. */
static const char *conn(void)
{
    const char *c = getenv("NOQUEUE_CONN");
    size_t n = c ? strlen(c) : 0;
    const char *d = "0123456789";
    if (!n || n > LOG_CONN_ID_MAX) return 0;
    if (strspn(c, d) == n) return n <= 20 ? c : 0;     /* a pid */
    return n > 17 && strspn(c, "0123456789abcdef") == 16 && c[16] == '-' &&
           strspn(c + 17, d) == n - 17 ? c : 0;
}

size_t log_conn_id(char *buf, size_t size, const struct timespec *start, long pid)
{
    int n = snprintf(buf, size, "%08llx%08lx-%ld", (unsigned long long)start->tv_sec & 0xffffffffULL,
                     (unsigned long)start->tv_nsec & 0xffffffffUL, pid);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* "PROG: LEVEL:", then " conn=N:" on a warning or fatal line when
 * NOQUEUE_CONN gives one; its length, cut to size - 1 (size > 0). */
static size_t prefix(char *buf, size_t size, const char *level)
{
    const char *c = conn();
    int n = c && (!strcmp(level, "warning") || !strcmp(level, "fatal"))
          ? snprintf(buf, size, "%s: %s: conn=%s:", log_program, level, c)
          : snprintf(buf, size, "%s: %s:", log_program, level);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static void emit(const char *level, int err, const char *fmt, va_list ap)
{
    char buf[1024];
    int n = (int)prefix(buf, sizeof buf - 1, level), m;
    buf[n++] = ' ';
    m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    if (m > 0) n += m;
    if ((size_t)n >= sizeof buf - 1) n = (int)sizeof buf - 2;
    if (err) {
        m = snprintf(buf + n, sizeof buf - (size_t)n, ": %s", strerror(err));
        if (m > 0) n += m;
        if ((size_t)n >= sizeof buf - 1) n = (int)sizeof buf - 2;
    }
    buf[n++] = '\n';
    if (write(2, buf, (size_t)n) < 0) { /* nowhere left to report it */ }
}

void log_fatal(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("fatal", 0, fmt, ap);
    va_end(ap);
    _exit(status);
}

void log_fatal_sys(int status, const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    emit("fatal", err, fmt, ap);
    va_end(ap);
    _exit(status);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("warning", 0, fmt, ap);
    va_end(ap);
}

int log_why(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return -1;
}

void log_warn_sys(const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    emit("warning", err, fmt, ap);
    va_end(ap);
}

void log_kv_conn(struct log_line *l)
{
    const char *c = conn();
    if (c) log_kv_str(l, "conn", c);
}

void log_line_event(struct log_line *l, const char *event)
{
    log_line_start(l, "info");
    log_raw(l, " ", 1);
    log_raw(l, event, strlen(event));
    log_kv_conn(l);
}

void log_raw(struct log_line *l, const char *s, size_t n)
{
    if (l->truncated) return;
    if (n > LOG_LINE_MAX - 4 - l->len) {
        memcpy(l->buf + l->len, " ...", 4);
        l->len += 4;
        l->truncated = 1;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

void log_line_start(struct log_line *l, const char *level)
{
    char p[256];
    l->len = 0;
    l->truncated = 0;
    log_raw(l, p, prefix(p, sizeof p, level));
}

static int safe(unsigned char c)
{
    return c > 32 && c < 127 && c != '"' && c != '\\';
}

void log_value(struct log_line *l, const char *v, size_t n)
{
    char buf[LOG_LINE_MAX];
    size_t i, o = 0;
    int quote = !n;
    for (i = 0; i < n; i++)
        if (!safe((unsigned char)v[i])) quote = 1;
    if (!quote) {
        log_raw(l, v, n);
        return;
    }
    buf[o++] = '"';
    for (i = 0; i < n && o < sizeof buf - 6; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c >= 32 && c < 127) {
            buf[o++] = (char)c;
        } else {
            o += (size_t)snprintf(buf + o, 5, "\\x%02X", c);
        }
    }
    buf[o++] = '"';
    log_raw(l, buf, o);
}

void log_kv(struct log_line *l, const char *key, const char *value, size_t n)
{
    log_raw(l, " ", 1);
    log_raw(l, key, strlen(key));
    log_raw(l, "=", 1);
    log_value(l, value, n);
}

void log_kv_str(struct log_line *l, const char *key, const char *value)
{
    log_kv(l, key, value, strlen(value));
}

void log_kv_num(struct log_line *l, const char *key, long long value)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", value);
    log_kv(l, key, buf, (size_t)n);
}

void log_line_emit(struct log_line *l)
{
    l->buf[l->len++] = '\n';
    if (write(2, l->buf, l->len) < 0) { /* nowhere left to report it */ }
    l->len--;
}
