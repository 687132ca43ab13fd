# KookooVerify build.  Plain GNU make; every library through pkg-config except
# libphonenumber, which Debian ships without a .pc file.
#
#   make            build bin/kookooverify
#   make run        install missing packages, build, start server + KooKoo simulator
#   make test       install missing packages, build, run every test
#   make SANITIZE=address,undefined test
#   make bench | fuzz | soak | format | format-check | lint | check-src | clean
#   make fuzz [FUZZ_SECONDS=60]   libFuzzer harnesses (fuzz/README.md)

CC       ?= gcc
CXX      ?= g++
PKGS     := libmicrohttpd libcurl libxml-2.0 sqlite3 libsodium jansson
BUILD    ?= build
BIN      := bin/kookooverify
PYTHON   ?= /usr/bin/python3

WARN     := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla -Wwrite-strings -Wpointer-arith \
            -Wcast-qual -Wundef -Wnull-dereference -Wimplicit-fallthrough \
            -Wno-unused-parameter
CXXWARN  := -Wall -Wextra -Wformat=2 -Wshadow -Wvla -Wno-unused-parameter
ifeq ($(CI),true)
WERROR   := -Werror
endif

OPT      ?= -O2 -g
DEPFLAGS  = -MMD -MP
# pkg-config is only asked once the packages exist; `make deps` installs them.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null)

CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(WERROR) $(PKG_CFLAGS) -Isrc -Iivr
CXXFLAGS += -std=c++17 $(OPT) $(CXXWARN) $(WERROR) -Isrc
LDLIBS   += $(PKG_LIBS) -lphonenumber -lstdc++ -lpthread -lm

ifdef SANITIZE
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
CXXFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
BUILD    := build-san
BIN      := bin/kookooverify-san
endif

