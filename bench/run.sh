#!/bin/sh
# bench/run.sh BIN: throughput and latency of a real kookooverify server with
# wrk, all in one run: healthz (the ceiling), Verify Request, Search, Check,
# Search over a database preloaded with BENCH_ROWS verifications, and
# Request/Search latency at about half load.  It only measures and prints;
# see bench/README.md for the phases, the knobs and how to read the table.
# Traffic goes to 127.0.0.1 only.

set -u

BIN=${1:?usage: bench/run.sh PATH/TO/kookooverify}
HERE=$(cd "$(dirname "$0")" && pwd)

DUR=${BENCH_SECONDS:-8}        # seconds per wrk run
THREADS=${BENCH_THREADS:-1}    # wrk threads (server and wrk share the cores)
CONNS=${BENCH_CONNS:-32}       # wrk connections at full load
ROWS=${BENCH_ROWS:-1000000}    # verifications preloaded before phase e
NIDS=${BENCH_IDS:-5000}        # request ids cycled by the search phases
WARMUP=${BENCH_WARMUP:-5}      # seconds of unreported Request load first
HALF=${BENCH_HALF:-50}         # half-load phases: percent of full-load rate
PACE=${BENCH_PACE_MS:-2}       # half-load: mean pause per connection, ms

for tool in wrk sqlite3 base64; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench: $tool is not installed" >&2
		exit 1
	fi
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/kvbench.XXXXXX") || exit 1
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

# Settings that keep the server out of the way; any KOOKOOVERIFY_* already in
# the environment wins.  The PIN must outlive the whole run for the checks.
: "${KOOKOOVERIFY_LOG_LEVEL:=warn}"
: "${KOOKOOVERIFY_PIN_EXPIRY:=3600}"
# The abuse limits stay on (their cost is part of what is measured) but are
# raised far above what one wrk client sends.
: "${KOOKOOVERIFY_LIMIT_KEY_RPS:=1000000}"
: "${KOOKOOVERIFY_LIMIT_NUMBER_MAX:=1000000}"
: "${KOOKOOVERIFY_LIMIT_PREFIX_PER_HOUR:=10000000}"
: "${KOOKOOVERIFY_LIMIT_IP_CHECKS_PER_MIN:=10000000}"
# Bench requests are never checked: conversion would block their prefix.
: "${KOOKOOVERIFY_FRAUD_MIN_VOLUME:=0}"
# wrk opens up to a few hundred connections from one address.
: "${KOOKOOVERIFY_PER_IP_CONNECTIONS:=0}"
export KOOKOOVERIFY_LOG_LEVEL KOOKOOVERIFY_PIN_EXPIRY \
	KOOKOOVERIFY_LIMIT_KEY_RPS KOOKOOVERIFY_LIMIT_NUMBER_MAX \
	KOOKOOVERIFY_LIMIT_PREFIX_PER_HOUR KOOKOOVERIFY_LIMIT_IP_CHECKS_PER_MIN \
	KOOKOOVERIFY_FRAUD_MIN_VOLUME KOOKOOVERIFY_PER_IP_CONNECTIONS

sql() {
	sqlite3 -cmd '.timeout 30000' "$DB" "$@"
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null ||
		echo "?"
}

# --- server ----------------------------------------------------------------

if ! "$BIN" migrate --db "$DB" >"$DIR/migrate.out" 2>&1; then
	echo "bench: migrate failed:" >&2
	cat "$DIR/migrate.out" >&2
	exit 1
fi
keyjson=$("$BIN" keys create --db "$DB" --name bench --json) || exit 1
api_key=$(printf '%s\n' "$keyjson" |
	sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p')
api_secret=$(printf '%s\n' "$keyjson" |
	sed -n 's/.*"api_secret": *"\([^"]*\)".*/\1/p')
if [ -z "$api_key" ] || [ -z "$api_secret" ]; then
	echo "bench: cannot parse keys create output: $keyjson" >&2
	exit 1
fi
BENCH_AUTH=$(printf '%s:%s' "$api_key" "$api_secret" | base64 | tr -d '\n')
BENCH_LUA_DIR=$HERE
export BENCH_AUTH BENCH_LUA_DIR

"$BIN" serve --db "$DB" --listen 127.0.0.1:0 \
	>"$DIR/server.out" 2>"$DIR/server.err" &
pid=$!

port=
deadline=$(($(date +%s) + 15))
while [ -z "$port" ]; do
	port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
		"$DIR/server.out")
	[ -n "$port" ] && break
	if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]
	then
		echo "bench: the server did not start; its stderr:" >&2
		cat "$DIR/server.err" >&2
		exit 1
	fi
	sleep 0.1
