/* smtp-rspamd: the HTTP framing of rspamd's reply, the mapping of its
 * JSON to modifiers and a verdict (every action, the milter block's
 * header changes, facts and points, nonsense refused), and the count of
 * a message's header fields that the header changes are computed from. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rspamd.h"

static struct rspamd_config cfg;
static struct rspamd_answer a;
static char why[300];
static FILE *msg;

static void setup(void)
{
    memset(&cfg, 0, sizeof cfg);
    cfg.timeout = 20;
    cfg.spam_header = "X-Spam";
    cfg.reject_text = "Spam message rejected";
    cfg.tempfail_text = "Try again later";
    msg = 0;
}

static void teardown(void)
{
    if (msg) fclose(msg);
}

static unsigned long count(void *ctx, const char *name)
{
    return rspamd_count_fields(fileno((FILE *)ctx), 0, name);
}

/* The message rspamd's reply is about. */
static struct rspamd_headers headers(const char *text)
{
    struct rspamd_headers h;
    if (msg) fclose(msg);
    msg = tmpfile();
    ck_assert_ptr_nonnull(msg);
    ck_assert_int_eq(fputs(text, msg) >= 0, 1);
    ck_assert_int_eq(fflush(msg), 0);
    h.count = count;
    h.ctx = msg;
    return h;
}

#define PLAIN "From: a@example.org\r\nSubject: hello\r\nTo: b@example.net\r\n\r\nbody\r\nX-Spam: no\r\n"

static int answer(const char *json, const char *message)
{
    struct rspamd_headers h = headers(message ? message : PLAIN);
    return rspamd_answer(&a, &cfg, json, strlen(json), &h, why, sizeof why);
}

/* Operation i is kind, index, name and value ("-" for a deletion). */
static void op_is(unsigned i, enum rspamd_op_kind kind, unsigned long index, const char *name,
                  const char *value)
{
    ck_assert_uint_gt(a.nops, i);
    ck_assert_int_eq(a.op[i].kind, kind);
    if (kind == OP_INSERT || kind == OP_CHANGE) ck_assert_uint_eq(a.op[i].index, index);
    if (name) ck_assert_str_eq(a.op[i].name, name);
    if (value && !strcmp(value, "-")) ck_assert_ptr_null(a.op[i].value);
    else if (value) {
        ck_assert_ptr_nonnull(a.op[i].value);
        ck_assert_str_eq(a.op[i].value, value);
        ck_assert_uint_eq(a.op[i].len, strlen(value));
    }
}

/* --- HTTP ---------------------------------------------------------------- */

static int http(const char *s, int eof, const char **body, size_t *n)
{
    return rspamd_http_reply(s, strlen(s), eof, body, n, why, sizeof why);
}

START_TEST(test_http_complete_with_content_length)
{
    const char *body;
    size_t n;
    const char *r = "HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 7\r\n\r\n{\"a\":1}";
    ck_assert_int_eq(http(r, 0, &body, &n), 1);
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(memcmp(body, "{\"a\":1}", 7), 0);
    /* what follows the body is not read */
    ck_assert_int_eq(http("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xx", 0, &body, &n), 1);
    ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_http_incomplete_waits)
{
    const char *body;
    size_t n;
    ck_assert_int_eq(http("HTTP/1.0 200 OK\r\nContent-Length: 7\r\n", 0, &body, &n), 0);
    ck_assert_int_eq(http("HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\"", 0, &body, &n), 0);
    /* without Content-Length, the body ends with the connection */
    ck_assert_int_eq(http("HTTP/1.0 200 OK\r\n\r\n{}", 0, &body, &n), 0);
    ck_assert_int_eq(http("HTTP/1.0 200 OK\r\n\r\n{}", 1, &body, &n), 1);
    ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_http_refused)
{
    const char *body;
    size_t n;
    ck_assert_int_eq(http("HTTP/1.0 500 Internal error\r\nContent-Length: 2\r\n\r\n{}", 0, &body, &n), -1);
    ck_assert_ptr_nonnull(strstr(why, "500 Internal error"));
    ck_assert_int_eq(http("SMTP/1.0 200 OK\r\n\r\n{}", 1, &body, &n), -1);
    ck_assert_int_eq(http("HTTP/1.0 2x0 OK\r\n\r\n{}", 1, &body, &n), -1);
    ck_assert_int_eq(http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 1,
                          &body, &n), -1);
    ck_assert_int_eq(http("HTTP/1.1 200 OK\r\nCompression: zstd\r\nContent-Length: 2\r\n\r\n{}", 0,
                          &body, &n), -1);
    ck_assert_int_eq(http("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}", 1, &body, &n), -1);
    ck_assert_int_eq(http("HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n{}", 0, &body, &n), -1);
    ck_assert_int_eq(http("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 0,
                          &body, &n), -1);
    ck_assert_int_eq(http("HTTP/1.1 200 OK\r\nContent-Le", 1, &body, &n), -1);
}
END_TEST

