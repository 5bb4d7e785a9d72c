/* smtp-forward: the XCLIENT and XFORWARD commands that tell the smarthost
 * who the client is (client.c): the attributes the smarthost lists, the
 * values in xtext, [UNAVAILABLE] for what is unknown, one line of at most
 * 512 octets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <unistd.h>

#include "client.h"
#include "ehlocache.h"
#include "request.h"

static const unsigned all = CLIENT_ADDR | CLIENT_PORT | CLIENT_NAME | CLIENT_HELO | CLIENT_PROTO;

START_TEST(test_attributes_as_postfix_lists_them)
{
    const char *x = " NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT";
    ck_assert_uint_eq(client_attributes(x, strlen(x)), all);
    x = " name addr";
    ck_assert_uint_eq(client_attributes(x, strlen(x)), CLIENT_NAME | CLIENT_ADDR);
    x = "";
    ck_assert_uint_eq(client_attributes(x, 0), 0);
    /* Whole words only. */
    x = " ADDRESS PORTS XHELO";
    ck_assert_uint_eq(client_attributes(x, strlen(x)), 0);
}
END_TEST

START_TEST(test_xclient_every_attribute)
{
    struct client_info c = { "192.0.2.7", "50000", "mx.example.org", "mx.example.org", "ESMTP" };
    char line[CLIENT_LINE_MAX];
    size_t n = client_command(line, "XCLIENT", all, &c);
    ck_assert_str_eq(line, "XCLIENT ADDR=192.0.2.7 PORT=50000 NAME=mx.example.org"
                           " HELO=mx.example.org PROTO=ESMTP");
    ck_assert_uint_eq(n, strlen(line));
}
END_TEST

START_TEST(test_only_the_listed_attributes)
{
    struct client_info c = { "192.0.2.7", "50000", "mx.example.org", "h", "SMTP" };
    char line[CLIENT_LINE_MAX];
    client_command(line, "XFORWARD", CLIENT_ADDR | CLIENT_HELO, &c);
    ck_assert_str_eq(line, "XFORWARD ADDR=192.0.2.7 HELO=h");
    /* No ADDR listed, or no address known: nothing to say. */
    ck_assert_uint_eq(client_command(line, "XCLIENT", all & ~CLIENT_ADDR, &c), 0);
    c.addr = 0;
    ck_assert_uint_eq(client_command(line, "XCLIENT", all, &c), 0);
}
END_TEST

START_TEST(test_ipv6_prefix)
{
    struct client_info c = { "2001:db8::7", "25", 0, 0, 0 };
    char line[CLIENT_LINE_MAX];
    client_command(line, "XCLIENT", CLIENT_ADDR | CLIENT_PORT, &c);
    ck_assert_str_eq(line, "XCLIENT ADDR=IPV6:2001:db8::7 PORT=25");
}
END_TEST

START_TEST(test_unknown_name_and_helo_unavailable)
{
    struct client_info c = { "192.0.2.7", 0, 0, 0, 0 };
    char line[CLIENT_LINE_MAX];
    client_command(line, "XCLIENT", all, &c);
    /* No port, no protocol: left out; no name, no HELO: [UNAVAILABLE]. */
    ck_assert_str_eq(line, "XCLIENT ADDR=192.0.2.7 NAME=[UNAVAILABLE] HELO=[UNAVAILABLE]");
    c.helo = "with space";
    client_command(line, "XCLIENT", CLIENT_ADDR | CLIENT_HELO, &c);
    ck_assert_str_eq(line, "XCLIENT ADDR=192.0.2.7 HELO=[UNAVAILABLE]");
}
END_TEST

START_TEST(test_only_what_the_smarthost_takes)
{
    /* Postfix refuses the whole XCLIENT for a bad NAME, ADDR or PROTO. */
    struct client_info c = { "192.0.2.7", "99999", "bad_name!", "odd!helo", "FOO" };
    char line[CLIENT_LINE_MAX];
    client_command(line, "XCLIENT", all, &c);
    ck_assert_str_eq(line, "XCLIENT ADDR=192.0.2.7 NAME=[UNAVAILABLE] HELO=odd!helo");
    c.name = "a..b";
    c.port = "0x19";
    c.proto = "SMTP";
    client_command(line, "XCLIENT", all, &c);
    ck_assert_str_eq(line, "XCLIENT ADDR=192.0.2.7 NAME=[UNAVAILABLE] HELO=odd!helo PROTO=SMTP");
    c.name = "Mail-1.Example.ORG";
    c.port = "65535";
    client_command(line, "XCLIENT", all, &c);
    ck_assert_str_eq(line, "XCLIENT ADDR=192.0.2.7 PORT=65535 NAME=Mail-1.Example.ORG HELO=odd!helo PROTO=SMTP");
    /* Not an address: nothing at all. */
    c.addr = "1.2.3";
    ck_assert_uint_eq(client_command(line, "XCLIENT", all, &c), 0);
    c.addr = "unknown";
    ck_assert_uint_eq(client_command(line, "XCLIENT", all, &c), 0);
}
END_TEST

