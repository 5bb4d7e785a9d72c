/* Signals as events (the self-pipe of s6-tcpserverd and djb): the
 * handler writes the signal's number to a pipe, and the program reads it
 * where it waits for the peer it answers to, never elsewhere: a signal
 * does not break the other waits of the program. */
#ifndef NOQUEUE_SELFPIPE_H
#define NOQUEUE_SELFPIPE_H

/* Catch sig from now on: the pipe's read end (non-blocking,
 * close-on-exec), or -1 with errno. */
int selfpipe_catch(int sig);
/* The next signal caught, or 0 when none is pending. */
int selfpipe_read(void);

#endif
