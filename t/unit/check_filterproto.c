/* The filter line protocol: hello, verdicts, modifiers, field encoding. */
#include <check.h>
#include <string.h>

#include "filterproto.h"

static int hello_version;

static int hello(const char *s, unsigned *mask)
{
    return filterproto_parse_hello(s, strlen(s), mask, &hello_version);
}

static int parse(const char *s, struct filter_line *l)
{
    return filterproto_parse_line(s, strlen(s), l);
}

START_TEST(test_event_names)
{
    ck_assert_str_eq(filterproto_event_name(FILTER_CONNECT), "connect");
    ck_assert_str_eq(filterproto_event_name(FILTER_HELO), "helo");
    ck_assert_str_eq(filterproto_event_name(FILTER_TLS), "tls");
    ck_assert_str_eq(filterproto_event_name(FILTER_MAIL), "mail");
    ck_assert_str_eq(filterproto_event_name(FILTER_RCPT), "rcpt");
    ck_assert_str_eq(filterproto_event_name(FILTER_DATA), "data");
    ck_assert_str_eq(filterproto_event_name(FILTER_EOM), "eom");
    ck_assert_str_eq(filterproto_event_name(FILTER_RSET), "rset");
    ck_assert_str_eq(filterproto_event_name(FILTER_REPORT), "report");
    ck_assert_str_eq(filterproto_event_name(FILTER_EVENTS), "?");
}
END_TEST

START_TEST(test_hello_events_as_mask)
{
    unsigned m = 12345;
    ck_assert_int_eq(hello("filter 1 mail rcpt", &m), 0);
    ck_assert_uint_eq(m, 1u << FILTER_MAIL | 1u << FILTER_RCPT);
    ck_assert_int_eq(hello("filter 1 connect helo tls mail rcpt data eom rset report", &m), 0);
    ck_assert_uint_eq(m, (1u << FILTER_EVENTS) - 1);
}
END_TEST

START_TEST(test_hello_without_events)
{
    unsigned m = 12345;
    ck_assert_int_eq(hello("filter 1", &m), 0);
    ck_assert_uint_eq(m, 0);
}
END_TEST

START_TEST(test_hello_wrong_version_or_word)
{
    unsigned m = 7;
    ck_assert_int_eq(hello("filter 3 mail", &m), -1);
    ck_assert_int_eq(hello("filter 0 mail", &m), -1);
    ck_assert_int_eq(hello("filter 10", &m), -1);
    ck_assert_int_eq(hello("filter 1", &m), 0);
    ck_assert_int_eq(hello_version, 1);
    ck_assert_int_eq(hello("filter 2 eom", &m), 0);
    ck_assert_int_eq(hello_version, 2);
    ck_assert_uint_eq(m, 1u << FILTER_EOM);
    m = 7;
    ck_assert_int_eq(hello("filter", &m), -1);
    ck_assert_int_eq(hello("FILTER 1", &m), -1);
    ck_assert_int_eq(hello("filters 1", &m), -1);
    ck_assert_int_eq(hello("", &m), -1);
    ck_assert_uint_eq(m, 7);
}
END_TEST

START_TEST(test_hello_unknown_event_refused)
{
    unsigned m;
    ck_assert_int_eq(hello("filter 1 mail bogus", &m), -1);
    ck_assert_int_eq(hello("filter 1 MAIL", &m), -1);
    ck_assert_int_eq(hello("filter 1 events", &m), -1);
}
END_TEST

START_TEST(test_hello_extra_spaces_refused)
{
    unsigned m;
    ck_assert_int_eq(hello(" filter 1", &m), -1);
    ck_assert_int_eq(hello("filter  1", &m), -1);
    ck_assert_int_eq(hello("filter 1  mail", &m), -1);
    ck_assert_int_eq(hello("filter 1\tmail", &m), -1);
}
END_TEST

