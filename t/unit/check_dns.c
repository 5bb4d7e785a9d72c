/* lib/dns: server addresses, reverse names, and queries against a small
 * server forked here that answers from a table built in the test (A,
 * AAAA, TXT of several strings, MX, PTR, NXDOMAIN, no data, server
 * failure, a CNAME before the answer, a malformed answer), and against a
 * socket that never answers: every wait ends by its deadline. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deadline.h"
#include "dns.h"

static pid_t server_pid;
static char server[32], silent[32];
static int silent_fd = -1;

/* --- the test server ------------------------------------------------------ */

static size_t put_name(unsigned char *p, const char *name)
{
    size_t n = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t k = dot ? (size_t)(dot - name) : strlen(name);
        p[n++] = (unsigned char)k;
        memcpy(p + n, name, k);
        n += k;
        name += k;
        if (*name == '.') name++;
    }
    p[n++] = 0;
    return n;
}

static size_t put_rr(unsigned char *p, unsigned type, const unsigned char *rdata, size_t rdlen)
{
    size_t n = 0;
    p[n++] = 0xc0;                      /* the question's name */
    p[n++] = 12;
    p[n++] = (unsigned char)(type >> 8);
    p[n++] = (unsigned char)type;
    p[n++] = 0;
    p[n++] = 1;
    memset(p + n, 0, 3);
    p[n + 3] = 60;
    n += 4;
    p[n++] = (unsigned char)(rdlen >> 8);
    p[n++] = (unsigned char)rdlen;
    memcpy(p + n, rdata, rdlen);
    return n + rdlen;
}

/* Answer q (len bytes) into r: the length. */
static size_t answer(const unsigned char *q, size_t len, unsigned char *r)
{
    char name[256];
    size_t n = 12, k = 0, qend;
    unsigned type, an = 0, rcode = 0;
    unsigned char rd[512];
    size_t rdlen;
    while (n < len && q[n]) {
        unsigned l = q[n++];
        if (k) name[k++] = '.';
        memcpy(name + k, q + n, l);
        k += l;
        n += l;
    }
    name[k] = 0;
    type = (unsigned)q[n + 1] << 8 | q[n + 2];
    qend = n + 5;
    memcpy(r, q, qend);
    n = qend;
    if (!strcmp(name, "a.example") && type == DNS_A) {
        memcpy(rd, "\xc0\x00\x02\x01", 4);
        n += put_rr(r + n, DNS_A, rd, 4);
        memcpy(rd, "\x7f\x00\x00\x02", 4);
        n += put_rr(r + n, DNS_A, rd, 4);
        an = 2;
    } else if (!strcmp(name, "a.example") && type == DNS_AAAA) {
        memcpy(rd, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
        n += put_rr(r + n, DNS_AAAA, rd, 16);
        an = 1;
    } else if (!strcmp(name, "a.example") && type == DNS_TXT) {
        memcpy(rd, "\x05v=spf\x09" "1 -all xy", 16);
        n += put_rr(r + n, DNS_TXT, rd, 16);
        memcpy(rd, "\x05other", 6);
        n += put_rr(r + n, DNS_TXT, rd, 6);
        an = 2;
    } else if (!strcmp(name, "a.example") && type == DNS_MX) {
        rd[0] = 0;
        rd[1] = 10;
        rdlen = 2 + put_name(rd + 2, "mx.a.example");
        n += put_rr(r + n, DNS_MX, rd, rdlen);
        an = 1;
    } else if (!strcmp(name, "1.2.0.192.in-addr.arpa") && type == DNS_PTR) {
        rdlen = put_name(rd, "one.example");
        n += put_rr(r + n, DNS_PTR, rd, rdlen);
        rdlen = put_name(rd, "two.example");
        n += put_rr(r + n, DNS_PTR, rd, rdlen);
        an = 2;
    } else if (!strcmp(name, "cname.example") && type == DNS_A) {
        rdlen = put_name(rd, "a.example");
        n += put_rr(r + n, 5, rd, rdlen);
        memcpy(rd, "\xc0\x00\x02\x07", 4);
        n += put_rr(r + n, DNS_A, rd, 4);
        an = 2;
    } else if (!strcmp(name, "bad.example") && type == DNS_A) {
        memcpy(rd, "\xc0\x00\x02", 3);      /* an A record of 3 bytes */
        n += put_rr(r + n, DNS_A, rd, 3);
        an = 1;
    } else if ((!strcmp(name, "sp ace.example") || !strcmp(name, "back\\slash.example")) && type == DNS_A) {
        memcpy(rd, "\xc0\x00\x02\x09", 4);     /* any byte may be in a label */
        n += put_rr(r + n, DNS_A, rd, 4);
        an = 1;
    } else if (!strcmp(name, "servfail.example")) {
        rcode = 2;
    } else if (strcmp(name, "a.example")) {
        rcode = 3;                          /* NXDOMAIN; a.example of another type: no data */
    }
    r[2] = 0x84 | (q[2] & 1);               /* a response, authoritative, RD copied */
    r[3] = (unsigned char)(0x80 | rcode);
    r[6] = 0;
    r[7] = (unsigned char)an;
    r[8] = r[9] = r[10] = r[11] = 0;
    return n;
}

static void serve(int fd)
{
    unsigned char q[512], r[2048];
    struct sockaddr_storage from;
    socklen_t fl;
    for (;;) {
        ssize_t n;
        fl = sizeof from;
        n = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
        if (n < 17) continue;
        sendto(fd, r, answer(q, (size_t)n, r), 0, (struct sockaddr *)&from, fl);
    }
}

static int udp_socket(char *addr, size_t size)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(addr, size, "127.0.0.1:%u", ntohs(sa.sin_port));
    return fd;
}

