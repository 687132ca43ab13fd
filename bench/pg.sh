# bench/pg.sh: the PostgreSQL phases of bench/run.sh (sourced, not run).
# pg_start starts a private PostgreSQL server (initdb in a temp dir, as the
# postgres user when run as root, reachable only through a Unix socket in
# that dir); pg_phases runs Request, Search and Check on one node, their
# half-load latency, then the same on two nodes side by side; pg_stop
# stops the server.  Each says why and returns 1 when it cannot go on, and
# run.sh then skips the rest.
# shellcheck shell=sh disable=SC2034,SC2153,SC2154 # run.sh's variables

PGDIR=
AS_PG=

# pg_sql SQL: one statement on the bench database, unaligned output.
pg_sql() {
	"$PGBIN/psql" -X -q -At -h "$PGDIR" -p "$PGPORT" -U postgres \
		-d kvbench -c "$1"
}

# pg_pids: the postmaster and its children (backends, walwriter...).
pg_pids() {
	pm=$(head -n 1 "$PGDIR/data/postmaster.pid" 2>/dev/null)
	# shellcheck disable=SC2046 # one pid a word
	[ -n "$pm" ] && echo "$pm" $(ps -o pid= --ppid "$pm")
}

pg_start() {
	PGBIN=${BENCH_PG_BIN:-$(pg_config --bindir 2>/dev/null)}
	if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] ||
		[ ! -x "$PGBIN/pg_ctl" ] || [ ! -x "$PGBIN/psql" ]; then
		echo "bench: PostgreSQL is not installed (no initdb, pg_ctl" \
			"and psql in '${PGBIN:-?}'; set BENCH_PG_BIN):" \
			"PostgreSQL phases skipped"
		return 1
	fi
	PGDIR=$(mktemp -d "${BENCH_PG_TMPDIR:-${TMPDIR:-/tmp}}/kvbench-pg.XXXXXX") ||
		return 1
	# initdb refuses root: the server runs as the postgres user then.
	if [ "$(id -u)" -eq 0 ]; then
		if ! id postgres >/dev/null 2>&1 ||
			! command -v runuser >/dev/null 2>&1; then
			echo "bench: running as root without a postgres user" \
				"or runuser: PostgreSQL phases skipped"
			return 1
		fi
		chown postgres "$PGDIR"
		AS_PG="runuser -u postgres --"
	fi
	# No TCP listener at all: the port only names the socket file in a
	# directory of our own, so it cannot collide with another server.
	PGPORT=5432
	if ! $AS_PG "$PGBIN/initdb" -D "$PGDIR/data" -U postgres \
		--auth=trust -E UTF8 --locale=C --no-sync \
		>"$DIR/pg-initdb.out" 2>&1; then
		echo "bench: initdb failed: PostgreSQL phases skipped"
		sed 's/^/   /' "$DIR/pg-initdb.out" | tail -n 5
		return 1
	fi
	pg_opts="-c listen_addresses='' -c unix_socket_directories=$PGDIR"
	pg_opts="$pg_opts -p $PGPORT -c max_connections=100"
	if [ -f "$(pg_config --sharedir 2>/dev/null)/extension/pg_stat_statements.control" ]
	then
		pg_opts="$pg_opts -c shared_preload_libraries=pg_stat_statements"
	fi
	if ! $AS_PG "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
		-t 30 -o "$pg_opts $BENCH_PG_OPTS" start \
		>"$DIR/pg-start.out" 2>&1 ||
		! $AS_PG "$PGBIN/createdb" -h "$PGDIR" -p "$PGPORT" \
			-U postgres kvbench >>"$DIR/pg-start.out" 2>&1; then
		echo "bench: PostgreSQL did not start: PostgreSQL phases skipped"
		tail -n 5 "$PGDIR/log" "$DIR/pg-start.out" 2>/dev/null |
			sed 's/^/   /'
		return 1
	fi
	pg_sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
		>/dev/null 2>&1 || true
	KV_PG="postgresql://postgres@/kvbench?host=$PGDIR&port=$PGPORT"
	echo "bench: PostgreSQL $(pg_sql 'SHOW server_version') in $PGDIR" \
		"(Unix socket only; synchronous_commit" \
		"$(pg_sql 'SHOW synchronous_commit'), fsync" \
		"$(pg_sql 'SHOW fsync'))"
}

