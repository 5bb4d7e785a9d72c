# noqueue — GNU make.
#
#   make            build every program into bin/
#   make check      install missing Debian packages, build, run every test
#   make demo       install missing Debian packages, build, relay one message
#   make install    PREFIX=/usr/local DESTDIR=
#
# Programs run once per SMTP connection, so they are linked static with
# musl when musl-gcc is there (see INSTALL for the figures).  Unit tests
# link the check library, which Debian builds against glibc, so lib/ is
# compiled a second time with the host compiler for them.

VERSION  = 0.3
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DESTDIR ?=

MUSLCC  := $(shell command -v musl-gcc 2>/dev/null)
ifeq ($(origin CC),default)
  ifneq ($(MUSLCC),)
    CC := musl-gcc
  endif
endif
ifeq ($(notdir $(CC)),musl-gcc)
  STATIC ?= -static
endif
STATIC  ?=
HOSTCC  ?= cc

# B is the build directory, BIN where programs go: a second build with
# another compiler (make B=build/clang BIN=build/clang/bin CC=clang) does
# not disturb the first.
B       ?= build
BIN     ?= bin

WARN     = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter
OPT     ?= -O2
CFLAGS  ?= $(OPT)
CPPFLAGS = -Ilib -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -DNOQUEUE_VERSION='"$(VERSION)"'
# cdb.h is in /usr/include, which musl-gcc leaves out; after musl's own.
ifeq ($(notdir $(CC)),musl-gcc)
  CPPFLAGS += -idirafter /usr/include
endif
# Debian's libcdb.a (built against glibc; see INSTALL), for the programs
# whose build.mk asks for $(LIBCDB).
# (Debian's libcdb.pc names no libdir: ask the compiler where it is.)
LIBCDB   = $(or $(wildcard $(shell pkg-config --variable=libdir libcdb 2>/dev/null)/libcdb.a),$(shell $(HOSTCC) -print-file-name=libcdb.a))
# Debian's libcares.a (libc-ares-dev), under lib/dns.c: smtp-dnscheck,
# smtp-spf and their tests (see INSTALL).
LIBCARES = $(shell $(HOSTCC) -print-file-name=libcares.a)
LDLIBS_check_dns = $(LIBCARES)
ALL_CFLAGS = -std=c99 $(WARN) $(CFLAGS) $(SANITIZE) -ffunction-sections -fdata-sections
LDFLAGS ?=
ALL_LDFLAGS = $(STATIC) -Wl,--gc-sections $(SANITIZE) $(LDFLAGS)

