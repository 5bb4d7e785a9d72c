/* smtp-trust's logic with its own clock and a file store: learning
 * pairs and domains, the cap, the decay and the records' expiry,
 * freemail and the sender's own domain, the threshold, the domain only
 * with an spf, dkim or dmarc pass, and a store that fails. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trust.h"

static char dir[64], path[128];
static struct trust_config cfg;
static struct trust t;

static void setup(void)
{
    char why[200];
    strcpy(dir, "/tmp/check_trust.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/store", dir);
    memset(&cfg, 0, sizeof cfg);
    cfg.store = path;
    cfg.pair_points = 10;
    cfg.domain_points = 3;
    cfg.max_points = 200;
    cfg.decay = 1;
    cfg.threshold = 40;
    cfg.store_ms = 2000;
    trust_default_freemail(&cfg);
    ck_assert_int_eq(trust_init(&t, &cfg, why, sizeof why), 0);
    t.store.slots = 64;
}

static void teardown(void)
{
    char cmd[160];
    trust_end(&t);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *fact_value;
static const char *fact_name;
static const char *facts(void *arg, const char *name)
{
    return fact_name && !strcmp(name, fact_name) ? fact_value : 0;
}

static long points(const char *sender, const char *rcpt, int64_t now, const char **why)
{
    struct trust_context c = {facts, 0};
    *why = "none";
    return trust_points(&t, sender, rcpt, &c, now, why);
}

#define DAY 86400

START_TEST(test_pair_learned_and_trusted)
{
    const char *why;
    int i;
    setup();
    for (i = 0; i < 3; i++) ck_assert_int_eq(trust_learn(&t, "Alice@Example.org", "bob@partner.example", 1000), 0);
    ck_assert_int_eq(points("bob@partner.example", "alice@example.org", 1000, &why), 0);   /* 30 < 40 */
    ck_assert_int_eq(trust_learn(&t, "alice@example.org", "BOB@partner.example", 1000), 0);
    ck_assert_int_eq(points("bob@partner.example", "alice@example.org", 1000, &why), 40);
    ck_assert_str_eq(why, "pair");
    /* Another local recipient: not this pair. */
    ck_assert_int_eq(points("bob@partner.example", "carol@example.org", 1000, &why), 0);
    teardown();
}
END_TEST

START_TEST(test_cap_and_decay)
{
    const char *why;
    int i;
    setup();
    for (i = 0; i < 30; i++) ck_assert_int_eq(trust_learn(&t, "a@example.org", "b@p.example", 1000), 0);
    ck_assert_int_eq(points("b@p.example", "a@example.org", 1000, &why), 200);      /* capped */
    ck_assert_int_eq(points("b@p.example", "a@example.org", 1000 + 10 * DAY, &why), 190);
    ck_assert_int_eq(points("b@p.example", "a@example.org", 1000 + 160 * DAY, &why), 40);
    ck_assert_int_eq(points("b@p.example", "a@example.org", 1000 + 161 * DAY, &why), 0);
    /* Learning again starts from the decayed points. */
    ck_assert_int_eq(trust_learn(&t, "a@example.org", "b@p.example", 1000 + 100 * DAY), 0);
    ck_assert_int_eq(points("b@p.example", "a@example.org", 1000 + 100 * DAY, &why), 110);
    ck_assert_int_eq(trust_decayed(&cfg, 50, 0, 20 * DAY), 30);
    ck_assert_int_eq(trust_decayed(&cfg, 50, 100, 50), 50);         /* clock back */
    cfg.decay = 0;
    ck_assert_int_eq(trust_decayed(&cfg, 50, 0, 1000 * DAY), 50);
    teardown();
}
END_TEST

START_TEST(test_domain_needs_authentication)
{
    const char *why;
    int i;
    setup();
    cfg.domain_points = 20;
    for (i = 0; i < 2; i++) ck_assert_int_eq(trust_learn(&t, "a@example.org", "b@partner.example", 1000), 0);
    /* Another sender of the domain: the domain has 40, no pass fact. */
    fact_name = 0;
    ck_assert_int_eq(points("c@partner.example", "a@example.org", 1000, &why), 0);
    fact_name = "spf", fact_value = "fail";
    ck_assert_int_eq(points("c@partner.example", "a@example.org", 1000, &why), 0);
    fact_name = "spf", fact_value = "pass";
    ck_assert_int_eq(points("c@partner.example", "a@example.org", 1000, &why), 40);
    ck_assert_str_eq(why, "domain");
    fact_name = "dkim", fact_value = "pass:partner.example";
    ck_assert_int_eq(points("c@partner.example", "a@example.org", 1000, &why), 40);
    fact_name = "dmarc", fact_value = "pass";
    ck_assert_int_eq(points("c@partner.example", "a@example.org", 1000, &why), 40);
    fact_name = "dkim", fact_value = "passed";
    ck_assert_int_eq(points("c@partner.example", "a@example.org", 1000, &why), 0);
    fact_name = 0;
    teardown();
}
END_TEST

START_TEST(test_no_domain_trust_for_freemail_or_own_domain)
{
    const char *why;
    int i;
    setup();
    cfg.pair_points = 0;
    cfg.domain_points = 50;
    ck_assert_int_eq(trust_learn(&t, "a@example.org", "b@gmail.com", 1000), 0);
    ck_assert_int_eq(trust_learn(&t, "a@example.org", "b@example.org", 1000), 0);
    fact_name = "spf", fact_value = "pass";
    ck_assert_int_eq(points("c@gmail.com", "a@example.org", 1000, &why), 0);
    ck_assert_int_eq(points("c@example.org", "a@example.org", 1000, &why), 0);
    /* A freemail file instead of the list built in. */
    {
        char file[160], w[200];
        FILE *f;
        snprintf(file, sizeof file, "%s/freemail", dir);
        f = fopen(file, "w");
        fputs("# ours\nMail.Example\n", f);
        fclose(f);
        ck_assert_int_eq(trust_load_freemail(&cfg, file, w, sizeof w), 0);
        ck_assert_uint_eq(cfg.nfreemail, 1);
        for (i = 0; i < 2; i++) ck_assert_int_eq(trust_learn(&t, "a@example.org", "x@gmail.com", 2000), 0);
        ck_assert_int_eq(points("c@gmail.com", "a@example.org", 2000, &why), 100);
        ck_assert_int_eq(trust_learn(&t, "a@example.org", "x@mail.example", 2000), 0);
        ck_assert_int_eq(points("c@mail.example", "a@example.org", 2000, &why), 0);
    }
    fact_name = 0;
    teardown();
}
END_TEST

START_TEST(test_store_failure)
{
    const char *why;
    char w[200];
    setup();
    trust_end(&t);
    cfg.store = "/nonexistent/dir/store";
    ck_assert_int_eq(trust_init(&t, &cfg, w, sizeof w), 0);
    ck_assert_int_eq(trust_learn(&t, "a@example.org", "b@p.example", 1000), -1);
    ck_assert_int_eq(points("b@p.example", "a@example.org", 1000, &why), -1);
    ck_assert_int_eq(trust_init(&t, &(struct trust_config){.store = "redis://nowhere:1"}, w, sizeof w), -1);
    teardown();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smtp-trust");
    TCase *tc = tcase_create("trust");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_pair_learned_and_trusted);
    tcase_add_test(tc, test_cap_and_decay);
    tcase_add_test(tc, test_domain_needs_authentication);
    tcase_add_test(tc, test_no_domain_trust_for_freemail_or_own_domain);
    tcase_add_test(tc, test_store_failure);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
