/* Debian's libjansson.a is built against glibc with _FORTIFY_SOURCE: its
 * error texts and number formatting call glibc's checked variants of
 * three functions.  A static musl program supplies them (see INSTALL);
 * they do what the unchecked ones do. */
#ifndef __GLIBC__
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int __vsnprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, va_list ap);
int __snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, ...);
char *__strncpy_chk(char *d, const char *s, size_t n, size_t dlen);

int __vsnprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, va_list ap)
{
    (void)flag;
    (void)slen;
    return vsnprintf(s, n, fmt, ap);
}

int __snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, ...)
{
    va_list ap;
    int r;
    (void)flag;
    (void)slen;
    va_start(ap, fmt);
    r = vsnprintf(s, n, fmt, ap);
    va_end(ap);
    return r;
}

char *__strncpy_chk(char *d, const char *s, size_t n, size_t dlen)
{
    (void)dlen;
    return strncpy(d, s, n);
}
#else
/* (ISO C wants something in every translation unit.) */
typedef int rspamd_compat_unused;
#endif
