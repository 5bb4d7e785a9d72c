/* smtp-spf: the record parser (every mechanism and modifier, the
 * syntax errors that make a permerror), macro expansion (RFC 7208 7.4's
 * examples, transformers, URL escaping, the letters only an explanation
 * may use, truncation), the -r actions, the Received-SPF field and the
 * refusal text.  The evaluation against DNS is t/57's (a real dnsmasq). */
#include <check.h>
#include <string.h>

#include "spf.h"

static struct spf_record rec;
static char why[200];

static int parse(const char *s)
{
    return spf_parse(s, strlen(s), &rec, why, sizeof why);
}

START_TEST(test_is_record)
{
    ck_assert(spf_is_record("v=spf1", 6));
    ck_assert(spf_is_record("v=spf1 -all", 11));
    ck_assert(spf_is_record("V=SPF1 -all", 11));
    ck_assert(!spf_is_record("v=spf10 -all", 12));
    ck_assert(!spf_is_record("v=spf1-all", 10));
    ck_assert(!spf_is_record("spf2.0/pra -all", 15));
    ck_assert(!spf_is_record(" v=spf1 -all", 12));
}
END_TEST

START_TEST(test_every_mechanism)
{
    ck_assert_int_eq(parse("v=spf1 +all -include:_spf.example ~a ?a:mail.example/24//64 mx mx:m.example//48 "
                           "ptr ptr:example.org ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{i}.x.example ip4:192.0.2.1"), 0);
    ck_assert_uint_eq(rec.n, 12);
    ck_assert_int_eq(rec.term[0].mechanism, SPF_ALL);
    ck_assert_int_eq(rec.term[0].qualifier, SPF_PASS);
    ck_assert_int_eq(rec.term[1].mechanism, SPF_INCLUDE);
    ck_assert_int_eq(rec.term[1].qualifier, SPF_FAIL);
    ck_assert_int_eq(rec.term[1].spec_len, 12);
    ck_assert_int_eq(rec.term[2].mechanism, SPF_A);
    ck_assert_int_eq(rec.term[2].qualifier, SPF_SOFTFAIL);
    ck_assert_ptr_eq(rec.term[2].spec, NULL);
    ck_assert_int_eq(rec.term[3].qualifier, SPF_NEUTRAL);
    ck_assert_uint_eq(rec.term[3].cidr4, 24);
    ck_assert_uint_eq(rec.term[3].cidr6, 64);
    ck_assert(!strncmp(rec.term[3].spec, "mail.example", rec.term[3].spec_len));
    ck_assert_uint_eq(rec.term[3].spec_len, 12);
    ck_assert_int_eq(rec.term[4].mechanism, SPF_MX);
    ck_assert_uint_eq(rec.term[4].cidr4, 32);
    ck_assert_uint_eq(rec.term[5].cidr4, 32);
    ck_assert_uint_eq(rec.term[5].cidr6, 48);
    ck_assert_int_eq(rec.term[6].mechanism, SPF_PTR);
    ck_assert_int_eq(rec.term[7].mechanism, SPF_PTR);
    ck_assert_int_eq(rec.term[8].mechanism, SPF_IP4);
    ck_assert_uint_eq(rec.term[8].cidr4, 24);
    ck_assert_int_eq(rec.term[9].mechanism, SPF_IP6);
    ck_assert_uint_eq(rec.term[9].cidr6, 32);
    ck_assert_int_eq(rec.term[10].mechanism, SPF_EXISTS);
    ck_assert_uint_eq(rec.term[11].cidr4, 32);
}
END_TEST

START_TEST(test_modifiers)
{
    ck_assert_int_eq(parse("v=spf1 a redirect=_spf.example exp=explain.%{d} foo=bar%{d} x-y.z=1"), 0);
    ck_assert_uint_eq(rec.n, 1);
    ck_assert(!strncmp(rec.redirect, "_spf.example", rec.redirect_len));
    ck_assert(!strncmp(rec.exp, "explain.%{d}", rec.exp_len));
    ck_assert_int_eq(parse("v=spf1  -all   "), 0);     /* several spaces */
    ck_assert_int_eq(parse("v=spf1"), 0);
    ck_assert_uint_eq(rec.n, 0);
    ck_assert_int_eq(parse("v=spf1 MX:EXAMPLE.ORG -ALL"), 0);   /* names are case-insensitive */
}
END_TEST