/* --- actions ------------------------------------------------------------- */

START_TEST(test_reject_with_rspamds_text)
{
    ck_assert_int_eq(answer("{\"is_skipped\":true,\"score\":15.0,\"required_score\":15.0,"
                            "\"action\":\"reject\",\"symbols\":{\"GTUBE\":{\"name\":\"GTUBE\","
                            "\"score\":0.0}},\"messages\":{\"smtp_message\":\"Gtube pattern\"}}", 0), 0);
    ck_assert_str_eq(a.verdict, "reject 554 5.7.1 Gtube pattern");
    ck_assert_uint_eq(a.nops, 2);
    op_is(0, OP_FACT, 0, "rspamd.score", "15.00");
    op_is(1, OP_FACT, 0, "rspamd.action", "reject");
}
END_TEST

START_TEST(test_reject_default_text)
{
    ck_assert_int_eq(answer("{\"score\":20,\"action\":\"reject\"}", 0), 0);
    ck_assert_str_eq(a.verdict, "reject 554 5.7.1 Spam message rejected");
    /* a text that is not printable ASCII is not passed on */
    ck_assert_int_eq(answer("{\"score\":20,\"action\":\"reject\",\"messages\":"
                            "{\"smtp_message\":\"Spam\\r\\n250 ok\"}}", 0), 0);
    ck_assert_str_eq(a.verdict, "reject 554 5.7.1 Spam message rejected");
    ck_assert_int_eq(answer("{\"score\":20,\"action\":\"reject\",\"messages\":"
                            "{\"smtp_message\":\"Sp\\u00e4m\"}}", 0), 0);
    ck_assert_str_eq(a.verdict, "reject 554 5.7.1 Spam message rejected");
}
END_TEST

START_TEST(test_reject_discard_or_quarantine)
{
    ck_assert_int_eq(answer("{\"score\":20,\"action\":\"reject\",\"milter\":{\"reject\":\"discard\"}}", 0), 0);
    ck_assert_str_eq(a.verdict, "discard");
    ck_assert_int_eq(answer("{\"score\":20,\"action\":\"reject\",\"milter\":{\"reject\":\"quarantine\"}}",
                            0), 0);
    ck_assert_str_eq(a.verdict, "continue");
    op_is(2, OP_QUARANTINE, 0, 0, "rspamd");
}
END_TEST

START_TEST(test_soft_reject_and_greylist)
{
    ck_assert_int_eq(answer("{\"score\":1,\"action\":\"soft reject\",\"messages\":"
                            "{\"smtp_message\":\"Later please\"}}", 0), 0);
    ck_assert_str_eq(a.verdict, "tempfail 451 4.7.1 Later please");
    op_is(1, OP_FACT, 0, "rspamd.action", "soft_reject");
    ck_assert_int_eq(answer("{\"score\":5,\"action\":\"greylist\"}", 0), 0);
    ck_assert_str_eq(a.verdict, "tempfail 451 4.7.1 Try again later");
    cfg.greylist_continue = 1;
    ck_assert_int_eq(answer("{\"score\":5,\"action\":\"greylist\"}", 0), 0);
    ck_assert_str_eq(a.verdict, "continue");
    op_is(1, OP_FACT, 0, "rspamd.action", "greylist");
}
END_TEST

