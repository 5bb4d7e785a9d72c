#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "deadline.h"
#include "io.h"

extern char **environ;

/* posix_spawn's dup2 only clears close-on-exec when the numbers differ, so
 * a descriptor that already sits on 0..3 is first moved above them. */
static int lift(int fd)
{
    if (fd < 0 || fd > 3) return fd;
    return fcntl(fd, F_DUPFD_CLOEXEC, 4);
}

static void close_lifted(int fd, int orig)
{
    if (fd != orig && fd >= 0) close(fd);
}

int child_spawn(struct child *c, char *const argv[], char *const envp[],
                int stdin_fd, int msg_fd)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 };
    int child_in, child_out, child_msg, r, e;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t sigs;

    c->pid = -1;
    c->to = c->from = -1;
    if (stdin_fd < 0 && pipe(in) < 0) return -1;
    if (pipe(out) < 0) goto fail;
    fcntl(out[0], F_SETFD, FD_CLOEXEC);
    fcntl(out[1], F_SETFD, FD_CLOEXEC);
    if (in[0] >= 0) {
        fcntl(in[0], F_SETFD, FD_CLOEXEC);
        fcntl(in[1], F_SETFD, FD_CLOEXEC);
    }
    child_in = lift(stdin_fd >= 0 ? stdin_fd : in[0]);
    child_out = lift(out[1]);
    child_msg = lift(msg_fd);
    if (child_in < 0 || child_out < 0 || (msg_fd >= 0 && child_msg < 0)) goto fail;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, child_in, 0);
    posix_spawn_file_actions_adddup2(&fa, child_out, 1);
    if (child_msg >= 0) posix_spawn_file_actions_adddup2(&fa, child_msg, 3);
    /* Children get default signal handling, whatever we ignore. */
    posix_spawnattr_init(&attr);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGPIPE);
    sigaddset(&sigs, SIGCHLD);
    posix_spawnattr_setsigdefault(&attr, &sigs);
    sigemptyset(&sigs);
    posix_spawnattr_setsigmask(&attr, &sigs);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    r = posix_spawnp(&c->pid, argv[0], &fa, &attr, argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);

    close_lifted(child_in, stdin_fd >= 0 ? stdin_fd : in[0]);
    close_lifted(child_out, out[1]);
    close_lifted(child_msg, msg_fd);
    if (r) {
        errno = r;
        c->pid = -1;
        goto fail;
    }
    if (in[0] >= 0) close(in[0]);
    close(out[1]);
    c->to = in[1];
    c->from = out[0];
    if (c->to >= 0) io_nonblock(c->to);
    io_nonblock(c->from);
    return 0;

fail:
    e = errno;
    if (in[0] >= 0) { close(in[0]); close(in[1]); }
    if (out[0] >= 0) { close(out[0]); close(out[1]); }
    errno = e;
    return -1;
}

int child_kill(pid_t pid)
{
    int status;
    kill(pid, SIGKILL);
    for (;;) {
        if (waitpid(pid, &status, 0) == pid) return status;
        if (errno != EINTR) return CHILD_STATUS_UNKNOWN;
    }
}

int child_reap(pid_t pid, int64_t deadline)
{
    int status, pause = 1;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0 && errno != EINTR) return CHILD_STATUS_UNKNOWN;
        if (deadline_poll_ms(deadline) == 0) return child_kill(pid);
        /* No SIGCHLD plumbing: a short, growing sleep bounded by the
         * deadline, only ever used after a child was told to finish. */
        poll(0, 0, pause);
        if (pause < 64) pause *= 2;
    }
}

const char *child_status_text(int status, char *buf, unsigned size)
{
    if (status == CHILD_STATUS_UNKNOWN) snprintf(buf, size, "unknown status");
    else if (WIFEXITED(status)) snprintf(buf, size, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(buf, size, "signal %d", WTERMSIG(status));
    else snprintf(buf, size, "status %d", status);
    return buf;
}
