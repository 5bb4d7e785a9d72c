#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadline.h"
#include "dupstore.h"

/* Header fields (noqueue-dupstore(5)), little-endian. */
#define H_MAGIC     0
#define H_VERSION   16
#define H_RECSIZE   20
#define H_BUCKETREC 24
#define H_BUCKETS   28
#define H_CREATED   32
#define H_CHECKSUM  56
/* Record fields. */
#define R_FP        0
#define R_TIME      32
#define R_EXPIRES   40          /* version 2 */
#define R_VALUE     48          /* version 2 */
#define R_CHECKSUM  56

static void put32(unsigned char *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* FNV-1a, 64 bits: a checksum against torn or damaged records, not a
 * defence against someone who can write the file (who could write any
 * valid record anyway). */
uint64_t dupstore_checksum(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    while (n--) {
        h ^= *p++;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int all_zero(const unsigned char *p, size_t n)
{
    while (n--)
        if (*p++) return 0;
    return 1;
}

void dupstore_record_encode(unsigned char rec[DUPSTORE_RECORD_SIZE],
                            const unsigned char fp[DUPSTORE_FP_SIZE], int64_t when)
{
    memset(rec, 0, DUPSTORE_RECORD_SIZE);
    memcpy(rec + R_FP, fp, DUPSTORE_FP_SIZE);
    put64(rec + R_TIME, (uint64_t)when);
    put64(rec + R_CHECKSUM, dupstore_checksum(rec, R_CHECKSUM));
}

enum dupstore_state dupstore_record_decode(const unsigned char rec[DUPSTORE_RECORD_SIZE],
                                           unsigned char fp[DUPSTORE_FP_SIZE], int64_t *when)
{
    if (all_zero(rec, DUPSTORE_RECORD_SIZE)) return DUPSTORE_EMPTY;
    if (get64(rec + R_CHECKSUM) != dupstore_checksum(rec, R_CHECKSUM) || !get64(rec + R_TIME) ||
        !all_zero(rec + 40, R_CHECKSUM - 40))
        return DUPSTORE_CORRUPT;
    if (fp) memcpy(fp, rec + R_FP, DUPSTORE_FP_SIZE);
    if (when) *when = (int64_t)get64(rec + R_TIME);
    return DUPSTORE_USED;
}

void dupstore_record_encode_value(unsigned char rec[DUPSTORE_RECORD_SIZE],
                                  const unsigned char fp[DUPSTORE_FP_SIZE], int64_t when,
                                  int64_t expires, int64_t value)
{
    memset(rec, 0, DUPSTORE_RECORD_SIZE);
    memcpy(rec + R_FP, fp, DUPSTORE_FP_SIZE);
    put64(rec + R_TIME, (uint64_t)when);
    put64(rec + R_EXPIRES, (uint64_t)expires);
    put64(rec + R_VALUE, (uint64_t)value);
    put64(rec + R_CHECKSUM, dupstore_checksum(rec, R_CHECKSUM));
}

enum dupstore_state dupstore_record_decode_value(const unsigned char rec[DUPSTORE_RECORD_SIZE],
                                                 unsigned char fp[DUPSTORE_FP_SIZE], int64_t *when,
                                                 int64_t *expires, int64_t *value)
{
    if (all_zero(rec, DUPSTORE_RECORD_SIZE)) return DUPSTORE_EMPTY;
    if (get64(rec + R_CHECKSUM) != dupstore_checksum(rec, R_CHECKSUM) || !get64(rec + R_TIME))
        return DUPSTORE_CORRUPT;
    if (fp) memcpy(fp, rec + R_FP, DUPSTORE_FP_SIZE);
    if (when) *when = (int64_t)get64(rec + R_TIME);
    if (expires) *expires = (int64_t)get64(rec + R_EXPIRES);
    if (value) *value = (int64_t)get64(rec + R_VALUE);
    return DUPSTORE_USED;
}

/* A record as the open store's version reads it. */
static enum dupstore_state decode(const struct dupstore *s, const unsigned char *rec,
                                  unsigned char *fp, int64_t *when, int64_t *expires)
{
    if (expires) *expires = 0;
    if (s->version == DUPSTORE_VERSION_VALUES) return dupstore_record_decode_value(rec, fp, when, expires, 0);
    return dupstore_record_decode(rec, fp, when);
}

void dupstore_hex(const unsigned char fp[DUPSTORE_FP_SIZE], char out[2 * DUPSTORE_FP_SIZE + 1])
{
    static const char digits[] = "0123456789abcdef";
    int i;
    for (i = 0; i < DUPSTORE_FP_SIZE; i++) {
        out[2 * i] = digits[fp[i] >> 4];
        out[2 * i + 1] = digits[fp[i] & 15];
    }
    out[2 * DUPSTORE_FP_SIZE] = 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int dupstore_parse_hex(const char *s, unsigned char fp[DUPSTORE_FP_SIZE])
{
    int i;
    for (i = 0; i < DUPSTORE_FP_SIZE; i++) {
        int hi = hex_digit(s[2 * i]), lo = hi < 0 ? -1 : hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        fp[i] = (unsigned char)(hi << 4 | lo);
    }
    return s[2 * DUPSTORE_FP_SIZE] ? -1 : 0;
}

uint32_t dupstore_bucket(const struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE])
{
    return (uint32_t)(get64(fp) % s->nbuckets);
}

int64_t dupstore_bucket_offset(uint32_t bucket)
{
    return DUPSTORE_HEADER_SIZE + (int64_t)bucket * DUPSTORE_BUCKET_SIZE;
}

unsigned long dupstore_slots(const struct dupstore *s)
{
    return (unsigned long)s->nbuckets * DUPSTORE_BUCKET_RECORDS;
}

static int64_t file_size(uint32_t nbuckets)
{
    return dupstore_bucket_offset(nbuckets);
}

/* |now - when| < window: recent either way, in case the clock went back. */
static int live(int64_t when, int64_t now, int64_t window)
{
    return when > now - window && when < now + window;
}

static int sys_error(struct dupstore *s, const char *what)
{
    int e = errno;
    snprintf(s->why, sizeof s->why, "%s: %s", what, strerror(e));
    errno = e;
    return DUPSTORE_ERR_SYSTEM;
}

static int format_error(struct dupstore *s, const char *what)
{
    snprintf(s->why, sizeof s->why, "%s", what);
    return DUPSTORE_ERR_FORMAT;
}

/* fcntl(2) record locks are released by the kernel when their process
 * dies, so a writer killed with its lock held blocks nobody.  F_SETLKW
 * has no timeout: F_SETLK, retried with short sleeps up to the deadline. */
static int lock(int fd, short type, int64_t start, int64_t len, int64_t deadline)
{
    struct flock fl;
    int step = 1;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)start;
    fl.l_len = (off_t)len;
    for (;;) {
        int ms;
        if (fcntl(fd, F_SETLK, &fl) == 0) return 0;
        if (errno != EAGAIN && errno != EACCES && errno != EINTR) return -1;
        ms = deadline_poll_ms(deadline);
        if (ms == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (ms < 0 || ms > step) ms = step;
        poll(0, 0, ms);
        if (step < 16) step *= 2;
    }
}

static void unlock(int fd, int64_t start, int64_t len)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)start;
    fl.l_len = (off_t)len;
    fcntl(fd, F_SETLK, &fl);
}

/* Read n octets at off; what lies beyond the end of the file reads as
 * zeros (empty records).  The count actually in the file, or -1. */
static ssize_t read_at(int fd, unsigned char *buf, size_t n, int64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + (int64_t)got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    memset(buf + got, 0, n - got);
    return (ssize_t)got;
}

static int write_at(int fd, const unsigned char *buf, size_t n, int64_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, buf, n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return -1;
        }
        buf += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* 1 a valid header, 0 none yet (an empty file, or a header of zeros left
 * by a creator that died), or DUPSTORE_ERR_*. */
static int header_read(struct dupstore *s, uint32_t wanted)
{
    unsigned char h[DUPSTORE_HEADER_USED];
    uint32_t version, nbuckets;
    ssize_t n = read_at(s->fd, h, sizeof h, 0);
    if (n < 0) return sys_error(s, "unable to read the header");
    if (all_zero(h, sizeof h)) return 0;
    if (memcmp(h + H_MAGIC, DUPSTORE_MAGIC, n < 16 ? (size_t)n : 16))
        return format_error(s, "not a noqueue-dupstore file");
    if ((size_t)n < sizeof h) return format_error(s, "truncated header: recreate it with smtp-dupstore -c");
    version = get32(h + H_VERSION);
    if (version != wanted) {
        snprintf(s->why, sizeof s->why, "unsupported version %lu", (unsigned long)version);
        return DUPSTORE_ERR_FORMAT;
    }
    if (get64(h + H_CHECKSUM) != dupstore_checksum(h, H_CHECKSUM))
        return format_error(s, "damaged header (bad checksum): recreate it with smtp-dupstore -c");
    nbuckets = get32(h + H_BUCKETS);
    if (get32(h + H_RECSIZE) != DUPSTORE_RECORD_SIZE || get32(h + H_BUCKETREC) != DUPSTORE_BUCKET_RECORDS ||
        !nbuckets || nbuckets > DUPSTORE_SLOTS_MAX / DUPSTORE_BUCKET_RECORDS)
        return format_error(s, "unsupported geometry");
    s->nbuckets = nbuckets;
    s->version = version;
    s->created = (int64_t)get64(h + H_CREATED);
    return 1;
}

static uint32_t buckets_for(unsigned long slots)
{
    if (slots < DUPSTORE_SLOTS_MIN) slots = DUPSTORE_SLOTS_MIN;
    if (slots > DUPSTORE_SLOTS_MAX) slots = DUPSTORE_SLOTS_MAX;
    return (uint32_t)((slots + DUPSTORE_BUCKET_RECORDS - 1) / DUPSTORE_BUCKET_RECORDS);
}

/* Records of zeros (empty), then the header: a creator that dies before
 * the header leaves a file the next one initializes again. */
static int initialize(struct dupstore *s, unsigned long slots, uint32_t version, int64_t now)
{
    unsigned char h[DUPSTORE_HEADER_USED];
    uint32_t nbuckets = buckets_for(slots);
    if (ftruncate(s->fd, 0) < 0 || ftruncate(s->fd, (off_t)file_size(nbuckets)) < 0)
        return sys_error(s, "unable to size the file");
    memset(h, 0, sizeof h);
    memcpy(h + H_MAGIC, DUPSTORE_MAGIC, 16);
    put32(h + H_VERSION, version);
    put32(h + H_RECSIZE, DUPSTORE_RECORD_SIZE);
    put32(h + H_BUCKETREC, DUPSTORE_BUCKET_RECORDS);
    put32(h + H_BUCKETS, nbuckets);
    put64(h + H_CREATED, (uint64_t)now);
    put64(h + H_CHECKSUM, dupstore_checksum(h, H_CHECKSUM));
    if (write_at(s->fd, h, sizeof h, 0) < 0) return sys_error(s, "unable to write the header");
    s->nbuckets = nbuckets;
    s->version = version;
    s->created = now;
    return 1;
}

static int fail(struct dupstore *s, int r)
{
    int e = errno;
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    errno = e;
    return r;
}

int dupstore_open(struct dupstore *s, const char *path, int writable, int create,
                  unsigned long slots, int64_t now, int64_t deadline)
{
    return dupstore_open_version(s, path, writable, create, slots, DUPSTORE_VERSION, now, deadline);
}

int dupstore_open_version(struct dupstore *s, const char *path, int writable, int create,
                          unsigned long slots, uint32_t version, int64_t now, int64_t deadline)
{
    struct stat st;
    int r;
    s->repaired = 0;
    s->nbuckets = 0;
    s->why[0] = 0;
    create = create && writable;
    s->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (s->fd < 0) return sys_error(s, "unable to open");
    if (lock(s->fd, F_RDLCK, 0, DUPSTORE_HEADER_SIZE, deadline) < 0)
        return fail(s, sys_error(s, "unable to lock the header"));
    r = header_read(s, version);
    unlock(s->fd, 0, DUPSTORE_HEADER_SIZE);
    if (r == 0) {
        if (!create) return fail(s, format_error(s, "empty file, not a store yet"));
        /* Many processes may find the file new at once: one initializes it
         * under the header's write lock, the others then see its header. */
        if (lock(s->fd, F_WRLCK, 0, DUPSTORE_HEADER_SIZE, deadline) < 0)
            return fail(s, sys_error(s, "unable to lock the header"));
        r = header_read(s, version);
        if (r == 0) r = initialize(s, slots, version, now);
        unlock(s->fd, 0, DUPSTORE_HEADER_SIZE);
    }
    if (r < 0) return fail(s, r);
    if (fstat(s->fd, &st) < 0) return fail(s, sys_error(s, "unable to stat"));
    /* Cut short (a full disk, a careless copy): the missing records read
     * as empty, so extending the file with zeros loses nothing more.
     * ftruncate only grows it here, whatever runs at the same time. */
    if (st.st_size < file_size(s->nbuckets) && writable) {
        if (ftruncate(s->fd, (off_t)file_size(s->nbuckets)) < 0)
            return fail(s, sys_error(s, "unable to extend the truncated file"));
        s->repaired = 1;
    }
    return 0;
}

void dupstore_close(struct dupstore *s)
{
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
}

int dupstore_create(struct dupstore *s, const char *path, unsigned long slots, int64_t now)
{
    char tmp[4096];
    int r;
    s->repaired = 0;
    s->why[0] = 0;
    s->fd = -1;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return sys_error(s, "unable to create");
    }
    s->fd = mkstemp(tmp);
    if (s->fd < 0) return sys_error(s, "unable to create a temporary file");
    fcntl(s->fd, F_SETFD, FD_CLOEXEC);
    r = initialize(s, slots, DUPSTORE_VERSION, now);
    if (r > 0 && fsync(s->fd) < 0) r = sys_error(s, "unable to sync");
    if (r > 0 && rename(tmp, path) < 0) r = sys_error(s, "unable to rename the new file into place");
    if (r < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return fail(s, r);
    }
    return 0;
}

