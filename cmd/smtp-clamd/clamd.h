/* smtp-clamd: the message to clamd with INSTREAM, clamd's answer mapped
 * to a verdict.  The logic is here, apart from main(), so that the unit
 * tests and the fuzz harness can call it. */
#ifndef SMTP_CLAMD_H
#define SMTP_CLAMD_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"
#include "statustext.h"

#define CLAMD_REPLY_MAX 1024        /* clamd's longest answer we take */
#define CLAMD_NAME_MAX 200          /* a signature's name */
#define CLAMD_CHUNK 65536           /* octets per INSTREAM chunk */

enum clamd_status {
    CLAMD_CLEAN,                    /* "stream: OK" */
    CLAMD_FOUND,                    /* "stream: NAME FOUND" */
    CLAMD_LIMIT,                    /* "INSTREAM size limit exceeded. ERROR" */
    CLAMD_ERROR,                    /* any other "... ERROR" */
};

struct clamd_result {
    enum clamd_status status;
    /* FOUND: the signature; ERROR: clamd's text (printable, shortened) */
    char name[CLAMD_NAME_MAX + 1];
};

/* What to do with a find, or with a message larger than -m. */
enum clamd_action { ACTION_REJECT, ACTION_TEMPFAIL, ACTION_DISCARD, ACTION_CONTINUE };

struct clamd_config {
    struct endpoint clamd;
    unsigned timeout;               /* seconds for one scan, all of it */
    unsigned long long max;         /* clamd's StreamMaxLength */
    enum clamd_action found;        /* reject, tempfail or discard */
    int found_code;                 /* its reply code (0: 554 / 451) */
    enum clamd_action oversize;     /* reject, tempfail or continue */
    char header[65];                /* the field added to a clean message, or "" */
};

enum { TEXT_FOUND, TEXT_TOO_BIG, TEXT_COUNT };
extern struct statustext clamd_texts[TEXT_COUNT];

void clamd_config_init(struct clamd_config *cfg);
/* "reject", "tempfail", "discard", "continue": 0, or -1. */
int clamd_action_parse(const char *s, enum clamd_action *a);

/* One answer of clamd, the octets before its NUL: 0, or -1 when it is
 * none of the forms above (why says what it was). */
int clamd_reply_parse(const char *s, size_t n, struct clamd_result *r, char *why, size_t size);
/* Read one answer from fd (up to a NUL, or the end of the stream) and
 * parse it: 0, or -1 with why set. */
int clamd_reply_read(int fd, int64_t deadline, struct clamd_result *r, char *why, size_t size);
/* The whole exchange: connect, zINSTREAM, size octets of msgfd in
 * chunks, the end chunk, the answer.  0 with r set, or -1 when clamd
 * could not be asked or said nonsense (why says which); a write that
 * clamd cut short is answered by what it said before closing. */
int clamd_scan(const struct endpoint *e, int msgfd, unsigned long long size, int64_t deadline,
               struct clamd_result *r, char *why, size_t whysize);

/* The verdict line for a scanned message, the value of the clamd fact in
 * fact[0..CLAMD_NAME_MAX + 16).  Returns 1 when the message passes (the
 * verdict is "continue"). */
int clamd_verdict(const struct clamd_config *cfg, const struct clamd_result *r,
                  char *fact, size_t factsize, char *line, size_t size);
/* The same for a message larger than cfg->max, never sent. */
int clamd_verdict_oversize(const struct clamd_config *cfg, char *fact, size_t factsize,
                           char *line, size_t size);

/* The filter loop (filter.c). */
int clamd_serve(const struct clamd_config *cfg);

#endif
