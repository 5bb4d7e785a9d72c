/* IP addresses as text: strict parsing, IPv4-mapped folding, prefixes,
 * SMTP address literals, masks, and the one canonical key a compiler and
 * a filter must agree on. */
#include <check.h>
#include <string.h>

#include "ipaddr.h"

static int parse(const char *s, struct ipaddr *a)
{
    return ipaddr_parse(a, s, strlen(s));
}

static const char *key(const char *s, unsigned length)
{
    static char out[IPADDR_KEY_MAX];
    struct ipaddr a;
    ck_assert_msg(parse(s, &a), "%s does not parse", s);
    ipaddr_key(&a, length, out);
    return out;
}

START_TEST(test_ipv4_dotted_quad)
{
    struct ipaddr a;
    ck_assert_int_eq(parse("192.0.2.1", &a), 1);
    ck_assert_uint_eq(a.bits, 32);
    ck_assert_uint_eq(a.byte[0], 192);
    ck_assert_uint_eq(a.byte[3], 1);
    ck_assert_int_eq(parse("0.0.0.0", &a), 1);
    ck_assert_int_eq(parse("255.255.255.255", &a), 1);
}
END_TEST

START_TEST(test_ipv4_refuses_what_libraries_disagree_on)
{
    static const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.04",
                                 "1.2.3.4 ", " 1.2.3.4", "1..3.4", "1.2.3.", "0x1.2.3.4",
                                 "1.2.3.1234", "a.b.c.d", "1.2.3.4/24" };
    struct ipaddr a;
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!parse(bad[i], &a), "%s was taken", bad[i]);
    ck_assert_int_eq(ipaddr_parse(&a, "1.2.3.4\0", 8), 0);
}
END_TEST

START_TEST(test_ipv6_forms)
{
    struct ipaddr a, b;
    ck_assert_int_eq(parse("2001:db8::1", &a), 1);
    ck_assert_uint_eq(a.bits, 128);
    ck_assert_int_eq(parse("2001:0DB8:0:0:0:0:0:1", &b), 1);
    ck_assert(ipaddr_equal(&a, &b));
    ck_assert_int_eq(parse("::", &a), 1);
    ck_assert_int_eq(parse("2001:db8::1::2", &a), 0);
    ck_assert_int_eq(parse("2001:db8:::1", &a), 0);
    ck_assert_int_eq(parse("12345::1", &a), 0);
    ck_assert_int_eq(parse("fe80::1%eth0", &a), 0);
}
END_TEST

START_TEST(test_ipv4_mapped_is_ipv4)
{
    struct ipaddr a, b;
    ck_assert_int_eq(parse("::ffff:192.0.2.1", &a), 1);
    ck_assert_uint_eq(a.bits, 32);
    ck_assert_int_eq(parse("192.0.2.1", &b), 1);
    ck_assert(ipaddr_equal(&a, &b));
    ck_assert_str_eq(key("::FFFF:c000:0201", 32), "192.0.2.1/32");
    /* ::192.0.2.1 (the old "compatible" form) is not mapped */
    ck_assert_int_eq(parse("::192.0.2.1", &a), 1);
    ck_assert_uint_eq(a.bits, 128);
}
END_TEST

START_TEST(test_key_canonical)
{
    ck_assert_str_eq(key("192.0.2.77", 24), "192.0.2.0/24");
    ck_assert_str_eq(key("10.1.2.3", 8), "10.0.0.0/8");
    ck_assert_str_eq(key("10.1.2.3", 0), "0.0.0.0/0");
    ck_assert_str_eq(key("10.1.2.3", 32), "10.1.2.3/32");
    ck_assert_str_eq(key("10.255.255.255", 9), "10.128.0.0/9");
    ck_assert_str_eq(key("2001:DB8::1", 32), "2001:db8:0:0:0:0:0:0/32");
    ck_assert_str_eq(key("2001:db8:ffff::1", 36), "2001:db8:f000:0:0:0:0:0/36");
    ck_assert_str_eq(key("2001:db8::1", 128), "2001:db8:0:0:0:0:0:1/128");
    ck_assert_str_eq(key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128),
                     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
    ck_assert_uint_eq(strlen(key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128)), IPADDR_KEY_MAX - 5);
    /* a length beyond the address is the whole address */
    ck_assert_str_eq(key("10.1.2.3", 99), "10.1.2.3/32");
}
END_TEST

START_TEST(test_mask_every_length)
{
    struct ipaddr a;
    unsigned len, i, ones;
    for (len = 0; len <= 128; len++) {
        ck_assert(parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a));
        ipaddr_mask(&a, len);
        for (i = ones = 0; i < 16; i++) ones += (unsigned)__builtin_popcount(a.byte[i]);
        ck_assert_uint_eq(ones, len);
    }
}
END_TEST

