#!/bin/sh
# bench/run.sh BIN: throughput and latency of a real kookooverify server with
# wrk, all in one run: the machine's ceilings (a bare libmicrohttpd reply,
# SQLite single-row commits with synchronous NORMAL and FULL), then on
# SQLite healthz, Verify Request, Search, Check, Search over a database
# preloaded with BENCH_ROWS verifications, Request/Search latency at about
# half load, Request with db_synchronous = full; then, when PostgreSQL is
# installed, Request, Search and Check on one PostgreSQL node and on two.
# It only measures and prints; see bench/README.md for the phases, the
# knobs and how to read the table.  Traffic goes to 127.0.0.1 only.

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
COMMIT_SECS=${BENCH_COMMIT_SECONDS:-2} # per SQLite commit ceiling
PG=${BENCH_PG:-1}              # 0: skip the PostgreSQL phases
BENCH_PG_OPTS=${BENCH_PG_OPTS:-} # extra postgres -c options

for tool in wrk sqlite3 base64; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench: $tool is not installed" >&2
		exit 1
	fi
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/kvbench.XXXXXX") || exit 1
DB=$DIR/kv.db
pid=
: >"$DIR/pids"
: >"$DIR/phases"

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
# shellcheck source=bench/pg.sh
. "$HERE/pg.sh"

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	stop_started
	pg_stop immediate
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

bench_env

sql() {
	sqlite3 -cmd '.timeout 30000' "$DB" "$@"
}

# build_tool NAME PACKAGE: compiles bench/NAME.c into DIR/NAME against the
# pkg-config PACKAGE; says so and returns 1 when it cannot.
build_tool() {
	if ! command -v cc >/dev/null 2>&1 ||
		! pkg-config --exists "$2" 2>/dev/null; then
		echo "bench: no cc or no $2 development files: $1 skipped"
		return 1
	fi
	# shellcheck disable=SC2046 # pkg-config prints several words
	if ! cc -std=c11 -D_GNU_SOURCE -O2 -o "$DIR/$1" "$HERE/$1.c" \
		$(pkg-config --cflags --libs "$2") -lpthread \
		>"$DIR/$1.build" 2>&1; then
		echo "bench: $1 did not build: skipped"
		sed 's/^/   /' "$DIR/$1.build" | tail -n 5
		return 1
	fi
}

echo "bench: $(nproc) cores shared by the servers, PostgreSQL and wrk;" \
	"wrk -t$THREADS -c$CONNS -d${DUR}s; load average" \
	"$(cut -d' ' -f1-3 /proc/loadavg)"

# --- the machine's ceilings ----------------------------------------------

# A bare libmicrohttpd daemon answering /healthz's body: what HTTP costs on
# this machine before any of the server's own code.
if build_tool mhd_static libmicrohttpd &&
	proc_start mhd_static "$DIR/mhd_static"; then
	pid=$spid
	BASE=$sbase
	run_wrk mhd_static "$CONNS" /healthz
	proc_stop "$pid"
fi

# Single-row transactions, one after another: what this disk gives one
# writer without group commit (FULL: one WAL sync per commit).
commits_normal=0
commits_full=0
if build_tool sqlite_commits sqlite3; then
	echo
	for level in normal full; do
		"$DIR/sqlite_commits" "$DIR/commits-$level.db" "$COMMIT_SECS" \
			"$level" >"$DIR/commits-$level.out" 2>&1
		echo "== SQLite commit ceiling: $(cat "$DIR/commits-$level.out")"
	done
	commits_normal=$(awk '{ print $2 + 0; exit }' "$DIR/commits-normal.out")
	commits_full=$(awk '{ print $2 + 0; exit }' "$DIR/commits-full.out")
	rm -f "$DIR"/commits-*.db*
fi

# --- SQLite, db_synchronous = full ----------------------------------------

# A fresh database, as the NORMAL Request phase below has: the same phase
# with a WAL sync at every group commit.  It runs just before that one, so
# that whatever else the machine does changes little between the two.
if "$BIN" migrate --db "$DIR/full.db" >"$DIR/migrate-full.out" 2>&1 &&
	make_key "$DIR/full.db" &&
	server_start sqlite-full "$DIR/full.db" \
		KOOKOOVERIFY_DB_SYNCHRONOUS=full; then
	pid=$spid
	BASE=$sbase
	echo
	echo "bench: server (db_synchronous = full) pid $pid on $BASE"
	warm_up "$WARMUP"
	BENCH_EXPECT=0
	BENCH_NUM_OFFSET=0
	export BENCH_EXPECT BENCH_NUM_OFFSET
	run_wrk request_full "$CONNS" /verify/json request
	server_stop "$pid" sqlite-full
	pid=
fi

# --- SQLite, synchronous NORMAL (the default) -----------------------------

