/* smtp-dupcheck: the store (insert, lookup, expiry, bounded size and
 * eviction, damaged records, damaged or truncated files, lock deadlines),
 * the fingerprint (Message-ID, body digest, recipients), and the filter's
 * logic event by event. */
#include <cdb.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deadline.h"
#include "dupcheck.h"
#include "dupstore.h"
#include "fingerprint.h"

static char dir[64], path[128];

static void make_dir(void)
{
    strcpy(dir, "/tmp/check_dupcheck.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/store", dir);
}

static void remove_dir(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void finish(struct dupstore *s)
{
    dupstore_close(s);
    remove_dir();
}

static int64_t soon(void)
{
    return deadline_in_ms(2000);
}

/* A fingerprint made of one repeated octet, in bucket b of a store. */
static void fp_of(unsigned char *fp, unsigned char c)
{
    memset(fp, c, DUPSTORE_FP_SIZE);
}

static void open_new(struct dupstore *s, unsigned long slots)
{
    make_dir();
    ck_assert_int_eq(dupstore_open(s, path, 1, 1, slots, 1000, soon()), 0);
}

static off_t size_of(const char *p)
{
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    return st.st_size;
}

static void write_file(const char *p, const void *data, size_t n, off_t off)
{
    int fd = open(p, O_WRONLY | O_CREAT, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, data, n, off), (ssize_t)n);
    close(fd);
}

/* Another process takes a write lock on [start, start+len) of the store
 * (len 0: the whole file) and keeps it until it is killed. */
