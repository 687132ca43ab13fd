"""A real PostgreSQL for the tests, and which store backend a Server uses.

KOOKOOVERIFY_TEST_BACKEND=sqlite|postgres (default sqlite) chooses the
backend of every Server; test_cluster.py asks for PostgreSQL whatever it
says.  shared() starts one PostgreSQL lazily for the whole process and
new_database() gives each Server a fresh database on it.

Postgres is a Child: initdb into its temp dir, then the postgres server
on a unix socket in that dir only (listen_addresses is empty, so no TCP
port can clash), durability left as in production (fsync on).  initdb and
postgres refuse to run as root, as CI does: then the dir is given to the
`postgres` system user (Debian's postgresql-15 package creates it) and
both run as that user through setpriv, which also arranges SIGKILL when
the test runner dies.  Servers on PostgreSQL are stopped with SIGINT
(fast shutdown: sessions rolled back); crash() is the immediate kind.

query() runs SQL on any Server's database, SQLite file or PostgreSQL URI,
with `?` placeholders and rows as tuples, so a test that reads or changes
the store directly can stay backend-neutral when its SQL is portable.
"""

import atexit
import itertools
import json
import os
import pwd
import queue
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import unittest
import urllib.parse

from . import pgwire
from .process import DEATHSIG_PREFIX, Child, run_cli

PGBIN = os.environ.get("KOOKOOVERIFY_PGBIN") or "/usr/lib/postgresql/15/bin"
BACKEND = (os.environ.get("KOOKOOVERIFY_TEST_BACKEND") or "sqlite").lower()
if BACKEND not in ("sqlite", "postgres"):
    raise SystemExit("KOOKOOVERIFY_TEST_BACKEND must be sqlite or postgres, "
                     "not %r" % BACKEND)

PG_READY_TIMEOUT = 60.0  # a start after an immediate stop replays the WAL
PG_PORT = 5432  # unix socket only: the number just names the socket file
PG_USER = "postgres"
PG_URI_PREFIXES = ("postgresql://", "postgres://")


def is_postgres(db):
    return isinstance(db, str) and db.startswith(PG_URI_PREFIXES)


def postgres_only(reason=None):
    return unittest.skipUnless(BACKEND == "postgres",
                               reason or "PostgreSQL backend only")


def sqlite_only(reason):
    """Skips a test or class under the PostgreSQL backend; reason says
    what SQLite-only thing it needs."""
    return unittest.skipIf(BACKEND == "postgres",
                           "SQLite only: %s" % reason)


def _root():
    return os.geteuid() == 0


def _pg_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PG") and not k.startswith("KOOKOOVERIFY_")}
    env["LC_ALL"] = "C"
    return env


def _as_pg_user(argv, deathsig=False):
    """argv run as the postgres user when we are root."""
    if not _root():
        return (DEATHSIG_PREFIX if deathsig else []) + argv
    setpriv = shutil.which("setpriv")
    if setpriv:
        # --pdeathsig after the user change, which would clear it.
        return ([setpriv, "--reuid=" + PG_USER, "--regid=" + PG_USER,
                 "--init-groups"]
                + (["--pdeathsig", "KILL"] if deathsig else []) + argv)
    return ["runuser", "-u", PG_USER, "--"] + argv


