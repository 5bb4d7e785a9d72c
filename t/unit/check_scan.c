/* Numbers from the command line and the environment. */
#include <check.h>
#include <limits.h>

#include "scan.h"

START_TEST(test_ulong_plain_digits)
{
    unsigned long v = 99;
    ck_assert_int_eq(scan_ulong("0", 10, &v), 1);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(scan_ulong("007", 10, &v), 1);
    ck_assert_uint_eq(v, 7);
    ck_assert_int_eq(scan_ulong("300", 1000, &v), 1);
    ck_assert_uint_eq(v, 300);
}
END_TEST

START_TEST(test_ulong_max_is_inclusive)
{
    unsigned long v;
    ck_assert_int_eq(scan_ulong("10", 10, &v), 1);
    ck_assert_uint_eq(v, 10);
    ck_assert_int_eq(scan_ulong("11", 10, &v), 0);
    ck_assert_int_eq(scan_ulong("100", 10, &v), 0);
    ck_assert_int_eq(scan_ulong("0", 0, &v), 1);
}
END_TEST

START_TEST(test_ulong_max_below_nine_still_enforced)
{
    /* a digit larger than max must not wrap the overflow check */
    unsigned long v = 42;
    ck_assert_int_eq(scan_ulong("1", 0, &v), 0);
    ck_assert_int_eq(scan_ulong("7", 5, &v), 0);
    ck_assert_int_eq(scan_ulong("19", 5, &v), 0);
    ck_assert_uint_eq(v, 42);
}
END_TEST

START_TEST(test_size_max_below_nine_still_enforced)
{
    unsigned long long u = 42;
    ck_assert_int_eq(scan_size("7", 5, &u), 0);
    ck_assert_int_eq(scan_size("19", 5, &u), 0);
    ck_assert_uint_eq(u, 42);
}
END_TEST

START_TEST(test_long_max_below_nine_still_enforced)
{
    long l = 42;
    ck_assert_int_eq(scan_long("7", 5, &l), 0);
    ck_assert_int_eq(scan_long("-9", 8, &l), 0);
    ck_assert_int_eq(l, 42);
}
END_TEST

START_TEST(test_ulong_overflow_refused)
{
    unsigned long v = 5;
    ck_assert_int_eq(scan_ulong("18446744073709551615", ULONG_MAX, &v), ULONG_MAX == 18446744073709551615UL);
    ck_assert_int_eq(scan_ulong("18446744073709551616", ULONG_MAX, &v), 0);
    ck_assert_int_eq(scan_ulong("99999999999999999999999", ULONG_MAX, &v), 0);
    ck_assert_int_eq(scan_ulong("4294967296", 4294967295UL, &v), 0);
}
END_TEST

START_TEST(test_ulong_malformed)
{
    unsigned long v = 5;
    ck_assert_int_eq(scan_ulong("", 10, &v), 0);
    ck_assert_int_eq(scan_ulong("-1", 10, &v), 0);
    ck_assert_int_eq(scan_ulong("+1", 10, &v), 0);
    ck_assert_int_eq(scan_ulong(" 1", 10, &v), 0);
    ck_assert_int_eq(scan_ulong("1 ", 10, &v), 0);
    ck_assert_int_eq(scan_ulong("1a", 10, &v), 0);
    ck_assert_int_eq(scan_ulong("0x1", 10, &v), 0);
    ck_assert_uint_eq(v, 5);
}
END_TEST

