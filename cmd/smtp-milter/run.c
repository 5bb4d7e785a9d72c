/* One client connection: the milter is connected and asked what it
 * wants before the proxy is greeted, so that only the events it takes are
 * subscribed; connect, helo, mail, rcpt and data go to it live, and at
 * eom the header, the body and end-of-message, then its changes are
 * relayed as smtp-filter(7) version 2 modifiers. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "deadline.h"
#include "filterside.h"
#include "log.h"
#include "milter.h"
#include "scan.h"

static const struct milter_config *cfg;
static struct milter_conn mc;
static struct milter_negotiation neg;
static struct filter_side fs;
static char why[600];

/* For the connection */
static int conn_done;                   /* the milter wants no more of it */
static int has_sticky;                  /* refused at connect or helo: every event */
static struct milter_verdict sticky;
static unsigned long transactions;
static char client_ip[64], client_port[8], local_ip[64], local_port[8], client_host[256];
static char tls_version[64], tls_cipher[128];
/* For the transaction */
static int tx_open, tx_done, tx_discard;
static char tx_id[64], mail_addr[SMTP_ADDRESS_MAX + 1], rcpt_addr[SMTP_ADDRESS_MAX + 1];

static const char *const default_macros[STAGE_COUNT] = {
    "j {daemon_name} {daemon_addr} v _",
    "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}",
    "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}",
    "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
    "i",
    "i",
    "i",
};

static const char *const stage_names[STAGE_COUNT] = {
    "connect", "helo", "mail", "rcpt", "data", "eom", "eoh"
};

int milter_stage_parse(const char *s, size_t n)
{
    int i;
    for (i = 0; i < STAGE_COUNT; i++)
        if (strlen(stage_names[i]) == n && !memcmp(stage_names[i], s, n)) return i;
    return -1;
}

static int replaced;                    /* the body was replaced: fd 4 holds the message */

/* A failed milter: the filter block's policy answers, except once a new
 * body has begun to come, where even -p accept must not let the old body
 * through as if the milter had been content with it (Postfix's fix of
 * 2026-08-21): that message gets a tempfail here first. */
static void __attribute__((noreturn)) die(const char *what)
{
    if (replaced && filterside_say(&fs, "tempfail 451 4.7.1 Service unavailable - try again later") == 0)
        filterside_flush(&fs);
    log_fatal(111, "milter %s: %s", cfg->address, what);
}

static void proxy_failed(void)
{
    log_fatal_sys(111, "unable to answer the proxy");
}

/* --- macros ------------------------------------------------------------ */

static const char *macro_value(const char *name, char *tmp, size_t size)
{
    size_t n = strlen(name);
    char bare[64];
    const char *at;
    if (n >= 2 && name[0] == '{' && name[n - 1] == '}') {
        name++;
        n -= 2;
    }
    if (n >= sizeof bare) return 0;
    memcpy(bare, name, n);
    bare[n] = 0;
    if (!strcmp(bare, "j")) return cfg->hostname;
    if (!strcmp(bare, "daemon_name")) return cfg->daemon_name;
    if (!strcmp(bare, "daemon_addr")) return local_ip[0] ? local_ip : 0;
    if (!strcmp(bare, "daemon_port")) return local_port[0] ? local_port : 0;
    if (!strcmp(bare, "v")) return "noqueue";
    if (!strcmp(bare, "client_addr")) return client_ip[0] ? client_ip : 0;
    if (!strcmp(bare, "client_port")) return client_port[0] ? client_port : 0;
    if (!strcmp(bare, "client_name") || !strcmp(bare, "client_ptr"))
        return client_host[0] ? client_host : "unknown";
    if (!strcmp(bare, "_")) {
        if (!client_ip[0]) return 0;
        snprintf(tmp, size, "%s [%s]", client_host[0] ? client_host : "unknown", client_ip);
        return tmp;
    }
    if (!strcmp(bare, "tls_version")) return tls_version[0] ? tls_version : 0;
    if (!strcmp(bare, "cipher")) return tls_cipher[0] ? tls_cipher : 0;
    if (!strcmp(bare, "i")) return tx_id[0] ? tx_id : 0;
    if (!strcmp(bare, "mail_addr")) return tx_open ? mail_addr : 0;
    if (!strcmp(bare, "rcpt_addr")) return rcpt_addr[0] ? rcpt_addr : 0;
    if (!strcmp(bare, "rcpt_mailer")) return rcpt_addr[0] ? "smtp" : 0;
    if (!strcmp(bare, "rcpt_host")) return (at = strrchr(rcpt_addr, '@')) ? at + 1 : 0;
    return 0;
}

