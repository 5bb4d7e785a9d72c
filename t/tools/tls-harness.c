/*
 * tls-harness: puts a program between a TCP connection and a plaintext
 * socketpair, the way smtp-proxyd and smtp-forward start smtp-tls, so
 * that the tests can drive it with real TLS peers (openssl s_client and
 * s_server) on one side and plain files on the other.  libc only.
 *
 *   tls-harness [-p] -l PORTFILE PROGRAM [ARGS...]
 *       listen on 127.0.0.1, port 0, write the port to PORTFILE, accept
 *       one connection
 *   tls-harness [-p] -c PORT PROGRAM [ARGS...]
 *       connect to 127.0.0.1:PORT
 *
 * PROGRAM gets the connection as fds 6 (read) and 7 (write), and one end
 * of a socketpair as fds 0 and 1; its stderr is ours.  The harness copies
 * its own stdin to the other end of the socketpair (its end shut for
 * writing at EOF) and that end to its stdout.
 *   -p  fds 6 and 7 are two pipes, not the socket: the harness copies
 *       between them and the connection.
 *
 * It exits once PROGRAM has exited and its output is all copied, with
 * PROGRAM's exit status (128 + the signal if killed), or 111 on a setup
 * error.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

extern char **environ;

#define USAGE "usage: tls-harness [-p] -l portfile | -c port program [args...]"

/* One direction: bytes from one fd to another; at the source's end, the
 * destination is shut for writing (a socket) or closed. */
struct pump {
    int from, to;
    char buf[65536];
    size_t start, end;
    int eof, done;
};

static void die(const char *what)
{
    fprintf(stderr, "tls-harness: fatal: %s: %s\n", what, strerror(errno));
    exit(111);
}

static int high(int fd)        /* out of the way of 0, 1, 6 and 7 */
{
    int h = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    if (h < 0) die("fcntl");
    close(fd);
    return h;
}

static void nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
}

static void pump_init(struct pump *p, int from, int to)
{
    p->from = from;
    p->to = to;
    p->start = p->end = 0;
    p->eof = p->done = 0;
    nonblock(from);
    nonblock(to);
}

static void pump_end(struct pump *p)
{
    if (shutdown(p->to, SHUT_WR) < 0) close(p->to);
    p->done = 1;
}

/* Moves what it can without blocking; sets the poll events it waits for. */
static void pump_step(struct pump *p, struct pollfd *in, struct pollfd *out)
{
    in->fd = out->fd = -1;
    in->events = POLLIN;
    out->events = POLLOUT;
    if (p->done) return;
    for (;;) {
        if (!p->eof && p->end < sizeof p->buf) {
            ssize_t r = read(p->from, p->buf + p->end, sizeof p->buf - p->end);
            if (r > 0) { p->end += (size_t)r; continue; }
            if (r == 0 || (errno != EAGAIN && errno != EINTR)) p->eof = 1;
            else in->fd = p->from;
        }
        if (p->start < p->end) {
            ssize_t w = write(p->to, p->buf + p->start, p->end - p->start);
            if (w > 0) {
                p->start += (size_t)w;
                if (p->start == p->end) p->start = p->end = 0;
                continue;
            }
            if (w < 0 && errno != EAGAIN && errno != EINTR) {  /* the reader is gone */
                p->start = p->end = 0;
                p->eof = 1;
            } else {
                out->fd = p->to;
            }
        }
        if (p->eof && p->start == p->end) pump_end(p);
        return;
    }
}

static int connection(int listening, const char *arg)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) die("socket");
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!listening) {
        sa.sin_port = htons((unsigned short)atoi(arg));
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
        return s;
    }
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 1) < 0) die("listen");
    if (getsockname(s, (struct sockaddr *)&sa, &len) < 0) die("getsockname");
    {
        char tmp[4096];
        FILE *f;
        snprintf(tmp, sizeof tmp, "%s.tmp", arg);
        if (!(f = fopen(tmp, "w")) || fprintf(f, "%u\n", ntohs(sa.sin_port)) < 0
            || fclose(f) || rename(tmp, arg) < 0)
            die(arg);
    }
    {
        int c = accept(s, 0, 0);
        if (c < 0) die("accept");
        close(s);
        return c;
    }
}

int main(int argc, char **argv)
{
    int opt, pipes = 0, listening = -1, sock, sp[2], net_r, net_w;
    int to_net[2], from_net[2], status = 0, exited = 0;
    const char *arg = 0;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    struct pump up, down, in, out;   /* stdin->sp, sp->stdout, net->6, 7->net */

    while ((opt = getopt(argc, argv, "+pl:c:")) != -1) {
        switch (opt) {
        case 'p': pipes = 1; break;
        case 'l': listening = 1; arg = optarg; break;
        case 'c': listening = 0; arg = optarg; break;
        default: fprintf(stderr, "%s\n", USAGE); return 100;
        }
    }
    if (listening < 0 || optind >= argc) { fprintf(stderr, "%s\n", USAGE); return 100; }
    signal(SIGPIPE, SIG_IGN);

    sock = high(connection(listening, arg));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) die("socketpair");
    sp[0] = high(sp[0]);
    sp[1] = high(sp[1]);
    net_r = net_w = sock;
    if (pipes) {
        if (pipe(to_net) < 0 || pipe(from_net) < 0) die("pipe");
        to_net[0] = high(to_net[0]); to_net[1] = high(to_net[1]);
        from_net[0] = high(from_net[0]); from_net[1] = high(from_net[1]);
        net_r = from_net[0];
        net_w = to_net[1];
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, net_r, 6);
    posix_spawn_file_actions_adddup2(&fa, net_w, 7);
    posix_spawn_file_actions_adddup2(&fa, sp[1], 0);
    posix_spawn_file_actions_adddup2(&fa, sp[1], 1);
    if ((errno = posix_spawnp(&pid, argv[optind], &fa, 0, argv + optind, environ))) die(argv[optind]);
    posix_spawn_file_actions_destroy(&fa);
    close(sp[1]);
    pump_init(&up, 0, sp[0]);
    pump_init(&down, sp[0], 1);
    if (pipes) {
        close(from_net[0]);
        close(to_net[1]);
        pump_init(&in, sock, from_net[1]);
        pump_init(&out, to_net[0], sock);
    } else {
        in.done = out.done = 1;
    }

    /* Until the program has exited and all it wrote is passed on. */
    while (!exited || !down.done || !out.done) {
        struct pollfd p[8];
        pump_step(&up, &p[0], &p[1]);
        pump_step(&down, &p[2], &p[3]);
        pump_step(&in, &p[4], &p[5]);
        pump_step(&out, &p[6], &p[7]);
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
            exited = 1;
            continue;
        }
        if (poll(p, 8, exited ? 1000 : 50) < 0 && errno != EINTR) die("poll");
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
