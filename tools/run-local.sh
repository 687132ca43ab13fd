#!/bin/sh
# Starts KookooVerify locally for trying it out (`make run`): a SQLite file in
# var/, the schema migrated, one API key kept in var/local-key.json, a
# publishable key for the demo page in var/demo-key.json, a test number with
# a fixed PIN, the KooKoo simulator on ${SIM_PORT:-8081}, and the server on
# 127.0.0.1:${PORT:-8080} wired to it, with the demo at /demo/ (Ctrl-C stops
# both).

set -eu

cd "$(dirname "$0")/.."

BIN=${KOOKOOVERIFY_BIN:-bin/kookooverify}
PORT=${PORT:-8080}
VAR=var
DB=$VAR/kookooverify.db
KEYFILE=$VAR/local-key.json
DEMOKEYFILE=$VAR/demo-key.json
TEST_NUMBER=919999900001
TEST_PIN=1234
BASE=http://127.0.0.1:$PORT

# The database, its secret file and the key file are private to this user.
umask 077

if [ ! -x "$BIN" ]; then
	echo "run-local: $BIN is not built; run \`make run\` (or \`make\`)" >&2
	exit 1
fi
mkdir -p "$VAR"

# A key is only good for the database it was created in.
if [ ! -f "$DB" ] && [ -f "$KEYFILE" ]; then
	echo "run-local: $DB is gone; forgetting the key in $KEYFILE"
	rm -f "$KEYFILE"
fi
if [ ! -f "$DB" ]; then
	rm -f "$DEMOKEYFILE"
fi

if ! "$BIN" migrate --db "$DB"; then
	echo "run-local: \`$BIN migrate --db $DB\` failed" >&2
	exit 1
fi

# Prints field $2 of the JSON object in file $1, or fails.
json_field()
{
	python3 -c '
import json, sys
with open(sys.argv[1]) as f:
    v = json.load(f)[sys.argv[2]]
if not isinstance(v, str) or not v:
    sys.exit(1)
print(v)
' "$1" "$2" 2>/dev/null
}

if [ -f "$KEYFILE" ] && json_field "$KEYFILE" api_key >/dev/null &&
    json_field "$KEYFILE" api_secret >/dev/null; then
	echo "run-local: reusing the API key in $KEYFILE"
else
	rm -f "$KEYFILE"
	if ! "$BIN" keys create --db "$DB" --name local --json \
	    >"$KEYFILE.tmp"; then
		rm -f "$KEYFILE.tmp"
		echo "run-local: \`$BIN keys create\` failed" >&2
		exit 1
	fi
	chmod 600 "$KEYFILE.tmp"
	mv "$KEYFILE.tmp" "$KEYFILE"
	echo "run-local: created an API key, kept in $KEYFILE"
fi
if ! KEY=$(json_field "$KEYFILE" api_key) ||
    ! SECRET=$(json_field "$KEYFILE" api_secret); then
	echo "run-local: $KEYFILE has no api_key/api_secret; delete it" \
	    "and run again" >&2
	exit 1
fi

# The demo page's publishable key, for this server's own origin(s); a new
# port needs a new key.
DEMO_ORIGIN=http://127.0.0.1:$PORT
if [ -f "$DEMOKEYFILE" ] && DEMO_KEY=$(json_field "$DEMOKEYFILE" api_key) &&
    [ "$(json_field "$DEMOKEYFILE" origin)" = "$DEMO_ORIGIN" ]; then
	echo "run-local: reusing the demo's publishable key in $DEMOKEYFILE"
	# Keys made before owners existed: the local secret key redeems its
	# tokens (the same owner again is harmless).
	"$BIN" keys set-owner "$DEMO_KEY" "$KEY" --db "$DB" ||
		echo "run-local: could not make $KEY the owner of $DEMO_KEY" >&2
