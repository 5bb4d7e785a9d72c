/* flood: the load of a spam flood, for bench/run and bench/anatomy:
 * connections that each try one message and have every recipient refused.
 *   flood SESSIONS CONNECTIONS PORT
 * SESSIONS processes share CONNECTIONS connections to 127.0.0.1:PORT, one
 * after another in each; a connection reads the greeting, then EHLO, MAIL,
 * one RCPT (a different address each time: Nbob@example.net), and DATA if
 * the recipient was taken (a 10 KB message; smtp-source stops at the first
 * refused recipient, so it cannot play this part), then QUIT, one command
 * at a time as smtp-source does.  Prints "connections refused accepted
 * failed" (refused: a 5xx or 4xx to RCPT) and exits 0 if none failed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[4096];
static unsigned pos, len;

/* The code of one reply (its last line); -1 on a failure. */
static int reply(int fd)
{
    char l[1024];
    for (;;) {
        unsigned n = 0;
        for (;;) {
            if (pos == len) {
                ssize_t r = read(fd, buf, sizeof buf);
                if (r <= 0) return -1;
                pos = 0;
                len = (unsigned)r;
            }
            if (n + 1 < sizeof l) l[n++] = buf[pos];
            if (buf[pos++] == '\n') break;
        }
        l[n] = 0;
        if (n < 4) return -1;
        if (l[3] != '-') return atoi(l);
    }
}

static int cmd(int fd, const char *s, size_t n)
{
    if (write(fd, s, n) != (ssize_t)n) return -1;
    return reply(fd);
}

#define CMD(fd, s) cmd(fd, s, strlen(s))

/* One connection: 0 refused, 1 accepted, -1 failed. */
static int one(int port, long id, const char *msg, size_t msglen)
{
    struct sockaddr_in sa;
    char rcpt[128];
    int fd, code, r = -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    pos = len = 0;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || reply(fd) != 220) goto out;
    if (CMD(fd, "EHLO flood.example\r\n") != 250) goto out;
    if (CMD(fd, "MAIL FROM:<alice@example.org>\r\n") != 250) goto out;
    snprintf(rcpt, sizeof rcpt, "RCPT TO:<%ldbob@example.net>\r\n", id);
    code = CMD(fd, rcpt);
    if (code >= 400 && code < 600) {
        r = 0;
    } else if (code == 250) {
        if (CMD(fd, "DATA\r\n") != 354 || cmd(fd, msg, msglen) != 250) goto out;
        r = 1;
    } else {
        goto out;
    }
    if (CMD(fd, "QUIT\r\n") != 221) r = -1;
out:
    close(fd);
    return r;
}

int main(int argc, char **argv)
{
    long s, m, i, tot[3] = { 0, 0, 0 };
    int port, p[2];
    static char msg[10240 + 200];
    size_t msglen;
    if (argc != 4 || (s = atol(argv[1])) < 1 || (m = atol(argv[2])) < 1 || (port = atoi(argv[3])) < 1) {
        fprintf(stderr, "usage: flood SESSIONS CONNECTIONS PORT\n");
        return 100;
    }
    msglen = (size_t)snprintf(msg, sizeof msg, "From: <alice@example.org>\r\nTo: <bob@example.net>\r\n"
                              "Subject: flood\r\n\r\n");
    while (msglen + 72 + 5 < sizeof msg && msglen < 10240) {
        memset(msg + msglen, 'x', 70);
        memcpy(msg + msglen + 70, "\r\n", 2);
        msglen += 72;
    }
    memcpy(msg + msglen, ".\r\n", 3);
    msglen += 3;
    if (pipe(p) < 0) return 111;
    for (i = 0; i < s; i++) {
        if (fork() == 0) {
            long c, n[3] = { 0, 0, 0 };
            close(p[0]);
            for (c = i; c < m; c += s) n[one(port, c + 1, msg, msglen) + 1]++;
            if (write(p[1], n, sizeof n) != sizeof n) _exit(111);
            _exit(0);
        }
    }
    close(p[1]);
    for (i = 0; i < s; i++) {
        long n[3];
        if (read(p[0], n, sizeof n) == sizeof n) {
            tot[0] += n[0];
            tot[1] += n[1];
            tot[2] += n[2];
        }
        wait(0);
    }
    printf("%ld %ld %ld %ld\n", m, tot[1], tot[2], tot[0]);
    return tot[0] || tot[1] + tot[2] != m ? 1 : 0;
}