static int bucket_lock(struct dupstore *s, short type, uint32_t b, int64_t deadline)
{
    if (lock(s->fd, type, dupstore_bucket_offset(b), DUPSTORE_BUCKET_SIZE, deadline) < 0)
        return sys_error(s, "unable to lock a bucket");
    return 0;
}

static int bucket_read(struct dupstore *s, uint32_t b, unsigned char *buf)
{
    if (read_at(s->fd, buf, DUPSTORE_BUCKET_SIZE, dupstore_bucket_offset(b)) < 0)
        return sys_error(s, "unable to read");
    return 0;
}

int dupstore_lookup(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE],
                    int64_t now, int64_t window, int64_t deadline, int64_t *when)
{
    unsigned char buf[DUPSTORE_BUCKET_SIZE], f[DUPSTORE_FP_SIZE];
    uint32_t b = dupstore_bucket(s, fp);
    int64_t t;
    int i, r;
    if (bucket_lock(s, F_RDLCK, b, deadline) < 0) return DUPSTORE_ERR_SYSTEM;
    r = bucket_read(s, b, buf);
    unlock(s->fd, dupstore_bucket_offset(b), DUPSTORE_BUCKET_SIZE);
    if (r < 0) return r;
    for (i = 0; i < DUPSTORE_BUCKET_RECORDS; i++)
        if (decode(s, buf + i * DUPSTORE_RECORD_SIZE, f, &t, 0) == DUPSTORE_USED &&
            !memcmp(f, fp, DUPSTORE_FP_SIZE) && live(t, now, window)) {
            if (when) *when = t;
            return 1;
        }
    return 0;
}

