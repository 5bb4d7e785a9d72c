/* spawn: the cost of starting a program, as every SMTP connection pays it.
 *   spawn N PROGRAM [ARGS...]
 * Runs PROGRAM N times (posix_spawn, stdout and stderr to /dev/null, wait)
 * and prints the median and the 90th percentile in microseconds, and the
 * child's minor page faults (median). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int cmp(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n, i, *us, *faults;
    posix_spawn_file_actions_t fa;
    int null = open("/dev/null", O_RDWR);
    if (argc < 3 || (n = atol(argv[1])) < 1) {
        fprintf(stderr, "usage: spawn N program [args...]\n");
        return 100;
    }
    us = calloc((size_t)n, sizeof *us);
    faults = calloc((size_t)n, sizeof *faults);
    if (!us || !faults || null < 0) return 111;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, null, 0);
    posix_spawn_file_actions_adddup2(&fa, null, 1);
    posix_spawn_file_actions_adddup2(&fa, null, 2);
    for (i = 0; i < n; i++) {
        struct timespec a, b;
        struct rusage ru;
        pid_t pid;
        int st;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (posix_spawn(&pid, argv[2], &fa, 0, argv + 2, environ)) return 111;
        if (wait4(pid, &st, 0, &ru) != pid) return 111;
        clock_gettime(CLOCK_MONOTONIC, &b);
        us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
        faults[i] = ru.ru_minflt + ru.ru_majflt;
    }
    qsort(us, (size_t)n, sizeof *us, cmp);
    qsort(faults, (size_t)n, sizeof *faults, cmp);
    printf("%ld %ld %ld\n", us[n / 2], us[n * 9 / 10], faults[n / 2]);
    return 0;
}
