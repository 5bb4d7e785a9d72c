# smtp-rspamd parses rspamd's JSON reply with jansson, from Debian's
# static libjansson.a (libjansson-dev; why jansson, in INSTALL).  The
# library is built against glibc: compat.c supplies the four fortified
# functions it calls when the program is linked static with musl.
LIBJANSSON = $(shell $(HOSTCC) -print-file-name=libjansson.a)
LDLIBS_smtp-rspamd = $(LIBJANSSON) -lm
