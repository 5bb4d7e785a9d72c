/* Absolute deadlines on the monotonic clock, in milliseconds.
 * Every blocking call takes one; DEADLINE_NONE means "no limit". */
#ifndef NOQUEUE_DEADLINE_H
#define NOQUEUE_DEADLINE_H

#include <stdint.h>

#define DEADLINE_NONE INT64_MAX

int64_t deadline_now(void);
/* now + seconds, saturating; 0 seconds means "no limit". */
int64_t deadline_in_seconds(unsigned seconds);
int64_t deadline_in_ms(int64_t ms);
/* Milliseconds left for poll(2): -1 when there is no deadline, 0 when it
 * has passed. */
int deadline_poll_ms(int64_t deadline);
int64_t deadline_min(int64_t a, int64_t b);
/* The whole seconds left until deadline, less margin, at least 1: what a
 * child is given, so that it answers before our own deadline. */
unsigned deadline_seconds_left(int64_t deadline, unsigned margin);

#endif