else
	if ! DEMO_KEY=$("$BIN" keys create --db "$DB" --name demo \
	    --publishable --owner "$KEY" --brand "KookooVerify demo" \
	    --origin "$DEMO_ORIGIN" \
	    --origin "http://localhost:$PORT" --json |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])'); then
		echo "run-local: \`$BIN keys create --publishable\` failed" >&2
		exit 1
	fi
	printf '{"api_key": "%s", "origin": "%s"}\n' "$DEMO_KEY" \
	    "$DEMO_ORIGIN" >"$DEMOKEYFILE"
	echo "run-local: created the demo's publishable key, kept in" \
	    "$DEMOKEYFILE"
fi

# Missed calls: the local key and the demo's may verify by one (a DID of
# the simulator's; the inbound path is a local-only secret).
"$BIN" keys missed-call "$KEY" on --db "$DB" >/dev/null ||
	echo "run-local: could not enable missed calls for $KEY" >&2
"$BIN" keys missed-call "$DEMO_KEY" on --db "$DB" >/dev/null ||
	echo "run-local: could not enable missed calls for $DEMO_KEY" >&2
MISSED_DID=${MISSED_DID:-08040000001}
MISSED_PATH=${MISSED_PATH:-local-inbound-secret-0001}

# Form-encodes a value for a query string.
urlenc()
{
	python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}
QKEY=$(urlenc "$KEY")
QSECRET=$(urlenc "$SECRET")
CRED="api_key=$QKEY&api_secret=$QSECRET"

# This number gets PIN 1234 and nothing is sent to KooKoo for it.
KOOKOOVERIFY_TEST_NUMBERS=${KOOKOOVERIFY_TEST_NUMBERS:-$TEST_NUMBER:$TEST_PIN}
export KOOKOOVERIFY_TEST_NUMBERS

# ---- KooKoo simulator --------------------------------------------------------
# bin/kookoo-sim answers KooKoo's SMS and call APIs on loopback, prints every
# SMS and call transcript, and keeps an inbox per number; the server sends
# through it, so the whole flow (SMS, then the call after next_event_wait)
# runs with no KooKoo account.  Calls are allowed at any hour here.
SIM=${KOOKOO_SIM_BIN:-bin/kookoo-sim}
SIM_PORT=${SIM_PORT:-8081}
SIM_BASE=http://127.0.0.1:$SIM_PORT
"$SIM" --listen "127.0.0.1:$SIM_PORT" \
    --inbound-url "$BASE/ivr/kookoo/inbound/$MISSED_PATH" &
SIM_PID=$!
SERVER_PID=
stop_all()
{
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
	kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
}
trap stop_all EXIT
trap 'exit 130' INT TERM
tries=0
until curl -s -o /dev/null "$SIM_BASE/sim/stats"; do
	tries=$((tries + 1))
	if [ "$tries" -gt 50 ]; then
		echo "run-local: the KooKoo simulator did not start" >&2
		exit 1
	fi
	sleep 0.1
done
KOOKOOVERIFY_KOOKOO_BASE_URL=${KOOKOOVERIFY_KOOKOO_BASE_URL:-$SIM_BASE/outbound}
KOOKOOVERIFY_KOOKOO_API_KEY=${KOOKOOVERIFY_KOOKOO_API_KEY:-simulator}
KOOKOOVERIFY_PUBLIC_BASE_URL=${KOOKOOVERIFY_PUBLIC_BASE_URL:-$BASE}
KOOKOOVERIFY_CALL_WINDOW=${KOOKOOVERIFY_CALL_WINDOW:-00:00-00:00}
KOOKOOVERIFY_NEXT_EVENT_WAIT=${KOOKOOVERIFY_NEXT_EVENT_WAIT:-30}
KOOKOOVERIFY_MISSED_CALL_DIDS=${KOOKOOVERIFY_MISSED_CALL_DIDS:-$MISSED_DID}
KOOKOOVERIFY_MISSED_CALL_PATH=${KOOKOOVERIFY_MISSED_CALL_PATH:-$MISSED_PATH}
KOOKOOVERIFY_DEMO=1
KOOKOOVERIFY_DEMO_KEY=$DEMO_KEY
KOOKOOVERIFY_DEMO_INBOX_URL=$SIM_BASE
export KOOKOOVERIFY_KOOKOO_BASE_URL KOOKOOVERIFY_KOOKOO_API_KEY \
	KOOKOOVERIFY_PUBLIC_BASE_URL KOOKOOVERIFY_CALL_WINDOW \
	KOOKOOVERIFY_NEXT_EVENT_WAIT KOOKOOVERIFY_DEMO KOOKOOVERIFY_DEMO_KEY \
	KOOKOOVERIFY_DEMO_INBOX_URL KOOKOOVERIFY_MISSED_CALL_DIDS \
	KOOKOOVERIFY_MISSED_CALL_PATH