START_TEST(test_hello_trailing_space_refused)
{
    unsigned m;
    ck_assert_int_eq(hello("filter 1 mail ", &m), -1);
    ck_assert_int_eq(hello("filter 1 ", &m), -1);
}
END_TEST

START_TEST(test_hello_respects_length)
{
    unsigned m;
    ck_assert_int_eq(filterproto_parse_hello("filter 1 mail", 8, &m, &hello_version), 0);
    ck_assert_uint_eq(m, 0);
}
END_TEST

START_TEST(test_plain_verdicts)
{
    struct filter_line l;
    ck_assert_int_eq(parse("continue 1", &l), 0);
    ck_assert_int_eq(l.kind, FILTER_CONTINUE);
    ck_assert_uint_eq(l.token, 1);
    ck_assert_int_eq(parse("accept 42", &l), 0);
    ck_assert_int_eq(l.kind, FILTER_ACCEPT);
    ck_assert_uint_eq(l.token, 42);
    ck_assert_int_eq(parse("discard 4294967295", &l), 0);
    ck_assert_int_eq(l.kind, FILTER_DISCARD);
    ck_assert_uint_eq(l.token, 4294967295UL);
}
END_TEST

START_TEST(test_plain_verdicts_take_only_their_token)
{
    struct filter_line l;
    ck_assert_int_eq(parse("continue 1 now", &l), -1);
    ck_assert_int_eq(parse("accept 1 ", &l), -1);
    ck_assert_int_eq(parse("discard 1 2", &l), -1);
}
END_TEST

START_TEST(test_verdict_without_a_valid_token_refused)
{
    struct filter_line l;
    ck_assert_int_eq(parse("continue", &l), -1);
    ck_assert_int_eq(parse("continue ", &l), -1);
    ck_assert_int_eq(parse("continue now", &l), -1);
    ck_assert_int_eq(parse("accept -1", &l), -1);
    ck_assert_int_eq(parse("accept 4294967296", &l), -1);
    ck_assert_int_eq(parse("reject 550 5.7.1 no token", &l), -1);
    ck_assert_int_eq(parse("tempfail 451", &l), -1);
    ck_assert_int_eq(parse("reject x 550", &l), -1);
}
END_TEST

START_TEST(test_unknown_or_misspelt_verdict_refused)
{
    struct filter_line l;
    ck_assert_int_eq(parse("", &l), -1);
    ck_assert_int_eq(parse("Continue", &l), -1);
    ck_assert_int_eq(parse("ACCEPT", &l), -1);
    ck_assert_int_eq(parse("ok", &l), -1);
    ck_assert_int_eq(parse(" continue", &l), -1);
    ck_assert_int_eq(parse("continu", &l), -1);
}
END_TEST

START_TEST(test_reject_with_text)
{
    struct filter_line l;
    ck_assert_int_eq(parse("reject 7 550 5.7.1 spam detected", &l), 0);
    ck_assert_int_eq(l.kind, FILTER_REJECT);
    ck_assert_int_eq(l.code, 550);
    ck_assert_uint_eq(l.textlen, 19);
    ck_assert_mem_eq(l.text, "5.7.1 spam detected", 19);
}
END_TEST

START_TEST(test_reject_without_text)
{
    struct filter_line l;
    ck_assert_int_eq(parse("reject 7 554", &l), 0);
    ck_assert_int_eq(l.code, 554);
    ck_assert_uint_eq(l.textlen, 0);
}
END_TEST

START_TEST(test_tempfail_with_text)
{
    struct filter_line l;
    ck_assert_int_eq(parse("tempfail 7 451 greylisted, try later", &l), 0);
    ck_assert_int_eq(l.kind, FILTER_TEMPFAIL);
    ck_assert_int_eq(l.code, 451);
    ck_assert_uint_eq(l.textlen, strlen("greylisted, try later"));
    ck_assert_mem_eq(l.text, "greylisted, try later", l.textlen);
}
END_TEST

