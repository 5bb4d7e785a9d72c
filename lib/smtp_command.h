/* SMTP command lines from a client (RFC 5321 section 4.1): the verb, the
 * reverse- and forward-path, and ESMTP parameters.  Everything here works
 * on a line already stripped of its CRLF, and never allocates. */
#ifndef NOQUEUE_SMTP_COMMAND_H
#define NOQUEUE_SMTP_COMMAND_H

#include <stddef.h>

enum smtp_verb {
    SMTP_UNKNOWN, SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA,
    SMTP_RSET, SMTP_NOOP, SMTP_QUIT, SMTP_VRFY, SMTP_EXPN, SMTP_HELP,
    SMTP_STARTTLS, SMTP_AUTH, SMTP_BDAT, SMTP_ETRN, SMTP_TURN
};

struct smtp_command {
    enum smtp_verb verb;
    const char *arg;            /* after the verb and its space, or "" */
    size_t arglen;
};

/* smtp_line_check results */
#define SMTP_LINE_OK       0
#define SMTP_LINE_BARE_LF  1    /* the line did not end in CRLF */
#define SMTP_LINE_BARE_CR  2    /* a CR inside the line */
#define SMTP_LINE_BAD_BYTE 3    /* NUL, another control byte, or 8-bit */

/* Check a raw line of n bytes ending in LF and strip its CRLF (a NUL is
 * written over the CR).  Returns an SMTP_LINE_ code. */
int smtp_line_check(char *line, size_t *n);
/* Split a checked line into verb and argument. */
void smtp_command_split(const char *line, size_t n, struct smtp_command *cmd);

/* The longest path we accept, brackets excluded (RFC 5321 4.5.3.1.3). */
#define SMTP_ADDRESS_MAX 254

/* smtp_path_parse results */
#define SMTP_PATH_OK        0
#define SMTP_PATH_SYNTAX    1
#define SMTP_PATH_TOOLONG   2

/* Parse a path "<...>" (source route dropped) at s[0..n-1].  The mailbox
 * goes to addr (size SMTP_ADDRESS_MAX + 1), "" for the null path "<>"
 * when allow_null.  *used gets the number of bytes of s taken. */
int smtp_path_parse(const char *s, size_t n, int allow_null, char *addr, size_t *used);

/* "FROM:" / "TO:" prefix of MAIL / RCPT, case-insensitive; one space after
 * the colon is tolerated, as widely seen.  Returns bytes used or 0. */
size_t smtp_path_prefix(const char *s, size_t n, const char *prefix);

/* Iterate over ESMTP parameters "KEY[=VALUE]" separated by spaces.
 * Returns 1 with key/value set (value "" when absent; both NUL terminated
 * in the caller's buffers), 0 at the end, -1 on a syntax error. */
struct smtp_param {
    char key[32];
    char value[128];
};
int smtp_param_next(const char **s, const char *end, struct smtp_param *p);

/* Domain or address literal, as in a mailbox or HELO argument. */
int smtp_domain_valid(const char *s, size_t n);

#endif
