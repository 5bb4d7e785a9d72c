/* TLS by a separate program, smtp-tls(8): it takes the network connection
 * on its fds 6 and 7 and gives us the plaintext on a socketpair, after one
 * status line.  So the programs that start it never link OpenSSL, and a
 * plaintext connection never pays for it. */
#ifndef NOQUEUE_TLSPIPE_H
#define NOQUEUE_TLSPIPE_H

#include <stdint.h>
#include <sys/types.h>

#include "io.h"

/* The status line of smtp-tls, both sides of it: at most this long, LF
 * included, and a subject (the only long field) cut to SUBJECT_MAX
 * octets before its xtext encoding. */
#define TLSPIPE_STATUS_MAX  4096
#define TLSPIPE_SUBJECT_MAX 1000
#define TLSPIPE_FIELD_MAX   (TLSPIPE_SUBJECT_MAX + 1)

struct tls_info {
    char version[32];           /* "TLSv1.3" */
    char cipher[64];
    char peer[TLSPIPE_FIELD_MAX];   /* the peer certificate's subject, "" if none */
    char verify[TLSPIPE_FIELD_MAX]; /* "ok", the verification error, "" if none */
    char reason[TLSPIPE_FIELD_MAX]; /* why it failed */
};

/* The command line of smtp-tls(8) for one side of a connection. */
struct tlspipe_args {
    const char *program;        /* smtp-tls, or another */
    int server;                 /* -s, else -C (client) */
    const char *cert, *key;     /* -c -k (server) */
    int request_cert;           /* -r (server) */
    int verify;                 /* -v (client) */
    const char *name;           /* -n: the name to check (client) */
    const char *cafile, *cadir; /* -a -A */
    int64_t deadline;           /* -t: the seconds left until it */
};
#define TLSPIPE_ARGV_MAX 20
/* Fill argv (TLSPIPE_ARGV_MAX) from a; secs holds -t's number. */
void tlspipe_argv(const struct tlspipe_args *a, char *argv[TLSPIPE_ARGV_MAX], char secs[24]);

/* Start argv with the network on net_read/net_write (they become its 6
 * and 7); *plain gets our end of the socketpair (close-on-exec,
 * non-blocking).  0, or -1 with errno. */
int tlspipe_start(char *const argv[], int net_read, int net_write, pid_t *pid, int *plain);
/* Read the status line from in (on *plain) by the deadline: 0 for "ok"
 * with info filled, -1 for "fail" or anything else, with info->reason. */
int tlspipe_status(struct io_in *in, struct tls_info *info, int64_t deadline);

#endif
