# smtp-rspamd parses rspamd's JSON reply with jansson, from Debian's
# static libjansson.a (libjansson-dev; why jansson, in INSTALL).  The
# library is built against glibc: lib/glibc_compat.c supplies the three
# fortified functions it calls when the program is linked static with musl.
LIBJANSSON = $(shell $(HOSTCC) -print-file-name=libjansson.a)
LDLIBS_smtp-rspamd = $(LIBJANSSON) -lm
# The libFuzzer harness fuzz/rspamd.c links this program's logic and
# jansson (for fuzz/fuzz.mk, included after this file).
FUZZ_CMD_rspamd  = smtp-rspamd
FUZZ_LIBS_rspamd = $(LIBJANSSON) -lm
