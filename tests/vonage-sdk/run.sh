#!/bin/sh
# Vonage SDK compatibility (`make sdk-compat`): installs the pinned
# @vonage/verify with npm, then runs verify.test.mjs with node's test runner
# against $KOOKOOVERIFY_BIN (default bin/kookooverify).  Ends with the line
# "sdk-compat: N passed, N failed" (tests/run-node.sh).

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
KOOKOOVERIFY_BIN=${KOOKOOVERIFY_BIN:-$root/bin/kookooverify}
export KOOKOOVERIFY_BIN

exec sh "$root/tests/run-node.sh" sdk-compat "$here" verify.test.mjs
