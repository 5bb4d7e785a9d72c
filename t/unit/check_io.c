/* Line I/O with deadlines over pipes. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "io.h"

/* A pipe with data written into it: p[0] non-blocking; p[1] closed when
 * close_writer, else left open for the test. */
static void pipe_with(int p[2], const char *data, size_t n, int close_writer)
{
    ck_assert_int_eq(pipe(p), 0);
    if (n) ck_assert_int_eq(write(p[1], data, n), (ssize_t)n);
    if (close_writer) { close(p[1]); p[1] = -1; }
    ck_assert_int_eq(io_nonblock(p[0]), 0);
}
#define PIPE_WITH(p, lit, close_writer) pipe_with(p, lit, sizeof lit - 1, close_writer)

#define SOON() deadline_in_ms(2000)

START_TEST(test_getline_lines_then_eof)
{
    int p[2];
    char buf[64], line[32];
    struct io_in in;
    PIPE_WITH(p, "a\nbc\r\n\n", 1);
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 2);
    ck_assert_str_eq(line, "a\n");
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 4);
    ck_assert_str_eq(line, "bc\r\n");
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 1);
    ck_assert_str_eq(line, "\n");
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), IO_EOF);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), IO_EOF);
}
END_TEST

START_TEST(test_getline_leaves_the_rest_buffered)
{
    int p[2];
    char buf[64], line[32];
    struct io_in in;
    PIPE_WITH(p, "DATA\r\nbody bytes", 1);
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 6);
    ck_assert_uint_eq(io_buffered(&in), 10);
    ck_assert_mem_eq(io_peek(&in), "body bytes", 10);
    io_consume(&in, 5);
    ck_assert_uint_eq(io_buffered(&in), 5);
    ck_assert_mem_eq(io_peek(&in), "bytes", 5);
}
END_TEST

START_TEST(test_getline_longest_line_fits)
{
    int p[2];
    char buf[64], line[8];
    struct io_in in;
    PIPE_WITH(p, "012345\n", 1);    /* size - 1 octets with the LF */
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 7);
    ck_assert_str_eq(line, "012345\n");
}
END_TEST

START_TEST(test_getline_too_long_then_skipline)
{
    int p[2];
    char buf[64], line[8];
    struct io_in in;
    PIPE_WITH(p, "0123456\nnext\n", 1);   /* one octet too many */
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), IO_TOOLONG);
    ck_assert_int_eq(io_skipline(&in, SOON()), 1);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 5);
    ck_assert_str_eq(line, "next\n");
}
END_TEST

START_TEST(test_getline_too_long_never_splits_into_two_lines)
{
    int p[2];
    char buf[64], line[8];
    struct io_in in;
    PIPE_WITH(p, "0123456789abcdef\nok\n", 1);
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), IO_TOOLONG);
    /* the first size-1 octets are gone; the rest is still the same line */
    ck_assert_uint_eq(io_buffered(&in), 13);
    ck_assert_int_eq(io_skipline(&in, SOON()), 1);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 3);
    ck_assert_str_eq(line, "ok\n");
}
END_TEST

START_TEST(test_getline_too_long_across_reads_with_small_buffer)
{
    /* The input buffer is exactly the line size: lines arrive over several
     * reads and the buffer is compacted in between. */
    int p[2];
    char buf[8], line[8];
    struct io_in in;
    PIPE_WITH(p, "ab\ncdefghij\nk\n", 1);
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 3);
    ck_assert_str_eq(line, "ab\n");
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), IO_TOOLONG);
    ck_assert_int_eq(io_skipline(&in, SOON()), 1);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 2);
    ck_assert_str_eq(line, "k\n");
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), IO_EOF);
}
END_TEST

START_TEST(test_getline_line_across_reads_with_small_buffer)
{
    int p[2];
    char buf[8], line[8];
    struct io_in in;
    PIPE_WITH(p, "abcde\nfghij\n", 1);
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 6);
    ck_assert_str_eq(line, "abcde\n");
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 6);
    ck_assert_str_eq(line, "fghij\n");
}
END_TEST

/* In place: the line where it lies in the buffer (moved to its front
 * when it would not fit), the same bound and results as io_getline. */
START_TEST(test_getline_at_in_place)
{
    int p[2];
    char buf[8], *line;
    struct io_in in;
    PIPE_WITH(p, "ab\ncdefg\nhijklmnop\nq", 1);
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_getline_at(&in, &line, 7, SOON()), 3);
    ck_assert_ptr_eq(line, buf);
    ck_assert_mem_eq(line, "ab\n", 3);
    ck_assert_int_eq(io_getline_at(&in, &line, 7, SOON()), 6);
    ck_assert(line >= buf && line + 6 <= buf + sizeof buf);
    ck_assert_mem_eq(line, "cdefg\n", 6);
    ck_assert_int_eq(io_getline_at(&in, &line, 7, SOON()), IO_TOOLONG);
    ck_assert_int_eq(io_skipline(&in, SOON()), 1);
    ck_assert_int_eq(io_getline_at(&in, &line, 7, SOON()), IO_EOF);
}
END_TEST

