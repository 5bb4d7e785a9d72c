/* Child processes: argv vectors, pipes, fd 3, deadlines, wait status. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "deadline.h"
#include "io.h"

/* Everything a child writes until EOF, NUL terminated; the length. */
static size_t read_all(int fd, char *out, size_t size)
{
    static char buf[4096];
    struct io_in in;
    size_t o = 0;
    io_in_init(&in, fd, buf, sizeof buf);
    for (;;) {
        ssize_t r = io_fill(&in, deadline_in_ms(3000));
        ck_assert_msg(r >= 0, "read from child: %s", strerror(errno));
        if (!r) break;
        ck_assert(o + io_buffered(&in) < size);
        memcpy(out + o, io_peek(&in), io_buffered(&in));
        o += io_buffered(&in);
        io_consume(&in, io_buffered(&in));
    }
    out[o] = 0;
    return o;
}

static int reap(pid_t pid)
{
    return child_reap(pid, -1, deadline_in_ms(3000));
}

static void assert_exit(int status, int code)
{
    char text[32];
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == code, "child: %s, expected exit %d",
                  child_status_text(status, text, sizeof text), code);
}

/* A temporary file holding data, at offset 0, close-on-exec like a spool. */
static int file_with(const char *data)
{
    char path[] = "/tmp/check_child.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    ck_assert_int_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

START_TEST(test_spawn_cat_through_pipes)
{
    struct child c;
    char *argv[] = { "/bin/cat", NULL };
    char out[256];
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    ck_assert_int_gt(c.pid, 0);
    ck_assert_int_ge(c.to, 0);
    ck_assert_int_ge(c.from, 0);
    ck_assert_int_eq(io_write_all(c.to, "hello\nworld\n", 12, deadline_in_ms(3000)), 0);
    close(c.to);
    ck_assert_uint_eq(read_all(c.from, out, sizeof out), 12);
    ck_assert_str_eq(out, "hello\nworld\n");
    close(c.from);
    assert_exit(reap(c.pid), 0);
}
END_TEST

START_TEST(test_our_pipe_ends_are_nonblocking_and_close_on_exec)
{
    struct child c;
    char *argv[] = { "/bin/cat", NULL };
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    ck_assert(fcntl(c.to, F_GETFL) & O_NONBLOCK);
    ck_assert(fcntl(c.from, F_GETFL) & O_NONBLOCK);
    ck_assert(fcntl(c.to, F_GETFD) & FD_CLOEXEC);
    ck_assert(fcntl(c.from, F_GETFD) & FD_CLOEXEC);
    close(c.to);
    close(c.from);
    reap(c.pid);
}
END_TEST

START_TEST(test_pipe_ends_do_not_leak_into_later_children)
{
    /* If the first child's stdin pipe leaked into the second child, cat
     * would not see EOF while the second one sleeps. */
    struct child a, b;
    char *cat[] = { "cat", NULL };
    char *sleeper[] = { "sleep", "5", NULL };
    char out[64];
    int64_t start;
    ck_assert_int_eq(child_spawn(&a, cat, NULL, -1, -1), 0);
    ck_assert_int_eq(child_spawn(&b, sleeper, NULL, -1, -1), 0);
    ck_assert_int_eq(io_write_all(a.to, "x\n", 2, deadline_in_ms(1000)), 0);
    close(a.to);
    start = deadline_now();
    ck_assert_uint_eq(read_all(a.from, out, sizeof out), 2);
    ck_assert(deadline_now() - start < 2000);
    assert_exit(reap(a.pid), 0);
    child_kill(b.pid);
}
END_TEST

START_TEST(test_stdin_fd_given_instead_of_pipe)
{
    struct child c;
    char *argv[] = { "/bin/cat", NULL };
    char out[256];
    int fd = file_with("from a file\n");
    ck_assert_int_eq(child_spawn(&c, argv, NULL, fd, -1), 0);
    ck_assert_int_eq(c.to, -1);
    ck_assert_str_eq((read_all(c.from, out, sizeof out), out), "from a file\n");
    assert_exit(reap(c.pid), 0);
    /* ours stays open */
    ck_assert_int_ne(fcntl(fd, F_GETFD), -1);
}
END_TEST

START_TEST(test_message_on_fd_3)
{
    struct child c;
    char *argv[] = { "/bin/sh", "-c", "cat <&3", NULL };
    char out[256];
    int fd = file_with("Subject: on fd 3\r\n\r\nbody\r\n");
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, fd), 0);
    close(c.to);
    read_all(c.from, out, sizeof out);
    ck_assert_str_eq(out, "Subject: on fd 3\r\n\r\nbody\r\n");
    assert_exit(reap(c.pid), 0);
}
END_TEST

/* The test harness leaves descriptors of its own open without
 * close-on-exec (check's temporary file on 3, ...); a program of ours
 * has none, so make it so here. */
