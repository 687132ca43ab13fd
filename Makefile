# KookooVerify build.  Plain GNU make; every library through pkg-config except
# libphonenumber, which Debian ships without a .pc file.
#
#   make            build bin/kookooverify
#   make run        install missing packages, build, start server + KooKoo simulator
#   make test       install missing packages, build, run every test
#   make SANITIZE=address,undefined test
#   make pg-smoke   the PostgreSQL backend against a throwaway server
#   make bench | fuzz | soak | format | format-check | lint | check-src | clean
#   make fuzz [FUZZ_SECONDS=60]   libFuzzer harnesses (fuzz/README.md)
#   make install | uninstall [PREFIX=/usr/local] [DESTDIR=...]  (below)
#   make check-install   what install puts, checked in a staging tree

CC       ?= gcc
CXX      ?= g++
PKGS     := libmicrohttpd libcurl libxml-2.0 sqlite3 libsodium jansson libpq \
            libcrypto
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
            $(BUILD)/src/util.o $(BUILD)/src/log.o $(BUILD)/src/log_json.o \
            $(BUILD)/src/phone.o

.PHONY: all deps run test unit integration bench format format-check lint \
        check-src clean pg-smoke

all: $(BIN) $(SIM)

deps:
	@sh tools/install-deps.sh

