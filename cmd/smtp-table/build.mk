# smtp-table writes cdb files with tinycdb's cdb_make_*: Debian's libcdb.a.
LDLIBS_smtp-table = $(LIBCDB)
