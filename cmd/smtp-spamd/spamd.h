/* smtp-spamd: the message to SpamAssassin's spamd (SPAMC/1.5), its
 * answer mapped to a verdict, header fields and facts.  The logic is
 * here, apart from main(), for the unit tests and the fuzz harness. */
#ifndef SMTP_SPAMD_H
#define SMTP_SPAMD_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"
#include "statustext.h"

#define SPAMD_LINE_MAX 1024         /* a line of spamd's answer header */
#define SPAMD_HEAD_LINES 32         /* header lines of an answer, at most */
#define SPAMD_BODY_MAX 65536        /* the symbols or the report */
#define SPAMD_SCORE_MAX 1000000     /* |points| */
#define SPAMD_USER_MAX 64
/* An X-Spam-Status or X-Spam-Report value: in xtext (3 octets for a
 * space) it still fits in one line of smtp-filter(7). */
#define SPAMD_STATUS_MAX 1200
#define SPAMD_RULE_MAX 100          /* a rule's name */

enum spamd_method { METHOD_SYMBOLS, METHOD_REPORT };
enum spamd_refuse { REFUSE_NEVER, REFUSE_SPAM, REFUSE_POINTS };

struct spamd_config {
    struct endpoint spamd;
    unsigned timeout;               /* seconds for one scan, all of it */
    enum spamd_method method;
    char user[SPAMD_USER_MAX + 1];  /* "User:", or "" for none */
    unsigned long long max;         /* larger messages are not scanned */
    enum spamd_refuse refuse;
    long refuse_at;                 /* thousandths of a point */
    int code;                       /* the refusal's code (default 550) */
    long points;                    /* noqueue score points per spamd point, 0 for none */
    int tag;                        /* add the X-Spam- fields */
};

struct spamd_reply {
    int spam;                       /* "Spam: True" */
    long score, threshold;          /* thousandths */
    char score_text[16], threshold_text[16];  /* "-1.5", "5.0" */
    size_t bodylen;
    char body[SPAMD_BODY_MAX + 1];  /* NUL terminated */
};

enum { TEXT_SPAM, TEXT_COUNT };
extern struct statustext spamd_texts[TEXT_COUNT];

void spamd_config_init(struct spamd_config *cfg);
/* A score: an optional -, digits, an optional . and up to three more
 * digits, |value| <= SPAMD_SCORE_MAX; in thousandths.  1 ok, 0 not. */
int spamd_score_parse(const char *s, size_t n, long *thousandths);

/* The request header for a message of size octets, in out[0..size). */
size_t spamd_request(const struct spamd_config *cfg, unsigned long long msgsize, char *out, size_t size);
/* Read and check one answer on fd: 0, or -1 with why set (an answer that
 * is not EX_OK is one: spamd's text is in why). */
int spamd_reply_read(int fd, int64_t deadline, struct spamd_reply *r, char *why, size_t size);
/* The whole exchange: 0 with r set, or -1 with why. */
int spamd_scan(const struct spamd_config *cfg, int msgfd, unsigned long long size, int64_t deadline,
               struct spamd_reply *r, char *why, size_t whysize);

/* The names of the rules hit, comma-separated, from a SYMBOLS body or the
 * table of a REPORT: 0 with out NUL terminated (cut at a comma if too
 * long), or -1 when the body is not of that form. */
int spamd_tests(enum spamd_method method, const char *body, size_t n, char *out, size_t size);
/* The X-Spam-Status value: "Yes, score=S required=T tests=A,B" folded. */
size_t spamd_status_field(const struct spamd_reply *r, const char *tests, char *out, size_t size);
/* The X-Spam-Report value from a REPORT body: its lines folded, printable. */
size_t spamd_report_field(const char *body, size_t n, char *out, size_t size);
/* Is the message refused?  The verdict line if so. */
int spamd_refused(const struct spamd_config *cfg, const struct spamd_reply *r, char *line, size_t size);
/* The noqueue score points for r (cfg->points per point, rounded). */
long spamd_points(const struct spamd_config *cfg, const struct spamd_reply *r);

int spamd_serve(const struct spamd_config *cfg);

#endif
