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

int statustext_load(struct statustext *table, size_t n, const char **why)
{
    size_t i;
    for (i = 0; i < n; i++) {
        char var[64];
        const char *v;
        snprintf(var, sizeof var, "SMTP_TEXT_%s", table[i].name);
        v = getenv(var);
        if (!v) continue;
        if (!statustext_valid(v, why)) return (int)i;
        table[i].text = v;
    }
    return -1;
}
