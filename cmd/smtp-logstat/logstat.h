/* smtp-logstat: a summary of noqueue's log, and the lines of one message;
 * see smtp-logstat(8).  The logic, apart from main(), so that the unit
 * test can feed it lines. */
#ifndef LOGSTAT_H
#define LOGSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LINE_MAX_IN 8192        /* a line past this is counted, not read */
#define KEY_MAX 128             /* a table's key is cut to KEY_MAX - 1 octets */
#define TABLE_CAP 4096          /* distinct keys per table; see table_add */
#define SERIES_MAX 32           /* filters timed by name; others in one */
#define HIST_EXACT 10000        /* milliseconds counted one by one */
#define HIST_SECONDS 600        /* then whole seconds up to 10 minutes */
#define HIST_SLOTS (HIST_EXACT + HIST_SECONDS + 1)
#define NO_TIME INT64_MIN

/* One line, split (pointers into the caller's line). */
struct logline {
    int64_t time;               /* seconds since 1970 (UTC), or NO_TIME */
    const char *prog;           /* "smtp-proxyd" */
    size_t prog_len;
    const char *level;          /* "info", "warning", "fatal" */
    size_t level_len;
    const char *word;           /* "transaction", or "" for a line of fields */
    size_t word_len;
    const char *fields;         /* the rest, after the word */
    const char *end;
    const char *conn;           /* conn= (of an info line, or "conn=ID:") */
    size_t conn_len;
};

/* Split a line (no newline): 1 for a line of a program ("PROG: LEVEL:"),
 * 0 for anything else (then only time is set). */
int logline_parse(const char *s, size_t n, struct logline *l);
/* The time of a stamp at s (TAI64N "@4000...", or s6-tai64nlocal's
 * "YYYY-MM-DD HH:MM:SS.nnnnnnnnn", local time): its length with the space
 * after it, or 0 when there is none. */
size_t stamp_parse(const char *s, size_t n, int64_t *t);
/* A time of -f or -t: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" (or with a T),
 * local time, or "@SECONDS" since 1970: 0, or -1 when it is not one. */
int time_parse(const char *s, int64_t *t);

/* The next key=value field from *p (before end): 1 with key and its value
 * (unquoted, cut to vsize - 1, NUL-terminated), 0 at the end.  A word
 * without "=" is a field with an empty key. */
int field_next(const char **p, const char *end, char *key, size_t ksize,
               char *val, size_t vsize);
/* The value of field KEY of a line, as field_next gives it: 1, or 0. */
int field_get(const struct logline *l, const char *key, char *val, size_t vsize);

struct table_entry {
    char key[KEY_MAX];
    uint64_t count;             /* at most this many */
    uint64_t err;               /* and at least count - err */
};
struct table {
    const char *title;
    unsigned n;
    uint64_t evicted;           /* keys that gave their place to another */
    uint16_t slot[2 * TABLE_CAP];   /* index + 1 into e, 0 free */
    struct table_entry e[TABLE_CAP];
};
/* Count KEY COUNT times more.  Exact up to TABLE_CAP distinct keys; past
 * that, a new key takes the place of the key with the smallest count and
 * starts from that count (its err): the Space-Saving algorithm of
 * Metwally et al., so a key counted more often than the smallest kept
 * count is always in the table. */
void table_add(struct table *t, const char *key, uint64_t count);
/* The entries sorted by count (most first, then key), into idx[0..n-1]. */
unsigned table_sorted(const struct table *t, unsigned *idx);

struct series {
    char name[KEY_MAX];
    uint64_t count, sum, max;
    uint32_t slot[HIST_SLOTS];
};
void series_add(struct series *s, uint64_t ms);
/* The p-th percentile (nearest rank; p in 1..100): exact below HIST_EXACT
 * ms, in whole seconds (rounded down) above, HIST_SECONDS s past it. */
uint64_t series_percentile(const struct series *s, unsigned p);

enum result {
    R_DELIVERED, R_REJECTED, R_TEMPFAILED, R_DISCARDED, R_QUARANTINED,
    R_ABORTED, R_NORECIPIENT, R_UNAVAILABLE, R_OTHER, R_COUNT
};
extern const char *const result_names[R_COUNT];

#define HOURS 25                /* 0..23, and 24: lines without a time */
struct hour {
    uint64_t connections, transactions, delivered, refused;
};

struct stats {
    uint64_t lines, program_lines, other_lines, unstamped, too_long;
    uint64_t connections, tls, early_talkers;
    uint64_t transactions, results[R_COUNT];
    uint64_t refused_rcpts;
    int64_t first, last;        /* times of the first and last line read */
    struct hour hours[HOURS];
    struct table other_results, end_reasons, refusals, filter_lines;
    struct table clients, senders, domains;
    struct series upstream;
    unsigned nfilters;
    struct series filters[SERIES_MAX + 1];  /* the last: every other name */
};

void stats_init(struct stats *st);
void stats_line(struct stats *st, const char *s, size_t n);
void stats_too_long(struct stats *st);
int report_text(FILE *f, const struct stats *st, unsigned top);
int report_html(FILE *f, const struct stats *st, unsigned top);

/* -m: what a pattern is, and the connections it found. */
#define TRACK_MAX 1024          /* connections followed at once */
struct track_target {
    char conn[64];
    long n;                     /* the transaction, or 0: the whole connection */
    uint64_t match;             /* the line that named the pattern */
    uint64_t lo, hi;            /* line numbers of the connection's lines */
};
struct track {
    const char *pattern;
    int by_conn;                /* the pattern is a connection id (ID or ID.n) */
    unsigned ntargets;
    int overflow;               /* more than TRACK_MAX connections matched */
    struct track_target t[TRACK_MAX];
};
/* 1 when the pattern is a connection id, ID or ID.n (found without pass
 * 1 and 2), 0 for an address or Message-ID. */
int track_init(struct track *tr, const char *pattern);
/* Pass 1: does the line name the pattern?  Records its connection, and
 * the connection's end line. */
void track_find(struct track *tr, const struct logline *l, uint64_t lineno);
/* Pass 2: where each connection starts: after the last end line of the
 * same id before the match (an old log names connections by pid). */
void track_bound(struct track *tr, const struct logline *l, uint64_t lineno);
/* Pass 3: is this line one to print? */
int track_want(const struct track *tr, const struct logline *l, uint64_t lineno);

#endif