START_TEST(test_reject_code_range)
{
    struct filter_line l;
    ck_assert_int_eq(parse("reject 7 500 x", &l), 0);
    ck_assert_int_eq(parse("reject 7 599 x", &l), 0);
    ck_assert_int_eq(parse("reject 7 499 x", &l), -1);
    ck_assert_int_eq(parse("reject 7 600 x", &l), -1);
    ck_assert_int_eq(parse("reject 7 250 x", &l), -1);
    ck_assert_int_eq(parse("reject 7 050 x", &l), -1);
}
END_TEST

START_TEST(test_tempfail_code_range)
{
    struct filter_line l;
    ck_assert_int_eq(parse("tempfail 7 400 x", &l), 0);
    ck_assert_int_eq(parse("tempfail 7 499 x", &l), 0);
    ck_assert_int_eq(parse("tempfail 7 399 x", &l), -1);
    ck_assert_int_eq(parse("tempfail 7 500 x", &l), -1);
    ck_assert_int_eq(parse("tempfail 7 550", &l), -1);
}
END_TEST

START_TEST(test_verdict_code_malformed)
{
    struct filter_line l;
    ck_assert_int_eq(parse("reject", &l), -1);
    ck_assert_int_eq(parse("reject 7 ", &l), -1);
    ck_assert_int_eq(parse("reject 7 55", &l), -1);
    ck_assert_int_eq(parse("reject 7 55 x", &l), -1);
    ck_assert_int_eq(parse("reject 7 5500 x", &l), -1);
    ck_assert_int_eq(parse("reject 7 550x", &l), -1);
    ck_assert_int_eq(parse("reject 7 +50 x", &l), -1);
    ck_assert_int_eq(parse("reject 7 -550 x", &l), -1);
    ck_assert_int_eq(parse("reject 7  550 x", &l), -1);
    ck_assert_int_eq(parse("tempfail 7 abc x", &l), -1);
}
END_TEST

START_TEST(test_verdict_trailing_space_refused)
{
    struct filter_line l;
    ck_assert_int_eq(parse("reject 7 550 ", &l), -1);
    ck_assert_int_eq(parse("tempfail 7 451 ", &l), -1);
}
END_TEST

START_TEST(test_verdict_text_with_control_chars_refused)
{
    struct filter_line l;
    ck_assert_int_eq(parse("reject 7 550 a\tb", &l), -1);
    ck_assert_int_eq(parse("reject 7 550 a\rb", &l), -1);
    ck_assert_int_eq(parse("reject 7 550 a\x7f", &l), -1);
    ck_assert_int_eq(parse("reject 7 550 caf\xc3\xa9", &l), -1);
    ck_assert_int_eq(filterproto_parse_line("reject 7 550 a\0b", 16, &l), -1);
    ck_assert_int_eq(parse("tempfail 7 451 a\nb", &l), -1);
}
END_TEST

START_TEST(test_verdict_text_length_limit)
{
    char buf[512];
    struct filter_line l;
    memcpy(buf, "reject 7 550 ", 13);
    memset(buf + 13, 'x', 400);
    buf[413] = 0;
    ck_assert_int_eq(parse(buf, &l), 0);
    ck_assert_uint_eq(l.textlen, 400);
    buf[413] = 'x';
    buf[414] = 0;
    ck_assert_int_eq(parse(buf, &l), -1);
}
END_TEST

START_TEST(test_score_values)
{
    struct filter_line l;
    ck_assert_int_eq(parse("score 5", &l), 0);
    ck_assert_int_eq(l.kind, FILTER_SCORE);
    ck_assert_int_eq(l.score, 5);
    ck_assert_int_eq(parse("score -12", &l), 0);
    ck_assert_int_eq(l.score, -12);
    ck_assert_int_eq(parse("score +3", &l), 0);
    ck_assert_int_eq(l.score, 3);
    ck_assert_int_eq(parse("score 0", &l), 0);
    ck_assert_int_eq(l.score, 0);
    ck_assert_int_eq(parse("score 1000000", &l), 0);
    ck_assert_int_eq(l.score, FILTERPROTO_SCORE_MAX);
    ck_assert_int_eq(parse("score -1000000", &l), 0);
    ck_assert_int_eq(l.score, -FILTERPROTO_SCORE_MAX);
}
END_TEST

