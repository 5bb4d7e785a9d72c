/* smtp-spamd: scores, the request, spamd's answers read from a socket
 * (spamd 4's own bytes, errors, nonsense), the rules hit from SYMBOLS and
 * REPORT, the header fields made of them (valid, folded, bounded), the
 * refusal and the points. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "filterproto.h"
#include "header.h"
#include "spamd.h"

/* What spamd 4.0.1 answered to REPORT for a GTUBE message (captured). */
static const char report_answer[] =
    "SPAMD/1.1 0 EX_OK\r\n"
    "Content-length: 927\r\n"
    "Spam: True ; 1002.7 / 5.0\r\n"
    "\r\n"
    "Spam detection software, running on the system \"vm\",\n"
    "has identified this incoming email as possible spam.  The original\n"
    "message has been attached to this so you can view it or label\n"
    "similar future email.  If you have any questions, see\n"
    "@@CONTACT_ADDRESS@@ for details.\n"
    "\n"
    "Content preview:  XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n"
    "   \n"
    "\n"
    "Content analysis details:   (1002.7 points, 5.0 required)\n"
    "\n"
    " pts rule name              description\n"
    "---- ---------------------- --------------------------------------------------\n"
    " 2.7 MISSING_DATE           Missing Date: header\n"
    "-0.0 NO_RECEIVED            Informational: message has no Received headers\n"
    " 0.0 MSGID_SHORT            Message-ID is unusually short\n"
    "-0.0 NO_RELAYS              Informational: message was not relayed via SMTP\n"
    "1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email\n"
    " 0.0 TVD_SPACE_RATIO        No description available.\n"
    "\n";

static const char symbols_answer[] =
    "SPAMD/1.1 0 EX_OK\r\n"
    "Content-length: 33\r\n"
    "Spam: False ; -0.0 / 5.0\r\n"
    "\r\n"
    "MSGID_SHORT,NO_RECEIVED,NO_RELAYS";

static struct spamd_reply reply;

/* Answer `s` (n octets) on a socket and read it: 0 or -1. */
static int read_answer(const char *s, size_t n, char *why, size_t size)
{
    int sv[2], e;
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(write(sv[1], s, n), (ssize_t)n);
    close(sv[1]);
    why[0] = 0;
    e = spamd_reply_read(sv[0], deadline_in_seconds(5), &reply, why, size);
    close(sv[0]);
    if (e < 0) ck_assert(why[0] != 0);
    return e;
}

START_TEST(test_scores)
{
    long v;
    ck_assert(spamd_score_parse("1002.7", 6, &v) && v == 1002700);
    ck_assert(spamd_score_parse("-0.0", 4, &v) && v == 0);
    ck_assert(spamd_score_parse("-1.25", 5, &v) && v == -1250);
    ck_assert(spamd_score_parse("5", 1, &v) && v == 5000);
    ck_assert(spamd_score_parse("1000000", 7, &v) && v == 1000000000L);
    ck_assert(!spamd_score_parse("1000001", 7, &v));
    ck_assert(!spamd_score_parse("", 0, &v));
    ck_assert(!spamd_score_parse("-", 1, &v));
    ck_assert(!spamd_score_parse("1.", 2, &v));
    ck_assert(!spamd_score_parse(".5", 2, &v));
    ck_assert(!spamd_score_parse("1.2345", 6, &v));
    ck_assert(!spamd_score_parse("+1", 2, &v));
    ck_assert(!spamd_score_parse("1e3", 3, &v));
    ck_assert(!spamd_score_parse("99999999999999999999", 20, &v));
}
END_TEST

START_TEST(test_request)
{
    struct spamd_config cfg;
    char out[256];
    spamd_config_init(&cfg);
    ck_assert_uint_gt(spamd_request(&cfg, 1234, out, sizeof out), 0);
    ck_assert_str_eq(out, "SYMBOLS SPAMC/1.5\r\nContent-length: 1234\r\n\r\n");
    cfg.method = METHOD_REPORT;
    strcpy(cfg.user, "mail");
    spamd_request(&cfg, 0, out, sizeof out);
    ck_assert_str_eq(out, "REPORT SPAMC/1.5\r\nContent-length: 0\r\nUser: mail\r\n\r\n");
    ck_assert_uint_eq(spamd_request(&cfg, 0, out, 10), 0);
}
END_TEST

START_TEST(test_answers_of_spamd)
{
    char why[300], tests[SPAMD_STATUS_MAX];
    ck_assert_int_eq(read_answer(report_answer, sizeof report_answer - 1, why, sizeof why), 0);
    ck_assert_int_eq(reply.spam, 1);
    ck_assert_int_eq(reply.score, 1002700);
    ck_assert_int_eq(reply.threshold, 5000);
    ck_assert_str_eq(reply.score_text, "1002.7");
    ck_assert_uint_eq(reply.bodylen, 927);
    ck_assert_int_eq(spamd_tests(METHOD_REPORT, reply.body, reply.bodylen, tests, sizeof tests), 0);
    ck_assert_str_eq(tests, "MISSING_DATE,NO_RECEIVED,MSGID_SHORT,NO_RELAYS,GTUBE,TVD_SPACE_RATIO");
    ck_assert_int_eq(read_answer(symbols_answer, sizeof symbols_answer - 1, why, sizeof why), 0);
    ck_assert_int_eq(reply.spam, 0);
    ck_assert_int_eq(reply.score, 0);
    ck_assert_str_eq(reply.score_text, "-0.0");
    ck_assert_int_eq(spamd_tests(METHOD_SYMBOLS, reply.body, reply.bodylen, tests, sizeof tests), 0);
    ck_assert_str_eq(tests, "MSGID_SHORT,NO_RECEIVED,NO_RELAYS");
}
END_TEST

