/* Log lines on stderr: one write per line, key=value quoting, truncation,
 * fatal exits. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* stderr goes into a pipe for the rest of the (forked) test. */
static int capture_stderr(void)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(dup2(p[1], 2), 2);
    close(p[1]);
    return p[0];
}

/* What was written so far (one read: each line is one write). */
static size_t captured(int fd, char *out, size_t size)
{
    ssize_t r = read(fd, out, size - 1);
    ck_assert_int_ge(r, 0);
    out[r] = 0;
    return (size_t)r;
}

START_TEST(test_line_start_names_program_and_level)
{
    struct log_line l;
    log_program = "smtp-unit";
    log_line_start(&l, "info");
    ck_assert_uint_eq(l.len, strlen("smtp-unit: info:"));
    ck_assert_mem_eq(l.buf, "smtp-unit: info:", l.len);
    ck_assert_int_eq(l.truncated, 0);
}
END_TEST

START_TEST(test_kv_plain_values_unquoted)
{
    struct log_line l;
    log_program = "p";
    log_line_start(&l, "info");
    log_kv_str(&l, "from", "a@b.example");
    log_kv_str(&l, "x", "k=v;!~");
    log_kv_num(&l, "size", 12345);
    log_kv_num(&l, "neg", -7);
    l.buf[l.len] = 0;
    ck_assert_str_eq(l.buf, "p: info: from=a@b.example x=k=v;!~ size=12345 neg=-7");
}
END_TEST

START_TEST(test_kv_quotes_spaces_quotes_backslashes)
{
    struct log_line l;
    log_program = "p";
    log_line_start(&l, "info");
    log_kv_str(&l, "a", "two words");
    log_kv_str(&l, "b", "say \"hi\"");
    log_kv_str(&l, "c", "back\\slash");
    log_kv_str(&l, "d", "");
    l.buf[l.len] = 0;
    ck_assert_str_eq(l.buf, "p: info: a=\"two words\" b=\"say \\\"hi\\\"\" c=\"back\\\\slash\" d=\"\"");
}
END_TEST

START_TEST(test_kv_escapes_control_and_eight_bit_bytes)
{
    struct log_line l;
    log_program = "p";
    log_line_start(&l, "info");
    log_kv(&l, "t", "a\r\nb\0\x7f\xc3\xa9", 8);
    l.buf[l.len] = 0;
    ck_assert_str_eq(l.buf, "p: info: t=\"a\\x0D\\x0Ab\\x00\\x7F\\xC3\\xA9\"");
}
END_TEST

START_TEST(test_value_and_raw_without_key)
{
    struct log_line l;
    log_program = "p";
    log_line_start(&l, "info");
    log_raw(&l, " verdict=", 9);
    log_value(&l, "reject 550", 10);
    l.buf[l.len] = 0;
    ck_assert_str_eq(l.buf, "p: info: verdict=\"reject 550\"");
}
END_TEST

START_TEST(test_long_line_truncated_with_marker)
{
    static char v[3000];
    struct log_line l;
    int i;
    memset(v, 'v', sizeof v);
    log_program = "p";
    log_line_start(&l, "info");
    for (i = 0; i < 3; i++) log_kv(&l, "k", v, sizeof v);
    ck_assert_int_eq(l.truncated, 1);
    ck_assert(l.len <= LOG_LINE_MAX);
    ck_assert_mem_eq(l.buf + l.len - 4, " ...", 4);
    /* nothing more is added once truncated */
    i = (int)l.len;
    log_kv_str(&l, "after", "x");
    ck_assert_int_eq((int)l.len, i);
}
END_TEST

START_TEST(test_long_quoted_value_stays_bounded)
{
    static char v[LOG_LINE_MAX * 2];
    struct log_line l;
    memset(v, 1, sizeof v);     /* every byte becomes \x01: 4 times longer */
    log_program = "p";
    log_line_start(&l, "info");
    log_kv(&l, "k", v, sizeof v);
    ck_assert(l.len <= LOG_LINE_MAX);
    ck_assert_int_eq(l.truncated, 1);
}
END_TEST

START_TEST(test_emit_is_one_line_in_one_write)
{
    struct log_line l;
    char got[LOG_LINE_MAX + 16];
    int fd = capture_stderr();
    size_t len;
    log_program = "p";
    log_line_start(&l, "info");
    log_kv_str(&l, "k", "v");
    len = l.len;
    log_line_emit(&l);
    ck_assert_uint_eq(l.len, len);
    ck_assert_uint_eq(captured(fd, got, sizeof got), len + 1);
    ck_assert_str_eq(got, "p: info: k=v\n");
}
END_TEST