START_TEST(test_score_out_of_range_or_malformed)
{
    struct filter_line l;
    ck_assert_int_eq(parse("score 1000001", &l), -1);
    ck_assert_int_eq(parse("score -1000001", &l), -1);
    ck_assert_int_eq(parse("score 99999999999999999999", &l), -1);
    ck_assert_int_eq(parse("score", &l), -1);
    ck_assert_int_eq(parse("score ", &l), -1);
    ck_assert_int_eq(parse("score x", &l), -1);
    ck_assert_int_eq(parse("score 1.5", &l), -1);
    ck_assert_int_eq(parse("score -", &l), -1);
    ck_assert_int_eq(parse("score 5 6", &l), -1);
    ck_assert_int_eq(parse("score 5 ", &l), -1);
    ck_assert_int_eq(parse("score  5", &l), -1);
}
END_TEST

START_TEST(test_class_charset)
{
    struct filter_line l;
    ck_assert_int_eq(parse("class Staff.in_house-2", &l), 0);
    ck_assert_int_eq(l.kind, FILTER_CLASS);
    ck_assert_str_eq(l.name, "Staff.in_house-2");
    ck_assert_int_eq(parse("class a/b", &l), -1);
    ck_assert_int_eq(parse("class a+b", &l), -1);
    ck_assert_int_eq(parse("class a:b", &l), -1);
    ck_assert_int_eq(parse("class caf\xc3\xa9", &l), -1);
    ck_assert_int_eq(parse("class", &l), -1);
    ck_assert_int_eq(parse("class a b", &l), -1);
    ck_assert_int_eq(parse("class a ", &l), -1);
}
END_TEST

START_TEST(test_class_length_limit)
{
    char buf[64];
    struct filter_line l;
    memcpy(buf, "class ", 6);
    memset(buf + 6, 'c', FILTERPROTO_CLASS_MAX);
    buf[6 + FILTERPROTO_CLASS_MAX] = 0;
    ck_assert_int_eq(parse(buf, &l), 0);
    ck_assert_uint_eq(strlen(l.name), FILTERPROTO_CLASS_MAX);
    buf[6 + FILTERPROTO_CLASS_MAX] = 'c';
    buf[7 + FILTERPROTO_CLASS_MAX] = 0;
    ck_assert_int_eq(parse(buf, &l), -1);
}
END_TEST

START_TEST(test_header_name_and_decoded_value)
{
    struct filter_line l;
    ck_assert_int_eq(parse("header X-Spam-Score 5.2+20(threshold+205)", &l), 0);
    ck_assert_int_eq(l.kind, FILTER_HEADER);
    ck_assert_str_eq(l.name, "X-Spam-Score");
    ck_assert_uint_eq(l.valuelen, 17);
    ck_assert_str_eq(l.value, "5.2 (threshold 5)");
}
END_TEST

START_TEST(test_header_folded_value_allowed)
{
    struct filter_line l;
    ck_assert_int_eq(parse("header X-Long a+0D+0A+20b+0D+0A+09c", &l), 0);
    ck_assert_str_eq(l.value, "a\r\n b\r\n\tc");
    ck_assert_uint_eq(l.valuelen, 9);
}
END_TEST