START_TEST(test_errors_and_nonsense)
{
    static const char *bad[] = {
        "SPAMD/1.0 76 Bad header line: (Content-Length mismatch)\r\n",
        "SPAMD/1.0 69 Service Unavailable: x\r\n",
        "",
        "HTTP/1.1 200 OK\r\n\r\n",
        "SPAMD/1.1 0 EX_OK\n\n",
        "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1.0 / 5.0\r\n\r\n",                     /* no length */
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n",                         /* no Spam */
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; 1.0 / 5.0\r\n\r\nAB", /* short */
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: Maybe ; 1.0 / 5.0\r\n\r\n",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: True ; x / 5.0\r\n\r\n",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: True ; 1.0 / \r\n\r\n",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: True;1.0/5.0\r\n\r\n",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 99999999\r\nSpam: True ; 1.0 / 5.0\r\n\r\n",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nContent-length: 0\r\nSpam: True ; 1.0 / 5.0\r\n\r\n",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nnocolon\r\nSpam: True ; 1.0 / 5.0\r\n\r\n",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: True ; 1.0 / 5.0\r\n",   /* no end of head */
        "SPAMD/ 0 EX_OK\r\n",
        "SPAMD/1.1 00 EX_OK\r\n",
        0,
    };
    char why[300];
    int i;
    for (i = 0; bad[i]; i++)
        ck_assert_msg(read_answer(bad[i], strlen(bad[i]), why, sizeof why) == -1, "took %s", bad[i]);
    read_answer(bad[0], strlen(bad[0]), why, sizeof why);
    ck_assert_str_eq(why, "spamd said \"SPAMD/1.0 76 Bad header line: (Content-Length mismatch)\"");
}
END_TEST

