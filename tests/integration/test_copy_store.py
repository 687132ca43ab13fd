"""`kookooverify copy-store`: a SQLite deployment moved to PostgreSQL.  A
SQLite server goes through verified, in-progress and cancelled
verifications (with checks and events; one started through Verify v2 with
a client_ref), keys (one publishable, with an origin and an owner), a
block and a v2 template with a fragment; stopped, it is copied into a new
PostgreSQL database, and a server on that database must answer every
request id's search exactly as the SQLite one did, accept the same keys,
list the same keys, blocks and templates, keep every verification's
client_ref, and hand out request ids never seen
before.  A non-empty target and a source of another schema version are
refused.  Runs under either test backend (it starts PostgreSQL itself).
"""

import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unittest

import harness
from harness import (SimTestCase, free_port, new_mobile, pin_of, run_cli,
                     sim_settings)
from kvtest import postgres

# Delivered through the simulator (events), with waits long enough that
# nothing in progress moves on while the test compares.
TIMINGS = dict(cancel_min_age=0, resend_cooldown=0, pin_expiry=300,
               next_event_wait=300)
TABLES = ("api_keys", "key_origins", "verifications", "checks", "events",
          "jobs", "calls", "fraud_reports", "verified_numbers", "blocks",
          "token_uses", "templates", "template_fragments")
ORIGIN = "https://shop.example"
PIN_RE = re.compile(r"\b(\d{4,10})\b")


def sqlite_counts(db):
    con = sqlite3.connect(db, timeout=10)
    try:
        return {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                for t in TABLES}
    finally:
        con.close()


def pg_counts(uri):
    return {t: postgres.scalar(uri, "SELECT count(*) FROM %s" % t)
            for t in TABLES}