done
BASE=http://127.0.0.1:$port
echo "bench: server pid $pid on $BASE, db $DB"
echo "bench: wrk -t$THREADS -c$CONNS -d${DUR}s; $(nproc) cores shared" \
	"by server and wrk; RSS $(rss_kb) kB"

# --- phases ----------------------------------------------------------------

# run_wrk NAME CONNS PATH [SCRIPT]: one wrk run, output kept in DIR/NAME.out;
# appends "NAME CONNS RSS_KB" to DIR/phases for the summary.
run_wrk() {
	name=$1
	conns=$2
	path=$3
	if [ -n "${4:-}" ]; then
		set -- -s "$HERE/$4.lua"
	else
		set --
	fi
	t=$THREADS
	[ "$t" -gt "$conns" ] && t=$conns
	echo
	echo "== $name: wrk -t$t -c$conns -d${DUR}s $path" \
		"${BENCH_DELAY_MS:+(pause ${BENCH_DELAY_MS} ms per reply)}"
	if [ $# -gt 0 ]; then
		# A short validation run checks every reply's status first; the
		# measured run below has no response hook (see common.lua).
		BENCH_VALIDATE=1 \
		BENCH_NUM_OFFSET=$((${BENCH_NUM_OFFSET:-0} + 250000000)) \
			wrk -t"$t" -c"$conns" -d2s "$@" "$BASE$path" \
			>"$DIR/$name.check" 2>&1
		grep -E '^(statuses|unexpected)' "$DIR/$name.check" | sed 's/^/   /'
	fi
	wrk -t"$t" -c"$conns" -d"${DUR}s" --latency "$@" "$BASE$path" \
		>"$DIR/$name.out" 2>&1
	[ -f "$DIR/$name.check" ] && grep '^unexpected' "$DIR/$name.check" \
		>>"$DIR/$name.out"
	sed 's/^/   /' "$DIR/$name.out"
	echo "$name $conns $(rss_kb)" >>"$DIR/phases"
}

# rps FILE: Requests/sec in a wrk output.
rps() {
	awk '/^Requests\/sec:/ { print $2 + 0 }' "$1"
}

# run_half NAME FULL PATH SCRIPT: phase NAME at about HALF percent of the
# rate of full-load phase FULL.  Each connection pauses about PACE ms after
# a reply, so it sends one request per PACE + latency ms.  A first guess of
# connections (latency = FULL's p50) is corrected by two 2 s probes in turn:
# one probe alone was thrown off by a slow start (the first writes after
# a 10 M-row preload) and left the final run at 67 %.  The probes must not
# reuse the numbers of the final run: they get BENCH_NUM_OFFSET + 10^8 and
# + 2 * 10^8.
run_half() {
	target=$(awk -v h="$HALF" '/^Requests\/sec:/ { print $2 * h / 100 }' \
		"$DIR/$2.out")
	conns=$(awk -v t="$target" -v p="$PACE" '
	/^ +50% / {
		l = $2 + 0
		if ($2 ~ /us$/) l /= 1000
		else if ($2 !~ /ms$/ && $2 ~ /s$/) l *= 1000
	}
	END { c = int(t * (p + l) / 1000 + 0.5); print (c < 1 ? 1 : c) }' \
		"$DIR/$2.out")
	probes=
	for p in 1 2; do
		t=$THREADS
		[ "$t" -gt "$conns" ] && t=$conns
		BENCH_NUM_OFFSET=$((${BENCH_NUM_OFFSET:-0} + p * 100000000)) \
			wrk -t"$t" -c"$conns" -d2s -s "$HERE/$4.lua" \
			"$BASE$3" >"$DIR/$1.probe" 2>&1
		r=$(rps "$DIR/$1.probe")
		probes="$probes${probes:+, }$r req/s with $conns connections"
		conns=$(awk -v c="$conns" -v t="$target" -v r="$r" \
			'BEGIN { n = r > 0 ? int(c * t / r + 0.5) : c
				print (n < 1 ? 1 : n) }')
	done
	run_wrk "$1" "$conns" "$3" "$4"
	echo "   (target $target req/s; the 2 s probes gave $probes)"
}

# a. The ceiling: no auth, no database.
run_wrk healthz "$CONNS" /healthz

# b. Verify Request: every request a new number, all should answer "0".
BENCH_EXPECT=0
BENCH_NUM_OFFSET=0
export BENCH_EXPECT BENCH_NUM_OFFSET
# Warm-up, not reported: a new database first pays for growing its files
# (ext4 block allocation for the db and the WAL); the targets are about the
# steady state, so the measured phase starts once the WAL is being reused.
echo
echo "== request warm-up: ${WARMUP}s, not reported"
BENCH_NUM_OFFSET=900000000 wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" \
	-s "$HERE/request.lua" "$BASE/verify/json" >/dev/null 2>&1
run_wrk request "$CONNS" /verify/json request

sql "SELECT request_id FROM verifications ORDER BY random() LIMIT $NIDS" \
	>"$DIR/search.ids"
sql "SELECT request_id FROM verifications WHERE state = 0" >"$DIR/check.ids"
echo
echo "bench: $(wc -l <"$DIR/check.ids") verifications in progress"

# c. Verify Search on ids of phase b (all IN PROGRESS).
BENCH_EXPECT="IN PROGRESS"
BENCH_IDS_FILE=$DIR/search.ids
export BENCH_EXPECT BENCH_IDS_FILE
run_wrk search "$CONNS" /verify/search/json search

# d. Verify Check with a wrong code: 16, 16, 17 per id, then 17.
BENCH_EXPECT=16,17
BENCH_IDS_FILE=$DIR/check.ids
export BENCH_EXPECT BENCH_IDS_FILE
run_wrk check "$CONNS" /verify/check/json check

# e. Search over a big table: ROWS finished verifications of the bench key,
# inserted while the server runs (WAL), then a mix of old and new ids.
maxid=$(sql "SELECT coalesce(max(id), 0) FROM verifications")
keyid=$(sql "SELECT id FROM api_keys WHERE api_key = '$api_key'")
now=$(($(date +%s) * 1000))
echo
echo "bench: preloading $ROWS verifications..."
t0=$(date +%s)
sql <<EOF
PRAGMA cache_size = -262144;
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $ROWS)
INSERT INTO verifications (request_id, key_id, number, number_type, brand,
	sender_id, lg, workflow_id, code_length, test_number, pin_hash, steps,
	wait1_ms, wait2_ms, wait3_ms, state, attempts, next_step, resends,
	created_ms, pin_created_ms, pin_expiry_ms, expires_ms, last_resend_ms,
	finalized_ms, first_event_ms, last_event_ms, legacy)
SELECT lower(hex(randomblob(16))), $keyid, '91' || (7000000000 + x), 1,
	'Preload', '', '', 0, 4, 0, randomblob(32), 'st',
	120000, 180000, 0, 1 + x % 4, x % 4, 1 + x % 2, 0,
	t, t, 300000, t + 300000, 0,
	t + 30000 + x % 270000, t + 500, t + 500 + (x % 2) * 120000, 1
FROM (SELECT x, $now - 3600000 - (x * 997) % 2592000000 AS t FROM c);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
echo "bench: preload took $(($(date +%s) - t0)) s;" \
	"$(sql 'SELECT count(*) FROM verifications') verifications;" \
	"db $(du -k "$DB" | cut -f1) kB, wal $(du -k "$DB-wal" 2>/dev/null |
		cut -f1) kB; server RSS $(rss_kb) kB"

