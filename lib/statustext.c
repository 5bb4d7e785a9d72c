#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statustext.h"

int statustext_valid(const char *s, const char **why)
{
    size_t i;
    for (i = 0; s[i]; i++)
        if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) {
            *why = (unsigned char)s[i] > 126 ? "has a non-ASCII byte" : "has a control character";
            return 0;
        }
    if (!i) { *why = "is empty"; return 0; }
    if (i > STATUSTEXT_MAX) { *why = "is longer than 400 characters"; return 0; }
    return 1;
}

/* One pass over the environment (this runs at every connection). */
int statustext_load(struct statustext *table, size_t n, const char **why)
{
    extern char **environ;
    char **e;
    size_t i;
    for (e = environ; *e; e++) {
        const char *name, *eq;
        if (strncmp(*e, "SMTP_TEXT_", 10)) continue;
        name = *e + 10;
        eq = strchr(name, '=');
        if (!eq) continue;
        for (i = 0; i < n; i++)
            if (strlen(table[i].name) == (size_t)(eq - name) &&
                !memcmp(table[i].name, name, (size_t)(eq - name))) {
                if (!statustext_valid(eq + 1, why)) return (int)i;
                table[i].text = eq + 1;
            }
    }
    return -1;
}

size_t statustext_expand(const char *pattern, const char *letters, const char *const *values,
                         char *out, size_t size)
{
    size_t n = 0;
    const char *p;
    for (p = pattern; *p && n + 1 < size; p++) {
        const char *add = NULL, *l;
        if (*p == '%' && p[1] == '%') add = "%";
        else if (*p == '%' && p[1] && (l = strchr(letters, p[1]))) add = values[l - letters];
        if (add) {
            p++;
            while (*add && n + 1 < size) out[n++] = *add++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = 0;
    return n;
}

/* Every name a noqueue program takes, so that a misspelt one is seen:
 * t/05-config.sh checks this list against the programs' tables. */
static const char *const known[] = {
    "ATTACHMENT", "BAD_COMMAND", "BAD_PARAMETER", "BAD_RECIPIENT", "BAD_SENDER",
    "BAD_SEQUENCE", "BAD_SYNTAX", "BARE_EOL", "BARE_EOL_COMMAND", "BYE", "CLIENT_DENIED",
    "DATA", "DISCARDED", "DNSBL_LISTED", "EARLY_TALKER", "ENVELOPE_REFUSED",
    "FILTER_FAILED", "GREETING", "GREYLISTED", "HELO_INVALID", "HELO_NOT_FQDN",
    "HELO_SELF", "HELP", "LINE_TOO_LONG", "LOCAL_ERROR", "LOOKUP_FAILED", "MALFORMED",
    "MALWARE_FOUND", "MISSING_HEADER", "NOT_IMPLEMENTED", "NO_RECIPIENTS", "NO_SERVICE",
    "OK", "RECIPIENT_UNKNOWN", "REJECTED", "RELAY_DENIED", "SENDER_DENIED", "SHUTDOWN",
    "SPAM", "SPF_REJECTED", "SPF_TEMPFAIL", "STORAGE", "TEMPFAIL", "TIMEOUT", "TLS_GO",
    "TLS_REQUIRED", "TOO_BIG", "TOO_BIG_TO_SCAN", "TOO_MANY_ERRORS",
    "TOO_MANY_RECIPIENTS", "UNAVAILABLE", "UPSTREAM_LOST", "UPSTREAM_PROTOCOL",
    "UPSTREAM_EXTENSION", "UPSTREAM_UNAVAILABLE", "VRFY",
};

char **statustext_unknown(char **env)
{
    for (; *env; env++) {
        const char *name, *eq;
        size_t i;
        if (strncmp(*env, "SMTP_TEXT_", 10)) continue;
        name = *env + 10;
        if (!(eq = strchr(name, '='))) continue;
        for (i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strlen(known[i]) == (size_t)(eq - name) && !memcmp(known[i], name, (size_t)(eq - name)))
                break;
        if (i == sizeof known / sizeof known[0]) return env;
    }
    return NULL;
}
