/* The smarthost session of smtp-forward: connect to the first smarthost
 * that answers, EHLO (HELO as fallback), commands and checked replies. */
#ifndef SMTP_FORWARD_UPSTREAM_H
#define SMTP_FORWARD_UPSTREAM_H

#include <stdint.h>

#include <sys/types.h>

#include "client.h"
#include "ehlocache.h"
#include "io.h"
#include "smtp_reply.h"
#include "tlspipe.h"

#define CAP_STARTTLS   8u
#define CAP_XCLIENT   16u
#define CAP_XFORWARD  32u

/* Laid out by what a connection writes: the small fields, the reply
 * read last and the two buffers' first octets, near each other; the EHLO
 * reply of the check mode, written only there, last.  A page touched is a
 * page fault (bench/README, "The gap, item by item"). */
struct upstream {
    int fd;                     /* -1 when not connected */
    pid_t tls_pid;              /* smtp-tls, after STARTTLS; fd is then its plaintext */
    unsigned caps;
    struct ehlo_caps ehlo;      /* what the last EHLO reply offered */
    unsigned xclient, xforward; /* the attributes each lists (client.h) */
    int64_t last_activity;      /* for keep-alive */
    int keep_ehlo;              /* check mode: keep the EHLO reply, whole */
    char peer[80];              /* "address port", for the log */
    struct io_in in;
    struct io_out out;
    /* The smarthost's last reply, one at a time (each is used before the
     * next command is sent): one for the session, not a 16 KB local in
     * every function that reads one. */
    struct smtp_reply reply;
    char inbuf[8192];
    char outbuf[65536];
    struct tls_info tls;        /* smtp-tls's status (why it failed) */
    char ehlo_reply[SMTP_REPLY_MAX];
    size_t ehlo_len;
};

enum tls_mode { TLS_OFF, TLS_OPPORTUNISTIC, TLS_REQUIRED, TLS_VERIFY };

struct upstream_config {
    char **hosts;               /* HOST PORT HOST PORT ... */
    int nhosts;
    const char *helo;
    unsigned connect_timeout;   /* seconds, per address */
    unsigned reply_timeout;     /* seconds, per command */
    enum tls_mode tls_mode;
    const char *tls_program, *tls_cafile, *tls_cadir, *tls_name;
    int tell_client;            /* XCLIENT or XFORWARD when offered (-X) */
    struct client_info client;
    const char *ehlo_cache;     /* NOQUEUE_EHLO_CACHE, or 0 */
};

void upstream_init(struct upstream *u);
/* Connect and greet, all by the deadline: 0, or -1 after logging why for
 * each smarthost.  The EHLO cache (cfg->ehlo_cache) is written then, when
 * it changed. */
int upstream_connect(struct upstream *u, const struct upstream_config *cfg, int64_t deadline);
/* Connect to the smarthost of cfg->hosts[i], cfg->hosts[i + 1] only
 * (every address of the name): 0, or -1. */
int upstream_connect_one(struct upstream *u, const struct upstream_config *cfg, int i,
                         int64_t deadline);
/* The last EHLO reply, as the smarthost gave it (LF line ends). */
const char *upstream_ehlo_reply(const struct upstream *u, size_t *n);
/* Send a command line (CRLF added) and read the reply into u->reply.
 * Returns 0, or -1 when the connection is no longer usable (it is then
 * closed and why is logged); a 421 reply also closes it, but returns 0. */
int upstream_command(struct upstream *u, const char *line, int64_t deadline);
int upstream_read_reply(struct upstream *u, int64_t deadline, const char *what);
/* Several commands in one write (RFC 2920, when the smarthost offers
 * PIPELINING): each line is only buffered here (CRLF added); the replies
 * are then read in order with upstream_read_reply, whose first read
 * writes them all.  0, or -1 with the connection closed. */
int upstream_send(struct upstream *u, const char *line, int64_t deadline);
void upstream_close(struct upstream *u);
/* The smarthost spoke while no command was pending: read it for the log,
 * and close (a 421 before closing, or a broken peer). */
void upstream_unasked(struct upstream *u);
/* QUIT politely, briefly, then close. */
void upstream_quit(struct upstream *u);

#endif
