#!/bin/sh
# `make check-install`: runs `make install` into a staging directory and
# checks what it put there: every file with its mode, the config file and the
# man page against the directive table (through the built binary), the
# unit, that a second install keeps an edited config and that uninstall
# removes the rest.  Ends with "check-install: N passed, N failed".

set -u

cd "$(dirname "$0")/.." || exit 1

bin=${KOOKOOVERIFY_BIN:-bin/kookooverify}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kv-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

passed=0
failed=0

# check NAME COMMAND...: one test; its output is shown only when it fails.
check()
{
	name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		passed=$((passed + 1))
		echo "ok: $name"
	else
		failed=$((failed + 1))
		echo "FAILED: $name"
		sed 's/^/    /' "$tmp/out" | head -n 40
	fi
}

# The staging tree has make's default directories (under /usr/local), so
# the binary is not rebuilt for others; tools/package-test.sh checks the
# Debian ones (/usr, /etc, /var) in the package.
root=$tmp/root
stage()
{
	make --no-print-directory "$@" DESTDIR="$root"
}

expected_files()
{
	printf '%s\n' /usr/local/etc/kookooverify/kookooverify.conf \
	    /usr/local/bin/kookooverify \
	    /usr/local/lib/systemd/system/kookooverify.service \
	    /usr/local/lib/sysusers.d/kookooverify.conf \
	    /usr/local/lib/tmpfiles.d/kookooverify.conf \
	    /usr/local/share/man/man8/kookooverify.8
	for f in xml_templates/*/*.xml sms_templates/*/*.txt console/index.html \
	    console/*.js console/*.css; do
		echo "/usr/local/share/kookooverify/$f"
	done
}

installed_files()
{
	(cd "$root" && find . -type f | sed 's|^\.||')
}

same_files()
{
	expected_files | LC_ALL=C sort >"$tmp/want"
	installed_files | LC_ALL=C sort >"$tmp/got"
	diff -u "$tmp/want" "$tmp/got"
}

modes()
{
	[ "$(stat -c %a "$root/usr/local/bin/kookooverify")" = 755 ] &&
	    [ "$(stat -c %a "$root/usr/local/etc/kookooverify/kookooverify.conf")" = 640 ] &&
	    [ "$(stat -c %a "$root/usr/local/share/man/man8/kookooverify.8")" = 644 ]
}

# The directive names, from --help's settings list.
directives()
{
	"$bin" --help | sed -n 's/^  \([a-z_][a-z0-9_]*\) .*(default: .*/\1/p'
}

# Every directive once in the config file, commented or set.
conf_lists_every_directive()
{
	conf=$root/usr/local/etc/kookooverify/kookooverify.conf
	n=$(directives | wc -l)
	[ "$n" -gt 10 ] || { echo "only $n directives in --help"; return 1; }
	for d in $(directives); do
		c=$(grep -c "^#\{0,1\}$d =" "$conf")
		[ "$c" = 1 ] || { echo "$d: $c lines in the config"; return 1; }
	done
	[ "$(grep -c '^#\{0,1\}[a-z_0-9]* =' "$conf")" = "$n" ] || {
		echo "the config has settings --help does not list"
		return 1
	}
}

# With every line uncommented, the config is valid and sets the defaults.
conf_uncommented_is_valid()
{
	sed 's/^#\([a-z_0-9]* =\)/\1/' "$root/usr/local/etc/kookooverify/kookooverify.conf" \
	    >"$tmp/all.conf"
	"$bin" check-config --config "$tmp/all.conf" --set xml_templates="$PWD/xml_templates" \
	    --set sms_templates="$PWD/sms_templates"
}

conf_sets_installed_db()
{
	grep -qx 'db = /usr/local/var/lib/kookooverify/kv.db' \
	    "$root/usr/local/etc/kookooverify/kookooverify.conf"
}