static void cloexec_strays(void)
{
    int fd;
    for (fd = 3; fd < 1024; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

/* Which of fds 3..9 are open in the child, then "end". */
#define LIST_FDS "for i in 3 4 5 6 7 8 9; do { true <&$i; } 2>/dev/null && echo $i; done; echo end"

START_TEST(test_no_fd_3_unless_asked)
{
    struct child c;
    char *argv[] = { "/bin/sh", "-c", LIST_FDS, NULL };
    char out[64];
    cloexec_strays();
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    close(c.to);
    read_all(c.from, out, sizeof out);
    ck_assert_str_eq(out, "end\n");
    reap(c.pid);
}
END_TEST

START_TEST(test_only_fd_3_added_when_asked)
{
    struct child c;
    char *argv[] = { "/bin/sh", "-c", LIST_FDS, NULL };
    char out[64];
    int fd;
    cloexec_strays();
    fd = file_with("m");
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, fd), 0);
    close(c.to);
    read_all(c.from, out, sizeof out);
    ck_assert_str_eq(out, "3\nend\n");
    reap(c.pid);
}
END_TEST

START_TEST(test_same_fd_as_stdin_and_fd_3)
{
    /* the one-shot filter mode passes the spool as both */
    struct child c;
    char *argv[] = { "/bin/sh", "-c", "cat <&3", NULL };
    char out[64];
    int fd = file_with("both\n");
    ck_assert_int_eq(child_spawn(&c, argv, NULL, fd, fd), 0);
    ck_assert_int_eq(c.to, -1);
    read_all(c.from, out, sizeof out);
    ck_assert_str_eq(out, "both\n");
    assert_exit(reap(c.pid), 0);
}
END_TEST

START_TEST(test_descriptor_already_on_0_to_3_is_moved)
{
    /* Our own fd 0 given as the child's stdin and as its fd 3. */
    struct child c;
    char *argv[] = { "/bin/sh", "-c", "cat; echo; cat <&3", NULL };
    char out[64];
    int fd = file_with("zero\n"), fd3 = file_with("three\n");
    ck_assert_int_eq(dup2(fd, 0), 0);
    close(fd);
    ck_assert_int_eq(child_spawn(&c, argv, NULL, 0, fd3), 0);
    read_all(c.from, out, sizeof out);
    ck_assert_str_eq(out, "zero\n\nthree\n");
    assert_exit(reap(c.pid), 0);

    ck_assert_int_eq(lseek(0, 0, SEEK_SET), 0);
    {
        char *argv3[] = { "/bin/sh", "-c", "cat <&3", NULL };
        ck_assert_int_eq(child_spawn(&c, argv3, NULL, -1, 0), 0);
        close(c.to);
        read_all(c.from, out, sizeof out);
        ck_assert_str_eq(out, "zero\n");
        assert_exit(reap(c.pid), 0);
    }
}
END_TEST

START_TEST(test_environment_given_or_inherited)
{
    struct child c;
    char *argv[] = { "/bin/sh", "-c", "echo \"[$UNIT_VAR][$UNIT_OTHER]\"", NULL };
    char *envp[] = { "UNIT_VAR=given", NULL };
    char out[64];
    setenv("UNIT_OTHER", "inherited", 1);
    ck_assert_int_eq(child_spawn(&c, argv, envp, -1, -1), 0);
    close(c.to);
    read_all(c.from, out, sizeof out);
    ck_assert_str_eq(out, "[given][]\n");
    reap(c.pid);
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    close(c.to);
    read_all(c.from, out, sizeof out);
    ck_assert_str_eq(out, "[][inherited]\n");
    reap(c.pid);
}
END_TEST

START_TEST(test_spawn_missing_program_fails_cleanly)
{
    struct child c;
    char *argv[] = { "/nonexistent/program", NULL };
    int before = dup(0), after;
    close(before);
    errno = 0;
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(c.pid, -1);
    ck_assert_int_eq(c.to, -1);
    ck_assert_int_eq(c.from, -1);
    after = dup(0);                 /* no descriptor left behind */
    ck_assert_int_eq(after, before);
}
END_TEST

START_TEST(test_exit_status_reported)
{
    struct child c;
    char *argv[] = { "/bin/sh", "-c", "exit 100", NULL };
    char text[32];
    int st;
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    st = reap(c.pid);
    assert_exit(st, 100);
    ck_assert_str_eq(child_status_text(st, text, sizeof text), "exit 100");
}
END_TEST

START_TEST(test_reap_kills_sleeping_child_at_deadline)
{
    struct child c;
    char *argv[] = { "sleep", "10", NULL };
    int64_t start;
    int st;
    char text[32];
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    start = deadline_now();
    st = child_reap(c.pid, -1, deadline_in_ms(100));
    ck_assert(deadline_now() - start >= 95);
    ck_assert(deadline_now() - start < 1500);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), SIGKILL);
    ck_assert_str_eq(child_status_text(st, text, sizeof text), "signal 9");
    errno = 0;
    ck_assert_int_eq(waitpid(c.pid, NULL, WNOHANG), -1);   /* reaped */
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(test_reap_by_end_of_file_on_its_pipe)
{
    /* A child that exits after 200 ms: reaped as soon as its pipe closes,
     * well before the deadline, with its status. */
    char *argv[] = { "/bin/sh", "-c", "sleep 0.2; exit 7", NULL };
    struct child c;
    int64_t start;
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    close(c.to);
    start = deadline_now();
    assert_exit(child_reap(c.pid, c.from, deadline_in_ms(5000)), 7);
    ck_assert_int_lt(deadline_now() - start, 2000);
    close(c.from);
}
END_TEST

