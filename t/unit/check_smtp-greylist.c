/* smtp-greylist's logic with its own clock and a file store: the first
 * attempt, too early, the pass, the known network, the pass memory and
 * the retry window running out, prefixes, the allow-lists, doubtful mail
 * only, and a store that fails. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "greylist.h"

static char dir[64], path[128];
static struct greylist_config cfg;
static struct greylist g;

static void setup(void)
{
    char why[200];
    strcpy(dir, "/tmp/check_greylist.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/store", dir);
    memset(&cfg, 0, sizeof cfg);
    cfg.store = path;
    cfg.delay = 300;
    cfg.retry = 3600;
    cfg.memory = 86400;
    cfg.v4len = 24;
    cfg.v6len = 64;
    cfg.store_ms = 2000;
    ck_assert_int_eq(greylist_init(&g, &cfg, why, sizeof why), 0);
    g.store.slots = 64;
}

static void teardown(void)
{
    char cmd[160];
    greylist_end(&g);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* One transaction: its verdict for the recipient. */
static const char *try(const char *ip, const char *from, const char *to, int64_t now,
                       const struct greylist_context *c)
{
    greylist_connect(&g, ip);
    greylist_mail(&g, from);
    return greylist_rcpt(&g, to, c, now);
}

#define GREY "tempfail 451 4.7.1 Greylisted, please try again later"

START_TEST(test_first_early_pass_known)
{
    setup();
    ck_assert_str_eq(try("192.0.2.7", "a@x.example", "b@y.example", 1000, 0), GREY);
    ck_assert_str_eq(try("192.0.2.7", "a@x.example", "b@y.example", 1299, 0), GREY);
    /* Another address of the same /24 is the same client. */
    ck_assert_str_eq(try("192.0.2.99", "A@X.example", "B@y.EXAMPLE", 1300, 0), "continue");
    /* The network is known: any triplet passes. */
    ck_assert_str_eq(try("192.0.2.1", "c@z.example", "d@y.example", 1301, 0), "continue");
    ck_assert_str_eq(try("192.0.2.1", "", "d@y.example", 1302, 0), "continue");
    /* Another network is not. */
    ck_assert_str_eq(try("192.0.3.1", "c@z.example", "d@y.example", 1303, 0), GREY);
    teardown();
}
END_TEST

START_TEST(test_expiry)
{
    setup();
    ck_assert_str_eq(try("192.0.2.7", "a@x", "b@y", 1000, 0), GREY);
    /* The retry window (300 + 3600 s) ran out: new again, not passed. */
    ck_assert_str_eq(try("192.0.2.7", "a@x", "b@y", 1000 + 3900, 0), GREY);
    ck_assert_str_eq(try("192.0.2.7", "a@x", "b@y", 4900 + 299, 0), GREY);
    ck_assert_str_eq(try("192.0.2.7", "a@x", "b@y", 4900 + 300, 0), "continue");
    /* Known for a day after the pass... */
    ck_assert_str_eq(try("192.0.2.7", "n@x", "b@y", 5200 + 86399, 0), "continue");
    /* ... renewed by that use (over an hour after the pass) ... */
    ck_assert_str_eq(try("192.0.2.7", "m@x", "b@y", 5200 + 86399 + 86399, 0), "continue");
    /* ... and forgotten a day after the last. */
    ck_assert_str_eq(try("192.0.2.7", "o@x", "b@y", 5200 + 3 * 86400, 0), GREY);
    teardown();
}
END_TEST

START_TEST(test_ipv6_prefix)
{
    setup();
    cfg.v6len = 48;
    ck_assert_str_eq(try("2001:db8:1:2::7", "a@x", "b@y", 1000, 0), GREY);
    ck_assert_str_eq(try("2001:db8:1:ffff::9", "a@x", "b@y", 1300, 0), "continue");
    ck_assert_str_eq(g.net, "2001:db8:1:0:0:0:0:0/48");
    teardown();
}
END_TEST