START_TEST(test_emit_truncated_line_ends_in_newline)
{
    static char v[5000];
    struct log_line l;
    char got[LOG_LINE_MAX + 16];
    int fd = capture_stderr();
    size_t n;
    memset(v, 'x', sizeof v);
    log_program = "p";
    log_line_start(&l, "info");
    log_kv(&l, "k", v, sizeof v);
    log_line_emit(&l);
    n = captured(fd, got, sizeof got);
    ck_assert(n <= LOG_LINE_MAX + 1);
    ck_assert_int_eq(got[n - 1], '\n');
    ck_assert_mem_eq(got + n - 5, " ...\n", 5);
}
END_TEST

START_TEST(test_conn_on_warnings_and_fatals_only)
{
    struct log_line l;
    char buf[256];
    int fd = capture_stderr();
    log_program = "p";
    setenv("NOQUEUE_CONN", "4242", 1);
    log_warn("smarthost %s gone", "x");
    captured(fd, buf, sizeof buf);
    ck_assert_str_eq(buf, "p: warning: conn=4242: smarthost x gone\n");
    log_line_start(&l, "warning");
    ck_assert_mem_eq(l.buf, "p: warning: conn=4242:", l.len);
    log_line_start(&l, "info");
    ck_assert_mem_eq(l.buf, "p: info:", l.len);
    log_kv_conn(&l);
    l.buf[l.len] = 0;
    ck_assert_str_eq(l.buf, "p: info: conn=4242");
    log_line_event(&l, "recorded");
    l.buf[l.len] = 0;
    ck_assert_str_eq(l.buf, "p: info: recorded conn=4242");
}
END_TEST

START_TEST(test_conn_id_on_lines)
{
    struct log_line l;
    char buf[256];
    int fd = capture_stderr();
    log_program = "p";
    setenv("NOQUEUE_CONN", "69c1a2b30c5d8e4f-48213", 1);
    log_warn("w");
    captured(fd, buf, sizeof buf);
    ck_assert_str_eq(buf, "p: warning: conn=69c1a2b30c5d8e4f-48213: w\n");
    log_line_event(&l, "end");
    l.buf[l.len] = 0;
    ck_assert_str_eq(l.buf, "p: info: end conn=69c1a2b30c5d8e4f-48213");
    unsetenv("NOQUEUE_CONN");
}
END_TEST

START_TEST(test_conn_id_format)
{
    struct timespec t = { 0x69c1a2b3, 0x0c5d8e4f };
    char buf[LOG_CONN_ID_MAX + 1];
    ck_assert_uint_eq(log_conn_id(buf, sizeof buf, &t, 48213), 22);
    ck_assert_str_eq(buf, "69c1a2b30c5d8e4f-48213");
    t.tv_sec = 5;
    t.tv_nsec = 999999999;
    log_conn_id(buf, sizeof buf, &t, 4194304);
    ck_assert_str_eq(buf, "000000053b9ac9ff-4194304");
    ck_assert_uint_eq(log_conn_id(buf, 8, &t, 1), 7);
    ck_assert_str_eq(buf, "0000000");
}
END_TEST

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 100,000 connections whose pids wrap every 7: each takes its id at its
 * start, as smtp-proxyd does, and no two ids are the same. */
START_TEST(test_conn_id_unique_over_pid_wrap)
{
    enum { N = 100000 };
    static char ids[N][LOG_CONN_ID_MAX + 1];
    static char *sorted[N];
    unsigned i;
    for (i = 0; i < N; i++) {
        struct timespec t;
        ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &t), 0);
        log_conn_id(ids[i], sizeof ids[i], &t, 300 + (long)(i % 7));
        sorted[i] = ids[i];
    }
    qsort(sorted, N, sizeof sorted[0], by_string);
    for (i = 1; i < N; i++)
        ck_assert_msg(strcmp(sorted[i - 1], sorted[i]), "id %s twice", sorted[i]);
}
END_TEST

START_TEST(test_conn_not_a_number_is_left_out)
{
    static const char *const bad[] = { "", "42x", "-1", "4 2", "123456789012345678901",
                                       "69c1a2b30c5d8e4f-", "69c1a2b30c5d8e4F-42",
                                       "69c1a2b30c5d8e4-42", "69c1a2b30c5d8e4f-4x",
                                       "69c1a2b30c5d8e4f-12345678901234567890123456" };
    struct log_line l;
    char buf[256];
    size_t i;
    int fd = capture_stderr();
    log_program = "p";
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("NOQUEUE_CONN", bad[i], 1);
        log_warn("w");
        captured(fd, buf, sizeof buf);
        ck_assert_str_eq(buf, "p: warning: w\n");
        log_line_start(&l, "info");
        log_kv_conn(&l);
        ck_assert_mem_eq(l.buf, "p: info:", l.len);
        log_line_event(&l, "end");
        ck_assert_mem_eq(l.buf, "p: info: end", l.len);
    }
    unsetenv("NOQUEUE_CONN");
    log_warn("w");
    captured(fd, buf, sizeof buf);
    ck_assert_str_eq(buf, "p: warning: w\n");
}
END_TEST

