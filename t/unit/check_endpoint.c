/* endpoint: the inet: and unix: forms, every malformed one, and connects
 * that succeed, are refused, or meet their deadline. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "deadline.h"
#include "endpoint.h"

static int parse(struct endpoint *e, const char *s)
{
    char why[128];
    why[0] = 0;
    return endpoint_parse(e, s, why, sizeof why);
}

START_TEST(test_parse_ipv4)
{
    struct endpoint e;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&e.addr;
    ck_assert_int_eq(parse(&e, "inet:127.0.0.1:3310"), 0);
    ck_assert_int_eq(v4->sin_family, AF_INET);
    ck_assert_int_eq(ntohs(v4->sin_port), 3310);
    ck_assert_int_eq(ntohl(v4->sin_addr.s_addr), 0x7f000001);
    ck_assert_int_eq(e.len, sizeof *v4);
    ck_assert_str_eq(e.name, "inet:127.0.0.1:3310");
}
END_TEST

START_TEST(test_parse_ipv6_in_brackets)
{
    struct endpoint e;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&e.addr;
    ck_assert_int_eq(parse(&e, "inet:[::1]:783"), 0);
    ck_assert_int_eq(v6->sin6_family, AF_INET6);
    ck_assert_int_eq(ntohs(v6->sin6_port), 783);
    ck_assert_int_eq(v6->sin6_addr.s6_addr[15], 1);
}
END_TEST

START_TEST(test_parse_unix)
{
    struct endpoint e;
    struct sockaddr_un *un = (struct sockaddr_un *)&e.addr;
    ck_assert_int_eq(parse(&e, "unix:/run/clamav/clamd.ctl"), 0);
    ck_assert_int_eq(un->sun_family, AF_UNIX);
    ck_assert_str_eq(un->sun_path, "/run/clamav/clamd.ctl");
}
END_TEST

START_TEST(test_parse_refuses_malformed)
{
    static const char *bad[] = {
        "", "127.0.0.1:3310", "tcp:127.0.0.1:3310", "inet:", "inet:127.0.0.1",
        "inet:127.0.0.1:", "inet:127.0.0.1:0", "inet:127.0.0.1:65536",
        "inet:127.0.0.1:+5", "inet:127.0.0.1:53x", "inet::3310",
        "inet:localhost:3310", "inet:::1:783", "inet:[::1]783", "inet:[::1:783",
        "inet:[127.0.0.1]:783", "inet:[]:783", "inet:1.2.3:4", "unix:", "unix:relative/path",
        0,
    };
    struct endpoint e;
    int i;
    for (i = 0; bad[i]; i++) {
        char why[128] = "";
        ck_assert_msg(endpoint_parse(&e, bad[i], why, sizeof why) == -1, "accepted %s", bad[i]);
        ck_assert_msg(why[0] != 0, "no reason for %s", bad[i]);
    }
}
END_TEST

START_TEST(test_parse_refuses_too_long)
{
    struct endpoint e;
    char s[300];
    memset(s, 'a', sizeof s);
    memcpy(s, "unix:/", 6);
    s[sizeof s - 1] = 0;
    ck_assert_int_eq(parse(&e, s), -1);
    /* Longer than sun_path but shorter than the name buffer. */
    s[5 + sizeof ((struct sockaddr_un *)0)->sun_path] = 0;
    ck_assert_int_eq(parse(&e, s), -1);
}
END_TEST

static int listen_inet(unsigned short *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

START_TEST(test_connect_inet_and_talk)
{
    struct endpoint e;
    unsigned short port;
    int l = listen_inet(&port), fd, peer;
    char text[64], buf[4];
    snprintf(text, sizeof text, "inet:127.0.0.1:%u", port);
    ck_assert_int_eq(parse(&e, text), 0);
    fd = endpoint_connect(&e, deadline_in_seconds(5));
    ck_assert_int_ge(fd, 0);
    peer = accept(l, 0, 0);
    ck_assert_int_ge(peer, 0);
    ck_assert_int_eq(write(peer, "ok", 2), 2);
    usleep(10000);
    ck_assert_int_eq(read(fd, buf, sizeof buf), 2);
    close(peer);
    close(fd);
    close(l);
}
END_TEST

START_TEST(test_connect_refused)
{
    struct endpoint e;
    unsigned short port;
    int l = listen_inet(&port);
    char text[64];
    close(l);                       /* nothing listens there now */
    snprintf(text, sizeof text, "inet:127.0.0.1:%u", port);
    ck_assert_int_eq(parse(&e, text), 0);
    errno = 0;
    ck_assert_int_eq(endpoint_connect(&e, deadline_in_seconds(5)), -1);
    ck_assert_int_eq(errno, ECONNREFUSED);
}
END_TEST

START_TEST(test_connect_unix_and_missing_socket)
{
    struct endpoint e;
    struct sockaddr_un a;
    char dir[] = "/tmp/check_endpoint.XXXXXX", text[128];
    int l, fd;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s/s", dir);
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(l, 4), 0);
    snprintf(text, sizeof text, "unix:%s", a.sun_path);
    ck_assert_int_eq(parse(&e, text), 0);
    fd = endpoint_connect(&e, deadline_in_seconds(5));
    ck_assert_int_ge(fd, 0);
    close(fd);
    close(l);
    unlink(a.sun_path);
    errno = 0;
    ck_assert_int_eq(endpoint_connect(&e, deadline_in_seconds(5)), -1);
    ck_assert_int_eq(errno, ENOENT);
    rmdir(dir);
}
END_TEST

static Suite *endpoint_suite(void)
{
    Suite *s = suite_create("endpoint");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_ipv4);
    tcase_add_test(tc, test_parse_ipv6_in_brackets);
    tcase_add_test(tc, test_parse_unix);
    tcase_add_test(tc, test_parse_refuses_malformed);
    tcase_add_test(tc, test_parse_refuses_too_long);
    tcase_add_test(tc, test_connect_inet_and_talk);
    tcase_add_test(tc, test_connect_refused);
    tcase_add_test(tc, test_connect_unix_and_missing_socket);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(endpoint_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
