/* Status texts: defaults, replacement through SMTP_TEXT_<NAME>, refusal
 * of anything but printable ASCII, naming the bad entry. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "statustext.h"

START_TEST(test_expand)
{
    const char *const values[] = { "192.0.2.1", "a.example" };
    char out[64], small[8];
    ck_assert_uint_eq(statustext_expand("%a in %z, 100%% (%x) %", "az", values, out, sizeof out), 35);
    ck_assert_str_eq(out, "192.0.2.1 in a.example, 100% (%x) %");
    /* cut, never past the buffer, always terminated */
    ck_assert_uint_eq(statustext_expand("%a%z", "az", values, small, sizeof small), 7);
    ck_assert_str_eq(small, "192.0.2");
    ck_assert_uint_eq(statustext_expand("", "az", values, small, sizeof small), 0);
    ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(test_valid_printable_text)
{
    const char *why = NULL;
    ck_assert_int_eq(statustext_valid("Too many recipients", &why), 1);
    ck_assert_int_eq(statustext_valid(" ~!", &why), 1);
    ck_assert_ptr_null(why);
}
END_TEST

START_TEST(test_valid_refuses_empty)
{
    const char *why = NULL;
    ck_assert_int_eq(statustext_valid("", &why), 0);
    ck_assert_str_eq(why, "is empty");
}
END_TEST

START_TEST(test_valid_refuses_non_ascii)
{
    const char *why = NULL;
    ck_assert_int_eq(statustext_valid("caf\xc3\xa9", &why), 0);
    ck_assert_str_eq(why, "has a non-ASCII byte");
    why = NULL;
    ck_assert_int_eq(statustext_valid("a\x7f", &why), 0);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_valid_refuses_control_characters)
{
    const char *why = NULL;
    ck_assert_int_eq(statustext_valid("a\tb", &why), 0);
    ck_assert_str_eq(why, "has a control character");
    ck_assert_int_eq(statustext_valid("a\r\n250 ok", &why), 0);
    ck_assert_str_eq(why, "has a control character");
}
END_TEST

START_TEST(test_valid_length_limit)
{
    char s[STATUSTEXT_MAX + 2];
    const char *why = NULL;
    memset(s, 'x', STATUSTEXT_MAX);
    s[STATUSTEXT_MAX] = 0;
    ck_assert_int_eq(statustext_valid(s, &why), 1);
    s[STATUSTEXT_MAX] = 'x';
    s[STATUSTEXT_MAX + 1] = 0;
    ck_assert_int_eq(statustext_valid(s, &why), 0);
    ck_assert_str_eq(why, "is longer than 400 characters");
}
END_TEST

START_TEST(test_load_keeps_defaults_without_variables)
{
    struct statustext t[] = { { "UNIT_A", "default a" }, { "UNIT_B", "default b" } };
    const char *why = NULL;
    unsetenv("SMTP_TEXT_UNIT_A");
    unsetenv("SMTP_TEXT_UNIT_B");
    ck_assert_int_eq(statustext_load(t, 2, &why), -1);
    ck_assert_str_eq(t[0].text, "default a");
    ck_assert_str_eq(t[1].text, "default b");
}
END_TEST

START_TEST(test_load_replaces_from_environment)
{
    struct statustext t[] = { { "UNIT_A", "default a" }, { "UNIT_B", "default b" } };
    const char *why = NULL;
    setenv("SMTP_TEXT_UNIT_B", "Mailbox on holiday", 1);
    unsetenv("SMTP_TEXT_UNIT_A");
    ck_assert_int_eq(statustext_load(t, 2, &why), -1);
    ck_assert_str_eq(t[0].text, "default a");
    ck_assert_str_eq(t[1].text, "Mailbox on holiday");
}
END_TEST

START_TEST(test_load_names_the_entry_with_a_byte_over_126)
{
    struct statustext t[] = {
        { "UNIT_A", "default a" }, { "UNIT_X", "default x" }, { "UNIT_C", "default c" },
    };
    const char *why = NULL;
    unsetenv("SMTP_TEXT_UNIT_A");
    setenv("SMTP_TEXT_UNIT_X", "Adresse inconnue \xe9t\xe9", 1);
    setenv("SMTP_TEXT_UNIT_C", "fine", 1);
    ck_assert_int_eq(statustext_load(t, 3, &why), 1);
    ck_assert_str_eq(why, "has a non-ASCII byte");
    ck_assert_str_eq(t[1].text, "default x");
}
END_TEST

START_TEST(test_load_refuses_empty_variable)
{
    struct statustext t[] = { { "UNIT_E", "default" } };
    const char *why = NULL;
    setenv("SMTP_TEXT_UNIT_E", "", 1);
    ck_assert_int_eq(statustext_load(t, 1, &why), 0);
    ck_assert_str_eq(why, "is empty");
    ck_assert_str_eq(t[0].text, "default");
}
END_TEST

START_TEST(test_load_refuses_line_break_injection)
{
    struct statustext t[] = { { "UNIT_N", "default" } };
    const char *why = NULL;
    setenv("SMTP_TEXT_UNIT_N", "ok\r\n250 2.0.0 accepted", 1);
    ck_assert_int_eq(statustext_load(t, 1, &why), 0);
    ck_assert_str_eq(why, "has a control character");
}
END_TEST

static Suite *statustext_suite(void)
{
    Suite *s = suite_create("statustext");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_valid_printable_text);
    tcase_add_test(tc, test_valid_refuses_empty);
    tcase_add_test(tc, test_valid_refuses_non_ascii);
    tcase_add_test(tc, test_valid_refuses_control_characters);
    tcase_add_test(tc, test_valid_length_limit);
    tcase_add_test(tc, test_load_keeps_defaults_without_variables);
    tcase_add_test(tc, test_load_replaces_from_environment);
    tcase_add_test(tc, test_load_names_the_entry_with_a_byte_over_126);
    tcase_add_test(tc, test_load_refuses_empty_variable);
    tcase_add_test(tc, test_load_refuses_line_break_injection);
    tcase_add_test(tc, test_expand);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(statustext_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
