/* floor: a do-nothing SMTP proxy of noqueue's shape, for bench/anatomy and
 * bench/run: the least two static processes per connection can cost.
 *
 *   floor fwd CHILD HOST PORT       under tcpserver: answers the client with
 *                                   canned replies; at the first RCPT starts
 *                                   CHILD (floor-child, like smtp-forward),
 *                                   which does one unpipelined transaction
 *                                   with HOST:PORT per message
 *   floor filter CHILD deny|continue   starts CHILD (like a filter) at
 *                                   connect and asks it, one line each way,
 *                                   at connect, HELO, MAIL and RCPT; no
 *                                   upstream: a message is read and dropped
 *
 * Built twice by bench/anatomy and bench/run: without FLOOR_CHILD the
 * responder, with it the child ("floor-child fwd HOST PORT" or
 * "floor-child filter deny|continue").  Replies are buffered and written
 * when the responder is about to wait for the client, as smtp-proxyd does.
 * Not a mail server: no checks, no limits, no deadlines. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct in {
    int fd;
    unsigned pos, len;
    char b[16384];
};

static int fill(struct in *r)
{
    ssize_t n;
    if (r->pos < r->len) return 1;
    r->pos = r->len = 0;
    n = read(r->fd, r->b, sizeof r->b);
    if (n <= 0) return 0;
    r->len = (unsigned)n;
    return 1;
}

/* A line with its LF (and CR), NUL-terminated; 0 at the end. */
static int getline_(struct in *r, char *l, unsigned size)
{
    unsigned n = 0;
    for (;;) {
        char c;
        if (!fill(r)) return 0;
        c = r->b[r->pos++];
        if (n + 1 < size) l[n++] = c;
        if (c == '\n') break;
    }
    l[n] = 0;
    return 1;
}

static void put(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) exit(111);
        s += w;
        n -= (size_t)w;
    }
}

static void puts_(int fd, const char *s) { put(fd, s, strlen(s)); }

/* Copy the body from r to fd up to and including CRLF.CRLF (fd < 0: drop
 * it).  The message starts at a line's start. */
static void body(struct in *r, int fd)
{
    /* state: how much of "\r\n.\r\n" has been seen, starting after "\r\n" */
    static const char end[] = "\r\n.\r\n";
    unsigned seen = 2;
    for (;;) {
        unsigned start, i;
        if (!fill(r)) exit(111);
        start = r->pos;
        for (i = r->pos; i < r->len; i++) {
            char c = r->b[i];
            if (c == end[seen]) seen++;
            else seen = c == '\r' ? 1 : 0;
            if (seen == 5) {
                i++;
                break;
            }
        }
        r->pos = i;
        if (fd >= 0) put(fd, r->b + start, i - start);
        if (seen == 5) return;
    }
}

#ifdef FLOOR_CHILD

static struct in up, parent;
static int upfd = -1;

/* One SMTP reply from the smarthost; its last line goes to l. */
static void reply(char *l, unsigned size)
{
    do {
        if (!getline_(&up, l, size)) exit(111);
    } while (strlen(l) > 3 && l[3] == '-');
}

static void command(const char *s, char *l, unsigned size)
{
    puts_(upfd, s);
    reply(l, size);
}

int main(int argc, char **argv)
{
    char l[1100], c[1200], rep[1100];
    parent.fd = 0;
    if (argc == 3 && !strcmp(argv[1], "filter")) {
        int deny = !strcmp(argv[2], "deny");
        while (getline_(&parent, l, sizeof l))
            puts_(1, deny && !strncmp(l, "rcpt ", 5) ? "554 5.7.1 denied\n" : "continue\n");
        return 0;
    }
    if (argc != 4 || strcmp(argv[1], "fwd")) return 100;
    while (getline_(&parent, l, sizeof l)) {
        l[strcspn(l, "\n")] = 0;
        if (upfd < 0) {
            struct sockaddr_in sa;
            memset(&sa, 0, sizeof sa);
            sa.sin_family = AF_INET;
            sa.sin_port = htons((unsigned short)atoi(argv[3]));
            if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) return 100;
            upfd = socket(AF_INET, SOCK_STREAM, 0);
            if (upfd < 0 || connect(upfd, (struct sockaddr *)&sa, sizeof sa) < 0) return 111;
            up.fd = upfd;
            reply(rep, sizeof rep);
            command("EHLO floor.invalid\r\n", rep, sizeof rep);
        }
        switch (l[0]) {
        case 'M': snprintf(c, sizeof c, "MAIL FROM:%s\r\n", l + 2); break;
        case 'R': snprintf(c, sizeof c, "RCPT TO:%s\r\n", l + 2); break;
        case 'S': snprintf(c, sizeof c, "RSET\r\n"); break;
        case 'D':
            command("DATA\r\n", rep, sizeof rep);
            puts_(1, rep);
            if (rep[0] == '3') {
                body(&parent, upfd);
                reply(rep, sizeof rep);
                puts_(1, rep);
            }
            continue;
        default: return 100;
        }
        command(c, rep, sizeof rep);
        puts_(1, rep);
    }
    if (upfd >= 0) command("QUIT\r\n", rep, sizeof rep);
    return 0;
}

