# smtp-dnscheck asks DNS through lib/dns.c, on Debian's libcares.a
# (LIBCARES, in the Makefile): built for glibc, it links static with musl
# once lib/glibc_compat.c supplies the _FORTIFY_SOURCE functions it calls
# (figures in INSTALL).
LDLIBS_smtp-dnscheck = $(LIBCARES)
