#!/bin/sh
# Runs Node.js tests with node's own test runner and ends with the line
# "NAME: N passed, N failed", like every test runner of `make test`.
# Usage: tests/run-node.sh NAME DIR [TEST_FILE_OR_DIR...]
# In DIR, installs the committed npm lock first when there is one (npm ci,
# falling back to npm install), then runs `node --test` on the given files
# (default: DIR's test/ folder).  Exits non-zero when a test failed, or
# when node (18 or later: Debian 12's own nodejs is 18) or a needed npm
# is missing.

set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 NAME DIR [TEST...]" >&2
	exit 2
fi
name=$1
dir=$2
shift 2

fail()
{
	echo "$name: $*"
	echo "$name: 0 passed, 1 failed"
	exit 1
}

command -v node >/dev/null 2>&1 ||
	fail "node is required (Node.js 18 or later); install it and run make test again"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
	fail "Node.js 18 or later is required, found $(node --version)"

# Each test gets two minutes.  Node 20's runner takes that as a flag;
# Node 18's has no such flag, so there a test's own timeout option, or the
# harness's own waits, are what bound it.
timeout_flag=""
if node --test-timeout=1 -e '' >/dev/null 2>&1; then
	timeout_flag=--test-timeout=120000
fi

cd "$dir" || fail "no directory $dir"
log=$(mktemp "${TMPDIR:-/tmp}/kv-node.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -f package-lock.json ]; then
	command -v npm >/dev/null 2>&1 || fail "npm is required to install $dir's packages"
	if ! npm ci --loglevel=error >"$log" 2>&1 &&
		! npm install --loglevel=error >"$log" 2>&1; then
		cat "$log"
		fail "npm could not install $dir's packages"
	fi
fi

if [ $# -eq 0 ]; then
	set -- test/
fi
# $timeout_flag is empty or one word.
# shellcheck disable=SC2086
node --test --test-reporter=tap $timeout_flag "$@" >"$log" 2>&1
rc=$?
cat "$log"
passed=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
failed=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)
passed=${passed:-0}
failed=${failed:-0}
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "$name: $passed passed, $failed failed"
exit "$rc"
