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
PACKAGES="
build-essential
pkg-config
libmicrohttpd-dev
libcurl4-openssl-dev
libxml2-dev
libsqlite3-dev
libsodium-dev
libjansson-dev
libcmocka-dev
libphonenumber-dev
python3
curl
wrk
sqlite3
clang-format
cppcheck
clang-tidy
clang
libclang-rt-14-dev
chromium
"

missing=""
for pkg in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing="$missing $pkg"
	fi
done
missing=${missing# }

if [ -z "$missing" ]; then
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
echo "deps: installed"
