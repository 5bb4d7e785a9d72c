/* smtp-clamd: clamd's answers parsed (every form, and nonsense), the
 * verdicts and facts they give, and the INSTREAM exchange against a
 * scripted clamd on a Unix socket: the bytes on the wire, an answer cut
 * short by clamd's size limit, a clamd that never answers. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clamd.h"
#include "deadline.h"
#include "header.h"

static int parse(const char *s, struct clamd_result *r)
{
    char why[300];
    why[0] = 0;
    int e = clamd_reply_parse(s, strlen(s), r, why, sizeof why);
    if (e < 0) ck_assert_msg(why[0] != 0, "no reason for %s", s);
    return e;
}

START_TEST(test_parse_clean_found_and_errors)
{
    struct clamd_result r;
    ck_assert_int_eq(parse("stream: OK", &r), 0);
    ck_assert_int_eq(r.status, CLAMD_CLEAN);
    ck_assert_int_eq(parse("stream: Noqueue.Test.EICAR.UNOFFICIAL FOUND", &r), 0);
    ck_assert_int_eq(r.status, CLAMD_FOUND);
    ck_assert_str_eq(r.name, "Noqueue.Test.EICAR.UNOFFICIAL");
    ck_assert_int_eq(parse("INSTREAM size limit exceeded. ERROR", &r), 0);
    ck_assert_int_eq(r.status, CLAMD_LIMIT);
    ck_assert_int_eq(parse("stream: Can't allocate memory ERROR", &r), 0);
    ck_assert_int_eq(r.status, CLAMD_ERROR);
    ck_assert_str_eq(r.name, "stream: Can't allocate memory");
}
END_TEST

START_TEST(test_parse_refuses_nonsense)
{
    static const char *bad[] = {
        "", "OK", "stream:OK", "stream: ok", "stream: OK ", "stream: FOUND", "stream:  FOUND",
        "stream: Two Words FOUND", "stream: X FOUND\n", "PONG", "stream: X\tY FOUND",
        "stream: X FOUNDS", "ERROR", 0,
    };
    struct clamd_result r;
    int i;
    for (i = 0; bad[i]; i++) ck_assert_msg(parse(bad[i], &r) == -1, "took \"%s\"", bad[i]);
    /* A name longer than we take. */
    {
        char s[CLAMD_NAME_MAX + 32];
        memset(s, 'A', sizeof s);
        memcpy(s, "stream: ", 8);
        strcpy(s + 8 + CLAMD_NAME_MAX + 1, " FOUND");
        ck_assert_int_eq(parse(s, &r), -1);
        strcpy(s + 8 + CLAMD_NAME_MAX, " FOUND");
        ck_assert_int_eq(parse(s, &r), 0);
        ck_assert_uint_eq(strlen(r.name), CLAMD_NAME_MAX);
    }
    /* Bytes that are not text. */
    {
        char why[100];
        ck_assert_int_eq(clamd_reply_parse("stream: \x80 FOUND", 15, &r, why, sizeof why), -1);
        ck_assert_int_eq(clamd_reply_parse("stream: OK\0", 11, &r, why, sizeof why), -1);
    }
}
END_TEST

START_TEST(test_verdicts)
{
    struct clamd_config cfg;
    struct clamd_result r;
    char fact[CLAMD_NAME_MAX + 16], line[1024];
    clamd_config_init(&cfg);
    r.status = CLAMD_CLEAN;
    r.name[0] = 0;
    ck_assert_int_eq(clamd_verdict(&cfg, &r, fact, sizeof fact, line, sizeof line), 1);
    ck_assert_str_eq(fact, "clean");
    ck_assert_str_eq(line, "continue");
    r.status = CLAMD_FOUND;
    strcpy(r.name, "Win.Test.EICAR_HDB-1");
    ck_assert_int_eq(clamd_verdict(&cfg, &r, fact, sizeof fact, line, sizeof line), 0);
    ck_assert_str_eq(fact, "infected:Win.Test.EICAR_HDB-1");
    ck_assert_str_eq(line, "reject 554 5.7.1 Malware found: Win.Test.EICAR_HDB-1");
    cfg.found = ACTION_TEMPFAIL;
    ck_assert_int_eq(clamd_verdict(&cfg, &r, fact, sizeof fact, line, sizeof line), 0);
    ck_assert_str_eq(line, "tempfail 451 4.7.1 Malware found: Win.Test.EICAR_HDB-1");
    cfg.found_code = 452;
    clamd_verdict(&cfg, &r, fact, sizeof fact, line, sizeof line);
    ck_assert_str_eq(line, "tempfail 452 4.7.1 Malware found: Win.Test.EICAR_HDB-1");
    cfg.found = ACTION_DISCARD;
    clamd_verdict(&cfg, &r, fact, sizeof fact, line, sizeof line);
    ck_assert_str_eq(line, "discard");
    ck_assert_int_eq(clamd_verdict_oversize(&cfg, fact, sizeof fact, line, sizeof line), 0);
    ck_assert_str_eq(fact, "unscanned:size");
    ck_assert_str_eq(line, "reject 552 5.3.4 Message too big to be scanned for malware");
    cfg.oversize = ACTION_TEMPFAIL;
    clamd_verdict_oversize(&cfg, fact, sizeof fact, line, sizeof line);
    ck_assert_str_eq(line, "tempfail 452 4.3.4 Message too big to be scanned for malware");
    cfg.oversize = ACTION_CONTINUE;
    ck_assert_int_eq(clamd_verdict_oversize(&cfg, fact, sizeof fact, line, sizeof line), 1);
    ck_assert_str_eq(line, "continue");
}
END_TEST