class Postgres(Child):
    """One PostgreSQL cluster in a temp dir; restart() and crash() keep
    the dir and the socket, so clients reconnect to the same URI."""

    label = "postgres"

    def __init__(self, name="pg"):
        super().__init__(name)
        self._dbseq = itertools.count(1)
        self._template = None
        self._template_lock = threading.Lock()
        self._drops = queue.Queue()
        self._dropper = None
        self._pool = None

    def require(self):
        for prog in ("initdb", "postgres", "pg_isready"):
            path = os.path.join(PGBIN, prog)
            if not os.access(path, os.X_OK):
                raise RuntimeError("%s not found (install postgresql-15 or "
                                   "set KOOKOOVERIFY_PGBIN)" % path)

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def prepare(self):
        self.port = PG_PORT
        self._pool = pgwire.Pool(self.dir, PG_PORT, PG_USER)
        _live[self.dir] = self
        if _root():
            pw = pwd.getpwnam(PG_USER)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o700)
        log = os.path.join(self.dir, "initdb.log")
        with open(log, "wb") as out:
            # -N: no sync of the fresh files; the server itself syncs.
            rc = subprocess.call(
                _as_pg_user([os.path.join(PGBIN, "initdb"), "-D", self.data,
                             "-U", PG_USER, "-A", "trust", "-N",
                             "--no-locale", "-E", "UTF8"]),
                env=_pg_env(), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=self.dir, timeout=120)
        if rc != 0:
            with open(log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            raise AssertionError("initdb exited %d:\n%s" % (rc, text))

    def command(self):
        return [os.path.join(PGBIN, "postgres"), "-D", self.data,
                "-p", str(PG_PORT), "-k", self.dir,
                "-c", "listen_addresses=",
                "-c", "fsync=on",
                "-c", "shared_buffers=32MB",
                "-c", "max_connections=300",
                "-c", "log_min_messages=warning",
                "-c", "log_line_prefix=%m [%p] "]

    def argv(self):
        return _as_pg_user(self.command(), deathsig=True)

    def env(self):
        return _pg_env()

    def wait_ready(self, lines):
        deadline = time.monotonic() + PG_READY_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self._forget()
                raise AssertionError("postgres exited with %s before "
                                     "accepting connections.\nstderr:\n%s"
                                     % (rc, self.stderr_text()))
            if self.ready():
                return PG_PORT
            if time.monotonic() >= deadline:
                self._kill()
                raise AssertionError(
                    "postgres did not accept connections within %.0f s.\n"
                    "stderr:\n%s" % (PG_READY_TIMEOUT, self.stderr_text()))
            time.sleep(0.05)

    def ready(self):
        """pg_isready: whether the server accepts connections now."""
        return subprocess.call(
            [os.path.join(PGBIN, "pg_isready"), "-q", "-h", self.dir,
             "-p", str(PG_PORT), "-t", "2"],
            env=_pg_env(), stdin=subprocess.DEVNULL) == 0

    # -- stops ---------------------------------------------------------------

    def stop(self, sig=signal.SIGINT):
        """SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for
        every client to leave)."""
        super().stop(sig)

    def crash(self):
        """Immediate shutdown (SIGQUIT): no checkpoint, the next start
        replays the WAL, as after a power loss."""
        if self.proc is None:
            return
        proc = self.proc
        try:
            proc.send_signal(signal.SIGQUIT)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._kill()
        self._forget()
        self.proc = None

    def start_again(self):
        """After stop() or crash(): the same cluster, dir and socket, so
        every URI stays valid; waits until it accepts connections."""
        self._spawn()
        return self

    def restart(self, immediate=False):
        """Stops (fast, or immediate) and starts again."""
        if immediate:
            self.crash()
        elif self.proc is not None:
            self.stop()
        return self.start_again()

    def close(self):
        _live.pop(self.dir, None)
        if self._pool is not None:
            self._pool.forget()
        super().close()

    # -- databases and SQL -----------------------------------------------------

    def uri(self, dbname):
        return ("postgresql:///%s?host=%s&port=%d&user=%s"
                % (dbname, urllib.parse.quote(self.dir, safe="/"), PG_PORT,
                   PG_USER))

    def create_database(self, migrated=False):
        """A fresh database; returns its URI.  migrated: a copy of one
        that `kookooverify migrate` brought to the current schema once for
        this cluster (a copy costs less than running every migration)."""
        name = "kv_%d" % next(self._dbseq)
        template = ""
        if migrated:
            with self._template_lock:
                if not self._template:
                    self._template = self._migrated_template()
            template = " TEMPLATE %s" % self._template
        self.sql("postgres", "CREATE DATABASE %s%s" % (name, template))
        return self.uri(name)

    def _migrated_template(self):
        name = "kv_template"
        self.sql("postgres", "CREATE DATABASE %s" % name)
        cp = run_cli(["migrate", "--db", self.uri(name)])
        if cp.returncode != 0:
            raise AssertionError("kookooverify migrate of the template "
                                 "database exited %d:\n%s"
                                 % (cp.returncode, cp.stderr))
        return name

    def drop_database(self, dbname, wait=True):
        """Drops a database (wait=False: in the background, in order, so
        the next test need not wait for it)."""
        if wait:
            self._pool.forget(dbname)
            self.sql("postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)"
                     % dbname, check=False)
            return
        with self._template_lock:
            if self._dropper is None:
                self._dropper = threading.Thread(target=self._drop_loop,
                                                 daemon=True)
                self._dropper.start()
        self._drops.put(dbname)

    def _drop_loop(self):
        while True:
            dbname = self._drops.get()
            if self.alive():
                self.drop_database(dbname)

    def sql(self, dbname, sql, params=(), check=True):
        """Runs sql on dbname, on a session kept for the next query
        (kvtest/pgwire.py); `?` placeholders take params (as literals).
        Returns the rows of a SELECT, WITH or RETURNING as tuples (JSON
        types: numbers, strings, None), else []."""
        parts = sql.split("?")
        if len(parts) - 1 != len(params):
            raise ValueError("%d placeholders, %d params: %s"
                             % (len(parts) - 1, len(params), sql))
        text = parts[0]
        for value, rest in zip(params, parts[1:]):
            text += _literal(value) + rest
        wrapped = _rows_as_json(text)
        try:
            rows = self._pool.query(dbname, wrapped or text)
        except (pgwire.PgError, pgwire.Stale, OSError) as e:
            if not check:
                return []
            raise AssertionError("SQL on %s failed: %s\n%s"
                                 % (dbname, text, e))
        if not wrapped:
            return []
        return [tuple(v for _, v in row) for row in
                json.loads(rows[0][0] if rows else "[]",
                           object_pairs_hook=lambda pairs: pairs)]


def _literal(value):
    """value as a quoted SQL literal of unknown type, which PostgreSQL
    reads as the type its place needs (bytes in bytea's hex form)."""
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, bytes):
        text = "\\x" + value.hex()
    else:
        text = str(value)
    return "'" + text.replace("'", "''") + "'"


