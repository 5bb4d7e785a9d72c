/* Debian builds its static libraries (libcares.a, libcdb.a, libhiredis.a,
 * libjansson.a, libnettle.a) against glibc with _FORTIFY_SOURCE: they
 * call glibc's checked variants of a few functions, and libcdb's fstat is
 * glibc's __fxstat64.  A static musl program supplies them here, once for
 * all (see INSTALL): each does what the unchecked function does, and
 * aborts where glibc would.  Nothing in noqueue calls them: the archive
 * member is taken for the libraries that do.  With glibc, nothing. */
#ifndef __GLIBC__
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>

void *__memcpy_chk(void *dest, const void *src, size_t n, size_t destlen);
int __sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...);
int __snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, ...);
int __vsnprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, va_list ap);
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
char *__strncpy_chk(char *d, const char *s, size_t n, size_t dlen);
long __fdelt_chk(long fd);
int __fxstat64(int version, int fd, struct stat *st);

void *__memcpy_chk(void *dest, const void *src, size_t n, size_t destlen)
{
    if (n > destlen) abort();
    return memcpy(dest, src, n);
}

int __sprintf_chk(char *s, int flag, size_t slen, const char *fmt, ...)
{
    va_list ap;
    int r;
    (void)flag;
    va_start(ap, fmt);
    r = vsnprintf(s, slen, fmt, ap);
    va_end(ap);
    if (r < 0 || (size_t)r >= slen) abort();
    return r;
}

int __vsnprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, va_list ap)
{
    (void)flag;
    if (n > slen) abort();
    return vsnprintf(s, n, fmt, ap);
}

int __snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = __vsnprintf_chk(s, n, flag, slen, fmt, ap);
    va_end(ap);
    return r;
}

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
    va_list ap;
    int r;
    (void)flag;
    va_start(ap, fmt);
    r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

char *__strncpy_chk(char *d, const char *s, size_t n, size_t dlen)
{
    if (n > dlen) abort();
    return strncpy(d, s, n);
}

long __fdelt_chk(long fd)
{
    if (fd < 0 || fd >= FD_SETSIZE) abort();
    return fd / (8 * (long)sizeof(long));
}

int __fxstat64(int version, int fd, struct stat *st)
{
    (void)version;
    return fstat(fd, st);
}
#else
/* (ISO C wants something in every translation unit.) */
typedef int glibc_compat_unused;
#endif