static int prefix(const char *s, struct ipaddr *a, unsigned *len)
{
    return ipaddr_parse_prefix(a, len, s, strlen(s));
}

START_TEST(test_prefix_forms)
{
    struct ipaddr a;
    unsigned len;
    ck_assert_int_eq(prefix("10.0.0.0/8", &a, &len), 1);
    ck_assert_uint_eq(len, 8);
    ck_assert_int_eq(prefix("10.1.2.3/8", &a, &len), 1);   /* not masked here */
    ck_assert_uint_eq(a.byte[1], 1);
    ck_assert_int_eq(prefix("192.0.2.1", &a, &len), 1);
    ck_assert_uint_eq(len, 32);
    ck_assert_int_eq(prefix("2001:db8::/32", &a, &len), 1);
    ck_assert_uint_eq(len, 32);
    ck_assert_int_eq(prefix("2001:db8::1", &a, &len), 1);
    ck_assert_uint_eq(len, 128);
    ck_assert_int_eq(prefix("0.0.0.0/0", &a, &len), 1);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_prefix_refusals)
{
    static const char *bad[] = { "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/08",
                                 "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/1000",
                                 "/8", "10.0.0.0 /8", "10.0.0.0/8 " };
    struct ipaddr a;
    unsigned len;
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!prefix(bad[i], &a, &len), "%s was taken", bad[i]);
}
END_TEST

START_TEST(test_prefix_ipv4_mapped)
{
    struct ipaddr a;
    unsigned len;
    char out[IPADDR_KEY_MAX];
    ck_assert_int_eq(prefix("::ffff:10.0.0.0/104", &a, &len), 1);
    ck_assert_uint_eq(a.bits, 32);
    ck_assert_uint_eq(len, 8);
    ck_assert_int_eq(prefix("::ffff:10.0.0.0/96", &a, &len), 1);
    ck_assert_uint_eq(len, 0);
    /* wider than the mapped range: stays IPv6 */
    ck_assert_int_eq(prefix("::ffff:10.0.0.0/80", &a, &len), 1);
    ck_assert_uint_eq(a.bits, 128);
    ipaddr_key(&a, len, out);
    ck_assert_str_eq(out, "0:0:0:0:0:0:0:0/80");
    ck_assert_int_eq(prefix("::ffff:10.0.0.0/129", &a, &len), 0);
}
END_TEST

static int literal(const char *s, struct ipaddr *a)
{
    return ipaddr_parse_literal(a, s, strlen(s));
}

START_TEST(test_literals)
{
    struct ipaddr a, b;
    ck_assert_int_eq(literal("[192.0.2.1]", &a), 1);
    ck_assert(parse("192.0.2.1", &b));
    ck_assert(ipaddr_equal(&a, &b));
    ck_assert_int_eq(literal("[IPv6:2001:db8::1]", &a), 1);
    ck_assert_int_eq(literal("[ipv6:2001:DB8::1]", &b), 1);
    ck_assert(ipaddr_equal(&a, &b));
    ck_assert_int_eq(literal("[IPv6:::ffff:192.0.2.1]", &a), 1);
    ck_assert_uint_eq(a.bits, 32);
    ck_assert_int_eq(literal("[2001:db8::1]", &a), 0);       /* needs the tag */
    ck_assert_int_eq(literal("[IPv6:192.0.2.1]", &a), 0);
    ck_assert_int_eq(literal("192.0.2.1", &a), 0);
    ck_assert_int_eq(literal("[192.0.2.1", &a), 0);
    ck_assert_int_eq(literal("[]", &a), 0);
    ck_assert_int_eq(literal("[x:y]", &a), 0);
}
END_TEST

START_TEST(test_equal_needs_same_family)
{
    struct ipaddr a, b;
    ck_assert(parse("0.0.0.0", &a));
    ck_assert(parse("::", &b));
    ck_assert(!ipaddr_equal(&a, &b));
}
END_TEST

static Suite *ipaddr_suite(void)
{
    Suite *s = suite_create("ipaddr");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ipv4_dotted_quad);
    tcase_add_test(tc, test_ipv4_refuses_what_libraries_disagree_on);
    tcase_add_test(tc, test_ipv6_forms);
    tcase_add_test(tc, test_ipv4_mapped_is_ipv4);
    tcase_add_test(tc, test_key_canonical);
    tcase_add_test(tc, test_mask_every_length);
    tcase_add_test(tc, test_prefix_forms);
    tcase_add_test(tc, test_prefix_refusals);
    tcase_add_test(tc, test_prefix_ipv4_mapped);
    tcase_add_test(tc, test_literals);
    tcase_add_test(tc, test_equal_needs_same_family);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ipaddr_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
