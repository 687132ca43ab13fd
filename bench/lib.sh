# bench/lib.sh: the helpers bench/run.sh and bench/pg.sh share (sourced,
# not run): starting and stopping the programs under test, one wrk phase,
# two wrk runs side by side against two nodes, the half-load phases, CPU
# time of a set of processes, and the awk that reads wrk's latencies.
# Everything it starts is recorded in $DIR/pids so the EXIT trap stops it.
# shellcheck shell=sh disable=SC2034,SC2153,SC2154 # run.sh's variables

# Converts one of wrk's latency fields ("812.00us", "1.20ms", "2.01s") to
# milliseconds; prepended to the awk programs that read wrk's output.
AWK_MS='
function ms(s, n) {
	n = s + 0
	if (s ~ /us$/) return n / 1000
	if (s ~ /ms$/) return n
	if (s ~ /m$/) return n * 60000
	if (s ~ /h$/) return n * 3600000
	if (s ~ /s$/) return n * 1000
	return n
}'

# bench_env: settings that keep the server out of the way, exported, and
# BENCH_LUA_DIR for the wrk scripts; any KOOKOOVERIFY_* already in the
# environment wins.  The PIN must outlive the whole run for the checks.
bench_env() {
	: "${KOOKOOVERIFY_LOG_LEVEL:=warn}"
	: "${KOOKOOVERIFY_PIN_EXPIRY:=3600}"
	# The abuse limits stay on (their cost is part of what is measured)
	# but are raised far above what one wrk client sends.
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
	BENCH_LUA_DIR=$HERE
	export BENCH_LUA_DIR
}

# stop_started: stops everything recorded in DIR/pids (the EXIT traps).
stop_started() {
	while read -r p; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done <"$DIR/pids"
}

# proc_start NAME CMD...: starts CMD in the background with its stdout and
# stderr in DIR/NAME.out and DIR/NAME.err and waits up to START_WAIT seconds
# (default 15) for its "listening on 127.0.0.1:PORT" line.  Sets spid and sbase; returns 1 (its
# stderr printed) if it exits or never listens.
proc_start() {
	sname=$1
	shift
	"$@" >"$DIR/$sname.out" 2>"$DIR/$sname.err" &
	spid=$!
	echo "$spid" >>"$DIR/pids"
	sport=
	sdeadline=$(($(date +%s) + ${START_WAIT:-15}))
	while [ -z "$sport" ]; do
		sport=$(sed -n \
			's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
			"$DIR/$sname.out")
		[ -n "$sport" ] && break
		if ! kill -0 "$spid" 2>/dev/null ||
			[ "$(date +%s)" -ge "$sdeadline" ]; then
			echo "bench: $sname did not start; its stderr:" >&2
			cat "$DIR/$sname.err" >&2
			return 1
		fi
		sleep 0.1
	done
	sbase=http://127.0.0.1:$sport
}

# server_start NAME DB [VAR=VALUE...]: a kookooverify server over DB with
# the extra environment given, as proc_start.
server_start() {
	sn=$1
	sd=$2
	shift 2
	proc_start "$sn" env "$@" "$BIN" serve --db "$sd" \
		--listen 127.0.0.1:0
}

