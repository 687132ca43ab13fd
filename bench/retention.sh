#!/bin/sh
# bench/retention.sh BIN: retention at a million rows under the bench's
# Request load.  A store gets RET_ROWS finished verifications (with a check
# and an event on every tenth) older than the retention settings and
# RET_KEEP recent ones; a server without retention measures Request (rate
# and p99) and `erase --number` on the full store; then a server with
# retention on measures Request while its background purge works, and the
# purge's rate with and without that load.  The store must end with exactly
# the rows retention keeps: the script exits 1 otherwise (and when a phase
# fails).  See bench/README.md.  Traffic goes to 127.0.0.1 only.

set -u

BIN=${1:?usage: bench/retention.sh PATH/TO/kookooverify}
HERE=$(cd "$(dirname "$0")" && pwd)

ROWS=${RET_ROWS:-1000000}      # old finished verifications, all purged
KEEP=${RET_KEEP:-1000}         # recent finished verifications, all kept
DUR=${BENCH_SECONDS:-8}        # seconds per wrk run
THREADS=${BENCH_THREADS:-1}
CONNS=${BENCH_CONNS:-32}
# The paced runs: PACED_CONNS connections pausing about BENCH_PACE_MS after
# each reply (common.lua), a load well under full, where p99 shows stalls
# rather than queueing.
PACED_CONNS=${RET_PACED_CONNS:-8}
PACE=${BENCH_PACE_MS:-2}
PURGE_TIMEOUT=${RET_TIMEOUT:-900} # seconds the whole purge may take

for tool in wrk sqlite3 base64; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "retention: $tool is not installed" >&2
		exit 1
	fi
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/kvretention.XXXXXX") || exit 1
DB=$DIR/kv.db
pid=

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
	echo "retention: FAILED: $*" >&2
	exit 1
}

# As bench/run.sh: limits far above one wrk client, PINs that outlive the
# run.  Retention is set per server below.
: "${KOOKOOVERIFY_PIN_EXPIRY:=3600}"
: "${KOOKOOVERIFY_LIMIT_KEY_RPS:=1000000}"
: "${KOOKOOVERIFY_LIMIT_NUMBER_MAX:=1000000}"
: "${KOOKOOVERIFY_LIMIT_PREFIX_PER_HOUR:=10000000}"
: "${KOOKOOVERIFY_FRAUD_MIN_VOLUME:=0}"
: "${KOOKOOVERIFY_PER_IP_CONNECTIONS:=0}"
export KOOKOOVERIFY_PIN_EXPIRY KOOKOOVERIFY_LIMIT_KEY_RPS \
	KOOKOOVERIFY_LIMIT_NUMBER_MAX KOOKOOVERIFY_LIMIT_PREFIX_PER_HOUR \
	KOOKOOVERIFY_FRAUD_MIN_VOLUME KOOKOOVERIFY_PER_IP_CONNECTIONS

sql() {
	sqlite3 -cmd '.timeout 30000' "$DB" "$@"
}

# Seconds since the epoch with ms, for rates.
now_s() {
	date +%s.%N | cut -c1-14
}

# --- the store ---------------------------------------------------------------

"$BIN" migrate --db "$DB" >"$DIR/migrate.out" 2>&1 ||
	fail "migrate: $(cat "$DIR/migrate.out")"
keyjson=$("$BIN" keys create --db "$DB" --name bench --json) ||
	fail "keys create"
api_key=$(printf '%s\n' "$keyjson" |
	sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p')
api_secret=$(printf '%s\n' "$keyjson" |
	sed -n 's/.*"api_secret": *"\([^"]*\)".*/\1/p')
if [ -z "$api_key" ] || [ -z "$api_secret" ]; then
	fail "keys create: $keyjson"
fi
BENCH_AUTH=$(printf '%s:%s' "$api_key" "$api_secret" | base64 | tr -d '\n')
BENCH_LUA_DIR=$HERE
export BENCH_AUTH BENCH_LUA_DIR
keyid=$(sql "SELECT id FROM api_keys WHERE api_key = '$api_key'")

# Old rows: finished 40 to 70 days ago (retention keeps 30 by default);
# recent rows: finished an hour ago.  Numbers 917... are not the load's.
# legacy = 0 as the server writes rows since migration 9 (their request
# ids are derived from the row id, so no index of request ids).
now=$(($(date +%s) * 1000))
day=86400000
echo "retention: filling $ROWS old and $KEEP recent verifications..."
t0=$(date +%s)
sql >/dev/null <<EOF || fail "filling the store"
PRAGMA cache_size = -262144;
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c
	WHERE x < $ROWS + $KEEP)
INSERT INTO verifications (request_id, key_id, number, number_type, brand,
	workflow_id, code_length, pin_hash, steps, wait1_ms, wait2_ms, wait3_ms,
	state, created_ms, pin_created_ms, pin_expiry_ms, expires_ms,
	finalized_ms, legacy)
SELECT lower(hex(randomblob(16))), $keyid, '91' || (7000000000 + x), 1,
	'Retention', 0, 4, randomblob(32), 'st', 120000, 180000, 0,
	1 + x % 4, t, t, 300000, t + 300000, t + 30000, 0
