/* smtp-table: the text formats of noqueue-tables(5), one line at a time,
 * and the atomic writing of their cdb. */
#ifndef SMTP_TABLE_COMPILE_H
#define SMTP_TABLE_COMPILE_H

#include <stddef.h>

#include "ipaddr.h"
#include "smtp_command.h"

enum table_kind { KIND_CLIENTS, KIND_SENDERS, KIND_RECIPIENTS, KIND_NONE };

/* The longest source line, LF included. */
#define TABLE_LINE_MAX 1024
/* Every key holds an address, a domain or a prefix. */
#define TABLE_KEY_MAX (SMTP_ADDRESS_MAX + 2)
#define TABLE_VALUE_MAX 512
/* A reply text of an entry, its enhanced status code included. */
#define TABLE_TEXT_MAX 400

/* Keys that no entry can have (entries hold '@', '.', ':' or '/'). */
#define TABLE_KIND_KEY "noqueue-table"
#define TABLE_PREFIXES4_KEY "noqueue-prefixes4"
#define TABLE_PREFIXES6_KEY "noqueue-prefixes6"

struct table_entry {
    char key[TABLE_KEY_MAX + 1];
    size_t keylen;
    char value[TABLE_VALUE_MAX + 1];
    size_t valuelen;
    unsigned prefix;            /* clients: the prefix length */
    unsigned bits;              /* clients: 32 or 128 */
    size_t domain;              /* recipients: where "@domain" starts in key, or 0 */
};

enum table_kind table_kind(const char *name);
const char *table_kind_name(enum table_kind kind);

/* One line of a source, without its line end (n octets).  Returns 1 with
 * *e filled, 0 for a blank line or a comment, -1 for a bad line with why
 * set.  *warning is set (else 0) when the line is taken but looks like a
 * mistake (a prefix with host bits set). */
int table_line(enum table_kind kind, const char *line, size_t n, struct table_entry *e,
               char *why, size_t whysize, const char **warning);

/* Compile source into target: a temporary file in target's directory,
 * then rename(2), so that a reader sees the old table or the new one,
 * never a part.  Bad lines are reported on stderr as "source:line: why"
 * and leave target as it was.  Returns 0, 100 (bad lines, or a source or
 * target that cannot be used) or 111 (a system error); *why (of whysize)
 * says what failed for 100 and 111. */
int table_compile(enum table_kind kind, const char *source, const char *target,
                  char *why, size_t whysize);

#endif