START_TEST(test_getline_partial_last_line_is_eof)
{
    int p[2];
    char buf[64], line[32];
    struct io_in in;
    PIPE_WITH(p, "whole\npartial", 1);
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 6);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), IO_EOF);
    ck_assert_uint_eq(io_buffered(&in), 0);
}
END_TEST

START_TEST(test_getline_deadline_is_etimedout)
{
    int p[2];
    char buf[64], line[32];
    struct io_in in;
    int64_t start;
    PIPE_WITH(p, "", 0);        /* a writer that never writes */
    io_in_init(&in, p[0], buf, sizeof buf);
    start = deadline_now();
    errno = 0;
    ck_assert_int_eq(io_getline(&in, line, sizeof line, deadline_in_ms(50)), IO_ERROR);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert(deadline_now() - start >= 45);
    ck_assert(deadline_now() - start < 1000);
    close(p[1]);
}
END_TEST

START_TEST(test_getline_deadline_with_partial_line)
{
    int p[2];
    char buf[64], line[32];
    struct io_in in;
    PIPE_WITH(p, "no line end", 0);
    io_in_init(&in, p[0], buf, sizeof buf);
    errno = 0;
    ck_assert_int_eq(io_getline(&in, line, sizeof line, deadline_in_ms(50)), IO_ERROR);
    ck_assert_int_eq(errno, ETIMEDOUT);
    /* the rest of the line, once it comes, still makes one line */
    ck_assert_int_eq(write(p[1], "!\n", 2), 2);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 13);
    ck_assert_str_eq(line, "no line end!\n");
    close(p[1]);
}
END_TEST

START_TEST(test_getline_past_deadline_still_takes_what_is_there)
{
    int p[2];
    char buf[64], line[32];
    struct io_in in;
    PIPE_WITH(p, "ready\n", 0);
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_getline(&in, line, sizeof line, deadline_now() - 10), 6);
    ck_assert_str_eq(line, "ready\n");
    close(p[1]);
}
END_TEST

START_TEST(test_skipline_at_eof)
{
    int p[2];
    char buf[64];
    struct io_in in;
    PIPE_WITH(p, "no end", 1);
    io_in_init(&in, p[0], buf, sizeof buf);
    ck_assert_int_eq(io_skipline(&in, SOON()), 0);
}
END_TEST