pg_stop() {
	[ -n "$PGDIR" ] || return 0
	$AS_PG "$PGBIN/pg_ctl" -D "$PGDIR/data" -m "${1:-fast}" -w stop \
		>/dev/null 2>&1
	rm -rf "$PGDIR"
	PGDIR=
}

# pg_where NAME: where the time of phase NAME went.  CPU of the node and of
# PostgreSQL per request (from cpu_ticks before and after, in c0_node,
# c0_pg), then the statements PostgreSQL ran per request and the busiest
# ones (pg_stat_statements, reset before the phase, so its 2 s validation
# run is counted too).
pg_where() {
	n=$(phase_requests "$1")
	[ "$n" -gt 0 ] || return 0
	echo "   where the time went, per request over $n requests" \
		"(the validation run included):"
	cpu_per_request "$1" node "$c0_node" "$pid"
	# shellcheck disable=SC2046 # pg_pids: one pid a word
	cpu_per_request "$1" PostgreSQL "$c0_pg" $(pg_pids)
	commits=$(pg_sql "SELECT xact_commit FROM pg_stat_database
		WHERE datname = 'kvbench'")
	echo "   transactions committed: $(awk -v x="$commits" \
		-v y="$xact0" -v n="$n" 'BEGIN { printf "%.2f", (x - y) / n }')" \
		"per request"
	pg_sql "SELECT sum(calls), round(sum(total_exec_time)::numeric, 0)
		FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'" \
		2>/dev/null |
		awk -F'|' -v n="$n" '$1 > 0 {
		printf "   statements: %.2f per request, %.1f us of execution" \
			" each request\n", $1 / n, $2 * 1000 / n }'
	# Plans are counted only with pg_stat_statements.track_planning on
	# (BENCH_PG_OPTS): a statement planned on most calls shows a plan
	# time next to its execution time.
	pg_sql "SELECT calls, round(mean_exec_time::numeric * 1000, 1),
		round(max_exec_time::numeric, 1), plans,
		round(mean_plan_time::numeric * 1000, 1),
		left(regexp_replace(query, '\s+', ' ', 'g'), 70)
		FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat%'
		ORDER BY total_exec_time + total_plan_time DESC LIMIT 8" \
		2>/dev/null | awk -F'|' -v n="$n" '
		NR == 1 { print "   busiest statements (calls per request," \
			" mean us, max ms, [plans per call, mean plan us,] text):" }
		$4 > 0 { printf "   %6.2f %8s %7s %5.2f %7s  %s\n", $1 / n, $2,
			$3, $4 / $1, $5, $6; next }
		{ printf "   %6.2f %8s %7s  %s\n", $1 / n, $2, $3, $6 }'
}