if ! "$BIN" migrate --db "$DB" >"$DIR/migrate.out" 2>&1; then
	echo "bench: migrate failed:" >&2
	cat "$DIR/migrate.out" >&2
	exit 1
fi
make_key "$DB" || exit 1
server_start sqlite "$DB" || exit 1
pid=$spid
BASE=$sbase
echo
echo "bench: server pid $pid on $BASE, db $DB; RSS $(rss_kb "$pid") kB"

# a. The ceiling: no auth, no database.
run_wrk healthz "$CONNS" /healthz

# b. Verify Request: every request a new number, all should answer "0".
BENCH_EXPECT=0
BENCH_NUM_OFFSET=0
export BENCH_EXPECT BENCH_NUM_OFFSET
# Warm-up, not reported: a new database first pays for growing its files
# (ext4 block allocation for the db and the WAL); the targets are about the
# steady state, so the measured phase starts once the WAL is being reused.
warm_up "$WARMUP"
c0_node=$(cpu_ticks "$pid")
run_wrk request "$CONNS" /verify/json request
cpu_per_request request node "$c0_node" "$pid"

# b2. The same while Prometheus' load runs beside it: /metrics read with the
# operator token every second (issue 15: metrics cost Request at most 5 %).
# Then Request again without it (b3): later phases of a run come out a
# little faster (the files have grown), so the scraped phase is compared
# with the mean of the phases before and after it.
op_token=$("$BIN" operator-token --db "$DB" 2>/dev/null)
if [ -n "$op_token" ] && command -v curl >/dev/null 2>&1; then
	scrape_loop "$BASE" "$op_token" &
	scraper=$!
	echo "$scraper" >>"$DIR/pids"
	BENCH_NUM_OFFSET=100000000
	export BENCH_NUM_OFFSET
	run_wrk request_scraped "$CONNS" /verify/json request
	kill "$scraper" 2>/dev/null
	wait "$scraper" 2>/dev/null
	echo "   $(cat "$DIR/scrapes" 2>/dev/null || echo 0) scrapes of" \
		"$(cat "$DIR/scrape_bytes" 2>/dev/null || echo 0) bytes"
	BENCH_NUM_OFFSET=200000000
	export BENCH_NUM_OFFSET
	run_wrk request_after "$CONNS" /verify/json request
	BENCH_NUM_OFFSET=0
	export BENCH_NUM_OFFSET
else
	echo "bench: no operator token or no curl: request_scraped skipped"
fi

sql "SELECT request_id FROM verifications ORDER BY random() LIMIT $NIDS" \
	>"$DIR/search.ids"
sql "SELECT request_id FROM verifications WHERE state = 0" >"$DIR/check.ids"
echo
echo "bench: $(wc -l <"$DIR/check.ids") verifications in progress"

# c. Verify Search on ids of phase b (all IN PROGRESS).
BENCH_EXPECT="IN PROGRESS"
BENCH_IDS_FILE=$DIR/search.ids
export BENCH_EXPECT BENCH_IDS_FILE
c0_node=$(cpu_ticks "$pid")
run_wrk search "$CONNS" /verify/search/json search
cpu_per_request search node "$c0_node" "$pid"

# d. Verify Check with a wrong code: 16, 16, 17 per id, then 17.
BENCH_EXPECT=16,17
BENCH_IDS_FILE=$DIR/check.ids
export BENCH_EXPECT BENCH_IDS_FILE
run_wrk check "$CONNS" /verify/check/json check

# What a verification of these phases takes on disk, with its check and job
# (the WAL checkpointed into the file first).
sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
sql "SELECT page_count * page_size, (SELECT count(*) FROM verifications),
	(SELECT count(*) FROM checks), (SELECT count(*) FROM jobs)
	FROM pragma_page_count, pragma_page_size" |
	awk -F'|' '{ printf "bench: SQLite database %.1f MiB for %d" \
	" verifications, %d checks, %d jobs: %.0f bytes a verification\n",
	$1 / 1048576, $2, $3, $4, $1 / ($2 + !$2) }'

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
		cut -f1) kB; server RSS $(rss_kb "$pid") kB"

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
# what wrk and the shared cores add to the p99 at that rate.  With the
# operator token, each also prints what the server saw (metrics_tail).
HALF_TOKEN=${op_token:-}
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
HALF_TOKEN=

server_stop "$pid" sqlite
pid=

# --- PostgreSQL -------------------------------------------------------------

echo
if [ "$PG" = 0 ]; then
	echo "bench: BENCH_PG=0: PostgreSQL phases skipped"
elif pg_start; then
	pg_phases || true
fi
pg_stop

# --- summary ----------------------------------------------------------------

# shellcheck source=bench/summary.sh
. "$HERE/summary.sh"
exit 0
