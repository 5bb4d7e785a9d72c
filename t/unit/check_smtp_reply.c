/* SMTP replies: line syntax, whole replies read over a pipe, formatting. */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "io.h"
#include "smtp_reply.h"

static int line(const char *s, int *code, int *last)
{
    return smtp_reply_line(s, strlen(s), code, last);
}

START_TEST(test_line_last_and_continued)
{
    int code = 0, last = -1;
    ck_assert_int_eq(line("250 ok", &code, &last), 0);
    ck_assert_int_eq(code, 250);
    ck_assert_int_eq(last, 1);
    ck_assert_int_eq(line("421-going away", &code, &last), 0);
    ck_assert_int_eq(code, 421);
    ck_assert_int_eq(last, 0);
}
END_TEST

START_TEST(test_line_code_alone_is_last)
{
    int code = 0, last = 0;
    ck_assert_int_eq(line("354", &code, &last), 0);
    ck_assert_int_eq(code, 354);
    ck_assert_int_eq(last, 1);
}
END_TEST

START_TEST(test_line_range_200_to_559)
{
    int code, last;
    ck_assert_int_eq(line("200 x", &code, &last), 0);
    ck_assert_int_eq(line("559 x", &code, &last), 0);
    ck_assert_int_eq(code, 559);
}
END_TEST

START_TEST(test_line_1xx_refused)
{
    int code, last;
    ck_assert_int_eq(line("199 x", &code, &last), -1);
    ck_assert_int_eq(line("100 x", &code, &last), -1);
    ck_assert_int_eq(line("000 x", &code, &last), -1);
}
END_TEST

START_TEST(test_line_6xx_and_above_refused)
{
    int code, last;
    ck_assert_int_eq(line("600 x", &code, &last), -1);
    ck_assert_int_eq(line("999 x", &code, &last), -1);
    ck_assert_int_eq(line("260 x", &code, &last), -1);
}
END_TEST

START_TEST(test_line_short_or_non_digit_refused)
{
    int code, last;
    ck_assert_int_eq(line("", &code, &last), -1);
    ck_assert_int_eq(line("25", &code, &last), -1);
    ck_assert_int_eq(line("2x0 ok", &code, &last), -1);
    ck_assert_int_eq(line("25x ok", &code, &last), -1);
    ck_assert_int_eq(line(" 250 ok", &code, &last), -1);
}
END_TEST

START_TEST(test_line_separator_must_be_space_or_hyphen)
{
    int code, last;
    ck_assert_int_eq(line("250ok", &code, &last), -1);
    ck_assert_int_eq(line("250\tok", &code, &last), -1);
    ck_assert_int_eq(line("2500 ok", &code, &last), -1);
    ck_assert_int_eq(line("250_ok", &code, &last), -1);
}
END_TEST

START_TEST(test_line_non_printable_text_refused)
{
    int code, last;
    ck_assert_int_eq(line("250 a\x01" "b", &code, &last), -1);
    ck_assert_int_eq(line("250 a\x7f", &code, &last), -1);
    ck_assert_int_eq(line("250 caf\xc3\xa9", &code, &last), -1);
    ck_assert_int_eq(line("250 a\rb", &code, &last), -1);
    ck_assert_int_eq(smtp_reply_line("250 a\0b", 7, &code, &last), -1);
    ck_assert_int_eq(line("250 a\tb", &code, &last), 0);
}
END_TEST

/* A pipe holding data, its writer closed: the read end, non-blocking. */
static int pipe_with(const char *data, size_t n, int close_writer, int *writer)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], data, n), (ssize_t)n);
    if (close_writer) close(p[1]);
    else *writer = p[1];
    ck_assert_int_eq(io_nonblock(p[0]), 0);
    return p[0];
}

static char inbuf[8192];

static int read_reply(const char *data, int crlf, struct smtp_reply *r)
{
    struct io_in in;
    int fd = pipe_with(data, strlen(data), 1, NULL), e;
    io_in_init(&in, fd, inbuf, sizeof inbuf);
    e = smtp_reply_read(&in, r, crlf, deadline_in_ms(2000));
    close(fd);
    return e;
}

