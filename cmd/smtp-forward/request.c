#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ehlocache.h"
#include "request.h"
#include "scan.h"
#include "xtext.h"

static const struct request_refusal
    bad_sender = { 501, "5.1.7", "Bad sender address syntax" },
    bad_recipient = { 501, "5.1.3", "Bad recipient address syntax" },
    bad_param = { 501, "5.5.4", "Bad parameter syntax" },
    unsupported = { 555, "5.5.4", "Unsupported parameter" },
    not_ascii = { 553, "5.6.7", "Non-ASCII address needs SMTPUTF8, as valid UTF-8" };

/* " KEY=VALUE" (or " KEY") at the end of buf (size room): 0, or -1 when it
 * does not fit. */
static int param_add(char *buf, size_t room, const struct smtp_param *p)
{
    size_t len = strlen(buf);
    int k = snprintf(buf + len, room - len, " %s%s%s", p->key, p->value[0] ? "=" : "", p->value);
    return k < 0 || (size_t)k >= room - len ? -1 : 0;
}

int request_split(char *line, size_t n, struct smtp_command *c)
{
    if (n && line[n - 1] == '\r') line[--n] = 0;
    if (n > 7 && !strncmp(line, "HEADER ", 7)) {
        c->verb = SMTP_UNKNOWN;
        c->arg = line + 7;
        c->arglen = n - 7;
        return 1;
    }
    smtp_command_split(line, n, c);
    return 0;
}

const struct request_refusal *request_mail(const char *arg, size_t n, struct request_mail *m)
{
    size_t k = smtp_path_prefix(arg, n, "FROM:"), used;
    const char *p;
    struct smtp_param prm;
    unsigned seen = 0;
    int e, valid, path;

    m->size[0] = m->body[0] = m->params[0] = 0;
    m->needs = 0;
    m->smtputf8 = 0;
    if (!k) return &bad_sender;
    /* SMTPUTF8 may come after the path it allows: the parameters first. */
    for (p = arg + k; p < arg + n && *p != ' '; p++)
        if (*p == '"')
            while (++p < arg + n && *p != '"')
                if (*p == '\\' && p + 1 < arg + n) p++;
    while ((e = smtp_param_next(&p, arg + n, &prm)) > 0) {
        enum smtp_param_kind kind = smtp_param_kind(&prm, 0, &valid);
        if (kind == SMTP_PARAM_UNKNOWN || (kind == SMTP_PARAM_BODY && !strcasecmp(prm.value, "BINARYMIME")))
            return &unsupported;
        if (!valid || seen & (1u << kind)) return &bad_param;
        seen |= 1u << kind;
        switch (kind) {
        case SMTP_PARAM_SIZE: strcpy(m->size, prm.value); break;
        case SMTP_PARAM_BODY: strcpy(m->body, prm.value); break;
        case SMTP_PARAM_SMTPUTF8:
            m->smtputf8 = 1;
            m->needs |= EHLO_SMTPUTF8;
            if (param_add(m->params, sizeof m->params, &prm) < 0) return &bad_param;
            break;
        default:                        /* RET, ENVID */
            m->needs |= EHLO_DSN;
            if (param_add(m->params, sizeof m->params, &prm) < 0) return &bad_param;
        }
    }
    if (e < 0) return &bad_param;
    path = smtp_path_parse_utf8(arg + k, n - k, 1, m->smtputf8, m->addr, &used);
    if (path == SMTP_PATH_NOT_ASCII) return &not_ascii;
    if (path != SMTP_PATH_OK || (k + used < n && arg[k + used] != ' ')) return &bad_sender;
    return 0;
}

size_t request_mail_line(const struct request_mail *m, int with_size, int with_body,
                         char line[REQUEST_LINE_MAX])
{
    return (size_t)snprintf(line, REQUEST_LINE_MAX, "MAIL FROM:<%s>%s%s%s%s%s", m->addr,
                            with_size && m->size[0] ? " SIZE=" : "", with_size ? m->size : "",
                            with_body && m->body[0] ? " BODY=" : "", with_body ? m->body : "",
                            m->params);
}

const struct request_refusal *request_rcpt(const char *arg, size_t n, char line[REQUEST_LINE_MAX])
{
    unsigned needs;
    return request_rcpt_esmtp(arg, n, 0, &needs, line);
}

const struct request_refusal *request_rcpt_esmtp(const char *arg, size_t n, int utf8,
                                                 unsigned *needs, char line[REQUEST_LINE_MAX])
{
    char addr[SMTP_ADDRESS_MAX + 1], params[REQUEST_LINE_MAX - SMTP_ADDRESS_MAX - 16];
    size_t k = smtp_path_prefix(arg, n, "TO:"), used;
    const char *p;
    struct smtp_param prm;
    unsigned seen = 0;
    int e, valid, path;
    *needs = 0;
    params[0] = 0;
    if (!k) return &bad_recipient;
    path = smtp_path_parse_utf8(arg + k, n - k, 0, utf8, addr, &used);
    if (path == SMTP_PATH_NOT_ASCII) return &not_ascii;
    if (path != SMTP_PATH_OK) return &bad_recipient;
    p = arg + k + used;
    if (p < arg + n && *p != ' ') return &bad_recipient;
    while ((e = smtp_param_next(&p, arg + n, &prm)) > 0) {
        enum smtp_param_kind kind = smtp_param_kind(&prm, 1, &valid);
        if (kind == SMTP_PARAM_UNKNOWN) return &unsupported;
        if (!valid || seen & (1u << kind)) return &bad_param;
        seen |= 1u << kind;
        *needs |= EHLO_DSN;
        if (param_add(params, sizeof params, &prm) < 0) return &bad_param;
    }
    if (e < 0) return &bad_param;
    snprintf(line, REQUEST_LINE_MAX, "RCPT TO:<%s>%s", addr, params);
    return 0;
}

ssize_t request_header(const char *arg, size_t n, char field[REQUEST_FIELD_MAX])
{
    ssize_t d = xtext_decode(field, REQUEST_FIELD_MAX, arg, n);
    return d < 0 || !header_field_valid(field, (size_t)d) ? -1 : d;
}

int request_data(const char *arg, size_t n, unsigned long *seconds)
{
    unsigned long s;
    if (!n) return 0;
    if (!scan_ulong(arg, 86400, &s) || !s) return -1;
    *seconds = s;
    return 0;
}