START_TEST(test_values_in_xtext)
{
    struct client_info c = { "192.0.2.7", 0, 0, "a+b=c", 0 };
    char line[CLIENT_LINE_MAX];
    client_command(line, "XCLIENT", CLIENT_ADDR | CLIENT_HELO, &c);
    ck_assert_str_eq(line, "XCLIENT ADDR=192.0.2.7 HELO=a+2Bb+3Dc");
}
END_TEST

START_TEST(test_too_long_helo_unavailable)
{
    char helo[256], name[256], line[CLIENT_LINE_MAX];
    struct client_info c = { "2001:db8:0:0:0:0:0:7", "65535", name, helo, "ESMTP" };
    size_t n;
    /* 255 octets of '+': 765 in xtext, over any line: the HELO name goes;
     * the longest host name (255, four labels) still fits. */
    memset(helo, '+', 255);
    helo[255] = 0;
    memset(name, 'n', 255);
    name[63] = name[127] = name[191] = '.';
    name[255] = 0;
    n = client_command(line, "XCLIENT", all, &c);
    ck_assert_uint_gt(n, 255);
    ck_assert_uint_le(n + 2, CLIENT_LINE_MAX);
    ck_assert_uint_eq(n, strlen(line));
    ck_assert_ptr_nonnull(strstr(line, " NAME=nnnn"));
    ck_assert_ptr_nonnull(strstr(line, " HELO=[UNAVAILABLE] PROTO=ESMTP"));
    /* 255 printable octets that need no encoding fit beside a shorter
     * name; beside the longest they would not. */
    memset(helo, 'h', 255);
    n = client_command(line, "XCLIENT", all, &c);
    ck_assert_ptr_nonnull(strstr(line, " HELO=[UNAVAILABLE]"));
    name[100] = 0;
    n = client_command(line, "XCLIENT", all, &c);
    ck_assert_uint_le(n + 2, CLIENT_LINE_MAX);
    ck_assert_ptr_nonnull(strstr(line, " HELO=hhhh"));
    ck_assert_ptr_nonnull(strstr(line, " NAME=nnnn"));
}
END_TEST

START_TEST(test_from_environment)
{
    struct client_info c;
    setenv("TCPREMOTEIP", "127.0.0.2", 1);
    setenv("TCPREMOTEPORT", "4000", 1);
    setenv("TCPREMOTEHOST", "", 1);
    setenv("NOQUEUE_HELO", "client.example", 1);
    unsetenv("NOQUEUE_PROTO");
    client_from_env(&c);
    ck_assert_str_eq(c.addr, "127.0.0.2");
    ck_assert_str_eq(c.port, "4000");
    ck_assert_ptr_null(c.name);                 /* empty: unknown */
    ck_assert_str_eq(c.helo, "client.example");
    ck_assert_ptr_null(c.proto);
}
END_TEST

/* MAIL's SMTPUTF8, RET and ENVID go on as given; what they need is said. */
START_TEST(test_mail_parameters_passed_as_given)
{
    struct request_mail m;
    char line[REQUEST_LINE_MAX];
    const char *a = "FROM:<j\303\266rg@b\303\274cher.example> SIZE=12 SMTPUTF8 ret=hdrs ENVID=QQ+2B1";
    ck_assert_ptr_null(request_mail(a, strlen(a), &m));
    ck_assert_uint_eq(m.needs, EHLO_SMTPUTF8 | EHLO_DSN);
    ck_assert_int_eq(m.smtputf8, 1);
    request_mail_line(&m, 1, 1, line);
    ck_assert_str_eq(line, "MAIL FROM:<j\303\266rg@b\303\274cher.example> SIZE=12 SMTPUTF8 ret=hdrs ENVID=QQ+2B1");
    a = "FROM:<j\303\266rg@example.org>";
    ck_assert_int_eq(request_mail(a, strlen(a), &m)->code, 553);
    a = "FROM:<a@b.example> SMTPUTF8 SMTPUTF8";
    ck_assert_int_eq(request_mail(a, strlen(a), &m)->code, 501);
    a = "FROM:<a@b.example> RET=ALL";
    ck_assert_int_eq(request_mail(a, strlen(a), &m)->code, 501);
    a = "FROM:<a@b.example> BODY=BINARYMIME";
    ck_assert_int_eq(request_mail(a, strlen(a), &m)->code, 555);
    a = "FROM:<a@b.example> XFOO=1";
    ck_assert_int_eq(request_mail(a, strlen(a), &m)->code, 555);
    a = "FROM:<a@b.example>";
    ck_assert_ptr_null(request_mail(a, strlen(a), &m));
    ck_assert_uint_eq(m.needs, 0);
}
END_TEST

