# smtp-spf asks DNS through lib/dns.c on c-ares (LIBCARES, in the
# Makefile): static with musl.
LDLIBS_smtp-spf = $(LIBCARES)
# fuzz/spf.c (read by fuzz/fuzz.mk, included after this file): the
# harness links smtp-spf's objects, and so c-ares.
FUZZ_CMD_spf = smtp-spf
FUZZ_LIBS_spf = $(LIBCARES)
