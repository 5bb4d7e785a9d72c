# smtp-trust keeps what it learnt in lib/store.c: hiredis for a Redis
# store and nettle's SHA-256 for the file's keys (LIBHIREDIS and
# LIBNETTLE, in cmd/smtp-dupcheck/build.mk; why, in INSTALL).
LDLIBS_smtp-trust = $(LIBHIREDIS) $(LIBNETTLE)
