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
/* The same, but octets above 126 are taken (SMTP_LINE_OK): *eightbit
 * says whether there were any, for the caller to decide (RFC 6531 allows
 * them in the paths of MAIL and RCPT only). */
int smtp_line_check8(char *line, size_t *n, int *eightbit);
/* Split a checked line into verb and argument. */
void smtp_command_split(const char *line, size_t n, struct smtp_command *cmd);

/* The longest path we accept, brackets excluded (RFC 5321 4.5.3.1.3). */
#define SMTP_ADDRESS_MAX 254

/* smtp_path_parse results */
#define SMTP_PATH_OK        0
#define SMTP_PATH_SYNTAX    1
#define SMTP_PATH_TOOLONG   2
#define SMTP_PATH_NOT_ASCII 3   /* smtp_path_parse_utf8 only: octets above
                                 * 126 where not allowed, or not
                                 * well-formed UTF-8 */

/* Parse a path "<...>" (source route dropped) at s[0..n-1].  The mailbox
 * goes to addr (size SMTP_ADDRESS_MAX + 1), "" for the null path "<>"
 * when allow_null.  *used gets the number of bytes of s taken. */
int smtp_path_parse(const char *s, size_t n, int allow_null, char *addr, size_t *used);
/* The same, and when utf8 a mailbox of RFC 6531 too: UTF-8 (well-formed,
 * RFC 3629) in the local part and in the labels of the domain.  Without
 * utf8 a non-ASCII mailbox gives SMTP_PATH_NOT_ASCII, as does one that is
 * not well-formed UTF-8 with it. */
int smtp_path_parse_utf8(const char *s, size_t n, int allow_null, int utf8, char *addr,
                         size_t *used);
/* Is s[0..n-1] well-formed UTF-8 (no overlong form, no surrogate, at most
 * U+10FFFF)? */
int smtp_utf8_valid(const char *s, size_t n);

/* "FROM:" / "TO:" prefix of MAIL / RCPT, case-insensitive; one space after
 * the colon is tolerated, as widely seen.  Returns bytes used or 0. */
size_t smtp_path_prefix(const char *s, size_t n, const char *prefix);

/* Iterate over ESMTP parameters "KEY[=VALUE]" separated by spaces.
 * Returns 1 with key/value set (value "" when absent; both NUL terminated
 * in the caller's buffers), 0 at the end, -1 on a syntax error. */
struct smtp_param {
    char key[32];
    char value[512];            /* ORCPT's may have 500 (RFC 3461 4.2) */
};
int smtp_param_next(const char **s, const char *end, struct smtp_param *p);

/* The parameters of MAIL and RCPT noqueue knows: SIZE (RFC 1870), BODY
 * (RFC 6152 and 3030: 7BIT, 8BITMIME, BINARYMIME), SMTPUTF8 (RFC 6531,
 * no value), RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT (RFC 3461). */
enum smtp_param_kind {
    SMTP_PARAM_UNKNOWN, SMTP_PARAM_SIZE, SMTP_PARAM_BODY, SMTP_PARAM_SMTPUTF8,
    SMTP_PARAM_RET, SMTP_PARAM_ENVID, SMTP_PARAM_NOTIFY, SMTP_PARAM_ORCPT
};
/* Which one p is, for MAIL (rcpt 0) or RCPT (rcpt 1), SMTP_PARAM_UNKNOWN
 * for any other; *valid: whether its value has its RFC's syntax (SIZE 1
 * to 20 digits, ENVID xtext of at most 100 octets, NOTIFY NEVER or a list
 * of SUCCESS, FAILURE, DELAY without repeats, ORCPT addr-type ";" xtext
 * of at most 500 octets). */
enum smtp_param_kind smtp_param_kind(const struct smtp_param *p, int rcpt, int *valid);

/* Domain or address literal, as in a mailbox or HELO argument. */
int smtp_domain_valid(const char *s, size_t n);

#endif
