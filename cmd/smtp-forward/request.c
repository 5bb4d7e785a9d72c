#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "request.h"
#include "scan.h"
#include "xtext.h"

static const struct request_refusal
    bad_sender = { 501, "5.1.7", "Bad sender address syntax" },
    bad_recipient = { 501, "5.1.3", "Bad recipient address syntax" },
    bad_param = { 501, "5.5.4", "Bad parameter syntax" },
    unsupported = { 555, "5.5.4", "Unsupported parameter" };

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
    int e;

    m->size[0] = m->body[0] = 0;
    if (!k || smtp_path_parse(arg + k, n - k, 1, m->addr, &used) != SMTP_PATH_OK)
        return &bad_sender;
    p = arg + k + used;
    while ((e = smtp_param_next(&p, arg + n, &prm)) > 0) {
        if (!strcasecmp(prm.key, "SIZE")) {
            /* A number the smarthost can take, and a line that fits. */
            size_t l = strlen(prm.value);
            if (!l || l >= sizeof m->size || strspn(prm.value, "0123456789") != l)
                return &bad_param;
            memcpy(m->size, prm.value, l + 1);
        } else if (!strcasecmp(prm.key, "BODY")) {
            if (strcasecmp(prm.value, "7BIT") && strcasecmp(prm.value, "8BITMIME"))
                return &bad_param;
            strcpy(m->body, prm.value);
        } else {
            return &unsupported;
        }
    }
    return e < 0 ? &bad_param : 0;
}

size_t request_mail_line(const struct request_mail *m, int with_size, int with_body,
                         char line[REQUEST_LINE_MAX])
{
    return (size_t)snprintf(line, REQUEST_LINE_MAX, "MAIL FROM:<%s>%s%s%s%s", m->addr,
                            with_size && m->size[0] ? " SIZE=" : "", with_size ? m->size : "",
                            with_body && m->body[0] ? " BODY=" : "", with_body ? m->body : "");
}

const struct request_refusal *request_rcpt(const char *arg, size_t n, char line[REQUEST_LINE_MAX])
{
    char addr[SMTP_ADDRESS_MAX + 1];
    size_t k = smtp_path_prefix(arg, n, "TO:"), used;
    if (!k || smtp_path_parse(arg + k, n - k, 0, addr, &used) != SMTP_PATH_OK) return &bad_recipient;
    if (k + used != n) return &unsupported;
    snprintf(line, REQUEST_LINE_MAX, "RCPT TO:<%s>", addr);
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
