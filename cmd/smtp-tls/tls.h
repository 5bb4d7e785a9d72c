/* smtp-tls: TLS for one SMTP connection, in its own process, so that the
 * programs of the plaintext path never load OpenSSL.  See smtp-tls(8). */
#ifndef SMTP_TLS_H
#define SMTP_TLS_H

#include <stdint.h>
#include <openssl/ssl.h>

/* The descriptors, after UCSPI: the network on 6 and 7, the plaintext
 * side on 0 and 1. */
#define FD_NET_READ    6
#define FD_NET_WRITE   7
#define FD_PLAIN_READ  0
#define FD_PLAIN_WRITE 1

struct tls_config {
    int server;                 /* -s; else -C */
    const char *certfile;       /* -c, $CERTFILE */
    const char *keyfile;        /* -k, $KEYFILE */
    const char *cafile;         /* -a */
    const char *cadir;          /* -A */
    const char *servername;     /* -n */
    int request_client_cert;    /* -r */
    int verify;                 /* -v */
    int check_only;             /* -x: nothing on fd 1, ever */
    unsigned timeout;           /* -t */
};

extern struct tls_config config;

/* context.c: the SSL_CTX for the configured side.  A bad configuration
 * (unreadable file, key and certificate that do not match) ends the
 * program with 100. */
SSL_CTX *tls_context_new(void);
/* The reason of the oldest error in OpenSSL's queue, or fallback. */
const char *tls_error_text(const char *fallback);

/* handshake.c: the handshake on fds 6 and 7 by the deadline, then the
 * status line "ok ..." on fd 1.  A failure ends the program with 111. */
SSL *tls_handshake(SSL_CTX *ctx, int64_t deadline);
/* "fail REASON" on fd 1 (not with -x) and one line on fd 2, then exit:
 * 100 "fatal: WHAT: REASON", 111 "warning: WHAT: REASON". */
void tls_fail(int status, const char *what, const char *reason)
    __attribute__((noreturn));
/* Who is at the other end of fd 6, for log lines. */
const char *tls_peer_name(void);

/* relay.c: copy both ways until both are done.  Returns the exit code. */
int tls_relay(SSL *ssl);

#endif
