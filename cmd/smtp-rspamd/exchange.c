/* One message to rspamd and its reply: POST /checkv2 over a new
 * connection (HTTP/1.0: rspamd closes it after the reply), the envelope
 * in request header fields, the message as the body, all within one
 * deadline. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "deadline.h"
#include "io.h"
#include "log.h"
#include "exchange.h"

/* A request field, when there is a value fit for one: printable ASCII
 * (a HELO name is taken as the client sent it). */
static int field(struct io_out *out, const char *name, const char *value, int64_t deadline)
{
    size_t i;
    if (!value || !*value) return 0;
    for (i = 0; value[i]; i++)
        if (value[i] < 32 || value[i] > 126 || i >= 1000) {
            log_warn("%s for rspamd is not printable ASCII or too long; left out", name);
            return 0;
        }
    if (io_puts(out, name, deadline) < 0 || io_put(out, ": ", 2, deadline) < 0 ||
        io_puts(out, value, deadline) < 0 || io_put(out, "\r\n", 2, deadline) < 0)
        return -1;
    return 0;
}

static int request(struct io_out *out, const struct rspamd_config *cfg,
                   const struct filter_side *fs, unsigned long long size, int64_t deadline)
{
    char line[64];
    const char *sender = filterside_sender(fs);
    /* the client's forward-confirmed name from smtp-dnscheck -f, else
     * the proxy's TCPREMOTEHOST */
    const char *host = filterside_fact(fs, "rdns");
    if (!host || !*host) host = filterside_client(fs, CLIENT_HOST);
    unsigned i, n = filterside_recipients(fs);
    snprintf(line, sizeof line, "Content-Length: %llu\r\n", size);
    if (io_puts(out, "POST /checkv2 HTTP/1.0\r\n", deadline) < 0 || io_puts(out, line, deadline) < 0)
        return -1;
    if (field(out, "IP", filterside_client(fs, CLIENT_IP), deadline) < 0 ||
        field(out, "Helo", filterside_client(fs, CLIENT_HELO), deadline) < 0 ||
        field(out, "Hostname", host, deadline) < 0 ||
        field(out, "From", sender && !*sender ? "<>" : sender, deadline) < 0 ||
        field(out, "Queue-Id", filterside_id(fs), deadline) < 0 ||
        field(out, "TLS-Version", filterside_client(fs, CLIENT_TLS_VERSION), deadline) < 0 ||
        field(out, "TLS-Cipher", filterside_client(fs, CLIENT_TLS_CIPHER), deadline) < 0 ||
        field(out, "MTA-Name", cfg->mta_name, deadline) < 0 ||
        field(out, "Settings-ID", cfg->settings_id, deadline) < 0)
        return -1;
    for (i = 0; i < n; i++)
        if (field(out, "Rcpt", filterside_recipient(fs, i, 0, 0), deadline) < 0) return -1;
    if (io_put(out, "\r\n", 2, deadline) < 0) return -1;
    return io_flush(out, deadline);
}

/* The message as the request's body, size octets from fd 3's offset:
 * sendfile(2) from the spool file (no copy through this process, no
 * buffer to fault in), read and write where fd 3 is something sendfile
 * cannot read (a pipe, by hand). */
static int body(int sock, int msgfd, unsigned long long size, int64_t deadline, char *why,
                size_t whysize)
{
    static char buf[16384];
    unsigned long long sent = 0;
    int copy = 0;
    while (sent < size) {
        size_t want = size - sent < (1u << 30) ? (size_t)(size - sent) : (1u << 30);
        ssize_t r = copy ? -1 : sendfile(sock, msgfd, 0, want);
        if (r < 0 && !copy && (errno == EINVAL || errno == ENOSYS)) copy = 1;
        if (copy) {
            r = read(msgfd, buf, want < sizeof buf ? want : sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return log_why(why, whysize, "unable to read the message: %s", strerror(errno));
            if (r == 0) return log_why(why, whysize, "the message ended before its size");
            if (io_write_all(sock, buf, (size_t)r, deadline) < 0)
                return log_why(why, whysize, "unable to send the message: %s", strerror(errno));
        } else if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN)
                return log_why(why, whysize, "unable to send the message: %s", strerror(errno));
            switch (io_wait(sock, POLLOUT, deadline)) {
            case 0: return log_why(why, whysize, "unable to send the message: timed out");
            case -1: return log_why(why, whysize, "unable to send the message: %s", strerror(errno));
            }
            continue;
        } else if (r == 0) {
            return log_why(why, whysize, "the message ended before its size");
        }
        sent += (unsigned long long)r;
    }
    return 0;
}

static int reply(int sock, char *buf, const char **json, size_t *jsonlen, int64_t deadline,
                 char *why, size_t whysize)
{
    size_t len = 0;
    int eof = 0;
    for (;;) {
        ssize_t r;
        int k = rspamd_http_reply(buf, len, eof, json, jsonlen, why, whysize);
        if (k) return k > 0 ? 0 : -1;
        if (len >= RSPAMD_REPLY_MAX) return log_why(why, whysize, "reply too long");
        switch (io_wait(sock, POLLIN, deadline)) {
        case 0: return log_why(why, whysize, "no reply within the timeout");
        case -1: return log_why(why, whysize, "unable to read the reply: %s", strerror(errno));
        }
        r = read(sock, buf + len, RSPAMD_REPLY_MAX - len);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r < 0) return log_why(why, whysize, "unable to read the reply: %s", strerror(errno));
        if (r == 0) eof = 1;
        len += (size_t)r;
    }
}

int rspamd_scan(const struct rspamd_config *cfg, const struct endpoint *ep,
                const struct filter_side *fs, int msgfd, unsigned long long size, char *buf,
                const char **json, size_t *jsonlen, char *why, size_t whysize)
{
    int64_t deadline = deadline_in_seconds(cfg->timeout);
    char outbuf[8192];
    struct io_out out;
    int sock, r;
    sock = endpoint_connect(ep, deadline);
    if (sock < 0) return log_why(why, whysize, "unable to connect: %s", strerror(errno));
    io_out_init(&out, sock, outbuf, sizeof outbuf);
    if (request(&out, cfg, fs, size, deadline) < 0)
        r = log_why(why, whysize, "unable to send the request: %s",
                    errno == ETIMEDOUT ? "timed out" : strerror(errno));
    else
        r = body(sock, msgfd, size, deadline, why, whysize);
    if (r == 0) r = reply(sock, buf, json, jsonlen, deadline, why, whysize);
    close(sock);
    return r;
}
