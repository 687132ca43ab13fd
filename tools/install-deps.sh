#!/bin/sh
# Install the Debian 12 packages that building, testing, linting and
# benchmarking KookooVerify need, and nothing when they are all present.
# Run by `make deps` (and so by `make run`, `make test` and `make bench`).
# Works as root on a fresh machine; otherwise uses sudo if there is one.

set -eu

# The one list of packages.  clang and libclang-rt-14-dev (libFuzzer and the
# sanitizer runtimes) are for the fuzzers; libphonenumber has no .pc file, so
# the Makefile links it by name.  chromium is the browser tests/browser drives
# (through playwright-core, which downloads no browser of its own).
# postgresql-15 is the server the tests of the PostgreSQL backend start in
# a temp dir of their own (libpq-dev is the client library it links).
# prometheus gives the `prometheus` and `promtool` binaries the metrics
# tests start themselves (tests/integration/test_prometheus.py); its
# packaged service is never used.  python3-jwt (PyJWT) runs the Python
# example of docs/API.md that checks a callback's signature
# (tests/integration/test_callback_snippets.py).
PACKAGES="
build-essential
pkg-config
libmicrohttpd-dev
libcurl4-openssl-dev
libxml2-dev
libsqlite3-dev
libpq-dev
postgresql-15
libsodium-dev
libjansson-dev
libssl-dev
libcmocka-dev
libphonenumber-dev
python3
python3-yaml
python3-jsonschema
python3-jwt
curl
wrk
sqlite3
clang-format
cppcheck
clang-tidy
clang
libclang-rt-14-dev
chromium
prometheus
"

# Node.js, for the Node test stages (tests/run-node.sh): Debian's nodejs
# and npm when there is no node at all.  A node already here, often a newer
# one from elsewhere, is kept; npm is added beside it only when apt says
# installing it would not replace or remove that node.
if ! command -v node >/dev/null 2>&1; then
	PACKAGES="$PACKAGES nodejs npm"
elif ! command -v npm >/dev/null 2>&1; then
	plan=$(apt-get -s install npm 2>/dev/null) || plan=""
	if [ -n "$plan" ] &&
	    ! printf '%s\n' "$plan" | grep -Eq '^(Inst|Remv) (nodejs|libnode)'; then
		PACKAGES="$PACKAGES npm"
	else
		echo "deps: node $(node --version) has no npm, and apt cannot add" \
		    "one without replacing that node; install npm for it" >&2
	fi
fi

# PHP, for the PHP example of docs/API.md (the same test runs it with php):
# only its command-line interpreter, and only when there is no php at all.
# The example uses nothing outside PHP 8's core, so a php already here,
# from Debian or elsewhere, is kept.
if ! command -v php >/dev/null 2>&1; then
	PACKAGES="$PACKAGES php-cli"
fi

missing=""
for pkg in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing="$missing $pkg"
	fi
done
missing=${missing# }

# The Node test stages need Node.js 18 or later (tests/run-node.sh), and
# the PHP example PHP 8, which Debian 12's own nodejs and php-cli are; a node
# or php kept from elsewhere may be older, so say so rather than let the
# tests fail later unexplained.
version_check()
{
	if command -v node >/dev/null 2>&1; then
		major=$(node -p 'process.versions.node.split(".")[0]' \
		    2>/dev/null) || major=0
		if [ "$major" -lt 18 ]; then
			echo "deps: warning: node $(node --version) is older" \
			    "than the Node.js 18 that the Node test stages" \
			    "need" >&2
		fi
	fi
	if command -v php >/dev/null 2>&1; then
		version=$(php -r 'echo PHP_VERSION;' 2>/dev/null) ||
		    version=0
		if [ "${version%%.*}" -lt 8 ]; then
			echo "deps: warning: php $version is older than the" \
			    "PHP 8 that docs/API.md's PHP example needs" >&2
		fi
	fi
}

if [ -z "$missing" ]; then
	version_check
	echo "deps: all present"
	exit 0
fi

echo "deps: installing $missing"

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: not root and no sudo; as root, run:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends" \
	    "$missing" >&2
	exit 1
fi

# A fresh machine has no package lists, so update once before installing.
# $SUDO and $missing are split into words on purpose.
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends $missing

still=""
for pkg in $missing; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || still="$still $pkg"
done
if [ -n "$still" ]; then
	echo "deps: still missing after install:$still" >&2
	exit 1
fi
version_check
echo "deps: installed"