START_TEST(test_reply_text_stays_within_400)
{
    static char text[401];
    struct clamd_config cfg;
    struct clamd_result r;
    char fact[CLAMD_NAME_MAX + 16], line[1024];
    const char *saved = clamd_texts[TEXT_FOUND].text;
    memset(text, 'x', 400);
    clamd_texts[TEXT_FOUND].text = text;
    clamd_config_init(&cfg);
    r.status = CLAMD_FOUND;
    memset(r.name, 'N', CLAMD_NAME_MAX);
    r.name[CLAMD_NAME_MAX] = 0;
    clamd_verdict(&cfg, &r, fact, sizeof fact, line, sizeof line);
    /* "reject 554 " then the text proper */
    ck_assert_uint_eq(strlen(line) - 11, 400);
    ck_assert(!strcmp(line + strlen(line) - CLAMD_NAME_MAX, r.name));
    clamd_texts[TEXT_FOUND].text = saved;
}
END_TEST

START_TEST(test_actions)
{
    enum clamd_action a;
    ck_assert_int_eq(clamd_action_parse("reject", &a), 0);
    ck_assert_int_eq(a, ACTION_REJECT);
    ck_assert_int_eq(clamd_action_parse("discard", &a), 0);
    ck_assert_int_eq(a, ACTION_DISCARD);
    ck_assert_int_eq(clamd_action_parse("Reject", &a), -1);
    ck_assert_int_eq(clamd_action_parse("", &a), -1);
}
END_TEST

/* --- the exchange, against a scripted clamd ----------------------------- */

static char dir[] = "/tmp/check_smtp-clamd.XXXXXX";
static char sock[128];

/* A clamd that reads until the end chunk (or only `take` octets) and
 * answers `answer` (with its NUL), or nothing at all; what it read goes to
 * DIR/got. */
static pid_t fake_clamd(const char *answer, size_t take, int silent, struct endpoint *e)
{
    struct sockaddr_un a;
    char text[160], why[100];
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    pid_t pid;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(sock, sizeof sock, "%s/s", dir);
    unlink(sock);
    strcpy(a.sun_path, sock);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    pid = fork();
    if (pid == 0) {
        static char buf[1 << 20];
        size_t len = 0;
        char path[160];
        int c = accept(l, 0, 0), out;
        for (;;) {
            ssize_t n = read(c, buf + len, sizeof buf - len);
            if (n <= 0) break;
            len += (size_t)n;
            if (take && len >= take) break;
            /* the end chunk: 4 zero octets at the end of a whole stream */
            if (len >= 14 && !memcmp(buf + len - 4, "\0\0\0\0", 4)) {
                size_t i = 10;
                while (i + 4 <= len) {
                    size_t k = ((size_t)(unsigned char)buf[i] << 24) | ((size_t)(unsigned char)buf[i + 1] << 16) |
                               ((size_t)(unsigned char)buf[i + 2] << 8) | (unsigned char)buf[i + 3];
                    i += 4 + k;
                    if (!k) break;
                }
                if (i == len) break;
            }
        }
        snprintf(path, sizeof path, "%s/got", dir);
        out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (write(out, buf, len) < 0) _exit(1);
        close(out);
        if (silent) pause();
        if (write(c, answer, strlen(answer) + 1) < 0) _exit(1);
        close(c);
        _exit(0);
    }
    close(l);
    snprintf(text, sizeof text, "unix:%s", sock);
    ck_assert_int_eq(endpoint_parse(e, text, why, sizeof why), 0);
    return pid;
}