START_TEST(test_syntax_errors)
{
    static const char *const bad[] = {
        "v=spf1 foo",                       /* unknown mechanism */
        "v=spf1 all:x.example",
        "v=spf1 -all/24",
        "v=spf1 include",
        "v=spf1 include:",
        "v=spf1 exists",
        "v=spf1 a:",
        "v=spf1 a/33",
        "v=spf1 a//129",
        "v=spf1 a/024",                     /* a leading zero */
        "v=spf1 a///24",
        "v=spf1 ip4:192.0.2.0/33",
        "v=spf1 ip4:192.0.2",
        "v=spf1 ip4:192.0.2.01",
        "v=spf1 ip4:2001:db8::1",
        "v=spf1 ip4",
        "v=spf1 ip6:192.0.2.1",
        "v=spf1 ip6:2001:db8::/129",
        "v=spf1 ip6:2001:db8::g",
        "v=spf1 a:foo",                     /* one label: no "." toplabel */
        "v=spf1 a:example.123",             /* a numeric top label */
        "v=spf1 a:example.-com",
        "v=spf1 include:%{z}.example",      /* an unknown macro letter */
        "v=spf1 include:%{c}.example",      /* c only in exp */
        "v=spf1 include:%{d.example",
        "v=spf1 include:%x.example",
        "v=spf1 include:50%.example",
        "v=spf1 redirect=a.example redirect=b.example",
        "v=spf1 exp=a.example exp=b.example",
        "v=spf1 redirect=",
        "v=spf1 foo=%{x}",                  /* unknown modifiers are checked too */
        "v=spf1 =bar",
        "v=spf1 -all foo",                  /* after all, still a syntax error */
        "v=spf1 -all \x01",
        "v=spf1 a:ex\xc3\xa4mple.com",
    };
    unsigned i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse(bad[i]) < 0, "%s parsed", bad[i]);
    parse("v=spf1 ip4:192.0.2.0/33");
    ck_assert_str_eq(why, "bad prefix length in ip4");
    parse("v=spf1 frobnicate:x");
    ck_assert_str_eq(why, "unknown mechanism frobnicate");
}
END_TEST

START_TEST(test_domain_specs)
{
    ck_assert(spf_domain_spec_valid("example.com", 11));
    ck_assert(spf_domain_spec_valid("example.com.", 12));
    ck_assert(spf_domain_spec_valid("%{d}", 4));
    ck_assert(spf_domain_spec_valid("%{ir}.%{v}._spf.%{d2}", 21));
    ck_assert(spf_domain_spec_valid("x.123-45", 8));
    ck_assert(spf_domain_spec_valid("%{l}%-", 6));
    ck_assert(!spf_domain_spec_valid("example", 7));
    ck_assert(!spf_domain_spec_valid("%{d}.", 5));
    ck_assert(!spf_domain_spec_valid("x.123", 5));
    ck_assert(!spf_domain_spec_valid("", 0));
}
END_TEST

static struct spf_macros m4, m6;

static void setup(void)
{
    memset(&m4, 0, sizeof m4);
    ck_assert(ipaddr_parse(&m4.ip, "192.0.2.3", 9));
    m4.sender = "strong-bad@email.example.com";
    m4.helo = "mx.example.org";
    m4.receiver = "mx.example.net";
    m4.now = 1234567890;
    m6 = m4;
    ck_assert(ipaddr_parse(&m6.ip, "2001:db8::cb01", 14));
}

static const char *expand(const struct spf_macros *m, const char *s, int exp)
{
    static char out[600];
    int truncated;
    if (spf_expand(m, "email.example.com", s, strlen(s), exp, out, sizeof out, &truncated) < 0) return NULL;
    return out;
}

START_TEST(test_rfc_examples)
{
    /* RFC 7208 7.4 */
    static const char *const cases[][2] = {
        { "%{s}", "strong-bad@email.example.com" },
        { "%{o}", "email.example.com" },
        { "%{d}", "email.example.com" },
        { "%{d4}", "email.example.com" },
        { "%{d3}", "email.example.com" },
        { "%{d2}", "example.com" },
        { "%{d1}", "com" },
        { "%{dr}", "com.example.email" },
        { "%{d2r}", "example.email" },
        { "%{l}", "strong-bad" },
        { "%{l-}", "strong.bad" },
        { "%{lr}", "strong-bad" },
        { "%{lr-}", "bad.strong" },
        { "%{l1r-}", "strong" },
        { "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
        { "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
        { "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
        { "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com" },
        { "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net" },
    };
    unsigned i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = expand(&m4, cases[i][0], 0);
        ck_assert_msg(got && !strcmp(got, cases[i][1]), "%s: %s", cases[i][0], got ? got : "(error)");
    }
    ck_assert_str_eq(expand(&m6, "%{ir}.%{v}._spf.%{d2}", 0),
                     "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}
END_TEST

START_TEST(test_macro_details)
{
    ck_assert_str_eq(expand(&m4, "%%%_%-", 0), "% %20");
    ck_assert_str_eq(expand(&m4, "%{h}", 0), "mx.example.org");
    ck_assert_str_eq(expand(&m4, "%{p}", 0), "unknown");
    ck_assert_str_eq(expand(&m4, "%{v}", 0), "in-addr");
    ck_assert_str_eq(expand(&m4, "%{D}", 0), "email.example.com");
    ck_assert_str_eq(expand(&m4, "%{l99}", 0), "strong-bad");
    ck_assert_str_eq(expand(&m4, "%{l123456789012345678901234567890}", 0), "strong-bad");
    ck_assert_ptr_eq(expand(&m4, "%{s@}", 0), NULL);       /* @ is no delimiter */
    ck_assert_str_eq(expand(&m4, "%{l-+=}", 0), "strong.bad");
    ck_assert_str_eq(expand(&m4, "%{dR}", 0), "com.example.email");
    ck_assert_ptr_eq(expand(&m4, "%{d0}", 0), NULL);        /* zero parts */
    ck_assert_ptr_eq(expand(&m4, "%{c}", 0), NULL);         /* exp only */
    ck_assert_ptr_eq(expand(&m4, "%{r}", 0), NULL);
    ck_assert_ptr_eq(expand(&m4, "%{t}", 0), NULL);
    ck_assert_ptr_eq(expand(&m4, "%{x}", 0), NULL);
    ck_assert_ptr_eq(expand(&m4, "%{d", 0), NULL);
    ck_assert_ptr_eq(expand(&m4, "%{d2x}", 0), NULL);
    ck_assert_ptr_eq(expand(&m4, "%", 0), NULL);
    ck_assert_ptr_eq(expand(&m4, "a b", 0), NULL);          /* a space outside exp */
    ck_assert_str_eq(expand(&m4, "%{c} %{r} %{t}", 1), "192.0.2.3 mx.example.net 1234567890");
    ck_assert_str_eq(expand(&m6, "%{c} %{v}", 1), "2001:db8::cb01 ip6");
}
END_TEST

START_TEST(test_url_escape)
{
    struct spf_macros m = m4;
    m.sender = "a b/c~d@x.example";
    ck_assert_str_eq(expand(&m, "%{L}", 1), "a%20b%2Fc~d");
    m.sender = "\"q\"@x.example";
    ck_assert_str_eq(expand(&m, "%{S}", 0), "%22q%22%40x.example");
}
END_TEST

START_TEST(test_expansion_bounded)
{
    char out[16], dom[DNS_NAME_MAX + 1], big[700];
    int truncated = 0;
    struct spf_macros m = m4;
    size_t i;
    ck_assert_int_eq(spf_expand(&m, "email.example.com", "%{d}%{d}%{d}", 12, 0, out, sizeof out, &truncated), 0);
    ck_assert_int_eq(truncated, 1);
    ck_assert_uint_eq(strlen(out), 15);
    /* a domain over 253: labels dropped from the left (4.8) */
    for (i = 0; i + 10 < sizeof big - 200; i += 10) memcpy(big + i, "abcdefghi.", 10);
    memcpy(big + i, "example.com", 12);
    m.sender = big;
    ck_assert_int_eq(spf_expand_domain(&m, "x.example", "%{s}", 4, dom, sizeof dom), 0);
    ck_assert_uint_le(strlen(dom), 253);
    ck_assert(strstr(dom, "example.com"));
    ck_assert_int_eq(dom[0], 'a');
    ck_assert_int_eq(spf_expand_domain(&m4, "x.example", "%{d}.", 5, dom, sizeof dom), 0);
    ck_assert_str_eq(dom, "x.example");
}
END_TEST

START_TEST(test_domains)
{
    ck_assert(spf_domain_valid("example.com"));
    ck_assert(spf_domain_valid("example.com."));
    ck_assert(!spf_domain_valid("localhost"));
    ck_assert(!spf_domain_valid("[192.0.2.1]"));
    ck_assert(!spf_domain_valid("a..example"));
    ck_assert(!spf_domain_valid(""));
    ck_assert(!spf_domain_valid(".example"));
    ck_assert(!spf_domain_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.example"));
}
END_TEST

START_TEST(test_results_and_actions)
{
    struct spf_config c;
    ck_assert_int_eq(spf_result_parse("softfail", 8), SPF_SOFTFAIL);
    ck_assert_int_eq(spf_result_parse("PermError", 9), SPF_PERMERROR);
    ck_assert_int_eq(spf_result_parse("failx", 5), -1);
    spf_config_defaults(&c);
    ck_assert_int_eq(c.action[SPF_FAIL].kind, ACTION_SCORE);
    ck_assert_int_eq(c.action[SPF_FAIL].points, 5);
    ck_assert_int_eq(c.action[SPF_TEMPERROR].kind, ACTION_CONTINUE);
    ck_assert_int_eq(c.action[SPF_NONE].kind, ACTION_CONTINUE);
    ck_assert_int_eq(spf_action_parse(&c, "fail=reject", why, sizeof why), 0);
    ck_assert_int_eq(c.action[SPF_FAIL].kind, ACTION_REJECT);
    ck_assert_int_eq(spf_action_parse(&c, "neutral=score:-2", why, sizeof why), 0);
    ck_assert_int_eq(c.action[SPF_NEUTRAL].points, -2);
    ck_assert_int_eq(spf_action_parse(&c, "temperror=tempfail", why, sizeof why), 0);
    ck_assert_int_eq(spf_action_parse(&c, "none=score:1", why, sizeof why), 0);
    ck_assert_int_eq(spf_action_parse(&c, "none=reject", why, sizeof why), -1);
    ck_assert_int_eq(spf_action_parse(&c, "none=tempfail", why, sizeof why), -1);
    ck_assert_int_eq(spf_action_parse(&c, "fail=drop", why, sizeof why), -1);
    ck_assert_int_eq(spf_action_parse(&c, "fail=score:x", why, sizeof why), -1);
    ck_assert_int_eq(spf_action_parse(&c, "bad=reject", why, sizeof why), -1);
    ck_assert_int_eq(spf_action_parse(&c, "fail", why, sizeof why), -1);
}
END_TEST

START_TEST(test_received_spf)
{
    char out[1400];
    spf_received(out, sizeof out, SPF_PASS, "mx.example.net", "192.0.2.3", "a@example.org", "h.example.org", 0, "");
    ck_assert_str_eq(out, "pass (mx.example.net: domain of a@example.org designates 192.0.2.3 as permitted sender)"
                     " client-ip=192.0.2.3; envelope-from=\"a@example.org\"; helo=h.example.org;"
                     " identity=mailfrom; receiver=mx.example.net");
    spf_received(out, sizeof out, SPF_PERMERROR, "mx.example.net", "2001:db8::1", "postmaster@h.example",
                 "h.example", 1, "x: bad \"y\"");
    ck_assert_str_eq(out, "permerror (mx.example.net: permanent error in processing domain of postmaster@h.example)"
                     " client-ip=\"2001:db8::1\"; envelope-from=\"postmaster@h.example\"; helo=h.example;"
                     " problem=\"x: bad \\\"y\\\"\"; identity=helo; receiver=mx.example.net");
    spf_received(out, sizeof out, SPF_FAIL, "r.example", "192.0.2.3", "a(b)\\c@example.org", "", 0, NULL);
    ck_assert(strstr(out, "domain of a?b??c@example.org does not"));
}
END_TEST

START_TEST(test_text)
{
    char out[80];
    spf_text("SPF %r: %i not for %d (100%%)", "fail", "192.0.2.3", "example.org", NULL, out, sizeof out);
    ck_assert_str_eq(out, "SPF fail: 192.0.2.3 not for example.org (100%)");
    spf_text("SPF %r", "fail", "", "", "see http://example.org/why", out, sizeof out);
    ck_assert_str_eq(out, "SPF fail: see http://example.org/why");
    spf_text("%d%d%d%d%d%d%d%d", "", "", "0123456789abcdef", NULL, out, sizeof out);
    ck_assert_uint_eq(strlen(out), 79);
}
END_TEST

static Suite *spf_suite(void)
{
    Suite *s = suite_create("smtp-spf");
    TCase *tc = tcase_create("spf");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_is_record);
    tcase_add_test(tc, test_every_mechanism);
    tcase_add_test(tc, test_modifiers);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_test(tc, test_domain_specs);
    tcase_add_test(tc, test_rfc_examples);
    tcase_add_test(tc, test_macro_details);
    tcase_add_test(tc, test_url_escape);
    tcase_add_test(tc, test_expansion_bounded);
    tcase_add_test(tc, test_domains);
    tcase_add_test(tc, test_results_and_actions);
    tcase_add_test(tc, test_received_spf);
    tcase_add_test(tc, test_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(spf_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
