/* The state that smtp-greylist, smtp-trust and smtp-dupcheck share
 * between connections, and between nodes: keys with a value, a time and
 * an expiry, in one of two places (noqueue-store(5)):
 *
 *   PATH                  the rolling file of noqueue-dupstore(5), version
 *                         2 (fixed size, locked per bucket, crash-safe);
 *                         a key is kept as its SHA-256 digest only
 *   redis://HOST:PORT[/DB]  a Redis server (HOST numeric: 127.0.0.1 or
 *                         [::1]; DB 0 by default)
 *   unix:PATH             a Redis server's Unix socket (database 0)
 *
 * Redis is spoken through hiredis, non-blocking: lib/endpoint connects,
 * hiredis writes the commands and reads the replies, and every wait is
 * our own poll(2), so that every request, the connection included, is
 * bounded by the caller's deadline: a server that is down or stalled
 * makes the call fail at the deadline, never hang; one that answers
 * nonsense or too much (a string over 1 KB, an array over 64) is left.  Every function returns -1 on
 * failure with the reason in s->why; the caller's policy decides what
 * that means (a filter exits 111: the proxy's failure policy applies).
 *
 * The clock of the programs using a store is store_now(): the
 * environment's NOQUEUE_NOW (seconds since 1970) when set, so that tests
 * can move through days without sleeping. */
#ifndef NOQUEUE_STORE_H
#define NOQUEUE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "dupstore.h"
#include "endpoint.h"
#include "io.h"

#define STORE_KEY_MAX 512
#define STORE_DIGEST_SIZE 32

enum store_kind { STORE_FILE, STORE_REDIS };

struct store_key {
    char text[STORE_KEY_MAX];           /* the Redis key */
    size_t len;
    unsigned char digest[STORE_DIGEST_SIZE];    /* the file's key */
};

struct store_value {
    int64_t value;
    int64_t time;                       /* when it was written */
    int64_t expires;                    /* 0: never */
};

struct store {
    enum store_kind kind;
    char spec[256];                     /* as given, for log lines */
    /* the file */
    struct dupstore file;
    int file_open;
    unsigned long slots;                /* for a new file */
    uint32_t file_version;              /* 2 (values); 1 for smtp-dupcheck's */
    /* Redis */
    struct endpoint server;
    unsigned long db;
    int fd;                             /* -1 when not connected */
    struct redisContext *redis;         /* hiredis's, on fd */
    const char *refused;                /* why a reply was refused */
    char why[200];
};

/* The kind and address of spec; nothing opened yet (that happens at the
 * first request).  0, or -1 with the reason in why (a usage error). */
int store_parse(struct store *s, const char *spec);
void store_close(struct store *s);

/* SHA-256 (FIPS 180-4, nettle's), for the file's keys. */
void store_sha256(const void *data, size_t n, unsigned char out[STORE_DIGEST_SIZE]);

/* The key "PART1:PART2:...": the parts joined with colons, the digest
 * computed.  0, or -1 when it would be longer than STORE_KEY_MAX - 1. */
int store_key(struct store_key *k, unsigned nparts, const char *const *parts);

/* 1 with *v when the key is there and not expired at now, 0 when not. */
int store_get(struct store *s, const struct store_key *k, int64_t now, struct store_value *v,
              int64_t deadline);
/* Write value at now, to expire ttl seconds later (ttl > 0). */
int store_put(struct store *s, const struct store_key *k, int64_t now, int64_t value, int64_t ttl,
              int64_t deadline);
/* 1 deleted, 0 was not there. */
int store_delete(struct store *s, const struct store_key *k, int64_t deadline);
/* Every live key whose text starts with prefix: each(key text or NULL
 * (the file keeps digests only), digest or NULL, value, arg). */
int store_list(struct store *s, const char *prefix, int64_t now,
               void (*each)(const char *key, const unsigned char *digest, const struct store_value *v,
                            void *arg),
               void *arg, int64_t deadline);

/* Time stamps alone, for smtp-dupcheck: a key is seen when it was
 * marked less than window seconds from now (either way, in case the
 * clock went back).  The file is then one of version 1
 * (s->file_version = DUPSTORE_VERSION before the first call), whose
 * digest is the fingerprint itself.  store_seen: 1 with *when, 0 not;
 * store_mark: 0, with *evicted = 1 when a live record of the file had to
 * make room (the file is too small for the window). */
int store_seen(struct store *s, const struct store_key *k, int64_t now, int64_t window, int64_t *when,
               int64_t deadline);
int store_mark(struct store *s, const struct store_key *k, int64_t now, int64_t window, int64_t deadline,
               int *evicted);

/* NOQUEUE_NOW when it is a number, else time(2). */
int64_t store_now(void);

#endif
