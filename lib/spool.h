/* A message spool: a temporary file without a name (O_TMPFILE, or a name
 * unlinked at once), so that nothing is left on disk whatever happens to
 * the process, and memory stays constant whatever the size.  The writer keeps a read-write descriptor to itself; readers
 * (filters, the forwarder) inherit a read-only one. */
#ifndef NOQUEUE_SPOOL_H
#define NOQUEUE_SPOOL_H

struct spool {
    int fd_rw;                  /* close-on-exec */
    int fd_ro;                  /* close-on-exec; given to children as fd 3 */
};

int spool_open(struct spool *s, const char *dir);
/* Empty it for the next message. */
int spool_reset(struct spool *s);

#endif
