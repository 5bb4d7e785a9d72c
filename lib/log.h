/* Messages on stderr, one line per write(2) so that the lines of several
 * processes sharing a log pipe never interleave:
 *   PROG: fatal: unable to open rcpt.cdb: No such file or directory
 *   PROG: warning: conn=4242: smarthost 192.0.2.7:25 refused RSET, closing
 *   PROG: info: key=value key="value with spaces" ...
 * A warning or fatal line says "conn=ID: " first when NOQUEUE_CONN is a
 * connection id in the environment: smtp-proxyd sets it to its own for
 * itself and every program it starts.
 * Values with a space, a quote, a backslash or a byte outside 33..126 are
 * quoted, with \" \\ and \xHH inside the quotes. */
#ifndef NOQUEUE_LOG_H
#define NOQUEUE_LOG_H

#include <stddef.h>
#include <time.h>

extern const char *log_program;

#define LOG_LINE_MAX 4000           /* below PIPE_BUF: one atomic write */

void log_fatal(int status, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
void log_fatal_sys(int status, const char *fmt, ...)   /* ": strerror(errno)" */
    __attribute__((noreturn, format(printf, 2, 3)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A reason for the caller's error message, in why[0..size-1]: returns -1,
 * so that "return log_why(why, size, ...)" reports a failure. */
int log_why(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_warn_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A connection's id, unique over time where a pid is not (pids wrap):
 * the connection's start on the real-time clock, seconds since 1970 and
 * nanoseconds as 8 + 8 lower-case hexadecimal digits, a dash, the pid
 * ("69c1a2b30c5d8e4f-48213").  A pid is used again only after its
 * process has exited, so two connections with one pid started apart in
 * time.  Its length, cut to size - 1 (size > 0). */
#define LOG_CONN_ID_MAX 40
size_t log_conn_id(char *buf, size_t size, const struct timespec *start, long pid);

struct log_line {
    size_t len;
    int truncated;
    char buf[LOG_LINE_MAX + 1];
};

void log_line_start(struct log_line *l, const char *level);
void log_kv(struct log_line *l, const char *key, const char *value, size_t n);
void log_kv_str(struct log_line *l, const char *key, const char *value);
void log_kv_num(struct log_line *l, const char *key, long long value);
/* conn=NOQUEUE_CONN, when it is set (see above); else nothing. */
void log_kv_conn(struct log_line *l);
/* "PROG: info: EVENT conn=N": the start of a line about one connection. */
void log_line_event(struct log_line *l, const char *event);
/* Append raw text, no quoting (the caller's own key=value pieces). */
void log_raw(struct log_line *l, const char *s, size_t n);
/* Append a quoted-if-needed value with no key. */
void log_value(struct log_line *l, const char *value, size_t n);
void log_line_emit(struct log_line *l);

#endif