PROGRAMS := $(notdir $(patsubst %/,%,$(wildcard cmd/*/)))
LIB_SRC  := $(wildcard lib/*.c)
LIB_OBJ  := $(LIB_SRC:lib/%.c=$(B)/lib/%.o)
LIB_A    := $(B)/libnoqueue.a

TOOL_SRC := $(wildcard t/tools/*.c)
TOOLS    := $(TOOL_SRC:t/tools/%.c=$(B)/t/%)
UNIT_SRC := $(wildcard t/unit/check_*.c)
UNITS    := $(UNIT_SRC:t/unit/%.c=$(B)/unit/%)
HOST_OBJ := $(LIB_SRC:lib/%.c=$(B)/host/%.o)

HOST_LIB_A := $(B)/host/libnoqueue.a
HOST_LDFLAGS = -Wl,--gc-sections $(SANITIZE) $(LDFLAGS)

all: $(PROGRAMS:%=$(BIN)/%)

# cmd/NAME/build.mk may set LDLIBS_NAME, its extra libraries (also linked
# into its unit test; lib/ is named again after them, so that what those
# libraries need of lib/, such as the glibc shims of a static musl link,
# is found), and add NAME to HOST_PROGRAMS: built with the host
# compiler, dynamic, for a library that exists only for glibc (smtp-tls).
HOST_PROGRAMS :=
-include $(wildcard cmd/*/build.mk)

define program_rule
$(1)_SRC := $$(wildcard cmd/$(1)/*.c)
ifeq ($$(filter $(1),$$(HOST_PROGRAMS)),)
$(1)_OBJ := $$($(1)_SRC:cmd/$(1)/%.c=$(B)/cmd/$(1)/%.o)
$(BIN)/$(1): $$($(1)_OBJ) $(LIB_A)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$($(1)_OBJ) $(LIB_A) $$(LDLIBS_$(1)) $(LIB_A)
else
$(1)_OBJ := $$($(1)_SRC:cmd/$(1)/%.c=$(B)/host/cmd/$(1)/%.o)
$(BIN)/$(1): $$($(1)_OBJ) $(HOST_LIB_A)
	@mkdir -p $$(@D)
	$$(HOSTCC) $$(HOST_LDFLAGS) -o $$@ $$($(1)_OBJ) $(HOST_LIB_A) $$(LDLIBS_$(1)) $(HOST_LIB_A)
endif
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

$(B)/cmd/%.o: cmd/%.c $(wildcard lib/*.h) $(wildcard cmd/*/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Icmd/$(firstword $(subst /, ,$*)) $(ALL_CFLAGS) -c -o $@ $<

$(B)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# Test tools (the test smarthost and friends) are built like programs.
$(B)/t/%: t/tools/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB_A)

# Unit tests: host compiler, glibc, libcheck.
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread) -lcdb
$(B)/host/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(HOSTCC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(HOST_LIB_A): $(HOST_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# lib/ is linked as an archive, so that a test takes only the modules it
# uses; a module's own library goes in LDLIBS_check_MODULE (set in some
# cmd/*/build.mk).
$(B)/unit/%: t/unit/%.c $(HOST_LIB_A)
	@mkdir -p $(@D)
	$(HOSTCC) $(CPPFLAGS) -It/unit $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(HOST_LIB_A) $(LDLIBS_$*) $(HOST_LIB_A) $(CHECK_LIBS) $(SANITIZE)

# A unit test named after a program, t/unit/check_PROG.c, also links that
# program's logic: every cmd/PROG/*.c but main.c (where main() lives).
$(B)/host/cmd/%.o: cmd/%.c $(wildcard lib/*.h) $(wildcard cmd/*/*.h)
	@mkdir -p $(@D)
	$(HOSTCC) $(CPPFLAGS) -Icmd/$(firstword $(subst /, ,$*)) $(ALL_CFLAGS) -c -o $@ $<

define unit_program_rule
$(B)/unit/check_$(1): t/unit/check_$(1).c $$(patsubst cmd/$(1)/%.c,$(B)/host/cmd/$(1)/%.o,$$(filter-out cmd/$(1)/main.c,$$(wildcard cmd/$(1)/*.c))) $(HOST_LIB_A)
	@mkdir -p $$(@D)
	$(HOSTCC) $(CPPFLAGS) -Icmd/$(1) -It/unit $(ALL_CFLAGS) -Wno-missing-prototypes -o $$@ $$^ $$(LDLIBS_$(1)) $(HOST_LIB_A) $(CHECK_LIBS) $(SANITIZE)
endef
$(foreach p,$(PROGRAMS),$(if $(wildcard t/unit/check_$(p).c),$(eval $(call unit_program_rule,$(p)))))

tools: $(TOOLS)
units: $(UNITS)

# fuzz/fuzz.mk: the libFuzzer harnesses (clang): make fuzz runs each for a
# while, make fuzz-smoke briefly (part of check).
-include fuzz/fuzz.mk

# --- the README's two commands -------------------------------------------

deps:
	@sh tools/deps

check: deps
	@$(MAKE) --no-print-directory all tools units
	@$(MAKE) --no-print-directory check-clang
	$(if $(wildcard fuzz/fuzz.mk),@$(MAKE) --no-print-directory fuzz-smoke)
	@sh t/run

# Every warning is an error with clang too; built aside so bin/ stays.
check-clang:
	@$(MAKE) --no-print-directory B=build/clang BIN=build/clang/bin CC=clang HOSTCC=clang all tools

demo: deps
	@$(MAKE) --no-print-directory all tools
	@sh examples/demo

# Not part of check: minutes long, and its figures are for reading.
bench: deps
	@$(MAKE) --no-print-directory all tools
	@sh bench/run

# --- install ---------------------------------------------------------------

# Each program is installed under a temporary name and renamed, so that a
# connection starting meanwhile never runs half a file.
install: all
	mkdir -p $(DESTDIR)$(BINDIR)
	for p in $(PROGRAMS); do \
	  install -m 755 $(BIN)/$$p $(DESTDIR)$(BINDIR)/.$$p.new && \
	  mv -f $(DESTDIR)$(BINDIR)/.$$p.new $(DESTDIR)$(BINDIR)/$$p || exit 1; done
	for m in man/*.[0-9]; do s=$${m##*.}; mkdir -p $(DESTDIR)$(MANDIR)/man$$s && \
	  install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done

uninstall:
	for p in $(PROGRAMS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in man/*.[0-9]; do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m#man/}; done

clean:
	rm -rf $(B) $(BIN)

.PHONY: all tools units deps check check-clang demo bench install uninstall clean
.DELETE_ON_ERROR:
