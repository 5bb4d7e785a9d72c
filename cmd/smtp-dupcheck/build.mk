# smtp-dupcheck: cdb look-ups (the permanent entries) and SHA-256 from
# nettle's static library (Debian's nettle-dev; why, in INSTALL).
LIBNETTLE = $(shell $(HOSTCC) -print-file-name=libnettle.a)
LDLIBS_smtp-dupcheck = $(LIBCDB) $(LIBNETTLE)
