/* Child processes: argv vectors only, never a shell.  Every descriptor we
 * open is close-on-exec (one a program inherits it must mark itself); a
 * child gets exactly stdin, stdout, stderr and the descriptors it is given
 * (the message on fd 3, the network on 6 and 7).  We wait only for our
 * own pids. */
#ifndef NOQUEUE_CHILD_H
#define NOQUEUE_CHILD_H

#include <stdint.h>
#include <sys/types.h>

struct child {
    pid_t pid;
    int to;                     /* our end of its stdin, or -1 */
    int from;                   /* our end of its stdout, or -1 */
};

/* Start argv (searched in PATH) with envp (NULL: ours) and exactly the
 * descriptors of map: map[i].from becomes the child's map[i].to; every
 * other descriptor of ours is close-on-exec.  0 or -1 (errno). */
#define CHILD_MAP_MAX 8
struct child_fd {
    int from, to;
};
int child_spawn_map(pid_t *pid, char *const argv[], char *const envp[],
                    const struct child_fd *map, unsigned n);

/* Start argv (searched in PATH) with envp (NULL: ours).  stdin_fd >= 0 is
 * given as its stdin instead of a pipe; msg_fd >= 0 becomes its fd 3.  Our
 * pipe ends are non-blocking and close-on-exec.  Returns 0 or -1 (errno). */
int child_spawn(struct child *c, char *const argv[], char *const envp[],
                int stdin_fd, int msg_fd);
/* The same, and scratch_fd >= 0 becomes its fd 4. */
int child_spawn_scratch(struct child *c, char *const argv[], char *const envp[],
                        int stdin_fd, int msg_fd, int scratch_fd);
/* Would posix_spawnp find prog (a path with a slash, or a name in
 * PATH) executable?  1 or 0. */
int child_findable(const char *prog);
/* A status that is neither an exit nor a signal: waitpid failed.  Callers
 * must treat it as a failure, never as success. */
#define CHILD_STATUS_UNKNOWN (-1)

/* Wait for pid until the deadline, then SIGKILL it and wait.  fd, when
 * not -1, is our end of its stdout: its end of file says it is gone.
 * Returns the wait status, or CHILD_STATUS_UNKNOWN. */
int child_reap(pid_t pid, int fd, int64_t deadline);
/* SIGKILL its process group (child_spawn gives each child one of its
 * own, so what it started goes too) and it, and wait. */
int child_kill(pid_t pid);
/* "exit 3", "signal 9": a short text for a wait status. */
const char *child_status_text(int status, char *buf, unsigned size);

#endif