START_TEST(test_skipline_deadline)
{
    int p[2];
    char buf[64];
    struct io_in in;
    PIPE_WITH(p, "", 0);
    io_in_init(&in, p[0], buf, sizeof buf);
    errno = 0;
    ck_assert_int_eq(io_skipline(&in, deadline_in_ms(50)), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    close(p[1]);
}
END_TEST

START_TEST(test_reader_flushes_its_writer_before_reading)
{
    int a[2], b[2];
    char inbuf[64], outbuf[64], line[32], got[32];
    struct io_in in;
    struct io_out out;
    PIPE_WITH(a, "QUIT\r\n", 1);
    PIPE_WITH(b, "", 0);
    io_out_init(&out, b[1], outbuf, sizeof outbuf);
    ck_assert_int_eq(io_puts(&out, "250 ok\r\n", SOON()), 0);
    ck_assert_int_eq(read(b[0], got, sizeof got), -1);    /* still buffered */
    ck_assert_int_eq(errno, EAGAIN);
    io_in_init(&in, a[0], inbuf, sizeof inbuf);
    in.flush = &out;
    ck_assert_int_eq(io_getline(&in, line, sizeof line, SOON()), 6);
    ck_assert_int_eq(read(b[0], got, sizeof got), 8);
    ck_assert_mem_eq(got, "250 ok\r\n", 8);
    ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_put_buffers_until_flush)
{
    int p[2];
    char outbuf[16], got[64];
    struct io_out out;
    PIPE_WITH(p, "", 0);
    io_out_init(&out, p[1], outbuf, sizeof outbuf);
    ck_assert_int_eq(io_put(&out, "abc", 3, SOON()), 0);
    ck_assert_int_eq(io_put(&out, "def", 3, SOON()), 0);
    ck_assert_uint_eq(out.len, 6);
    ck_assert_int_eq(read(p[0], got, sizeof got), -1);
    ck_assert_int_eq(io_flush(&out, SOON()), 0);
    ck_assert_int_eq(read(p[0], got, sizeof got), 6);
    ck_assert_mem_eq(got, "abcdef", 6);
    ck_assert_int_eq(io_flush(&out, SOON()), 0);     /* nothing: no-op */
}
END_TEST

START_TEST(test_put_larger_than_buffer_keeps_order)
{
    int p[2];
    char outbuf[8], got[64];
    struct io_out out;
    const char *big = "0123456789ABCDEFGHIJ";
    PIPE_WITH(p, "", 0);
    io_out_init(&out, p[1], outbuf, sizeof outbuf);
    ck_assert_int_eq(io_put(&out, "ab", 2, SOON()), 0);
    ck_assert_int_eq(io_put(&out, big, 20, SOON()), 0);
    ck_assert_int_eq(io_put(&out, "yz", 2, SOON()), 0);
    ck_assert_int_eq(io_flush(&out, SOON()), 0);
    ck_assert_int_eq(read(p[0], got, sizeof got), 24);
    ck_assert_mem_eq(got, "ab0123456789ABCDEFGHIJyz", 24);
}
END_TEST

START_TEST(test_put_filling_buffer_exactly_then_more)
{
    int p[2];
    char outbuf[4], got[16];
    struct io_out out;
    PIPE_WITH(p, "", 0);
    io_out_init(&out, p[1], outbuf, sizeof outbuf);
    ck_assert_int_eq(io_put(&out, "abcd", 4, SOON()), 0);
    ck_assert_int_eq(io_put(&out, "e", 1, SOON()), 0);
    ck_assert_int_eq(io_flush(&out, SOON()), 0);
    ck_assert_int_eq(read(p[0], got, sizeof got), 5);
    ck_assert_mem_eq(got, "abcde", 5);
}
END_TEST

START_TEST(test_write_all_deadline_on_full_pipe)
{
    int p[2];
    static char junk[1 << 20];
    int64_t start;
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(io_nonblock(p[1]), 0);
    start = deadline_now();
    errno = 0;
    ck_assert_int_eq(io_write_all(p[1], junk, sizeof junk, deadline_in_ms(50)), -1);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert(deadline_now() - start >= 45);
    ck_assert(deadline_now() - start < 1000);
}
END_TEST

START_TEST(test_write_all_to_closed_reader_is_epipe)
{
    int p[2];
    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(pipe(p), 0);
    close(p[0]);
    errno = 0;
    ck_assert_int_eq(io_write_all(p[1], "x", 1, SOON()), -1);
    ck_assert_int_eq(errno, EPIPE);
}
END_TEST

START_TEST(test_wait_readable_and_timeout)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(io_wait(p[0], POLLIN, deadline_in_ms(30)), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(io_wait(p[0], POLLIN, deadline_in_ms(1000)), 1);
    ck_assert_int_eq(io_wait(p[1], POLLOUT, deadline_in_ms(1000)), 1);
}
END_TEST

START_TEST(test_nonblock_sets_flag_idempotently)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_eq(io_nonblock(p[0]), 0);
    ck_assert(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    ck_assert_int_eq(io_nonblock(p[0]), 0);
    ck_assert(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    ck_assert_int_eq(io_nonblock(-1), -1);
}
END_TEST

static Suite *io_suite(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("getline");
    tcase_add_test(tc, test_getline_lines_then_eof);
    tcase_add_test(tc, test_getline_leaves_the_rest_buffered);
    tcase_add_test(tc, test_getline_longest_line_fits);
    tcase_add_test(tc, test_getline_too_long_then_skipline);
    tcase_add_test(tc, test_getline_too_long_never_splits_into_two_lines);
    tcase_add_test(tc, test_getline_too_long_across_reads_with_small_buffer);
    tcase_add_test(tc, test_getline_line_across_reads_with_small_buffer);
    tcase_add_test(tc, test_getline_at_in_place);
    tcase_add_test(tc, test_getline_partial_last_line_is_eof);
    tcase_add_test(tc, test_getline_deadline_is_etimedout);
    tcase_add_test(tc, test_getline_deadline_with_partial_line);
    tcase_add_test(tc, test_getline_past_deadline_still_takes_what_is_there);
    tcase_add_test(tc, test_skipline_at_eof);
    tcase_add_test(tc, test_skipline_deadline);
    suite_add_tcase(s, tc);

    tc = tcase_create("output");
    tcase_add_test(tc, test_reader_flushes_its_writer_before_reading);
    tcase_add_test(tc, test_put_buffers_until_flush);
    tcase_add_test(tc, test_put_larger_than_buffer_keeps_order);
    tcase_add_test(tc, test_put_filling_buffer_exactly_then_more);
    tcase_add_test(tc, test_write_all_deadline_on_full_pipe);
    tcase_add_test(tc, test_write_all_to_closed_reader_is_epipe);
    tcase_add_test(tc, test_wait_readable_and_timeout);
    tcase_add_test(tc, test_nonblock_sets_flag_idempotently);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(io_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