static int append(char *buf, size_t size, size_t *len, const char *s)
{
    size_t n = strlen(s) + 1;
    if (*len + n > size) return -1;
    memcpy(buf + *len, s, n);
    *len += n;
    return 0;
}

/* The macro packet of a stage, before its command (cmd). */
static void send_macros(enum milter_stage stage, int cmd, int64_t deadline)
{
    static char buf[8192];
    char tmp[400], name[64];
    const char *list = neg.has_list[stage] ? neg.list[stage] : default_macros[stage], *value;
    size_t len = 0, n;
    unsigned i;
    buf[len++] = (char)cmd;
    for (i = 0; i < cfg->nmacros; i++) {    /* the options' first: they may set a value */
        const struct milter_macro *m = &cfg->macros[i];
        if (m->stage != stage) continue;
        value = m->value ? m->value : macro_value(m->name, tmp, sizeof tmp);
        if (value && (append(buf, sizeof buf, &len, m->name) < 0 ||
                      append(buf, sizeof buf, &len, value) < 0))
            die("macros too long for one packet");
    }
    while (*list) {
        list += strspn(list, " ,");
        n = strcspn(list, " ,");
        if (!n) break;
        if (n < sizeof name) {
            memcpy(name, list, n);
            name[n] = 0;
            for (i = 0; i < cfg->nmacros; i++)
                if (cfg->macros[i].stage == stage && !strcmp(cfg->macros[i].name, name)) break;
            if (i == cfg->nmacros && (value = macro_value(name, tmp, sizeof tmp)) &&
                (append(buf, sizeof buf, &len, name) < 0 || append(buf, sizeof buf, &len, value) < 0))
                die("macros too long for one packet");
        }
        list += n;
    }
    if (len > 1 && conn_send(&mc, 'D', buf, len, deadline) < 0) die("unable to write to the milter");
}

/* --- one exchange -------------------------------------------------------- */

static int64_t after(unsigned seconds)
{
    return deadline_in_seconds(seconds);
}

/* The final reply to what was just sent; progress restarts the clock. */
static void read_verdict(struct milter_verdict *v, unsigned timeout)
{
    struct milter_packet pk;
    int r;
    for (;;) {
        if (conn_read(&mc, &pk, after(timeout), 0, 0, why, sizeof why) < 0) die(why);
        r = milter_reply_parse(pk.cmd, pk.data, pk.len, v, why, sizeof why);
        if (r < 0) die(why);
        if (r > 0) return;
    }
}

/* Macros, then the command; its reply unless the milter said it sends
 * none (NR_x) or does not take the command (NOx). */
static void ask(enum milter_stage stage, int cmd, const void *p, size_t n, unsigned long no,
                unsigned long nr, unsigned timeout, struct milter_verdict *v)
{
    int64_t d = after(timeout);
    memset(v, 0, sizeof *v);
    send_macros(stage, cmd, d);
    if (neg.protocol & no) return;
    if (conn_send(&mc, cmd, p, n, d) < 0) die("unable to write to the milter");
    if (neg.protocol & nr) return;
    read_verdict(v, timeout);
}

