#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "child.h"
#include "deadline.h"
#include "filterproto.h"
#include "tlspipe.h"

int tlspipe_start(char *const argv[], int net_read, int net_write, pid_t *pid, int *plain)
{
    int sp[2], e;
    struct child_fd map[4];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) return -1;
    fcntl(sp[0], F_SETFD, FD_CLOEXEC);
    fcntl(sp[1], F_SETFD, FD_CLOEXEC);
    map[0].from = sp[1]; map[0].to = 0;
    map[1].from = sp[1]; map[1].to = 1;
    map[2].from = net_read; map[2].to = 6;
    map[3].from = net_write; map[3].to = 7;
    if (child_spawn_map(pid, argv, 0, map, 4) < 0) {
        e = errno;
        close(sp[0]);
        close(sp[1]);
        errno = e;
        return -1;
    }
    close(sp[1]);
    io_nonblock(sp[0]);
    *plain = sp[0];
    return 0;
}

/* The next space-separated word of *p, decoded from xtext into out and
 * cut to its size: a long field is information, never a reason to fail. */
static int field(const char **p, char *out, size_t size)
{
    char decoded[TLSPIPE_STATUS_MAX];
    const char *s = *p, *end;
    int absent;
    ssize_t n;
    if (*s != ' ') return -1;
    s++;
    end = strchr(s, ' ');
    if (!end) end = s + strlen(s);
    n = filterproto_field_decode(decoded, sizeof decoded, s, (size_t)(end - s), &absent);
    if (n < 0) return -1;
    if ((size_t)n >= size) n = (ssize_t)size - 1;
    memcpy(out, decoded, (size_t)n);
    out[n] = 0;
    *p = end;
    return 0;
}

int tlspipe_status(struct io_in *in, struct tls_info *info, int64_t deadline)
{
    char line[TLSPIPE_STATUS_MAX + 1];
    const char *p;
    ssize_t n = io_getline(in, line, sizeof line, deadline);
    memset(info, 0, sizeof *info);
    if (n <= 0) {
        snprintf(info->reason, sizeof info->reason, "%s",
                 n == IO_EOF ? "the TLS program ended without a word"
                 : n == IO_TOOLONG ? "a status line too long"
                 : errno == ETIMEDOUT ? "timeout" : strerror(errno));
        return -1;
    }
    line[n - 1] = 0;
    if (!strncmp(line, "ok ", 3)) {
        p = line + 2;
        if (field(&p, info->version, sizeof info->version) == 0 &&
            field(&p, info->cipher, sizeof info->cipher) == 0 &&
            field(&p, info->peer, sizeof info->peer) == 0 &&
            field(&p, info->verify, sizeof info->verify) == 0)
            return 0;               /* later fields, from a later smtp-tls: ignored */
        snprintf(info->reason, sizeof info->reason, "a malformed status line");
        return -1;
    }
    p = line + 4;
    if (strncmp(line, "fail ", 5) || field(&p, info->reason, sizeof info->reason) < 0)
        snprintf(info->reason, sizeof info->reason, "a malformed status line");
    return -1;
}

void tlspipe_argv(const struct tlspipe_args *a, char *argv[TLSPIPE_ARGV_MAX], char secs[24])
{
    int n = 0;
    snprintf(secs, 24, "%u", deadline_seconds_left(a->deadline, 0));
    argv[n++] = (char *)a->program;
    argv[n++] = a->server ? "-s" : "-C";
    if (a->cert) { argv[n++] = "-c"; argv[n++] = (char *)a->cert; }
    if (a->key) { argv[n++] = "-k"; argv[n++] = (char *)a->key; }
    if (a->request_cert) argv[n++] = "-r";
    if (a->verify) argv[n++] = "-v";
    if (a->name) { argv[n++] = "-n"; argv[n++] = (char *)a->name; }
    if (a->cafile) { argv[n++] = "-a"; argv[n++] = (char *)a->cafile; }
    if (a->cadir) { argv[n++] = "-A"; argv[n++] = (char *)a->cadir; }
    argv[n++] = "-t";
    argv[n++] = secs;
    argv[n] = 0;
}
