/* A filter's check mode (smtp-filter(7), ENVIRONMENT): with NOQUEUE_CHECK=1
 * in the environment, a filter checks all of its configuration before its
 * handshake, including what it would open at its first event (tables,
 * files, its store, its daemon), reports every problem on stderr, one
 * line each, and exits 100 (configuration) or 111 (temporary: a daemon
 * down) when there was any; otherwise it goes on as normal.  Without
 * NOQUEUE_CHECK, checkmode_fatal is log_fatal: the first problem ends the
 * program, as before. */
#ifndef NOQUEUE_CHECKMODE_H
#define NOQUEUE_CHECKMODE_H

#include <stddef.h>
#include <stdint.h>

#include "statustext.h"

/* NOQUEUE_CHECK is "1". */
int checkmode_on(void);
/* "PROG: fatal: ...": exits with status, or in check mode counts the
 * problem (status 100 or 111) and returns. */
void checkmode_fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, but it never exits, in either mode: a problem of many found
 * at once (every bad line of a file); checkmode_end then exits. */
void checkmode_report(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* checkmode_fatal with ": strerror(errno)". */
void checkmode_fatal_sys(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The problems so far. */
unsigned checkmode_problems(void);
/* Every bad SMTP_TEXT_ of the table, one line each (not only the first);
 * the number of bad ones.  room > 0: a text longer than room is one too. */
unsigned checkmode_texts(struct statustext *table, size_t n, size_t room);
/* One connection to a daemon, request written, its answer read up to the
 * first octet end (included, replaced by NUL; CR before it dropped) into
 * answer[0..size-1]: the cheapest real request a daemon has (clamd's
 * PING, spamd's PING, rspamd's /ping).  0, or -1 with why, naming what. */
struct endpoint;
int checkmode_ask(const struct endpoint *e, const char *what, const char *request, size_t n, char end,
                  char *answer, size_t size, int64_t deadline, char *why, size_t whysize);
/* With any problem counted (in check mode, or by checkmode_report): exit
 * 100 if one was of the configuration, else 111.  Otherwise it returns. */
void checkmode_end(void);

#endif
