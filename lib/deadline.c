#include <time.h>

#include "deadline.h"

int64_t deadline_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t deadline_in_ms(int64_t ms)
{
    if (ms >= DEADLINE_NONE / 2) return DEADLINE_NONE;
    return deadline_now() + ms;
}

int64_t deadline_in_seconds(unsigned seconds)
{
    if (!seconds) return DEADLINE_NONE;
    return deadline_in_ms((int64_t)seconds * 1000);
}

int deadline_poll_ms(int64_t deadline)
{
    int64_t left;
    if (deadline == DEADLINE_NONE) return -1;
    left = deadline - deadline_now();
    if (left <= 0) return 0;
    if (left > 0x7fffffff) return 0x7fffffff;
    return (int)left;
}

int64_t deadline_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

unsigned deadline_seconds_left(int64_t deadline, unsigned margin)
{
    int64_t left;
    if (deadline == DEADLINE_NONE) return 86400;
    left = (deadline - deadline_now()) / 1000 - (int64_t)margin;
    return left < 1 ? 1 : left > 86400 ? 86400 : (unsigned)left;
}