static void setup(void)
{
    int fd = udp_socket(server, sizeof server);
    server_pid = fork();
    ck_assert_int_ge(server_pid, 0);
    if (server_pid == 0) serve(fd);
    close(fd);
    silent_fd = udp_socket(silent, sizeof silent);
}

static void teardown(void)
{
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
    close(silent_fd);
}

static struct dns *open_server(const char *s)
{
    char why[200];
    const char *servers[1];
    struct dns *d;
    servers[0] = s;
    d = dns_open(servers, 1, 300, why, sizeof why);
    ck_assert_msg(d != NULL, "%s", why);
    return d;
}

/* --- the tests -------------------------------------------------------------------- */

START_TEST(test_server_valid)
{
    ck_assert(dns_server_valid("127.0.0.1"));
    ck_assert(dns_server_valid("127.0.0.1:5353"));
    ck_assert(dns_server_valid("::1"));
    ck_assert(dns_server_valid("[::1]:53"));
    ck_assert(dns_server_valid("2001:db8::53"));
    ck_assert(!dns_server_valid("127.0.0.1:0"));
    ck_assert(!dns_server_valid("127.0.0.1:65536"));
    ck_assert(!dns_server_valid("127.0.0.1:"));
    ck_assert(!dns_server_valid("127.0.0.1:x"));
    ck_assert(!dns_server_valid("ns.example"));
    ck_assert(!dns_server_valid("[127.0.0.1]:53"));
    ck_assert(!dns_server_valid("[::1]"));
    ck_assert(!dns_server_valid(""));
}
END_TEST

START_TEST(test_open_refuses_bad_servers)
{
    char why[200];
    const char *bad[1] = { "dns.example" };
    const char *many[DNS_SERVERS_MAX + 1];
    unsigned i;
    ck_assert_ptr_eq(dns_open(bad, 1, 100, why, sizeof why), NULL);
    ck_assert_str_eq(why, "not a name server address: dns.example");
    for (i = 0; i <= DNS_SERVERS_MAX; i++) many[i] = "127.0.0.1";
    ck_assert_ptr_eq(dns_open(many, DNS_SERVERS_MAX + 1, 100, why, sizeof why), NULL);
}
END_TEST