START_TEST(test_rcpt_parameters_passed_as_given)
{
    char line[REQUEST_LINE_MAX];
    unsigned needs;
    const char *a = "TO:<\303\244@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40example.org";
    ck_assert_ptr_null(request_rcpt_esmtp(a, strlen(a), 1, &needs, line));
    ck_assert_str_eq(line, "RCPT TO:<\303\244@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40example.org");
    ck_assert_uint_eq(needs, EHLO_DSN);
    ck_assert_int_eq(request_rcpt_esmtp(a, strlen(a), 0, &needs, line)->code, 553);
    a = "TO:<a@example.org> NOTIFY=NEVER,DELAY";
    ck_assert_int_eq(request_rcpt_esmtp(a, strlen(a), 1, &needs, line)->code, 501);
    a = "TO:<a@example.org> SIZE=1";
    ck_assert_int_eq(request_rcpt_esmtp(a, strlen(a), 1, &needs, line)->code, 555);
    a = "TO:<a@example.org>";
    ck_assert_ptr_null(request_rcpt_esmtp(a, strlen(a), 0, &needs, line));
    ck_assert_uint_eq(needs, 0);
}
END_TEST

START_TEST(test_ehlo_cache)
{
    const char *reply = "250-mx.example.org hello\n250-PIPELINING\n250-SIZE 10240000\n250-dsn\n"
                        "250-SMTPUTF8\n250-CHUNKING\n250 8BITMIME\n";
    struct ehlo_caps c, r;
    char text[EHLO_CACHE_MAX], path[] = "/tmp/check-ehlocache-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    ehlo_caps_parse(&c, reply, strlen(reply));
    ck_assert_uint_eq(c.flags, EHLO_PIPELINING | EHLO_SIZE | EHLO_DSN | EHLO_SMTPUTF8 |
                               EHLO_CHUNKING | EHLO_8BITMIME);
    ck_assert(c.size == 10240000);
    ehlo_cache_format(&c, "192.0.2.1:25", text, sizeof text);
    ck_assert_str_eq(text, "smarthost 192.0.2.1:25\nPIPELINING\nSIZE 10240000\n8BITMIME\n"
                           "SMTPUTF8\nDSN\nCHUNKING\n");
    ck_assert_int_eq(ehlo_cache_read(path, &r), 0);      /* none yet: the default */
    ck_assert_uint_eq(r.flags, EHLO_PIPELINING | EHLO_8BITMIME);
    ck_assert_int_eq(ehlo_cache_write(path, text, strlen(text)), 1);
    ck_assert_int_eq(ehlo_cache_write(path, text, strlen(text)), 0);   /* unchanged */
    ck_assert_int_eq(ehlo_cache_read(path, &r), 1);
    ck_assert_uint_eq(r.flags, c.flags);
    ck_assert(r.size == c.size);
    /* the name line alone: nothing offered */
    ck_assert_int_eq(ehlo_cache_write(path, "smarthost x\n", 12), 1);
    ck_assert_int_eq(ehlo_cache_read(path, &r), 1);
    ck_assert_uint_eq(r.flags, 0);
    unlink(path);
    /* SIZE without a number: no limit given */
    reply = "250-x\n250 SIZE\n";
    ehlo_caps_parse(&c, reply, strlen(reply));
    ck_assert_uint_eq(c.flags, EHLO_SIZE);
    ck_assert(c.size == 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("smtp-forward");
    TCase *tc = tcase_create("client");
    tcase_add_test(tc, test_attributes_as_postfix_lists_them);
    tcase_add_test(tc, test_xclient_every_attribute);
    tcase_add_test(tc, test_only_the_listed_attributes);
    tcase_add_test(tc, test_ipv6_prefix);
    tcase_add_test(tc, test_unknown_name_and_helo_unavailable);
    tcase_add_test(tc, test_only_what_the_smarthost_takes);
    tcase_add_test(tc, test_values_in_xtext);
    tcase_add_test(tc, test_too_long_helo_unavailable);
    tcase_add_test(tc, test_from_environment);
    tcase_add_test(tc, test_mail_parameters_passed_as_given);
    tcase_add_test(tc, test_rcpt_parameters_passed_as_given);
    tcase_add_test(tc, test_ehlo_cache);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
