#!/bin/sh
# The demo page and the operator console end to end in a browser (`make
# test`, `make browser`): demo.test.mjs, webotp.test.mjs and
# console.test.mjs (helpers in page.mjs) drive Debian's
# chromium (through the pinned playwright-core, which downloads no browser
# of its own) against $KOOKOOVERIFY_BIN (default
# bin/kookooverify) and the KooKoo simulator.  Ends with the line
# "browser: N passed, N failed" (tests/run-node.sh).

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
KOOKOOVERIFY_BIN=${KOOKOOVERIFY_BIN:-$root/bin/kookooverify}
CHROMIUM_BIN=${CHROMIUM_BIN:-/usr/bin/chromium}
export KOOKOOVERIFY_BIN CHROMIUM_BIN

if [ ! -x "$CHROMIUM_BIN" ]; then
	echo "browser: chromium is required at $CHROMIUM_BIN (Debian's" \
		"package: make deps, or apt-get install chromium; or set" \
		"CHROMIUM_BIN)"
	echo "browser: 0 passed, 1 failed"
	exit 1
fi

exec sh "$root/tests/run-node.sh" browser "$here" demo.test.mjs webotp.test.mjs \
	console.test.mjs
