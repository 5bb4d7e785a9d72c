/* Header fields a program adds to a message (RFC 5322 section 2.2):
 * "Name: value", the value possibly folded (CRLF then a space or a tab),
 * printable ASCII only, no bare CR or LF. */
#ifndef NOQUEUE_HEADER_H
#define NOQUEUE_HEADER_H

#include <stddef.h>

#define HEADER_NAME_MAX 64
#define HEADER_LINE_MAX 998
/* All the fields added to one message, CRLFs included: what smtp-forward
 * takes, and what smtp-proxyd gives it at most. */
#define HEADER_BLOCK_MAX 16384

int header_name_valid(const char *s, size_t n);
int header_value_valid(const char *s, size_t n);
/* A whole field "Name: value" (no final CRLF). */
int header_field_valid(const char *s, size_t n);

#endif
