/* xtext (RFC 3461): round trips, every malformed input, buffer limits. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "xtext.h"

START_TEST(test_encode_printable_stands_for_itself)
{
    char out[64];
    ck_assert_int_eq(xtext_encode(out, sizeof out, "user@example.com", 16), 16);
    ck_assert_str_eq(out, "user@example.com");
}
END_TEST

START_TEST(test_encode_plus_equals_space_and_controls_as_upper_hex)
{
    char out[64];
    const char in[] = "a+b=c d\r\n\x7f\x80\xff";
    ck_assert_int_eq(xtext_encode(out, sizeof out, in, sizeof in - 1),
                     (long)strlen("a+2Bb+3Dc+20d+0D+0A+7F+80+FF"));
    ck_assert_str_eq(out, "a+2Bb+3Dc+20d+0D+0A+7F+80+FF");
}
END_TEST

START_TEST(test_encode_nul_byte)
{
    char out[16];
    ck_assert_int_eq(xtext_encode(out, sizeof out, "a\0b", 3), 5);
    ck_assert_str_eq(out, "a+00b");
}
END_TEST

START_TEST(test_encode_empty_input_gives_empty_string)
{
    char out[4] = "xyz";
    ck_assert_int_eq(xtext_encode(out, sizeof out, "", 0), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_encode_exact_fit_and_one_short)
{
    char out[8];
    /* "ab" needs 3 bytes with its NUL. */
    ck_assert_int_eq(xtext_encode(out, 3, "ab", 2), 2);
    ck_assert_str_eq(out, "ab");
    ck_assert_int_eq(xtext_encode(out, 2, "ab", 2), -1);
    /* " " is "+20": 4 bytes with its NUL. */
    ck_assert_int_eq(xtext_encode(out, 4, " ", 1), 3);
    ck_assert_str_eq(out, "+20");
    ck_assert_int_eq(xtext_encode(out, 3, " ", 1), -1);
    ck_assert_int_eq(xtext_encode(out, 0, "", 0), -1);
}
END_TEST

START_TEST(test_encode_never_writes_past_size)
{
    char out[16];
    memset(out, 'Z', sizeof out);
    ck_assert_int_eq(xtext_encode(out, 5, "a b c", 5), -1);
    ck_assert_int_eq(out[5], 'Z');
    ck_assert_int_eq(out[6], 'Z');
}
END_TEST

START_TEST(test_decode_plain_and_hex)
{
    char out[64];
    ck_assert_int_eq(xtext_decode(out, sizeof out, "a+2Bb+3Dc+20d", 13), 7);
    ck_assert_str_eq(out, "a+b=c d");
}
END_TEST

START_TEST(test_decode_keeps_embedded_nul_in_length)
{
    char out[16];
    ck_assert_int_eq(xtext_decode(out, sizeof out, "a+00b", 5), 3);
    ck_assert_mem_eq(out, "a\0b", 4);
}
END_TEST

START_TEST(test_decode_refuses_lower_case_hex)
{
    char out[16];
    ck_assert_int_eq(xtext_decode(out, sizeof out, "a+2b", 4), -1);
    ck_assert_int_eq(xtext_decode(out, sizeof out, "+0a", 3), -1);
    ck_assert_int_eq(xtext_decode(out, sizeof out, "+ff", 3), -1);
}
END_TEST

START_TEST(test_decode_refuses_bad_hex_digits)
{
    char out[16];
    ck_assert_int_eq(xtext_decode(out, sizeof out, "+G0", 3), -1);
    ck_assert_int_eq(xtext_decode(out, sizeof out, "+0G", 3), -1);
    ck_assert_int_eq(xtext_decode(out, sizeof out, "+ 0", 3), -1);
    ck_assert_int_eq(xtext_decode(out, sizeof out, "++20", 4), -1);
}
END_TEST

START_TEST(test_decode_refuses_truncated_escape)
{
    char out[16];
    ck_assert_int_eq(xtext_decode(out, sizeof out, "ab+", 3), -1);
    ck_assert_int_eq(xtext_decode(out, sizeof out, "ab+2", 4), -1);
    /* n bounds the input even when more bytes follow in memory */
    ck_assert_int_eq(xtext_decode(out, sizeof out, "ab+20", 4), -1);
}
END_TEST

START_TEST(test_decode_refuses_equals_sign)
{
    char out[16];
    ck_assert_int_eq(xtext_decode(out, sizeof out, "a=b", 3), -1);
}
END_TEST

START_TEST(test_decode_refuses_bytes_outside_33_to_126)
{
    char out[16];
    static const char bad[] = { ' ', '\t', '\r', '\n', 0, 1, 31, 127, (char)128, (char)255 };
    size_t i;
    for (i = 0; i < sizeof bad; i++) {
        char in[3] = { 'a', bad[i], 'b' };
        ck_assert_msg(xtext_decode(out, sizeof out, in, 3) == -1,
                      "byte %u accepted", (unsigned char)bad[i]);
    }
}
END_TEST

START_TEST(test_decode_exact_fit_and_one_short)
{
    char out[8];
    ck_assert_int_eq(xtext_decode(out, 3, "a+20", 4), 2);
    ck_assert_str_eq(out, "a ");
    ck_assert_int_eq(xtext_decode(out, 2, "a+20", 4), -1);
    ck_assert_int_eq(xtext_decode(out, 1, "a", 1), -1);
}
END_TEST

START_TEST(test_decode_empty_input_into_zero_size_buffer_fails)
{
    /* No room even for the NUL: -1, and out[0] left alone. */
    char out[1] = { 'Z' };
    ck_assert_int_eq(xtext_decode(out, 0, "", 0), -1);
    ck_assert_int_eq(out[0], 'Z');
}
END_TEST

START_TEST(test_round_trip_every_byte_value)
{
    char in[256], enc[3 * 256 + 1], dec[257];
    int i;
    ssize_t e;
    for (i = 0; i < 256; i++) in[i] = (char)i;
    e = xtext_encode(enc, sizeof enc, in, sizeof in);
    /* 92 bytes stand for themselves (33..126 but + and =), 164 take three */
    ck_assert_int_eq(e, 92 + 3 * 164);
    for (i = 0; i < e; i++)
        ck_assert(enc[i] >= 33 && enc[i] <= 126 && enc[i] != '=');
    ck_assert_int_eq(xtext_decode(dec, sizeof dec, enc, (size_t)e), 256);
    ck_assert_mem_eq(dec, in, 256);
}
END_TEST

START_TEST(test_round_trip_random_strings)
{
    unsigned seed = 20261124;
    int round;
    srand(seed);
    for (round = 0; round < 500; round++) {
        char in[64], enc[3 * 64 + 1], dec[65];
        size_t n = (size_t)(rand() % 64), i;
        ssize_t e;
        for (i = 0; i < n; i++) in[i] = (char)(rand() & 255);
        e = xtext_encode(enc, sizeof enc, in, n);
        ck_assert_msg(e >= 0, "seed %u round %d: encode failed", seed, round);
        ck_assert_int_eq(xtext_decode(dec, sizeof dec, enc, (size_t)e), (long)n);
        ck_assert_msg(!memcmp(dec, in, n), "seed %u round %d: mismatch", seed, round);
    }
}
END_TEST

/* What decodes, and nothing else, is valid; empty is not (RFC 3461's
 * ENVID and ORCPT have at least one character). */
START_TEST(test_valid_is_what_decodes)
{
    static const char *const good[] = { "a", "x+2By", "+20", "ABC+3D", "rfc822" };
    static const char *const bad[] = { "", "a b", "a=b", "+2b", "+2", "x+", "+G0", "caf\xc3\xa9" };
    char out[64];
    size_t i;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_msg(xtext_valid(good[i], strlen(good[i])), "%s", good[i]);
        ck_assert_int_ge(xtext_decode(out, sizeof out, good[i], strlen(good[i])), 0);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!xtext_valid(bad[i], strlen(bad[i])), "%s", bad[i]);
}
END_TEST

static Suite *xtext_suite(void)
{
    Suite *s = suite_create("xtext");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_encode_printable_stands_for_itself);
    tcase_add_test(tc, test_encode_plus_equals_space_and_controls_as_upper_hex);
    tcase_add_test(tc, test_encode_nul_byte);
    tcase_add_test(tc, test_encode_empty_input_gives_empty_string);
    tcase_add_test(tc, test_encode_exact_fit_and_one_short);
    tcase_add_test(tc, test_encode_never_writes_past_size);
    tcase_add_test(tc, test_decode_plain_and_hex);
    tcase_add_test(tc, test_decode_keeps_embedded_nul_in_length);
    tcase_add_test(tc, test_decode_refuses_lower_case_hex);
    tcase_add_test(tc, test_decode_refuses_bad_hex_digits);
    tcase_add_test(tc, test_decode_refuses_truncated_escape);
    tcase_add_test(tc, test_decode_refuses_equals_sign);
    tcase_add_test(tc, test_decode_refuses_bytes_outside_33_to_126);
    tcase_add_test(tc, test_decode_exact_fit_and_one_short);
    tcase_add_test(tc, test_decode_empty_input_into_zero_size_buffer_fails);
    tcase_add_test(tc, test_round_trip_every_byte_value);
    tcase_add_test(tc, test_round_trip_random_strings);
    tcase_add_test(tc, test_valid_is_what_decodes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xtext_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