START_TEST(test_no_action)
{
    ck_assert_int_eq(answer("{\"score\":-0.5,\"action\":\"no action\"}", 0), 0);
    ck_assert_str_eq(a.verdict, "continue");
    ck_assert_uint_eq(a.nops, 2);
    op_is(0, OP_FACT, 0, "rspamd.score", "-0.50");
    op_is(1, OP_FACT, 0, "rspamd.action", "no_action");
    ck_assert_str_eq(a.action, "no_action");
}
END_TEST

START_TEST(test_rewrite_subject)
{
    ck_assert_int_eq(answer("{\"score\":9,\"action\":\"rewrite subject\",\"subject\":\"[SPAM] hello\"}", 0), 0);
    ck_assert_str_eq(a.verdict, "continue");
    ck_assert_uint_eq(a.nops, 3);
    op_is(2, OP_CHANGE, 1, "Subject", " [SPAM] hello");
    ck_assert_int_eq(a.op[2].adds, 0);
    /* no Subject in the message: one is added */
    ck_assert_int_eq(answer("{\"score\":9,\"action\":\"rewrite subject\",\"subject\":\"[SPAM] \"}",
                            "From: a@example.org\r\n\r\nSubject: x\r\n"), 0);
    op_is(2, OP_CHANGE, 1, "Subject", " [SPAM] ");
    ck_assert_int_eq(a.op[2].adds, 1);
}
END_TEST

START_TEST(test_add_header_action)
{
    /* every X-Spam but the first deleted (the last first), the first set */
    ck_assert_int_eq(answer("{\"score\":7,\"action\":\"add header\"}",
                            "X-Spam: a\r\nFrom: x\r\nx-spam: b\r\nX-SPAM:c\r\n\r\nX-Spam: body\r\n"), 0);
    ck_assert_str_eq(a.verdict, "continue");
    ck_assert_uint_eq(a.nops, 5);
    op_is(2, OP_CHANGE, 3, "X-Spam", "-");
    op_is(3, OP_CHANGE, 2, "X-Spam", "-");
    op_is(4, OP_CHANGE, 1, "X-Spam", " Yes");
    /* none there: added */
    ck_assert_int_eq(answer("{\"score\":7,\"action\":\"add header\"}", 0), 0);
    ck_assert_uint_eq(a.nops, 3);
    op_is(2, OP_CHANGE, 1, "X-Spam", " Yes");
    ck_assert_int_eq(a.op[2].adds, 1);
    /* -H, and the spam_header of the milter block */
    cfg.spam_header = "X-Is-Spam";
    ck_assert_int_eq(answer("{\"score\":7,\"action\":\"add header\",\"milter\":{\"spam_header\":\"yes 7\"}}",
                            0), 0);
    op_is(2, OP_CHANGE, 1, "X-Is-Spam", " yes 7");
    ck_assert_int_eq(answer("{\"score\":7,\"action\":\"add header\",\"milter\":{\"spam_header\":"
                            "{\"X-Junk\":\"true\"}}}", 0), 0);
    op_is(2, OP_CHANGE, 1, "X-Junk", " true");
}
END_TEST

START_TEST(test_other_actions)
{
    ck_assert_int_eq(answer("{\"score\":7,\"action\":\"discard\"}", 0), 0);
    ck_assert_str_eq(a.verdict, "discard");
    ck_assert_int_eq(answer("{\"score\":7,\"action\":\"quarantine\"}", 0), 0);
    ck_assert_str_eq(a.verdict, "continue");
    op_is(2, OP_QUARANTINE, 0, 0, "rspamd");
}
END_TEST

