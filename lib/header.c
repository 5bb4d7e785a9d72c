#include <string.h>

#include "header.h"

int header_name_valid(const char *s, size_t n)
{
    size_t i;
    if (!n || n > HEADER_NAME_MAX) return 0;
    for (i = 0; i < n; i++)
        if (s[i] < 33 || s[i] > 126 || s[i] == ':') return 0;
    return 1;
}

/* line: the length of the first line before s (the name and colon). */
static int value_valid(const char *s, size_t n, size_t line)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r') {
            if (i + 2 >= n || s[i + 1] != '\n' || (s[i + 2] != ' ' && s[i + 2] != '\t'))
                return 0;
            i++;
            line = 0;
            continue;
        }
        if ((c < 32 && c != '\t') || c > 126) return 0;
        if (++line > HEADER_LINE_MAX) return 0;
    }
    return 1;
}

int header_value_valid(const char *s, size_t n)
{
    return value_valid(s, n, 0);
}

int header_field_valid(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t name;
    if (!colon) return 0;
    name = (size_t)(colon - s);
    if (!header_name_valid(s, name)) return 0;
    return value_valid(colon + 1, n - name - 1, name + 1);
}
