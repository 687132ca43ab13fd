#!/bin/sh
# Runs Node.js tests with node's own test runner and ends with the line
# "NAME: N passed, N failed", like every test runner of `make test`.
# Usage: tests/run-node.sh NAME DIR [TEST_FILE_OR_DIR...]
# In DIR, installs the committed npm lock first when there is one (npm ci,
# falling back to npm install), then runs `node --test` on the given files
# (default: DIR's test/ folder).  Exits non-zero when a test failed, or
# when node (18 or later: Debian 12's own nodejs is 18) or a needed npm
# is missing.  KV_NODE_RUN_TIMEOUT: seconds the whole run may take where
# node has no --test-timeout (Node 18; default 900).

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
# Each test gets two minutes, a flag of Node 20's test runner.  Node 18's
# runner (Debian 12's nodejs) has no such flag: there coreutils' timeout
# bounds the whole run instead, and stops node and every process it started
# (timeout signals its whole process group), also when this script is.
if node --test-timeout=1 -e '' >/dev/null 2>&1; then
	node --test --test-reporter=tap --test-timeout=120000 "$@" >"$log" 2>&1
	rc=$?
else
	limit=${KV_NODE_RUN_TIMEOUT:-900}
	timeout --kill-after=10 "$limit" \
		node --test --test-reporter=tap "$@" >"$log" 2>&1 &
	pid=$!
	trap 'kill -TERM "$pid" 2>/dev/null; exit 130' INT
	trap 'kill -TERM "$pid" 2>/dev/null; exit 143' TERM
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "$name: stopped after ${limit} s: node $(node --version)" \
			"has no --test-timeout, so the whole run is bounded" >>"$log"
	fi
fi
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