START_TEST(test_allow_lists)
{
    char why[200], file[160];
    FILE *f;
    setup();
    snprintf(file, sizeof file, "%s/clients", dir);
    f = fopen(file, "w");
    fputs("# partners\n198.51.100.0/24\n  2001:db8::/32  # v6\n\n", f);
    fclose(f);
    ck_assert_int_eq(greylist_load_clients(&cfg, file, why, sizeof why), 0);
    ck_assert_uint_eq(cfg.nclients, 2);
    snprintf(file, sizeof file, "%s/domains", dir);
    f = fopen(file, "w");
    fputs("Partner.Example\n", f);
    fclose(f);
    ck_assert_int_eq(greylist_load_domains(&cfg, file, why, sizeof why), 0);
    ck_assert_str_eq(try("198.51.100.9", "a@x", "b@y", 1000, 0), "continue");
    ck_assert_str_eq(try("2001:db8:5::1", "a@x", "b@y", 1000, 0), "continue");
    ck_assert_str_eq(try("192.0.2.7", "a@partner.example", "b@y", 1000, 0), "continue");
    ck_assert_str_eq(try("192.0.2.7", "a@sub.partner.example", "b@y", 1000, 0), GREY);
    /* A bad line is refused with its number. */
    f = fopen(file, "w");
    fputs("ok.example\nnot a domain\n", f);
    fclose(f);
    ck_assert_int_eq(greylist_load_domains(&cfg, file, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "line 2"));
    snprintf(file, sizeof file, "%s/clients", dir);
    f = fopen(file, "w");
    fputs("192.0.2.300\n", f);
    fclose(f);
    ck_assert_int_eq(greylist_load_clients(&cfg, file, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "line 1"));
    teardown();
}
END_TEST

static const char *facts_spf_pass(void *arg, const char *name)
{
    return !strcmp(name, "spf") ? (const char *)arg : 0;
}

START_TEST(test_doubtful_only)
{
    struct greylist_context c = {0, facts_spf_pass, (void *)"pass"};
    setup();
    cfg.score_window = 1;
    cfg.score_low = 0;
    cfg.score_high = 5;
    cfg.skip_name[0] = "spf";
    cfg.skip_value[0] = "pass";
    cfg.nskip = 1;
    /* An SPF pass: not greylisted. */
    ck_assert_str_eq(try("192.0.2.7", "a@x", "b@y", 1000, &c), "continue");
    /* Another value of the fact: greylisted. */
    c.arg = (void *)"fail";
    ck_assert_str_eq(try("192.0.2.7", "a@x", "b@y", 1000, &c), GREY);
    /* Out of the score window, either way: not greylisted. */
    c.score = -1;
    ck_assert_str_eq(try("192.0.2.7", "c@x", "b@y", 1000, &c), "continue");
    c.score = 5;
    ck_assert_str_eq(try("192.0.2.7", "c@x", "b@y", 1000, &c), "continue");
    c.score = 4;
    ck_assert_str_eq(try("192.0.2.7", "c@x", "b@y", 1000, &c), GREY);
    /* Any value of a fact named without one. */
    cfg.skip_value[0] = 0;
    ck_assert_str_eq(try("192.0.2.7", "d@x", "b@y", 1000, &c), "continue");
    teardown();
}
END_TEST

START_TEST(test_store_failure_is_null)
{
    setup();
    cfg.store = "/nonexistent/dir/store";
    greylist_end(&g);
    {
        char why[200];
        ck_assert_int_eq(greylist_init(&g, &cfg, why, sizeof why), 0);
    }
    ck_assert_ptr_null(try("192.0.2.7", "a@x", "b@y", 1000, 0));
    ck_assert_ptr_nonnull(strstr(g.store.why, "unable to open"));
    /* No connect event: nothing to key on, nothing asked. */
    memset(&g.client, 0, sizeof g.client);
    g.have_client = 0;
    ck_assert_str_eq(greylist_rcpt(&g, "b@y", 0, 1000), "continue");
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smtp-greylist");
    TCase *t = tcase_create("greylist");
    SRunner *sr;
    int failed;
    tcase_add_test(t, test_first_early_pass_known);
    tcase_add_test(t, test_expiry);
    tcase_add_test(t, test_ipv6_prefix);
    tcase_add_test(t, test_allow_lists);
    tcase_add_test(t, test_doubtful_only);
    tcase_add_test(t, test_store_failure_is_null);
    suite_add_tcase(s, t);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