START_TEST(test_read_single_line)
{
    struct smtp_reply r;
    ck_assert_int_eq(read_reply("250 2.0.0 ok\r\n", 1, &r), SMTP_REPLY_OK);
    ck_assert_int_eq(r.code, 250);
    ck_assert_uint_eq(r.lines, 1);
    ck_assert_str_eq(r.text, "250 2.0.0 ok\n");
    ck_assert_uint_eq(r.len, 13);
}
END_TEST

START_TEST(test_read_multi_line)
{
    struct smtp_reply r;
    ck_assert_int_eq(read_reply("250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n", 1, &r),
                     SMTP_REPLY_OK);
    ck_assert_int_eq(r.code, 250);
    ck_assert_uint_eq(r.lines, 3);
    ck_assert_str_eq(r.text, "250-mx.example\n250-PIPELINING\n250 8BITMIME\n");
}
END_TEST

START_TEST(test_read_stops_after_last_line)
{
    struct smtp_reply r;
    struct io_in in;
    int fd = pipe_with("220 hi\r\n250 next\r\n", 18, 1, NULL);
    io_in_init(&in, fd, inbuf, sizeof inbuf);
    ck_assert_int_eq(smtp_reply_read(&in, &r, 1, deadline_in_ms(2000)), SMTP_REPLY_OK);
    ck_assert_int_eq(r.code, 220);
    ck_assert_int_eq(smtp_reply_read(&in, &r, 1, deadline_in_ms(2000)), SMTP_REPLY_OK);
    ck_assert_int_eq(r.code, 250);
    ck_assert_str_eq(r.text, "250 next\n");
    ck_assert_int_eq(smtp_reply_read(&in, &r, 1, deadline_in_ms(2000)), SMTP_REPLY_EOF);
    close(fd);
}
END_TEST

START_TEST(test_read_mixed_codes_refused)
{
    struct smtp_reply r;
    ck_assert_int_eq(read_reply("250-a\r\n251 b\r\n", 1, &r), SMTP_REPLY_MALFORMED);
    ck_assert_int_eq(read_reply("250-a\r\n550 b\r\n", 1, &r), SMTP_REPLY_MALFORMED);
}
END_TEST

START_TEST(test_read_missing_cr_refused_when_crlf)
{
    struct smtp_reply r;
    ck_assert_int_eq(read_reply("250 ok\n", 1, &r), SMTP_REPLY_MALFORMED);
    ck_assert_int_eq(read_reply("250-a\r\n250 ok\n", 1, &r), SMTP_REPLY_MALFORMED);
    ck_assert_int_eq(read_reply("\n", 1, &r), SMTP_REPLY_MALFORMED);
}
END_TEST

START_TEST(test_read_missing_cr_accepted_from_local_pipe)
{
    struct smtp_reply r;
    ck_assert_int_eq(read_reply("250-a\n250 ok\r\n", 0, &r), SMTP_REPLY_OK);
    ck_assert_str_eq(r.text, "250-a\n250 ok\n");
}
END_TEST

START_TEST(test_read_bare_cr_inside_refused)
{
    struct smtp_reply r;
    ck_assert_int_eq(read_reply("250 a\rb\r\n", 1, &r), SMTP_REPLY_MALFORMED);
    ck_assert_int_eq(read_reply("250 a\r\r\n", 0, &r), SMTP_REPLY_MALFORMED);
}
END_TEST

START_TEST(test_read_empty_line_refused)
{
    struct smtp_reply r;
    ck_assert_int_eq(read_reply("\r\n", 1, &r), SMTP_REPLY_MALFORMED);
    ck_assert_int_eq(read_reply("250-a\r\n\r\n250 b\r\n", 1, &r), SMTP_REPLY_MALFORMED);
}
END_TEST

START_TEST(test_read_1xx_refused)
{
    struct smtp_reply r;
    ck_assert_int_eq(read_reply("150 wait\r\n", 1, &r), SMTP_REPLY_MALFORMED);
}
END_TEST