START_TEST(test_tests_lists)
{
    char out[40];
    ck_assert_int_eq(spamd_tests(METHOD_SYMBOLS, "", 0, out, sizeof out), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(spamd_tests(METHOD_SYMBOLS, "A,B\r\n", 5, out, sizeof out), 0);
    ck_assert_str_eq(out, "A,B");
    ck_assert_int_eq(spamd_tests(METHOD_SYMBOLS, "A,,B", 4, out, sizeof out), -1);
    ck_assert_int_eq(spamd_tests(METHOD_SYMBOLS, "A,B,", 4, out, sizeof out), -1);
    ck_assert_int_eq(spamd_tests(METHOD_SYMBOLS, "A B", 3, out, sizeof out), -1);
    ck_assert_int_eq(spamd_tests(METHOD_SYMBOLS, "A\r\nB", 4, out, sizeof out), -1);
    {
        char name[SPAMD_RULE_MAX + 2];
        memset(name, 'N', sizeof name);
        ck_assert_int_eq(spamd_tests(METHOD_SYMBOLS, name, SPAMD_RULE_MAX + 1, out, sizeof out), -1);
    }
    /* Too many to fit: cut after the last whole name. */
    ck_assert_int_eq(spamd_tests(METHOD_SYMBOLS, "AAAAAAAAAA,BBBBBBBBBB,CCCCCCCCCC,DDDDDDDDDD", 43,
                                 out, sizeof out), 0);
    ck_assert_str_eq(out, "AAAAAAAAAA,BBBBBBBBBB,CCCCCCCCCC");
    ck_assert_int_eq(spamd_tests(METHOD_REPORT, "no table here\n", 14, out, sizeof out), 0);
    ck_assert_str_eq(out, "");
    {
        static const char wrapped[] = "---- ---\n 1.0 URIBL_X   Contains an URL listed in the\n"
                                      "                            URIBL blocklist\n 0.5 OTHER y\n\n";
        ck_assert_int_eq(spamd_tests(METHOD_REPORT, wrapped, sizeof wrapped - 1, out, sizeof out), 0);
        ck_assert_str_eq(out, "URIBL_X,OTHER");
    }
    {
        static const char broken[] = "---- ---\nnot a row\n";
        ck_assert_int_eq(spamd_tests(METHOD_REPORT, broken, sizeof broken - 1, out, sizeof out), -1);
    }
}
END_TEST

/* A valid field, and its "header NAME VALUE" line in xtext fits. */
static void valid_field(const char *name, const char *value, size_t n)
{
    char field[4096], line[FILTERPROTO_LINE_MAX];
    size_t k = (size_t)snprintf(field, sizeof field, "%s: %.*s", name, (int)n, value), len;
    ck_assert_msg(header_field_valid(field, k), "invalid: %s", field);
    len = (size_t)snprintf(line, sizeof line, "header %s", name);
    ck_assert_int_eq(filterproto_field(line, sizeof line - 1, &len, value, n), 0);
}

START_TEST(test_fields_valid_folded_bounded)
{
    static char value[SPAMD_STATUS_MAX + 1], tests[SPAMD_STATUS_MAX];
    char why[300], *p;
    size_t n, i;
    read_answer(report_answer, sizeof report_answer - 1, why, sizeof why);
    spamd_tests(METHOD_REPORT, reply.body, reply.bodylen, tests, sizeof tests);
    n = spamd_status_field(&reply, tests, value, sizeof value);
    ck_assert_uint_eq(n, strlen(value));
    ck_assert(!strncmp(value, "Yes, score=1002.7 required=5.0 tests=MISSING_DATE,", 50));
    valid_field("X-Spam-Status", value, n);
    for (p = value; (p = strstr(p, "\r\n")); p += 2) ck_assert_int_eq(p[2], '\t');
    n = spamd_report_field(reply.body, reply.bodylen, value, sizeof value);
    ck_assert(!strncmp(value, "Content analysis details:   (1002.7 points, 5.0 required)\r\n\tpts rule name", 73));
    valid_field("X-Spam-Report", value, n);
    /* Many long rule names: the value stays within its size, lines short. */
    for (i = 0; i + 31 < sizeof tests; i += 31) memcpy(tests + i, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_123,", 31);
    tests[i - 1] = 0;
    n = spamd_status_field(&reply, tests, value, sizeof value);
    ck_assert_uint_lt(n, sizeof value);
    valid_field("X-Spam-Status", value, n);
    /* A report of spaces (three octets each in xtext), then one of
     * control bytes, and long lines. */
    {
        static char body[5000];
        memset(body, ' ', sizeof body);
        for (i = 0; i < sizeof body; i += 7) body[i] = i % 150 < 7 ? '\n' : 'x';
        n = spamd_report_field(body, sizeof body, value, sizeof value);
        ck_assert_uint_gt(n, 1000);
        valid_field("X-Spam-Report", value, n);
        memset(body, '\x01', sizeof body);
        for (i = 300; i < sizeof body; i += 300) body[i] = '\n';
        n = spamd_report_field(body, sizeof body, value, sizeof value);
        ck_assert_uint_lt(n, sizeof value);
        valid_field("X-Spam-Report", value, n);
    }
}
END_TEST

START_TEST(test_refusal_and_points)
{
    struct spamd_config cfg;
    char line[1024], why[300];
    spamd_config_init(&cfg);
    read_answer(report_answer, sizeof report_answer - 1, why, sizeof why);
    ck_assert_int_eq(spamd_refused(&cfg, &reply, line, sizeof line), 0);
    cfg.refuse = REFUSE_SPAM;
    ck_assert_int_eq(spamd_refused(&cfg, &reply, line, sizeof line), 1);
    ck_assert_str_eq(line, "reject 550 5.7.1 Message refused as spam, score 1002.7");
    cfg.refuse = REFUSE_POINTS;
    cfg.refuse_at = 1002700;
    cfg.code = 554;
    ck_assert_int_eq(spamd_refused(&cfg, &reply, line, sizeof line), 1);
    ck_assert_str_eq(line, "reject 554 5.7.1 Message refused as spam, score 1002.7");
    cfg.refuse_at = 1002800;
    ck_assert_int_eq(spamd_refused(&cfg, &reply, line, sizeof line), 0);
    cfg.points = 10;
    ck_assert_int_eq(spamd_points(&cfg, &reply), 10027);
    reply.score = -1250;
    ck_assert_int_eq(spamd_points(&cfg, &reply), -13);
    reply.score = 1000000000L;
    cfg.points = 1000;
    ck_assert_int_eq(spamd_points(&cfg, &reply), SPAMD_SCORE_MAX);
}
END_TEST

START_TEST(test_scan_nobody_listening)
{
    struct spamd_config cfg;
    char why[300];
    spamd_config_init(&cfg);
    ck_assert_int_eq(endpoint_parse(&cfg.spamd, "unix:/nonexistent/spamd.sock", why, sizeof why), 0);
    ck_assert_int_eq(spamd_scan(&cfg, 0, 0, deadline_in_seconds(5), &reply, why, sizeof why), -1);
    ck_assert_str_eq(why, "unable to connect to spamd unix:/nonexistent/spamd.sock: No such file or directory");
}
END_TEST

static Suite *spamd_suite(void)
{
    Suite *s = suite_create("smtp-spamd");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_scores);
    tcase_add_test(tc, test_request);
    tcase_add_test(tc, test_answers_of_spamd);
    tcase_add_test(tc, test_errors_and_nonsense);
    tcase_add_test(tc, test_tests_lists);
    tcase_add_test(tc, test_fields_valid_folded_bounded);
    tcase_add_test(tc, test_refusal_and_points);
    tcase_add_test(tc, test_scan_nobody_listening);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(spamd_suite());
    int failed;
    signal(SIGPIPE, SIG_IGN);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
