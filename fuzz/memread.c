/* read(2) of fuzz_fd() from memory, in pieces; see fuzz.h.  Linked with
 * -Wl,--wrap=read, so every read() of the objects linked (lib/ among
 * them) comes here first. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);

static int fd = -1;
static const unsigned char *data;
static size_t len, pos;
static uint32_t state;

int fuzz_fd(void)
{
    if (fd < 0) {
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) abort();
    }
    return fd;
}

void fuzz_fd_set(const void *p, size_t n, uint32_t seed)
{
    fuzz_fd();
    data = p;
    len = n;
    pos = 0;
    state = seed | 1;
}

size_t fuzz_fd_left(void)
{
    return len - pos;
}

ssize_t __wrap_read(int f, void *buf, size_t n)
{
    size_t k;
    uint32_t r;
    if (f != fd || fd < 0) return __real_read(f, buf, n);
    if (!n) return 0;
    r = fuzz_rand(&state);
    if ((r & 63) == 0) { errno = EINTR; return -1; }
    if ((r & 63) == 1) { errno = EAGAIN; return -1; }
    if (pos == len) return 0;
    k = fuzz_chunk(&state, len - pos);
    if (k > n) k = n;
    memcpy(buf, data + pos, k);
    pos += k;
    return (ssize_t)k;
}

void *fuzz_dup(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    if (!q) abort();
    if (n) memcpy(q, p, n);
    return q;
}

char *fuzz_strdup(const void *p, size_t n)
{
    char *q = malloc(n + 1);
    if (!q) abort();
    if (n) memcpy(q, p, n);
    q[n] = 0;
    return q;
}

static char scratch_dir[96], scratch_path[128];

static void scratch_remove(void)
{
    unlink(scratch_path);
    rmdir(scratch_dir);
}

const char *fuzz_scratch_file(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch_dir, sizeof scratch_dir, "%s/noqueue-fuzz.XXXXXX",
             tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(scratch_dir)) abort();
    if ((size_t)snprintf(scratch_path, sizeof scratch_path, "%s/%s", scratch_dir, name) >=
        sizeof scratch_path)
        abort();
    atexit(scratch_remove);
    return scratch_path;
}
