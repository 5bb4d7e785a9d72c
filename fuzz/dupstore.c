/* The duplicate store (lib/dupstore.c, noqueue-dupstore(5)) opened on a
 * file that holds the input: a damaged or hostile file is refused with a
 * reason, or read; a damaged record reads as empty, never as a match.
 * Read only: look-ups of the fingerprints the file holds, and a scan whose
 * counts add up.  Then, on a small store, opened for writing: a record
 * made is found, deleted is gone, and expiry leaves no damaged record.
 * Input: the file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "dupstore.h"
#include "fuzz.h"

#define NOW 1700000000
#define WINDOW 86400

static const char *path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    path = fuzz_scratch_file("store");
    return 0;
}

struct tally {
    unsigned long used;
};

static void each(const unsigned char *fp, int64_t when, void *arg)
{
    struct tally *t = arg;
    FUZZ_ASSERT(fp && when != 0);
    t->used++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dupstore s;
    struct dupstore_stats st;
    struct tally t = { 0 };
    unsigned char fp[DUPSTORE_FP_SIZE], f2[DUPSTORE_FP_SIZE], rec[DUPSTORE_RECORD_SIZE];
    char hex[2 * DUPSTORE_FP_SIZE + 1];
    int64_t when, w2;
    size_t off;
    int r, evicted, fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    uint32_t nbuckets;
    if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) < 0) abort();

    r = dupstore_open(&s, path, 0, 0, 0, NOW, deadline_in_ms(1000));
    if (r < 0) {
        FUZZ_ASSERT(r == DUPSTORE_ERR_FORMAT || r == DUPSTORE_ERR_SYSTEM);
        FUZZ_ASSERT(s.why[0] && memchr(s.why, 0, sizeof s.why) && s.fd < 0);
        return 0;
    }
    FUZZ_ASSERT(r == 0 && s.fd >= 0 && !s.repaired);
    FUZZ_ASSERT(s.nbuckets >= 1 && s.nbuckets <= DUPSTORE_SLOTS_MAX / DUPSTORE_BUCKET_RECORDS);
    nbuckets = s.nbuckets;

    /* Every record of the input, as a look-up. */
    for (off = DUPSTORE_HEADER_SIZE; off + DUPSTORE_RECORD_SIZE <= size; off += DUPSTORE_RECORD_SIZE) {
        enum dupstore_state state = dupstore_record_decode(data + off, fp, &when);
        FUZZ_ASSERT(state == DUPSTORE_EMPTY || state == DUPSTORE_USED || state == DUPSTORE_CORRUPT);
        if (state != DUPSTORE_USED) memcpy(fp, data + off, DUPSTORE_FP_SIZE);
        dupstore_hex(fp, hex);
        FUZZ_ASSERT(strlen(hex) == 2 * DUPSTORE_FP_SIZE && dupstore_parse_hex(hex, f2) == 0 &&
                    !memcmp(fp, f2, sizeof fp));
        FUZZ_ASSERT(dupstore_bucket(&s, fp) < s.nbuckets);
        r = dupstore_lookup(&s, fp, NOW, WINDOW, deadline_in_ms(1000), &w2);
        FUZZ_ASSERT(r == 0 || r == 1);
        if (r == 1) FUZZ_ASSERT(w2 > NOW - WINDOW && w2 < NOW + WINDOW);
        if (state == DUPSTORE_USED && when > NOW - WINDOW && when < NOW + WINDOW &&
            (int64_t)off >= dupstore_bucket_offset(dupstore_bucket(&s, fp)) &&
            (int64_t)off < dupstore_bucket_offset(dupstore_bucket(&s, fp)) + DUPSTORE_BUCKET_SIZE)
            FUZZ_ASSERT(r == 1);        /* a live record in its own bucket is found */
        if (off > DUPSTORE_HEADER_SIZE + 64 * DUPSTORE_RECORD_SIZE) break;
    }
    if (nbuckets <= 4096) {
        FUZZ_ASSERT(dupstore_scan(&s, NOW, WINDOW, &st, each, &t) == 0);
        FUZZ_ASSERT(st.used + st.empty + st.corrupt == dupstore_slots(&s));
        FUZZ_ASSERT(t.used == st.used && st.live <= st.used);
    }
    dupstore_close(&s);

    /* Writing, on a small store only (the file grows to its full size). */
    if (nbuckets > 256) return 0;
    r = dupstore_open(&s, path, 1, 0, 0, NOW, deadline_in_ms(1000));
    FUZZ_ASSERT(r == 0 && s.nbuckets == nbuckets);
    memset(fp, 0, sizeof fp);
    memcpy(fp, data, size < sizeof fp ? size : sizeof fp);
    FUZZ_ASSERT(dupstore_record(&s, fp, NOW, WINDOW, deadline_in_ms(1000), &evicted) == 0);
    FUZZ_ASSERT(dupstore_lookup(&s, fp, NOW, WINDOW, deadline_in_ms(1000), &when) == 1 && when == NOW);
    dupstore_record_encode(rec, fp, NOW);
    FUZZ_ASSERT(dupstore_record_decode(rec, f2, &w2) == DUPSTORE_USED && w2 == NOW && !memcmp(fp, f2, sizeof fp));
    FUZZ_ASSERT(dupstore_delete(&s, fp, deadline_in_ms(1000)) == 1);
    FUZZ_ASSERT(dupstore_lookup(&s, fp, NOW, WINDOW, deadline_in_ms(1000), &when) == 0);
    FUZZ_ASSERT(dupstore_expire(&s, NOW, WINDOW, 1000, &st) == 0);
    FUZZ_ASSERT(dupstore_scan(&s, NOW, WINDOW, &st, 0, 0) == 0);
    FUZZ_ASSERT(st.corrupt == 0 && st.live == st.used);
    dupstore_close(&s);
    return 0;
}
