#!/bin/sh
# Runs each named libFuzzer harness (build-fuzz/fuzz_NAME, built by
# `make fuzz`) for SECONDS on a copy of its committed corpus, so that the
# committed seeds are never rewritten, and prints executions, coverage and any
# crash.  Usage: fuzz/run.sh SECONDS NAME...   Exits 1 if any harness failed.
# FUZZ_JOBS harnesses (default: the number of cores) run at a time, each on
# one core; `--one SECONDS NAME` is one harness's run.

set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 SECONDS NAME..." >&2
	exit 2
fi

cd "$(dirname "$0")/.." || exit 2

# One harness, NAME for SECONDS: prints what it did; returns 1 when it
# failed.
one()
{
	seconds=$1
	name=$2
	bin=build-fuzz/fuzz_$name
	seeds=fuzz/corpus/$name
	out=fuzz/corpus-out/$name
	art=fuzz/artifacts/$name
	log=$art/fuzz.log

	mkdir -p "$out" "$art"
	# The grown corpus keeps what earlier runs found; the seeds join it.
	if [ -d "$seeds" ]; then
		cp -R "$seeds/." "$out/"
	fi
	dict=""
	if [ -f "fuzz/$name.dict" ]; then
		dict="-dict=fuzz/$name.dict"
	fi
	printf 'fuzz: %s: %s s on %s\n' "$name" "$seconds" "$out"
	# $dict is one word or none.  Temporary files (fuzz_ivr_validate's)
	# go to the artifacts, where a crashed run's leftovers are ignored.
	# shellcheck disable=SC2086
	TMPDIR=$(pwd)/$art "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$art/" $dict "$out" \
	    >"$log" 2>&1
	rc=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	# "Done 123 runs in 10 second(s)" only ends a run without a crash.
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' \
	    "$log")
	# The last status line: "#123 DONE cov: 456 ft: 789 corp: 12/3Kb ...".
	status=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(printf '%s\n' "$status" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$status" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(printf '%s\n' "$status" |
	    sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
	printf 'fuzz: %s: %s runs in %s s, cov: %s ft: %s corpus: %s\n' \
	    "$name" "${runs:-?}" "${secs:-<$seconds}" "${cov:-?}" "${ft:-?}" \
	    "${corp:-?}"
	if [ "$rc" -ne 0 ]; then
		printf 'fuzz: %s: FAILED (exit %s); log %s\n' "$name" "$rc" \
		    "$log"
		# The sanitizer's report or the broken invariant, and the
		# input libFuzzer saved.
		grep -E -m 1 -A 24 'ERROR: |runtime error|invariant failed' \
		    "$log" || tail -n 5 "$log"
		grep -E -m 1 'Test unit written to' "$log"
	fi
	return $((rc != 0))
}

# Its lines printed together when it ends, so that the harnesses running
# beside it do not interleave with them.
if [ "$1" = --one ]; then
	res=$(one "$2" "$3")
	rc=$?
	printf '%s\n' "$res"
	exit "$rc"
fi

seconds=$1
shift
jobs=${FUZZ_JOBS:-$(nproc)}
lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
# xargs runs up to $jobs at a time; the harnesses that failed are the ones
# whose lines said so.
printf '%s\n' "$@" | xargs -P "$jobs" -I NAME sh "$0" --one "$seconds" NAME \
    2>&1 | tee "$lines"
failed=$(sed -n 's/^fuzz: \([a-z_]*\): FAILED .*/ \1/p' "$lines" | tr -d '\n')

# $failed is a list of words on purpose.
# shellcheck disable=SC2086
nfailed=$(printf '%s\n' $failed | grep -c .)
# The line .ci/run's summary collects.
echo "fuzz: $(($# - nfailed)) passed, $nfailed failed"
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed (logs and inputs in fuzz/artifacts/)"
	exit 1
fi
