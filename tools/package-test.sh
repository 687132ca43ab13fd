#!/bin/sh
# CI stage for the Debian package (debian/): builds it from a copy of this
# tree, runs lintian on it, installs it with apt on this machine, checks the
# installed files against the directive table, starts the installed server
# the way its unit would (ExecStart under the service user, in its working
# directory) wired to the KooKoo simulator, answers one verification, stops
# it, purges the package and removes what the test itself created.  Ends
# with "package: N passed, N failed".  Run as root (CI is); about a minute
# once the build tools are installed.

# The functions below run through check and must, which shellcheck does not
# follow: SC2317 (unreachable) is wrong here.
# shellcheck disable=SC2317

set -u

cd "$(dirname "$0")/.." || exit 1
top=$PWD

passed=0
failed=0
tmp=""
state_tmp=""
sim_pid=""
server_pid=""
installed=0
user_existed=1
state_existed=1

finish()
{
	echo "package: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

# check NAME COMMAND...: one test; its output is shown only when it fails.
check()
{
	name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		passed=$((passed + 1))
		echo "ok: $name"
		return 0
	fi
	failed=$((failed + 1))
	echo "FAILED: $name"
	sed 's/^/    /' "$tmp/out" | tail -n 40
	return 1
}

# A step the rest depends on: when it fails, stop here (cleanup runs).
must()
{
	check "$@" || finish
}

stop_pid()
{
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	# Bounded: a process that ignores SIGTERM gets SIGKILL after 10 s.
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
}

# Whatever happens, the machine is left as it was found: the processes
# stopped, the package purged, and the user and state directory removed if
# this test made them (Debian keeps a package's system user on purge).
# Run as the last check and again on exit; each step is idempotent.
restore_machine()
{
	stop_pid "$server_pid"
	server_pid=""
	stop_pid "$sim_pid"
	sim_pid=""
	if [ "$installed" -eq 1 ]; then
		DEBIAN_FRONTEND=noninteractive dpkg --purge kookooverify \
		    >/dev/null 2>&1
		installed=0
	fi
	if [ "$user_existed" -eq 0 ] && getent passwd kookooverify >/dev/null; then
		userdel kookooverify
	fi
	if [ "$user_existed" -eq 0 ] && getent group kookooverify >/dev/null; then
		groupdel kookooverify
	fi
	[ "$state_existed" -eq 1 ] || rm -rf /var/lib/kookooverify
	[ -z "$state_tmp" ] || rm -rf "$state_tmp"
	if [ "$user_existed" -eq 0 ] && getent passwd kookooverify; then
		return 1
	fi
	[ "$state_existed" -eq 1 ] || [ ! -e /var/lib/kookooverify ]
}

cleanup()
{
	restore_machine >/dev/null 2>&1
	[ -z "$tmp" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kv-package.XXXXXX") || exit 1

if [ "$(id -u)" -ne 0 ]; then
	echo "package: needs root (it installs and purges a package)"
	failed=1
	finish
fi

# --- Tools: the build dependencies (tools/install-deps.sh), then what
# building and checking a package takes.  Each apt-get is bounded.
tools_present()
{
	for p in debhelper lintian systemd dpkg-dev; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = \
		    "install ok installed" ] || return 1
	done
}

install_tools()
{
	sh tools/install-deps.sh || return 1
	tools_present && return 0
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get update -q &&
	    timeout 600 apt-get install -y -q --no-install-recommends \
		debhelper lintian systemd dpkg-dev
}
must "build tools installed" install_tools

# --- The KooKoo simulator, from this tree.
must "simulator built" make --no-print-directory bin/kookoo-sim

# --- make install and uninstall in a staging tree (tools/install-test.sh).
check "make check-install" make --no-print-directory check-install

# --- Build from a copy, so dpkg-buildpackage writes nothing here (it puts
# the .deb beside the source directory, and cleans the tree it builds in).
# Without CI=true: warnings are errors in the CI build stage already, and a
# package build, like Debian's own, does not fail on a new compiler's.
build_package()
{
	mkdir "$tmp/src" &&
	    git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -x -C "$tmp/src" &&
	    cd "$tmp/src" &&
	    timeout 600 env -u CI dpkg-buildpackage -b -us -uc -J"$(nproc)" \
		>"$tmp/build.log" 2>&1
	rc=$?
	cd "$top" || return 1
	[ "$rc" -eq 0 ] || tail -n 30 "$tmp/build.log"
	return "$rc"
}
must "dpkg-buildpackage -b -us -uc" build_package
deb=$(ls "$tmp"/kookooverify_*.deb)

# Every lintian tag is shown; errors and warnings fail (the overrides in
# debian/kookooverify.lintian-overrides say why each is accepted).
run_lintian()
{
	timeout 300 lintian --allow-root --info --display-info --pedantic \
	    --fail-on error,warning "$tmp"/kookooverify_*.changes
}
check "lintian: no errors or warnings" run_lintian

# --- Install with apt, which resolves the package's dependencies.
getent passwd kookooverify >/dev/null || user_existed=0
[ -e /var/lib/kookooverify ] || state_existed=0
if dpkg-query -W -f='${Status}' kookooverify 2>/dev/null |
    grep -q 'installed'; then
	echo "package: purging the kookooverify package found installed"
	dpkg --purge kookooverify >/dev/null
fi

install_package()
{
	installed=1
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q \
	    --no-install-recommends "$deb"
}
must "apt-get install the package" install_package
# Where systemd runs, the postinst started the service; this test runs the
# unit's command itself, so that one is stopped first.
if [ -d /run/systemd/system ]; then
	systemctl stop kookooverify.service
fi

files_installed()
{
	for f in /usr/bin/kookooverify /lib/systemd/system/kookooverify.service \
	    /etc/kookooverify/kookooverify.conf \
	    /usr/lib/sysusers.d/kookooverify.conf \
	    /usr/lib/tmpfiles.d/kookooverify.conf \
	    /usr/share/man/man8/kookooverify.8.gz \
	    /usr/share/kookooverify/xml_templates/en/greeting.xml \
	    /usr/share/kookooverify/xml_templates/hi/greeting.xml \
	    /usr/share/kookooverify/sms_templates/en/pin.txt \
	    /usr/share/kookooverify/sms_templates/hi/pin.txt \
	    /usr/share/kookooverify/console/index.html \
	    /usr/share/kookooverify/console/console.js \
	    /usr/share/kookooverify/console/charts.js \
	    /usr/share/kookooverify/console/console.css; do
		[ -f "$f" ] || { echo "missing $f"; return 1; }
	done
}
check "installed files" files_installed

# sysusers.d made the user, tmpfiles.d the state directory and the config
# file's group; dh_installsystemd enabled the unit.
postinst_done()
{
	getent passwd kookooverify | grep -q ':/var/lib/kookooverify:/usr/sbin/nologin$' ||
	    { echo "no system user kookooverify"; return 1; }
	[ "$(stat -c '%U %a' /var/lib/kookooverify)" = "kookooverify 700" ] ||
	    { stat /var/lib/kookooverify; return 1; }
	[ "$(stat -c '%U:%G %a' /etc/kookooverify/kookooverify.conf)" = \
	    "root:kookooverify 640" ] ||
	    { stat /etc/kookooverify/kookooverify.conf; return 1; }
	[ -L /etc/systemd/system/multi-user.target.wants/kookooverify.service ] ||
	    { echo "the unit is not enabled"; return 1; }
}
check "user, state directory, config group, unit enabled" postinst_done

unit=/lib/systemd/system/kookooverify.service
check "systemd-analyze verify accepts the unit" \
	systemd-analyze verify "$unit"

# Hardening kept: systemd's own exposure score (0 best, 10 worst) stays low.
unit_hardened()
{
	systemd-analyze security --offline=yes --threshold=20 "$unit" |
	    tail -n 1
}
check "systemd-analyze security: exposure at most 2.0" unit_hardened

# The installed config and man page are the installed binary's directive
# table, so neither can drift from it.
conf_matches_table()
{
	{ cat dist/kookooverify.conf.head &&
	    /usr/bin/kookooverify config-doc --format=conf \
		--set db=/var/lib/kookooverify/kv.db; } >"$tmp/conf"
	diff -u "$tmp/conf" /etc/kookooverify/kookooverify.conf
}
check "installed config is the directive table" conf_matches_table

man_matches_table()
{
	zcat /usr/share/man/man8/kookooverify.8.gz >"$tmp/page" &&
	    /usr/bin/kookooverify config-doc --format=man >"$tmp/settings" &&
	    python3 - "$tmp/page" "$tmp/settings" <<'PY'
import sys
page, settings = (open(p).read() for p in sys.argv[1:3])
if settings not in page:
    sys.exit("the installed page's SETTINGS are not the directive table")
PY
}
check "installed man page settings are the directive table" man_matches_table

# --- Run it as the unit says: its User, Group, WorkingDirectory, UMask and
# ExecStart, with a drop-in's worth of environment: the simulator as
# KooKoo, a free port.  A machine that already had /var/lib/kookooverify
# keeps it untouched: the database then goes to a temporary directory.
unit_get()
{
	sed -n "s/^$1=//p" "$unit" | tail -n 1
}
user=$(unit_get User)
group=$(unit_get Group)
workdir=$(unit_get WorkingDirectory)
umask_=$(unit_get UMask)
execstart=$(unit_get ExecStart)

db_env=""
if [ "$state_existed" -eq 1 ]; then
	state_tmp=$(mktemp -d /tmp/kv-package-state.XXXXXX)
	chown "$user:$group" "$state_tmp"
	chmod 0700 "$state_tmp"
	db_env=KOOKOOVERIFY_DB=$state_tmp/kv.db
fi

start_sim()
{
	bin/kookoo-sim --listen 127.0.0.1:0 --quiet >"$tmp/sim.out" \
	    2>"$tmp/sim.err" &
	sim_pid=$!
	wait_listening "$tmp/sim.out" "$sim_pid"
}

# Prints the port from a "listening on ADDR:PORT" line within 20 s.
wait_listening()
{
	for _ in $(seq 200); do
		port=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$1")
		[ -n "$port" ] && { echo "$port" >"$1.port"; return 0; }
		kill -0 "$2" 2>/dev/null || { echo "exited"; break; }
		sleep 0.1
	done
	echo "no listening line"
	return 1
}

# as_service COMMAND...: in the unit's working directory, with its umask,
# user and groups, a clean environment and the test's settings.  It execs,
# so call it in a subshell or in the background (whose pid is then the
# command's).
as_service()
{
	# $db_env is empty or one NAME=VALUE word: unquoted on purpose.
	# shellcheck disable=SC2086
	cd "$workdir" && umask "$umask_" &&
	    exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		KOOKOOVERIFY_LISTEN=127.0.0.1:0 \
		KOOKOOVERIFY_KOOKOO_BASE_URL="http://127.0.0.1:$sim_port/outbound" \
		KOOKOOVERIFY_KOOKOO_API_KEY=package-test $db_env \
		setpriv --reuid="$user" --regid="$group" --init-groups "$@"
}

start_server()
{
	# $execstart is the unit's command line, split into words on purpose.
	# shellcheck disable=SC2086
	as_service $execstart >"$tmp/server.out" 2>"$tmp/server.err" &
	server_pid=$!
	wait_listening "$tmp/server.out" "$server_pid" ||
	    { cat "$tmp/server.err"; return 1; }
}

must "simulator starts" start_sim
sim_port=$(cat "$tmp/sim.out.port")
must "installed server starts as $user from $workdir" start_server
port=$(cat "$tmp/server.out.port")

create_key()
{
	(as_service /usr/bin/kookooverify keys create --name package --json \
	    --config /etc/kookooverify/kookooverify.conf) >"$tmp/key.json"
}
must "keys create as the service user" create_key

# Request a PIN, read the SMS from the simulator, check the PIN.
verify_once()
{
	python3 - "$port" "$sim_port" "$tmp/key.json" <<'PY'
import base64, json, re, sys, time, urllib.parse, urllib.request

port, sim_port, key_file = sys.argv[1:4]
key = json.load(open(key_file))
auth = base64.b64encode(
    ("%s:%s" % (key["api_key"], key["api_secret"])).encode()).decode()

def call(path, **form):
    req = urllib.request.Request(
        "http://127.0.0.1:%s%s" % (port, path),
        data=urllib.parse.urlencode(form).encode(),
        headers={"Authorization": "Basic " + auth})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)

number = "919876543210"
reply = call("/verify/json", number=number, brand="PkgTest")
if reply.get("status") != "0":
    sys.exit("request: expected status 0, got %r" % reply)
deadline = time.monotonic() + 20
pin = None
while pin is None and time.monotonic() < deadline:
    with urllib.request.urlopen(
            "http://127.0.0.1:%s/sim/inbox?phone_no=%s" % (sim_port, number),
            timeout=10) as r:
        sms = json.load(r)["sms"]
    for m in sms:
        found = re.search(r"code: (\d+)", m["message"])
        if found:
            pin = found.group(1)
    if pin is None:
        time.sleep(0.2)
if pin is None:
    sys.exit("no SMS with a PIN reached the simulator within 20 s")
reply = call("/verify/check/json", request_id=reply["request_id"], code=pin)
if reply.get("status") != "0":
    sys.exit("check: expected status 0, got %r" % reply)
print("verified with the PIN from the SMS")
PY
}
check "a verification through the simulator" verify_once

# The operator console from the installed files: its page and /metrics
# with the operator token, 401 without it.
console_served()
{
	token=$(as_service /usr/bin/kookooverify operator-token \
	    --config /etc/kookooverify/kookooverify.conf) || return 1
	python3 - "$port" "$token" <<'PY'
import sys, urllib.error, urllib.request

port, token = sys.argv[1:3]

def get(path, bearer=None):
    req = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path))
    if bearer:
        req.add_header("Authorization", "Bearer " + bearer)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""