# The man page's settings are exactly what the binary's table gives.
man_matches_table()
{
	"$bin" config-doc --format=man >"$tmp/settings"
	python3 - "$root/usr/local/share/man/man8/kookooverify.8" "$tmp/settings" <<'PY'
import re, sys
page = open(sys.argv[1]).read()
settings = open(sys.argv[2]).read()
if "\n.SH SETTINGS\n" not in page or settings not in page:
    sys.exit("the SETTINGS section is not the directive table's")
if re.search(r"@[A-Za-z_]+@", page):
    sys.exit("an @placeholder@ is left in the page")
PY
	for d in $(directives); do
		grep -qx ".B $d" "$root/usr/local/share/man/man8/kookooverify.8" ||
		    { echo "$d missing from the man page"; return 1; }
	done
}

# man(1) renders it without a warning (what lintian checks too).
man_renders_cleanly()
{
	command -v man >/dev/null 2>&1 || { echo "skipped: no man"; return 0; }
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l \
	    "$root/usr/local/share/man/man8/kookooverify.8" >/dev/null 2>"$tmp/warn"
	cat "$tmp/warn"
	[ ! -s "$tmp/warn" ]
}

unit_paths()
{
	u=$root/usr/local/lib/systemd/system/kookooverify.service
	grep -qx 'ExecStart=/usr/local/bin/kookooverify serve --config /usr/local/etc/kookooverify/kookooverify.conf' "$u" &&
	    grep -qx 'ReadWritePaths=/usr/local/var/lib/kookooverify' "$u" &&
	    grep -qx 'WorkingDirectory=/usr/local/var/lib/kookooverify' "$u" &&
	    ! grep -Eq '@[A-Za-z_]+@' "$u"
}

# systemd-analyze reads the unit, its ExecStart pointed at the staged
# binary (it checks that the program exists); not the man page, which is
# not in man's path.
unit_verifies()
{
	command -v systemd-analyze >/dev/null 2>&1 ||
	    { echo "skipped: no systemd-analyze"; return 0; }
	sed "s|^ExecStart=/|ExecStart=$root/|" \
	    "$root/usr/local/lib/systemd/system/kookooverify.service" \
	    >"$tmp/kookooverify.service"
	systemd-analyze verify --man=no "$tmp/kookooverify.service"
}

reinstall_keeps_edited_conf()
{
	echo 'log_level = warn' >>"$root/usr/local/etc/kookooverify/kookooverify.conf"
	stage install >/dev/null &&
	    tail -n 1 "$root/usr/local/etc/kookooverify/kookooverify.conf" |
	    grep -qx 'log_level = warn'
}

uninstall_keeps_only_edited_conf()
{
	stage uninstall >/dev/null || return 1
	[ "$(installed_files)" = /usr/local/etc/kookooverify/kookooverify.conf ]
}

uninstall_removes_everything()
{
	stage install >/dev/null || return 1
	stage uninstall >/dev/null || return 1
	rm -f "$root/usr/local/etc/kookooverify/kookooverify.conf"
	stage install >/dev/null || return 1
	stage uninstall >/dev/null || return 1
	[ -z "$(installed_files)" ]
}

echo "check-install: make install DESTDIR=$root"
if ! stage install >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	echo "check-install: 0 passed, 1 failed"
	exit 1
fi
check "install puts exactly the expected files" same_files
check "file modes" modes
check "config lists every directive once" conf_lists_every_directive
check "config uncommented is valid" conf_uncommented_is_valid
check "config sets the installed database path" conf_sets_installed_db
check "man page settings are the directive table" man_matches_table
check "man page renders without warnings" man_renders_cleanly
check "unit names the installed paths" unit_paths
check "systemd-analyze verify accepts the unit" unit_verifies
check "a second install keeps an edited config" reinstall_keeps_edited_conf
check "uninstall keeps only the edited config" uninstall_keeps_only_edited_conf
check "uninstall removes everything else" uninstall_removes_everything

echo "check-install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
