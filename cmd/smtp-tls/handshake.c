/* The handshake, by a deadline, and the one status line that tells the
 * plaintext side how it went. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "deadline.h"
#include "io.h"
#include "log.h"
#include "tls.h"
#include "tlspipe.h"
#include "xtext.h"

/* A subject longer than TLSPIPE_SUBJECT_MAX is cut: the status line stays
 * within what its readers take (lib/tlspipe.h), and the subject is
 * information, never used to decide anything here. */
#define SUBJECT_MAX TLSPIPE_SUBJECT_MAX
#define STATUS_MAX  TLSPIPE_STATUS_MAX

/* Computed once, at the handshake: after a reset, getpeername fails. */
const char *tls_peer_name(void)
{
    static char name[600];
    char address[INET6_ADDRSTRLEN + 10] = "";
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;

    if (name[0]) return name;
    if (getpeername(FD_NET_READ, (struct sockaddr *)&sa, &len) == 0) {
        char ip[INET6_ADDRSTRLEN] = "?";
        if (sa.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
            snprintf(address, sizeof address, "%s:%u", ip, ntohs(in->sin_port));
        } else if (sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            snprintf(address, sizeof address, "[%s]:%u", ip, ntohs(in6->sin6_port));
        }
    }
    if (!address[0]) snprintf(address, sizeof address, "fd %d", FD_NET_READ);
    if (config.servername) snprintf(name, sizeof name, "%s (%s)", config.servername, address);
    else snprintf(name, sizeof name, "%s", address);
    return name;
}

/* Appends " " and the xtext of s[0..n-1], or " -" for NULL. */
static void status_field(char *line, size_t *len, const char *s, size_t n)
{
    ssize_t k;
    line[(*len)++] = ' ';
    if (!s) {
        line[(*len)++] = '-';
        return;
    }
    k = xtext_encode(line + *len, STATUS_MAX - 2 - *len, s, n);
    if (k < 0) {                /* cannot happen with the limits above */
        line[(*len)++] = '-';
        return;
    }
    *len += (size_t)k;
}

void tls_fail(int status, const char *what, const char *reason)
{
    char line[STATUS_MAX], text[1200];
    struct log_line l;
    size_t len = 4;
    /* The log says where; the status line says why, and, for a bad
     * configuration, which file. */
    int n = snprintf(text, sizeof text, "%s: %s", what, reason);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof text) n = sizeof text - 1;
    log_line_start(&l, status == 100 ? "fatal" : "warning");
    log_raw(&l, " ", 1);
    log_raw(&l, text, (size_t)n);
    log_line_emit(&l);
    if (!config.check_only) {
        memcpy(line, "fail", 4);
        if (status == 100) status_field(line, &len, text, (size_t)n);
        else status_field(line, &len, reason, strlen(reason));
        line[len++] = '\n';
        /* Nothing more to do if it cannot be written: the exit status
         * says the same. */
        io_write_all(FD_PLAIN_WRITE, line, len, deadline_in_seconds(config.timeout));
    }
    _exit(status);
}

/* The subject of the peer's certificate on one line, RFC 2253 style
 * (bytes outside ASCII escaped as \XX), cut at SUBJECT_MAX. */
static size_t subject_text(X509 *cert, char *buf, size_t size)
{
    BIO *mem = BIO_new(BIO_s_mem());
    int n;
    if (!mem) tls_fail(111, "unable to print the peer's subject", tls_error_text("out of memory"));
    if (X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0)
        tls_fail(111, "unable to print the peer's subject", tls_error_text("bad name"));
    n = BIO_read(mem, buf, (int)size);
    BIO_free(mem);
    return n > 0 ? (size_t)n : 0;
}

