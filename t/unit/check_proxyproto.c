/* The PROXY protocol header: v1 and v2 parsed, every way of being wrong
 * refused, partial headers waiting, and the reader taking the header and
 * not one octet of what follows. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "proxyproto.h"

static struct proxyproto p;
static char why[200];

static int parse_str(const char *s)
{
    why[0] = 0;
    return proxyproto_parse((const unsigned char *)s, strlen(s), &p, why, sizeof why);
}

/* A v2 header: command, family, the address block and extra octets. */
static size_t v2(unsigned char *out, unsigned cmd, unsigned fam, const unsigned char *addr,
                 size_t alen, size_t extra_len)
{
    static const unsigned char sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                           0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
    size_t len = alen + extra_len;
    memcpy(out, sig, 12);
    out[12] = (unsigned char)(0x20 | cmd);
    out[13] = (unsigned char)fam;
    out[14] = (unsigned char)(len >> 8);
    out[15] = (unsigned char)len;
    memcpy(out + 16, addr, alen);
    return 16 + alen;
}

static const unsigned char tcp4[12] = { 192, 0, 2, 7, 198, 51, 100, 1, 0xC3, 0x50, 0, 25 };

/* The client and the address it reached, as parsed. */
static void expect(const char *src, const char *dst, const char *sport, const char *dport)
{
    ck_assert_int_eq(p.local, 0);
    ck_assert_str_eq(p.src, src);
    ck_assert_str_eq(p.dst, dst);
    ck_assert_str_eq(p.src_port, sport);
    ck_assert_str_eq(p.dst_port, dport);
}

START_TEST(test_v1_tcp4)
{
    const char *h = "PROXY TCP4 192.0.2.7 198.51.100.1 50000 25\r\n";
    ck_assert_int_eq(parse_str(h), (int)strlen(h));
    expect("192.0.2.7", "198.51.100.1", "50000", "25");
}
END_TEST

START_TEST(test_v1_tcp6_canonical)
{
    const char *h = "PROXY TCP6 2001:DB8:0:0:0:0:0:7 ::1 65535 0\r\n";
    ck_assert_int_eq(parse_str(h), (int)strlen(h));
    expect("2001:db8::7", "::1", "65535", "0");
}
END_TEST

START_TEST(test_v1_unknown)
{
    ck_assert_int_eq(parse_str("PROXY UNKNOWN\r\n"), 15);
    ck_assert_str_eq(p.src, "");
    ck_assert_int_eq(p.local, 0);
    ck_assert_int_eq(parse_str("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nEHLO x\r\n"), 35);
    ck_assert_str_eq(p.src, "");
}
END_TEST