START_TEST(test_read_max_lines_accepted_one_more_refused)
{
    static char buf[8 * (SMTP_REPLY_LINES + 2)];
    struct smtp_reply r;
    size_t o = 0;
    unsigned i;
    for (i = 0; i < SMTP_REPLY_LINES - 1; i++) { memcpy(buf + o, "250-x\r\n", 7); o += 7; }
    memcpy(buf + o, "250 x\r\n", 8);
    ck_assert_int_eq(read_reply(buf, 1, &r), SMTP_REPLY_OK);
    ck_assert_uint_eq(r.lines, SMTP_REPLY_LINES);

    o = 0;
    for (i = 0; i < SMTP_REPLY_LINES; i++) { memcpy(buf + o, "250-x\r\n", 7); o += 7; }
    memcpy(buf + o, "250 x\r\n", 8);
    ck_assert_int_eq(read_reply(buf, 1, &r), SMTP_REPLY_MALFORMED);
}
END_TEST

START_TEST(test_read_longest_line_accepted_one_more_refused)
{
    static char buf[SMTP_REPLY_LINE_MAX + 8];
    struct smtp_reply r;
    /* SMTP_REPLY_LINE_MAX octets with the CRLF */
    memcpy(buf, "250 ", 4);
    memset(buf + 4, 'x', SMTP_REPLY_LINE_MAX - 6);
    memcpy(buf + SMTP_REPLY_LINE_MAX - 2, "\r\n", 3);
    ck_assert_int_eq(read_reply(buf, 1, &r), SMTP_REPLY_OK);
    ck_assert_uint_eq(r.len, SMTP_REPLY_LINE_MAX - 1);
    memset(buf + 4, 'x', SMTP_REPLY_LINE_MAX - 5);
    memcpy(buf + SMTP_REPLY_LINE_MAX - 1, "\r\n", 3);
    ck_assert_int_eq(read_reply(buf, 1, &r), SMTP_REPLY_MALFORMED);
}
END_TEST

START_TEST(test_read_total_size_bounded)
{
    /* lines of 500 octets: under the line limits, over SMTP_REPLY_MAX */
    enum { LINES = SMTP_REPLY_MAX / 500 + 2 };
    static char buf[LINES * 502 + 1];
    struct smtp_reply r;
    size_t o = 0;
    int i;
    ck_assert_int_le(LINES, SMTP_REPLY_LINES);
    for (i = 0; i < LINES; i++) {
        memcpy(buf + o, i == LINES - 1 ? "250 " : "250-", 4);
        memset(buf + o + 4, 'y', 496);
        memcpy(buf + o + 500, "\r\n", 2);
        o += 502;
    }
    buf[o] = 0;
    ck_assert_int_eq(read_reply(buf, 1, &r), SMTP_REPLY_MALFORMED);
    ck_assert(r.len < sizeof r.text);
}
END_TEST

START_TEST(test_format_cuts_lines_at_512_octets)
{
    struct smtp_reply r;
    char out[SMTP_REPLY_MAX * 2], text[901];
    size_t n;
    memset(text, 'z', 900);
    text[900] = 0;
    smtp_reply_set(&r, 550, text);
    n = smtp_reply_format(&r, 0, out, sizeof out);
    ck_assert_uint_eq(n, 512);
    ck_assert_mem_eq(out, "550 5.0.0 zzz", 13);
    ck_assert_mem_eq(out + 510, "\r\n", 2);
}
END_TEST

START_TEST(test_read_eof_before_and_inside_reply)
{
    struct smtp_reply r;
    ck_assert_int_eq(read_reply("", 1, &r), SMTP_REPLY_EOF);
    ck_assert_int_eq(read_reply("250-a\r\n", 1, &r), SMTP_REPLY_EOF);
    ck_assert_int_eq(read_reply("250 no line end", 1, &r), SMTP_REPLY_EOF);
}
END_TEST

START_TEST(test_read_deadline_gives_ioerr_etimedout)
{
    struct smtp_reply r;
    struct io_in in;
    int writer, fd = pipe_with("250-a\r\n", 7, 0, &writer);
    int64_t start = deadline_now();
    io_in_init(&in, fd, inbuf, sizeof inbuf);
    errno = 0;
    ck_assert_int_eq(smtp_reply_read(&in, &r, 1, deadline_in_ms(50)), SMTP_REPLY_IOERR);
    ck_assert_int_eq(errno, ETIMEDOUT);
    ck_assert(deadline_now() - start >= 45);
    ck_assert(deadline_now() - start < 1000);
    close(fd);
    close(writer);
}
END_TEST

