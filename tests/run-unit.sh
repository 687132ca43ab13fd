#!/bin/sh
# Runs each cmocka unit-test binary given as an argument (`make unit` passes
# them all), streams its output, keeps going after a failure, and ends with
# one line "unit: N passed, N failed" counting test cases, not binaries.
# Exits non-zero when any case failed or any binary crashed.

set -u

passed=0
failed=0
skipped=0
bad_bins=""

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kv-unit.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# cmocka writes test names to stdout and results to stderr.  When both go to
# a pipe, stdout is block-buffered and an error would be printed far from the
# test it belongs to, so run each binary with line-buffered stdout.  stdbuf
# preloads a library, which the AddressSanitizer runtime refuses unless told
# that the link order does not matter.
if command -v stdbuf >/dev/null 2>&1; then
	linebuf="stdbuf -oL -eL"
else
	linebuf=""
fi
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS
# The standard "[  PASSED  ]" report is what is parsed below.
CMOCKA_MESSAGE_OUTPUT=stdout
export CMOCKA_MESSAGE_OUTPUT

# Sums the N of every "[  <tag>  ] N test(s)" summary line in a log.
count()
{
	awk -v tag="$1" '
	index($0, "[") == 1 && substr($0, 2, 10) == tag &&
	$0 ~ /^\[[ A-Z]*\] [0-9]+ test\(s\)/ {
		sub(/^\[[ A-Z]*\] /, "")
		n += $1 + 0
	}
	END { print n + 0 }
	' "$2"
}

if [ "$#" -eq 0 ]; then
	echo "unit: no test binaries given"
fi

for t in "$@"; do
	log="$tmp/log"
	rcfile="$tmp/rc"
	: >"$log"
	echo "=== $t"
	case "$t" in
	*/*) path=$t ;;
	*) path=./$t ;;
	esac
	if [ ! -x "$path" ]; then
		echo "unit: $t: no such executable; counting one failure"
		bad_bins="$bad_bins $t"
		failed=$((failed + 1))
		continue
	fi
	# $linebuf is empty or two words on purpose.
	# shellcheck disable=SC2086
	{
		$linebuf "$path" 2>&1
		echo "$?" >"$rcfile"
	} | tee "$log"
	rc=$(cat "$rcfile")

	p=$(count "  PASSED  " "$log")
	f=$(count "  FAILED  " "$log")
	s=$(count "  SKIPPED " "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# Crashed, aborted by a sanitizer, or failed in group setup:
		# whatever it did not report counts as one failed case.
		echo "unit: $t exited with status $rc without reporting" \
		    "a failed test; counting one failure"
		f=1
	elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$s" -eq 0 ]; then
		echo "unit: $t printed no cmocka summary; counting one failure"
		f=1
	fi
	if [ "$f" -gt 0 ]; then
		bad_bins="$bad_bins $t"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
done

if [ -n "$bad_bins" ]; then
	echo "unit: failing binaries:$bad_bins"
fi
if [ "$skipped" -gt 0 ]; then
	echo "unit: $passed passed, $failed failed, $skipped skipped"
else
	echo "unit: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
