/* smtp-rspamd's logic: the request to rspamd's normal worker (POST
 * /checkv2, the envelope in request header fields), the reply's HTTP
 * framing, and the mapping of its JSON (action, score, messages, the
 * milter block) to the modifiers and the verdict of one eom answer.
 * The mapping is pure: it sees the message only through a counter of
 * its header fields, so that it can be tested and fuzzed without rspamd
 * or a proxy. */
#ifndef NOQUEUE_RSPAMD_H
#define NOQUEUE_RSPAMD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "filterproto.h"

#define RSPAMD_REPLY_MAX (512 * 1024)   /* the whole HTTP reply, octets */
#define RSPAMD_OPS_MAX 200              /* modifiers of one answer (the protocol allows 256) */
#define RSPAMD_ARENA 65536              /* the values of those modifiers */

struct rspamd_config {
    const char *address;        /* inet:HOST:PORT or unix:PATH */
    unsigned timeout;           /* seconds for the whole exchange with rspamd */
    unsigned long long max_size;    /* larger messages are not sent */
    const char *settings_id;    /* Settings-ID, or NULL */
    const char *mta_name;       /* MTA-Name, or NULL */
    const char *spam_header;    /* the add header action's field: X-Spam */
    const char *reject_text;    /* when rspamd gives no smtp_message */
    const char *tempfail_text;  /* the same for soft reject and greylist */
    int greylist_continue;      /* greylist -> continue, not 451 */
    unsigned long points;       /* score points per rspamd point; 0: none */
};

/* What the mapping knows of the message: how many header fields it has
 * (name NULL) or how many of one name (case-insensitive). */
struct rspamd_headers {
    unsigned long (*count)(void *ctx, const char *name);
    void *ctx;
};

enum rspamd_op_kind { OP_FACT, OP_SCORE, OP_INSERT, OP_CHANGE, OP_QUARANTINE };

struct rspamd_op {
    enum rspamd_op_kind kind;
    unsigned long index;        /* insert-header / change-header */
    long points;                /* score */
    const char *name;           /* fact or field name */
    const char *value;          /* NUL terminated; NULL: delete the field */
    size_t len;
    int adds;                   /* a change-header that adds a field at the end */
};

struct rspamd_answer {
    unsigned nops;
    struct rspamd_op op[RSPAMD_OPS_MAX];
    char verdict[FILTERPROTO_TEXT_MAX + 64];   /* "continue", "reject 554 5.7.1 ..." */
    char action[32];            /* rspamd's action, with _ for spaces: for the log */
    char score[32];             /* rspamd's score, as in the fact */
    size_t arena_len;
    char arena[RSPAMD_ARENA];
};

/* The HTTP framing of a reply in buf[0..len-1]: 1 complete, with the body
 * at *body (*bodylen octets); 0 incomplete (read more: *need says how
 * much in all, or 0 if unknown); -1 malformed or not a 200, the reason
 * in why.  eof says the peer has closed: no more will come. */
int rspamd_http_reply(const char *buf, size_t len, int eof, const char **body, size_t *bodylen,
                      char *why, size_t size);

/* The answer to one message from rspamd's JSON reply: 0, or -1 when the
 * reply is not what rspamd sends (the reason in why). */
int rspamd_answer(struct rspamd_answer *a, const struct rspamd_config *cfg, const char *json,
                  size_t n, const struct rspamd_headers *h, char *why, size_t size);

/* Header fields of the message that starts at offset start of fd (read
 * with pread: the descriptor's offset stays where it is). */
unsigned long rspamd_count_fields(int fd, off_t start, const char *name);

#endif