# ---- end of KooKoo simulator ---------------------------------------------------

cat <<EOF

KookooVerify on $BASE  (database $DB)
  demo page:  $BASE/demo/  (the JavaScript SDK's widget, with the
              simulator's inbox beside it; publishable key $DEMO_KEY)
  api_key:    $KEY
  api_secret: $SECRET
  test number $TEST_NUMBER always gets PIN $TEST_PIN; nothing is sent.
  One verification per number and key is live at a time: a second request
  answers status 10 with the live request_id.  Put the request_id you get
  in place of REQUEST_ID.

A real delivery through the simulator (any other Indian mobile number):
  curl '$BASE/kookooverify?phone_no=9812345678&brand=MyApp&$CRED'
  curl '$SIM_BASE/sim/inbox?phone_no=9812345678'      # the SMS, with its PIN
  curl '$BASE/kookooverify/check?request_id=REQUEST_ID&code=PIN&$CRED'
  Not checked within ${KOOKOOVERIFY_NEXT_EVENT_WAIT}s, the call comes; its transcript is
  printed below and in the inbox (the simulated callee presses nothing;
  script it: curl -d '{"*":{"keys":["2"]}}' $SIM_BASE/sim/script).

Seed (KookooVerify) dialect:
  curl '$BASE/kookooverify?phone_no=$TEST_NUMBER&brand=MyApp&$CRED'
  curl '$BASE/kookooverify/check?request_id=REQUEST_ID&code=$TEST_PIN&$CRED'
  curl '$BASE/kookooverify/search?request_id=REQUEST_ID&$CRED'
  curl '$BASE/kookooverify/search?phone_no=$TEST_NUMBER&$CRED'
  curl '$BASE/kookooverify/control?request_id=REQUEST_ID&cmd=cancel&$CRED'

Vonage Verify v1 dialect:
  curl -u '$KEY:$SECRET' -d number=$TEST_NUMBER -d brand=MyApp $BASE/verify/json
  curl -u '$KEY:$SECRET' -d request_id=REQUEST_ID -d code=$TEST_PIN $BASE/verify/check/json
  curl -u '$KEY:$SECRET' -d request_id=REQUEST_ID $BASE/verify/search/json
  curl -u '$KEY:$SECRET' -d request_id=REQUEST_ID -d cmd=cancel $BASE/verify/control/json

Verification tokens (what a page gets from a check with a publishable key):
  curl $BASE/.well-known/kookooverify/jwks.json       # the public key
  curl -u '$KEY:$SECRET' -d token=TOKEN -d single_use=true $BASE/verify/token/json

Missed-call verification (workflow 8; 9 sends the SMS after the window):
  curl -u '$KEY:$SECRET' -d number=9812345678 -d brand=MyApp -d workflow_id=8 $BASE/verify/json
  curl -d cid=9812345678 -d called_number=$MISSED_DID $SIM_BASE/sim/inbound  # the missed call
  curl -u '$KEY:$SECRET' -d request_id=REQUEST_ID $BASE/verify/search/json  # SUCCESS
  (seed dialect: add &missed_call=1 or &missed_call=sms to the request)

Ctrl-C stops the server and the simulator.

EOF

"$BIN" serve --db "$DB" --listen "127.0.0.1:$PORT" &
SERVER_PID=$!
wait "$SERVER_PID"