# proc_stop PID: SIGTERM, then up to 10 s for a clean exit before SIGKILL.
# Sets sstatus to its exit status.
proc_stop() {
	n=0
	kill -TERM "$1" 2>/dev/null
	while kill -0 "$1" 2>/dev/null && [ "$n" -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -0 "$1" 2>/dev/null && kill -KILL "$1"
	wait "$1"
	sstatus=$?
	grep -vx "$1" "$DIR/pids" >"$DIR/pids.new"
	mv "$DIR/pids.new" "$DIR/pids"
}

# server_stop PID NAME: proc_stop, then the exit status and the tail of
# the server's stderr (NAME as given to server_start).
server_stop() {
	proc_stop "$1"
	echo
	echo "bench: $2 exit status $sstatus (expected 0)"
	if [ -s "$DIR/$2.err" ]; then
		echo "bench: $2 stderr (last 10 of $(wc -l <"$DIR/$2.err")" \
			"lines):"
		tail -n 10 "$DIR/$2.err" | sed 's/^/   /'
	fi
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null ||
		echo "?"
}

# cpu_ticks PID...: user + system clock ticks the processes have used.
# The fields after the ")" that closes the command name, which may hold
# blanks: utime and stime are the 12th and 13th.
cpu_ticks() {
	for p in "$@"; do
		sed 's/.*) //' "/proc/$p/stat" 2>/dev/null
	done | awk '{ t += $12 + $13 } END { print t + 0 }'
}

# phase_requests NAME: requests phase NAME sent, its validation run's too.
phase_requests() {
	cat "$DIR/$1.out" "$DIR/$1.check" 2>/dev/null |
		awk '/ requests in / { s += $1 } END { print s + 0 }'
}

# cpu_per_request NAME LABEL TICKS_BEFORE PID...: prints the CPU the
# processes used during phase NAME (since TICKS_BEFORE) per request.
cpu_per_request() {
	cn=$1
	cl=$2
	c0=$3
	shift 3
	awk -v n="$(phase_requests "$cn")" -v hz="$(getconf CLK_TCK)" \
		-v a="$c0" -v b="$(cpu_ticks "$@")" -v l="$cl" 'BEGIN {
		if (n > 0)
			printf "   CPU %s: %.1f us per request\n", l,
				(b - a) * 1e6 / hz / n }'
}

# rps FILE: Requests/sec in a wrk output.
rps() {
	awk '/^Requests\/sec:/ { print $2 + 0 }' "$1"
}

# wrk_once NAME CONNS BASE PATH [SCRIPT] [OUT]: a short validation run of
# SCRIPT (every reply's status counted, see common.lua) into DIR/NAME.check,
# then the measured run into OUT (default DIR/NAME.out).  Sets nothing; runs
# in the foreground, so a caller may put it in the background.
wrk_once() {
	wn=$1
	wc_=$2
	wb=$3
	wp=$4
	ws=${5:-}
	wo=${6:-$DIR/$wn.out}
	wt=$THREADS
	[ "$wt" -gt "$wc_" ] && wt=$wc_
	if [ -n "$ws" ]; then
		set -- -s "$HERE/$ws.lua"
		# A short validation run checks every reply's status first; the
		# measured run below has no response hook (see common.lua).
		BENCH_VALIDATE=1 \
		BENCH_NUM_OFFSET=$((${BENCH_NUM_OFFSET:-0} + 250000000)) \
			wrk -t"$wt" -c"$wc_" -d2s "$@" "$wb$wp" \
			>"$DIR/$wn.check" 2>&1
	else
		set --
		rm -f "$DIR/$wn.check"
	fi
	# run_half's snapshot of the server's metrics, after the validation
	# run, so that metrics_tail counts the measured run alone.
	[ -n "${HALF_M0:-}" ] && metrics_get "$HALF_M0"
	wrk -t"$wt" -c"$wc_" -d"${DUR}s" --latency "$@" "$wb$wp" >"$wo" 2>&1
	[ -f "$DIR/$wn.check" ] && grep '^unexpected' "$DIR/$wn.check" >>"$wo"
	return 0
}

# run_wrk NAME CONNS PATH [SCRIPT]: one phase against $BASE, output kept in
# DIR/NAME.out; appends "NAME CONNS RSS_KB" to DIR/phases for the summary
# (RSS of $pid, the server being measured).
run_wrk() {
	echo
	echo "== $1: wrk -c$2 -d${DUR}s $BASE$3" \
		"${BENCH_DELAY_MS:+(pause ${BENCH_DELAY_MS} ms per reply)}"
	wrk_once "$1" "$2" "$BASE" "$3" "${4:-}"
	[ -f "$DIR/$1.check" ] &&
		grep -E '^(statuses|unexpected)' "$DIR/$1.check" | sed 's/^/   /'
	sed 's/^/   /' "$DIR/$1.out"
	echo "$1 $2 $(rss_kb "$pid")" >>"$DIR/phases"
}