/* --- the milter block ---------------------------------------------------- */

START_TEST(test_remove_headers)
{
    const char *m = "X-A: 1\r\nX-B: 1\r\nX-A: 2\r\nX-A: 3\r\n\r\n";
    ck_assert_int_eq(answer("{\"score\":0,\"action\":\"no action\",\"milter\":"
                            "{\"remove_headers\":{\"X-A\":0}}}", m), 0);
    ck_assert_uint_eq(a.nops, 5);
    op_is(2, OP_CHANGE, 3, "X-A", "-");
    op_is(3, OP_CHANGE, 2, "X-A", "-");
    op_is(4, OP_CHANGE, 1, "X-A", "-");
    ck_assert_int_eq(answer("{\"score\":0,\"action\":\"no action\",\"milter\":"
                            "{\"remove_headers\":{\"X-A\":-1,\"x-b\":1,\"X-C\":1,\"X-B\":\"1\"}}}", m), 0);
    ck_assert_uint_eq(a.nops, 4);
    op_is(2, OP_CHANGE, 3, "X-A", "-");
    op_is(3, OP_CHANGE, 1, "x-b", "-");
    /* beyond what is there: nothing */
    ck_assert_int_eq(answer("{\"score\":0,\"action\":\"no action\",\"milter\":"
                            "{\"remove_headers\":{\"X-A\":4,\"X-B\":-2}}}", m), 0);
    ck_assert_uint_eq(a.nops, 2);
    ck_assert_int_eq(answer("{\"score\":0,\"action\":\"no action\",\"milter\":"
                            "{\"remove_headers\":{\"X-A\":-3}}}", m), 0);
    op_is(2, OP_CHANGE, 1, "X-A", "-");
}
END_TEST

START_TEST(test_add_headers)
{
    /* 3 fields: a string goes at the end, an order where it says */
    ck_assert_int_eq(answer("{\"score\":0,\"action\":\"no action\",\"milter\":{\"add_headers\":{"
                            "\"X-Spamd-Result\":\"default: False [0.00 / 15.00];\\n\\tMIME_GOOD(-0.10)\","
                            "\"Authentication-Results\":{\"value\":\"mx; spf=none\",\"order\":0},"
                            "\"X-Last\":{\"value\":\"1\",\"order\":-1},"
                            "\"X-Two\":[\"a\",{\"value\":\"b\",\"index\":1}]}}}", 0), 0);
    ck_assert_str_eq(a.verdict, "continue");
    ck_assert_uint_eq(a.nops, 7);
    op_is(2, OP_INSERT, 3, "X-Spamd-Result", " default: False [0.00 / 15.00];\r\n\tMIME_GOOD(-0.10)");
    op_is(3, OP_INSERT, 0, "Authentication-Results", " mx; spf=none");
    op_is(4, OP_INSERT, 5, "X-Last", " 1");     /* 5 fields by then */
    op_is(5, OP_INSERT, 6, "X-Two", " a");
    op_is(6, OP_INSERT, 1, "X-Two", " b");
    /* an order beyond the end: at the end */
    ck_assert_int_eq(answer("{\"score\":0,\"action\":\"no action\",\"milter\":{\"add_headers\":{"
                            "\"X-Far\":{\"value\":\"1\",\"order\":99},"
                            "\"X-Before\":{\"value\":\"1\",\"order\":-99}}}}", 0), 0);
    op_is(2, OP_INSERT, 3, "X-Far", " 1");
    op_is(3, OP_INSERT, 0, "X-Before", " 1");
}
END_TEST

START_TEST(test_bad_fields_left_out)
{
    ck_assert_int_eq(answer("{\"score\":0,\"action\":\"no action\",\"milter\":{\"add_headers\":{"
                            "\"X-8bit\":\"caf\\u00e9\",\"X-Cr\":\"a\\rb\",\"Bad Name\":\"x\","
                            "\"X-Fold-End\":\"a\\n\",\"X-Ok\":\"fine\"}}}", 0), 0);
    ck_assert_uint_eq(a.nops, 3);
    op_is(2, OP_INSERT, 3, "X-Ok", " fine");
}
END_TEST

