/* Header fields a program adds: names, values, folding, line length. */
#include <check.h>
#include <string.h>

#include "header.h"

#define NAME(lit) header_name_valid(lit, sizeof lit - 1)
#define VALUE(lit) header_value_valid(lit, sizeof lit - 1)
#define FIELD(lit) header_field_valid(lit, sizeof lit - 1)

START_TEST(test_name_printable_without_colon)
{
    ck_assert(NAME("Subject"));
    ck_assert(NAME("X-Spam-Status"));
    ck_assert(NAME("!#$%&'*+-/=?^_`{|}~"));
    ck_assert(!NAME(""));
    ck_assert(!NAME("X:Y"));
    ck_assert(!NAME("X Y"));
    ck_assert(!NAME("X\tY"));
    ck_assert(!NAME("X\x7f"));
    ck_assert(!NAME("X\x80"));
    ck_assert(!NAME("caf\xc3\xa9"));
    ck_assert(!header_name_valid("X\0Y", 3));
}
END_TEST

START_TEST(test_name_length_limit)
{
    char n[HEADER_NAME_MAX + 1];
    memset(n, 'N', sizeof n);
    ck_assert(header_name_valid(n, HEADER_NAME_MAX));
    ck_assert(!header_name_valid(n, HEADER_NAME_MAX + 1));
}
END_TEST

START_TEST(test_value_printable_and_tab)
{
    ck_assert(VALUE(" plain text"));
    ck_assert(VALUE("\ttabbed"));
    ck_assert(VALUE(""));
    ck_assert(!VALUE("a\x01"));
    ck_assert(!VALUE("a\x7f"));
    ck_assert(!VALUE("caf\xc3\xa9"));
    ck_assert(!header_value_valid("a\0b", 3));
}
END_TEST

START_TEST(test_value_folding_allowed)
{
    ck_assert(VALUE("a\r\n b"));
    ck_assert(VALUE("a\r\n\tb"));
    ck_assert(VALUE("a\r\n b\r\n c"));
    ck_assert(VALUE("\r\n b"));
}
END_TEST

START_TEST(test_value_bare_cr_or_lf_refused)
{
    ck_assert(!VALUE("a\rb"));
    ck_assert(!VALUE("a\nb"));
    ck_assert(!VALUE("a\n b"));
    ck_assert(!VALUE("a\r b"));
    ck_assert(!VALUE("a\r"));
    ck_assert(!VALUE("a\n"));
    ck_assert(!VALUE("a\r\r\n b"));
}
END_TEST

START_TEST(test_value_crlf_not_followed_by_whitespace_refused)
{
    ck_assert(!VALUE("a\r\nb"));
    ck_assert(!VALUE("a\r\n"));
    ck_assert(!VALUE("a\r\nX-Injected: yes"));
    ck_assert(!VALUE("a\r\n\r\n body"));
}
END_TEST

START_TEST(test_value_line_length_limit)
{
    static char v[2 * HEADER_LINE_MAX + 8];
    memset(v, 'v', HEADER_LINE_MAX + 1);
    ck_assert(header_value_valid(v, HEADER_LINE_MAX));
    ck_assert(!header_value_valid(v, HEADER_LINE_MAX + 1));
    /* folding starts a new line: two lines of HEADER_LINE_MAX */
    memset(v, 'v', sizeof v);
    memcpy(v + HEADER_LINE_MAX, "\r\n ", 3);
    ck_assert(header_value_valid(v, 2 * HEADER_LINE_MAX + 2));
    ck_assert(!header_value_valid(v, 2 * HEADER_LINE_MAX + 3));
}
END_TEST

START_TEST(test_field_name_colon_value)
{
    ck_assert(FIELD("Subject: hello"));
    ck_assert(FIELD("X-A:"));
    ck_assert(FIELD("X-A: a\r\n b"));
    ck_assert(!FIELD("Subject hello"));
    ck_assert(!FIELD(": hello"));
    ck_assert(!FIELD("Sub ject: hello"));
    ck_assert(!FIELD("X-A: a\r\nX-B: b"));
    ck_assert(!FIELD("X-A: a\n"));
}
END_TEST

START_TEST(test_field_first_line_counts_the_name)
{
    /* RFC 5322 2.1.1: a line is at most 998 characters, and the first
     * line of a field holds its name and colon too. */
    static char f[HEADER_LINE_MAX + 8];
    memcpy(f, "X:", 2);
    memset(f + 2, 'v', sizeof f - 2);
    ck_assert(header_field_valid(f, HEADER_LINE_MAX));
    ck_assert(!header_field_valid(f, HEADER_LINE_MAX + 1));
}
END_TEST

static Suite *header_suite(void)
{
    Suite *s = suite_create("header");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_name_printable_without_colon);
    tcase_add_test(tc, test_name_length_limit);
    tcase_add_test(tc, test_value_printable_and_tab);
    tcase_add_test(tc, test_value_folding_allowed);
    tcase_add_test(tc, test_value_bare_cr_or_lf_refused);
    tcase_add_test(tc, test_value_crlf_not_followed_by_whitespace_refused);
    tcase_add_test(tc, test_value_line_length_limit);
    tcase_add_test(tc, test_field_name_colon_value);
    tcase_add_test(tc, test_field_first_line_counts_the_name);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(header_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
