/* The SSL_CTX: protocols, ciphers, certificate and key, trust anchors.
 * Every choice is made here, not left to openssl.cnf, so that the same
 * binary behaves the same everywhere. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

/* TLS 1.2 suites (TLS 1.3 keeps OpenSSL's three AEAD suites): OpenSSL's
 * DEFAULT, which at security level 2 is forward-secret ECDHE and DHE
 * first with AEAD ciphers first, minus static RSA key exchange (no
 * forward secrecy) and the PSK and SRP suites that need secrets we never
 * have.  The CBC suites stay, last: on port 25 a client that cannot
 * agree falls back to plaintext, which is worse than any of them. */
#define CIPHERS_TLS12 "DEFAULT:!kRSA:!PSK:!SRP"
/* 112-bit security: RSA and DH keys of 2048 bits or more, no SHA-1 or
 * MD5 signatures, no export or RC4 or 3DES. */
#define SECURITY_LEVEL 2

const char *tls_error_text(const char *fallback)
{
    static char buf[512];
    const char *data = 0, *reason;
    int flags = 0;
    unsigned long e = ERR_peek_error_data(&data, &flags);
    if (!e) return fallback;
    reason = ERR_reason_error_string(e);
    if (!reason) {
        ERR_error_string_n(e, buf, sizeof buf);
        return buf;
    }
    if (!(flags & ERR_TXT_STRING) || !data || !*data) return reason;
    snprintf(buf, sizeof buf, "%s (%s)", reason, data);
    return buf;
}

/* OpenSSL would ask on the terminal for the passphrase of an encrypted
 * key; a service has no one to ask. */
static int key_encrypted;
static int no_passphrase(char *buf, int size, int rwflag, void *data)
{
    (void)buf; (void)size; (void)rwflag; (void)data;
    key_encrypted = 1;
    return -1;
}

/* The reason errno gives is clearer than OpenSSL's for a file that is
 * not there or not ours to read. */
static void file_check(const char *what, const char *path)
{
    char buf[512];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return;
    }
    snprintf(buf, sizeof buf, "unable to read %s %s", what, path);
    tls_fail(100, buf, strerror(errno));
}

static void config_fail(const char *what, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "unable to load %s %s", what, path);
    tls_fail(100, buf, tls_error_text("unknown error"));
}

/* The result is reported in the status line, never enforced: a client
 * certificate is information for the filters, and a broken one must not
 * stop the mail. */
static int verify_report_only(int ok, X509_STORE_CTX *store)
{
    (void)ok; (void)store;
    return 1;
}

static void server_setup(SSL_CTX *ctx)
{
    if (!config.certfile) tls_fail(100, "no certificate", "use -c or set CERTFILE");
    if (!config.keyfile) tls_fail(100, "no key", "use -k or set KEYFILE");
    file_check("certificate", config.certfile);
    file_check("key", config.keyfile);
    if (SSL_CTX_use_certificate_chain_file(ctx, config.certfile) != 1)
        config_fail("certificate chain", config.certfile);
    /* OpenSSL checks the key against the certificate as it loads it. */
    if (SSL_CTX_use_PrivateKey_file(ctx, config.keyfile, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_check_private_key(ctx) != 1) {
        unsigned long e = ERR_peek_error();
        int lib = ERR_GET_LIB(e), reason = ERR_GET_REASON(e);
        char buf[1024];
        if ((lib == ERR_LIB_X509 && (reason == X509_R_KEY_VALUES_MISMATCH
                                     || reason == X509_R_KEY_TYPE_MISMATCH))
            || (lib == ERR_LIB_SSL && reason == SSL_R_NO_CERTIFICATE_ASSIGNED)) {
            snprintf(buf, sizeof buf, "key %s does not match certificate %s",
                     config.keyfile, config.certfile);
            tls_fail(100, buf, tls_error_text("mismatch"));
        }
        if (key_encrypted) {
            snprintf(buf, sizeof buf, "unable to load key %s", config.keyfile);
            tls_fail(100, buf, "it is encrypted, and no passphrase can be given");
        }
        config_fail("key", config.keyfile);
    }
    /* DHE for the clients without ECDHE, with parameters matching the
     * certificate's strength. */
    if (SSL_CTX_set_dh_auto(ctx, 1) != 1) config_fail("DH parameters", "(auto)");
    /* One process per connection: no session could ever be resumed, so
     * neither cache sessions nor send tickets. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_num_tickets(ctx, 0) != 1) config_fail("ticket setting", "(0)");
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    /* With SSL_VERIFY_PEER a resumed session would need this; none is
     * ever resumed here, but a client may try. */
    if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"smtp-tls", 8) != 1)
        config_fail("session id context", "smtp-tls");
    if (!config.request_client_cert) return;
    /* A client certificate is checked against -a only: without it,
     * nothing is trusted, and the status line says why. */
    if (config.cafile) {
        STACK_OF(X509_NAME) *names;
        file_check("CA file", config.cafile);
        if (SSL_CTX_load_verify_locations(ctx, config.cafile, NULL) != 1)
            config_fail("CA file", config.cafile);
        /* Tells a client with several certificates which one to send. */
        names = SSL_load_client_CA_file(config.cafile);
        if (!names) config_fail("CA names from", config.cafile);
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, verify_report_only);
}

static void client_setup(SSL_CTX *ctx)
{
    if (config.cafile) file_check("CA file", config.cafile);
    if (config.cadir) file_check("CA directory", config.cadir);
    if (config.cafile || config.cadir) {
        if (SSL_CTX_load_verify_locations(ctx, config.cafile, config.cadir) != 1)
            config_fail("CA locations", config.cafile ? config.cafile : config.cadir);
    } else {
        /* The system's hashed directory only: a certificate is read
         * when a chain needs it.  The system's bundle file would be
         * parsed whole, some 150 certificates, about 45 ms of CPU on
         * every connection. */
        const char *dir = getenv(X509_get_default_cert_dir_env());
        if (!dir || !*dir) dir = X509_get_default_cert_dir();
        if (SSL_CTX_load_verify_dir(ctx, dir) != 1) config_fail("CA directory", dir);
    }
    /* Opportunistic: any certificate will do, but the chain is still
     * checked so that the status line can say what was wrong. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, config.verify ? NULL : verify_report_only);
}

SSL_CTX *tls_context_new(void)
{
    SSL_CTX *ctx = SSL_CTX_new(config.server ? TLS_server_method() : TLS_client_method());
    if (!ctx) tls_fail(111, "unable to create a TLS context", tls_error_text("out of memory"));
    SSL_CTX_set_security_level(ctx, SECURITY_LEVEL);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1
        || SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
        config_fail("protocol versions", "TLSv1.2-TLSv1.3");
    if (SSL_CTX_set_cipher_list(ctx, CIPHERS_TLS12) != 1)
        config_fail("cipher list", CIPHERS_TLS12);
    /* Renegotiation is an old attack surface and SMTP never needs it. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* The relay keeps one buffer each way and retries a write with the
     * rest of it, so partial writes are what it wants. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    if (config.server) server_setup(ctx);
    else client_setup(ctx);
    return ctx;
}