static void log_verdict(const char *event, const struct milter_verdict *v, unsigned changes)
{
    static const char *const names[] = {
        "continue", "accept", "reject", "tempfail", "discard", "skip", "shutdown"
    };
    struct log_line l;
    if ((v->kind == REPLY_CONTINUE || v->kind == REPLY_ACCEPT) && !changes) return;
    log_line_event(&l, "milter");
    log_kv_str(&l, "milter", cfg->address);
    log_kv_str(&l, "event", event);
    if (tx_id[0]) log_kv_str(&l, "id", tx_id);
    log_kv_str(&l, "reply", names[v->kind]);
    if (v->code) {
        log_kv_num(&l, "code", v->code);
        log_kv_str(&l, "text", v->text);
    }
    if (changes) log_kv_num(&l, "changes", changes);
    log_line_emit(&l);
}

/* The answer to the proxy for a reply that ends the event's exchange. */
static void answer(const struct milter_verdict *v, int at_eom)
{
    char line[FILTERPROTO_TEXT_MAX + 32];
    switch (v->kind) {
    case REPLY_REJECT:
        snprintf(line, sizeof line, "reject %d %s", v->code, v->text);
        break;
    case REPLY_TEMPFAIL:
    case REPLY_SHUTDOWN:
        snprintf(line, sizeof line, "tempfail %d %s", v->code, v->text);
        break;
    case REPLY_DISCARD:
        strcpy(line, at_eom ? "discard" : "continue");
        break;
    default:
        strcpy(line, "continue");
        break;
    }
    if (filterside_say(&fs, line) < 0) proxy_failed();
}

static void say_continue(void)
{
    if (filterside_say(&fs, "continue") < 0) proxy_failed();
}

static void quit(void)
{
    if (mc.fd < 0) return;
    if (conn_send(&mc, 'Q', 0, 0, after(cfg->command_timeout)) == 0)
        conn_flush(&mc, after(cfg->command_timeout));
    conn_close(&mc);
}

/* A reply at connect or helo that refuses holds for the whole connection
 * (as in Postfix); accept ends the milter's part in it. */
static void connection_reply(const struct milter_verdict *v, const char *event)
{
    log_verdict(event, v, 0);
    if (v->kind == REPLY_ACCEPT) {
        conn_done = 1;
        quit();
    } else if (v->kind == REPLY_REJECT || v->kind == REPLY_TEMPFAIL || v->kind == REPLY_SHUTDOWN) {
        sticky = *v;
        has_sticky = 1;
        quit();
    } else if (v->kind == REPLY_SKIP) {
        die("skip outside the body");
    }
    answer(v, 0);
}

/* A reply in the envelope. */
static void envelope_reply(const struct milter_verdict *v, const char *event, int mail)
{
    log_verdict(event, v, 0);
    switch (v->kind) {
    case REPLY_ACCEPT:
        tx_done = 1;
        break;
    case REPLY_DISCARD:
        tx_done = tx_discard = 1;
        break;
    case REPLY_SKIP:
        die("skip outside the body");
    case REPLY_SHUTDOWN:
        sticky = *v;
        has_sticky = 1;
        quit();
        break;
    case REPLY_REJECT:
    case REPLY_TEMPFAIL:
        if (mail) tx_done = 1;
        break;
    default:
        break;
    }
    answer(v, 0);
}

/* --- the envelope ---------------------------------------------------------- */

static void field_copy(char *out, size_t size, const struct filter_request *r, unsigned i)
{
    size_t n = i < r->nfields && !r->absent[i] ? r->len[i] : 0;
    if (n >= size || (n && memchr(r->field[i], 0, n))) n = 0;
    memcpy(out, n ? r->field[i] : "", n);
    out[n] = 0;
}

