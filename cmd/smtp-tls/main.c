/* smtp-tls: the TLS side of one SMTP connection.  Started by smtp-proxyd
 * or smtp-forward when a STARTTLS happens, so that only a TLS session pays
 * for OpenSSL; see smtp-tls(8). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "deadline.h"
#include "io.h"
#include "log.h"
#include "scan.h"
#include "tls.h"

#define USAGE "usage: smtp-tls -s [-c certfile] [-k keyfile] [-a cafile] [-r]" \
              " [-t seconds] [-x] | -C [-a cafile] [-A cadir] [-n servername]" \
              " [-v] [-t seconds]"

struct tls_config config = { .timeout = 30 };

static void usage(void)
{
    log_fatal(100, USAGE);
}

static void options(int argc, char **argv)
{
    int opt, server_only = 0, client_only = 0;
    unsigned long v;
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "+sCc:k:a:A:n:rvt:x")) != -1) {
        switch (opt) {
        case 's': if (config.server < 0) usage(); config.server = 1; break;
        case 'C': if (config.server > 0) usage(); config.server = -1; break;
        case 'c': config.certfile = optarg; server_only = 1; break;
        case 'k': config.keyfile = optarg; server_only = 1; break;
        case 'r': config.request_client_cert = 1; server_only = 1; break;
        case 'x': config.check_only = 1; server_only = 1; break;
        case 'a': config.cafile = optarg; break;
        case 'A': config.cadir = optarg; client_only = 1; break;
        case 'n': config.servername = optarg; client_only = 1; break;
        case 'v': config.verify = 1; client_only = 1; break;
        case 't': if (!scan_ulong(optarg, 3600, &v) || !v) usage(); config.timeout = (unsigned)v; break;
        default: usage();
        }
    }
    if (optind != argc || !config.server) usage();
    if (config.server > 0 ? client_only : server_only) usage();
    if (config.server < 0) config.server = 0;
    /* A chain checked against no name proves nothing: any certificate
     * the CA ever signed would pass. */
    if (config.verify && !config.servername)
        log_fatal(100, "-v needs -n servername");
    if (config.server) {
        if (!config.certfile) config.certfile = getenv("CERTFILE");
        if (!config.keyfile) config.keyfile = getenv("KEYFILE");
    }
}

int main(int argc, char **argv)
{
    int64_t deadline;
    SSL_CTX *ctx;
    SSL *ssl;

    log_program = "smtp-tls";
    options(argc, argv);
    deadline = deadline_in_seconds(config.timeout);
    signal(SIGPIPE, SIG_IGN);
    /* Everything is set here, explicitly: no openssl.cnf to read (and
     * pay for) on every connection, and nothing to free at exit. */
    if (!OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL))
        tls_fail(111, "unable to initialise OpenSSL", tls_error_text("out of memory"));
    ctx = tls_context_new();
    if (config.check_only) return 0;

    if (fcntl(FD_NET_READ, F_GETFD) < 0 || fcntl(FD_NET_WRITE, F_GETFD) < 0)
        tls_fail(100, "no network connection", "file descriptors 6 and 7 must be open");
    if (io_nonblock(FD_NET_READ) < 0 || io_nonblock(FD_NET_WRITE) < 0
        || io_nonblock(FD_PLAIN_READ) < 0 || io_nonblock(FD_PLAIN_WRITE) < 0)
        tls_fail(111, "unable to make the descriptors non-blocking", strerror(errno));
    ssl = tls_handshake(ctx, deadline);
    return tls_relay(ssl);
}
