# fuzz/fuzz.mk: included by the Makefile (after cmd/*/build.mk).
#
#   make fuzz            every harness for FUZZ_SECONDS (60) each; the corpus
#                        grows in build/fuzz/corpus/, crashes go to
#                        build/fuzz/crashes/
#   make fuzz-smoke      every harness for FUZZ_SMOKE_SECONDS (3) each, from
#                        the seeds of fuzz/corpus/: part of make check
#   make fuzz-crashes    replay fuzz/crashes/ (inputs of bugs not fixed yet)
#   make fuzz-build      only build the harnesses, into build/fuzz/
#   FUZZ=name            (with any of those) only that harness
#
#   make check-sanitize  programs, test tools and unit tests built again
#                        with AddressSanitizer and UndefinedBehaviorSanitizer
#                        (clang, glibc, dynamic) into build/asan/, then
#                        t/run on them
#
# libFuzzer is clang's (Debian: libclang-rt-14-dev, which clang only
# recommends).  The harnesses link the host build's libraries (libcdb.a,
# libnettle.a: glibc), so clang here builds for glibc, never musl.  Nothing
# here writes to bin/ or the main build: only to build/fuzz/ and
# build/asan/.

FUZZ_B        = build/fuzz
FUZZ_CC       = clang
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CPPFLAGS = -Ilib -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64
FUZZ_CFLAGS   = -std=c99 $(WARN) -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link
# memread.c serves read(2) of one descriptor from memory, in pieces.
FUZZ_LDFLAGS  = $(FUZZ_SAN) -fsanitize=fuzzer -Wl,--wrap=read
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 3

# Every fuzz/*.c but the shared memread.c is a harness.
FUZZ_NAMES := $(filter-out memread,$(basename $(notdir $(wildcard fuzz/*.c))))
FUZZ_RUN   := $(if $(FUZZ),$(FUZZ),$(FUZZ_NAMES))

# A harness of a program's logic links that program's objects (all but
# main.c) and its libraries.
FUZZ_CMD_bodycheck        = smtp-bodycheck
FUZZ_CMD_bodycheck_config = smtp-bodycheck
FUZZ_CMD_fingerprint      = smtp-dupcheck
FUZZ_CMD_forward          = smtp-forward
FUZZ_CMD_table            = smtp-table
FUZZ_CMD_logstat          = smtp-logstat
FUZZ_LIBS_fingerprint     = $(LIBCDB) $(LIBHIREDIS) $(LIBNETTLE)
FUZZ_LIBS_table           = $(LIBCDB)

FUZZ_LIB_OBJ := $(LIB_SRC:lib/%.c=$(FUZZ_B)/lib/%.o)
FUZZ_LIB_A   := $(FUZZ_B)/libnoqueue.a

$(FUZZ_B)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_LIB_A): $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_B)/cmd/%.o: cmd/%.c $(wildcard lib/*.h) $(wildcard cmd/*/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) -Icmd/$(firstword $(subst /, ,$*)) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/obj/%.o: fuzz/%.c fuzz/fuzz.h $(wildcard lib/*.h) $(wildcard cmd/*/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(if $(FUZZ_CMD_$*),-Icmd/$(FUZZ_CMD_$*)) $(FUZZ_CFLAGS) -c -o $@ $<

define fuzz_rule
$(FUZZ_B)/$(1): $(FUZZ_B)/obj/$(1).o $(FUZZ_B)/obj/memread.o $(if $(FUZZ_CMD_$(1)),$$(patsubst cmd/%.c,$(FUZZ_B)/cmd/%.o,$$(filter-out cmd/$(FUZZ_CMD_$(1))/main.c,$$(wildcard cmd/$(FUZZ_CMD_$(1))/*.c)))) $(FUZZ_LIB_A)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $$@ $$^ $(FUZZ_LIBS_$(1))
endef
$(foreach h,$(FUZZ_NAMES),$(eval $(call fuzz_rule,$(h))))

fuzz-build: $(FUZZ_RUN:%=$(FUZZ_B)/%)

fuzz: fuzz-build
	@FUZZ_B=$(FUZZ_B) sh fuzz/run $(FUZZ_SECONDS) $(FUZZ_RUN)

fuzz-smoke: fuzz-build
	@FUZZ_B=$(FUZZ_B) FUZZ_SMOKE=1 sh fuzz/run $(FUZZ_SMOKE_SECONDS) $(FUZZ_RUN)

fuzz-crashes: fuzz-build
	@FUZZ_B=$(FUZZ_B) sh fuzz/run -replay $(FUZZ_RUN)

# --- the sanitizer build of everything, and the tests on it --------------

ASAN_B   = build/asan
ASAN_SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

check-sanitize: deps
	@$(MAKE) --no-print-directory B=$(ASAN_B) BIN=$(ASAN_B)/bin CC=clang HOSTCC=clang STATIC= \
	  OPT='-O1 -g' SANITIZE='$(ASAN_SAN)' all tools units
	@NOQUEUE_BIN=$(ASAN_B)/bin NOQUEUE_BUILD=$(ASAN_B) NOQUEUE_SANITIZED=1 sh t/run

.PHONY: fuzz fuzz-smoke fuzz-crashes fuzz-build check-sanitize
