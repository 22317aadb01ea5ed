# tlskit - plain make. `make` builds the library, the command and the
# examples into build/; `make check` runs every test (plain, then under
# AddressSanitizer + UndefinedBehaviorSanitizer); `make demo` runs the
# quick-start mutual-TLS round trip.

VERSION   := 0.1.0
SOVERSION := 0
PREFIX    ?= /usr/local
DESTDIR   ?=
LIBDIR    ?= $(PREFIX)/lib
INCDIR    ?= $(PREFIX)/include
BINDIR    ?= $(PREFIX)/bin

# SANITIZE=1 builds into build-asan/ with ASan + UBSan.
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
B        ?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),fuzz)
# libFuzzer targets (tests/fuzz/) with ASan + UBSan; needs clang.
B        ?= build-fuzz
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined \
            -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B        ?= build
SANFLAGS :=
endif

CC       ?= cc
OPTFLAGS ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE
CFLAGS   += -std=c11 $(OPTFLAGS) $(WARN) $(SANFLAGS) -pthread
LDFLAGS  += $(SANFLAGS) -pthread
SSL_LIBS := $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)

LIB_SRC  := $(sort $(wildcard src/lib/*.c))
ENG_SRC  := $(sort $(wildcard src/engine/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
EX_SRC   := $(sort $(wildcard examples/*.c))
UT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
PIC_OBJ  := $(LIB_SRC:%.c=$(B)/pic/%.o)
ENG_OBJ  := $(ENG_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
EXAMPLES := $(EX_SRC:examples/%.c=$(B)/examples/%)
UNITS    := $(UT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZERS  := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

SONAME   := libtlskit.so.$(SOVERSION)
REALNAME := libtlskit.so.$(VERSION)

.PHONY: FORCE all lib examples unit fuzzers fuzz clean install uninstall check test test-plain \
        test-asan demo deps deps-test
all: lib $(B)/tlskit examples $(B)/tlskit.pc

lib: $(B)/libtlskit.a $(B)/libtlskit.so
examples: $(EXAMPLES)
unit: $(UNITS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

$(B)/libtlskit.a: $(LIB_OBJ)
	@mkdir -p $(B)
	rm -f $@ && ar rcs $@ $^

$(B)/$(REALNAME): $(PIC_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(LDFLAGS) $(SSL_LIBS)

$(B)/libtlskit.so: $(B)/$(REALNAME)
	ln -sf $(REALNAME) $(B)/$(SONAME)
	ln -sf $(REALNAME) $@

$(B)/tlskit: $(CLI_OBJ) $(ENG_OBJ) $(B)/libtlskit.a
	$(CC) -o $@ $(CLI_OBJ) $(ENG_OBJ) $(B)/libtlskit.a $(LDFLAGS) $(SSL_LIBS)

$(B)/examples/%: examples/%.c $(B)/libtlskit.a include/tlskit.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(B)/libtlskit.a $(LDFLAGS) $(SSL_LIBS)

# Unit tests also link the CLI's JSON writer (tested in test_json).
$(B)/tests/%: tests/unit/%.c $(B)/libtlskit.a $(B)/obj/src/cli/json.o include/tlskit.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Isrc/lib $(CFLAGS) -MMD -MP -o $@ $< $(B)/obj/src/cli/json.o $(B)/libtlskit.a \
	    $(LDFLAGS) $(SSL_LIBS) -lcmocka

fuzzers: $(FUZZERS)

$(B)/fuzz/%: tests/fuzz/%.c $(B)/libtlskit.a include/tlskit.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< $(B)/libtlskit.a \
	    $(LDFLAGS) $(SSL_LIBS)

# Builds the fuzz targets and runs each for FUZZ_SECONDS (scripts/fuzz.sh).
fuzz:
	sh scripts/fuzz.sh

# pkg-config file for PREFIX; `make install` writes it again for its own.
define write_pc
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCDIR)' '' \
	  'Name: tlskit' 'Description: simple, safe TLS sockets over OpenSSL 3' \
	  'Version: $(VERSION)' 'Requires.private: openssl >= 3.0' \
	  'Libs: -L$${libdir} -ltlskit' 'Cflags: -I$${includedir}' > $(1)
endef

$(B)/tlskit.pc: Makefile FORCE
	@mkdir -p $(B)
	$(call write_pc,$@.tmp)
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

FORCE:

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 755 $(B)/tlskit $(DESTDIR)$(BINDIR)/tlskit
	install -m 644 include/tlskit.h $(DESTDIR)$(INCDIR)/tlskit.h
	install -m 644 $(B)/libtlskit.a $(DESTDIR)$(LIBDIR)/libtlskit.a
	install -m 755 $(B)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/libtlskit.so
	$(call write_pc,$(DESTDIR)$(LIBDIR)/pkgconfig/tlskit.pc)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tlskit $(DESTDIR)$(INCDIR)/tlskit.h \
	  $(DESTDIR)$(LIBDIR)/libtlskit.* $(DESTDIR)$(LIBDIR)/pkgconfig/tlskit.pc

# Packages: deps for building and the demo, deps-test for the test suite.
deps:
	scripts/install-deps.sh build
deps-test:
	scripts/install-deps.sh test

demo: deps
	$(MAKE) all
	scripts/demo.sh

# The README's test command: everything, plain and sanitized.
check: deps-test
	scripts/run-tests.sh

test: check

clean:
	rm -rf build build-asan build-clang build-fuzz

-include $(LIB_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(ENG_OBJ:.o=.d) $(CLI_OBJ:.o=.d) \
	 $(EXAMPLES:=.d) $(UNITS:=.d) $(FUZZERS:=.d)