START_TEST(test_set_one_line)
{
    struct smtp_reply r;
    smtp_reply_set(&r, 451, "4.3.0 try later");
    ck_assert_int_eq(r.code, 451);
    ck_assert_uint_eq(r.lines, 1);
    ck_assert_str_eq(r.text, "451 4.3.0 try later\n");
    ck_assert_uint_eq(r.len, strlen(r.text));
}
END_TEST

static size_t format(const char *text, int code, int override, char *out, size_t size)
{
    struct smtp_reply r;
    r.code = code;
    r.lines = 1;
    r.len = strlen(text);
    memcpy(r.text, text, r.len + 1);
    return smtp_reply_format(&r, override, out, size);
}

START_TEST(test_format_adds_enhanced_code_when_missing)
{
    char out[256];
    ck_assert_uint_eq(format("250 ok\n", 250, 0, out, sizeof out), 14);
    ck_assert_str_eq(out, "250 2.0.0 ok\r\n");
    format("451 later\n", 451, 0, out, sizeof out);
    ck_assert_str_eq(out, "451 4.0.0 later\r\n");
    format("554 no\n", 554, 0, out, sizeof out);
    ck_assert_str_eq(out, "554 5.0.0 no\r\n");
    format("354 go ahead\n", 354, 0, out, sizeof out);
    ck_assert_str_eq(out, "354 3.0.0 go ahead\r\n");
}
END_TEST

START_TEST(test_format_keeps_enhanced_code_when_present)
{
    char out[256];
    format("550 5.1.1 no such user\n", 550, 0, out, sizeof out);
    ck_assert_str_eq(out, "550 5.1.1 no such user\r\n");
    format("250 2.1.5\n", 250, 0, out, sizeof out);
    ck_assert_str_eq(out, "250 2.1.5\r\n");
    format("452 4.123.456 full\n", 452, 0, out, sizeof out);
    ck_assert_str_eq(out, "452 4.123.456 full\r\n");
}
END_TEST

START_TEST(test_format_replaces_enhanced_code_of_other_class)
{
    char out[256];
    format("550 2.1.5 ok\n", 550, 0, out, sizeof out);
    ck_assert_str_eq(out, "550 5.0.0 ok\r\n");
    format("250 5.1.1\n", 250, 0, out, sizeof out);
    ck_assert_str_eq(out, "250 2.0.0\r\n");
}
END_TEST

START_TEST(test_format_not_an_enhanced_code_is_text)
{
    char out[256];
    format("250 2.1.5x ok\n", 250, 0, out, sizeof out);
    ck_assert_str_eq(out, "250 2.0.0 2.1.5x ok\r\n");
    format("250 2.1234.5 ok\n", 250, 0, out, sizeof out);
    ck_assert_str_eq(out, "250 2.0.0 2.1234.5 ok\r\n");
    format("250 1.0.0 ok\n", 250, 0, out, sizeof out);
    ck_assert_str_eq(out, "250 2.0.0 1.0.0 ok\r\n");
}
END_TEST

START_TEST(test_format_code_override)
{
    char out[256];
    format("250 2.1.5 ok\n", 250, 451, out, sizeof out);
    ck_assert_str_eq(out, "451 4.0.0 ok\r\n");
    format("550 5.7.1 spam\n", 550, 554, out, sizeof out);
    ck_assert_str_eq(out, "554 5.7.1 spam\r\n");
}
END_TEST

START_TEST(test_format_multi_line_crlf_each_line)
{
    char out[256];
    struct smtp_reply r;
    strcpy(r.text, "250-mx\n250-5.0.0 odd\n250 2.0.0 done\n");
    r.len = strlen(r.text);
    r.code = 250;
    r.lines = 3;
    ck_assert_uint_eq(smtp_reply_format(&r, 0, out, sizeof out),
                      strlen("250-2.0.0 mx\r\n250-2.0.0 odd\r\n250 2.0.0 done\r\n"));
    ck_assert_str_eq(out, "250-2.0.0 mx\r\n250-2.0.0 odd\r\n250 2.0.0 done\r\n");
}
END_TEST

START_TEST(test_format_code_alone)
{
    char out[64];
    format("250\n", 250, 0, out, sizeof out);
    ck_assert_str_eq(out, "250 2.0.0\r\n");
}
END_TEST