/* "<addr>\0" and each ESMTP parameter "\0"-terminated. */
static size_t address_args(char *buf, size_t size, const char *addr, const struct filter_request *r,
                           unsigned params)
{
    char p[FILTERPROTO_PARAMS_MAX + 1], *w, *save;
    size_t len = 0;
    int n = snprintf(buf, size, "<%s>", addr);
    if (n < 0 || (size_t)n >= size) die("address too long");
    len = (size_t)n + 1;
    field_copy(p, sizeof p, r, params);
    for (w = strtok_r(p, " ", &save); w; w = strtok_r(0, " ", &save))
        if (append(buf, size, &len, w) < 0) die("parameters too long");
    return len;
}

static int refused(void)
{
    if (has_sticky) {
        answer(&sticky, 0);
        return 1;
    }
    if (conn_done) {
        say_continue();
        return 1;
    }
    return 0;
}

static void on_connect(const struct filter_request *r)
{
    char buf[600];
    struct milter_verdict v;
    size_t len = 0;
    unsigned long port = 0;
    field_copy(client_ip, sizeof client_ip, r, 0);
    field_copy(client_port, sizeof client_port, r, 1);
    field_copy(local_ip, sizeof local_ip, r, 2);
    field_copy(local_port, sizeof local_port, r, 3);
    field_copy(client_host, sizeof client_host, r, 4);
    if (refused()) return;
    /* hostname, family, port (network order), address */
    if (client_host[0]) len = (size_t)snprintf(buf, sizeof buf, "%s", client_host);
    else len = (size_t)snprintf(buf, sizeof buf, "[%s]", client_ip);
    buf[len++] = 0;
    if (!client_ip[0]) {
        buf[len++] = 'U';
    } else {
        buf[len++] = strchr(client_ip, ':') ? '6' : '4';
        if (!scan_ulong(client_port, 65535, &port)) port = 0;
        buf[len++] = (char)(port >> 8);
        buf[len++] = (char)(port & 0xff);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s", client_ip) + 1;
    }
    ask(STAGE_CONNECT, 'C', buf, len, SMFIP_NOCONNECT, SMFIP_NR_CONN, cfg->command_timeout, &v);
    connection_reply(&v, "connect");
}

static void on_helo(const struct filter_request *r)
{
    char name[256];
    struct milter_verdict v;
    if (refused()) return;
    field_copy(name, sizeof name, r, 1);
    ask(STAGE_HELO, 'H', name, strlen(name) + 1, SMFIP_NOHELO, SMFIP_NR_HELO, cfg->command_timeout, &v);
    connection_reply(&v, "helo");
}

/* A transaction the milter heard of and that did not end: abort it. */
static void end_transaction(void)
{
    if (tx_open && mc.fd >= 0 && !conn_done && !has_sticky &&
        conn_send(&mc, 'A', 0, 0, after(cfg->command_timeout)) < 0)
        die("unable to write to the milter");
    tx_open = tx_done = tx_discard = 0;
    rcpt_addr[0] = 0;
}

static void on_mail(const struct filter_request *r)
{
    char buf[SMTP_ADDRESS_MAX + FILTERPROTO_PARAMS_MAX + 16];
    struct milter_verdict v;
    size_t n;
    const char *conn = getenv("NOQUEUE_CONN");
    end_transaction();
    transactions++;
    /* The proxy tells the transaction's id only at eom; until then ours. */
    snprintf(tx_id, sizeof tx_id, "%s.%lu", conn && *conn ? conn : "0", transactions);
    field_copy(mail_addr, sizeof mail_addr, r, 0);
    if (refused()) return;
    tx_open = 1;
    n = address_args(buf, sizeof buf, mail_addr, r, 1);
    ask(STAGE_MAIL, 'M', buf, n, SMFIP_NOMAIL, SMFIP_NR_MAIL, cfg->command_timeout, &v);
    envelope_reply(&v, "mail", 1);
}