half=$((NIDS / 2))
sql "SELECT request_id FROM (
	SELECT * FROM (SELECT request_id FROM verifications WHERE id > $maxid
		ORDER BY random() LIMIT $half)
	UNION ALL
	SELECT * FROM (SELECT request_id FROM verifications WHERE id <= $maxid
		ORDER BY random() LIMIT $((NIDS - half))))
	ORDER BY random()" >"$DIR/big.ids"
BENCH_EXPECT="IN PROGRESS,SUCCESS,FAILED,EXPIRED,CANCELLED"
BENCH_IDS_FILE=$DIR/big.ids
export BENCH_EXPECT BENCH_IDS_FILE
run_wrk search_big "$CONNS" /verify/search/json search

# f. About half load, paced (see run_half).  healthz_half is the baseline:
# what wrk and the shared cores add to the p99 at that rate.
BENCH_DELAY_MS=$PACE
BENCH_EXPECT=http200
export BENCH_DELAY_MS BENCH_EXPECT
run_half healthz_half healthz /healthz pace
BENCH_EXPECT=0
BENCH_NUM_OFFSET=500000000
export BENCH_EXPECT BENCH_NUM_OFFSET
run_half request_half request /verify/json request
BENCH_EXPECT="IN PROGRESS,SUCCESS,FAILED,EXPIRED,CANCELLED"
export BENCH_EXPECT
run_half search_half search /verify/search/json search
unset BENCH_DELAY_MS