FROM (SELECT x, CASE WHEN x <= $ROWS
	THEN $now - 70 * $day + x * (30 * $day / $ROWS)
	ELSE $now - 3600000 END AS t FROM c);
INSERT INTO checks (verification_id, created_ms, code, valid, ip)
	SELECT id, created_ms + 1000, '1234', 0, '198.51.100.7'
	FROM verifications WHERE id % 10 = 0;
INSERT INTO events (verification_id, created_ms, type, channel, result)
	SELECT id, created_ms + 100, 'sms', 'sms', 'sent'
	FROM verifications WHERE id % 10 = 0;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
cutoff=$((now - 30 * day))
kept_checks=$(sql "SELECT count(*) FROM checks WHERE verification_id IN
	(SELECT id FROM verifications WHERE created_ms > $cutoff)")
kept_events=$(sql "SELECT count(*) FROM events WHERE verification_id IN
	(SELECT id FROM verifications WHERE created_ms > $cutoff)")
echo "retention: filled in $(($(date +%s) - t0)) s:" \
	"$(sql 'SELECT count(*) FROM verifications') verifications," \
	"$(sql 'SELECT count(*) FROM checks') checks," \
	"$(sql 'SELECT count(*) FROM events') events;" \
	"db $(du -k "$DB" | cut -f1) kB"

# --- the server ----------------------------------------------------------------

# start_server NAME: a server on the store with the environment as it is.
start_server() {
	"$BIN" serve --db "$DB" --listen 127.0.0.1:0 \
		>"$DIR/$1.out" 2>"$DIR/$1.err" &
	pid=$!
	port=
	deadline=$(($(date +%s) + 30))
	while [ -z "$port" ]; do
		port=$(sed -n \
			's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
			"$DIR/$1.out")
		[ -n "$port" ] && break
		if ! kill -0 "$pid" 2>/dev/null ||
			[ "$(date +%s)" -ge "$deadline" ]; then
			cat "$DIR/$1.err" >&2
			fail "the server did not start"
		fi
		sleep 0.1
	done
	BASE=http://127.0.0.1:$port
}

stop_server() {
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	pid=
	[ "$status" -eq 0 ] || fail "the server exited with $status"
}

# request_load NAME OFFSET [CONNS]: BENCH_SECONDS of Request at full load
# (or CONNS connections, paced if BENCH_DELAY_MS is set), numbers from
# OFFSET; prints "req/s p99_ms bad".
request_load() {
	BENCH_NUM_OFFSET=$2 wrk -t"$THREADS" -c"${3:-$CONNS}" -d"${DUR}s" \
		--latency \
		-s "$HERE/request.lua" "$BASE/verify/json" >"$DIR/$1.wrk" 2>&1
	awk '
	function ms(s, n) {
		n = s + 0
		if (s ~ /us$/) return n / 1000
		if (s ~ /ms$/) return n
		if (s ~ /s$/) return n * 1000
		return n
	}
	/^ +99% / { p99 = ms($2) }
	/^Requests\/sec:/ { rps = $2 }
	/Non-2xx or 3xx responses:/ { bad += $NF }
	/Socket errors:/ {
		for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) bad += $i
	}
	END { printf "%.0f %.3f %d\n", rps, p99, bad }' "$DIR/$1.wrk"
}

old_left() {
	sql "SELECT count(*) FROM verifications WHERE created_ms < $cutoff"
}

# a. Without retention: Request, then erase on the full store.
KOOKOOVERIFY_RETAIN_VERIFICATIONS=0 KOOKOOVERIFY_RETAIN_EVENTS=0 \
	KOOKOOVERIFY_RETAIN_CLIENT_ADDRESSES=0 KOOKOOVERIFY_LOG_LEVEL=warn \
	start_server plain
BENCH_NUM_OFFSET=900000000 wrk -t"$THREADS" -c"$CONNS" -d3s \
	-s "$HERE/request.lua" "$BASE/verify/json" >/dev/null 2>&1
request_load plain 0 >"$DIR/plain.sum"
read -r plain_rps plain_p99 plain_bad <"$DIR/plain.sum"
BENCH_DELAY_MS=$PACE request_load plain_paced 100000000 "$PACED_CONNS" \
	>"$DIR/plain_paced.sum"
read -r pplain_rps pplain_p99 pplain_bad <"$DIR/plain_paced.sum"
echo "retention: Request without purge: $plain_rps req/s, p99 $plain_p99 ms"

# The newest recent verification's number, and what it has.
victim=91$((7000000000 + ROWS + KEEP))
victim_checks=$(sql "SELECT count(*) FROM checks WHERE verification_id =
	(SELECT id FROM verifications WHERE number = '$victim')")
victim_events=$(sql "SELECT count(*) FROM events WHERE verification_id =
	(SELECT id FROM verifications WHERE number = '$victim')")
t0=$(now_s)
"$BIN" erase --number "+$victim" --db "$DB" --json >"$DIR/erase.out" \
	2>"$DIR/erase.err" || fail "erase: $(cat "$DIR/erase.err")"
erase_s=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }')
[ "$(sql "SELECT count(*) FROM verifications WHERE number = '$victim'")" \
	-eq 0 ] || fail "erase left the number's verification"
echo "retention: erase --number on $((ROWS + KEEP)) verifications:" \
	"${erase_s} s"
stop_server
KEEP=$((KEEP - 1))
kept_checks=$((kept_checks - victim_checks))
kept_events=$((kept_events - victim_events))

# b. Retention on: the purge starts at once; Request during it.
KOOKOOVERIFY_LOG_LEVEL=info start_server purge
t_start=$(now_s)
left_start=$(old_left)
request_load during 300000000 >"$DIR/during.sum"
read -r purge_rps purge_p99 purge_bad <"$DIR/during.sum"
BENCH_DELAY_MS=$PACE request_load during_paced 400000000 "$PACED_CONNS" \
	>"$DIR/during_paced.sum"
read -r ppurge_rps ppurge_p99 ppurge_bad <"$DIR/during_paced.sum"
t_load=$(now_s)
left_load=$(old_left)
[ "$left_load" -gt 0 ] ||
	echo "retention: note: the purge ended during the load (raise RET_ROWS)"
deadline=$(($(date +%s) + PURGE_TIMEOUT))
while [ "$(old_left)" -gt 0 ]; do
	[ "$(date +%s)" -lt "$deadline" ] ||
		fail "the purge did not end within $PURGE_TIMEOUT s"
	sleep 1
done
t_end=$(now_s)
# The pass's own line comes once its last batch finds nothing more.
deadline=$(($(date +%s) + 60))
while ! grep -q 'purge.done verifications=[1-9]' "$DIR/purge.err"; do
	[ "$(date +%s)" -lt "$deadline" ] || break
	sleep 0.5
done
stop_server

# --- what must be left ---------------------------------------------------------

loaded=$(sql "SELECT count(*) FROM verifications WHERE brand = 'Bench'")
verifications=$(sql "SELECT count(*) FROM verifications")
checks=$(sql "SELECT count(*) FROM checks")
events=$(sql "SELECT count(*) FROM events")
expect_v=$((KEEP + loaded))
[ "$verifications" -eq "$expect_v" ] ||
	fail "$verifications verifications left, expected $expect_v" \
		"($KEEP recent + $loaded from the load)"
[ "$(sql "SELECT count(*) FROM verifications WHERE brand = 'Retention'
	AND created_ms > $cutoff")" -eq "$KEEP" ] ||
	fail "a recent verification was purged"
[ "$checks" -eq "$kept_checks" ] ||
	fail "$checks checks left, expected $kept_checks"
[ "$events" -eq "$kept_events" ] ||
	fail "$events events left, expected $kept_events"
[ -z "$(sql 'PRAGMA foreign_key_check')" ] ||
	fail "a row refers to a purged verification"

awk -v rows="$ROWS" -v t0="$t_start" -v tl="$t_load" -v te="$t_end" \
	-v l0="$left_start" -v ll="$left_load" \
	-v prps="$plain_rps" -v pp99="$plain_p99" -v pbad="$plain_bad" \
	-v drps="$purge_rps" -v dp99="$purge_p99" -v dbad="$purge_bad" \
	-v erase="$erase_s" -v keep="$KEEP" -v pc="$PACED_CONNS" \
	-v qprps="$pplain_rps" -v qpp99="$pplain_p99" -v qpbad="$pplain_bad" \
	-v qdrps="$ppurge_rps" -v qdp99="$ppurge_p99" -v qdbad="$ppurge_bad" '
BEGIN {
	printf "\n%-32s %10s %9s %6s\n", "Request (full load)", "req/s",
		"p99 ms", "bad"
	printf "%-32s %10.0f %9.3f %6d\n", "without purge", prps, pp99, pbad
	printf "%-32s %10.0f %9.3f %6d\n", "during purge", drps, dp99, dbad
	printf "%-32s %9.2fx\n", "rate during / without",
		(prps > 0 ? drps / prps : 0)
	printf "%-32s %10s %9s %6s\n", "Request (" pc " paced conns)",
		"req/s", "p99 ms", "bad"
	printf "%-32s %10.0f %9.3f %6d\n", "without purge", qprps, qpp99, qpbad
	printf "%-32s %10.0f %9.3f %6d\n", "during purge", qdrps, qdp99, qdbad
	printf "\npurge of %d verifications: %.0f s in all, %.0f rows/s\n",
		rows, te - t0, (te > t0 ? rows / (te - t0) : 0)
	printf "  under Request load: %.0f rows/s (%d of %d in %.1f s)\n",
		(tl > t0 ? (l0 - ll) / (tl - t0) : 0), l0 - ll, l0, tl - t0
	printf "  after it:           %.0f rows/s\n",
		(te > tl ? ll / (te - tl) : 0)
	printf "erase --number on %d verifications: %s s\n", rows + keep + 1,
		erase
	printf "store after the purge: only what retention keeps  ok\n"
}'
grep 'purge.done verifications=[1-9]' "$DIR/purge.err" | sed 's/^/   /'
exit 0