START_TEST(test_v1_length_excludes_what_follows)
{
    ck_assert_int_eq(parse_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nEHLO x\r\n"), 32);
}
END_TEST

START_TEST(test_v1_partial_needs_more)
{
    ck_assert_int_eq(parse_str(""), 0);
    ck_assert_int_eq(parse_str("PRO"), 0);
    ck_assert_int_eq(parse_str("PROXY "), 0);
    ck_assert_int_eq(parse_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2"), 0);
    ck_assert_int_eq(parse_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"), 0);
}
END_TEST

START_TEST(test_v1_malformed)
{
    static const char *bad[] = {
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",          /* bare LF */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r2\r\n",       /* bare CR */
        "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",       /* two spaces */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",          /* a field missing */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",      /* one too many */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",       /* trailing space */
        "PROXY TCP4 ::1 ::2 1 2\r\n",                /* family mismatch */
        "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",    /* port out of range */
        "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",       /* leading zero */
        "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
        "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY UNKNOWNX\r\n",
        "PROXY\r\n",
        "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "EHLO example.org\r\n",                      /* garbage instead */
        "GET / HTTP/1.0\r\n",
        "X",
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(parse_str(bad[i]) == -1, "accepted: %s", bad[i]);
        ck_assert_msg(why[0] != 0, "no reason for: %s", bad[i]);
    }
    /* A NUL inside. */
    ck_assert_int_eq(proxyproto_parse((const unsigned char *)"PROXY TCP4 1.2\0.3.4 5.6.7.8 1 2\r\n", 33,
                                      &p, why, sizeof why), -1);
}
END_TEST

START_TEST(test_v1_too_long)
{
    char h[200];
    /* 107 octets without CRLF: refused; 107 with it: the longest allowed. */
    memset(h, 'x', sizeof h);
    memcpy(h, "PROXY UNKNOWN ", 14);
    ck_assert_int_eq(proxyproto_parse((unsigned char *)h, 107, &p, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "too long"));
    ck_assert_int_eq(proxyproto_parse((unsigned char *)h, 106, &p, why, sizeof why), 0);
    memcpy(h + 105, "\r\n", 2);
    ck_assert_int_eq(proxyproto_parse((unsigned char *)h, 107, &p, why, sizeof why), 107);
    memcpy(h + 105, "xx\r\n", 4);
    ck_assert_int_eq(proxyproto_parse((unsigned char *)h, 109, &p, why, sizeof why), -1);
}
END_TEST

START_TEST(test_v2_tcp4)
{
    unsigned char h[64];
    size_t n = v2(h, 1, 0x11, tcp4, sizeof tcp4, 0);
    memcpy(h + n, "EHLO", 4);
    ck_assert_int_eq(proxyproto_parse(h, n + 4, &p, why, sizeof why), 28);
    expect("192.0.2.7", "198.51.100.1", "50000", "25");
}
END_TEST

START_TEST(test_v2_tcp6)
{
    unsigned char addr[36] = { 0x20, 0x01, 0x0d, 0xb8 }, h[64];
    size_t n;
    addr[15] = 7;
    addr[31] = 1;
    addr[32] = 0x12; addr[33] = 0x34;
    addr[34] = 0; addr[35] = 25;
    n = v2(h, 1, 0x21, addr, sizeof addr, 0);
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), 52);
    expect("2001:db8::7", "::1", "4660", "25");
}
END_TEST

START_TEST(test_v2_local_and_unspec)
{
    unsigned char h[64];
    size_t n = v2(h, 0, 0x00, tcp4, 0, 0);
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), 16);
    ck_assert_int_eq(p.local, 1);
    ck_assert_str_eq(p.src, "");
    /* LOCAL with addresses (HAProxy's checks may send them): skipped. */
    n = v2(h, 0, 0x11, tcp4, sizeof tcp4, 0);
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), 28);
    ck_assert_int_eq(p.local, 1);
    ck_assert_str_eq(p.src, "");
    n = v2(h, 1, 0x00, tcp4, 0, 0);
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), 16);
    ck_assert_int_eq(p.local, 0);
    ck_assert_str_eq(p.src, "");
}
END_TEST

START_TEST(test_v2_tlvs_skipped_within_bound)
{
    unsigned char h[2048];
    size_t n = v2(h, 1, 0x11, tcp4, sizeof tcp4, PROXYPROTO_EXTRA_MAX);
    /* One NOOP TLV filling the extra octets exactly. */
    h[n] = 0x04;
    h[n + 1] = (PROXYPROTO_EXTRA_MAX - 3) >> 8;
    h[n + 2] = (PROXYPROTO_EXTRA_MAX - 3) & 0xFF;
    memset(h + n + 3, 0, PROXYPROTO_EXTRA_MAX - 3);
    n += PROXYPROTO_EXTRA_MAX;
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), (int)n);
    ck_assert_str_eq(p.src, "192.0.2.7");
    ck_assert_int_eq(proxyproto_parse(h, n - 1, &p, why, sizeof why), 0);
    /* One more octet: over the bound, refused at once from the length. */
    n = v2(h, 1, 0x11, tcp4, sizeof tcp4, PROXYPROTO_EXTRA_MAX + 1);
    ck_assert_int_eq(proxyproto_parse(h, 16, &p, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "extra data"));
}
END_TEST

START_TEST(test_v2_malformed)
{
    unsigned char h[128];
    size_t n;
    n = v2(h, 1, 0x11, tcp4, sizeof tcp4, 0);
    h[12] = 0x11;                                   /* version 1 */
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), -1);
    h[12] = 0x22;                                   /* command 2 */
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), -1);
    h[12] = 0x21;
    h[13] = 0x12;                                   /* UDP */
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), -1);
    h[13] = 0x31;                                   /* UNIX */
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), -1);
    h[13] = 0x21;                                   /* TCP6 but 12 octets */
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), -1);
    h[7] = 0x52;                                    /* signature */
    h[13] = 0x11;
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), -1);
    ck_assert_int_eq(proxyproto_parse(h, 8, &p, why, sizeof why), -1);
    /* A TLV running past the header's length. */
    n = v2(h, 1, 0x11, tcp4, sizeof tcp4, 4);
    h[n] = 0x04; h[n + 1] = 0; h[n + 2] = 2; h[n + 3] = 0;
    ck_assert_int_eq(proxyproto_parse(h, n + 4, &p, why, sizeof why), -1);
    /* A TLV cut in its own header. */
    n = v2(h, 1, 0x11, tcp4, sizeof tcp4, 2);
    h[n] = 0x04; h[n + 1] = 0;
    ck_assert_int_eq(proxyproto_parse(h, n + 2, &p, why, sizeof why), -1);
}
END_TEST

