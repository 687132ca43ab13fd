#!/bin/sh
# Vonage Verify v2 SDK compatibility (`make sdk-compat-v2`): installs the
# pinned @vonage/verify2 with npm, then runs verify2.test.mjs with node's
# test runner against $KOOKOOVERIFY_BIN (default bin/kookooverify).  Ends
# with the line "sdk-compat-v2: N passed, N failed" (tests/run-node.sh).

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
KOOKOOVERIFY_BIN=${KOOKOOVERIFY_BIN:-$root/bin/kookooverify}
export KOOKOOVERIFY_BIN

exec sh "$root/tests/run-node.sh" sdk-compat-v2 "$here" verify2.test.mjs