START_TEST(test_header_bare_cr_or_lf_in_value_refused)
{
    struct filter_line l;
    ck_assert_int_eq(parse("header X-A a+0Ab", &l), -1);
    ck_assert_int_eq(parse("header X-A a+0Db", &l), -1);
    ck_assert_int_eq(parse("header X-A a+0D+0Ab", &l), -1);     /* not folded */
    ck_assert_int_eq(parse("header X-A a+0D+0A", &l), -1);      /* ends the field */
    ck_assert_int_eq(parse("header X-A a+0A+20b", &l), -1);
    ck_assert_int_eq(parse("header X-A a+00b", &l), -1);
    ck_assert_int_eq(parse("header X-A caf+C3+A9", &l), -1);
}
END_TEST

START_TEST(test_header_bad_name_refused)
{
    struct filter_line l;
    ck_assert_int_eq(parse("header X:A v", &l), -1);
    ck_assert_int_eq(parse("header X\x7f v", &l), -1);
    ck_assert_int_eq(parse("header X\xc3\xa9 v", &l), -1);
    ck_assert_int_eq(parse("header", &l), -1);
    ck_assert_int_eq(parse("header X-A", &l), -1);
    ck_assert_int_eq(parse("header X-A ", &l), -1);
}
END_TEST

START_TEST(test_header_name_length_limit)
{
    char buf[128];
    struct filter_line l;
    memcpy(buf, "header ", 7);
    memset(buf + 7, 'N', FILTERPROTO_HEADER_NAME_MAX);
    strcpy(buf + 7 + FILTERPROTO_HEADER_NAME_MAX, " v");
    ck_assert_int_eq(parse(buf, &l), 0);
    ck_assert_uint_eq(strlen(l.name), FILTERPROTO_HEADER_NAME_MAX);
    memset(buf + 7, 'N', FILTERPROTO_HEADER_NAME_MAX + 1);
    strcpy(buf + 8 + FILTERPROTO_HEADER_NAME_MAX, " v");
    ck_assert_int_eq(parse(buf, &l), -1);
}
END_TEST

START_TEST(test_header_malformed_xtext_refused)
{
    struct filter_line l;
    ck_assert_int_eq(parse("header X-A a+2b", &l), -1);
    ck_assert_int_eq(parse("header X-A a=b", &l), -1);
    ck_assert_int_eq(parse("header X-A a+2", &l), -1);
}
END_TEST

START_TEST(test_header_extra_spaces_refused)
{
    struct filter_line l;
    ck_assert_int_eq(parse("header  X-A v", &l), -1);
    ck_assert_int_eq(parse("header X-A  v", &l), -1);
    ck_assert_int_eq(parse("header X-A v w", &l), -1);
    ck_assert_int_eq(parse("header X-A v ", &l), -1);
}
END_TEST

START_TEST(test_header_value_too_long_refused)
{
    static char buf[FILTERPROTO_HEADER_VALUE_MAX * 3 + 64];
    struct filter_line l;
    size_t o, i;
    /* FILTERPROTO_HEADER_VALUE_MAX bytes folded every 60: fits */
    strcpy(buf, "header X-A ");
    o = strlen(buf);
    for (i = 0; i < FILTERPROTO_HEADER_VALUE_MAX; i++) {
        if (i && i % 60 == 0 && i + 3 < FILTERPROTO_HEADER_VALUE_MAX) {
            memcpy(buf + o, "+0D+0A+20", 9);
            o += 9;
            i += 2;
        } else {
            buf[o++] = 'v';
        }
    }
    buf[o] = 0;
    ck_assert_int_eq(parse(buf, &l), 0);
    ck_assert_uint_eq(l.valuelen, FILTERPROTO_HEADER_VALUE_MAX);
    strcpy(buf + o, "v");
    ck_assert_int_eq(parse(buf, &l), -1);
}
END_TEST

START_TEST(test_field_null_is_dash)
{
    char buf[32] = "mail";
    size_t len = 4;
    ck_assert_int_eq(filterproto_field(buf, sizeof buf, &len, NULL, 0), 0);
    ck_assert_str_eq(buf, "mail -");
    ck_assert_uint_eq(len, 6);
}
END_TEST

