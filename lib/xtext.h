/* xtext (RFC 3461, section 4): printable ASCII other than '+' and '='
 * stands for itself, every other byte is "+XX" in upper-case hex.  Used
 * for every variable field of the filter protocol, so no value can carry
 * a space, a line break or a NUL. */
#ifndef NOQUEUE_XTEXT_H
#define NOQUEUE_XTEXT_H

#include <stddef.h>
#include <sys/types.h>

/* Encode into out[0..size-1], NUL terminated.  Returns the length, or -1
 * when out is too small. */
ssize_t xtext_encode(char *out, size_t size, const char *s, size_t n);
/* Decode n bytes of xtext into out[0..size-1], NUL terminated (the result
 * may itself hold NUL bytes: use the returned length).  Returns the length,
 * or -1 on malformed input (a byte outside 33..126, '=', a bad "+XX", lower
 * case hex) or when out is too small. */
ssize_t xtext_decode(char *out, size_t size, const char *s, size_t n);
/* Is s[0..n-1] xtext, and not empty (RFC 3461's ENVID and ORCPT)? */
int xtext_valid(const char *s, size_t n);

#endif