START_TEST(test_no_action_flag)
{
    ck_assert_int_eq(answer("{\"score\":20,\"action\":\"reject\",\"milter\":{\"no_action\":true}}", 0), 0);
    ck_assert_str_eq(a.verdict, "continue");
    op_is(2, OP_INSERT, 3, "X-Rspamd-Action", " reject");
}
END_TEST

START_TEST(test_dkim_signature)
{
    ck_assert_int_eq(answer("{\"score\":0,\"action\":\"no action\",\"dkim-signature\":[\"v=1; a\",\"v=1; b\"]}",
                            0), 0);
    op_is(2, OP_INSERT, 0, "DKIM-Signature", " v=1; a");
    op_is(3, OP_INSERT, 1, "DKIM-Signature", " v=1; b");
}
END_TEST

START_TEST(test_too_many_changes)
{
    char m[16384];
    size_t n = 0;
    int i;
    for (i = 0; i < 250; i++) n += (size_t)snprintf(m + n, sizeof m - n, "X-Spam: %d\r\n", i);
    snprintf(m + n, sizeof m - n, "\r\nbody\r\n");
    ck_assert_int_eq(answer("{\"score\":7,\"action\":\"add header\"}", m), -1);
    ck_assert_ptr_nonnull(strstr(why, "changes"));
    ck_assert_uint_eq(a.nops, 0);
}
END_TEST

/* --- score --------------------------------------------------------------- */

START_TEST(test_points)
{
    cfg.points = 1;
    ck_assert_int_eq(answer("{\"score\":7.46,\"action\":\"no action\"}", 0), 0);
    op_is(0, OP_FACT, 0, "rspamd.score", "7.46");
    ck_assert_uint_eq(a.nops, 3);
    ck_assert_int_eq(a.op[2].kind, OP_SCORE);
    ck_assert_int_eq(a.op[2].points, 7);
    cfg.points = 10;
    ck_assert_int_eq(answer("{\"score\":-2.46,\"action\":\"no action\"}", 0), 0);
    ck_assert_int_eq(a.op[2].points, -25);
    /* no points: no score line */
    ck_assert_int_eq(answer("{\"score\":0.02,\"action\":\"no action\"}", 0), 0);
    ck_assert_uint_eq(a.nops, 2);
    ck_assert_int_eq(answer("{\"score\":1e300,\"action\":\"no action\"}", 0), -1);
}
END_TEST

/* --- nonsense ------------------------------------------------------------ */

START_TEST(test_nonsense_refused)
{
    static const char *const bad[] = {
        "", "not json", "[1,2]", "{\"score\":1}", "{\"action\":\"reject\"}",
        "{\"score\":\"1\",\"action\":\"reject\"}", "{\"score\":1,\"action\":7}",
        "{\"score\":1,\"action\":\"launch missiles\"}", "{\"score\":1,\"action\":\"reject\"",
        "{\"score\":1,\"action\":\"a very long action name beyond reason\"}",
        "{\"score\":1,\"action\":\"rej\\u0000ect\"}",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(answer(bad[i], 0) == -1, "accepted: %s", bad[i]);
        ck_assert_uint_eq(a.nops, 0);
        ck_assert_uint_gt(strlen(why), 0);
    }
}
END_TEST

/* A reply larger than the parser's arena (its values then come from
 * malloc), and the arena used again by the next reply. */
