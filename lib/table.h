/* Tables: constant databases (cdb) made by "cdb -c" (tinycdb) from a text
 * source, opened per connection, so that replacing the file with rename(2)
 * takes effect at the next connection.  Keys are looked up as given. */
#ifndef NOQUEUE_TABLE_H
#define NOQUEUE_TABLE_H

#include <cdb.h>
#include <stddef.h>

struct table {
    int opened;                 /* 0 in a zeroed struct: closed */
    int fd;
    const char *path;
    struct cdb db;              /* here, not allocated: no malloc per connection */
};

/* 0, or -1 with errno (the caller names the file in its error). */
int table_open(struct table *t, const char *path);
/* 1 found (value copied, NUL terminated, truncated to size-1), 0 not found,
 * -1 a read error. */
int table_get(struct table *t, const char *key, size_t klen, char *value, size_t size);
void table_close(struct table *t);

#endif