_SELECT_RE = re.compile(r"^\s*(select|with|values)\b", re.I)
_RETURNING_RE = re.compile(r"\breturning\b", re.I)


def _rows_as_json(sql):
    """sql wrapped so that its rows come back as one JSON array (types
    and column order kept), or None for a statement without rows."""
    sql = sql.strip().rstrip(";")
    if _SELECT_RE.match(sql):
        return ("SELECT coalesce(json_agg(kvtest_row), '[]') "
                "FROM (%s) AS kvtest_row" % sql)
    if _RETURNING_RE.search(sql):
        return ("WITH kvtest_row AS (%s) SELECT coalesce(json_agg("
                "kvtest_row), '[]') FROM kvtest_row" % sql)
    return None


_live = {}  # dir -> Postgres, for query()
_shared = None
_shared_lock = threading.Lock()


def shared():
    """The PostgreSQL of this process, started at the first call."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.alive():
            if _shared is not None:
                _shared.close()
            pg = Postgres()
            try:
                pg.start()
            except BaseException:
                pg.close()
                raise
            _shared = pg
        return _shared


def _close_shared():
    # Registered after process.py's kill of every child, so it runs first:
    # a clean stop of the cluster, then its dir removed.
    global _shared
    pg, _shared = _shared, None
    if pg is not None:
        try:
            pg.close()
        except BaseException:
            pg.crash()


atexit.register(_close_shared)


def new_database(migrated=False):
    return shared().create_database(migrated)


def _parse_uri(db):
    u = urllib.parse.urlsplit(db)
    q = urllib.parse.parse_qs(u.query)
    return u.path.lstrip("/"), q.get("host", [""])[0]


def drop_database(db, wait=True):
    """Drops a database that new_database() made (if still there)."""
    if _shared is not None and is_postgres(db):
        dbname, host = _parse_uri(db)
        if host == _shared.dir:
            _shared.drop_database(dbname, wait)


def query(db, sql, params=()):
    """Runs sql (`?` placeholders) on db, a SQLite path or a PostgreSQL URI
    of a cluster this process started; returns the rows as tuples, and
    commits."""
    if not is_postgres(db):
        con = sqlite3.connect(db, timeout=10)
        try:
            rows = con.execute(sql, tuple(params)).fetchall()
            con.commit()
            return rows
        finally:
            con.close()
    dbname, host = _parse_uri(db)
    pg = _live.get(urllib.parse.unquote(host))
    if pg is None:
        raise AssertionError("%s is not on a PostgreSQL of the tests" % db)
    return pg.sql(dbname, sql, params)


def tables(db):
    """The names of the store's tables."""
    if is_postgres(db):
        sql = ("SELECT table_name FROM information_schema.tables "
               "WHERE table_schema = 'public'")
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return [r[0] for r in query(db, sql)]


def as_bytes(value):
    """A BLOB / bytea column's value as bytes (PostgreSQL's comes as the
    text '\\x' + hex)."""
    if isinstance(value, str) and value.startswith("\\x"):
        return bytes.fromhex(value[2:])
    return bytes(value)


def scalar(db, sql, params=()):
    """The first column of the first row (None without rows)."""
    rows = query(db, sql, params)
    return rows[0][0] if rows else None
