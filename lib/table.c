#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "table.h"

int table_open(struct table *t, const char *path)
{
    int e;
    t->path = path;
    t->opened = 0;
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0) return -1;
    if (cdb_init(&t->db, t->fd) < 0) {
        e = errno ? errno : EINVAL;
        close(t->fd);
        t->fd = -1;
        errno = e;
        return -1;
    }
    t->opened = 1;
    return 0;
}

int table_get(struct table *t, const char *key, size_t klen, char *value, size_t size)
{
    struct cdb *db = &t->db;
    unsigned len, n;
    int r;
    if (!t->opened || klen > 0xffffffffu) return 0;
    r = cdb_find(db, key, (unsigned)klen);
    if (r <= 0) return r;
    len = cdb_datalen(db);
    n = size && len > size - 1 ? (unsigned)(size - 1) : len;
    if (size && cdb_read(db, value, n, cdb_datapos(db)) < 0) return -1;
    if (size) value[n] = 0;
    return 1;
}

void table_close(struct table *t)
{
    if (t->opened) {
        cdb_free(&t->db);
        close(t->fd);
    }
    t->opened = 0;
    t->fd = -1;
}
