/* Numbers from the command line and the environment. */
#ifndef NOQUEUE_SCAN_H
#define NOQUEUE_SCAN_H

#include <stddef.h>

/* Decimal digits only, at most max: 1 ok, 0 malformed or too big. */
int scan_ulong(const char *s, unsigned long max, unsigned long *out);
/* A byte count with an optional k, M or G suffix (powers of 1024). */
int scan_size(const char *s, unsigned long long max, unsigned long long *out);
/* Signed decimal, |value| <= max. */
int scan_long(const char *s, long max, long *out);

/* Is every octet of s[0..n-1] printable ASCII (32..126)?  (Empty: yes.) */
int scan_printable(const char *s, size_t n);

#endif
