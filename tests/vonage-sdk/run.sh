#!/bin/sh
# Vonage SDK compatibility (`make sdk-compat`): installs the pinned
# @vonage/verify with npm, then runs verify.test.mjs with node's test runner
# against $KOOKOOVERIFY_BIN (default bin/kookooverify).  Ends with the line
# "sdk-compat: N passed, N failed"; exits non-zero when a test failed or
# when node or npm is missing.

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
KOOKOOVERIFY_BIN=${KOOKOOVERIFY_BIN:-$root/bin/kookooverify}
export KOOKOOVERIFY_BIN

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "sdk-compat: node and npm are required (Node.js 20 or later)" \
		"to run tests/vonage-sdk; install them and run make test again"
	echo "sdk-compat: 0 passed, 1 failed"
	exit 1
fi
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'
then
	echo "sdk-compat: Node.js 20 or later is required, found $(node --version)"
	echo "sdk-compat: 0 passed, 1 failed"
	exit 1
fi

cd "$here" || exit 1
log=$(mktemp "${TMPDIR:-/tmp}/kv-sdk.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# npm ci installs exactly the committed lock; npm install is the fallback
# when the lock and package.json disagree.
if ! npm ci --loglevel=error >"$log" 2>&1 &&
	! npm install --loglevel=error >"$log" 2>&1; then
	cat "$log"
	echo "sdk-compat: npm could not install tests/vonage-sdk's packages"
	echo "sdk-compat: 0 passed, 1 failed"
	exit 1
fi

npm test --silent >"$log" 2>&1
rc=$?
cat "$log"
passed=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
failed=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
passed=${passed:-0}
failed=${failed:-0}
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "sdk-compat: $passed passed, $failed failed"
exit "$rc"
