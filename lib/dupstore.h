/* The duplicate store: one fixed-size file shared by every smtp-dupcheck
 * process, a hash table of 64-octet records in buckets of 8, each record
 * with its own checksum, each bucket updated under an fcntl(2) lock taken
 * with a deadline.  The format is in noqueue-dupstore(5).
 *
 * A record that fails its checksum reads as empty, never as a match: a
 * damaged store can only let a duplicate through, never discard mail. */
#ifndef NOQUEUE_DUPSTORE_H
#define NOQUEUE_DUPSTORE_H

#include <stddef.h>
#include <stdint.h>

#define DUPSTORE_MAGIC          "noqueue-dupstore"      /* 16 octets, no NUL */
#define DUPSTORE_VERSION        1
/* Version 2: the same layout, and octets 40 to 55 of a record hold an
 * expiry time and a value (lib/store.h: smtp-greylist, smtp-trust).
 * Each program opens the version it wants and refuses the other, so that
 * no record is read as damaged (and cleared) by the wrong program. */
#define DUPSTORE_VERSION_VALUES 2
#define DUPSTORE_HEADER_SIZE    4096
#define DUPSTORE_HEADER_USED    64
#define DUPSTORE_RECORD_SIZE    64
#define DUPSTORE_BUCKET_RECORDS 8
#define DUPSTORE_BUCKET_SIZE    (DUPSTORE_RECORD_SIZE * DUPSTORE_BUCKET_RECORDS)
#define DUPSTORE_FP_SIZE        32
#define DUPSTORE_SLOTS_MIN      DUPSTORE_BUCKET_RECORDS
#define DUPSTORE_SLOTS_MAX      (1UL << 24)             /* a 1 GiB file */
#define DUPSTORE_SLOTS_DEFAULT  65536UL                 /* a 4 MiB file */

/* Errors: a system error (errno; exit 111) or a file that is not a
 * usable store (exit 100).  Either way why[] says it in a few words. */
#define DUPSTORE_ERR_SYSTEM (-1)
#define DUPSTORE_ERR_FORMAT (-2)

struct dupstore {
    int fd;
    uint32_t version;           /* of the open file: 1, or 2 with values */
    uint32_t nbuckets;
    int64_t created;
    int repaired;               /* the open extended a truncated file */
    char why[160];
};

/* How a record reads. */
enum dupstore_state { DUPSTORE_EMPTY, DUPSTORE_USED, DUPSTORE_CORRUPT };

struct dupstore_stats {
    unsigned long used, empty, corrupt, live;
    unsigned long expired, cleared;     /* what dupstore_expire emptied: old, damaged */
    int64_t oldest, newest;             /* times of the used records */
};

/* Open path for reading and writing (writable = 1) or reading only.
 * With create = 1 a missing or empty file is made with slots slots (a
 * multiple of 8 once rounded up); an existing store keeps its size.  A
 * store whose records were cut short is extended (when writable): the
 * missing records read as empty anyway.  The deadline bounds the wait
 * for the header lock.  0, or DUPSTORE_ERR_*. */
int dupstore_open(struct dupstore *s, const char *path, int writable, int create,
                  unsigned long slots, int64_t now, int64_t deadline);
/* The same for a store of the version given (1 or 2): a file of the
 * other version is refused ("unsupported version"). */
int dupstore_open_version(struct dupstore *s, const char *path, int writable, int create,
                          unsigned long slots, uint32_t version, int64_t now, int64_t deadline);
void dupstore_close(struct dupstore *s);
/* A new empty store that replaces path at once (rename(2)): running
 * processes keep the old one until they close it. */
int dupstore_create(struct dupstore *s, const char *path, unsigned long slots, int64_t now);

/* Is fp recorded less than window seconds from now (either way, in case
 * the clock went back)?  1 with *when set, 0 no, or DUPSTORE_ERR_*. */
int dupstore_lookup(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE],
                    int64_t now, int64_t window, int64_t deadline, int64_t *when);
/* Record fp at now: in its own slot if it is there, else an empty or
 * damaged one, else over the bucket's oldest record (*evicted = 1 when
 * that one was less than window old: the store is too small). */
int dupstore_record(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE],
                    int64_t now, int64_t window, int64_t deadline, int *evicted);
/* Version 2 records.  dupstore_get: 1 when fp is there and its expiry
 * (if not 0) is after now, with *when (written), *expires and *value;
 * 0 when not; or DUPSTORE_ERR_*.  dupstore_put writes fp in its own
 * slot, else an empty, damaged or expired one, else over the oldest
 * (*evicted = 1 when that one had not expired).  Both refuse a store of
 * version 1 (DUPSTORE_ERR_FORMAT). */
int dupstore_get(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE], int64_t now,
                 int64_t deadline, int64_t *when, int64_t *expires, int64_t *value);
int dupstore_put(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE], int64_t now,
                 int64_t expires, int64_t value, int64_t deadline, int *evicted);
/* 1 deleted, 0 not there, or DUPSTORE_ERR_*. */
int dupstore_delete(struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE], int64_t deadline);
/* Empty every record older than age seconds, and every damaged one,
 * bucket by bucket, each under its lock: st->expired, st->cleared. */
int dupstore_expire(struct dupstore *s, int64_t now, int64_t age, int64_t lock_wait_ms,
                    struct dupstore_stats *st);
/* Read every record (no lock: a record being written reads as damaged
 * or as its old or new self); call each(fp, when, arg) for the used ones
 * and count them all.  live counts those less than window old. */
int dupstore_scan(struct dupstore *s, int64_t now, int64_t window, struct dupstore_stats *st,
                  void (*each)(const unsigned char *fp, int64_t when, void *arg), void *arg);

/* The format, for the tests and the admin tool. */
uint64_t dupstore_checksum(const unsigned char *p, size_t n);
void dupstore_record_encode(unsigned char rec[DUPSTORE_RECORD_SIZE],
                            const unsigned char fp[DUPSTORE_FP_SIZE], int64_t when);
enum dupstore_state dupstore_record_decode(const unsigned char rec[DUPSTORE_RECORD_SIZE],
                                           unsigned char fp[DUPSTORE_FP_SIZE], int64_t *when);
/* Version 2: octets 40 to 55 are the expiry time and the value. */
void dupstore_record_encode_value(unsigned char rec[DUPSTORE_RECORD_SIZE],
                                  const unsigned char fp[DUPSTORE_FP_SIZE], int64_t when,
                                  int64_t expires, int64_t value);
enum dupstore_state dupstore_record_decode_value(const unsigned char rec[DUPSTORE_RECORD_SIZE],
                                                 unsigned char fp[DUPSTORE_FP_SIZE], int64_t *when,
                                                 int64_t *expires, int64_t *value);
uint32_t dupstore_bucket(const struct dupstore *s, const unsigned char fp[DUPSTORE_FP_SIZE]);
/* A fingerprint in hex, 64 digits and a NUL; and back: 0, or -1 when s
 * is not 64 hex digits. */
void dupstore_hex(const unsigned char fp[DUPSTORE_FP_SIZE], char out[2 * DUPSTORE_FP_SIZE + 1]);
int dupstore_parse_hex(const char *s, unsigned char fp[DUPSTORE_FP_SIZE]);
/* Where a bucket starts in the file. */
int64_t dupstore_bucket_offset(uint32_t bucket);
unsigned long dupstore_slots(const struct dupstore *s);

#endif