#else

static struct in client, kid;
static char out[8192];
static unsigned outlen;
static pid_t pid = -1;
static int tokid = -1;

static void say(const char *s)
{
    size_t n = strlen(s);
    if (outlen + n > sizeof out) {
        put(1, out, outlen);
        outlen = 0;
    }
    memcpy(out + outlen, s, n);
    outlen += (unsigned)n;
}

/* Replies go out when the responder is about to wait for the client. */
static int next(char *l, unsigned size)
{
    if (client.pos >= client.len && outlen) {
        put(1, out, outlen);
        outlen = 0;
    }
    return getline_(&client, l, size);
}

static void start(char **argv)
{
    int a[2], b[2];
    posix_spawn_file_actions_t fa;
    extern char **environ;
    if (pipe(a) < 0 || pipe(b) < 0) exit(111);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, a[0], 0);
    posix_spawn_file_actions_adddup2(&fa, b[1], 1);
    posix_spawn_file_actions_addclose(&fa, a[1]);
    posix_spawn_file_actions_addclose(&fa, b[0]);
    if (posix_spawn(&pid, argv[0], &fa, 0, argv, environ)) exit(111);
    posix_spawn_file_actions_destroy(&fa);
    close(a[0]);
    close(b[1]);
    tokid = a[1];
    kid.fd = b[0];
}

/* A line to the child, its answer back (newline-ended) in l. */
static void ask(const char *s, char *l, unsigned size)
{
    puts_(tokid, s);
    if (!getline_(&kid, l, size)) exit(111);
}

static void crlf(char *l)
{
    size_t n = strcspn(l, "\r\n");
    memcpy(l + n, "\r\n", 3);
}

int main(int argc, char **argv)
{
    char l[1100], a[1100], from[1100] = "<>";
    int fwd, rcpts = 0, mail = 0;
    signal(SIGPIPE, SIG_IGN);
    if (argc < 3) return 100;
    fwd = !strcmp(argv[1], "fwd");
    client.fd = 0;
    if (!fwd) {
        start(argv + 2);
        ask("connect 127.0.0.1\n", a, sizeof a);
    }
    say("220 floor.invalid ESMTP\r\n");
    while (next(l, sizeof l)) {
        char *arg = strchr(l, ':');
        l[strcspn(l, "\r\n")] = 0;
        if (!strncasecmp(l, "EHLO", 4) || !strncasecmp(l, "HELO", 4)) {
            if (!fwd) ask("helo x\n", a, sizeof a);
            say("250-floor.invalid\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
        } else if (!strncasecmp(l, "MAIL", 4) && arg) {
            snprintf(from, sizeof from, "%s", arg + 1);
            mail = 1;
            rcpts = 0;
            if (!fwd) ask("mail x\n", a, sizeof a);
            say("250 2.1.0 ok\r\n");
        } else if (!strncasecmp(l, "RCPT", 4) && arg && mail) {
            char c[1200];
            if (fwd) {
                if (pid < 0) start(argv + 2);
                if (rcpts == 0 && mail == 1) {
                    snprintf(c, sizeof c, "M %s\n", from);
                    ask(c, a, sizeof a);
                    mail = 2;
                }
                snprintf(c, sizeof c, "R %s\n", arg + 1);
                ask(c, a, sizeof a);
            } else {
                ask("rcpt x\n", a, sizeof a);
                if (!strncmp(a, "continue", 8)) strcpy(a, "250 2.1.5 ok");
            }
            if (a[0] == '2') rcpts++;
            crlf(a);
            say(a);
        } else if (!strncasecmp(l, "DATA", 4)) {
            if (!rcpts) {
                say("554 5.5.1 no valid recipients\r\n");
                continue;
            }
            if (fwd) {
                ask("D\n", a, sizeof a);
                if (a[0] != '3') {
                    crlf(a);
                    say(a);
                    continue;
                }
            }
            say("354 go ahead\r\n");
            put(1, out, outlen);
            outlen = 0;
            body(&client, fwd ? tokid : -1);
            if (fwd) {
                if (!getline_(&kid, a, sizeof a)) exit(111);
                crlf(a);
            } else {
                strcpy(a, "250 2.0.0 ok\r\n");
            }
            say(a);
            mail = rcpts = 0;
        } else if (!strncasecmp(l, "RSET", 4)) {
            if (fwd && mail == 2) ask("S\n", a, sizeof a);
            mail = rcpts = 0;
            say("250 2.0.0 ok\r\n");
        } else if (!strncasecmp(l, "QUIT", 4)) {
            say("221 2.0.0 bye\r\n");
            break;
        } else if (!strncasecmp(l, "NOOP", 4)) {
            say("250 2.0.0 ok\r\n");
        } else {
            say("502 5.5.1 no\r\n");
        }
    }
    put(1, out, outlen);
    if (pid > 0) {
        int st;
        close(tokid);
        waitpid(pid, &st, 0);
    }
    return 0;
}

#endif
