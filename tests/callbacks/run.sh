#!/bin/sh
# Status callbacks checked by Vonage's own JWT verification (`make
# callbacks`): installs the pinned @vonage/jwt with npm, then runs
# callbacks.test.mjs with node's test runner against $KOOKOOVERIFY_BIN
# (default bin/kookooverify).  Ends with the line "callbacks: N passed,
# N failed" (tests/run-node.sh).

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
KOOKOOVERIFY_BIN=${KOOKOOVERIFY_BIN:-$root/bin/kookooverify}
export KOOKOOVERIFY_BIN

exec sh "$root/tests/run-node.sh" callbacks "$here" callbacks.test.mjs