/* Write rec, the record of fp, in fp's own slot, else an empty or
 * damaged one (or, in version 2, an expired one), else over the oldest;
 * *evicted says whether that one was still wanted (less than window old
 * in version 1, not expired in version 2). */
static int bucket_put(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE],
                      const unsigned char rec[DUPSTORE_RECORD_SIZE], int64_t now, int64_t window,
                      int64_t deadline, int *evicted)
{
    unsigned char buf[DUPSTORE_BUCKET_SIZE], f[DUPSTORE_FP_SIZE];
    uint32_t b = dupstore_bucket(s, fp);
    int64_t t, exp, oldest_time = 0, oldest_exp = 0;
    int i, same = -1, unused = -1, oldest = -1, slot, r = 0;
    if (bucket_lock(s, F_WRLCK, b, deadline) < 0) return DUPSTORE_ERR_SYSTEM;
    if (bucket_read(s, b, buf) < 0) {
        r = DUPSTORE_ERR_SYSTEM;
        goto out;
    }
    for (i = 0; i < DUPSTORE_BUCKET_RECORDS; i++) {
        if (decode(s, buf + i * DUPSTORE_RECORD_SIZE, f, &t, &exp) != DUPSTORE_USED ||
            (exp && exp <= now && memcmp(f, fp, DUPSTORE_FP_SIZE))) {
            if (unused < 0) unused = i;
        } else if (!memcmp(f, fp, DUPSTORE_FP_SIZE)) {
            same = i;
            break;
        } else if (oldest < 0 || t < oldest_time) {
            oldest = i;
            oldest_time = t;
            oldest_exp = exp;
        }
    }
    slot = same >= 0 ? same : unused >= 0 ? unused : oldest;
    if (evicted)
        *evicted = slot == oldest && (s->version == DUPSTORE_VERSION_VALUES ? !oldest_exp || oldest_exp > now
                                                                            : live(oldest_time, now, window));
    if (write_at(s->fd, rec, DUPSTORE_RECORD_SIZE, dupstore_bucket_offset(b) + slot * DUPSTORE_RECORD_SIZE) < 0)
        r = sys_error(s, "unable to write");
out:
    unlock(s->fd, dupstore_bucket_offset(b), DUPSTORE_BUCKET_SIZE);
    return r;
}

