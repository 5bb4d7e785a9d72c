#define _GNU_SOURCE             /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "deadline.h"
#include "io.h"

extern char **environ;

/* Children get default signal handling and an empty mask, whatever we
 * ignore or block, and a process group of their own, so that a child
 * killed at its deadline takes with it what it started (child_kill). */
static void spawn_attributes(posix_spawnattr_t *attr)
{
    sigset_t sigs;
    posix_spawnattr_init(attr);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGPIPE);
    sigaddset(&sigs, SIGCHLD);
    posix_spawnattr_setsigdefault(attr, &sigs);
    sigemptyset(&sigs);
    posix_spawnattr_setsigmask(attr, &sigs);
    posix_spawnattr_setpgroup(attr, 0);
    posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                   POSIX_SPAWN_SETPGROUP);
}

int child_spawn_map(pid_t *pid, char *const argv[], char *const envp[],
                    const struct child_fd *map, unsigned n)
{
    int lifted[CHILD_MAP_MAX], r = 0, e, above = 0;
    unsigned i, j;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;

    *pid = -1;
    if (n > CHILD_MAP_MAX) { errno = EINVAL; return -1; }
    /* The dup2s run in order, and dup2 clears close-on-exec only when the
     * numbers differ: every source is first moved above every target. */
    for (i = 0; i < n; i++)
        if (map[i].to >= above) above = map[i].to + 1;
    for (i = 0; i < n; i++) {
        if (map[i].from >= above) {     /* no target can clobber it */
            lifted[i] = -1;
            continue;
        }
        lifted[i] = fcntl(map[i].from, F_DUPFD_CLOEXEC, above);
        if (lifted[i] < 0) {
            e = errno;
            for (j = 0; j < i; j++) if (lifted[j] >= 0) close(lifted[j]);
            errno = e;
            return -1;
        }
    }
    posix_spawn_file_actions_init(&fa);
    for (i = 0; i < n; i++)
        posix_spawn_file_actions_adddup2(&fa, lifted[i] >= 0 ? lifted[i] : map[i].from, map[i].to);
    spawn_attributes(&attr);
    r = posix_spawnp(pid, argv[0], &fa, &attr, argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    for (i = 0; i < n; i++) if (lifted[i] >= 0) close(lifted[i]);
    if (r) {
        *pid = -1;
        errno = r;
        return -1;
    }
    return 0;
}

int child_spawn(struct child *c, char *const argv[], char *const envp[],
                int stdin_fd, int msg_fd)
{
    return child_spawn_scratch(c, argv, envp, stdin_fd, msg_fd, -1);
}

int child_spawn_scratch(struct child *c, char *const argv[], char *const envp[],
                        int stdin_fd, int msg_fd, int scratch_fd)
{
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, e;
    struct child_fd map[4];
    unsigned n = 0;

    c->pid = -1;
    c->to = c->from = -1;
    if (stdin_fd < 0 && pipe2(in, O_CLOEXEC) < 0) return -1;
    if (pipe2(out, O_CLOEXEC) < 0) goto fail;
    map[n].from = stdin_fd >= 0 ? stdin_fd : in[0];
    map[n++].to = 0;
    map[n].from = out[1];
    map[n++].to = 1;
    if (msg_fd >= 0) {
        map[n].from = msg_fd;
        map[n++].to = 3;
    }
    if (scratch_fd >= 0) {
        map[n].from = scratch_fd;
        map[n++].to = 4;
    }
    if (child_spawn_map(&c->pid, argv, envp, map, n) < 0) goto fail;
    if (in[0] >= 0) close(in[0]);
    close(out[1]);
    c->to = in[1];
    c->from = out[0];
    /* Ours only: a shell filter would choke on a non-blocking stdin. */
    if (c->to >= 0) fcntl(c->to, F_SETFL, O_WRONLY | O_NONBLOCK);
    fcntl(c->from, F_SETFL, O_RDONLY | O_NONBLOCK);
    return 0;

fail:
    e = errno;
    if (in[0] >= 0) { close(in[0]); close(in[1]); }
    if (out[0] >= 0) { close(out[0]); close(out[1]); }
    errno = e;
    return -1;
}

int child_findable(const char *prog)
{
    const char *path = getenv("PATH"), *p, *end;
    char full[4096];
    if (!*prog) return 0;
    if (strchr(prog, '/')) return access(prog, X_OK) == 0;
    if (!path) path = "/usr/local/bin:/bin:/usr/bin";
    for (p = path;; p = end + 1) {
        size_t n;
        end = strchr(p, ':');
        if (!end) end = p + strlen(p);
        n = (size_t)(end - p);
        if ((int)snprintf(full, sizeof full, "%.*s%s%s", (int)n, p, n ? "/" : "", prog) < (int)sizeof full &&
            access(full, X_OK) == 0)
            return 1;
        if (!*end) return 0;
    }
}

int child_kill(pid_t pid)
{
    int status;
    if (pid <= 0) return CHILD_STATUS_UNKNOWN;  /* never a group of others */
    /* Its group, its own children with it; then the child itself, should
     * it have left the group it was started in. */
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    for (;;) {
        if (waitpid(pid, &status, 0) == pid) return status;
        if (errno != EINTR) return CHILD_STATUS_UNKNOWN;
    }
}

int child_reap(pid_t pid, int fd, int64_t deadline)
{
    int status, pause = 1;
    /* Its end of the pipe closes when it exits: wait for that, reading
     * away whatever it still says. */
    while (fd >= 0) {
        char junk[512];
        ssize_t r = read(fd, junk, sizeof junk);
        if (r == 0) break;
        if (r > 0 || errno == EINTR) continue;
        if (errno != EAGAIN || io_wait(fd, POLLIN, deadline) != 1) break;
    }
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        if (r < 0 && errno != EINTR) return CHILD_STATUS_UNKNOWN;
        if (deadline_poll_ms(deadline) == 0) return child_kill(pid);
        /* No SIGCHLD plumbing: a short, growing sleep bounded by the
         * deadline, for the moment between its pipe closing and its exit
         * being reported, or a child whose pipe is not ours. */
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
