/* The message's header fields, counted for the header changes rspamd
 * asks for (a field to delete "from the end", all fields of a name). */
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "rspamd.h"

unsigned long rspamd_count_fields(int fd, off_t start, const char *name)
{
    enum { LINE_START, NAME, REST } state = LINE_START;
    char buf[8192];
    size_t namelen = name ? strlen(name) : 0, k = 0;
    unsigned long n = 0;
    off_t off = start;
    int match = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off), i;
        if (r <= 0) return n;
        off += r;
        for (i = 0; i < r; i++) {
            unsigned char c = (unsigned char)buf[i];
            switch (state) {
            case LINE_START:
                if (c == '\r' || c == '\n') return n;       /* the empty line: the body */
                if (c == ' ' || c == '\t') { state = REST; break; }   /* a fold */
                state = NAME;
                k = 0;
                match = 1;
                /* fall through */
            case NAME:
                if (c == ':') {
                    if (!name || (match && k == namelen)) n++;
                    state = REST;
                } else if (c == '\n') {
                    state = LINE_START;
                } else {
                    if (k >= namelen || tolower(c) != tolower((unsigned char)name[k])) match = 0;
                    k++;
                }
                break;
            case REST:
                if (c == '\n') state = LINE_START;
                break;
            }
        }
    }
}