int dupstore_record(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE],
                    int64_t now, int64_t window, int64_t deadline, int *evicted)
{
    unsigned char rec[DUPSTORE_RECORD_SIZE];
    if (s->version == DUPSTORE_VERSION_VALUES)
        dupstore_record_encode_value(rec, fp, now, now + window, 0);
    else
        dupstore_record_encode(rec, fp, now);
    return bucket_put(s, fp, rec, now, window, deadline, evicted);
}

int dupstore_put(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE], int64_t now,
                 int64_t expires, int64_t value, int64_t deadline, int *evicted)
{
    unsigned char rec[DUPSTORE_RECORD_SIZE];
    if (s->version != DUPSTORE_VERSION_VALUES)
        return format_error(s, "a store of version 1 (duplicates only) holds no values");
    dupstore_record_encode_value(rec, fp, now, expires, value);
    return bucket_put(s, fp, rec, now, 0, deadline, evicted);
}

int dupstore_get(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE], int64_t now,
                 int64_t deadline, int64_t *when, int64_t *expires, int64_t *value)
{
    unsigned char buf[DUPSTORE_BUCKET_SIZE], f[DUPSTORE_FP_SIZE];
    uint32_t b;
    int64_t t, exp, v;
    int i, r;
    if (s->version != DUPSTORE_VERSION_VALUES)
        return format_error(s, "a store of version 1 (duplicates only) holds no values");
    b = dupstore_bucket(s, fp);
    if (bucket_lock(s, F_RDLCK, b, deadline) < 0) return DUPSTORE_ERR_SYSTEM;
    r = bucket_read(s, b, buf);
    unlock(s->fd, dupstore_bucket_offset(b), DUPSTORE_BUCKET_SIZE);
    if (r < 0) return r;
    for (i = 0; i < DUPSTORE_BUCKET_RECORDS; i++)
        if (dupstore_record_decode_value(buf + i * DUPSTORE_RECORD_SIZE, f, &t, &exp, &v) == DUPSTORE_USED &&
            !memcmp(f, fp, DUPSTORE_FP_SIZE) && (!exp || exp > now)) {
            if (when) *when = t;
            if (expires) *expires = exp;
            if (value) *value = v;
            return 1;
        }
    return 0;
}

