/* acct: the resources one process used, exactly, for bench/anatomy.
 *   acct FILE LABEL PROGRAM [ARGS...]
 * Forks, runs PROGRAM in the child, waits for it with wait4(2) and appends
 * one line to FILE (O_APPEND, one write):
 *   LABEL PID PPID CHILD STATUS  B...  P...  S...
 * each of B, P, S six numbers: user us, system us, minor faults, major
 * faults, voluntary and involuntary context switches.
 *   B  wait4's rusage of PROGRAM: itself and the children it reaped
 *   P  acct's own, at the start of main: the work of its parent's child
 *      before exec (tcpserver's fork side, for the outermost acct) and the
 *      exec of acct
 *   S  acct's own at the end (P included)
 * acct keeps none of the descriptors PROGRAM inherits (a pipe's end must
 * close when PROGRAM exits), passes on TERM, INT, HUP, QUIT, USR1, USR2
 * and ALRM, and exits as PROGRAM did. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child;

static void pass(int sig)
{
    if (child > 0) kill(child, sig);
}

static int fmt(char *b, size_t n, const struct rusage *r)
{
    return snprintf(b, n, " %ld %ld %ld %ld %ld %ld",
                    (long)r->ru_utime.tv_sec * 1000000 + (long)r->ru_utime.tv_usec,
                    (long)r->ru_stime.tv_sec * 1000000 + (long)r->ru_stime.tv_usec,
                    r->ru_minflt, r->ru_majflt, r->ru_nvcsw, r->ru_nivcsw);
}

int main(int argc, char **argv)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM };
    struct rusage pre, both, self;
    struct sigaction sa;
    char line[512];
    int st = 0, fd, n, i;
    pid_t pid;

    getrusage(RUSAGE_SELF, &pre);
    if (argc < 4) {
        fprintf(stderr, "usage: acct FILE LABEL PROGRAM [ARGS...]\n");
        return 100;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = pass;
    for (i = 0; i < (int)(sizeof sigs / sizeof sigs[0]); i++) sigaction(sigs[i], &sa, 0);
    pid = fork();
    if (pid < 0) return 111;
    if (pid == 0) {
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    child = pid;
    for (fd = 0; fd < 1024; fd++) close(fd);
    while (wait4(pid, &st, 0, &both) < 0)
        if (errno != EINTR) return 111;
    getrusage(RUSAGE_SELF, &self);
    n = snprintf(line, sizeof line, "%s %ld %ld %ld %d", argv[2], (long)getpid(), (long)getppid(),
                 (long)pid, st);
    n += fmt(line + n, sizeof line - n, &both);
    n += fmt(line + n, sizeof line - n, &pre);
    n += fmt(line + n, sizeof line - n, &self);
    n += snprintf(line + n, sizeof line - n, "\n");
    fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        if (write(fd, line, (size_t)n) != n) st = 111 << 8;
        close(fd);
    }
    if (WIFSIGNALED(st)) {
        signal(WTERMSIG(st), SIG_DFL);
        raise(WTERMSIG(st));
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 111;
}