START_TEST(test_field_literal_dash_is_escaped)
{
    char buf[32] = "helo";
    size_t len = 4;
    ck_assert_int_eq(filterproto_field(buf, sizeof buf, &len, "-", 1), 0);
    ck_assert_str_eq(buf, "helo +2D");
    ck_assert_uint_eq(len, 8);
}
END_TEST

START_TEST(test_field_xtext_encoded)
{
    char buf[64] = "rcpt";
    size_t len = 4;
    ck_assert_int_eq(filterproto_field(buf, sizeof buf, &len, "a b+c\r\n", 7), 0);
    ck_assert_int_eq(filterproto_field(buf, sizeof buf, &len, "x@y", 3), 0);
    ck_assert_str_eq(buf, "rcpt a+20b+2Bc+0D+0A x@y");
    ck_assert_uint_eq(len, strlen(buf));
}
END_TEST

START_TEST(test_field_dash_inside_longer_field_not_escaped)
{
    char buf[32] = "";
    size_t len = 0;
    ck_assert_int_eq(filterproto_field(buf, sizeof buf, &len, "--", 2), 0);
    ck_assert_str_eq(buf, " --");
}
END_TEST

START_TEST(test_field_empty_refused)
{
    char buf[32] = "x";
    size_t len = 1;
    ck_assert_int_eq(filterproto_field(buf, sizeof buf, &len, "", 0), -1);
    ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(test_field_exact_fit)
{
    /* "x -", "x y" and "x +2D" each fit in their length plus the NUL. */
    char buf[16];
    size_t len;
    strcpy(buf, "x");
    len = 1;
    ck_assert_int_eq(filterproto_field(buf, 4, &len, NULL, 0), 0);
    ck_assert_str_eq(buf, "x -");
    strcpy(buf, "x");
    len = 1;
    ck_assert_int_eq(filterproto_field(buf, 4, &len, "y", 1), 0);
    ck_assert_str_eq(buf, "x y");
    strcpy(buf, "x");
    len = 1;
    ck_assert_int_eq(filterproto_field(buf, 6, &len, "-", 1), 0);
    ck_assert_str_eq(buf, "x +2D");
}
END_TEST

START_TEST(test_field_too_small_refused)
{
    char buf[16];
    size_t len;
    strcpy(buf, "x");
    len = 1;
    ck_assert_int_eq(filterproto_field(buf, 3, &len, NULL, 0), -1);
    ck_assert_uint_eq(len, 1);
    ck_assert_int_eq(filterproto_field(buf, 3, &len, "y", 1), -1);
    ck_assert_int_eq(filterproto_field(buf, 5, &len, "-", 1), -1);
    ck_assert_int_eq(filterproto_field(buf, 5, &len, " ", 1), -1);
    ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(test_field_decode_dash_is_absent)
{
    char out[16] = "junk";
    int absent = 0;
    ck_assert_int_eq(filterproto_field_decode(out, sizeof out, "-", 1, &absent), 0);
    ck_assert_int_eq(absent, 1);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_field_decode_escaped_dash_is_a_dash)
{
    char out[16];
    int absent = 1;
    ck_assert_int_eq(filterproto_field_decode(out, sizeof out, "+2D", 3, &absent), 1);
    ck_assert_int_eq(absent, 0);
    ck_assert_str_eq(out, "-");
}
END_TEST

START_TEST(test_field_decode_malformed)
{
    char out[16];
    int absent;
    ck_assert_int_eq(filterproto_field_decode(out, sizeof out, "a+2d", 4, &absent), -1);
    ck_assert_int_eq(filterproto_field_decode(out, sizeof out, "a b", 3, &absent), -1);
    ck_assert_int_eq(absent, 0);
}
END_TEST

START_TEST(test_field_round_trip)
{
    static const struct { const char *s; size_t n; } t[] = {
        { NULL, 0 }, { "-", 1 }, { "--", 2 }, { "+", 1 }, { "user@example.com", 16 },
        { "a b\r\n.\r\n", 9 }, { "\0\xff", 2 }, { "=", 1 },
    };
    size_t i;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        char buf[64], out[64];
        size_t len = 0;
        int absent = -1;
        ssize_t d;
        ck_assert_int_eq(filterproto_field(buf, sizeof buf, &len, t[i].s, t[i].n), 0);
        ck_assert_int_eq(buf[0], ' ');
        d = filterproto_field_decode(out, sizeof out, buf + 1, len - 1, &absent);
        ck_assert_int_eq(absent, t[i].s == NULL);
        ck_assert_int_eq(d, (long)t[i].n);
        if (t[i].n) ck_assert_mem_eq(out, t[i].s, t[i].n);
    }
}
END_TEST

static Suite *filterproto_suite(void)
{
    Suite *s = suite_create("filterproto");
    TCase *tc = tcase_create("hello");
    tcase_add_test(tc, test_event_names);
    tcase_add_test(tc, test_hello_events_as_mask);
    tcase_add_test(tc, test_hello_without_events);
    tcase_add_test(tc, test_hello_wrong_version_or_word);
    tcase_add_test(tc, test_hello_unknown_event_refused);
    tcase_add_test(tc, test_hello_extra_spaces_refused);
    tcase_add_test(tc, test_hello_trailing_space_refused);
    tcase_add_test(tc, test_hello_respects_length);
    suite_add_tcase(s, tc);

    tc = tcase_create("verdict");
    tcase_add_test(tc, test_plain_verdicts);
    tcase_add_test(tc, test_plain_verdicts_take_only_their_token);
    tcase_add_test(tc, test_verdict_without_a_valid_token_refused);
    tcase_add_test(tc, test_unknown_or_misspelt_verdict_refused);
    tcase_add_test(tc, test_reject_with_text);
    tcase_add_test(tc, test_reject_without_text);
    tcase_add_test(tc, test_tempfail_with_text);
    tcase_add_test(tc, test_reject_code_range);
    tcase_add_test(tc, test_tempfail_code_range);
    tcase_add_test(tc, test_verdict_code_malformed);
    tcase_add_test(tc, test_verdict_trailing_space_refused);
    tcase_add_test(tc, test_verdict_text_with_control_chars_refused);
    tcase_add_test(tc, test_verdict_text_length_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("modifier");
    tcase_add_test(tc, test_score_values);
    tcase_add_test(tc, test_score_out_of_range_or_malformed);
    tcase_add_test(tc, test_class_charset);
    tcase_add_test(tc, test_class_length_limit);
    tcase_add_test(tc, test_header_name_and_decoded_value);
    tcase_add_test(tc, test_header_folded_value_allowed);
    tcase_add_test(tc, test_header_bare_cr_or_lf_in_value_refused);
    tcase_add_test(tc, test_header_bad_name_refused);
    tcase_add_test(tc, test_header_name_length_limit);
    tcase_add_test(tc, test_header_malformed_xtext_refused);
    tcase_add_test(tc, test_header_extra_spaces_refused);
    tcase_add_test(tc, test_header_value_too_long_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("field");
    tcase_add_test(tc, test_field_null_is_dash);
    tcase_add_test(tc, test_field_literal_dash_is_escaped);
    tcase_add_test(tc, test_field_xtext_encoded);
    tcase_add_test(tc, test_field_dash_inside_longer_field_not_escaped);
    tcase_add_test(tc, test_field_empty_refused);
    tcase_add_test(tc, test_field_exact_fit);
    tcase_add_test(tc, test_field_too_small_refused);
    tcase_add_test(tc, test_field_decode_dash_is_absent);
    tcase_add_test(tc, test_field_decode_escaped_dash_is_a_dash);
    tcase_add_test(tc, test_field_decode_malformed);
    tcase_add_test(tc, test_field_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(filterproto_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
