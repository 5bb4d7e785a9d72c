/* Status texts: every reply text a program makes up itself can be replaced
 * through the environment variable SMTP_TEXT_<NAME> (an envdir file, a
 * tcprules entry...).  Only printable ASCII is allowed: a program refuses
 * to start, naming the variable, when a text has any other byte. */
#ifndef NOQUEUE_STATUSTEXT_H
#define NOQUEUE_STATUSTEXT_H

#include <stddef.h>

#define STATUSTEXT_MAX 400

struct statustext {
    const char *name;           /* e.g. "TOO_MANY_RECIPIENTS" */
    const char *text;           /* the default; replaced by the variable */
};

/* Returns the index of the first bad entry, or -1 when all are good; sets
 * *why to a short reason. */
int statustext_load(struct statustext *table, size_t n, const char **why);
/* Is s printable ASCII (32..126), not empty, not too long? */
int statustext_valid(const char *s, const char **why);
/* Copy pattern to out[0..size-1] (size > 0), NUL terminated, cut if need
 * be, with each "%c" whose letter c is letters[i] replaced by values[i],
 * and "%%" by "%"; any other '%' stays.  Returns the length written. */
size_t statustext_expand(const char *pattern, const char *letters, const char *const *values,
                         char *out, size_t size);
/* Where in env is the first "SMTP_TEXT_NAME=..." whose NAME no noqueue
 * program takes (a misspelling: it would be ignored)?  NULL when none is.
 * To see the next, call again with the entry after it. */
char **statustext_unknown(char **env);

#endif
