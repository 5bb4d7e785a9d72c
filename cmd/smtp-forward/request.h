/* The commands smtp-proxyd gives smtp-forward (smtp-forward(8)), parsed
 * and checked before anything goes to the smarthost.  No I/O here: the
 * fuzz harness fuzz/forward.c runs these very functions. */
#ifndef REQUEST_H
#define REQUEST_H

#include <sys/types.h>

#include "filterproto.h"
#include "header.h"
#include "smtp_command.h"

/* A command line, NUL-terminated, without its LF (a CR before it is
 * dropped here): 1 for HEADER, with the field's xtext in c->arg; else 0,
 * and c is the line split as an SMTP command. */
int request_split(char *line, size_t n, struct smtp_command *c);

/* Why a command is refused: the reply smtp-forward gives. */
struct request_refusal {
    int code;
    const char *status, *text;
};

/* SMTPUTF8, RET=, ENVID= as given (" KEY=VALUE" each): at most 8 + 4 + 8
 * + 6 + 100 octets and their spaces. */
#define REQUEST_MAIL_PARAMS_MAX 160
struct request_mail {
    char addr[SMTP_ADDRESS_MAX + 1];
    char size[21];                      /* digits, or "" */
    char body[9];                       /* 7BIT or 8BITMIME, or "" */
    char params[REQUEST_MAIL_PARAMS_MAX];   /* passed on as they are */
    unsigned needs;                     /* EHLO_ flags (ehlocache.h) they need */
    int smtputf8;                       /* RFC 6531 addresses in this transaction */
};

/* Longest command line made here, with its NUL: RCPT with NOTIFY and an
 * ORCPT of 500 octets (RFC 3461 4.2). */
#define REQUEST_LINE_MAX 1024

/* The argument of MAIL ("FROM:<path> [SIZE=n] [BODY=type] [SMTPUTF8]
 * [RET=x] [ENVID=x]"): 0, or the refusal. */
const struct request_refusal *request_mail(const char *arg, size_t n, struct request_mail *m);
/* MAIL's command line for a smarthost, with SIZE and BODY only if it takes
 * them, and the other parameters as given; its length. */
size_t request_mail_line(const struct request_mail *m, int with_size, int with_body,
                         char line[REQUEST_LINE_MAX]);

/* The argument of RCPT ("TO:<path>", nothing after): 0 with the command
 * line for the smarthost, or the refusal. */
const struct request_refusal *request_rcpt(const char *arg, size_t n, char line[REQUEST_LINE_MAX]);
/* The same with NOTIFY and ORCPT (passed on as given; *needs gets
 * EHLO_DSN then), and a UTF-8 address when utf8 (MAIL had SMTPUTF8). */
const struct request_refusal *request_rcpt_esmtp(const char *arg, size_t n, int utf8,
                                                 unsigned *needs, char line[REQUEST_LINE_MAX]);

/* HEADER's xtext: the decoded field, a valid one; its length, or -1. */
#define REQUEST_FIELD_MAX (HEADER_NAME_MAX + 2 + FILTERPROTO_HEADER_VALUE_MAX + 1)
ssize_t request_header(const char *arg, size_t n, char field[REQUEST_FIELD_MAX]);

/* DATA's optional seconds, 1 to 86400: 0 with *seconds set (left as it
 * is when none are given), or -1. */
int request_data(const char *arg, size_t n, unsigned long *seconds);

#endif