START_TEST(test_warn_format)
{
    char got[256];
    int fd = capture_stderr();
    log_program = "smtp-unit";
    log_warn("filter %s: %d lines", "spam", 3);
    captured(fd, got, sizeof got);
    ck_assert_str_eq(got, "smtp-unit: warning: filter spam: 3 lines\n");
}
END_TEST

START_TEST(test_warn_sys_appends_strerror)
{
    char got[256];
    int fd = capture_stderr();
    log_program = "smtp-unit";
    errno = ENOENT;
    log_warn_sys("unable to open %s", "rcpt.cdb");
    captured(fd, got, sizeof got);
    ck_assert_str_eq(got, "smtp-unit: warning: unable to open rcpt.cdb: No such file or directory\n");
}
END_TEST

START_TEST(test_warn_long_message_cut_but_one_line)
{
    static char v[3000];
    char got[4096];
    int fd = capture_stderr();
    size_t n;
    memset(v, 'y', sizeof v - 1);
    log_program = "p";
    log_warn("%s", v);
    n = captured(fd, got, sizeof got);
    ck_assert_uint_eq(n, 1023);
    ck_assert_int_eq(got[n - 1], '\n');
    ck_assert_ptr_null(memchr(got, '\n', n - 1));
}
END_TEST

/* Run fn in a child with stderr into a pipe: its exit status and text. */
static int run_fatal(void (*fn)(void), char *got, size_t size)
{
    int p[2], status;
    pid_t pid;
    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (!pid) {
        dup2(p[1], 2);
        fn();
        _exit(77);                  /* not reached */
    }
    close(p[1]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    captured(p[0], got, size);
    return status;
}

static void fatal_temporary(void)
{
    log_program = "smtp-unit";
    log_fatal(111, "out of %s", "memory");
}

static void fatal_sys_permanent(void)
{
    log_program = "smtp-unit";
    errno = EACCES;
    log_fatal_sys(100, "unable to read %s", "config");
}

START_TEST(test_fatal_exits_with_status_and_says_why)
{
    char got[256];
    int st = run_fatal(fatal_temporary, got, sizeof got);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 111);
    ck_assert_str_eq(got, "smtp-unit: fatal: out of memory\n");
}
END_TEST

START_TEST(test_fatal_sys_exits_with_status_and_strerror)
{
    char got[256];
    int st = run_fatal(fatal_sys_permanent, got, sizeof got);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 100);
    ck_assert_str_eq(got, "smtp-unit: fatal: unable to read config: Permission denied\n");
}
END_TEST

/* Whatever the environment of the run, no test sees a NOQUEUE_CONN it
 * did not set itself. */
static void no_conn(void)
{
    unsetenv("NOQUEUE_CONN");
}

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("line");
    tcase_add_checked_fixture(tc, no_conn, 0);
    tcase_add_test(tc, test_line_start_names_program_and_level);
    tcase_add_test(tc, test_kv_plain_values_unquoted);
    tcase_add_test(tc, test_kv_quotes_spaces_quotes_backslashes);
    tcase_add_test(tc, test_kv_escapes_control_and_eight_bit_bytes);
    tcase_add_test(tc, test_value_and_raw_without_key);
    tcase_add_test(tc, test_long_line_truncated_with_marker);
    tcase_add_test(tc, test_long_quoted_value_stays_bounded);
    tcase_add_test(tc, test_emit_is_one_line_in_one_write);
    tcase_add_test(tc, test_emit_truncated_line_ends_in_newline);
    suite_add_tcase(s, tc);

    tc = tcase_create("messages");
    tcase_add_checked_fixture(tc, no_conn, 0);
    tcase_add_test(tc, test_warn_format);
    tcase_add_test(tc, test_conn_on_warnings_and_fatals_only);
    tcase_add_test(tc, test_conn_not_a_number_is_left_out);
    tcase_add_test(tc, test_conn_id_on_lines);
    tcase_add_test(tc, test_conn_id_format);
    tcase_add_test(tc, test_conn_id_unique_over_pid_wrap);
    tcase_add_test(tc, test_warn_sys_appends_strerror);
    tcase_add_test(tc, test_warn_long_message_cut_but_one_line);
    tcase_add_test(tc, test_fatal_exits_with_status_and_says_why);
    tcase_add_test(tc, test_fatal_sys_exits_with_status_and_strerror);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
