"""Migrations on large and broken stores.  Migration 9 rebuilds
`verifications`: at a million rows (KOOKOOVERIFY_MIGRATE_ROWS changes the
number) it must copy in batches with a progress line each, survive a
`kill -9` at any point (the rerun resumes and ends with exactly the rows it
started from), and a foreign key that does not hold must be named in the
error.  `migrate --to N` stops at version N.  The kill -9 tests use a store
of KILL_ROWS (four batches): killing after the first or second batch, or in
the swap after the last, takes the same paths at any size, and the million
rows are the progress test's.
"""

import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import clean_env, log_events, run_cli, sqlite_only
from kvtest import bigstore

ROWS = int(os.environ.get("KOOKOOVERIFY_MIGRATE_ROWS", "1000000"))
BATCH = 50000  # the runner's batch, for what the progress lines must say
KILL_ROWS = min(ROWS, 4 * BATCH)
# Generous: a million rows migrate in about 10 s on a busy 2-core machine.
MIGRATE_TIMEOUT = 180.0
# Columns of the version-8 table, all kept by migration 9.
V8_COLUMNS = ("id, request_id, key_id, number, number_type, brand,"
              " sender_id, lg, workflow_id, code_length, test_number,"
              " pin_hash, steps, wait1_ms, wait2_ms, wait3_ms, state,"
              " attempts, next_step, resends, created_ms, pin_created_ms,"
              " pin_expiry_ms, expires_ms, last_resend_ms, finalized_ms,"
              " first_event_ms, last_event_ms, pin_box, call_sid")


def version_of(db):
    return bigstore.scalar(db, "PRAGMA user_version")


def fingerprint(db):
    """What must survive the migration: counts, sums over every row, and
    every column of a sample of rows."""
    con = sqlite3.connect(db, timeout=30)
    try:
        agg = con.execute(
            "SELECT count(*), sum(id), sum(created_ms), sum(state),"
            " count(DISTINCT request_id), sum(length(pin_hash)),"
            " sum(length(pin_box)) FROM verifications").fetchone()
        sample = con.execute(
            "SELECT %s FROM verifications WHERE id %% 9973 = 1"
            " OR id IN (1, (SELECT max(id) FROM verifications))"
            " ORDER BY id" % V8_COLUMNS).fetchall()
        children = con.execute(
            "SELECT (SELECT count(*) FROM checks),"
            " (SELECT count(*) FROM events)").fetchone()
        return agg, sample, children
    finally:
        con.close()


def progress_of(line):
    """(rows done, rows total) of a progress line of migration 9, or
    None."""
    for e in log_events(line, "store.migration_progress", migration=9):
        return int(e["rows_done"]), int(e["rows_total"])
    return None


class Migrating:
    """`kookooverify migrate` running, its stderr read line by line."""

    def __init__(self, db):
        harness.require_binary()
        self.lines = queue.Queue()
        self.seen = []
        self.proc = subprocess.Popen(
            harness.DEATHSIG_PREFIX + [harness.BIN, "migrate", "--db", db],
            env=clean_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        with self.proc.stderr:
            for raw in self.proc.stderr:
                self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def wait_progress(self, nth):
        """Waits for the nth progress line from now on; returns its
        (done, total), or fails when the process exits first."""
        deadline = time.monotonic() + MIGRATE_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line)
            progress = progress_of(line)
            if progress:
                nth -= 1
                if nth == 0:
                    return progress
        raise AssertionError("no progress line came; stderr so far:\n%s"
                             % "\n".join(self.seen))

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def finish(self):
        """Waits for the exit; returns (status, every stderr line)."""
        self.proc.wait(timeout=MIGRATE_TIMEOUT)
        while True:
            line = self.lines.get(timeout=10)
            if line is None:
                break
            self.seen.append(line)
        return self.proc.returncode, self.seen


@sqlite_only("it migrates SQLite files of the old schemas; PostgreSQL's "
             "migrations are test_cluster's")
