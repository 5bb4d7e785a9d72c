#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "ipaddr.h"
#include "xtext.h"

#define UNAVAILABLE "[UNAVAILABLE]"

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : 0;
}

void client_from_env(struct client_info *c)
{
    c->addr = env("TCPREMOTEIP");
    c->port = env("TCPREMOTEPORT");
    c->name = env("TCPREMOTEHOST");
    c->helo = env("NOQUEUE_HELO");
    c->proto = env("NOQUEUE_PROTO");
}

unsigned client_attributes(const char *params, size_t n)
{
    static const struct { const char *name; unsigned bit; } known[] = {
        { "ADDR", CLIENT_ADDR }, { "PORT", CLIENT_PORT }, { "NAME", CLIENT_NAME },
        { "HELO", CLIENT_HELO }, { "PROTO", CLIENT_PROTO },
    };
    unsigned attrs = 0;
    size_t i = 0, k;
    while (i < n) {
        size_t w;
        while (i < n && params[i] == ' ') i++;
        for (w = 0; i + w < n && params[i + w] != ' '; w++) {}
        for (k = 0; k < sizeof known / sizeof *known; k++)
            if (w == strlen(known[k].name) && !strncasecmp(params + i, known[k].name, w))
                attrs |= known[k].bit;
        i += w;
    }
    return attrs;
}

/* Printable ASCII, no space, 1..255 octets: what a smarthost takes as a
 * HELO name (anything else goes as [UNAVAILABLE]). */
static int printable(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 33 || (unsigned char)s[n] > 126 || n >= 255) return 0;
    return n > 0;
}

/* " NAME=xtext" appended; 0, or -1 when it does not fit (line unchanged). */
static int attribute(char *line, size_t *len, const char *name, const char *prefix, const char *value)
{
    char enc[3 * 255 + 1];
    ssize_t e = xtext_encode(enc, sizeof enc, value, strlen(value));
    int n;
    if (e < 0) return -1;
    n = snprintf(line + *len, CLIENT_LINE_MAX - 2 - *len, " %s=%s%s", name, prefix, enc);
    if (n < 0 || (size_t)n >= CLIENT_LINE_MAX - 2 - *len) {
        line[*len] = 0;
        return -1;
    }
    *len += (size_t)n;
    return 0;
}

/* A host name: labels of letters, digits and hyphens, separated by
 * single dots, at most 255 octets (a smarthost refuses XCLIENT with a NAME
 * of any other shape: Postfix says "501 Bad NAME syntax"). */
static int host_name(const char *s)
{
    size_t n = 0, label = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= 255) return 0;
        if (c == '.') {
            if (!label) return 0;
            label = 0;
        } else if ((c | 32) >= 'a' && (c | 32) <= 'z') {
            label++;
        } else if ((c >= '0' && c <= '9') || c == '-') {
            label++;
        } else {
            return 0;
        }
    }
    return n > 0 && label > 0;
}

/* A port: 1 to 5 digits, at most 65535. */
static int port_number(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && n <= 5 && !s[n] && strtoul(s, 0, 10) <= 65535;
}

static size_t build(char *line, const char *verb, unsigned attrs, const struct client_info *c,
                    int name_ok, int helo_ok)
{
    size_t len = (size_t)snprintf(line, CLIENT_LINE_MAX - 2, "%s", verb);
    const char *v6 = strchr(c->addr, ':') ? "IPV6:" : "";
    int proto = c->proto && (!strcmp(c->proto, "SMTP") || !strcmp(c->proto, "ESMTP"));
    if (attribute(line, &len, "ADDR", v6, c->addr) < 0) return 0;
    if ((attrs & CLIENT_PORT) && c->port && port_number(c->port) &&
        attribute(line, &len, "PORT", "", c->port) < 0) return 0;
    if ((attrs & CLIENT_NAME) &&
        attribute(line, &len, "NAME", "", name_ok ? c->name : UNAVAILABLE) < 0) return 0;
    if ((attrs & CLIENT_HELO) &&
        attribute(line, &len, "HELO", "", helo_ok ? c->helo : UNAVAILABLE) < 0) return 0;
    if ((attrs & CLIENT_PROTO) && proto && attribute(line, &len, "PROTO", "", c->proto) < 0) return 0;
    return len;
}

size_t client_command(char *line, const char *verb, unsigned attrs, const struct client_info *c)
{
    struct ipaddr a;
    int name_ok = c->name && host_name(c->name), helo_ok = c->helo && printable(c->helo);
    size_t len;
    line[0] = 0;
    /* No address, nothing to say: the rest would stand for the wrong one. */
    if (!c->addr || !(attrs & CLIENT_ADDR) || !ipaddr_parse(&a, c->addr, strlen(c->addr))) return 0;
    /* Too long: the HELO name goes (with it, the longest line is some
     * 370 octets: a host name needs no encoding). */
    if ((len = build(line, verb, attrs, c, name_ok, helo_ok))) return len;
    return build(line, verb, attrs, c, name_ok, 0);
}
