#!/bin/sh
# Smoke check of the PostgreSQL backend against a throwaway server of its
# own (`make pg-smoke`): three `migrate` at once apply migration 12 once,
# keys create/list/revoke, backup points to pg_dump, and a server on the
# database takes a request and its checks over HTTP.  The integration suite
# covers the rest (KOOKOOVERIFY_TEST_BACKEND=postgres); this needs no Python
# harness and stops at the first failure with what it expected.
#
# Environment: KOOKOOVERIFY_BIN (default bin/kookooverify), KOOKOOVERIFY_PGBIN
# (default Debian's PostgreSQL 15).  initdb refuses root: as root the
# server runs as the `postgres` system user.

set -eu

BIN=${KOOKOOVERIFY_BIN:-bin/kookooverify}
PGBIN=${KOOKOOVERIFY_PGBIN:-/usr/lib/postgresql/15/bin}
NUMBER=919900000001
PIN=4321

dir=$(mktemp -d "${TMPDIR:-/tmp}/kv-pg-smoke.XXXXXX")
serve_pid=""
as_pg=""

cleanup()
{
	[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
	if [ -f "$dir/pg/data/postmaster.pid" ]; then
		$as_pg "$PGBIN/pg_ctl" -D "$dir/pg/data" -m immediate stop \
		    >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail()
{
	echo "pg-smoke: FAILED: $*" >&2
	for f in "$dir"/*.log "$dir/pg/log"; do
		[ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" >&2
	done
	exit 1
}

# The server's directory must be the postgres user's when we are root; the
# socket lives there too, so no TCP port is opened.
mkdir "$dir/pg"
if [ "$(id -u)" -eq 0 ]; then
	chmod 711 "$dir"
	chown postgres "$dir/pg"
	as_pg="runuser -u postgres --"
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$as_pg "$PGBIN/initdb" -D "$dir/pg/data" -A trust -U kv --no-sync \
    >"$dir/initdb.log" 2>&1 || fail "initdb"
$as_pg "$PGBIN/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w start \
    -o "-p $port -k $dir/pg -c listen_addresses=''" >/dev/null ||
    fail "pg_ctl start"
db="postgresql://kv@/postgres?host=$dir/pg&port=$port"
export KOOKOOVERIFY_SECRET_FILE="$dir/secret"

# Nodes starting together migrate once.
for i in 1 2 3; do
	"$BIN" migrate --db "$db" >"$dir/migrate$i.log" 2>&1 &
done
wait
n=$(cat "$dir"/migrate*.log | grep -c "store.migrated migration=12" || true)
[ "$n" -eq 1 ] || fail "migration 12 logged $n times, expected once"
"$BIN" migrate --db "$db" >"$dir/migrate4.log" 2>&1 ||
    fail "a migrate of a current schema failed"

# Keys.
key=$("$BIN" keys create --name smoke --json --db "$db") ||
    fail "keys create"
api_key=$(printf '%s' "$key" | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
api_secret=$(printf '%s' "$key" | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_secret"])')
"$BIN" keys list --db "$db" | grep -q "^$api_key.*active.*smoke" ||
    fail "keys list does not show the new key as active"
other=$("$BIN" keys create --name other --db "$db" | sed -n 's/^api_key: //p')
"$BIN" keys revoke "$other" --db "$db" || fail "keys revoke"
"$BIN" keys list --db "$db" | grep -q "^$other.*revoked" ||
    fail "keys list does not show the revoked key as revoked"

# Backups are PostgreSQL's own tools' job.
if "$BIN" backup "$dir/copy" --db "$db" 2>"$dir/backup.log"; then
	fail "backup on PostgreSQL succeeded"
fi
grep -q "pg_dump --format=custom" "$dir/backup.log" ||
    fail "backup does not name pg_dump --format=custom"

# A server: a request and two checks.
KOOKOOVERIFY_TEST_NUMBERS="$NUMBER:$PIN" "$BIN" serve --db "$db" \
    --listen 127.0.0.1:0 >"$dir/serve.log" 2>&1 &
serve_pid=$!
base=""
for _ in $(seq 1 100); do
	base=$(sed -n 's/^listening on \(.*\)$/http:\/\/\1/p' "$dir/serve.log")
	[ -n "$base" ] && break
	kill -0 "$serve_pid" 2>/dev/null || fail "serve exited"
	sleep 0.1
done
[ -n "$base" ] || fail "serve did not say where it listens within 10 s"

call()
{
	curl -sS --max-time 10 -u "$api_key:$api_secret" "$@"
}
status()
{
	python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])'
}

r=$(call -d number=$NUMBER -d brand=Smoke "$base/verify/json")
[ "$(printf '%s' "$r" | status)" = 0 ] || fail "request: $r"
rid=$(printf '%s' "$r" | python3 -c 'import json, sys; print(json.load(sys.stdin)["request_id"])')
r=$(call -d number=$NUMBER -d brand=Smoke "$base/verify/json")
[ "$(printf '%s' "$r" | status)" = 10 ] ||
    fail "a second request for a live number: expected status 10: $r"
r=$(call -d request_id="$rid" -d code=0000 "$base/verify/check/json")
[ "$(printf '%s' "$r" | status)" = 16 ] || fail "wrong code: $r"
r=$(call -d request_id="$rid" -d code=$PIN "$base/verify/check/json")
[ "$(printf '%s' "$r" | status)" = 0 ] || fail "right code: $r"
r=$(call "$base/verify/search/json?request_id=$rid")
printf '%s' "$r" | grep -q '"status":"SUCCESS"' || fail "search: $r"

kill "$serve_pid"
wait "$serve_pid" || fail "serve did not stop cleanly"
serve_pid=""
echo "pg-smoke: ok"