START_TEST(test_reverse_names)
{
    struct ipaddr a;
    char out[DNS_NAME_MAX + 1];
    ck_assert(ipaddr_parse(&a, "192.0.2.1", 9));
    ck_assert_uint_eq(dns_reverse_name(&a, NULL, out, sizeof out), 22);
    ck_assert_str_eq(out, "1.2.0.192.in-addr.arpa");
    dns_reverse_name(&a, "bl.example", out, sizeof out);
    ck_assert_str_eq(out, "1.2.0.192.bl.example");
    ck_assert(ipaddr_parse(&a, "2001:db8::1", 11));
    dns_reverse_name(&a, NULL, out, sizeof out);
    ck_assert_str_eq(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    ck_assert_uint_eq(dns_reverse_name(&a, NULL, out, 20), 0);
    ck_assert(ipaddr_parse(&a, "::ffff:192.0.2.1", 16));   /* mapped: the IPv4 name */
    dns_reverse_name(&a, NULL, out, sizeof out);
    ck_assert_str_eq(out, "1.2.0.192.in-addr.arpa");
}
END_TEST

START_TEST(test_records_of_each_type)
{
    struct dns *d = open_server(server);
    struct dns_query a, aaaa, txt, mx, ptr, cname;
    int64_t dl = deadline_in_ms(3000);
    char key[IPADDR_KEY_MAX];
    /* all sent before any is awaited: in parallel */
    ck_assert_int_eq(dns_send(d, &a, "a.example", DNS_A), 0);
    ck_assert_int_eq(dns_send(d, &aaaa, "a.example.", DNS_AAAA), 0);
    ck_assert_int_eq(dns_send(d, &txt, "a.example", DNS_TXT), 0);
    ck_assert_int_eq(dns_send(d, &mx, "a.example", DNS_MX), 0);
    ck_assert_int_eq(dns_send(d, &ptr, "1.2.0.192.in-addr.arpa", DNS_PTR), 0);
    ck_assert_int_eq(dns_send(d, &cname, "cname.example", DNS_A), 0);
    ck_assert_uint_eq(dns_wait_all(d, dl), 0);
    ck_assert_int_eq(a.status, DNS_OK);
    ck_assert_uint_eq(a.n, 2);
    ipaddr_key(&a.record[0].addr, 32, key);
    ck_assert_str_eq(key, "192.0.2.1/32");
    ipaddr_key(&a.record[1].addr, 32, key);
    ck_assert_str_eq(key, "127.0.0.2/32");
    ck_assert_int_eq(aaaa.status, DNS_OK);
    ck_assert_uint_eq(aaaa.record[0].addr.bits, 128);
    ck_assert_int_eq(aaaa.record[0].addr.byte[15], 1);
    ck_assert_int_eq(txt.status, DNS_OK);
    ck_assert_uint_eq(txt.n, 2);
    ck_assert_str_eq(txt.record[0].text, "v=spf1 -all xy");  /* two strings joined */
    ck_assert_uint_eq(txt.record[0].len, 14);
    ck_assert_str_eq(txt.record[1].text, "other");
    ck_assert_int_eq(mx.status, DNS_OK);
    ck_assert_uint_eq(mx.record[0].preference, 10);
    ck_assert_str_eq(mx.record[0].text, "mx.a.example");
    ck_assert_int_eq(ptr.status, DNS_OK);
    ck_assert_uint_eq(ptr.n, 2);
    ck_assert_str_eq(ptr.record[0].text, "one.example");
    ck_assert_str_eq(ptr.record[1].text, "two.example");
    ck_assert_int_eq(cname.status, DNS_OK);           /* the CNAME itself is not an A */
    ck_assert_uint_eq(cname.n, 1);
    ck_assert_int_eq(cname.record[0].addr.byte[3], 7);
    dns_release(d, &a);
    dns_release(d, &aaaa);
    dns_release(d, &txt);
    dns_release(d, &mx);
    dns_release(d, &ptr);
    dns_release(d, &cname);
    dns_close(d);
}
END_TEST

START_TEST(test_any_byte_in_a_label)
{
    struct dns *d = open_server(server);
    struct dns_query space, backslash;
    dns_send(d, &space, "sp ace.example", DNS_A);
    dns_send(d, &backslash, "back\\slash.example", DNS_A);
    ck_assert_uint_eq(dns_wait_all(d, deadline_in_ms(3000)), 0);
    ck_assert_int_eq(space.status, DNS_OK);
    ck_assert_int_eq(space.record[0].addr.byte[3], 9);
    ck_assert_int_eq(backslash.status, DNS_OK);        /* not read as an escape */
    dns_release(d, &space);
    dns_release(d, &backslash);
    dns_close(d);
}
END_TEST

START_TEST(test_negative_answers)
{
    struct dns *d = open_server(server);
    struct dns_query nx, nodata, fail, bad, badname, longlabel;
    char label[80];
    int64_t dl = deadline_in_ms(3000);
    dns_send(d, &nx, "none.example", DNS_A);
    dns_send(d, &nodata, "a.example", DNS_PTR);
    dns_send(d, &fail, "servfail.example", DNS_A);
    dns_send(d, &bad, "bad.example", DNS_A);
    dns_send(d, &badname, "a..example", DNS_A);
    memset(label, 'x', 64);
    strcpy(label + 64, ".example");
    dns_send(d, &longlabel, label, DNS_A);
    /* a bad name is answered at once, without a server */
    ck_assert_int_eq(badname.status, DNS_BADNAME);
    ck_assert_int_eq(longlabel.status, DNS_BADNAME);
    ck_assert_uint_eq(dns_wait_all(d, dl), 0);
    ck_assert_int_eq(nx.status, DNS_NXDOMAIN);
    ck_assert_int_eq(nodata.status, DNS_NODATA);
    ck_assert_int_eq(fail.status, DNS_TEMPFAIL);
    ck_assert_int_eq(bad.status, DNS_TEMPFAIL);
    ck_assert_uint_eq(bad.n, 0);
    ck_assert_str_eq(dns_status_name(nodata.status), "nodata");
    dns_close(d);
}
END_TEST

START_TEST(test_a_silent_server_ends_by_the_deadline)
{
    struct dns *d = open_server(silent);
    struct dns_query q, r;
    int64_t start = deadline_now();
    dns_send(d, &q, "a.example", DNS_A);
    ck_assert_int_eq(dns_wait(d, &q, deadline_in_ms(200)), 0);
    ck_assert_int_eq(q.status, DNS_PENDING);
    ck_assert_int_lt(deadline_now() - start, 400);
    ck_assert_int_ge(deadline_now() - start, 190);
    /* released while pending: its late end changes nothing of ours */
    dns_release(d, &q);
    memset(&q, 0x5a, sizeof q);
    /* c-ares's own timeouts: 300 ms per try, 2 tries */
    dns_send(d, &r, "b.example", DNS_A);
    ck_assert_int_eq(dns_wait(d, &r, deadline_in_ms(3000)), 1);
    ck_assert_int_eq(r.status, DNS_TIMEOUT);
    ck_assert_int_eq(q.type, 0x5a5a5a5a);
    dns_close(d);
}
END_TEST

START_TEST(test_wait_all_bounded)
{
    struct dns *d = open_server(silent);
    struct dns_query q[3];
    int64_t start = deadline_now();
    unsigned i;
    for (i = 0; i < 3; i++) dns_send(d, &q[i], "a.example", DNS_A);
    ck_assert_uint_eq(dns_wait_all(d, deadline_in_ms(150)), 3);
    ck_assert_int_lt(deadline_now() - start, 350);
    /* a deadline already past still reads once, and returns */
    ck_assert_uint_eq(dns_wait_all(d, deadline_now() - 1), 3);
    dns_close(d);               /* with queries pending: no answer goes to them */
}
END_TEST

static Suite *dns_suite(void)
{
    Suite *s = suite_create("dns");
    TCase *tc = tcase_create("dns");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_server_valid);
    tcase_add_test(tc, test_open_refuses_bad_servers);
    tcase_add_test(tc, test_reverse_names);
    tcase_add_test(tc, test_records_of_each_type);
    tcase_add_test(tc, test_any_byte_in_a_label);
    tcase_add_test(tc, test_negative_answers);
    tcase_add_test(tc, test_a_silent_server_ends_by_the_deadline);
    tcase_add_test(tc, test_wait_all_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dns_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