START_TEST(test_format_reads_what_set_wrote)
{
    char out[64];
    struct smtp_reply r;
    smtp_reply_set(&r, 421, "service not available");
    smtp_reply_format(&r, 0, out, sizeof out);
    ck_assert_str_eq(out, "421 4.0.0 service not available\r\n");
}
END_TEST

START_TEST(test_format_out_too_small_gives_zero)
{
    char out[64];
    memset(out, 'Q', sizeof out);
    /* "250 2.0.0 ok\r\n" is 14 octets, 15 with the NUL */
    ck_assert_uint_eq(format("250 ok\n", 250, 0, out, 14), 0);
    ck_assert_int_eq(out[14], 'Q');
    ck_assert_uint_eq(format("250 ok\n", 250, 0, out, 15), 14);
    ck_assert_str_eq(out, "250 2.0.0 ok\r\n");
}
END_TEST

START_TEST(test_enhanced_code_length)
{
    ck_assert_int_eq(smtp_enhanced_code_length("2.0.0", 5), 5);
    ck_assert_int_eq(smtp_enhanced_code_length("5.7.1 x", 7), 5);
    ck_assert_int_eq(smtp_enhanced_code_length("4.123.456 x", 11), 9);
    ck_assert_int_eq(smtp_enhanced_code_length("6.0.0 x", 7), 0);
    ck_assert_int_eq(smtp_enhanced_code_length("2.0 x", 5), 0);
    ck_assert_int_eq(smtp_enhanced_code_length("2..0 x", 6), 0);
    ck_assert_int_eq(smtp_enhanced_code_length("2.0.0x", 6), 0);
    ck_assert_int_eq(smtp_enhanced_code_length("2.0.1234", 8), 0);
    ck_assert_int_eq(smtp_enhanced_code_length("20.0.0", 6), 0);
}
END_TEST

static Suite *reply_suite(void)
{
    Suite *s = suite_create("smtp_reply");
    TCase *tc = tcase_create("line");
    tcase_add_test(tc, test_line_last_and_continued);
    tcase_add_test(tc, test_line_code_alone_is_last);
    tcase_add_test(tc, test_line_range_200_to_559);
    tcase_add_test(tc, test_line_1xx_refused);
    tcase_add_test(tc, test_line_6xx_and_above_refused);
    tcase_add_test(tc, test_line_short_or_non_digit_refused);
    tcase_add_test(tc, test_line_separator_must_be_space_or_hyphen);
    tcase_add_test(tc, test_line_non_printable_text_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("read");
    tcase_add_test(tc, test_read_single_line);
    tcase_add_test(tc, test_read_multi_line);
    tcase_add_test(tc, test_read_stops_after_last_line);
    tcase_add_test(tc, test_read_mixed_codes_refused);
    tcase_add_test(tc, test_read_missing_cr_refused_when_crlf);
    tcase_add_test(tc, test_read_missing_cr_accepted_from_local_pipe);
    tcase_add_test(tc, test_read_bare_cr_inside_refused);
    tcase_add_test(tc, test_read_empty_line_refused);
    tcase_add_test(tc, test_read_1xx_refused);
    tcase_add_test(tc, test_read_max_lines_accepted_one_more_refused);
    tcase_add_test(tc, test_read_longest_line_accepted_one_more_refused);
    tcase_add_test(tc, test_read_total_size_bounded);
    tcase_add_test(tc, test_format_cuts_lines_at_512_octets);
    tcase_add_test(tc, test_read_eof_before_and_inside_reply);
    tcase_add_test(tc, test_read_deadline_gives_ioerr_etimedout);
    suite_add_tcase(s, tc);

    tc = tcase_create("format");
    tcase_add_test(tc, test_set_one_line);
    tcase_add_test(tc, test_format_adds_enhanced_code_when_missing);
    tcase_add_test(tc, test_format_keeps_enhanced_code_when_present);
    tcase_add_test(tc, test_format_replaces_enhanced_code_of_other_class);
    tcase_add_test(tc, test_format_not_an_enhanced_code_is_text);
    tcase_add_test(tc, test_format_code_override);
    tcase_add_test(tc, test_format_multi_line_crlf_each_line);
    tcase_add_test(tc, test_format_code_alone);
    tcase_add_test(tc, test_format_reads_what_set_wrote);
    tcase_add_test(tc, test_format_out_too_small_gives_zero);
    tcase_add_test(tc, test_enhanced_code_length);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reply_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
