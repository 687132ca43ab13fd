"""The SQLite durability setting (db_synchronous): a bad level is refused
naming the file and line, and the level chosen is the one the writer's
connection commits with (the server reads it back from SQLite and logs it).
"""

import os
import shutil
import tempfile
import unittest

from harness import KVTestCase, log_events, run_cli


class DurabilityTests(KVTestCase):
    per_test = False

    @classmethod
    def setUpClass(cls):
        pass  # each test starts its own server

    def test_a_bad_level_is_refused_with_file_and_line(self):
        d = tempfile.mkdtemp(prefix="kvtest-durability-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "kv.conf")
        with open(path, "w") as f:
            f.write("# durability\ndb_synchronous = off\n")
        cp = run_cli(["check-config", "--config", path], cwd=d)
        self.assertEqual(cp.returncode, 2, cp.stderr)
        for part in ("kv.conf:2:", "db_synchronous", "normal full"):
            self.assertIn(part, cp.stderr)

    def synchronous(self, settings):
        """What the writer said it commits with, under `settings`."""
        return [str(e["synchronous"]) for e in
                log_events(self.writer_log(settings), "store.writer_started")]

    def writer_log(self, settings):
        """A server with `settings` that stored one verification (a write
        through the writer), stopped; returns its stderr."""
        s = self.start_server(dict(settings, log_level="info"))
        if s.backend == "postgres":
            self.skipTest("db_synchronous is SQLite's; PostgreSQL has "
                          "synchronous_commit")
        self.seed_request_ok()
        s.stop()
        return s.stderr_text()

    def test_full_reaches_the_writers_connection(self):
        self.assertEqual(self.synchronous({"db_synchronous": "full"}),
                         ["FULL"])

    def test_normal_is_the_default(self):
        self.assertEqual(self.synchronous({}), ["NORMAL"])


if __name__ == "__main__":
    unittest.main()