# run_pair NAME CONNS PATH SCRIPT: the same phase against $BASE and $BASE2
# at once, CONNS connections each, from two wrk processes.  DIR/NAME.out
# then holds the sum of their rates and the larger of their p50 and p99 (a
# percentile of the union lies between the two, so this errs high).  Side
# b numbers its verifications 5 * 10^7 above side a; of BENCH_IDS_FILE each
# side takes every other id (common.lua).
run_pair() {
	echo
	echo "== $1: two wrk -c$2 -d${DUR}s in parallel, one per node," \
		"$BASE$3 and $BASE2$3"
	BENCH_IDS_SIDE=0 wrk_once "$1.a" "$2" "$BASE" "$3" "$4" &
	wa=$!
	BENCH_IDS_SIDE=1 \
		BENCH_NUM_OFFSET=$((${BENCH_NUM_OFFSET:-0} + 50000000)) \
		wrk_once "$1.b" "$2" "$BASE2" "$3" "$4" &
	wb_=$!
	wait "$wa" "$wb_"
	for side in a b; do
		echo "   -- node $side"
		grep -E '^(statuses|unexpected)' "$DIR/$1.$side.check" |
			sed 's/^/   /'
		sed 's/^/   /' "$DIR/$1.$side.out"
	done
	awk "$AWK_MS"'
	/^ +50% / { v = ms($2); if (v > p50) p50 = v }
	/^ +99% / { v = ms($2); if (v > p99) p99 = v }
	/^Requests\/sec:/ { r += $2 }
	/^unexpected responses:|Non-2xx or 3xx responses:|Socket errors:/ {
		print
	}
	END {
		printf "    50%%    %.3fms\n    99%%    %.3fms\n", p50, p99
		printf "Requests/sec: %.2f\n", r
	}' "$DIR/$1.a.out" "$DIR/$1.b.out" >"$DIR/$1.out"
	echo "   -- both: $(rps "$DIR/$1.out") req/s"
	echo "$1 $(($2 * 2)) $(rss_kb "$pid")" >>"$DIR/phases"
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
	conns=$(awk -v t="$target" -v p="$PACE" "$AWK_MS"'
	/^ +50% / { l = ms($2) }
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
	HALF_M0=${HALF_TOKEN:+$DIR/$1.m0}
	run_wrk "$1" "$conns" "$3" "$4"
	HALF_M0=
	echo "   (target $target req/s; the 2 s probes gave $probes)"
	if [ -n "${HALF_TOKEN:-}" ] && [ -s "$DIR/$1.m0" ] &&
		metrics_get "$DIR/$1.m1"; then
		metrics_tail "$DIR/$1.m0" "$DIR/$1.m1" "$3"
	fi
}

# metrics_get FILE: $BASE/metrics, read with the operator token HALF_TOKEN.
metrics_get() {
	curl -sf -o "$1" -H "Authorization: Bearer $HALF_TOKEN" \
		"$BASE/metrics"
}

# metrics_tail BEFORE AFTER PATH: what the server saw of one phase, from
# two /metrics snapshots around it: how many of PATH's requests it answered
# within 2.5, 5 and 10 ms (its own clock, from the first byte to the reply
# queued), how many of the writer's COMMITs took over 10, 25 and 50 ms,
# and (PostgreSQL) how many of the statements the node ran outside the
# writer did (an HTTP thread in one reads no request meanwhile).  These
# count each request once; wrk's percentiles also count the requests a
# steady client would have sent during a stall (its coordinated-omission
# correction), so a few long stalls weigh more there.  Slow COMMITs are
# the database's own (for PostgreSQL, its WAL flush: the disk).
metrics_tail() {
	awk -v path="$3" '
	function le(line) {
		sub(/.*le="/, "", line)
		sub(/".*/, "", line)
		return line
	}
	FNR == 1 { f++ }
	/^kookooverify_http_request_duration_seconds_bucket/ &&
	    index($0, "route=\"" path "\"") {
		h[le($0)] += (f == 1 ? -$NF : $NF)
	}
	/^kookooverify_store_commit_duration_seconds_bucket/ {
		c[le($0)] += (f == 1 ? -$NF : $NF)
	}
	/^kookooverify_store_read_duration_seconds_bucket/ {
		r[le($0)] += (f == 1 ? -$NF : $NF)
	}
	END {
		n = h["+Inf"]
		if (n > 0)
			printf "   in the server: %d requests, %.2f%% within" \
			    " 2.5 ms, %.2f%% within 5 ms, %.2f%% within 10 ms\n",
			    n, 100 * h["0.0025"] / n, 100 * h["0.005"] / n,
			    100 * h["0.01"] / n
		m = c["+Inf"]
		if (m > 0)
			printf "   COMMITs: %d, %d over 10 ms, %d over 25 ms," \
			    " %d over 50 ms\n", m, m - c["0.01"],
			    m - c["0.025"], m - c["0.05"]
		k = r["+Inf"]
		if (k > 0)
			printf "   statements outside the writer: %d, %d over" \
			    " 10 ms, %d over 25 ms, %d over 50 ms\n", k,
			    k - r["0.01"], k - r["0.025"], k - r["0.05"]
	}' "$1" "$2"
}

# warm_up SECONDS [IDS_OUT]: unreported Request load on $BASE (a new
# database first pays for growing its files).  With IDS_OUT, every reply is
# read (the rate does not matter here) and its request_id kept in that file.
warm_up() {
	echo
	echo "== request warm-up: ${1}s, not reported"
	if [ -n "${2:-}" ]; then
		BENCH_VALIDATE=1 BENCH_IDS_OUT=$2 BENCH_NUM_OFFSET=900000000 \
			wrk -t"$THREADS" -c"$CONNS" -d"${1}s" \
			-s "$HERE/request.lua" "$BASE/verify/json" \
			>"$DIR/warm.out" 2>&1
		echo "   $(wc -l <"$2") request ids kept"
	else
		BENCH_NUM_OFFSET=900000000 wrk -t"$THREADS" -c"$CONNS" \
			-d"${1}s" -s "$HERE/request.lua" "$BASE/verify/json" \
			>/dev/null 2>&1
	fi
}

# scrape_loop BASE TOKEN: reads BASE/metrics with the operator token once a
# second, as Prometheus would, until killed; counts the scrapes into
# DIR/scrapes and the last one's size into DIR/scrape_bytes.
scrape_loop() {
	n=0
	while :; do
		b=$(curl -s -o /dev/null -w '%{size_download}' \
			-H "Authorization: Bearer $2" "$1/metrics") || b=0
		n=$((n + 1))
		echo "$n" >"$DIR/scrapes"
		echo "$b" >"$DIR/scrape_bytes"
		sleep 1
	done
}

# make_key DB [VAR=VALUE...]: an API key in DB; exports BENCH_AUTH.
make_key() {
	kd=$1
	shift
	keyjson=$(env "$@" "$BIN" keys create --db "$kd" --name bench \
		--json) || return 1
	api_key=$(printf '%s\n' "$keyjson" |
		sed -n 's/.*"api_key": *"\([^"]*\)".*/\1/p')
	api_secret=$(printf '%s\n' "$keyjson" |
		sed -n 's/.*"api_secret": *"\([^"]*\)".*/\1/p')
	if [ -z "$api_key" ] || [ -z "$api_secret" ]; then
		echo "bench: cannot parse keys create output: $keyjson" >&2
		return 1
	fi
	BENCH_AUTH=$(printf '%s:%s' "$api_key" "$api_secret" | base64 |
		tr -d '\n')
	export BENCH_AUTH
}