START_TEST(test_large_reply)
{
    static char big[400000];
    size_t n = 0;
    int i;
    n += (size_t)snprintf(big + n, sizeof big - n, "{\"score\":3.5,\"action\":\"reject\",\"symbols\":{");
    for (i = 0; i < 4000; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"SYMBOL_%d\":{\"name\":\"SYMBOL_%d\",\"score\":0.5,"
                              "\"options\":[\"a\",\"b\"]}", i ? "," : "", i, i);
    n += (size_t)snprintf(big + n, sizeof big - n, "},\"messages\":{\"smtp_message\":\"Big one\"}}");
    ck_assert_uint_lt(n, sizeof big - 1);
    ck_assert_int_eq(answer(big, 0), 0);
    ck_assert_str_eq(a.verdict, "reject 554 5.7.1 Big one");
    ck_assert_int_eq(answer("{\"score\":1,\"action\":\"no action\"}", 0), 0);
    ck_assert_str_eq(a.verdict, "continue");
    ck_assert_int_eq(answer(big, 0), 0);
    op_is(0, OP_FACT, 0, "rspamd.score", "3.50");
}
END_TEST

/* --- the message's header fields ----------------------------------------- */

START_TEST(test_count_fields)
{
    struct rspamd_headers h = headers("Received: a\r\n b\r\nX-Spam: 1\r\nx-spam : 2\r\nX-Spamd: 3\r\n"
                                      "X-SPAM:4\r\n\tfolded X-Spam: 5\r\n\r\nX-Spam: body\r\n");
    ck_assert_uint_eq(h.count(h.ctx, 0), 5);
    ck_assert_uint_eq(h.count(h.ctx, "X-Spam"), 2);
    ck_assert_uint_eq(h.count(h.ctx, "received"), 1);
    ck_assert_uint_eq(h.count(h.ctx, "Subject"), 0);
    h = headers("");
    ck_assert_uint_eq(h.count(h.ctx, 0), 0);
    /* a message that starts further on (the one before it on fd 3) */
    h = headers("X-Spam: 0\r\n\r\nbody\r\nX-Spam: 1\r\nSubject: x\r\n\r\nX-Spam: body\r\n");
    ck_assert_uint_eq(rspamd_count_fields(fileno(msg), 19, "X-Spam"), 1);
    ck_assert_uint_eq(rspamd_count_fields(fileno(msg), 19, 0), 2);
    ck_assert_uint_eq(rspamd_count_fields(fileno(msg), 0, 0), 1);
}
END_TEST

static Suite *rspamd_suite(void)
{
    Suite *s = suite_create("smtp-rspamd");
    TCase *http_tc = tcase_create("http"), *actions = tcase_create("actions"),
          *milter = tcase_create("milter"), *other = tcase_create("other");
    tcase_add_test(http_tc, test_http_complete_with_content_length);
    tcase_add_test(http_tc, test_http_incomplete_waits);
    tcase_add_test(http_tc, test_http_refused);
    tcase_add_checked_fixture(actions, setup, teardown);
    tcase_add_test(actions, test_reject_with_rspamds_text);
    tcase_add_test(actions, test_reject_default_text);
    tcase_add_test(actions, test_reject_discard_or_quarantine);
    tcase_add_test(actions, test_soft_reject_and_greylist);
    tcase_add_test(actions, test_no_action);
    tcase_add_test(actions, test_rewrite_subject);
    tcase_add_test(actions, test_add_header_action);
    tcase_add_test(actions, test_other_actions);
    tcase_add_checked_fixture(milter, setup, teardown);
    tcase_add_test(milter, test_remove_headers);
    tcase_add_test(milter, test_add_headers);
    tcase_add_test(milter, test_bad_fields_left_out);
    tcase_add_test(milter, test_no_action_flag);
    tcase_add_test(milter, test_dkim_signature);
    tcase_add_test(milter, test_too_many_changes);
    tcase_add_checked_fixture(other, setup, teardown);
    tcase_add_test(other, test_points);
    tcase_add_test(other, test_nonsense_refused);
    tcase_add_test(other, test_large_reply);
    tcase_add_test(other, test_count_fields);
    suite_add_tcase(s, http_tc);
    suite_add_tcase(s, actions);
    suite_add_tcase(s, milter);
    suite_add_tcase(s, other);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rspamd_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