class CopyStoreTests(SimTestCase):
    nkeys = 2

    def setUp(self):
        super().setUp()
        if not os.path.isdir(postgres.PGBIN):
            self.skipTest("PostgreSQL 15 is not installed")
        # The source is SQLite whatever backend the suite runs on.
        self.start(backend="sqlite", nkeys=self.nkeys)

    def start(self, **kw):
        """A server wired to the simulator (kw: Server's arguments)."""
        port = free_port()
        srv = harness.Server(sim_settings(self.sim, port, **TIMINGS),
                             port=port, name=self._testMethodName, **kw)
        self.addCleanup(srv.close)
        srv.start()
        self.server = srv
        return srv

    def copy(self, source, target, *extra):
        return run_cli(["copy-store", "--from", source, "--to", target]
                       + list(extra))

    def flows(self):
        """Every kind of row; returns the request ids and the key."""
        s = self.s
        rids = []
        # Verified by the PIN its SMS brought, after a wrong guess.
        number, rid = self.seed_request_ok(number=new_mobile())
        pin = PIN_RE.search(self.wait_sms(number)[0]).group(1)
        self.assert_json_reply(s.seed("/check", {
            "request_id": rid, "code": harness.wrong_pin(pin)}))
        self.assert_seed(s.seed("/check", {"request_id": rid,
                                           "code": pin}), 0)
        rids.append((rid, 0))
        # In progress, through each key.
        for key in (0, 1):
            rids.append((self.seed_request_ok(key=key)[1], key))
        # Through Verify v2, with a client_ref its callbacks would carry.
        r = s.request("POST", "/v2/verify", body=json.dumps(
            {"brand": "TestApp", "client_ref": "copied-ref-1",
             "workflow": [{"channel": "sms", "to": new_mobile()}]}),
            headers={"Content-Type": "application/json"}, auth=s.basic(0))
        self.assertEqual(r.status, 202, r.describe())
        # Cancelled.
        _, rid = self.seed_request_ok()
        self.assert_seed(s.seed("/control", {"request_id": rid,
                                             "cmd": "cancel"}), 0)
        rids.append((rid, 0))
        # A publishable key with its origin, owned by key 0.
        cp = s.cli("keys", "create", "--db", s.db, "--publishable",
                   "--origin", ORIGIN, "--owner", s.keys[0]["api_key"],
                   "--json")
        pk = json.loads(cp.stdout.strip().splitlines()[-1])["api_key"]
        # A name COPY's text format must escape, and one it must not.
        s.cli("keys", "create", "--db", s.db, "--name", "tab\there\\ and"
              " a\nnew line")
        s.cli("keys", "create", "--db", s.db, "--name", "ಕನ್ನಡ ✓")
        # A v2 template of key 1 with a Hindi sms fragment.
        tid = self.v2_post(s, "/templates", {"name": "ಕನ್ನಡ ✓"})[
            "template_id"]
        self.v2_post(s, "/templates/%s/template_fragments" % tid,
                     {"channel": "sms", "locale": "hi-in",
                      "text": "कोड ${code}"})
        return rids, pk

    @staticmethod
    def v2_post(srv, path, body):
        r = srv.request("POST", "/v2/verify" + path, body=json.dumps(body),
                        headers={"Content-Type": "application/json"},
                        auth=srv.basic(1))
        assert r.status == 201, r.describe()
        return r.data

    @staticmethod
    def templates_of(srv):
        """Key 1's templates and each one's fragments, as v2 lists them."""
        def get(path):
            return srv.request("GET", "/v2/verify/templates" + path,
                               auth=srv.basic(1)).data
        out = []
        for t in get("")["_embedded"]["templates"]:
            out.append((t, get("/%s/template_fragments"
                                % t["template_id"])))
        return out

    def searches(self, rids):
        return {rid: self.seed_search(rid, key)[1] for rid, key in rids}

    def test_a_copied_store_answers_as_the_sqlite_one_did(self):
        s = self.s
        rids, pk = self.flows()
        before = self.searches(rids)
        templates = self.templates_of(s)
        s.stop()
        # A block, as the fraud rules write them (the server is stopped).
        con = sqlite3.connect(s.db)
        now = int(time.time() * 1000)
        con.execute("INSERT INTO blocks (prefix, key_id, reason, created_ms,"
                    " until_ms) VALUES ('9198000', 0, 'by hand', ?, ?)",
                    (now, now + 86400000))
        con.commit()
        con.close()
        source = sqlite_counts(s.db)
        for t in ("api_keys", "key_origins", "verifications", "checks",
                  "events", "jobs", "blocks", "verified_numbers",
                  "templates", "template_fragments"):
            self.assertGreater(source[t], 0, "no %s rows to copy" % t)
        listed = [s.cli(*a, "--db", s.db).stdout
                  for a in (("keys", "list"), ("blocks", "list"))]
        max_id = max(r[0] for r in postgres.query(
            s.db, "SELECT max(id) FROM verifications"))
        refs_sql = "SELECT id, client_ref FROM verifications ORDER BY id"
        refs = postgres.query(s.db, refs_sql)
        self.assertIn("copied-ref-1", [ref for _, ref in refs])

        uri = postgres.new_database()
        self.addCleanup(postgres.drop_database, uri)
        cp = self.copy(s.db, uri, "--json")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        copied = json.loads(cp.stdout)
        self.assertEqual({t: copied.get(t) for t in TABLES}, source)
        self.assertEqual(pg_counts(uri), source)
        self.assertEqual(postgres.query(uri, refs_sql), refs)
        self.assertNotIn(pin_of(s.numbers[0]), cp.stdout + cp.stderr)

        # The same answers from a server on PostgreSQL, same secret.
        pg = self.start(backend="postgres", db=uri, keys=s.keys,
                        secret_file=s.db + ".secret")
        self.assertEqual(self.searches(rids), before)
        self.assertEqual(self.templates_of(pg), templates)
        self.assertEqual([pg.cli(*a, "--db", uri).stdout
                          for a in (("keys", "list"), ("blocks", "list"))],
                         listed)
        self.assertIn(pk, listed[0])
        self.assertIn(ORIGIN, listed[0])
        # Both keys work, and new ids come after every copied one.
        for key in (0, 1):
            _, rid = self.seed_request_ok(number=new_mobile(), key=key)
            self.assertNotIn(rid, before)
        # The copied live verification still holds its number, and its
        # PIN (a hash copied as bytea) still checks.
        r = pg.seed("", {"phone_no": s.numbers[0], "brand": "TestApp"}, 0)
        self.assert_seed(r, 10)
        live = rids[1][0]
        self.assert_seed(pg.seed("/check", {"request_id": live,
                                            "code": pin_of(s.numbers[0])}),
                         0)
        self.assertGreater(postgres.scalar(
            uri, "SELECT min(id) FROM verifications WHERE id > ?",
            (max_id,)), max_id)
        self.assertEqual(postgres.scalar(
            uri, "SELECT count(*) FROM verifications WHERE id > ?",
            (max_id,)), 2)

    def test_a_target_with_rows_is_refused_and_kept_as_it_was(self):
        s = self.s
        self.seed_request_ok()
        s.stop()
        uri = postgres.new_database()
        self.addCleanup(postgres.drop_database, uri)
        cp = self.copy(s.db, uri)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        counts = pg_counts(uri)
        cp = self.copy(s.db, uri)
        self.assertEqual(cp.returncode, 1, cp.stdout)
        self.assertIn("not empty", cp.stderr)
        self.assertEqual(pg_counts(uri), counts)

    def test_a_source_of_another_schema_version_is_refused(self):
        d = tempfile.mkdtemp(prefix="kvtest-copy-")
        self.addCleanup(shutil.rmtree, d, True)
        old = os.path.join(d, "old.db")
        cp = run_cli(["migrate", "--to", "11", "--db", old])
        self.assertEqual(cp.returncode, 0, cp.stderr)
        uri = postgres.new_database()
        self.addCleanup(postgres.drop_database, uri)
        cp = self.copy(old, uri)
        self.assertEqual(cp.returncode, 1, cp.stdout)
        self.assertIn("schema version 11", cp.stderr)
        self.assertIn("migrate", cp.stderr)
        # Refused before the target was touched.
        self.assertEqual(postgres.scalar(
            uri, "SELECT count(*) FROM pg_tables"
            " WHERE schemaname = 'public'"), 0)
        # Both ends must be what they should.
        for args in ((uri, self.s.db), (self.s.db, self.s.db)):
            cp = self.copy(*args)
            self.assertEqual(cp.returncode, 1, (args, cp.stderr))
            self.assertIn("copies a SQLite file", cp.stderr)
        cp = run_cli(["copy-store", "--from", self.s.db])
        self.assertEqual(cp.returncode, 2, cp.stderr)


if __name__ == "__main__":
    unittest.main()
