/* smtp-dnscheck: the list syntax ZONE[=FILTER][*WEIGHT], the filters,
 * the answers that are errors, the reverse names that look dynamic, the
 * refusal text; the queries themselves are t/56's (a real dnsmasq). */
#include <check.h>
#include <string.h>

#include "dnscheck.h"

static struct ipaddr ip(const char *s)
{
    struct ipaddr a;
    ck_assert(ipaddr_parse(&a, s, strlen(s)));
    return a;
}

START_TEST(test_list_syntax)
{
    struct dnslist l;
    char why[200];
    struct ipaddr a;
    ck_assert_int_eq(dnscheck_list_parse("zen.example", &l, why, sizeof why), 0);
    ck_assert_str_eq(l.zone, "zen.example");
    ck_assert_int_eq(l.weight, 1);
    ck_assert_int_eq(l.has_filter, 0);
    ck_assert_int_eq(dnscheck_list_parse("wl.example*-5", &l, why, sizeof why), 0);
    ck_assert_str_eq(l.zone, "wl.example");
    ck_assert_int_eq(l.weight, -5);
    ck_assert_int_eq(dnscheck_list_parse("zen.example=127.0.0.[2..11]*3", &l, why, sizeof why), 0);
    ck_assert_int_eq(l.weight, 3);
    ck_assert_int_eq(l.has_filter, 1);
    a = ip("127.0.0.2");
    ck_assert(dnscheck_list_matches(&l, &a));
    a = ip("127.0.0.11");
    ck_assert(dnscheck_list_matches(&l, &a));
    a = ip("127.0.0.12");
    ck_assert(!dnscheck_list_matches(&l, &a));
    a = ip("127.0.1.2");
    ck_assert(!dnscheck_list_matches(&l, &a));
    ck_assert_int_eq(dnscheck_list_parse("x.example=127.0.[0;2].[1;3..4;9]", &l, why, sizeof why), 0);
    a = ip("127.0.2.4");
    ck_assert(dnscheck_list_matches(&l, &a));
    a = ip("127.0.2.9");
    ck_assert(dnscheck_list_matches(&l, &a));
    a = ip("127.0.1.9");
    ck_assert(!dnscheck_list_matches(&l, &a));
    a = ip("127.0.0.2");
    ck_assert(!dnscheck_list_matches(&l, &a));
}
END_TEST

START_TEST(test_list_syntax_errors)
{
    static const char *const bad[] = {
        "", "bad zone", ".example", "a..example", "zen.example*", "zen.example*x",
        "zen.example=", "zen.example=127.0.0", "zen.example=127.0.0.2.1", "zen.example=127.0.0.256",
        "zen.example=127.0.0.[2..]", "zen.example=127.0.0.[3..2]", "zen.example=127.0.0.[2;]",
        "zen.example=127.0.0.[]", "zen.example=127.0.0.x", "zen.example*1000001",
    };
    struct dnslist l;
    char why[200];
    unsigned i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(dnscheck_list_parse(bad[i], &l, why, sizeof why) < 0, "%s taken", bad[i]);
    dnscheck_list_parse("zen.example=1.2", &l, why, sizeof why);
    ck_assert_str_eq(why, "not a filter d.d.d.d (d: a number or [n;n..m]) in zen.example=1.2");
}
END_TEST

START_TEST(test_error_answers_never_list)
{
    struct dnslist l;
    char why[200];
    struct ipaddr a = ip("127.255.255.254");
    ck_assert(dnscheck_answer_is_error(&a));
    dnscheck_list_parse("zen.example", &l, why, sizeof why);
    ck_assert(!dnscheck_list_matches(&l, &a));
    dnscheck_list_parse("zen.example=127.[0..255].[0..255].[0..255]", &l, why, sizeof why);
    ck_assert(!dnscheck_list_matches(&l, &a));
    a = ip("127.255.255.252");
    ck_assert(!dnscheck_list_matches(&l, &a));
    a = ip("127.255.254.1");
    ck_assert(!dnscheck_answer_is_error(&a));
    ck_assert(dnscheck_list_matches(&l, &a));
    a = ip("2001:db8::2");                  /* an AAAA is never a listing */
    ck_assert(!dnscheck_list_matches(&l, &a));
}
END_TEST

START_TEST(test_zones_asked_once)
{
    static struct dnscheck_config c;
    char why[200];
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(dnscheck_config_add(&c, 1, "zen.example=127.0.0.2*3", why, sizeof why), 0);
    ck_assert_int_eq(dnscheck_config_add(&c, 1, "zen.example=127.0.0.[4..7]*2", why, sizeof why), 0);
    ck_assert_int_eq(dnscheck_config_add(&c, 1, "wl.example*-2", why, sizeof why), 0);
    ck_assert_int_eq(dnscheck_config_add(&c, 0, "dbl.example", why, sizeof why), 0);
    ck_assert_uint_eq(c.nip, 3);
    ck_assert_uint_eq(c.nipzone, 2);
    ck_assert_uint_eq(c.ip[0].query, 0);
    ck_assert_uint_eq(c.ip[1].query, 0);
    ck_assert_uint_eq(c.ip[2].query, 1);
    ck_assert_uint_eq(c.ndomainzone, 1);
}
END_TEST

START_TEST(test_dynamic_names)
{
    struct ipaddr a = ip("192.0.2.30");
    ck_assert(dnscheck_looks_dynamic("dsl-192-0-2-30.dyn.isp.example", &a));
    ck_assert(dnscheck_looks_dynamic("host-2-30.isp.example", &a));
    ck_assert(dnscheck_looks_dynamic("c000021e.cable.isp.example", &a));
    ck_assert(dnscheck_looks_dynamic("pool-1.isp.example", &a));
    ck_assert(dnscheck_looks_dynamic("x.dynamic.isp.example", &a));
    ck_assert(!dnscheck_looks_dynamic("mail.good.example", &a));
    ck_assert(!dnscheck_looks_dynamic("mx30.good.example", &a));
    ck_assert(!dnscheck_looks_dynamic("dsl.example", &a));      /* the domain itself */
    ck_assert(!dnscheck_looks_dynamic("smtp2.client.example", &a));
}
END_TEST

START_TEST(test_text)
{
    char out[64];
    dnscheck_text("client [%a] blocked using %z (%%)", "192.0.2.2", "a.example, b.example", out, sizeof out);
    ck_assert_str_eq(out, "client [192.0.2.2] blocked using a.example, b.example (%)");
    dnscheck_text("%z%z%z%z%z%z%z%z", "", "0123456789", out, sizeof out);
    ck_assert_uint_eq(strlen(out), 63);
    dnscheck_text("100% %x", "", "", out, sizeof out);
    ck_assert_str_eq(out, "100% %x");
}
END_TEST

static Suite *dnscheck_suite(void)
{
    Suite *s = suite_create("smtp-dnscheck");
    TCase *tc = tcase_create("dnscheck");
    tcase_add_test(tc, test_list_syntax);
    tcase_add_test(tc, test_list_syntax_errors);
    tcase_add_test(tc, test_error_answers_never_list);
    tcase_add_test(tc, test_zones_asked_once);
    tcase_add_test(tc, test_dynamic_names);
    tcase_add_test(tc, test_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dnscheck_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