static void on_rcpt(const struct filter_request *r)
{
    char buf[SMTP_ADDRESS_MAX + FILTERPROTO_PARAMS_MAX + 16];
    struct milter_verdict v;
    size_t n;
    field_copy(rcpt_addr, sizeof rcpt_addr, r, 0);
    if (refused()) return;
    if (tx_done) {
        say_continue();
        return;
    }
    n = address_args(buf, sizeof buf, rcpt_addr, r, 1);
    ask(STAGE_RCPT, 'R', buf, n, SMFIP_NORCPT, SMFIP_NR_RCPT, cfg->command_timeout, &v);
    envelope_reply(&v, "rcpt", 0);
}

static void on_data(void)
{
    struct milter_verdict v;
    if (refused()) return;
    if (tx_done) {
        say_continue();
        return;
    }
    ask(STAGE_DATA, 'T', 0, 0, SMFIP_NODATA, SMFIP_NR_DATA, cfg->command_timeout, &v);
    envelope_reply(&v, "data", 0);
}

/* --- end of message -------------------------------------------------------- */

#define HEADER_BUFFER (256 * 1024)      /* beyond: the rest goes as body, like Postfix's limit */

static char msg[HEADER_BUFFER];
static size_t msg_len, fields_end, body_start;
static int msg_eof;                     /* fd 3 read to its end */
static char chunk[MILTER_CHUNK];
static struct milter_edit edits[FILTERPROTO_MODIFIERS_V2];
static unsigned nedits;
static off_t replaced_len;
static int replaced_cr;
static char crlf_buf[2 * (MILTER_REPLY_MAX + 8) + 1];

/* fd 3 is read to its end: after an earlier filter's changes, the file
 * is the message, whatever size the event said. */
static size_t read_message(char *buf, size_t size)
{
    size_t got = 0;
    while (got < size && !msg_eof) {
        ssize_t r = read(3, buf + got, size - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            log_fatal_sys(111, "unable to read the message on fd 3");
        }
        if (r == 0) msg_eof = 1;
        got += (size_t)r;
    }
    return got;
}

static void read_header(void)
{
    int complete = 0;
    msg_len = read_message(msg, sizeof msg);
    for (;;) {
        body_start = milter_header_end(msg, msg_len, &fields_end, &complete);
        if (complete || msg_eof || msg_len == sizeof msg) break;
        msg_len += read_message(msg + msg_len, sizeof msg - msg_len);
    }
    /* No end seen: the fields so far are the header, the rest is body
     * (a header over the buffer, as Postfix's header_size_limit). */
    if (!complete) body_start = fields_end;
}