int dupstore_delete(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE], int64_t deadline)
{
    unsigned char buf[DUPSTORE_BUCKET_SIZE], f[DUPSTORE_FP_SIZE];
    uint32_t b = dupstore_bucket(s, fp);
    int i, found = 0, r = 0;
    if (bucket_lock(s, F_WRLCK, b, deadline) < 0) return DUPSTORE_ERR_SYSTEM;
    if (bucket_read(s, b, buf) < 0) {
        r = DUPSTORE_ERR_SYSTEM;
        goto out;
    }
    for (i = 0; i < DUPSTORE_BUCKET_RECORDS; i++) {
        unsigned char *rec = buf + i * DUPSTORE_RECORD_SIZE;
        if (decode(s, rec, f, 0, 0) == DUPSTORE_USED && !memcmp(f, fp, DUPSTORE_FP_SIZE)) {
            memset(rec, 0, DUPSTORE_RECORD_SIZE);
            found = 1;
        }
    }
    if (found && write_at(s->fd, buf, sizeof buf, dupstore_bucket_offset(b)) < 0)
        r = sys_error(s, "unable to write");
out:
    unlock(s->fd, dupstore_bucket_offset(b), DUPSTORE_BUCKET_SIZE);
    return r < 0 ? r : found;
}

int dupstore_expire(struct dupstore *s, int64_t now, int64_t age, int64_t lock_wait_ms,
                    struct dupstore_stats *st)
{
    unsigned char buf[DUPSTORE_BUCKET_SIZE];
    uint32_t b;
    memset(st, 0, sizeof *st);
    for (b = 0; b < s->nbuckets; b++) {
        int i, changed = 0, r = 0;
        if (bucket_lock(s, F_WRLCK, b, deadline_in_ms(lock_wait_ms)) < 0) return DUPSTORE_ERR_SYSTEM;
        if (bucket_read(s, b, buf) < 0) r = DUPSTORE_ERR_SYSTEM;
        for (i = 0; !r && i < DUPSTORE_BUCKET_RECORDS; i++) {
            unsigned char *rec = buf + i * DUPSTORE_RECORD_SIZE;
            int64_t t, exp;
            switch (decode(s, rec, 0, &t, &exp)) {
            case DUPSTORE_EMPTY: break;
            case DUPSTORE_CORRUPT:
                memset(rec, 0, DUPSTORE_RECORD_SIZE);
                st->cleared++;
                changed = 1;
                break;
            case DUPSTORE_USED:
                if (!live(t, now, age) || (exp && exp <= now)) {
                    memset(rec, 0, DUPSTORE_RECORD_SIZE);
                    st->expired++;
                    changed = 1;
                }
                break;
            }
        }
        if (!r && changed && write_at(s->fd, buf, sizeof buf, dupstore_bucket_offset(b)) < 0)
            r = sys_error(s, "unable to write");
        unlock(s->fd, dupstore_bucket_offset(b), DUPSTORE_BUCKET_SIZE);
        if (r < 0) return r;
    }
    return 0;
}