$(BIN): $(OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The KooKoo simulator (tools/README.md): a separate program for run and test.
$(SIM): $(SIM_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lphonenumber -lstdc++ -lpthread -lm

# CPPFLAGS: a packager's preprocessor flags (Debian's -D_FORTIFY_SOURCE).
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(DEPFLAGS) -c -o $@ $<

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

# Builds run BUILD_JOBS compilers side by side (the cores); the tests
# themselves keep their own parallelism (TEST_JOBS below).
BUILD_JOBS ?= $(shell nproc)

# The suites `make test` runs after the build, in this order (.ci/run's
# sanitizer stage names fewer).
TEST_SUITES ?= unit integration sdk-compat sdk-compat-v2 callbacks sdk-js \
    browser

test: deps
	@$(MAKE) --no-print-directory -j $(BUILD_JOBS) $(BIN) $(SIM) $(TESTS)
	@$(MAKE) --no-print-directory $(TEST_SUITES)

unit: $(TESTS)
	@sh tests/run-unit.sh $(TESTS)

# The integration suite on each store backend in turn (SQLite, then a
# PostgreSQL the tests start), each half's wall time and closing line
# repeated at the end; fails if either half fails.  The multi-node tests
# (test_cluster*.py) always use PostgreSQL and run in its half only.
# INTEGRATION_BACKENDS=sqlite runs one half (then they do not run);
# integration-sqlite / integration-postgres do the same.
# INTEGRATION_PG_EXCLUDE: test ids (run.py --exclude, space-separated) left
# out of the PostgreSQL half only.
# TEST_JOBS workers run each half's test classes side by side (run.py -j):
# the tests mostly wait on timers, so more workers than cores pay.
INTEGRATION_BACKENDS ?= sqlite postgres
INTEGRATION_PG_EXCLUDE ?=
TEST_JOBS ?= 4
INTEGRATION = KOOKOOVERIFY_BIN=$(abspath $(BIN)) \
    KOOKOO_SIM_BIN=$(abspath $(SIM)) $(PYTHON) tests/integration/run.py \
    -j $(TEST_JOBS)

.PHONY: integration-sqlite integration-postgres
integration: $(BIN) $(SIM)
	@sum=$$(mktemp); rc=0; \
	for b in $(INTEGRATION_BACKENDS); do \
	    KOOKOOVERIFY_TEST_BACKEND=$$b $(INTEGRATION) --summary $$sum \
	        $$(test $$b = postgres || echo --exclude test_cluster) \
	        $$(test $$b != postgres || \
	            echo $(addprefix --exclude ,$(INTEGRATION_PG_EXCLUDE))) \
	        || rc=1; \
	done; \
	cat $$sum; rm -f $$sum; exit $$rc

integration-sqlite: $(BIN) $(SIM)
	@KOOKOOVERIFY_TEST_BACKEND=sqlite $(INTEGRATION) --exclude test_cluster

integration-postgres: $(BIN) $(SIM)
	@KOOKOOVERIFY_TEST_BACKEND=postgres $(INTEGRATION) \
	    $(addprefix --exclude ,$(INTEGRATION_PG_EXCLUDE))

# Vonage's own Node.js Verify client against the real server
# (tests/vonage-sdk/); needs node and npm, and fails saying so without them.
.PHONY: sdk-compat
sdk-compat: $(BIN)
	@KOOKOOVERIFY_BIN=$(abspath $(BIN)) sh tests/vonage-sdk/run.sh

# Vonage's own Node.js Verify v2 client (tests/vonage-sdk-v2/), with Basic
# auth and with an application's JWT.
.PHONY: sdk-compat-v2
sdk-compat-v2: $(BIN)
	@KOOKOOVERIFY_BIN=$(abspath $(BIN)) sh tests/vonage-sdk-v2/run.sh

# Status callbacks checked by Vonage's own JWT verification (@vonage/jwt,
# tests/callbacks/); needs node and npm, and fails saying so without them.
.PHONY: callbacks
callbacks: $(BIN)
	@KOOKOOVERIFY_BIN=$(abspath $(BIN)) sh tests/callbacks/run.sh

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

# The server's user-space instructions per request under callgrind
# (bench/README.md): steadier than rates on a shared machine.
.PHONY: bench-instructions
bench-instructions: deps
	@$(MAKE) --no-print-directory $(BIN)
	@sh bench/instructions.sh $(abspath $(BIN))

# Retention at a million rows under Request load (bench/README.md); fails
# when the store does not end with exactly what retention keeps.
.PHONY: bench-retention
bench-retention: deps
	@$(MAKE) --no-print-directory $(BIN)
	@sh bench/retention.sh $(abspath $(BIN))

FORMAT_FILES := $(wildcard src/*.c src/*.h src/*.cc ivr/*.c ivr/*.h tools/kookoo-sim/*.c tools/kookoo-sim/*.h tests/unit/*.c tests/unit/*.h)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

# cppcheck takes every C and C++ file under src/ and ivr/; clang-tidy (checks in
# .clang-tidy) gets the C files with the C flags and the C++ files with the C++
# flags, so it never parses phone.cc as C.
LINT_DIRS := $(wildcard src ivr)

# Both take one file at a time, LINT_JOBS (the cores) side by side.
LINT_JOBS ?= $(shell nproc)

lint:
	cppcheck -j $(LINT_JOBS) --quiet --error-exitcode=1 \
	    --enable=warning,performance,portability \
	    --inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE \
	    -Isrc -Iivr $(LINT_DIRS)
	$(if $(SRC_C),printf '%s\n' $(SRC_C) | xargs -P $(LINT_JOBS) -I FILE \
	    clang-tidy --quiet FILE -- $(CFLAGS))
	$(if $(SRC_CXX),clang-tidy --quiet $(SRC_CXX) -- $(CXXFLAGS))

# The PostgreSQL backend against a throwaway server of its own (no harness).
pg-smoke: $(BIN)
	@KOOKOOVERIFY_BIN=$(BIN) sh tests/pg-smoke.sh

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
FUZZ_OBJ_kookoo       := src/kookoo.o src/metrics.o src/util.o
FUZZ_OBJ_ivr          := ivr/ivr_xml.o src/sms.o src/sms_count.o src/util.o
FUZZ_OBJ_ivr_validate := $(FUZZ_OBJ_ivr)
FUZZ_OBJ_ivr_callback := src/crypto.o src/params.o src/util.o
FUZZ_OBJ_vtoken       := src/vtoken.o src/crypto.o src/util.o
FUZZ_OBJ_sms_template := src/sms.o src/sms_count.o src/util.o
FUZZ_OBJ_jwt          := src/jwt.o
FORMAT_FILES += $(wildcard fuzz/*.c fuzz/*.h)

.PHONY: fuzz fuzz-ci fuzz-build

fuzz-build: $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory -j $(BUILD_JOBS) fuzz-build
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

# Installation, with the GNU directory variables: `make install` puts the
# server in /usr/local; debian/rules passes prefix=/usr sysconfdir=/etc
# localstatedir=/var.  Set them on the build too (`make PREFIX=/usr`), since
# the binary is built knowing where its templates are installed.  The config
# file and the man page's SETTINGS are generated from the directive table
# (`kookooverify config-doc`), so they cannot drift from it; the files under
# dist/ are the templates of what install writes.
PREFIX        ?= /usr/local
prefix        ?= $(PREFIX)
exec_prefix   ?= $(prefix)
bindir        ?= $(exec_prefix)/bin
datarootdir   ?= $(prefix)/share
datadir       ?= $(datarootdir)
mandir        ?= $(datarootdir)/man
sysconfdir    ?= $(prefix)/etc
localstatedir ?= $(prefix)/var
systemdsystemunitdir ?= $(prefix)/lib/systemd/system
sysusersdir   ?= $(prefix)/lib/sysusers.d
tmpfilesdir   ?= $(prefix)/lib/tmpfiles.d
pkgdatadir    := $(datadir)/kookooverify
statedir      := $(localstatedir)/lib/kookooverify
INSTALL       ?= install

# systemd makes /var/lib/kookooverify and reads /etc/kookooverify itself;
# any other state directory must be opened to the unit's read-only system.
UNIT_STATE  := $(if $(filter /var/lib/kookooverify,$(statedir)),StateDirectory=kookooverify\nStateDirectoryMode=0700,ReadWritePaths=$(statedir))
UNIT_CONFIG := $(if $(filter /etc,$(sysconfdir)),ConfigurationDirectory=kookooverify,\# config in $(sysconfdir)/kookooverify)

DIST      := $(BUILD)/dist
DIST_GEN  := $(DIST)/kookooverify.conf $(DIST)/kookooverify.8 \
             $(DIST)/kookooverify.service $(DIST)/kookooverify.sysusers \
             $(DIST)/kookooverify.tmpfiles
DIST_PATHS := $(bindir) $(mandir) $(sysconfdir) $(statedir) $(pkgdatadir) \
             $(systemdsystemunitdir) $(sysusersdir) $(tmpfilesdir)
DIST_SED  := -e 's|@bindir@|$(bindir)|g' -e 's|@sysconfdir@|$(sysconfdir)|g' \
             -e 's|@statedir@|$(statedir)|g' -e 's|@pkgdatadir@|$(pkgdatadir)|g' \
             -e 's|@systemdsystemunitdir@|$(systemdsystemunitdir)|g' \
             -e 's|@STATE_LINE@|$(UNIT_STATE)|' -e 's|@CONFIG_LINE@|$(UNIT_CONFIG)|'

.PHONY: install-files install uninstall check-install FORCE

# Rewritten only when a directory changes, so what embeds one is rebuilt.
$(BUILD)/paths.stamp: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' $(DIST_PATHS) | cmp -s - $@ || \
	    printf '%s\n' $(DIST_PATHS) > $@

$(BUILD)/src/admin_templates.o: CFLAGS += -DKV_DATADIR='"$(pkgdatadir)"'
$(BUILD)/src/admin_templates.o: $(BUILD)/paths.stamp

# Each depends on the Makefile too, whose recipes name files (kv.db).
$(DIST)/kookooverify.conf: dist/kookooverify.conf.head $(BIN) $(BUILD)/paths.stamp Makefile
	@mkdir -p $(dir $@)
	{ cat dist/kookooverify.conf.head && \
	    $(BIN) config-doc --format=conf --set db=$(statedir)/kv.db; \
	} > $@.tmp && mv $@.tmp $@

$(DIST)/kookooverify.8: dist/kookooverify.8.in $(BIN) $(BUILD)/paths.stamp Makefile
	@mkdir -p $(dir $@)
	$(BIN) config-doc --format=man > $@.settings
	sed $(DIST_SED) -e '/^@SETTINGS@$$/{' -e 'r $@.settings' -e 'd' -e '}' \
	    dist/kookooverify.8.in > $@.tmp && mv $@.tmp $@ && rm -f $@.settings

$(DIST)/kookooverify.%: dist/kookooverify.%.in $(BUILD)/paths.stamp Makefile
	@mkdir -p $(dir $@)
	sed $(DIST_SED) $< > $@.tmp && mv $@.tmp $@

install-files: $(BIN) $(DIST_GEN)

# The config file is the admin's: an existing one is never overwritten.  As
# root without DESTDIR, the user and the state directory are made at once
# (a package does it in its postinst), and systemd is told of the unit.
install: install-files
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man8 \
	    $(DESTDIR)$(systemdsystemunitdir) $(DESTDIR)$(sysusersdir) \
	    $(DESTDIR)$(tmpfilesdir) $(DESTDIR)$(sysconfdir)/kookooverify
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(bindir)/kookooverify
	for d in xml_templates/*/; do \
	    $(INSTALL) -d $(DESTDIR)$(pkgdatadir)/$$d && \
	    $(INSTALL) -m 0644 $$d*.xml $(DESTDIR)$(pkgdatadir)/$$d || exit 1; \
	done
	for d in sms_templates/*/; do \
	    $(INSTALL) -d $(DESTDIR)$(pkgdatadir)/$$d && \
	    $(INSTALL) -m 0644 $$d*.txt $(DESTDIR)$(pkgdatadir)/$$d || exit 1; \
	done
	$(INSTALL) -d $(DESTDIR)$(pkgdatadir)/console
	$(INSTALL) -m 0644 console/index.html console/*.js console/*.css \
	    $(DESTDIR)$(pkgdatadir)/console
	$(INSTALL) -m 0644 $(DIST)/kookooverify.8 $(DESTDIR)$(mandir)/man8/kookooverify.8
	$(INSTALL) -m 0644 $(DIST)/kookooverify.service \
	    $(DESTDIR)$(systemdsystemunitdir)/kookooverify.service
	$(INSTALL) -m 0644 $(DIST)/kookooverify.sysusers \
	    $(DESTDIR)$(sysusersdir)/kookooverify.conf
	$(INSTALL) -m 0644 $(DIST)/kookooverify.tmpfiles \
	    $(DESTDIR)$(tmpfilesdir)/kookooverify.conf
	@conf=$(DESTDIR)$(sysconfdir)/kookooverify/kookooverify.conf; \
	if [ -e "$$conf" ]; then \
	    echo "install: kept $$conf (the settings are yours)"; \
	else \
	    echo "$(INSTALL) -m 0640 $(DIST)/kookooverify.conf $$conf"; \
	    $(INSTALL) -m 0640 $(DIST)/kookooverify.conf "$$conf"; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && \
	    command -v systemd-sysusers >/dev/null 2>&1; then \
	    echo "systemd-sysusers, systemd-tmpfiles --create"; \
	    systemd-sysusers $(sysusersdir)/kookooverify.conf && \
	    systemd-tmpfiles --create $(tmpfilesdir)/kookooverify.conf; \
	    if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	fi

# Removes what install put, except the state directory (the database and
# its secret), the system user (Debian never removes one) and a config file
# that differs from the one install would write.
uninstall: $(DIST)/kookooverify.conf
	rm -f $(DESTDIR)$(bindir)/kookooverify \
	    $(DESTDIR)$(mandir)/man8/kookooverify.8 \
	    $(DESTDIR)$(systemdsystemunitdir)/kookooverify.service \
	    $(DESTDIR)$(sysusersdir)/kookooverify.conf \
	    $(DESTDIR)$(tmpfilesdir)/kookooverify.conf
	rm -rf $(DESTDIR)$(pkgdatadir)
	@conf=$(DESTDIR)$(sysconfdir)/kookooverify/kookooverify.conf; \
	if cmp -s $(DIST)/kookooverify.conf "$$conf"; then \
	    rm -f "$$conf"; \
	elif [ -e "$$conf" ]; then \
	    echo "uninstall: kept $$conf (edited)"; \
	fi; \
	rmdir $(DESTDIR)$(sysconfdir)/kookooverify 2>/dev/null || true

# tools/install-test.sh: install into a staging tree, check every file, the
# config and man page against the directive table, then uninstall.
check-install: $(BIN)
	@sh tools/install-test.sh