SRC_C    := $(wildcard src/*.c ivr/*.c)
SRC_CXX  := $(wildcard src/*.cc)
OBJ      := $(SRC_C:%.c=$(BUILD)/%.o) $(SRC_CXX:%.cc=$(BUILD)/%.o)
LIB_OBJ  := $(filter-out $(BUILD)/src/main.o,$(OBJ))
TESTS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
SIM      := bin/kookoo-sim$(if $(SANITIZE),-san)
SIM_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/kookoo-sim/*.c)) \
            $(BUILD)/src/util.o $(BUILD)/src/log.o

.PHONY: all deps run test unit integration bench format format-check lint \
        check-src clean

all: $(BIN) $(SIM)

deps:
	@sh tools/install-deps.sh

$(BIN): $(OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The KooKoo simulator (tools/README.md): a separate program for run and test.
$(SIM): $(SIM_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(DEPFLAGS) -c -o $@ $<

# The allocation-failure torture test wraps the allocator of our objects.
$(BUILD)/tests/test_alloc_fail: LDFLAGS += -Wl,--wrap=malloc \
	-Wl,--wrap=calloc -Wl,--wrap=realloc

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< \
	    $(LIB_OBJ) $(CMOCKA_LIBS) $(LDLIBS)

run: deps
	@$(MAKE) --no-print-directory $(BIN) $(SIM)
	@sh tools/run-local.sh

test: deps
	@$(MAKE) --no-print-directory $(BIN) $(SIM) $(TESTS)
	@$(MAKE) --no-print-directory unit integration sdk-compat sdk-js \
	    browser

unit: $(TESTS)
	@sh tests/run-unit.sh $(TESTS)

integration: $(BIN) $(SIM)
	@KOOKOOVERIFY_BIN=$(abspath $(BIN)) KOOKOO_SIM_BIN=$(abspath $(SIM)) \
	    $(PYTHON) tests/integration/run.py

# Vonage's own Node.js Verify client against the real server
# (tests/vonage-sdk/); needs node and npm, and fails saying so without them.
.PHONY: sdk-compat
sdk-compat: $(BIN)
	@KOOKOOVERIFY_BIN=$(abspath $(BIN)) sh tests/vonage-sdk/run.sh

# The JavaScript SDK's own tests (sdk/js/test/, no dependencies).
.PHONY: sdk-js
sdk-js:
	@sh tests/run-node.sh sdk-js sdk/js

# The demo page in headless Chromium (tests/browser/): the SDK's widget
# against the real server and the KooKoo simulator.
.PHONY: browser
browser: $(BIN) $(SIM)
	@KOOKOOVERIFY_BIN=$(abspath $(BIN)) KOOKOO_SIM_BIN=$(abspath $(SIM)) \
	    sh tests/browser/run.sh

bench: deps
	@$(MAKE) --no-print-directory $(BIN)
	@sh bench/run.sh $(abspath $(BIN))

FORMAT_FILES := $(wildcard src/*.c src/*.h src/*.cc ivr/*.c ivr/*.h tools/kookoo-sim/*.c tools/kookoo-sim/*.h tests/unit/*.c tests/unit/*.h)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

# cppcheck takes every C and C++ file under src/ and ivr/; clang-tidy (checks in
# .clang-tidy) gets the C files with the C flags and the C++ files with the C++
# flags, so it never parses phone.cc as C.
LINT_DIRS := $(wildcard src ivr)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE \
	    -Isrc -Iivr $(LINT_DIRS)
	$(if $(SRC_C),clang-tidy --quiet $(SRC_C) -- $(CFLAGS))
	$(if $(SRC_CXX),clang-tidy --quiet $(SRC_CXX) -- $(CXXFLAGS))

check-src:
	@sh tools/checksrc.sh

# Fuzzing (fuzz/README.md): libFuzzer harnesses built with clang into
# build-fuzz/, the library objects they test instrumented for coverage and
# sanitizers; each runs FUZZ_SECONDS on a copy of its corpus in fuzz/corpus-out/.
FUZZ_CC      ?= clang
FUZZ_CXX     ?= clang++
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -Isrc -Iivr -Ifuzz
FUZZ_CXXFLAGS := -std=c++17 -O1 -g $(CXXWARN) $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link -Isrc
FUZZ_NAMES   := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
# The project objects each harness needs.
FUZZ_OBJ_params       := src/params.o
FUZZ_OBJ_phone        := src/phone.o
FUZZ_OBJ_kookoo       := src/kookoo.o src/util.o
FUZZ_OBJ_ivr          := ivr/ivr_xml.o src/messages.o src/util.o
FUZZ_OBJ_ivr_validate := $(FUZZ_OBJ_ivr)
FUZZ_OBJ_ivr_callback := src/crypto.o src/params.o src/util.o
FUZZ_OBJ_vtoken       := src/vtoken.o src/crypto.o src/util.o
FORMAT_FILES += $(wildcard fuzz/*.c fuzz/*.h)

.PHONY: fuzz fuzz-ci fuzz-build

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $(DEPFLAGS) -c -o $@ $<

# clang++ links, for libphonenumber and the C++ runtime of phone.o.
define FUZZ_LINK
$(FUZZ_BUILD)/fuzz_$(1): $(FUZZ_BUILD)/fuzz/fuzz_$(1).o \
    $(addprefix $(FUZZ_BUILD)/,$(FUZZ_OBJ_$(1)))
	$$(FUZZ_CXX) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $$(LDLIBS)
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_LINK,$(n))))

-include $(wildcard $(FUZZ_BUILD)/*/*.d)

clean:
	rm -rf build build-san build-fuzz bin

-include $(OBJ:.o=.d) $(TESTS:=.d) \
    $(patsubst %.c,$(BUILD)/%.d,$(wildcard tools/kookoo-sim/*.c))

# Crash soak (tests/integration/soak.py): client threads under load while the
# server is killed with SIGKILL at random moments and restarted on the same
# database; fails if anything acknowledged is lost.  With SANITIZE=... it
# runs the -san binaries.  soak-ci is the shorter run CI makes.
SOAK_KILLS   ?= 20
SOAK_SECONDS ?= 60

.PHONY: soak soak-ci

soak: $(BIN) $(SIM)
	@KOOKOOVERIFY_BIN=$(abspath $(BIN)) KOOKOO_SIM_BIN=$(abspath $(SIM)) \
	    $(PYTHON) tests/integration/soak.py --kills $(SOAK_KILLS) \
	    --seconds $(SOAK_SECONDS)

soak-ci:
	@$(MAKE) --no-print-directory soak SOAK_SECONDS=25