status, page = get("/operator/")
if status != 200 or "console.js" not in page:
    sys.exit("/operator/: %d, %r" % (status, page[:200]))
status, text = get("/metrics", token)
if status != 200 or "kookooverify_http_requests_total" not in text:
    sys.exit("/metrics with the operator token: %d" % status)
for path in ("/metrics", "/operator/api/summary"):
    status, _ = get(path)
    if status != 401:
        sys.exit("%s without the token: %d, expected 401" % (path, status))
print("console and metrics served, both refused without the token")
PY
}
check "the console's page, and /metrics behind the operator token" \
    console_served

stop_server()
{
	kill -TERM "$server_pid" || return 1
	wait "$server_pid"
	rc=$?
	server_pid=""
	[ "$rc" -eq 0 ] || { echo "exit status $rc"; cat "$tmp/server.err"; return 1; }
	grep -q ' info server.stopped$' "$tmp/server.err"
}
check "SIGTERM stops it cleanly" stop_server

db_in_state_dir()
{
	db=${state_tmp:-/var/lib/kookooverify}/kv.db
	[ "$(stat -c '%U %a' "$db")" = "kookooverify 600" ] &&
	    [ "$(stat -c '%U %a' "$db.secret")" = "kookooverify 600" ]
}
check "database and secret in the state directory, mode 0600" db_in_state_dir

# --- Purge: nothing of the package is left.
purge_package()
{
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get purge -y -q \
	    kookooverify || return 1
	installed=0
	for f in /usr/bin/kookooverify /lib/systemd/system/kookooverify.service \
	    /etc/kookooverify /usr/share/kookooverify \
	    /etc/systemd/system/multi-user.target.wants/kookooverify.service; do
		if [ -e "$f" ] || [ -L "$f" ]; then
			echo "left: $f"
			return 1
		fi
	done
}
check "apt-get purge removes it" purge_package
check "machine left as found (user, state directory)" restore_machine

finish