static int message_fd(size_t size)
{
    char path[160];
    size_t i;
    int fd;
    FILE *f;
    snprintf(path, sizeof path, "%s/msg", dir);
    f = fopen(path, "w");
    for (i = 0; i < size; i++) fputc('a' + (int)(i % 26), f);
    fclose(f);
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static size_t got(char *buf, size_t size)
{
    char path[160];
    ssize_t n;
    int fd;
    snprintf(path, sizeof path, "%s/got", dir);
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    n = read(fd, buf, size);
    close(fd);
    ck_assert_int_ge(n, 0);
    return (size_t)n;
}

START_TEST(test_scan_sends_chunks_and_reads_the_answer)
{
    static char buf[1 << 20];
    struct endpoint e;
    struct clamd_result r;
    char why[300];
    size_t size = 150000, n, i, at = 10, total = 0;
    int status, fd = message_fd(size);
    pid_t pid = fake_clamd("stream: Test.Sig FOUND", 0, 0, &e);
    ck_assert_int_eq(clamd_scan(&e, fd, size, deadline_in_seconds(10), &r, why, sizeof why), 0);
    ck_assert_int_eq(r.status, CLAMD_FOUND);
    ck_assert_str_eq(r.name, "Test.Sig");
    waitpid(pid, &status, 0);
    n = got(buf, sizeof buf);
    ck_assert(!memcmp(buf, "zINSTREAM\0", 10));
    /* chunks of at most CLAMD_CHUNK, then the zero length, nothing after */
    for (i = 0;; i++) {
        size_t k;
        ck_assert_uint_le(at + 4, n);
        k = ((size_t)(unsigned char)buf[at] << 24) | ((size_t)(unsigned char)buf[at + 1] << 16) |
            ((size_t)(unsigned char)buf[at + 2] << 8) | (unsigned char)buf[at + 3];
        at += 4;
        if (!k) break;
        ck_assert_uint_le(k, CLAMD_CHUNK);
        ck_assert_int_eq(buf[at], 'a' + (int)(total % 26));
        at += k;
        total += k;
    }
    ck_assert_uint_eq(at, n);
    ck_assert_uint_eq(total, size);
    ck_assert_uint_ge(i, 3);
    close(fd);
}
END_TEST

START_TEST(test_scan_cut_short_by_the_size_limit)
{
    struct endpoint e;
    struct clamd_result r;
    char why[300];
    size_t size = 4 << 20;
    int status, fd = message_fd(size);
    pid_t pid = fake_clamd("INSTREAM size limit exceeded. ERROR", 100000, 0, &e);
    ck_assert_int_eq(clamd_scan(&e, fd, size, deadline_in_seconds(10), &r, why, sizeof why), 0);
    ck_assert_int_eq(r.status, CLAMD_LIMIT);
    waitpid(pid, &status, 0);
    close(fd);
}
END_TEST

START_TEST(test_scan_silent_clamd_meets_the_deadline)
{
    struct endpoint e;
    struct clamd_result r;
    char why[300];
    int64_t start;
    int status, fd = message_fd(100);
    pid_t pid = fake_clamd("", 0, 1, &e);
    start = deadline_now();
    ck_assert_int_eq(clamd_scan(&e, fd, 100, deadline_in_ms(300), &r, why, sizeof why), -1);
    ck_assert_int_lt(deadline_now() - start, 2000);
    ck_assert_str_eq(why, "clamd did not answer in time");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(fd);
}
END_TEST

START_TEST(test_scan_message_shorter_than_its_size)
{
    struct endpoint e;
    struct clamd_result r;
    char why[300];
    int status, fd = message_fd(100);
    pid_t pid = fake_clamd("stream: OK", 0, 0, &e);
    ck_assert_int_eq(clamd_scan(&e, fd, 200, deadline_in_seconds(5), &r, why, sizeof why), -1);
    ck_assert_str_eq(why, "the message on fd 3 ends 100 octets before its size");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(fd);
}
END_TEST

START_TEST(test_scan_nobody_listening)
{
    struct endpoint e;
    struct clamd_result r;
    char why[300], text[160];
    snprintf(text, sizeof text, "unix:%s/none", dir);
    ck_assert_int_eq(endpoint_parse(&e, text, why, sizeof why), 0);
    ck_assert_int_eq(clamd_scan(&e, 0, 0, deadline_in_seconds(5), &r, why, sizeof why), -1);
    ck_assert(strstr(why, "unable to connect to clamd unix:") == why);
}
END_TEST

static Suite *clamd_suite(void)
{
    Suite *s = suite_create("smtp-clamd");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_clean_found_and_errors);
    tcase_add_test(tc, test_parse_refuses_nonsense);
    tcase_add_test(tc, test_verdicts);
    tcase_add_test(tc, test_reply_text_stays_within_400);
    tcase_add_test(tc, test_actions);
    tcase_add_test(tc, test_scan_sends_chunks_and_reads_the_answer);
    tcase_add_test(tc, test_scan_cut_short_by_the_size_limit);
    tcase_add_test(tc, test_scan_silent_clamd_meets_the_deadline);
    tcase_add_test(tc, test_scan_message_shorter_than_its_size);
    tcase_add_test(tc, test_scan_nobody_listening);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(clamd_suite());
    int failed;
    char path[160];
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir)) return 1;
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    snprintf(path, sizeof path, "%s/s", dir); unlink(path);
    snprintf(path, sizeof path, "%s/got", dir); unlink(path);
    snprintf(path, sizeof path, "%s/msg", dir); unlink(path);
    rmdir(dir);
    return failed ? 1 : 0;
}
