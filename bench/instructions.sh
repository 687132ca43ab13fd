#!/bin/sh
# bench/instructions.sh BIN: the server's user-space instructions per
# request on healthz, Request and Search, counted by valgrind's callgrind.
# On a shared machine wrk's rates move by a fifth from run to run; these
# counts move by a few percent, so they show what a change did to the
# server's own work (the kernel's share, sockets and disk, is not counted).
# Each phase: a server under callgrind on a fresh SQLite database, its
# counters zeroed after a warm-up, wrk with BENCH_CONNS connections for
# BENCH_SECONDS, the counters dumped, total / requests printed.  Traffic
# goes to 127.0.0.1 only.

set -u

BIN=${1:?usage: bench/instructions.sh PATH/TO/kookooverify}
HERE=$(cd "$(dirname "$0")" && pwd)
DUR=${BENCH_SECONDS:-4}
CONNS=${BENCH_CONNS:-1}

for tool in wrk valgrind callgrind_control callgrind_annotate base64; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench: $tool is not installed" >&2
		exit 1
	fi
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/kvinstr.XXXXXX") || exit 1
: >"$DIR/pids"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	stop_started
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_env
# Under valgrind the server takes seconds to start.
START_WAIT=60

# phase NAME PATH [SCRIPT]: one server under callgrind, one measured run.
phase() {
	db=$DIR/$1.db
	"$BIN" migrate --db "$db" >/dev/null 2>&1 && make_key "$db" || return 1
	proc_start "$1" valgrind --tool=callgrind \
		--callgrind-out-file="$DIR/$1.cg" \
		"$BIN" serve --db "$db" --listen 127.0.0.1:0 || return 1
	vpid=$spid
	base=$sbase
	# Warm-up, and the ids the Search phase reads.
	BENCH_VALIDATE=1 BENCH_IDS_OUT=$DIR/$1.ids BENCH_NUM_OFFSET=50000000 \
		wrk -t1 -c"$CONNS" -d2s -s "$HERE/request.lua" \
		"$base/verify/json" >/dev/null 2>&1
	BENCH_IDS_FILE=$DIR/$1.ids
	BENCH_NUM_OFFSET=0
	export BENCH_IDS_FILE BENCH_NUM_OFFSET
	callgrind_control -z "$vpid" >/dev/null 2>&1
	if [ -n "${3:-}" ]; then
		wrk -t1 -c"$CONNS" -d"${DUR}s" -s "$HERE/$3.lua" "$base$2" \
			>"$DIR/$1.wrk" 2>&1
	else
		wrk -t1 -c"$CONNS" -d"${DUR}s" "$base$2" >"$DIR/$1.wrk" 2>&1
	fi
	callgrind_control -d "$vpid" >/dev/null 2>&1
	reqs=$(awk '/requests in/ { print $1 }' "$DIR/$1.wrk")
	instr=$(cat "$DIR/$1.cg".* 2>/dev/null |
		awk '/^totals:/ { s += $2 } END { print s + 0 }')
	# memset's own count: mostly libmicrohttpd zeroing each connection's
	# memory pool, one string instruction counted once a byte.
	zeroed=0
	for f in "$DIR/$1.cg".*; do
		z=$(callgrind_annotate --threshold=100 "$f" 2>/dev/null |
			awk '$1 ~ /^[0-9,]+$/ && /memset/ {
				gsub(",", "", $1); s += $1
			} END { print s + 0 }')
		zeroed=$((zeroed + z))
	done
	proc_stop "$vpid"
	if [ -z "$reqs" ] || [ "$reqs" -eq 0 ] || [ "$instr" -eq 0 ]; then
		echo "bench: $1: no requests or no counts" >&2
		return 1
	fi
	printf '%-10s %8d requests %10d instructions per request:' \
		"$1" "$reqs" "$((instr / reqs))"
	printf ' %8d in memset, %8d the rest\n' "$((zeroed / reqs))" \
		"$(((instr - zeroed) / reqs))"
}

echo "bench: user-space instructions per request under callgrind," \
	"wrk -t1 -c$CONNS -d${DUR}s"
phase healthz /healthz
phase request /verify/json request
phase search /verify/search/json search
