# bench/summary.sh: the end of bench/run.sh (sourced, not run).  One line
# per phase from DIR/phases and the wrk outputs, then the table, the ratios
# and the targets.  A phase that did not run (PostgreSQL absent, a ceiling
# tool that did not build) is left out of the ratios that need it.
# shellcheck shell=sh disable=SC2034,SC2153,SC2154 # run.sh's variables

# One line per phase: name conns rss req/s p50 p99 unexpected.
while read -r name conns rss; do
	awk -v name="$name" -v conns="$conns" -v rss="$rss" "$AWK_MS"'
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
awk -v rows="$ROWS" -v half="$HALF" -v cn="$commits_normal" \
	-v cf="$commits_full" '
{
	name[NR] = $1; conns[NR] = $2; rss[NR] = $3; rps[NR] = $4
	p50[NR] = $5; p99[NR] = $6; bad[NR] = $7; row[$1] = NR
}
function pct(a, b) { return b > 0 ? 100 * a / b : 0 }
function verdict(ok) { return ok ? "met" : "MISSED" }
function r(n) { return (n in row) ? rps[row[n]] : 0 }
# x(a, b): rate of phase a as a multiple of rate b
function x(a, b) { return b > 0 ? a / b : 0 }
function line(label, value, target) {
	printf "  %-40s %s%s\n", label, value, target == "" ? "" : "  " target
}
END {
	h = r("healthz")
	printf "%-16s %5s %10s %9s %9s %8s %8s %10s\n", "phase", "conns",
		"req/s", "p50 ms", "p99 ms", "%health", "bad", "RSS kB"
	for (i = 1; i <= NR; i++)
		printf "%-16s %5d %10.0f %9.3f %9.3f %7.1f%% %8d %10s\n",
			name[i], conns[i], rps[i], p50[i], p99[i],
			pct(rps[i], h), bad[i], rss[i]

	print "\nThe machine'"'"'s ceilings (same run)"
	if (r("mhd_static") > 0)
		line("static libmicrohttpd reply", sprintf("%.0f req/s; " \
			"/healthz is %.1f%% of it", r("mhd_static"),
			pct(h, r("mhd_static"))), "")
	if (cn > 0)
		line("SQLite single-row commits", sprintf("NORMAL %.0f/s, " \
			"FULL %.0f/s", cn, cf), "")

	print "\nSQLite, synchronous NORMAL"
	rq = pct(r("request"), h)
	s = pct(r("search"), h)
	b = pct(r("search_big"), h)
	line("Request/healthz", sprintf("%6.1f%%", rq),
		"target >= 25%  " verdict(rq >= 25))
	line("Search/healthz", sprintf("%6.1f%%", s),
		"target >= 50%  " verdict(s >= 50))
	line("Search(+" rows " rows)/healthz", sprintf("%6.1f%%", b),
		"target >= 50%  " verdict(b >= 50))
	if (r("request_scraped") > 0 && r("request_after") > 0) {
		sc = x(r("request_scraped"),
			(r("request") + r("request_after")) / 2)
		line("Request scraped each 1 s/Request", sprintf("%6.2fx", sc),
			"target >= 0.95x  " verdict(sc >= 0.95))
	}
	if (r("mhd_static") > 0)
		line("Request/static libmicrohttpd", sprintf("%6.1f%%",
			pct(r("request"), r("mhd_static"))), "")
	if (cn > 0)
		line("Request/single-row commits NORMAL", sprintf("%6.2fx",
			x(r("request"), cn)), "")
	for (k = 0; k < 3; k++) {
		n = k == 0 ? "healthz" : k == 1 ? "request" : "search"
		i = row[n "_half"]
		v = k == 0 ? "(baseline)" : "target < 2 ms  " verdict(p99[i] < 2)
		line(sprintf("%s p99 at %.0f%% load", n, half),
			sprintf("%6.3f ms (%.0f req/s, %.0f%% of full)", p99[i],
			rps[i], pct(rps[i], r(n))), v)
	}
	m = rss[row["search_big"]] / 1024
	line(sprintf("RSS after search with %d rows", rows),
		sprintf("%.1f MiB", m), "target < 64 MiB  " verdict(m < 64))

	print "\nSQLite, db_synchronous = full"
	if (r("request_full") > 0) {
		f = x(r("request_full"), r("request"))
		line("Request FULL/Request NORMAL", sprintf("%6.2fx", f),
			"target >= 0.5x  " verdict(f >= 0.5))
		line("Request FULL/healthz", sprintf("%6.1f%%",
			pct(r("request_full"), h)), "")
		if (cf > 0)
			line("Request FULL/single-row commits FULL",
				sprintf("%6.2fx", x(r("request_full"), cf)),
				"(> 1: group commit)")
	} else
		print "  did not run (see above)"

	print "\nPostgreSQL (ratios to this run'"'"'s SQLite figures)"
	if (r("pg_request") > 0) {
		q = x(r("pg_request"), r("request"))
		line("1 node Request/SQLite Request", sprintf("%6.2fx", q),
			"target >= 0.33x  " verdict(q >= 0.33))
		q = x(r("pg_search"), r("search"))
		line("1 node Search/SQLite Search", sprintf("%6.2fx", q),
			"target >= 0.5x  " verdict(q >= 0.5))
		line("1 node Check/SQLite Check", sprintf("%6.2fx",
			x(r("pg_check"), r("check"))), "")
		line("1 node Request/SQLite Request FULL", sprintf("%6.2fx",
			x(r("pg_request"), r("request_full"))),
			"(both durable)")
		split("request search check", ph, " ")
		for (k = 1; k <= 3; k++)
			line(sprintf("1 node %s/healthz", ph[k]), sprintf( \
				"%6.1f%%", pct(r("pg_" ph[k]), h)), "")
		for (k = 1; k <= 3; k++)
			if (r("pg2_" ph[k]) > 0)
				line(sprintf("2 nodes %s", ph[k]), sprintf( \
					"%6.2fx SQLite, %.2fx 1 node, %.1f%% " \
					"healthz", x(r("pg2_" ph[k]), r(ph[k])),
					x(r("pg2_" ph[k]), r("pg_" ph[k])),
					pct(r("pg2_" ph[k]), h)), "")
		for (k = 1; k <= 2; k++) {
			i = row["pg_" ph[k] "_half"]
			if (i == "")
				continue
			line(sprintf("1 node %s p99 at %.0f%% load", ph[k],
				half), sprintf("%6.3f ms (%.0f req/s)", p99[i],
				rps[i]), "target < 5 ms  " verdict(p99[i] < 5))
		}
	} else
		print "  did not run (see above)"

	for (i = 1; i <= NR; i++)
		if (bad[i] > 0)
			printf "WARNING: %s had %d unexpected responses or " \
				"socket errors (see its output above)\n",
				name[i], bad[i]
}' "$DIR/summary"
