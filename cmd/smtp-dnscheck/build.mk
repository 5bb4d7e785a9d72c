# smtp-dnscheck and smtp-spf ask DNS through lib/dns.c, on Debian's
# libcares.a (libc-ares-dev): built for glibc, it links static with musl
# once lib/dns.c supplies the three _FORTIFY_SOURCE functions it calls
# (figures in INSTALL).
LIBCARES = $(shell $(HOSTCC) -print-file-name=libcares.a)
LDLIBS_smtp-dnscheck = $(LIBCARES)
# lib/dns.c is in every unit test's objects: they need c-ares too.
$(B)/unit/%: CHECK_LIBS += $(LIBCARES)