START_TEST(test_reap_does_not_wait_for_deadline_when_child_exits)
{
    struct child c;
    char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
    int64_t start = deadline_now();
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    assert_exit(child_reap(c.pid, -1, deadline_in_ms(5000)), 3);
    ck_assert(deadline_now() - start < 2000);
}
END_TEST

START_TEST(test_kill_reports_sigkill)
{
    struct child c;
    char *argv[] = { "sleep", "10", NULL };
    int st;
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    st = child_kill(c.pid);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), SIGKILL);
}
END_TEST

START_TEST(test_reap_of_a_pid_that_is_not_our_child_is_not_success)
{
    /* waitpid fails (ECHILD): the status is unknown, and an unknown
     * status must never read as "exit 0" (fail closed). */
    struct child c;
    char *argv[] = { "/bin/sh", "-c", "exit 100", NULL };
    int st;
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    assert_exit(reap(c.pid), 100);
    st = child_reap(c.pid, -1, deadline_in_ms(100));   /* already reaped */
    ck_assert_msg(!(WIFEXITED(st) && WEXITSTATUS(st) == 0),
                  "unknown status reported as exit 0 (status %d)", st);
}
END_TEST

START_TEST(test_child_gets_default_sigpipe_though_we_ignore_it)
{
    struct child c;
    char *argv[] = { "yes", NULL };
    int st;
    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    close(c.from);
    close(c.to);
    st = reap(c.pid);
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), SIGPIPE);
}
END_TEST

START_TEST(test_child_gets_empty_signal_mask)
{
    struct child c;
    char *argv[] = { "sleep", "10", NULL };
    sigset_t s;
    int st;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigprocmask(SIG_BLOCK, &s, NULL);
    ck_assert_int_eq(child_spawn(&c, argv, NULL, -1, -1), 0);
    ck_assert_int_eq(kill(c.pid, SIGTERM), 0);
    st = child_reap(c.pid, -1, deadline_in_ms(2000));
    ck_assert(WIFSIGNALED(st));
    ck_assert_int_eq(WTERMSIG(st), SIGTERM);
}
END_TEST

START_TEST(test_status_text)
{
    char text[32];
    ck_assert_str_eq(child_status_text(0, text, sizeof text), "exit 0");
    ck_assert_str_eq(child_status_text(111 << 8, text, sizeof text), "exit 111");
    ck_assert_str_eq(child_status_text(SIGKILL, text, sizeof text), "signal 9");
    ck_assert_str_eq(child_status_text(SIGSEGV | 0x80, text, sizeof text), "signal 11");
    ck_assert_str_eq(child_status_text(0x137f, text, sizeof text), "status 4991");
}
END_TEST

static Suite *child_suite(void)
{
    Suite *s = suite_create("child");
    TCase *tc = tcase_create("spawn");
    tcase_set_timeout(tc, 8);
    tcase_add_test(tc, test_spawn_cat_through_pipes);
    tcase_add_test(tc, test_our_pipe_ends_are_nonblocking_and_close_on_exec);
    tcase_add_test(tc, test_pipe_ends_do_not_leak_into_later_children);
    tcase_add_test(tc, test_stdin_fd_given_instead_of_pipe);
    tcase_add_test(tc, test_message_on_fd_3);
    tcase_add_test(tc, test_no_fd_3_unless_asked);
    tcase_add_test(tc, test_only_fd_3_added_when_asked);
    tcase_add_test(tc, test_same_fd_as_stdin_and_fd_3);
    tcase_add_test(tc, test_descriptor_already_on_0_to_3_is_moved);
    tcase_add_test(tc, test_environment_given_or_inherited);
    tcase_add_test(tc, test_spawn_missing_program_fails_cleanly);
    tcase_add_test(tc, test_child_gets_default_sigpipe_though_we_ignore_it);
    tcase_add_test(tc, test_child_gets_empty_signal_mask);
    suite_add_tcase(s, tc);

    tc = tcase_create("reap");
    tcase_set_timeout(tc, 8);
    tcase_add_test(tc, test_exit_status_reported);
    tcase_add_test(tc, test_reap_kills_sleeping_child_at_deadline);
    tcase_add_test(tc, test_reap_does_not_wait_for_deadline_when_child_exits);
    tcase_add_test(tc, test_reap_by_end_of_file_on_its_pipe);
    tcase_add_test(tc, test_kill_reports_sigkill);
    tcase_add_test(tc, test_reap_of_a_pid_that_is_not_our_child_is_not_success);
    tcase_add_test(tc, test_status_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(child_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