/* ok VERSION CIPHER PEER VERIFY, every field in xtext, "-" for none. */
static void status_ok(SSL *ssl, int64_t deadline)
{
    char line[STATUS_MAX], subject[SUBJECT_MAX];
    const char *version = SSL_get_version(ssl);
    const char *cipher = SSL_get_cipher_name(ssl);
    X509 *peer = SSL_get1_peer_certificate(ssl);
    size_t len = 2;

    memcpy(line, "ok", 2);
    status_field(line, &len, version, strlen(version));
    status_field(line, &len, cipher, strlen(cipher));
    if (peer) {
        size_t n = subject_text(peer, subject, sizeof subject);
        long result = SSL_get_verify_result(ssl);
        const char *verify = result == X509_V_OK ? "ok" : X509_verify_cert_error_string(result);
        /* An RFC 2253 subject always has an '=', so "-" is no subject. */
        status_field(line, &len, n ? subject : NULL, n);
        status_field(line, &len, verify, strlen(verify));
        X509_free(peer);
    } else {
        status_field(line, &len, NULL, 0);
        status_field(line, &len, NULL, 0);
    }
    line[len++] = '\n';
    if (io_write_all(FD_PLAIN_WRITE, line, len, deadline) < 0)
        log_fatal_sys(111, "unable to write the status line");
}

/* SNI and the name the certificate must carry.  An address literal gets
 * no SNI (RFC 6066, section 3) and is checked against the IP addresses
 * of the certificate instead. */
static void client_names(SSL *ssl)
{
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    const char *name = config.servername;
    unsigned char addr[16];
    if (!name) return;
    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1) {
        if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1)
            tls_fail(100, "bad server address", name);
        return;
    }
    if (SSL_set_tlsext_host_name(ssl, name) != 1)
        tls_fail(100, "bad server name", name);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, name, 0) != 1)
        tls_fail(100, "bad server name", name);
}

/* Why the handshake failed, in words.  err is errno just after the call. */
static const char *handshake_error(SSL *ssl, int ret, int err, char *buf, size_t size)
{
    int e = SSL_get_error(ssl, ret);
    unsigned long first = ERR_peek_error();
    switch (e) {
    case SSL_ERROR_SSL:
        if (ERR_GET_LIB(first) == ERR_LIB_SSL
            && ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
            snprintf(buf, size, "certificate verify failed: %s",
                     X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
            return buf;
        }
        return tls_error_text("protocol error");
    case SSL_ERROR_SYSCALL:
        if (first) return tls_error_text("system error");
        return err ? strerror(err) : "connection closed";
    case SSL_ERROR_ZERO_RETURN:
        return "connection closed";
    default:
        snprintf(buf, size, "unexpected SSL_get_error %d", e);
        return buf;
    }
}

SSL *tls_handshake(SSL_CTX *ctx, int64_t deadline)
{
    char what[700], buf[300];
    SSL *ssl = SSL_new(ctx);

    snprintf(what, sizeof what, "handshake with %s", tls_peer_name());
    if (!ssl) tls_fail(111, what, tls_error_text("out of memory"));
    if (SSL_set_rfd(ssl, FD_NET_READ) != 1 || SSL_set_wfd(ssl, FD_NET_WRITE) != 1)
        tls_fail(111, what, tls_error_text("unable to attach the descriptors"));
    if (config.server) {
        SSL_set_accept_state(ssl);
    } else {
        client_names(ssl);
        SSL_set_connect_state(ssl);
    }
    for (;;) {
        int r, e, err;
        ERR_clear_error();
        errno = 0;
        r = SSL_do_handshake(ssl);
        if (r == 1) break;
        err = errno;
        e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            tls_fail(111, what, handshake_error(ssl, r, err, buf, sizeof buf));
        switch (e == SSL_ERROR_WANT_READ ? io_wait(FD_NET_READ, POLLIN, deadline)
                                         : io_wait(FD_NET_WRITE, POLLOUT, deadline)) {
        case 0: tls_fail(111, what, "timeout");
        case -1: tls_fail(111, what, strerror(errno));
        }
    }
    status_ok(ssl, deadline);
    return ssl;
}
