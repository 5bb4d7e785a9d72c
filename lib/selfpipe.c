#define _GNU_SOURCE             /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "selfpipe.h"

static int fds[2] = { -1, -1 };

static void handler(int sig)
{
    int e = errno;
    unsigned char c = (unsigned char)sig;
    if (write(fds[1], &c, 1) < 0) { /* full: one is already pending */ }
    errno = e;
}

int selfpipe_catch(int sig)
{
    struct sigaction sa;
    if (fds[0] < 0 && pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;           /* the other waits go on */
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, 0) < 0) return -1;
    return fds[0];
}

int selfpipe_read(void)
{
    unsigned char c;
    if (fds[0] < 0) return 0;
    return read(fds[0], &c, 1) == 1 ? c : 0;
}