static pid_t hold_lock(int64_t start, int64_t len)
{
    int p[2];
    char c;
    pid_t pid;
    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct flock fl;
        int fd = open(path, O_RDWR);
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        fl.l_start = (off_t)start;
        fl.l_len = (off_t)len;
        if (fd < 0 || fcntl(fd, F_SETLK, &fl) < 0) _exit(1);
        if (write(p[1], "x", 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    close(p[0]);
    close(p[1]);
    return pid;
}

/* Kill it: the kernel frees its lock. */
static void release_lock(pid_t pid)
{
    int status;
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

/* --- the store ---------------------------------------------------------- */

START_TEST(test_create_sizes_the_file_and_keeps_its_size)
{
    struct dupstore s;
    open_new(&s, 100);                  /* rounded up to 13 buckets of 8 */
    ck_assert_uint_eq(dupstore_slots(&s), 104);
    ck_assert_int_eq(size_of(path), DUPSTORE_HEADER_SIZE + 104 * DUPSTORE_RECORD_SIZE);
    dupstore_close(&s);
    ck_assert_int_eq(dupstore_open(&s, path, 1, 1, 5000, 1000, soon()), 0);
    ck_assert_uint_eq(dupstore_slots(&s), 104);
    ck_assert_int_eq(s.created, 1000);
    ck_assert_int_eq(s.repaired, 0);
    finish(&s);
}
END_TEST

/* The example of noqueue-dupstore(5), octet for octet. */
START_TEST(test_header_as_documented)
{
    static const unsigned char want[64] = {
        0x6e, 0x6f, 0x71, 0x75, 0x65, 0x75, 0x65, 0x2d, 0x64, 0x75, 0x70, 0x73, 0x74, 0x6f, 0x72, 0x65,
        0x01, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00,
        0xf0, 0x10, 0x05, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x33, 0xff, 0xc0, 0x10, 0xc1, 0x2c, 0x91, 0xa8,
    };
    unsigned char h[64];
    struct dupstore s;
    int fd;
    make_dir();
    ck_assert_int_eq(dupstore_open(&s, path, 1, 1, 65536, 1795494128, soon()), 0);
    dupstore_close(&s);
    fd = open(path, O_RDONLY);
    ck_assert_int_eq(pread(fd, h, 64, 0), 64);
    close(fd);
    ck_assert_mem_eq(h, want, 64);
    ck_assert_int_eq(size_of(path), 4096 + 65536 * 64);
    remove_dir();
}
END_TEST

START_TEST(test_record_then_lookup)
{
    struct dupstore s;
    unsigned char a[32], b[32];
    int64_t when = 0;
    int evicted = -1;
    open_new(&s, 64);
    fp_of(a, 0xa1);
    fp_of(b, 0xb2);
    ck_assert_int_eq(dupstore_lookup(&s, a, 1000, 100, soon(), &when), 0);
    ck_assert_int_eq(dupstore_record(&s, a, 1000, 100, soon(), &evicted), 0);
    ck_assert_int_eq(evicted, 0);
    ck_assert_int_eq(dupstore_lookup(&s, a, 1010, 100, soon(), &when), 1);
    ck_assert_int_eq(when, 1000);
    ck_assert_int_eq(dupstore_lookup(&s, b, 1010, 100, soon(), &when), 0);
    dupstore_close(&s);
    /* Another process (a new open) sees it. */
    ck_assert_int_eq(dupstore_open(&s, path, 0, 0, 0, 1000, soon()), 0);
    ck_assert_int_eq(dupstore_lookup(&s, a, 1010, 100, soon(), &when), 1);
    finish(&s);
}
END_TEST

START_TEST(test_entries_expire_after_the_window)
{
    struct dupstore s;
    unsigned char a[32];
    open_new(&s, 64);
    fp_of(a, 7);
    ck_assert_int_eq(dupstore_record(&s, a, 1000, 100, soon(), 0), 0);
    ck_assert_int_eq(dupstore_lookup(&s, a, 1099, 100, soon(), 0), 1);
    ck_assert_int_eq(dupstore_lookup(&s, a, 1100, 100, soon(), 0), 0);
    ck_assert_int_eq(dupstore_lookup(&s, a, 5000, 100, soon(), 0), 0);
    /* A shorter window at lookup time makes it older sooner. */
    ck_assert_int_eq(dupstore_lookup(&s, a, 1050, 10, soon(), 0), 0);
    /* The clock went back: still recent, within the window either way. */
    ck_assert_int_eq(dupstore_lookup(&s, a, 950, 100, soon(), 0), 1);
    ck_assert_int_eq(dupstore_lookup(&s, a, 900, 100, soon(), 0), 0);
    finish(&s);
}
END_TEST

START_TEST(test_same_fingerprint_takes_one_slot)
{
    struct dupstore s;
    struct dupstore_stats st;
    unsigned char a[32];
    int64_t when;
    open_new(&s, 64);
    fp_of(a, 9);
    ck_assert_int_eq(dupstore_record(&s, a, 1000, 100, soon(), 0), 0);
    ck_assert_int_eq(dupstore_record(&s, a, 1500, 100, soon(), 0), 0);
    ck_assert_int_eq(dupstore_scan(&s, 1500, 100, &st, 0, 0), 0);
    ck_assert_uint_eq(st.used, 1);
    ck_assert_int_eq(dupstore_lookup(&s, a, 1550, 100, soon(), &when), 1);
    ck_assert_int_eq(when, 1500);
    finish(&s);
}
END_TEST

/* One bucket of 8: the 9th live entry pushes out the oldest; the file
 * does not grow. */
START_TEST(test_size_is_bounded_oldest_evicted)
{
    struct dupstore s;
    struct dupstore_stats st;
    unsigned char fp[32];
    int i, evicted;
    off_t size;
    open_new(&s, 8);
    ck_assert_uint_eq(dupstore_slots(&s), 8);
    size = size_of(path);
    for (i = 1; i <= 8; i++) {
        fp_of(fp, (unsigned char)i);
        ck_assert_int_eq(dupstore_record(&s, fp, 1000 + i, 1000, soon(), &evicted), 0);
        ck_assert_int_eq(evicted, 0);
    }
    fp_of(fp, 9);
    ck_assert_int_eq(dupstore_record(&s, fp, 1009, 1000, soon(), &evicted), 0);
    ck_assert_int_eq(evicted, 1);
    fp_of(fp, 1);
    ck_assert_int_eq(dupstore_lookup(&s, fp, 1010, 1000, soon(), 0), 0);
    for (i = 2; i <= 9; i++) {
        fp_of(fp, (unsigned char)i);
        ck_assert_int_eq(dupstore_lookup(&s, fp, 1010, 1000, soon(), 0), 1);
    }
    ck_assert_int_eq(dupstore_scan(&s, 1010, 1000, &st, 0, 0), 0);
    ck_assert_uint_eq(st.used, 8);
    ck_assert_int_eq(size_of(path), size);
    /* Later, the oldest (expired) one goes: no live entry is evicted. */
    fp_of(fp, 10);
    ck_assert_int_eq(dupstore_record(&s, fp, 2009, 1000, soon(), &evicted), 0);
    ck_assert_int_eq(evicted, 0);
    fp_of(fp, 2);
    ck_assert_int_eq(dupstore_lookup(&s, fp, 1990, 1000, soon(), 0), 0);
    for (i = 3; i <= 10; i++) {
        fp_of(fp, (unsigned char)i);
        ck_assert_int_eq(dupstore_lookup(&s, fp, 1990, 1000, soon(), 0), 1);
    }
    finish(&s);
}
END_TEST

/* Where fp's record is in the file (first slot of its bucket, empty store). */
static off_t record_offset(struct dupstore *s, const unsigned char *fp)
{
    return (off_t)dupstore_bucket_offset(dupstore_bucket(s, fp));
}

START_TEST(test_damaged_record_is_never_a_match)
{
    struct dupstore s;
    struct dupstore_stats st;
    unsigned char a[32], rec[64];
    int64_t t = 5000;
    int i, evicted;
    open_new(&s, 64);
    fp_of(a, 0x33);
    ck_assert_int_eq(dupstore_record(&s, a, 1000, 100, soon(), 0), 0);
    /* A torn write that left a newer time on the old fingerprint: without
     * the checksum it would read as a recent entry. */
    for (i = 0; i < 8; i++) rec[i] = (unsigned char)(t >> (8 * i));
    write_file(path, rec, 8, record_offset(&s, a) + 32);
    ck_assert_int_eq(dupstore_lookup(&s, a, 5000, 100, soon(), 0), 0);
    ck_assert_int_eq(dupstore_lookup(&s, a, 1000, 100, soon(), 0), 0);
    ck_assert_int_eq(dupstore_scan(&s, 5000, 100, &st, 0, 0), 0);
    ck_assert_uint_eq(st.corrupt, 1);
    ck_assert_uint_eq(st.used, 0);
    /* Garbage in a slot reads as damaged, and is reused. */
    memset(rec, 0x5a, sizeof rec);
    write_file(path, rec, sizeof rec, record_offset(&s, a) + 64);
    ck_assert_int_eq(dupstore_record(&s, a, 6000, 100, soon(), &evicted), 0);
    ck_assert_int_eq(evicted, 0);
    ck_assert_int_eq(dupstore_lookup(&s, a, 6000, 100, soon(), 0), 1);
    ck_assert_int_eq(dupstore_scan(&s, 6000, 100, &st, 0, 0), 0);
    ck_assert_uint_eq(st.used, 1);
    ck_assert_uint_eq(st.corrupt, 1);
    finish(&s);
}
END_TEST

START_TEST(test_record_codec)
{
    unsigned char rec[64], fp[32], back[32];
    int64_t when = 0;
    fp_of(fp, 0x11);
    dupstore_record_encode(rec, fp, 1234567890123LL);
    ck_assert_int_eq(dupstore_record_decode(rec, back, &when), DUPSTORE_USED);
    ck_assert_mem_eq(back, fp, 32);
    ck_assert_int_eq(when, 1234567890123LL);
    rec[40] = 1;                        /* reserved octets must be zero */
    ck_assert_int_eq(dupstore_record_decode(rec, back, &when), DUPSTORE_CORRUPT);
    memset(rec, 0, sizeof rec);
    ck_assert_int_eq(dupstore_record_decode(rec, back, &when), DUPSTORE_EMPTY);
    /* The FNV-1a 64 test vector "a". */
    ck_assert(dupstore_checksum((const unsigned char *)"a", 1) == 0xaf63dc4c8601ec8cULL);
}
END_TEST

START_TEST(test_truncated_records_are_repaired)
{
    struct dupstore s;
    unsigned char fp[32];
    off_t full;
    int i, found = 0;
    open_new(&s, 64);
    full = size_of(path);
    for (i = 0; i < 40; i++) {
        fp_of(fp, (unsigned char)i);
        ck_assert_int_eq(dupstore_record(&s, fp, 1000, 100, soon(), 0), 0);
    }
    dupstore_close(&s);
    ck_assert_int_eq(truncate(path, DUPSTORE_HEADER_SIZE + 3 * DUPSTORE_BUCKET_SIZE + 10), 0);
    /* Read only: not repaired, but what is left is readable. */
    ck_assert_int_eq(dupstore_open(&s, path, 0, 0, 0, 1000, soon()), 0);
    ck_assert_int_eq(s.repaired, 0);
    for (i = 0; i < 40; i++) {
        fp_of(fp, (unsigned char)i);
        found += dupstore_lookup(&s, fp, 1000, 100, soon(), 0);
    }
    ck_assert_int_gt(found, 0);
    ck_assert_int_lt(found, 40);
    dupstore_close(&s);
    /* Writable: extended back to its size, and usable. */
    ck_assert_int_eq(dupstore_open(&s, path, 1, 0, 0, 1000, soon()), 0);
    ck_assert_int_eq(s.repaired, 1);
    ck_assert_int_eq(size_of(path), full);
    for (i = 0; i < 40; i++) {
        fp_of(fp, (unsigned char)i);
        ck_assert_int_eq(dupstore_record(&s, fp, 1000, 100, soon(), 0), 0);
        ck_assert_int_eq(dupstore_lookup(&s, fp, 1000, 100, soon(), 0), 1);
    }
    finish(&s);
}
END_TEST

static int open_error(const char *why_part)
{
    struct dupstore s;
    int r = dupstore_open(&s, path, 1, 1, 64, 1000, soon());
    ck_assert_msg(strstr(s.why, why_part) != 0, "why: %s", s.why);
    ck_assert_int_eq(s.fd, -1);
    return r;
}

START_TEST(test_bad_files_are_refused_with_a_reason)
{
    struct dupstore s;
    unsigned char h[64];
    int fd;
    make_dir();
    /* A header cut short. */
    write_file(path, "noqueue-dupstore\1", 17, 0);
    ck_assert_int_eq(open_error("truncated header"), DUPSTORE_ERR_FORMAT);
    /* Something else. */
    write_file(path, "this is not a duplicate store, it is a text file\n....", 53, 0);
    ck_assert_int_eq(open_error("not a noqueue-dupstore file"), DUPSTORE_ERR_FORMAT);
    unlink(path);
    /* A damaged header; a later version. */
    ck_assert_int_eq(dupstore_open(&s, path, 1, 1, 64, 1000, soon()), 0);
    dupstore_close(&s);
    fd = open(path, O_RDWR);
    ck_assert_int_eq(pread(fd, h, 64, 0), 64);
    h[28] ^= 1;
    ck_assert_int_eq(pwrite(fd, h, 64, 0), 64);
    ck_assert_int_eq(open_error("bad checksum"), DUPSTORE_ERR_FORMAT);
    h[28] ^= 1;
    h[16] = 2;
    ck_assert_int_eq(pwrite(fd, h, 64, 0), 64);
    ck_assert_int_eq(open_error("unsupported version 2"), DUPSTORE_ERR_FORMAT);
    close(fd);
    /* Missing, without create. */
    unlink(path);
    ck_assert_int_eq(dupstore_open(&s, path, 1, 0, 64, 1000, soon()), DUPSTORE_ERR_SYSTEM);
    ck_assert_int_eq(errno, ENOENT);
    /* Empty, without create: not a store yet; with create: made. */
    write_file(path, "", 0, 0);
    ck_assert_int_eq(dupstore_open(&s, path, 1, 0, 64, 1000, soon()), DUPSTORE_ERR_FORMAT);
    ck_assert_int_eq(dupstore_open(&s, path, 1, 1, 64, 1000, soon()), 0);
    finish(&s);
}
END_TEST

/* A creator killed after sizing the file, before its header: the next
 * open initializes it. */
START_TEST(test_header_of_zeros_is_initialized_again)
{
    struct dupstore s;
    static unsigned char zeros[DUPSTORE_HEADER_SIZE + 8 * DUPSTORE_BUCKET_SIZE];
    make_dir();
    write_file(path, zeros, sizeof zeros, 0);
    ck_assert_int_eq(dupstore_open(&s, path, 1, 1, 16, 1000, soon()), 0);
    ck_assert_uint_eq(dupstore_slots(&s), 16);
    ck_assert_int_eq(size_of(path), DUPSTORE_HEADER_SIZE + 2 * DUPSTORE_BUCKET_SIZE);
    finish(&s);
}
END_TEST

/* A process holds a bucket's lock: the others wait up to their deadline,
 * then give up with ETIMEDOUT; once it dies, the kernel frees the lock. */
START_TEST(test_lock_wait_has_a_deadline)
{
    struct dupstore s;
    unsigned char a[32], b[32];
    pid_t pid;
    int64_t start;
    open_new(&s, 64);
    fp_of(a, 0x44);
    pid = hold_lock(dupstore_bucket_offset(dupstore_bucket(&s, a)), DUPSTORE_BUCKET_SIZE);
    start = deadline_now();
    ck_assert_int_eq(dupstore_record(&s, a, 1000, 100, deadline_in_ms(300), 0), DUPSTORE_ERR_SYSTEM);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert_int_ge(deadline_now() - start, 300);
    ck_assert_int_lt(deadline_now() - start, 1500);
    ck_assert_int_eq(dupstore_lookup(&s, a, 1000, 100, deadline_in_ms(100), 0), DUPSTORE_ERR_SYSTEM);
    ck_assert_msg(strstr(s.why, "unable to lock a bucket") != 0, "why: %s", s.why);
    /* Another bucket is free meanwhile. */
    fp_of(b, 0x45);
    ck_assert_uint_ne(dupstore_bucket(&s, a), dupstore_bucket(&s, b));
    ck_assert_int_eq(dupstore_record(&s, b, 1000, 100, deadline_in_ms(300), 0), 0);
    release_lock(pid);
    ck_assert_int_eq(dupstore_record(&s, a, 1000, 100, deadline_in_ms(300), 0), 0);
    ck_assert_int_eq(dupstore_lookup(&s, a, 1000, 100, deadline_in_ms(300), 0), 1);
    finish(&s);
}
END_TEST

static void count(const unsigned char *fp, int64_t when, void *arg)
{
    (void)fp;
    (void)when;
    ++*(int *)arg;
}

START_TEST(test_expire_and_delete)
{
    struct dupstore s;
    struct dupstore_stats st;
    unsigned char fp[32], junk[64];
    int i, n = 0;
    open_new(&s, 256);
    for (i = 0; i < 20; i++) {
        fp_of(fp, (unsigned char)i);
        ck_assert_int_eq(dupstore_record(&s, fp, 1000 + i * 10, 10000, soon(), 0), 0);
    }
    memset(junk, 0x77, sizeof junk);
    write_file(path, junk, sizeof junk, (off_t)dupstore_bucket_offset(s.nbuckets - 1) + 7 * 64);
    /* At 1200, older than 100 seconds: times 1000..1100, 11 of them. */
    ck_assert_int_eq(dupstore_expire(&s, 1200, 100, 1000, &st), 0);
    ck_assert_uint_eq(st.expired, 11);
    ck_assert_uint_eq(st.cleared, 1);
    ck_assert_int_eq(dupstore_scan(&s, 1200, 10000, &st, count, &n), 0);
    ck_assert_int_eq(n, 9);
    ck_assert_uint_eq(st.used, 9);
    ck_assert_uint_eq(st.corrupt, 0);
    ck_assert_int_eq(st.oldest, 1110);
    ck_assert_int_eq(st.newest, 1190);
    fp_of(fp, 15);
    ck_assert_int_eq(dupstore_delete(&s, fp, soon()), 1);
    ck_assert_int_eq(dupstore_delete(&s, fp, soon()), 0);
    ck_assert_int_eq(dupstore_lookup(&s, fp, 1200, 10000, soon(), 0), 0);
    finish(&s);
}
END_TEST

START_TEST(test_create_replaces_atomically)
{
    struct dupstore s, old;
    unsigned char fp[32];
    open_new(&old, 64);
    fp_of(fp, 1);
    ck_assert_int_eq(dupstore_record(&old, fp, 1000, 100, soon(), 0), 0);
    ck_assert_int_eq(dupstore_create(&s, path, 1024, 2000), 0);
    ck_assert_uint_eq(dupstore_slots(&s), 1024);
    ck_assert_int_eq(dupstore_lookup(&s, fp, 1000, 100, soon(), 0), 0);
    /* The old descriptor still works on the old file. */
    ck_assert_int_eq(dupstore_lookup(&old, fp, 1000, 100, soon(), 0), 1);
    dupstore_close(&s);
    dupstore_close(&old);
    remove_dir();
}
END_TEST

START_TEST(test_hex)
{
    unsigned char fp[32], back[32];
    char hex[65];
    int i;
    for (i = 0; i < 32; i++) fp[i] = (unsigned char)(i * 9);
    dupstore_hex(fp, hex);
    ck_assert_str_eq(hex, "0009121b242d363f48515a636c757e879099a2abb4bdc6cfd8e1eaf3fc050e17");
    ck_assert_int_eq(dupstore_parse_hex(hex, back), 0);
    ck_assert_mem_eq(back, fp, 32);
    ck_assert_int_eq(dupstore_parse_hex("00", back), -1);
    hex[5] = 'g';
    ck_assert_int_eq(dupstore_parse_hex(hex, back), -1);
}
END_TEST

/* --- the fingerprint ---------------------------------------------------- */

static const char *scan_msgid(const char *msg, struct message_scan *m)
{
    message_scan_init(m);
    message_scan_feed(m, msg, strlen(msg));
    return message_scan_msgid(m);
}

START_TEST(test_msgid_found_case_insensitive_unfolded)
{
    struct message_scan m;
    ck_assert_str_eq(scan_msgid("Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n", &m), "<a@b>");
    ck_assert_str_eq(scan_msgid("message-id:<a@b>\r\n\r\n", &m), "<a@b>");
    ck_assert_str_eq(scan_msgid("MESSAGE-ID :  <a@b> \r\n\r\n", &m), "<a@b>");
    ck_assert_str_eq(scan_msgid("Message-Id:\r\n <long.part\r\n  @example.org>\r\nTo: x\r\n\r\n", &m),
                     "<long.part@example.org>");
    /* The first one counts; the Resent- one and one in the body do not. */
    ck_assert_str_eq(scan_msgid("Message-ID: <1@x>\r\nMessage-ID: <2@x>\r\n\r\n", &m), "<1@x>");
    ck_assert_str_eq(scan_msgid("Resent-Message-ID: <r@x>\r\nMessage-ID: <m@x>\r\n\r\n", &m), "<m@x>");
}
END_TEST

START_TEST(test_msgid_absent_empty_or_too_long)
{
    struct message_scan m;
    static char big[2200];
    ck_assert_ptr_null(scan_msgid("Subject: x\r\n\r\nMessage-ID: <in@body>\r\n", &m));
    ck_assert_ptr_null(scan_msgid("Resent-Message-ID: <r@x>\r\n\r\n", &m));
    ck_assert_ptr_null(scan_msgid("Message-ID-Extra: <r@x>\r\n\r\n", &m));
    ck_assert_ptr_null(scan_msgid("Message-ID:   \r\n\r\n", &m));
    strcpy(big, "Message-ID: <");
    memset(big + 13, 'x', 1000);
    strcpy(big + 1013, "@x>\r\n\r\n");
    ck_assert_ptr_null(scan_msgid(big, &m));
    ck_assert_int_eq(m.msgid_too_long, 1);
    /* a NUL in it (fuzz/crashes/fingerprint/msgid-nul): no C string says it */
    message_scan_init(&m);
    message_scan_feed(&m, "Message-ID: <a\0b@x>\r\n\r\n", 21);
    ck_assert_ptr_null(message_scan_msgid(&m));
    ck_assert_int_eq(m.msgid_nul, 1);
}
END_TEST

static void hex_of(const unsigned char *d, char *out)
{
    dupstore_hex(d, out);
}

START_TEST(test_body_digest_is_sha256_of_the_body)
{
    struct message_scan m;
    unsigned char d1[32], d2[32];
    char hex[65];
    const char *msg = "Message-ID: <a@b>\r\nSubject: one\r\n\r\nbody\r\n";
    size_t i;
    scan_msgid(msg, &m);
    message_scan_body_digest(&m, d1);
    hex_of(d1, hex);
    /* printf 'body\r\n' | sha256sum */
    ck_assert_str_eq(hex, "0a4e52a11356529491e17d023afed1e6e6f6a544ed97ac73e1d4c5cfefa38b83");
    ck_assert_uint_eq(m.body_size, 6);
    /* Fed octet by octet: the same; other header fields: the same body. */
    message_scan_init(&m);
    for (i = 0; i < strlen(msg); i++) message_scan_feed(&m, msg + i, 1);
    ck_assert_str_eq(message_scan_msgid(&m), "<a@b>");
    message_scan_body_digest(&m, d2);
    ck_assert_mem_eq(d1, d2, 32);
    scan_msgid("Received: by x\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n", &m);
    message_scan_body_digest(&m, d2);
    ck_assert_mem_eq(d1, d2, 32);
    /* No empty line: all header, an empty body. */
    scan_msgid("Message-ID: <a@b>\r\n", &m);
    message_scan_body_digest(&m, d2);
    hex_of(d2, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

static void fingerprint_of(const char *msgid, const char *sender, const char *body,
                           const char *const *rcpts, size_t n, unsigned char *out)
{
    unsigned char m[32], s[32], b[32], r[8][32];
    size_t i;
    fingerprint_digest(msgid, strlen(msgid), m);
    fingerprint_digest(sender, strlen(sender), s);
    fingerprint_digest(body, strlen(body), b);
    for (i = 0; i < n; i++) fingerprint_digest(rcpts[i], strlen(rcpts[i]), r[i]);
    fingerprint_compute(out, m, s, b, r, n);
}

START_TEST(test_fingerprint_covers_each_part)
{
    const char *ab[] = { "a@x", "b@x" }, *ba[] = { "b@x", "a@x" }, *aba[] = { "a@x", "b@x", "a@x" };
    const char *a[] = { "a@x" }, *ac[] = { "a@x", "c@x" };
    unsigned char f0[32], f[32];
    fingerprint_of("<1@x>", "s@x", "body", ab, 2, f0);
    fingerprint_of("<1@x>", "s@x", "body", ba, 2, f);
    ck_assert_mem_eq(f, f0, 32);                /* RCPT order does not matter */
    fingerprint_of("<1@x>", "s@x", "body", aba, 3, f);
    ck_assert_mem_eq(f, f0, 32);                /* nor a repeated recipient */
    fingerprint_of("<2@x>", "s@x", "body", ab, 2, f);
    ck_assert(memcmp(f, f0, 32));
    fingerprint_of("<1@x>", "t@x", "body", ab, 2, f);
    ck_assert(memcmp(f, f0, 32));
    fingerprint_of("<1@x>", "s@x", "bodY", ab, 2, f);
    ck_assert(memcmp(f, f0, 32));
    fingerprint_of("<1@x>", "s@x", "body", a, 1, f);
    ck_assert(memcmp(f, f0, 32));
    fingerprint_of("<1@x>", "s@x", "body", ac, 2, f);
    ck_assert(memcmp(f, f0, 32));
}
END_TEST

/* --- the filter, event by event ----------------------------------------- */

static struct dupcheck d;
static struct dupcheck_config cfg;
static char msgfile[160];
static int64_t now_s = 100000;

static const char *event_env(enum filter_event ev, const char *f1, const char *f2,
                             const struct dupcheck_envelope *env)
{
    struct filter_request r;
    memset(&r, 0, sizeof r);
    r.event = ev;
    if (f1) {
        r.field[r.nfields] = (char *)f1;
        r.len[r.nfields++] = strlen(f1);
    }
    if (f2) {
        r.field[r.nfields] = (char *)f2;
        r.len[r.nfields++] = strlen(f2);
    }
    return dupcheck_event(&d, &r, env, now_s);
}

static const char *event(enum filter_event ev, const char *f1, const char *f2)
{
    return event_env(ev, f1, f2, 0);
}

static void filter_setup(const char *message)
{
    int fd;
    make_dir();
    snprintf(msgfile, sizeof msgfile, "%s/msg", dir);
    fd = open(msgfile, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, message, strlen(message)), (ssize_t)strlen(message));
    memset(&cfg, 0, sizeof cfg);
    cfg.store = path;
    cfg.slots = 64;
    cfg.window = 3600;
    cfg.lock_wait_ms = 1000;
    cfg.msgfd = fd;
    dupcheck_init(&d, &cfg);
}

static void filter_teardown(void)
{
    dupcheck_end(&d);
    close(cfg.msgfd);
    remove_dir();
}

/* eom with the envelope version 2 gives (the sender and the nr
 * recipients the message goes to): its verdict; then the report. */
static const char *transaction(const char *outcome, const char *sender, int nr, const char *r1,
                               const char *r2)
{
    const char *rcpts[2] = { r1, r2 }, *v;
    struct dupcheck_envelope env = { sender, (unsigned long)nr, rcpts };
    v = event_env(FILTER_EOM, "40", 0, &env);
    ck_assert_str_eq(event(FILTER_REPORT, strcmp(v, "discard") ? outcome : "discarded", "250"),
                     "continue");
    return v;
}

/* The transaction most tests repeat: s@x to a@x, delivered if relayed. */
static const char *reference(void)
{
    return transaction("delivered", "s@x", 1, "a@x", 0);
}

static const char *const message = "Message-ID: <m1@example.org>\r\nSubject: t\r\n\r\nhello\r\n";

START_TEST(test_filter_second_copy_discarded)
{
    filter_setup(message);
    ck_assert_str_eq(reference(), "continue");
    ck_assert_str_eq(reference(), "discard");
    /* Other recipients, another sender: not the same message. */
    ck_assert_str_eq(transaction("delivered", "s@x", 1, "b@x", 0), "continue");
    ck_assert_str_eq(transaction("delivered", "t@x", 1, "a@x", 0), "continue");
    /* The null sender is a sender like another. */
    ck_assert_str_eq(transaction("delivered", "", 1, "a@x", 0), "continue");
    ck_assert_str_eq(transaction("delivered", "", 1, "a@x", 0), "discard");
    filter_teardown();
}
END_TEST

START_TEST(test_filter_records_only_delivered)
{
    filter_setup(message);
    ck_assert_str_eq(transaction("tempfailed", "s@x", 1, "a@x", 0), "continue");
    ck_assert_str_eq(transaction("rejected", "s@x", 1, "a@x", 0), "continue");
    ck_assert_str_eq(reference(), "continue");
    ck_assert_str_eq(reference(), "discard");
    /* An RSET between eom and report forgets the fingerprint. */
    ck_assert_str_eq(event(FILTER_MAIL, "s@x", 0), "continue");
    ck_assert_str_eq(event(FILTER_RCPT, "c@x", 0), "continue");
    ck_assert_str_eq(event(FILTER_DATA, "1", 0), "continue");
    ck_assert_str_eq(event(FILTER_EOM, "40", 0), "continue");
    ck_assert_str_eq(event(FILTER_RSET, 0, 0), "continue");
    ck_assert_str_eq(event(FILTER_REPORT, "delivered", "250"), "continue");
    ck_assert_str_eq(transaction("delivered", "s@x", 1, "c@x", 0), "continue");
    filter_teardown();
}
END_TEST

/* The recipients the message goes to, in any order, are the
 * fingerprint's: a copy to a alone after one to a and b is new, and so is
 * one to a and b after one to a alone; the same two in another order are
 * the same message. */
START_TEST(test_filter_recipients_that_get_it)
{
    filter_setup(message);
    ck_assert_str_eq(transaction("delivered", "s@x", 2, "a@x", "b@x"), "continue");
    ck_assert_str_eq(transaction("delivered", "s@x", 1, "a@x", 0), "continue");
    ck_assert_str_eq(transaction("delivered", "s@x", 1, "a@x", 0), "discard");
    ck_assert_str_eq(transaction("delivered", "s@x", 2, "b@x", "a@x"), "discard");
    filter_teardown();
}
END_TEST

START_TEST(test_filter_dry_run_never_discards)
{
    filter_setup(message);
    cfg.dry_run = 1;
    ck_assert_str_eq(reference(), "continue");
    ck_assert_str_eq(reference(), "continue");
    cfg.dry_run = 0;
    ck_assert_str_eq(reference(), "discard");
    filter_teardown();
}
END_TEST

START_TEST(test_filter_without_msgid_never_discards)
{
    filter_setup("Subject: alert\r\n\r\ndisk full\r\n");
    ck_assert_str_eq(reference(), "continue");
    ck_assert_str_eq(reference(), "continue");
    filter_teardown();
}
END_TEST

START_TEST(test_filter_store_unusable_means_continue)
{
    filter_setup(message);
    cfg.store = "/nonexistent/dir/store";
    ck_assert_str_eq(reference(), "continue");
    ck_assert_str_eq(reference(), "continue");
    /* A file that is not a store. */
    write_file(path, "garbage, not a store, long enough to be a header of 64 octets....", 65, 0);
    cfg.store = path;
    ck_assert_str_eq(reference(), "continue");
    ck_assert_str_eq(reference(), "continue");
    filter_teardown();
}
END_TEST

START_TEST(test_filter_store_locked_means_continue)
{
    pid_t pid;
    filter_setup(message);
    cfg.lock_wait_ms = 200;
    ck_assert_str_eq(reference(), "continue");
    pid = hold_lock(0, 0);
    ck_assert_str_eq(reference(), "continue");
    release_lock(pid);
    ck_assert_str_eq(reference(), "discard");
    filter_teardown();
}
END_TEST

START_TEST(test_filter_permanent_msgid)
{
    struct cdb_make cm;
    char cdbpath[160];
    int fd;
    filter_setup(message);
    snprintf(cdbpath, sizeof cdbpath, "%s/permanent.cdb", dir);
    fd = open(cdbpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(cdb_make_start(&cm, fd), 0);
    ck_assert_int_eq(cdb_make_add(&cm, "<m1@example.org>", 16, "loop", 4), 0);
    ck_assert_int_eq(cdb_make_finish(&cm), 0);
    close(fd);
    cfg.permanent = cdbpath;
    /* Whoever sends it to whomever, the first time already. */
    ck_assert_str_eq(reference(), "discard");
    ck_assert_str_eq(transaction("delivered", "t@x", 1, "z@x", 0), "discard");
    dupcheck_end(&d);
    cfg.permanent = "/nonexistent.cdb";     /* missing: the store still works */
    ck_assert_str_eq(reference(), "continue");
    ck_assert_str_eq(reference(), "discard");
    filter_teardown();
}
END_TEST

START_TEST(test_filter_window)
{
    filter_setup(message);
    cfg.window = 10;
    ck_assert_str_eq(reference(), "continue");
    now_s += 9;
    ck_assert_str_eq(reference(), "discard");
    now_s += 1;                 /* 10 seconds after the delivery: past it */
    ck_assert_str_eq(reference(), "continue");
    now_s += 5;                 /* recorded again 5 seconds ago */
    ck_assert_str_eq(reference(), "discard");
    now_s = 100000;
    filter_teardown();
}
END_TEST

/* The message on fd 3 replaced. */
static void set_message(const char *m)
{
    ck_assert_int_eq(ftruncate(cfg.msgfd, 0), 0);
    ck_assert_int_eq(pwrite(cfg.msgfd, m, strlen(m), 0), (ssize_t)strlen(m));
}

#define ALERT_BODY "\r\nYour code is 123456.\r\n"
#define ALERT_MSGID "Message-ID: <code.1@bank.example>\r\n"
#define ALERT_FIELDS "From: Bank <alerts@bank.example>\r\nSubject: Your code\r\nMIME-Version: 1.0\r\n" \
    "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n"

/* Someone who knows the Message-ID, the envelope and the body of an
 * automated message cannot send it first under other header fields that
 * a reader shows or reads the body by, and have the real one discarded:
 * each of them is in the fingerprint.  Fields that differ between two
 * copies of one message (Received, Date) are not; nor is folding. */
START_TEST(test_filter_header_fields_count)
{
    static const char *const other[] = {
        ALERT_MSGID "From: Bank <alerts@bank.example.com>\r\nSubject: Your code\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n" ALERT_BODY,
        ALERT_MSGID "From: Bank <alerts@bank.example>\r\nSubject: Your CODE\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n" ALERT_BODY,
        ALERT_MSGID "From: Bank <alerts@bank.example>\r\nSubject: Your code\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/html; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n" ALERT_BODY,
        ALERT_MSGID "From: Bank <alerts@bank.example>\r\nSubject: Your code\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64\r\n" ALERT_BODY,
        ALERT_MSGID "From: Bank <alerts@bank.example>\r\nSubject: Your code\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n" ALERT_BODY,
        ALERT_MSGID ALERT_FIELDS "Reply-To: <help@evil.example>\r\n" ALERT_BODY,
        ALERT_MSGID ALERT_FIELDS "Sender: <x@evil.example>\r\n" ALERT_BODY,
        ALERT_MSGID ALERT_FIELDS "Content-Disposition: attachment; filename=code.txt\r\n" ALERT_BODY,
        ALERT_MSGID ALERT_FIELDS "From: Evil <x@evil.example>\r\n" ALERT_BODY,     /* a second one */
        ALERT_MSGID ALERT_FIELDS "subject : Your code\r\n" ALERT_BODY,
    };
    static const char same[] =
        "Received: from elsewhere\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nFrom:  Bank\r\n\t<alerts@bank.example> \r\n"
        ALERT_MSGID "Subject:Your   code\r\nX-Other: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain;\r\n"
        "  charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n" ALERT_BODY;
    size_t i;
    filter_setup(ALERT_MSGID ALERT_FIELDS ALERT_BODY);
    ck_assert_str_eq(reference(), "continue");
    for (i = 0; i < sizeof other / sizeof other[0]; i++) {
        set_message(other[i]);
        ck_assert_msg(!strcmp(reference(), "continue"), "variant %zu discarded", i);
    }
    set_message(same);
    ck_assert_str_eq(reference(), "discard");
    filter_teardown();
}
END_TEST

/* The fingerprint of smtp-dupcheck(8), computed from the man page's
 * words by another program:
 *   import hashlib; H = lambda b: hashlib.sha256(b).digest()
 *   header = b"from:Alice <alice@example.org>\nsubject:Hello, world\n" \
 *            b"content-type:text/plain\nmessage-id:<a.1@example.org>\n"
 *   rcpts = sorted([H(b"b@example.net"), H(b"a@example.net")])
 *   H(b"noqueue-dupcheck 2" + H(header) + H(b"s@example.org") + H(b"Hi.\r\n") + b"".join(rcpts)).hex() */
#define FINGERPRINT_AS_DOCUMENTED "b7f065ed028b5a29fb0dfac6be851257833bbfbb52338d5573039c6f2e4900f1"
START_TEST(test_fingerprint_as_documented)
{
    char hex[65];
    filter_setup("Received: by x\r\nMessage-Id: <a.1@example.org>\r\nFrom: Alice\r\n <alice@example.org>\r\n"
                 "Subject: \tHello,   world \r\nContent-Type: text/plain\r\n\r\nHi.\r\n");
    ck_assert_str_eq(transaction("delivered", "s@example.org", 2, "b@example.net", "a@example.net"), "continue");
    dupstore_hex(d.fp, hex);
    ck_assert_str_eq(hex, FINGERPRINT_AS_DOCUMENTED);
    filter_teardown();
}
END_TEST

static Suite *dupcheck_suite(void)
{
    Suite *s = suite_create("smtp-dupcheck");
    TCase *store = tcase_create("store"), *fp = tcase_create("fingerprint"), *filter = tcase_create("filter");
    tcase_add_test(store, test_create_sizes_the_file_and_keeps_its_size);
    tcase_add_test(store, test_header_as_documented);
    tcase_add_test(store, test_record_then_lookup);
    tcase_add_test(store, test_entries_expire_after_the_window);
    tcase_add_test(store, test_same_fingerprint_takes_one_slot);
    tcase_add_test(store, test_size_is_bounded_oldest_evicted);
    tcase_add_test(store, test_damaged_record_is_never_a_match);
    tcase_add_test(store, test_record_codec);
    tcase_add_test(store, test_truncated_records_are_repaired);
    tcase_add_test(store, test_bad_files_are_refused_with_a_reason);
    tcase_add_test(store, test_header_of_zeros_is_initialized_again);
    tcase_add_test(store, test_lock_wait_has_a_deadline);
    tcase_add_test(store, test_expire_and_delete);
    tcase_add_test(store, test_create_replaces_atomically);
    tcase_add_test(store, test_hex);
    tcase_set_timeout(store, 10);
    tcase_add_test(fp, test_msgid_found_case_insensitive_unfolded);
    tcase_add_test(fp, test_msgid_absent_empty_or_too_long);
    tcase_add_test(fp, test_body_digest_is_sha256_of_the_body);
    tcase_add_test(fp, test_fingerprint_covers_each_part);
    tcase_add_test(filter, test_filter_second_copy_discarded);
    tcase_add_test(filter, test_filter_records_only_delivered);
    tcase_add_test(filter, test_filter_recipients_that_get_it);
    tcase_add_test(filter, test_filter_dry_run_never_discards);
    tcase_add_test(filter, test_filter_without_msgid_never_discards);
    tcase_add_test(filter, test_filter_store_unusable_means_continue);
    tcase_add_test(filter, test_filter_store_locked_means_continue);
    tcase_add_test(filter, test_filter_permanent_msgid);
    tcase_add_test(filter, test_filter_window);
    tcase_add_test(filter, test_filter_header_fields_count);
    tcase_add_test(filter, test_fingerprint_as_documented);
    tcase_set_timeout(filter, 10);
    suite_add_tcase(s, store);
    suite_add_tcase(s, fp);
    suite_add_tcase(s, filter);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dupcheck_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