int dupstore_scan(struct dupstore *s, int64_t now, int64_t window, struct dupstore_stats *st,
                  void (*each)(const unsigned char *fp, int64_t when, void *arg), void *arg)
{
    static unsigned char buf[64 * DUPSTORE_BUCKET_SIZE];
    unsigned char fp[DUPSTORE_FP_SIZE];
    uint32_t b = 0;
    memset(st, 0, sizeof *st);
    while (b < s->nbuckets) {
        uint32_t k = s->nbuckets - b < 64 ? s->nbuckets - b : 64;
        size_t i;
        if (read_at(s->fd, buf, (size_t)k * DUPSTORE_BUCKET_SIZE, dupstore_bucket_offset(b)) < 0)
            return sys_error(s, "unable to read");
        for (i = 0; i < (size_t)k * DUPSTORE_BUCKET_RECORDS; i++) {
            int64_t t;
            switch (decode(s, buf + i * DUPSTORE_RECORD_SIZE, fp, &t, 0)) {
            case DUPSTORE_EMPTY: st->empty++; break;
            case DUPSTORE_CORRUPT: st->corrupt++; break;
            case DUPSTORE_USED:
                if (!st->used || t < st->oldest) st->oldest = t;
                if (!st->used || t > st->newest) st->newest = t;
                st->used++;
                if (live(t, now, window)) st->live++;
                if (each) each(fp, t, arg);
                break;
            }
        }
        b += k;
    }
    return 0;
}
