/* store: SHA-256 against known digests at every padding boundary; keys;
 * the address forms; the file (values, expiry, deletion, the listing, the
 * versions kept apart); Redis's protocol against a fake server on a Unix
 * socket (absent keys, values, errors, nonsense, replies too long) and a
 * server that accepts and never answers (the deadline). */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deadline.h"
#include "store.h"

static char dir[64], path[128];

static void make_dir(void)
{
    strcpy(dir, "/tmp/check_store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/store", dir);
}

static void remove_dir(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void hex(const unsigned char *d, char *out)
{
    dupstore_hex(d, out);
}

START_TEST(test_sha256_known_digests)
{
    static const struct { size_t n; const char *digest; } v[] = {
        {0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {55, "16fa57a0a3423a715d594516339f36189d6b5f93754a9714fef202616a9fabfe"},
        {56, "c37b44e5f1b18554b36966f4f8e08bfbf3164c4b6c10374d12d89850892073c5"},
        {63, "bbba992d2c85af960fb2987a1fd05e0aa82a3db3c740dd8982a9e273b75e36a3"},
        {64, "66bd4633ed6f71c4ecfa4763bf7ba1c8ec7612de9aa6c0578a7b675207c71e0b"},
        {119, "a3ed307b730fa77c07531300c6e4a282330011d4d4caf6bb7b63ae05950f4b66"},
        {120, "8e3b15d9fea7472655aa069620b7f8c2e55ee1499f763200a7515fe826e99d20"},
        {1000, "095ecb62e30793ab4b954cd6a0586d0cc91f7ea5b1332694d8da780e98676d78"},
    };
    unsigned char data[1000], d[32];
    char h[65];
    size_t i;
    for (i = 0; i < sizeof data; i++) data[i] = (unsigned char)((i * 7 + 1) & 255);
    for (i = 0; i < sizeof v / sizeof *v; i++) {
        store_sha256(data, v[i].n, d);
        hex(d, h);
        ck_assert_str_eq(h, v[i].digest);
    }
    store_sha256("abc", 3, d);
    hex(d, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_key_joins_and_bounds)
{
    struct store_key k;
    unsigned char d[32];
    char big[STORE_KEY_MAX];
    const char *parts[3] = {"grey", "192.0.2.0/24", "a@b"};
    ck_assert_int_eq(store_key(&k, 3, parts), 0);
    ck_assert_str_eq(k.text, "grey:192.0.2.0/24:a@b");
    ck_assert_uint_eq(k.len, strlen("grey:192.0.2.0/24:a@b"));
    store_sha256(k.text, k.len, d);
    ck_assert_int_eq(memcmp(d, k.digest, 32), 0);
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    parts[2] = big;
    ck_assert_int_eq(store_key(&k, 3, parts), -1);
}
END_TEST

START_TEST(test_parse_forms)
{
    struct store s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(store_parse(&s, "/var/lib/noqueue/grey"), 0);
    ck_assert_int_eq(s.kind, STORE_FILE);
    ck_assert_int_eq(store_parse(&s, "redis://127.0.0.1:6379/3"), 0);
    ck_assert_int_eq(s.kind, STORE_REDIS);
    ck_assert_uint_eq(s.db, 3);
    ck_assert_int_eq(store_parse(&s, "redis://[::1]:6379"), 0);
    ck_assert_uint_eq(s.db, 0);
    ck_assert_int_eq(store_parse(&s, "unix:/run/redis/redis.sock"), 0);
    ck_assert_int_eq(s.kind, STORE_REDIS);
    ck_assert_int_eq(store_parse(&s, "redis://localhost:6379"), -1);
    ck_assert_ptr_nonnull(strstr(s.why, "numeric"));
    ck_assert_int_eq(store_parse(&s, "redis://127.0.0.1:6379/x"), -1);
    ck_assert_int_eq(store_parse(&s, "redis://127.0.0.1"), -1);
    ck_assert_int_eq(store_parse(&s, "unix:relative"), -1);
    ck_assert_int_eq(store_parse(&s, ""), -1);
}
END_TEST

static void each_count(const char *key, const unsigned char *digest, const struct store_value *v, void *arg)
{
    ck_assert_ptr_null(key);
    ck_assert_ptr_nonnull(digest);
    *(int *)arg += (int)v->value;
}

START_TEST(test_file_values_expiry_delete_list)
{
    struct store s;
    struct store_key a, b;
    struct store_value v;
    const char *pa[2] = {"k", "a"}, *pb[2] = {"k", "b"};
    int sum = 0;
    make_dir();
    memset(&s, 0, sizeof s);
    s.slots = 64;
    ck_assert_int_eq(store_parse(&s, path), 0);
    store_key(&a, 2, pa);
    store_key(&b, 2, pb);
    ck_assert_int_eq(store_get(&s, &a, 1000, &v, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(store_put(&s, &a, 1000, 42, 100, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(store_put(&s, &b, 1000, 7, 500, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(store_get(&s, &a, 1099, &v, deadline_in_ms(2000)), 1);
    ck_assert_int_eq(v.value, 42);
    ck_assert_int_eq(v.time, 1000);
    ck_assert_int_eq(v.expires, 1100);
    ck_assert_int_eq(store_list(&s, "k:", 1050, each_count, &sum, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(sum, 49);
    /* Expired: absent, and not listed. */
    ck_assert_int_eq(store_get(&s, &a, 1100, &v, deadline_in_ms(2000)), 0);
    sum = 0;
    ck_assert_int_eq(store_list(&s, "k:", 1100, each_count, &sum, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(sum, 7);
    /* Written again: the new value. */
    ck_assert_int_eq(store_put(&s, &a, 1200, -3, 100, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(store_get(&s, &a, 1200, &v, deadline_in_ms(2000)), 1);
    ck_assert_int_eq(v.value, -3);
    ck_assert_int_eq(store_delete(&s, &a, deadline_in_ms(2000)), 1);
    ck_assert_int_eq(store_delete(&s, &a, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(store_get(&s, &a, 1200, &v, deadline_in_ms(2000)), 0);
    store_close(&s);
    remove_dir();
}
END_TEST

START_TEST(test_file_versions_kept_apart)
{
    struct store s;
    struct dupstore d;
    struct store_key k;
    struct store_value v;
    const char *p[1] = {"x"};
    int64_t when;
    make_dir();
    store_key(&k, 1, p);
    /* A store of values is refused by the duplicate store's users... */
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(store_parse(&s, path), 0);
    ck_assert_int_eq(store_put(&s, &k, 1000, 1, 100, deadline_in_ms(2000)), 0);
    store_close(&s);
    ck_assert_int_eq(dupstore_open(&d, path, 1, 1, 64, 1000, deadline_in_ms(2000)), DUPSTORE_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(d.why, "unsupported version 2"));
    unlink(path);
    /* ... and the other way round; a duplicate store works as before. */
    memset(&s, 0, sizeof s);
    s.file_version = DUPSTORE_VERSION;
    ck_assert_int_eq(store_parse(&s, path), 0);
    ck_assert_int_eq(store_mark(&s, &k, 1000, 60, deadline_in_ms(2000), 0), 0);
    ck_assert_int_eq(store_seen(&s, &k, 1059, 60, &when, deadline_in_ms(2000)), 1);
    ck_assert_int_eq(when, 1000);
    ck_assert_int_eq(store_seen(&s, &k, 1060, 60, &when, deadline_in_ms(2000)), 0);
    store_close(&s);
    ck_assert_int_eq(dupstore_open(&d, path, 1, 0, 0, 1000, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(dupstore_lookup(&d, k.digest, 1001, 60, deadline_in_ms(2000), &when), 1);
    dupstore_close(&d);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(store_parse(&s, path), 0);
    ck_assert_int_eq(store_get(&s, &k, 1000, &v, deadline_in_ms(2000)), -1);
    ck_assert_ptr_nonnull(strstr(s.why, "unsupported version 1"));
    store_close(&s);
    remove_dir();
}
END_TEST

START_TEST(test_file_unusable)
{
    struct store s;
    struct store_key k;
    struct store_value v;
    const char *p[1] = {"x"};
    memset(&s, 0, sizeof s);
    store_key(&k, 1, p);
    ck_assert_int_eq(store_parse(&s, "/nonexistent/dir/store"), 0);
    ck_assert_int_eq(store_get(&s, &k, 1000, &v, deadline_in_ms(2000)), -1);
    ck_assert_int_eq(store_put(&s, &k, 1000, 1, 1, deadline_in_ms(2000)), -1);
    ck_assert_ptr_nonnull(strstr(s.why, "unable to open"));
}
END_TEST

/* A fake Redis server on a Unix socket: it answers each request (read
 * up to its last CRLF) with the next of replies, or never when stall. */
static pid_t fake;

static void fake_server(const char *const *replies, int stall)
{
    struct sockaddr_un un;
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    snprintf(un.sun_path, sizeof un.sun_path, "%s/redis.sock", dir);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&un, sizeof un), 0);
    ck_assert_int_eq(listen(l, 4), 0);
    fake = fork();
    ck_assert_int_ge(fake, 0);
    if (fake == 0) {
        int c;
        signal(SIGTERM, SIG_DFL);       /* not libcheck's, which ends the group */
        c = accept(l, 0, 0);
        char buf[4096];
        if (stall) {
            pause();
            _exit(0);
        }
        for (; *replies; replies++) {
            if (read(c, buf, sizeof buf) <= 0) _exit(0);
            if (write(c, *replies, strlen(*replies)) < 0) _exit(1);
        }
        while (read(c, buf, sizeof buf) > 0) {}
        _exit(0);
    }
    close(l);
}

static void fake_end(void)
{
    kill(fake, SIGTERM);
    waitpid(fake, 0, 0);
}

static void redis_store(struct store *s)
{
    char spec[160];
    memset(s, 0, sizeof *s);
    snprintf(spec, sizeof spec, "unix:%s/redis.sock", dir);
    ck_assert_int_eq(store_parse(s, spec), 0);
}

START_TEST(test_redis_replies)
{
    static const char *const replies[] = {
        "$-1\r\n",                              /* GET: absent */
        "+OK\r\n",                              /* SET */
        "$12\r\n42 1000 1100\r\n",              /* GET: a value */
        "$12\r\n42 1000 1100\r\n",              /* GET: expired by our clock */
        ":1\r\n",                               /* DEL */
        "-ERR wrong kind of value\r\n",         /* GET: an error */
        0,
    };
    struct store s;
    struct store_key k;
    struct store_value v;
    const char *p[2] = {"grey", "x"};
    make_dir();
    fake_server(replies, 0);
    redis_store(&s);
    store_key(&k, 2, p);
    ck_assert_int_eq(store_get(&s, &k, 1000, &v, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(store_put(&s, &k, 1000, 42, 100, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(store_get(&s, &k, 1050, &v, deadline_in_ms(2000)), 1);
    ck_assert_int_eq(v.value, 42);
    ck_assert_int_eq(v.time, 1000);
    ck_assert_int_eq(v.expires, 1100);
    ck_assert_int_eq(store_get(&s, &k, 1100, &v, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(store_delete(&s, &k, deadline_in_ms(2000)), 1);
    ck_assert_int_eq(store_get(&s, &k, 1000, &v, deadline_in_ms(2000)), -1);
    ck_assert_ptr_nonnull(strstr(s.why, "wrong kind of value"));
    store_close(&s);
    fake_end();
    remove_dir();
}
END_TEST

static void one_bad_reply_within(const char *reply, const char *why, int64_t ms)
{
    const char *replies[2] = {reply, 0};
    struct store s;
    struct store_key k;
    struct store_value v;
    const char *p[1] = {"x"};
    make_dir();
    fake_server(replies, 0);
    redis_store(&s);
    store_key(&k, 1, p);
    ck_assert_int_eq(store_get(&s, &k, 1000, &v, deadline_in_ms(ms)), -1);
    ck_assert_msg(strstr(s.why, why) != 0, "why: %s", s.why);
    ck_assert_int_eq(s.fd, -1);         /* closed: the next request connects again */
    ck_assert_ptr_null(s.redis);
    fake_end();
    remove_dir();
}

static void one_bad_reply(const char *reply, const char *why)
{
    one_bad_reply_within(reply, why, 2000);
}

/* A bulk string of n bytes, "$n\r\nxxx...\r\n", in buf. */
static const char *bulk(char *buf, size_t size, size_t n)
{
    int head = snprintf(buf, size, "$%zu\r\n", n);
    ck_assert_uint_lt((size_t)head + n + 3, size);
    memset(buf + head, 'x', n);
    memcpy(buf + head + n, "\r\n", 3);
    return buf;
}

START_TEST(test_redis_nonsense_refused)
{
    static char big[200 * 1024];
    one_bad_reply("?what\r\n", "malformed reply");
    one_bad_reply(":12x\r\n", "malformed reply");           /* hiredis: bad integer */
    one_bad_reply("$5\r\nabcdefg\r\n", "malformed bulk reply");
    one_bad_reply("$-1\r\n:1\r\n", "data after the reply");
    one_bad_reply(bulk(big, sizeof big, 1025), "bulk reply too long");
    one_bad_reply(bulk(big, sizeof big, 150 * 1024), "reply too long");  /* not all buffered */
    one_bad_reply("*65\r\n", "array reply too long");
    one_bad_reply(":1\r\n", "unexpected reply");
    /* Cut short, the server silent: hiredis waits for the rest (a bulk
     * string's bytes, a line's CRLF) until the deadline. */
    one_bad_reply_within("$2000\r\n", "timed out", 300);
    one_bad_reply_within("+OK\n", "timed out", 300);
    one_bad_reply_within("$3\r\nab", "timed out", 300);
}
END_TEST

static void each_key(const char *key, const unsigned char *digest, const struct store_value *v, void *arg)
{
    ck_assert_str_eq(key, "k:a");
    ck_assert_ptr_null(digest);
    *(int *)arg += (int)v->value;
}

START_TEST(test_redis_list)
{
    static char big[2048];
    const char *const replies[] = {
        "*2\r\n$2\r\n17\r\n*2\r\n$3\r\nk:a\r\n$3\r\nk:b\r\n",    /* SCAN 0 */
        "$12\r\n42 1000 1100\r\n",                              /* GET k:a */
        "$11\r\n7 1000 1010\r\n",                               /* GET k:b: expired */
        "*2\r\n$1\r\n0\r\n*0\r\n",                              /* SCAN 17: the end */
        big,                                                    /* GET: 1024 bytes, not ours */
        "*2\r\n$1\r\n0\r\n:1\r\n",                              /* SCAN: nonsense */
        0,
    };
    struct store s;
    struct store_key k;
    struct store_value v;
    const char *p[1] = {"x"};
    int sum = 0;
    bulk(big, sizeof big, 1024);        /* at the limit: read */
    make_dir();
    fake_server(replies, 0);
    redis_store(&s);
    store_key(&k, 1, p);
    ck_assert_int_eq(store_list(&s, "k:", 1050, each_key, &sum, deadline_in_ms(2000)), 0);
    ck_assert_int_eq(sum, 42);
    ck_assert_int_eq(store_get(&s, &k, 1000, &v, deadline_in_ms(2000)), 0);
    ck_assert_int_ge(s.fd, 0);
    ck_assert_int_eq(store_list(&s, "k:", 1050, each_count, &sum, deadline_in_ms(2000)), -1);
    ck_assert_ptr_nonnull(strstr(s.why, "SCAN: unexpected reply"));
    ck_assert_int_eq(s.fd, -1);
    fake_end();
    remove_dir();
}
END_TEST

START_TEST(test_redis_stalled_meets_the_deadline)
{
    static const char *const none[] = {0};
    struct store s;
    struct store_key k;
    struct store_value v;
    const char *p[1] = {"x"};
    int64_t start;
    make_dir();
    fake_server(none, 1);
    redis_store(&s);
    store_key(&k, 1, p);
    start = deadline_now();
    ck_assert_int_eq(store_get(&s, &k, 1000, &v, deadline_in_ms(200)), -1);
    ck_assert_int_ge(deadline_now() - start, 190);
    ck_assert_int_lt(deadline_now() - start, 1000);
    ck_assert_ptr_nonnull(strstr(s.why, "timed out"));
    fake_end();
    /* Nobody listening: refused at once. */
    ck_assert_int_eq(store_get(&s, &k, 1000, &v, deadline_in_ms(2000)), -1);
    ck_assert_ptr_nonnull(strstr(s.why, "unable to connect"));
    remove_dir();
}
END_TEST

START_TEST(test_clock_from_the_environment)
{
    setenv("NOQUEUE_NOW", "1700000000", 1);
    ck_assert_int_eq(store_now(), 1700000000);
    setenv("NOQUEUE_NOW", "soon", 1);
    ck_assert_int_gt(store_now(), 1700000000);
    unsetenv("NOQUEUE_NOW");
    ck_assert_int_gt(store_now(), 1700000000);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *t = tcase_create("store");
    tcase_add_test(t, test_sha256_known_digests);
    tcase_add_test(t, test_key_joins_and_bounds);
    tcase_add_test(t, test_parse_forms);
    tcase_add_test(t, test_file_values_expiry_delete_list);
    tcase_add_test(t, test_file_versions_kept_apart);
    tcase_add_test(t, test_file_unusable);
    tcase_add_test(t, test_redis_replies);
    tcase_add_test(t, test_redis_nonsense_refused);
    tcase_add_test(t, test_redis_list);
    tcase_add_test(t, test_redis_stalled_meets_the_deadline);
    tcase_add_test(t, test_clock_from_the_environment);
    tcase_set_timeout(t, 10);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    int failed;
    signal(SIGPIPE, SIG_IGN);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