START_TEST(test_v2_partial_needs_more)
{
    unsigned char h[64];
    size_t n = v2(h, 1, 0x11, tcp4, sizeof tcp4, 0), i;
    for (i = 0; i < n; i++) ck_assert_int_eq(proxyproto_parse(h, i, &p, why, sizeof why), 0);
    ck_assert_int_eq(proxyproto_parse(h, n, &p, why, sizeof why), (int)n);
}
END_TEST

/* The reader over a socket pair. */
static int pair[2];

static void pair_open(void)
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    fcntl(pair[0], F_SETFL, O_NONBLOCK);
}

static void pair_close(void)
{
    close(pair[0]);
    close(pair[1]);
}

START_TEST(test_read_takes_the_header_only)
{
    const char msg[] = "PROXY TCP4 192.0.2.7 198.51.100.1 50000 25\r\nEHLO x\r\n";
    char rest[32];
    pair_open();
    ck_assert_int_eq(write(pair[1], msg, sizeof msg - 1), (ssize_t)sizeof msg - 1);
    ck_assert_int_eq(proxyproto_read(pair[0], deadline_in_ms(2000), &p, why, sizeof why), 0);
    ck_assert_str_eq(p.src, "192.0.2.7");
    ck_assert_int_eq(read(pair[0], rest, sizeof rest), 8);
    ck_assert_int_eq(memcmp(rest, "EHLO x\r\n", 8), 0);
    pair_close();
}
END_TEST

START_TEST(test_read_in_pieces)
{
    unsigned char h[64];
    size_t n = v2(h, 1, 0x11, tcp4, sizeof tcp4, 0);
    char rest[8];
    pid_t pid;
    pair_open();
    memcpy(h + n, "QUIT", 4);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* One octet every few milliseconds. */
        size_t i;
        for (i = 0; i < n + 4; i++) {
            if (write(pair[1], h + i, 1) != 1) _exit(1);
            usleep(2000);
        }
        _exit(0);
    }
    ck_assert_int_eq(proxyproto_read(pair[0], deadline_in_ms(5000), &p, why, sizeof why), 0);
    ck_assert_str_eq(p.src, "192.0.2.7");
    usleep(50000);
    ck_assert_int_eq(read(pair[0], rest, sizeof rest), 4);
    pair_close();
}
END_TEST

START_TEST(test_read_timeout_eof_garbage)
{
    pair_open();
    ck_assert_int_eq(write(pair[1], "PROXY TCP4 1.2.3.4", 18), 18);
    ck_assert_int_eq(proxyproto_read(pair[0], deadline_in_ms(200), &p, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "timeout"));
    close(pair[1]);
    ck_assert_int_eq(proxyproto_read(pair[0], deadline_in_ms(200), &p, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "end of file"));
    close(pair[0]);

    pair_open();
    ck_assert_int_eq(write(pair[1], "EHLO x\r\n", 8), 8);
    ck_assert_int_eq(proxyproto_read(pair[0], deadline_in_ms(200), &p, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "not a PROXY header"));
    pair_close();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("proxyproto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_v1_tcp4);
    tcase_add_test(tc, test_v1_tcp6_canonical);
    tcase_add_test(tc, test_v1_unknown);
    tcase_add_test(tc, test_v1_length_excludes_what_follows);
    tcase_add_test(tc, test_v1_partial_needs_more);
    tcase_add_test(tc, test_v1_malformed);
    tcase_add_test(tc, test_v1_too_long);
    tcase_add_test(tc, test_v2_tcp4);
    tcase_add_test(tc, test_v2_tcp6);
    tcase_add_test(tc, test_v2_local_and_unspec);
    tcase_add_test(tc, test_v2_tlvs_skipped_within_bound);
    tcase_add_test(tc, test_v2_malformed);
    tcase_add_test(tc, test_v2_partial_needs_more);
    tcase_add_test(tc, test_read_takes_the_header_only);
    tcase_add_test(tc, test_read_in_pieces);
    tcase_add_test(tc, test_read_timeout_eof_garbage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;
    signal(SIGPIPE, SIG_IGN);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
