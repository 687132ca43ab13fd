"""Backups and restores: `kookooverify backup DEST` copies the database
while the server answers a load of requests, and `kookooverify restore SRC`
installs the copy for a stopped server.  The restored server, with the
original secret beside it, answers a search for every verification that was
acknowledged before the backup began.
"""

import json
import os
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
import unittest

from harness import KVTestCase, Server, sqlite_only

LOAD_THREADS = 4


class RestoredServer(Server):
    """A server in a fresh directory whose database is a restored backup
    and whose secret is the original server's."""

    def __init__(self, backup, secret, keys, **kw):
        super().__init__(**kw)
        self.backup = backup
        self.secret = secret
        self.restored_keys = list(keys)

    def prepare(self):
        self.db = os.path.join(self.dir, "kv.db")
        shutil.copyfile(self.secret, self.db + ".secret")
        os.chmod(self.db + ".secret", 0o600)
        self.cli("restore", "--db", self.db, self.backup)
        self.keys = list(self.restored_keys)


@sqlite_only("backup and restore use SQLite's online backup API; "
             "PostgreSQL's are pg_dump and pg_restore")
class BackupTests(KVTestCase):
    per_test = True
    nkeys = 4  # 4 keys x 64 numbers: 256 verifications at most
    numbers = 64  # test_numbers holds at most 64
    settings = {"limit_key_rps": 100000}

    def next_pair(self):
        """A (key, number) with no verification yet, or None."""
        with self.pairs_lock:
            return self.pairs.pop() if self.pairs else None

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="kvtest-backup-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.pairs = [(k, n) for n in reversed(self.s.numbers)
                      for k in range(self.nkeys)]
        self.pairs_lock = threading.Lock()

    def load(self, acked, stop, errors):
        """Requests new verifications until stop is set, recording each
        acknowledged (key, number, request id) in order; once every pair
        has one, searches them (reads) until stop."""
        i = 0
        try:
            while not stop.is_set():
                pair = self.next_pair()
                if pair is None:
                    key, number, rid = acked[i % len(acked)]
                    self.s.seed("/search", {"request_id": rid}, key)
                elif i % 2:
                    key, number = pair
                    r = self.s.seed("", {"phone_no": number,
                                         "brand": "TestApp"}, key)
                    if r.status == 200 and r.data.get("status") == 0:
                        acked.append((key, number, r.data["request_id"]))
                else:
                    key, number = pair
                    r = self.s.vonage("", {"number": number,
                                           "brand": "TestApp"}, key)
                    if r.status == 200 and r.data.get("status") == "0":
                        acked.append((key, number, r.data["request_id"]))
                i += 1
                time.sleep(0.005)  # spread the writes over the backup
        except Exception as e:  # reported by the test
            errors.append(e)

    def backup(self, dest, *flags):
        return self.s.cli("backup", "--db", self.s.db, dest, *flags,
                          check=False)

    def bloat(self, pages):
        """Adds a table of about `pages` pages to the stopped server's
        database, so the backup takes many steps while the load writes."""
        self.s.stop()
        db = sqlite3.connect(self.s.db)
        try:
            db.execute("CREATE TABLE filler (b BLOB)")
            db.executemany("INSERT INTO filler VALUES (randomblob(3500))",
                           [()] * pages)
            db.commit()
        finally:
            db.close()
        self.s.restart()

    def test_backup_under_load_then_restore(self):
        self.bloat(3000)
        acked, errors = [], []
        stop = threading.Event()
        threads = [threading.Thread(target=self.load,
                                    args=(acked, stop, errors))
                   for _ in range(LOAD_THREADS)]
        for t in threads:
            t.start()
        try:
            while len(acked) < 60 and not errors and \
                    any(t.is_alive() for t in threads):
                time.sleep(0.05)
            before = list(acked)
            dest = os.path.join(self.tmp, "kv-backup.db")
            cp = self.backup(dest, "--json")
            time.sleep(0.5)  # the load goes on after the backup
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertGreaterEqual(len(before), 60)
        report = json.loads(cp.stdout.strip().splitlines()[-1])
        self.assertEqual(report["dest"], dest)
        self.assertGreater(report["pages"], 3000)  # many steps
        self.assertEqual(report["bytes"], os.path.getsize(dest))
        self.assertGreaterEqual(report["seconds"], 0)
        self.assertEqual(stat.S_IMODE(os.stat(dest).st_mode), 0o600)
        self.assertFalse(os.path.exists(dest + ".tmp"))

        # The copy passes integrity_check (checked on a copy of it, so
        # the file restored below is the command's own output).
        probe = os.path.join(self.tmp, "probe.db")
        shutil.copyfile(dest, probe)
        db = sqlite3.connect(probe)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone(),
                             ("ok",))
        finally:
            db.close()

        keys = self.s.keys
        secret = self.s.db + ".secret"
        restored = RestoredServer(dest, secret, keys, name="restored")
        self.addCleanup(restored.close)
        restored.start()
        self.server = restored
        for key, number, rid in before:
            r, d = self.seed_search(rid, key)
            self.assertEqual(d.get("phone_no"), number, r.describe())
            self.assertEqual(d.get("status"), "IN PROGRESS", r.describe())

    def test_backup_refuses_existing_dest(self):
        self.seed_request_ok()
        dest = os.path.join(self.tmp, "kv-backup.db")
        with open(dest, "w") as f:
            f.write("an earlier file\n")
        cp = self.backup(dest)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("exists", cp.stderr)
        with open(dest) as f:
            self.assertEqual(f.read(), "an earlier file\n")
        self.assertFalse(os.path.exists(dest + ".tmp"))
        cp = self.backup(dest, "--force")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("pages", cp.stdout)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(16), b"SQLite format 3\x00")

    def test_restore_refuses_non_database(self):
        junk = os.path.join(self.tmp, "junk.db")
        with open(junk, "w") as f:
            f.write("this is not a database, only text\n" * 200)
        target = os.path.join(self.tmp, "fresh", "kv.db")
        os.mkdir(os.path.dirname(target))
        cp = self.s.cli("restore", "--db", target, junk, check=False)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("not a database", cp.stderr)
        self.assertEqual(os.listdir(os.path.dirname(target)), [])

    def test_restore_refuses_foreign_or_newer_database(self):
        other = os.path.join(self.tmp, "other.db")
        db = sqlite3.connect(other)
        db.execute("CREATE TABLE t (x)")
        db.execute("PRAGMA user_version = 1")
        db.commit()
        db.close()
        newer = os.path.join(self.tmp, "newer.db")
        cp = self.backup(newer)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        db = sqlite3.connect(newer)
        db.execute("PRAGMA user_version = 9999")
        db.commit()
        db.close()
        target = os.path.join(self.tmp, "fresh", "kv.db")
        os.mkdir(os.path.dirname(target))
        cp = self.s.cli("restore", "--db", target, other, check=False)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("not a KookooVerify database", cp.stderr)
        cp = self.s.cli("restore", "--db", target, newer, check=False)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("newer than this program", cp.stderr)
        self.assertEqual(os.listdir(os.path.dirname(target)), [])
        # Neither command runs without its one file argument.
        for cmd in ("backup", "restore"):
            cp = self.s.cli(cmd, "--db", target, check=False)
            self.assertEqual(cp.returncode, 2, cp.stdout + cp.stderr)

    def test_restore_refuses_running_server_then_keeps_old_file(self):
        number, rid = self.seed_request_ok()
        dest = os.path.join(self.tmp, "kv-backup.db")
        cp = self.backup(dest)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        cp = self.s.cli("restore", "--db", self.s.db, dest, check=False)
        self.assertEqual(cp.returncode, 1, cp.stdout + cp.stderr)
        self.assertIn("stop the server", cp.stderr)
        self.assertFalse(os.path.exists(self.s.db + ".before-restore"))
        later_number, later_rid = self.seed_request_ok()
        self.s.stop()
        cp = self.s.cli("restore", "--db", self.s.db, dest, check=False)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertTrue(os.path.exists(self.s.db + ".before-restore"))
        self.s.restart()
        self.assert_seed_search_status(rid, "IN PROGRESS")
        # The later verification is only in the file kept aside.
        r = self.s.seed("/search", {"request_id": later_rid})
        self.assertNotEqual(r.data.get("request_id"), later_rid,
                            r.describe())


if __name__ == "__main__":
    unittest.main()
