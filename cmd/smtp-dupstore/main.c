/* smtp-dupstore: look at, expire, clean or make smtp-dupcheck's store;
 * see smtp-dupstore(8) and noqueue-dupstore(5). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dupstore.h"
#include "deadline.h"
#include "log.h"
#include "scan.h"

#define USAGE "usage: smtp-dupstore [-t lock-milliseconds] [-w window-seconds]" \
    " [-c [-s slots] | -l | -x seconds | -d fingerprint] store"

static struct dupstore store;
static const char *path;
static int64_t now;

static void fail(int r)
{
    log_fatal(r == DUPSTORE_ERR_FORMAT ? 100 : 111, "store %s: %s", path, store.why);
}

static void print_record(const unsigned char *fp, int64_t when, void *arg)
{
    char hex[2 * DUPSTORE_FP_SIZE + 1];
    (void)arg;
    dupstore_hex(fp, hex);
    printf("%s %lld %lld\n", hex, (long long)when, (long long)(now - when));
}

static void summary(int64_t window)
{
    struct dupstore_stats st;
    int r = dupstore_scan(&store, now, window, &st, 0, 0);
    if (r < 0) fail(r);
    printf("store=%s slots=%lu used=%lu live=%lu empty=%lu damaged=%lu created=%lld",
           path, dupstore_slots(&store), st.used, st.live, st.empty, st.corrupt,
           (long long)store.created);
    if (st.used) printf(" oldest=%lld newest=%lld", (long long)st.oldest, (long long)st.newest);
    printf("\n");
}

int main(int argc, char **argv)
{
    unsigned long v, slots = DUPSTORE_SLOTS_DEFAULT;
    int64_t lock_ms = 1000, window = 86400, age = 0;
    unsigned char fp[DUPSTORE_FP_SIZE];
    struct dupstore_stats st;
    int opt, mode = 0, r;
    log_program = "smtp-dupstore";
    opterr = 0;                 /* one line, ours */
    while ((opt = getopt(argc, argv, "+t:w:cs:lx:d:")) != -1) {
        switch (opt) {
        case 't':
            if (!scan_ulong(optarg, 60000, &v) || !v) log_fatal(100, "bad lock wait: %s", optarg);
            lock_ms = (int64_t)v;
            break;
        case 'w':
            if (!scan_ulong(optarg, 366UL * 86400, &v) || !v) log_fatal(100, "bad window: %s", optarg);
            window = (int64_t)v;
            break;
        case 's':
            if (!scan_ulong(optarg, DUPSTORE_SLOTS_MAX, &v) || v < DUPSTORE_SLOTS_MIN)
                log_fatal(100, "bad number of slots: %s (%lu to %lu)", optarg,
                          (unsigned long)DUPSTORE_SLOTS_MIN, (unsigned long)DUPSTORE_SLOTS_MAX);
            slots = v;
            break;
        case 'x':
            if (!scan_ulong(optarg, 366UL * 86400, &v)) log_fatal(100, "bad age: %s", optarg);
            age = (int64_t)v;
            /* fall through */
        case 'c': case 'l':
            if (mode) log_fatal(100, "one of -c, -l, -x, -d at most");
            mode = opt;
            break;
        case 'd':
            if (mode) log_fatal(100, "one of -c, -l, -x, -d at most");
            if (dupstore_parse_hex(optarg, fp) < 0) log_fatal(100, "bad fingerprint (64 hex digits): %s", optarg);
            mode = opt;
            break;
        default: log_fatal(100, "%s", USAGE);
        }
    }
    if (argc - optind != 1 || !argv[optind][0]) log_fatal(100, "%s", USAGE);
    path = argv[optind];
    now = (int64_t)time(0);

    if (mode == 'c') {
        if ((r = dupstore_create(&store, path, slots, now)) < 0) fail(r);
        summary(window);
    } else {
        int writable = mode == 'x' || mode == 'd';
        r = dupstore_open(&store, path, writable, 0, 0, now, deadline_in_ms(lock_ms));
        if (r < 0) fail(r);
        if (store.repaired) log_warn("store %s: was cut short: extended with empty records", path);
        switch (mode) {
        case 'l':
            if ((r = dupstore_scan(&store, now, window, &st, print_record, 0)) < 0) fail(r);
            break;
        case 'x':
            if ((r = dupstore_expire(&store, now, age, lock_ms, &st)) < 0) fail(r);
            printf("expired=%lu damaged=%lu\n", st.expired, st.cleared);
            break;
        case 'd':
            if ((r = dupstore_delete(&store, fp, deadline_in_ms(lock_ms))) < 0) fail(r);
            printf("deleted=%d\n", r);
            break;
        default:
            summary(window);
        }
    }
    if (fflush(stdout) || ferror(stdout)) log_fatal_sys(111, "unable to write");
    dupstore_close(&store);
    return 0;
}