# pg_phase_begin: counters that pg_where reads after the phase.
pg_phase_begin() {
	pg_sql "SELECT pg_stat_statements_reset()" >/dev/null 2>&1
	xact0=$(pg_sql "SELECT xact_commit FROM pg_stat_database
		WHERE datname = 'kvbench'")
	c0_node=$(cpu_ticks "$pid")
	# shellcheck disable=SC2046 # pg_pids: one pid a word
	c0_pg=$(cpu_ticks $(pg_pids))
}

pg_phases() {
	pgenv="KOOKOOVERIFY_SECRET_FILE=$DIR/pg.secret"
	if ! env "$pgenv" "$BIN" migrate --db "$KV_PG" \
		>"$DIR/pg-migrate.out" 2>&1; then
		echo "bench: kookooverify migrate on PostgreSQL failed (a" \
			"binary without the PostgreSQL backend?): PostgreSQL" \
			"phases skipped"
		tail -n 5 "$DIR/pg-migrate.out" | sed 's/^/   /'
		return 1
	fi
	make_key "$KV_PG" "$pgenv" || return 1
	server_start pg1 "$KV_PG" "$pgenv" || return 1
	pid=$spid
	BASE=$sbase
	node1=$spid
	HALF_TOKEN=$(env "$pgenv" "$BIN" operator-token --db "$KV_PG" \
		2>/dev/null)
	echo
	echo "bench: PostgreSQL node 1 pid $pid on $BASE"

	# Twice the warm-up: its ids feed the two Check phases, a third each,
	# so that most checks are first checks as in the SQLite phase, and the
	# Search phases, a third no check touches (they expect IN PROGRESS).
	warm_up $((WARMUP * 2)) "$DIR/pg.ids"
	awk 'NR % 3 == 0' "$DIR/pg.ids" >"$DIR/pg1.check.ids"
	awk 'NR % 3 == 1' "$DIR/pg.ids" >"$DIR/pg2.check.ids"
	awk 'NR % 3 == 2' "$DIR/pg.ids" | shuf -n "$NIDS" >"$DIR/pg.search.ids"

	BENCH_EXPECT=0
	BENCH_NUM_OFFSET=0
	export BENCH_EXPECT BENCH_NUM_OFFSET
	pg_phase_begin
	run_wrk pg_request "$CONNS" /verify/json request
	pg_where pg_request

	BENCH_EXPECT="IN PROGRESS"
	BENCH_IDS_FILE=$DIR/pg.search.ids
	export BENCH_EXPECT BENCH_IDS_FILE
	pg_phase_begin
	run_wrk pg_search "$CONNS" /verify/search/json search
	pg_where pg_search

	BENCH_EXPECT=16,17
	BENCH_IDS_FILE=$DIR/pg1.check.ids
	export BENCH_EXPECT BENCH_IDS_FILE
	pg_phase_begin
	run_wrk pg_check "$CONNS" /verify/check/json check
	pg_where pg_check

	BENCH_DELAY_MS=$PACE
	BENCH_EXPECT=0
	BENCH_NUM_OFFSET=500000000
	export BENCH_DELAY_MS BENCH_EXPECT BENCH_NUM_OFFSET
	run_half pg_request_half pg_request /verify/json request
	BENCH_EXPECT="IN PROGRESS"
	BENCH_IDS_FILE=$DIR/pg.search.ids
	export BENCH_EXPECT BENCH_IDS_FILE
	run_half pg_search_half pg_search /verify/search/json search
	unset BENCH_DELAY_MS
	HALF_TOKEN=

	# Two nodes on the one database, each loaded as the single node was.
	server_start pg2 "$KV_PG" "$pgenv" || return 1
	BASE2=$sbase
	node2=$spid
	echo
	echo "bench: PostgreSQL node 2 pid $node2 on $BASE2"
	BENCH_EXPECT=0
	BENCH_NUM_OFFSET=100000000
	export BENCH_EXPECT BENCH_NUM_OFFSET
	run_pair pg2_request "$CONNS" /verify/json request
	BENCH_EXPECT="IN PROGRESS"
	BENCH_IDS_FILE=$DIR/pg.search.ids
	export BENCH_EXPECT BENCH_IDS_FILE
	run_pair pg2_search "$CONNS" /verify/search/json search
	BENCH_EXPECT=16,17
	BENCH_IDS_FILE=$DIR/pg2.check.ids
	export BENCH_EXPECT BENCH_IDS_FILE
	run_pair pg2_check "$CONNS" /verify/check/json check

	echo
	pg_sql "SELECT pg_database_size('kvbench'),
		(SELECT count(*) FROM verifications),
		(SELECT count(*) FROM checks), (SELECT count(*) FROM jobs)" |
		awk -F'|' '{ printf "bench: PostgreSQL database %.1f MiB for" \
		" %d verifications, %d checks, %d jobs: %.0f bytes a" \
		" verification\n", $1 / 1048576, $2, $3, $4, $1 / ($2 + !$2) }'
	server_stop "$node2" pg2
	server_stop "$node1" pg1
	pid=
}