class MigrateTests(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        """Version-8 stores of ROWS and of KILL_ROWS verifications, copied
        by each test that needs one (filling them is the slow part)."""
        harness.require_binary()
        cls.dir = tempfile.mkdtemp(prefix="kvtest-migrate-")
        cls.template = os.path.join(cls.dir, "v8.db")
        # A server secret for the copies (made beside a store of its own:
        # a store with keys and no secret is refused).
        other = os.path.join(cls.dir, "other.db")
        for args in (["migrate", "--to", "8", "--db", cls.template],
                     ["token-key", "--db", other]):
            cp = run_cli(args)
            if cp.returncode != 0:
                shutil.rmtree(cls.dir, True)
                raise AssertionError("%s failed:\n%s" % (args, cp.stderr))
        cls.secret = other + ".secret"
        # Each store's path and fingerprint by its number of rows.
        cls.templates = {}
        for rows in {ROWS, KILL_ROWS}:
            path = os.path.join(cls.dir, "v8-%d.db" % rows)
            shutil.copyfile(cls.template, path)
            # Every hundredth in progress: the live index is rebuilt too.
            bigstore.fill(path, rows, t0_ms=1700000000000, live_every=100)
            cls.templates[rows] = (path, fingerprint(path))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, True)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kvtest-migrate-", dir=self.dir)
        self.db = os.path.join(self.tmp, "kv.db")

    def tearDown(self):
        shutil.rmtree(self.tmp, True)

    def copy_template(self, rows=ROWS):
        """The store of `rows` verifications, as self.db."""
        path, self.before = self.templates[rows]
        self.rows = rows
        shutil.copyfile(path, self.db)
        shutil.copyfile(self.secret, self.db + ".secret")
        self.assertEqual(version_of(self.db), 8)

    def assert_migrated_intact(self):
        self.assertEqual(version_of(self.db), harness_schema_version())
        self.assertEqual(fingerprint(self.db), self.before)
        self.assertEqual(
            bigstore.scalar(self.db, "SELECT count(*) FROM verifications"
                            " WHERE legacy = 1"), self.rows)
        self.assertEqual(
            bigstore.scalar(self.db, "SELECT count(*) FROM sqlite_master"
                            " WHERE name = 'verifications_new'"), 0)
        self.assertEqual(
            bigstore.scalar(self.db, "PRAGMA integrity_check"), "ok")
        # The store opens: an admin command runs on it.
        cp = run_cli(["keys", "list", "--db", self.db])
        self.assertEqual(cp.returncode, 0, cp.stderr)

    def test_a_million_rows_migrate_in_batches_with_progress(self):
        self.copy_template()
        m = Migrating(self.db)
        status, lines = m.finish()
        self.assertEqual(status, 0, "\n".join(lines))
        progress = [p for p in map(progress_of, lines) if p]
        expected = [(min(k * BATCH, ROWS), ROWS)
                    for k in range(1, (ROWS + BATCH - 1) // BATCH + 1)]
        self.assertEqual(progress, expected, "\n".join(lines))
        self.assertTrue(log_events("\n".join(lines), "store.migrated",
                                   migration=9), "\n".join(lines))
        self.assert_migrated_intact()

    def test_kill_9_mid_migration_then_rerun_ends_with_the_same_rows(self):
        if KILL_ROWS < 3 * BATCH:
            self.skipTest("needs at least three batches")
        self.copy_template(KILL_ROWS)
        # Killed after its first batch: still version 8, the copy kept.
        m = Migrating(self.db)
        done, total = m.wait_progress(1)
        self.assertEqual((done, total), (BATCH, KILL_ROWS))
        m.kill9()
        self.assertEqual(version_of(self.db), 8)
        copied = bigstore.scalar(self.db,
                                 "SELECT count(*) FROM verifications_new")
        self.assertGreaterEqual(copied, BATCH)
        # The rerun resumes past it; killed again after its second batch.
        m = Migrating(self.db)
        done, _ = m.wait_progress(1)
        self.assertGreater(done, BATCH, "the rerun started over")
        m.wait_progress(1)
        m.kill9()
        # The last run completes with exactly the original rows.
        status, lines = Migrating(self.db).finish()
        self.assertEqual(status, 0, "\n".join(lines))
        self.assert_migrated_intact()

    def test_kill_9_during_the_swap_leaves_version_8_and_a_rerun_completes(
            self):
        self.copy_template(KILL_ROWS)
        m = Migrating(self.db)
        batches = (KILL_ROWS + BATCH - 1) // BATCH
        m.wait_progress(batches)  # the last batch: the swap follows
        m.kill9()
        # Killed during the swap or after it: either way, never half.
        self.assertIn(version_of(self.db), (8, harness_schema_version()))
        status, lines = Migrating(self.db).finish()
        self.assertEqual(status, 0, "\n".join(lines))
        self.assert_migrated_intact()


class ForeignKeyTests(unittest.TestCase):
    def setUp(self):
        harness.require_binary()
        self.dir = tempfile.mkdtemp(prefix="kvtest-migrate-fk-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = os.path.join(self.dir, "kv.db")

    def test_a_broken_foreign_key_is_named_and_nothing_is_applied(self):
        cp = run_cli(["migrate", "--to", "8", "--db", self.db])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        bigstore.fill(self.db, 100, t0_ms=1700000000000)
        # A check of a verification that is not there (keys are off in
        # Python's sqlite3 unless asked for).
        con = sqlite3.connect(self.db)
        cur = con.execute("INSERT INTO checks (verification_id, created_ms,"
                          " code, valid) VALUES (4242, 1, '0000', 0)")
        bad = cur.lastrowid
        con.commit()
        con.close()
        cp = run_cli(["migrate", "--db", self.db])
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertIn("migration 9: foreign_key_check: checks row %d refers"
                      " to a missing verifications row" % bad, cp.stderr)
        self.assertNotIn("not an error", cp.stderr)
        self.assertEqual(version_of(self.db), 8)
        self.assertEqual(bigstore.scalar(
            self.db, "SELECT count(*) FROM verifications"), 100)
        # Once the operator removes the row, the migration completes.
        con = sqlite3.connect(self.db)
        con.execute("DELETE FROM checks WHERE id = ?", (bad,))
        con.commit()
        con.close()
        cp = run_cli(["migrate", "--db", self.db])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(version_of(self.db), harness_schema_version())
        self.assertEqual(bigstore.scalar(
            self.db, "SELECT count(*) FROM verifications"), 100)

    def test_migrate_to_stops_there_and_refuses_to_go_back(self):
        cp = run_cli(["migrate", "--to", "5", "--db", self.db])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(version_of(self.db), 5)
        self.assertEqual([str(e["migration"]) for e in
                          log_events(cp.stderr, "store.migrated")][-1:],
                         ["5"], cp.stderr)
        self.assertFalse(log_events(cp.stderr, "store.migrated",
                                    migration=6), cp.stderr)
        cp = run_cli(["migrate", "--to", "3", "--db", self.db])
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertIn("schema version 5 is newer", cp.stderr)
        for bad in ("0", "x", str(harness_schema_version() + 1)):
            cp = run_cli(["migrate", "--to", bad, "--db", self.db])
            self.assertEqual(cp.returncode, 2, (bad, cp.stderr))
        self.assertEqual(version_of(self.db), 5)
        cp = run_cli(["migrate", "--db", self.db])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertEqual(version_of(self.db), harness_schema_version())


_latest = []


def harness_schema_version():
    """The code's schema version: what `migrate` leaves in a new file."""
    if not _latest:
        d = tempfile.mkdtemp(prefix="kvtest-migrate-v-")
        try:
            db = os.path.join(d, "kv.db")
            run_cli(["migrate", "--db", db])
            _latest.append(version_of(db))
        finally:
            shutil.rmtree(d, True)
    return _latest[0]
