# smtp-dupcheck: cdb look-ups (the permanent entries), SHA-256 from
# nettle's static library (Debian's nettle-dev) and the store's Redis
# client, hiredis (libhiredis-dev), under lib/store.c; why, in INSTALL.
# Both are built for glibc: lib/glibc_compat.c supplies what they call.
LIBNETTLE = $(shell $(HOSTCC) -print-file-name=libnettle.a)
LIBHIREDIS = $(shell $(HOSTCC) -print-file-name=libhiredis.a)
LDLIBS_smtp-dupcheck = $(LIBCDB) $(LIBHIREDIS) $(LIBNETTLE)
# lib/store.c's unit test: the same two libraries.
LDLIBS_check_store = $(LIBHIREDIS) $(LIBNETTLE)
