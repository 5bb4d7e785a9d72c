/* Absolute deadlines on the monotonic clock. */
#include <check.h>
#include <limits.h>

#include "deadline.h"

START_TEST(test_zero_seconds_means_no_limit)
{
    ck_assert(deadline_in_seconds(0) == DEADLINE_NONE);
    ck_assert_int_eq(deadline_poll_ms(DEADLINE_NONE), -1);
}
END_TEST

START_TEST(test_seconds_from_now)
{
    int64_t now = deadline_now(), d = deadline_in_seconds(5);
    ck_assert(d >= now + 5000 && d < now + 5100);
    ck_assert(deadline_in_seconds(UINT_MAX) < DEADLINE_NONE);
    ck_assert(deadline_in_seconds(UINT_MAX) > now);
}
END_TEST

START_TEST(test_huge_ms_saturates_to_no_limit)
{
    ck_assert(deadline_in_ms(INT64_MAX) == DEADLINE_NONE);
    ck_assert(deadline_in_ms(INT64_MAX / 2) == DEADLINE_NONE);
}
END_TEST

START_TEST(test_poll_ms_counts_down_to_zero)
{
    int left = deadline_poll_ms(deadline_in_ms(1000));
    ck_assert(left > 900 && left <= 1000);
    ck_assert_int_eq(deadline_poll_ms(deadline_now()), 0);
    ck_assert_int_eq(deadline_poll_ms(deadline_now() - 1000), 0);
}
END_TEST

START_TEST(test_poll_ms_fits_in_int)
{
    ck_assert_int_eq(deadline_poll_ms(deadline_now() + ((int64_t)1 << 40)), 0x7fffffff);
}
END_TEST

START_TEST(test_min_of_two)
{
    ck_assert(deadline_min(5, 7) == 5);
    ck_assert(deadline_min(7, 5) == 5);
    ck_assert(deadline_min(DEADLINE_NONE, 3) == 3);
}
END_TEST

START_TEST(test_clock_is_monotonic)
{
    int64_t a = deadline_now(), b = deadline_now();
    ck_assert(b >= a);
    ck_assert(a > 0);
}
END_TEST

static Suite *deadline_suite(void)
{
    Suite *s = suite_create("deadline");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_zero_seconds_means_no_limit);
    tcase_add_test(tc, test_seconds_from_now);
    tcase_add_test(tc, test_huge_ms_saturates_to_no_limit);
    tcase_add_test(tc, test_poll_ms_counts_down_to_zero);
    tcase_add_test(tc, test_poll_ms_fits_in_int);
    tcase_add_test(tc, test_min_of_two);
    tcase_add_test(tc, test_clock_is_monotonic);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(deadline_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
