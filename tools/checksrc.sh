#!/bin/sh
# Source checks that the compiler does not make: banned C library calls
# (unbounded string functions, and atoi-style parsing that hides errors; use
# snprintf, memcpy with explicit lengths and parse_int), the opening
# comment every source file starts with, and the include rule of the layers.  Run by `make check-src`.

set -eu

cd "$(dirname "$0")/.."

BANNED="sprintf vsprintf strcat strncat strcpy strncpy gets atoi atol atoll"

# C and C++ sources under the checked folders, one per line, sorted.
sources=$(find src ivr tests tools -name node_modules -prune -o -type f \
	\( -name '*.c' -o -name '*.h' -o -name '*.cc' -o -name '*.cpp' \
	-o -name '*.hh' -o -name '*.hpp' \) -print 2>/dev/null | LC_ALL=C sort)

fail=0

# Banned calls: a whole word followed by optional blanks and "(".  Comments,
# string literals and character literals are blanked first so that a comment
# saying "never call strcpy()" or a test string does not trip the check.
if [ -n "$sources" ]; then
	# Word splitting of $sources is wanted: file names have no blanks.
	# shellcheck disable=SC2086
	if ! awk -v banned="$BANNED" '
	BEGIN {
		n = split(banned, words, " ")
		bad = 0
	}
	FNR == 1 { incomment = 0 }
	{
		line = $0
		out = ""
		i = 1
		len = length(line)
		while (i <= len) {
			c = substr(line, i, 1)
			two = substr(line, i, 2)
			if (incomment) {
				if (two == "*/") {
					incomment = 0
					i += 2
				} else {
					i++
				}
				out = out " "
				continue
			}
			if (two == "/*") {
				incomment = 1
				i += 2
				out = out " "
				continue
			}
			if (two == "//")
				break
			if (c == "\"" || c == "\047") {
				q = c
				i++
				while (i <= len) {
					d = substr(line, i, 1)
					if (d == "\\") {
						i += 2
						continue
					}
					i++
					if (d == q)
						break
				}
				out = out q q
				continue
			}
			out = out c
			i++
		}
		# A member of the same name (p->gets(), s.gets()) is fine.
		gsub(/->/, ".", out)
		for (k = 1; k <= n; k++) {
			re = "(^|[^A-Za-z0-9_.])" words[k] "[ \t]*\\("
			if (out ~ re) {
				printf "%s:%d: banned call %s(): %s\n", \
				    FILENAME, FNR, words[k], $0
				bad = 1
			}
		}
	}
	END { exit bad }
	' $sources; then
		fail=1
	fi
fi

# Every source file opens with a comment saying what it holds: one of its
# first three lines starts a comment (a C one for C and C++, an XML one for
# the XML that ivr/ may hold, a # one for anything else there).
for f in src/*.c src/*.h src/*.cc ivr/*; do
	[ -f "$f" ] || continue
	case "$f" in
	*.c | *.h | *.cc | *.cpp | *.hh | *.hpp) opener='/\*|//' ;;
	*.xml) opener='<!--' ;;
	*) opener='#' ;;
	esac
	if ! head -n 3 "$f" | grep -Eq "^[[:space:]]*($opener)"; then
		echo "$f:1: no opening comment in the first 3 lines" \
		    "(say what the file holds)"
		fail=1
	fi
done

# Layers (docs/ARCHITECTURE.md, "Layers"): which files may include which
# header.  A file of the SQLite backend's own sees SQLite; the service and
# the few places named below see the store's interface; nothing else does.
# Tests may include anything.
layer_allowed() { # header file
	# Nothing below the callers calls up: the service, the model and the
	# store include no header of HTTP, the dialects, the IVR, the job
	# runner or the KooKoo client.
	case "$2" in
	src/verify* | src/keys.[ch] | src/fraud.[ch] | src/apps.[ch] | \
	src/model.h | src/engine.[ch] | src/store*)
		case "$1" in
		http.h | api.h | api_*.h | browser.h | jobs.h | kookoo.h | \
		ivr.h | ivr_xml.h) return 1 ;;
		esac ;;
	esac
	case "$1" in
	sqlite3.h | store_sqlite.h)
		case "$2" in
		src/store_sqlite*.c | src/store_sqlite.h | src/faultvfs.c) return 0 ;;
		# copy-store reads a SQLite file into PostgreSQL.
		src/store_pg_copy.c) [ "$1" = sqlite3.h ] && return 0 ;;
		esac ;;
	libpq-fe.h | store_pg.h)
		case "$2" in
		src/store_pg*.c | src/store_pg.h) return 0 ;;
		esac ;;
	store_queue.h)
		case "$2" in
		src/store_queue.[ch] | src/store_*_writer.c) return 0 ;;
		esac ;;
	store_backend.h)
		case "$2" in
		src/store.c | src/store_backend.h | src/store_sqlite*.c | \
		src/store_pg*.c) return 0 ;;
		esac ;;
	store.h)
		case "$2" in
		# The store and its backends; the service (verify*.c, with
		# keys.c, apps.c and fraud.c); the program's start, migrations and
		# admin commands; http_write's queue to the writer; and the
		# one allowed skip: the API common layer's read snapshot.
		src/store*.c | src/store*.h | src/verify*.c | src/keys.c | \
		src/apps.c | src/fraud.c | src/main.c | src/admin*.c | src/http.c | \
		src/api.c) return 0 ;;
		esac ;;
	*) return 0 ;;
	esac
	return 1
}
for f in src/*.c src/*.h src/*.cc ivr/*.c ivr/*.h; do
	[ -f "$f" ] || continue
	bad=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^">]*\)[">].*/\1/p' "$f" |
		while read -r h; do
			layer_allowed "$h" "$f" || echo "$h"
		done)
	for h in $bad; do
		echo "$f: includes $h across the layers" \
		    "(docs/ARCHITECTURE.md, Layers)"
		fail=1
	done
done

if [ "$fail" -ne 0 ]; then
	echo "check-src: FAILED" >&2
	exit 1
fi
echo "check-src: ok"
