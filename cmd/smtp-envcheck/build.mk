# smtp-envcheck reads cdb tables (lib/table.c): Debian's libcdb.a.
LDLIBS_smtp-envcheck = $(LIBCDB)