START_TEST(test_size_suffixes)
{
    unsigned long long v;
    ck_assert_int_eq(scan_size("100", ULLONG_MAX, &v), 1);
    ck_assert_uint_eq(v, 100);
    ck_assert_int_eq(scan_size("10k", ULLONG_MAX, &v), 1);
    ck_assert_uint_eq(v, 10240);
    ck_assert_int_eq(scan_size("10K", ULLONG_MAX, &v), 1);
    ck_assert_uint_eq(v, 10240);
    ck_assert_int_eq(scan_size("3m", ULLONG_MAX, &v), 1);
    ck_assert_uint_eq(v, 3ULL << 20);
    ck_assert_int_eq(scan_size("3M", ULLONG_MAX, &v), 1);
    ck_assert_uint_eq(v, 3ULL << 20);
    ck_assert_int_eq(scan_size("2g", ULLONG_MAX, &v), 1);
    ck_assert_uint_eq(v, 2ULL << 30);
    ck_assert_int_eq(scan_size("2G", ULLONG_MAX, &v), 1);
    ck_assert_uint_eq(v, 2ULL << 30);
    ck_assert_int_eq(scan_size("0k", ULLONG_MAX, &v), 1);
    ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(test_size_bad_suffix_refused)
{
    unsigned long long v = 9;
    ck_assert_int_eq(scan_size("1x", ULLONG_MAX, &v), 0);
    ck_assert_int_eq(scan_size("1kb", ULLONG_MAX, &v), 0);
    ck_assert_int_eq(scan_size("1KB", ULLONG_MAX, &v), 0);
    ck_assert_int_eq(scan_size("1T", ULLONG_MAX, &v), 0);
    ck_assert_int_eq(scan_size("k", ULLONG_MAX, &v), 0);
    ck_assert_int_eq(scan_size("", ULLONG_MAX, &v), 0);
    ck_assert_int_eq(scan_size("1 k", ULLONG_MAX, &v), 0);
    ck_assert_int_eq(scan_size("-1k", ULLONG_MAX, &v), 0);
    ck_assert_uint_eq(v, 9);
}
END_TEST

START_TEST(test_size_max_applies_after_suffix)
{
    unsigned long long v;
    ck_assert_int_eq(scan_size("1k", 1024, &v), 1);
    ck_assert_uint_eq(v, 1024);
    ck_assert_int_eq(scan_size("2k", 2047, &v), 0);
    ck_assert_int_eq(scan_size("1025", 1024, &v), 0);
    ck_assert_int_eq(scan_size("1G", (1ULL << 30) - 1, &v), 0);
}
END_TEST

START_TEST(test_size_overflow_refused)
{
    unsigned long long v;
    ck_assert_int_eq(scan_size("18446744073709551615", ULLONG_MAX, &v), 1);
    ck_assert_uint_eq(v, ULLONG_MAX);
    ck_assert_int_eq(scan_size("18446744073709551616", ULLONG_MAX, &v), 0);
    ck_assert_int_eq(scan_size("17179869184G", ULLONG_MAX, &v), 0);   /* 2^34 G = 2^64 */
    ck_assert_int_eq(scan_size("17179869183G", ULLONG_MAX, &v), 1);
    ck_assert_uint_eq(v, 17179869183ULL << 30);
}
END_TEST

START_TEST(test_long_signs)
{
    long v;
    ck_assert_int_eq(scan_long("5", 10, &v), 1);
    ck_assert_int_eq(v, 5);
    ck_assert_int_eq(scan_long("-5", 10, &v), 1);
    ck_assert_int_eq(v, -5);
    ck_assert_int_eq(scan_long("+5", 10, &v), 1);
    ck_assert_int_eq(v, 5);
    ck_assert_int_eq(scan_long("-0", 10, &v), 1);
    ck_assert_int_eq(v, 0);
}
END_TEST

START_TEST(test_long_bound_both_ways)
{
    long v;
    ck_assert_int_eq(scan_long("10", 10, &v), 1);
    ck_assert_int_eq(scan_long("-10", 10, &v), 1);
    ck_assert_int_eq(v, -10);
    ck_assert_int_eq(scan_long("11", 10, &v), 0);
    ck_assert_int_eq(scan_long("-11", 10, &v), 0);
    ck_assert_int_eq(scan_long("9223372036854775807", LONG_MAX, &v), 1);
    ck_assert_int_eq(v, LONG_MAX);
    ck_assert_int_eq(scan_long("-9223372036854775807", LONG_MAX, &v), 1);
    ck_assert_int_eq(v, -LONG_MAX);
    ck_assert_int_eq(scan_long("9223372036854775808", LONG_MAX, &v), 0);
    ck_assert_int_eq(scan_long("-9223372036854775808", LONG_MAX, &v), 0);
}
END_TEST

START_TEST(test_long_malformed)
{
    long v = 3;
    ck_assert_int_eq(scan_long("", 10, &v), 0);
    ck_assert_int_eq(scan_long("-", 10, &v), 0);
    ck_assert_int_eq(scan_long("+", 10, &v), 0);
    ck_assert_int_eq(scan_long("--5", 10, &v), 0);
    ck_assert_int_eq(scan_long("+-5", 10, &v), 0);
    ck_assert_int_eq(scan_long(" 5", 10, &v), 0);
    ck_assert_int_eq(scan_long("5-", 10, &v), 0);
    ck_assert_int_eq(scan_long("1.5", 10, &v), 0);
    ck_assert_int_eq(v, 3);
}
END_TEST

static Suite *scan_suite(void)
{
    Suite *s = suite_create("scan");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ulong_plain_digits);
    tcase_add_test(tc, test_ulong_max_is_inclusive);
    tcase_add_test(tc, test_ulong_max_below_nine_still_enforced);
    tcase_add_test(tc, test_size_max_below_nine_still_enforced);
    tcase_add_test(tc, test_long_max_below_nine_still_enforced);
    tcase_add_test(tc, test_ulong_overflow_refused);
    tcase_add_test(tc, test_ulong_malformed);
    tcase_add_test(tc, test_size_suffixes);
    tcase_add_test(tc, test_size_bad_suffix_refused);
    tcase_add_test(tc, test_size_max_applies_after_suffix);
    tcase_add_test(tc, test_size_overflow_refused);
    tcase_add_test(tc, test_long_signs);
    tcase_add_test(tc, test_long_bound_both_ways);
    tcase_add_test(tc, test_long_malformed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scan_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
