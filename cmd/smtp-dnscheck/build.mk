# smtp-dnscheck asks DNS through lib/dns.c, on Debian's libcares.a
# (LIBCARES, in the Makefile): built for glibc, it links static with musl
# once lib/dns.c supplies the three _FORTIFY_SOURCE functions it calls
# (figures in INSTALL).
LDLIBS_smtp-dnscheck = $(LIBCARES)