# --- server shutdown and summary --------------------------------------------

# SIGTERM, then up to 10 s for a clean exit before SIGKILL.
kill -TERM "$pid" 2>/dev/null
n=0
while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
wait "$pid"
status=$?
pid=

echo
echo "bench: server exit status $status (expected 0)"
if [ -s "$DIR/server.err" ]; then
	echo "bench: server stderr (last 20 of $(wc -l <"$DIR/server.err")" \
		"lines):"
	tail -n 20 "$DIR/server.err" | sed 's/^/   /'
fi

# One line per phase: name conns rss req/s p50 p99 unexpected.
while read -r name conns rss; do
	awk -v name="$name" -v conns="$conns" -v rss="$rss" '
	function ms(s, n) {
		n = s + 0
		if (s ~ /us$/) return n / 1000
		if (s ~ /ms$/) return n
		if (s ~ /m$/) return n * 60000
		if (s ~ /h$/) return n * 3600000
		if (s ~ /s$/) return n * 1000
		return n
	}
	/^ +50% / { p50 = ms($2) }
	/^ +99% / { p99 = ms($2) }
	/^Requests\/sec:/ { rps = $2 }
	/^unexpected responses:/ { bad += $3 }
	/Non-2xx or 3xx responses:/ { bad += $NF }
	/Socket errors:/ {
		for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) err += $i
	}
	END {
		printf "%s %s %s %.0f %.3f %.3f %d\n", name, conns, rss,
			rps, p50, p99, bad + err
	}' "$DIR/$name.out"
done <"$DIR/phases" >"$DIR/summary"

echo
awk -v rows="$ROWS" -v half="$HALF" '
{
	name[NR] = $1; conns[NR] = $2; rss[NR] = $3; rps[NR] = $4
	p50[NR] = $5; p99[NR] = $6; bad[NR] = $7; row[$1] = NR
}
function pct(a, b) { return b > 0 ? 100 * a / b : 0 }
function verdict(ok) { return ok ? "met" : "MISSED" }
END {
	h = rps[row["healthz"]]
	printf "%-13s %5s %10s %9s %9s %8s %8s %10s\n", "phase", "conns",
		"req/s", "p50 ms", "p99 ms", "%health", "bad", "RSS kB"
	for (i = 1; i <= NR; i++)
		printf "%-13s %5d %10.0f %9.3f %9.3f %7.1f%% %8d %10s\n",
			name[i], conns[i], rps[i], p50[i], p99[i],
			pct(rps[i], h), bad[i], rss[i]
	print ""
	r = pct(rps[row["request"]], h)
	s = pct(rps[row["search"]], h)
	b = pct(rps[row["search_big"]], h)
	printf "%-30s %6.1f%%  target >= 25%%  %s\n", "Request/healthz", r,
		verdict(r >= 25)
	printf "%-30s %6.1f%%  target >= 50%%  %s\n", "Search/healthz", s,
		verdict(s >= 50)
	printf "%-30s %6.1f%%  target >= 50%%  %s\n",
		"Search(+" rows " rows)/healthz", b, verdict(b >= 50)
	for (k = 0; k < 3; k++) {
		n = k == 0 ? "healthz" : k == 1 ? "request" : "search"
		i = row[n "_half"]
		f = rps[row[n]]
		if (k == 0)
			v = "(baseline)"
		else
			v = "target < 2 ms  " verdict(p99[i] < 2)
		printf "%-7s p99 at %3.0f%% load %6.3f ms (%.0f req/s, %.0f%% " \
			"of full)  %s\n", n, half, p99[i], rps[i],
			pct(rps[i], f), v
	}
	m = rss[row["search_big"]] / 1024
	printf "RSS after search with %d rows %.1f MiB  target < 64 MiB  %s\n",
		rows, m, verdict(m < 64)
	for (i = 1; i <= NR; i++)
		if (bad[i] > 0)
			printf "WARNING: %s had %d unexpected responses or " \
				"socket errors (see its output above)\n",
				name[i], bad[i]
}' "$DIR/summary"
exit 0