static int write_all4(const char *p, size_t n)
{
    while (n) {
        ssize_t w = pwrite(4, p, n, replaced_len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        replaced_len += w;
    }
    return 0;
}

/* REPLBODY: the header as it is on fd 3, the empty line, the new body. */
static int body_part(void *arg, const char *p, size_t n)
{
    (void)arg;
    if (!(neg.actions & SMFIF_CHGBODY)) {
        errno = EPERM;
        return -1;
    }
    if (!replaced) {
        replaced = 1;
        replaced_len = 0;
        replaced_cr = 0;
        if (write_all4(msg, fields_end) < 0 || write_all4("\r\n", 2) < 0) return -1;
    }
    return write_all4(crlf_buf, milter_body_crlf(p, n, &replaced_cr, crlf_buf));
}

static int body_finish(void)
{
    char last[2];
    if (replaced_cr && write_all4("\n", 1) < 0) return -1;
    replaced_cr = 0;
    if (replaced_len >= 2 && (size_t)replaced_len > fields_end + 2) {
        if (pread(4, last, 2, replaced_len - 2) != 2) return -1;
        if ((last[0] != '\r' || last[1] != '\n') && write_all4("\r\n", 2) < 0) return -1;
    }
    return ftruncate(4, replaced_len);
}

static const unsigned long edit_action[][2] = {
    { 'h', SMFIF_ADDHDRS }, { 'i', SMFIF_ADDHDRS }, { 'm', SMFIF_CHGHDRS },
    { '+', SMFIF_ADDRCPT }, { '2', SMFIF_ADDRCPT_PAR }, { '-', SMFIF_DELRCPT },
    { 'e', SMFIF_CHGFROM }, { 'q', SMFIF_QUARANTINE }, { 'b', SMFIF_CHGBODY },
};

/* The verdict at end of message, changes collected on the way. */
static void read_end(struct milter_verdict *v)
{
    struct milter_packet pk;
    int r;
    unsigned i;
    for (;;) {
        if (conn_read(&mc, &pk, after(cfg->content_timeout), body_part, 0, why, sizeof why) < 0)
            die(why);
        if (pk.cmd == 'b') continue;
        r = milter_reply_parse(pk.cmd, pk.data, pk.len, v, why, sizeof why);
        if (r > 0) return;
        if (r == 0) continue;                           /* progress */
        for (i = 0; i < sizeof edit_action / sizeof edit_action[0]; i++)
            if (edit_action[i][0] == (unsigned long)pk.cmd) break;
        if (i == sizeof edit_action / sizeof edit_action[0]) die(why);
        if (!(neg.actions & edit_action[i][1])) {
            snprintf(why, sizeof why, "change '%c' not negotiated", pk.cmd);
            die(why);
        }
        if (nedits == FILTERPROTO_MODIFIERS_V2 - 1) die("more changes than a filter may make");
        r = milter_edit_parse(pk.cmd, pk.data, pk.len, neg.protocol & SMFIP_HDR_LEADSPC ? 1 : 0,
                              &edits[nedits], why, sizeof why);
        if (r < 0) die(why);
        if (r == 0) log_warn("milter %s: change dropped: %s", cfg->address, why);
        else nedits++;
    }
}

static void relay_edit(const struct milter_edit *e)
{
    int r = 0;
    switch (e->kind) {
    case 'h':           /* appended: change-header beyond the fields there are adds at the end */
        r = filterside_change_header(&fs, 100000, e->name, e->value, e->valuelen);
        break;
    case 'i':
        r = filterside_insert_header(&fs, e->index, e->name, e->value, e->valuelen);
        break;
    case 'm':
        r = filterside_change_header(&fs, e->index, e->name, e->delete_field ? 0 : e->value,
                                     e->valuelen);
        break;
    case '+':
    case '2':
        r = filterside_add_recipient(&fs, e->addr, e->params[0] ? e->params : 0);
        break;
    case '-':
        r = filterside_delete_recipient(&fs, e->addr);
        break;
    case 'e':
        r = filterside_change_sender(&fs, e->addr, e->params[0] ? e->params : 0);
        break;
    case 'q':
        r = filterside_quarantine(&fs, e->value);
        break;
    }
    if (r < 0) proxy_failed();
}

/* A reply during the content: 1 when it ends the milter's part in the
 * message (the verdict is answered), 0 go on; *skip for SKIP. */
static int content_reply(const struct milter_verdict *v, const char *event, int *skip)
{
    if (v->kind == REPLY_CONTINUE) return 0;
    if (v->kind == REPLY_SKIP) {
        if (!(neg.protocol & SMFIP_SKIP) && neg.version >= 6) die("skip not negotiated");
        *skip = 1;
        return 0;
    }
    log_verdict(event, v, 0);
    if (v->kind == REPLY_SHUTDOWN) {
        sticky = *v;
        has_sticky = 1;
        quit();
    }
    answer(tx_discard && v->kind == REPLY_ACCEPT ? &(struct milter_verdict){ .kind = REPLY_DISCARD } : v, 1);
    return 1;
}

static void on_eom(const struct filter_request *r)
{
    static char payload[MILTER_CHUNK + 2];
    struct milter_verdict v;
    unsigned long ul;
    const char *id = filterside_id(&fs);
    size_t pos, n;
    int skip = 0, leadspc = neg.protocol & SMFIP_HDR_LEADSPC ? 1 : 0;
    unsigned i;
    if (id && *id && strlen(id) < sizeof tx_id) strcpy(tx_id, id);
    if (r->nfields < 1 || r->absent[0] || !scan_ulong(r->field[0], ULONG_MAX, &ul))
        log_fatal(111, "malformed eom event: no size");
    if (refused()) return;
    if (tx_done) {
        if (tx_discard) {
            if (filterside_say(&fs, "discard") < 0) proxy_failed();
        } else {
            say_continue();
        }
        tx_open = tx_done = tx_discard = 0;
        return;
    }
    msg_eof = 0;
    if (lseek(3, 0, SEEK_SET) < 0) log_fatal_sys(111, "unable to rewind the message on fd 3");
    nedits = 0;
    replaced = 0;
    read_header();
    tx_open = 0;                        /* from here the message ends with eom */
    /* Each field, then the end of the header */
    for (pos = 0; pos < fields_end && !skip;) {
        size_t end = pos;
        for (;;) {
            const char *lf = memchr(msg + end, '\n', fields_end - end);
            end = lf ? (size_t)(lf - msg) + 1 : fields_end;
            if (end >= fields_end || (msg[end] != ' ' && msg[end] != '\t')) break;
        }
        n = end - pos;
        if (n >= 2 && msg[pos + n - 2] == '\r') n -= 2;
        else if (n >= 1 && msg[pos + n - 1] == '\n') n--;
        n = milter_header_payload(msg + pos, n, leadspc, payload, sizeof payload);
        pos = end;
        if (!n) continue;               /* too big for a packet: not sent, as Postfix cuts */
        if (neg.protocol & SMFIP_NOHDRS) break;
        ask(STAGE_EOH, 'L', payload, n, SMFIP_NOHDRS, SMFIP_NR_HDR, cfg->content_timeout, &v);
        if (content_reply(&v, "header", &skip)) return;
    }
    skip = 0;
    ask(STAGE_EOH, 'N', 0, 0, SMFIP_NOEOH, SMFIP_NR_EOH, cfg->content_timeout, &v);
    if (content_reply(&v, "eoh", &skip)) return;
    /* The body in chunks: what is left in msg, then fd 3 */
    if (!(neg.protocol & SMFIP_NOBODY)) {
        size_t have = msg_len - body_start;
        const char *from = msg + body_start;
        skip = 0;
        while (!skip) {
            size_t k = 0;
            while (k < MILTER_CHUNK && (have || !msg_eof)) {
                if (have) {
                    size_t t = have < MILTER_CHUNK - k ? have : MILTER_CHUNK - k;
                    memcpy(chunk + k, from, t);
                    from += t;
                    have -= t;
                    k += t;
                } else {
                    k += read_message(chunk + k, MILTER_CHUNK - k);
                }
            }
            if (!k) break;
            ask(STAGE_EOM, 'B', chunk, k, SMFIP_NOBODY, SMFIP_NR_BODY, cfg->content_timeout, &v);
            if (content_reply(&v, "body", &skip)) return;
        }
    }
    {
        int64_t d = after(cfg->content_timeout);
        send_macros(STAGE_EOM, 'E', d);
        if (conn_send(&mc, 'E', 0, 0, d) < 0) die("unable to write to the milter");
    }
    read_end(&v);
    if (v.kind == REPLY_SKIP) die("skip at the end of the message");
    if (v.kind == REPLY_SHUTDOWN) {
        sticky = v;
        has_sticky = 1;
    }
    if (v.kind == REPLY_CONTINUE || v.kind == REPLY_ACCEPT) {
        unsigned count = nedits + (replaced ? 1u : 0u);
        if (replaced) {
            if (body_finish() < 0) log_fatal_sys(111, "unable to write the new message on fd 4");
            if (filterside_replace_message(&fs) < 0) proxy_failed();
        }
        for (i = 0; i < nedits; i++) relay_edit(&edits[i]);
        log_verdict("eom", &v, count);
    } else {
        log_verdict("eom", &v, 0);
    }
    answer(tx_discard && v.kind != REPLY_REJECT && v.kind != REPLY_TEMPFAIL ?
           &(struct milter_verdict){ .kind = REPLY_DISCARD } : &v, 1);
    if (v.kind == REPLY_SHUTDOWN) quit();
    tx_done = tx_discard = replaced = 0;
}

/* --- the connection -------------------------------------------------------- */

/* The option negotiation: 0, or -1 with why set. */
static int try_negotiate(void)
{
    unsigned char offer[12];
    struct milter_packet pk;
    int64_t d = after(cfg->connect_timeout);
    unsigned long words[3] = { MILTER_VERSION, SMFIF_ALL, SMFIP_ALL };
    unsigned i;
    for (i = 0; i < 3; i++) {
        offer[4 * i] = (unsigned char)(words[i] >> 24);
        offer[4 * i + 1] = (unsigned char)(words[i] >> 16);
        offer[4 * i + 2] = (unsigned char)(words[i] >> 8);
        offer[4 * i + 3] = (unsigned char)words[i];
    }
    if (conn_open(&mc, cfg->endpoint, d, why, sizeof why) < 0) return -1;
    if (conn_send(&mc, 'O', offer, sizeof offer, d) < 0) return log_why(why, sizeof why, "unable to write to the milter");
    if (conn_read(&mc, &pk, d, 0, 0, why, sizeof why) < 0) return -1;
    if (pk.cmd != 'O') return log_why(why, sizeof why, "negotiation answered with 0x%02x", (unsigned)pk.cmd & 0xff);
    return milter_negotiation_parse(pk.data, pk.len, &neg, why, sizeof why);
}

static void negotiate(void)
{
    if (try_negotiate() < 0) die(why);
}

int milter_check(const struct milter_config *config, char *reason, size_t size)
{
    int r;
    cfg = config;
    mc.fd = -1;
    r = try_negotiate();
    conn_close(&mc);
    if (r < 0) snprintf(reason, size, "milter %s: %s", cfg->address, why);
    return r;
}

int milter_run(const struct milter_config *config)
{
    struct filter_request req;
    unsigned events = 1u << FILTER_CONNECT | 1u << FILTER_MAIL | 1u << FILTER_EOM;
    int r;
    cfg = config;
    mc.fd = -1;
    negotiate();
    if (!(neg.protocol & SMFIP_NOHELO)) events |= 1u << FILTER_HELO | 1u << FILTER_TLS;
    if (!(neg.protocol & SMFIP_NORCPT)) events |= 1u << FILTER_RCPT;
    if (!(neg.protocol & SMFIP_NODATA)) events |= 1u << FILTER_DATA;
    if (filterside_start_version(&fs, events, 2) < 0)
        log_fatal(111, "the proxy does not speak smtp-filter(7) version 2");
    while ((r = filterside_next(&fs, &req)) > 0) {
        switch (req.event) {
        case FILTER_CONNECT: on_connect(&req); break;
        case FILTER_HELO: on_helo(&req); break;
        case FILTER_TLS:
            field_copy(tls_version, sizeof tls_version, &req, 0);
            field_copy(tls_cipher, sizeof tls_cipher, &req, 1);
            say_continue();
            break;
        case FILTER_MAIL: on_mail(&req); break;
        case FILTER_RCPT: on_rcpt(&req); break;
        case FILTER_DATA: on_data(); break;
        case FILTER_EOM: on_eom(&req); break;
        default: say_continue(); break;
        }
        if (mc.fd >= 0 && conn_flush(&mc, after(cfg->command_timeout)) < 0)
            die("unable to write to the milter");
        if (filterside_flush(&fs) < 0) proxy_failed();
    }
    quit();
    if (r < 0) log_fatal(111, "malformed event from the proxy");
    return 0;
}
