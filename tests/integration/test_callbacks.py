"""Status callbacks: every step of a verification reaches the key's URL,
signed, in order, at least once, and a slow or dead receiver costs the API
nothing.

One simulator serves the class; each test starts its own server wired to
it and a receiver (kvtest/receiver.py) that checks each JWT and
payload_hash itself.  Tests run with callback_allow_private on (the
receiver is on loopback) but the one that checks it is refused when off.
A Verify v2 start's client_ref comes back in every callback of its
verification, also on a store upgraded from before it was kept.
"""

import functools
import json
import re
import threading
import time
import unittest

from harness import (BACKEND, SimTestCase, db_query, log_events, new_mobile,
                     poll_until, postgres_only, wrong_pin)
from kvtest import openapi
from kvtest.receiver import Receiver

PIN_RE = re.compile(r"\b(\d{4,10})\b")
# Where docs/openapi.yaml describes a callback's body.
CALLBACK_SCHEMA = ("/webhooks/statusCallback/post/requestBody/content/"
                   "application~1json/schema")
CALLBACK_SETTINGS = {
    "callback_allow_private": "on",
    "callback_retry_base_ms": 100,
    "callback_retry_max_ms": 300,
    "callback_timeout_ms": 1000,
    "cancel_min_age": 0,
    "pin_expiry": 60,
    "next_event_wait": 30,
}

# A number that is really sent to (not one of the fixed-PIN ones).
new_number = functools.partial(new_mobile, "9198125")


def shape(arrivals):
    """(type, channel, status) of each callback; the summary's is
    ("summary", None, status)."""
    return [(a.body["type"], a.body.get("channel"), a.body["status"])
            for a in arrivals]


class CallbackTests(SimTestCase):
    sim_name = "callback-sim"
    nkeys = 2

    def start(self, receiver_ok=True, **settings):
        """A server wired to the simulator and a receiver registered as
        key 0's callback URL (closed at cleanup)."""
        s = dict(CALLBACK_SETTINGS)
        s.update(settings)
        self.wire(**s)
        self.rx = Receiver()
        self.addCleanup(self.rx.close)
        self.rx.secret = self.set_callback(self.rx.url)
        return self.rx

    def set_callback(self, url, key=0):
        cp = self.s.cli("keys", "callback", self.s.keys[key]["api_key"], url,
                        "--db", self.s.db, "--json")
        d = json.loads(cp.stdout.strip().splitlines()[-1])
        self.assertEqual(d["callback_url"], url, cp.stdout)
        self.assertRegex(d["signature_secret"], r"^[A-Za-z0-9_-]{43}$")
        return d["signature_secret"]

    def request(self, number, workflow_id, **params):
        p = {"workflow_id": str(workflow_id)}
        p.update(params)
        return self.vonage_request_ok(number=number, brand="AcmeCo", **p)[1]

    def sms_pin(self, number):
        return PIN_RE.search(self.wait_sms(number)[0]).group(1)

    def check(self, rid, code, status):
        self.assert_vonage(self.s.vonage("/check", {"request_id": rid,
                                                    "code": code}), status)

    def assert_signed(self, arrivals):
        for a in arrivals:
            self.assertIsNone(a.error, a)
            self.assertRegex(a.claims["jti"], r"^[0-9a-f]{32}$")
            self.assertEqual(a.claims["api_key"], self.s.keys[0]["api_key"])
            self.assertIsInstance(a.claims["iat"], int)
        self.assert_documented(arrivals)

    def assert_documented(self, arrivals):
        """Each body is one docs/openapi.yaml describes."""
        v = openapi.spec().validator(CALLBACK_SCHEMA)
        for a in arrivals:
            self.assertEqual([e.message for e in v.iter_errors(a.body)], [],
                             a)

    def assert_summary(self, a, status, workflow):
        self.assertEqual(a.body["type"], "summary", a)
        self.assertEqual(a.body["status"], status, a)
        self.assertEqual([(w["channel"], w["status"])
                          for w in a.body["workflow"]], workflow, a)
        for k in ("submitted_at", "finalized_at"):
            self.assertRegex(a.body[k],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    # -- every step, in order ---------------------------------------------

    def test_sms_wrong_code_then_right(self):
        rx = self.start()
        number = new_number()
        rid = self.request(number, 6)
        pin = self.sms_pin(number)
        rx.wait_accepted(rid, 1)
        self.check(rid, wrong_pin(pin), "16")
        self.check(rid, pin, "0")
        got = rx.wait_accepted(rid, 4)
        self.assert_signed(got)
        self.assertEqual(shape(got), [
            ("event", "sms", "sent"), ("event", "sms", "code_wrong"),
            ("event", "sms", "completed"), ("summary", None, "completed")])
        self.assertNotIn("finalized_at", got[0].body)
        self.assertIn("finalized_at", got[2].body)
        self.assert_summary(got[3], "completed", [("sms", "completed")])
        self.assertEqual(len({a.claims["jti"] for a in got}), 4)
        self.assert_client_ref(got, None)  # v1 has no client_ref

    def test_three_wrong_codes_fail(self):
        rx = self.start()
        number = new_number()
        rid = self.request(number, 6)
        bad = wrong_pin(self.sms_pin(number))
        rx.wait_accepted(rid, 1)  # "sent" queued before the checks
        for status in ("16", "16", "17"):
            self.check(rid, bad, status)
        got = rx.wait_accepted(rid, 6)
        self.assertEqual(shape(got), [("event", "sms", "sent")] +
                         [("event", "sms", "code_wrong")] * 3 +
                         [("event", "sms", "failed"),
                          ("summary", None, "failed")])

    def test_cancel(self):
        rx = self.start()
        number = new_number()
        rid = self.request(number, 6)
        rx.wait_accepted(rid, 1)
        r = self.s.vonage("/control", {"request_id": rid, "cmd": "cancel"})
        self.assert_vonage(r, "0")
        got = rx.wait_accepted(rid, 3)
        self.assertEqual(shape(got)[1:], [("event", "sms", "cancelled"),
                                          ("summary", None, "cancelled")])

    def test_refused_sms_and_expiry(self):
        rx = self.start()
        number = new_number()
        self.sim.script(number[-10:], sms="dnd")
        rid = self.request(number, 6, pin_expiry="2")
        got = rx.wait_accepted(rid, 3)
        self.assertEqual(shape(got), [("event", "sms", "rejected"),
                                      ("event", "sms", "expired"),
                                      ("summary", None, "expired")])
        self.assert_summary(got[2], "expired", [("sms", "expired")])

    def test_call_answered_key_2_verifies(self):
        rx = self.start()
        number = new_number()
        self.sim.script(number[-10:], keys=["2"])
        rid = self.request(number, 7)
        got = rx.wait_accepted(rid, 5)
        # The call's status POST comes after the end: nothing follows the
        # summary.
        self.assertEqual(shape(got), [
            ("event", "voice", "sent"), ("event", "voice", "answered"),
            ("event", "voice", "key_pressed"),
            ("event", "voice", "completed"), ("summary", None, "completed")])
        self.assert_summary(got[4], "completed", [("voice", "completed")])

    def test_call_key_9_reports_fraud(self):
        rx = self.start()
        number = new_number()
        self.sim.script(number[-10:], keys=["9"])
        rid = self.request(number, 7)
        got = rx.wait_accepted(rid, 6)
        self.assertEqual(shape(got)[:6], [
            ("event", "voice", "sent"), ("event", "voice", "answered"),
            ("event", "voice", "key_pressed"),
            ("event", "voice", "user_rejected"),
            ("event", "voice", "cancelled"), ("summary", None, "cancelled")])

    # -- client_ref (Verify v2) --------------------------------------------

    def v2(self, method, path, body=None, headers=None):
        """A Verify v2 call with key 0's credentials (HTTP Basic)."""
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        return self.s.request(method, "/v2/verify" + path,
                              body=None if body is None else json.dumps(body),
                              headers=hdrs, auth=self.s.basic(0))

    def v2_start(self, number, headers=None, **extra):
        """A v2 SMS verification of number: its id, a UUID, which its
        callbacks carry as their request_id too."""
        body = {"brand": "AcmeCo",
                "workflow": [{"channel": "sms", "to": number}]}
        body.update(extra)
        r = self.v2("POST", "", body, headers)
        self.assertEqual(r.status, 202, r.describe())
        return r.data["request_id"]

    def assert_client_ref(self, arrivals, ref):
        """Each callback carries client_ref `ref`, or none when ref is
        None."""
        self.assert_documented(arrivals)
        for a in arrivals:
            if ref is None:
                self.assertNotIn("client_ref", a.body, a)
            else:
                self.assertEqual(a.body.get("client_ref"), ref, a)

    def test_v2_client_ref_comes_back_in_every_callback(self):
        rx = self.start()
        number = new_number()
        key = {"Idempotency-Key": "order-7731"}
        uuid = self.v2_start(number, key, client_ref="order-7731")
        # A replay answers the same id and makes nothing new.
        self.assertEqual(self.v2_start(number, key,
                                       client_ref="order-7731"), uuid)
        pin = self.sms_pin(number)
        # The SMS can reach the simulator before the server has KooKoo's
        # answer and queued "sent": a check now could be queued first.
        rx.wait_accepted(uuid, 1)
        r = self.v2("POST", "/" + uuid, {"code": wrong_pin(pin)})
        self.assertEqual(r.status, 400, r.describe())
        r = self.v2("POST", "/" + uuid, {"code": pin})
        self.assertEqual(r.status, 200, r.describe())
        got = rx.wait_accepted(uuid, 4)
        self.assert_signed(got)
        self.assertEqual(shape(got), [
            ("event", "sms", "sent"), ("event", "sms", "code_wrong"),
            ("event", "sms", "completed"), ("summary", None, "completed")])
        self.assert_client_ref(got, "order-7731")
        self.assertEqual(db_query(self.s.db, "SELECT client_ref FROM "
                                  "verifications WHERE number = ?",
                                  (number,)), [("order-7731",)])

    def v2_cancelled(self, rx, ref):
        """A v2 verification (client_ref `ref`, or none) cancelled after
        its SMS went: its three callbacks carry ref, or none."""
        extra = {} if ref is None else {"client_ref": ref}
        uuid = self.v2_start(new_number(), **extra)
        rx.wait_accepted(uuid, 1)
        r = self.v2("DELETE", "/" + uuid)
        self.assertEqual(r.status, 204, r.describe())
        got = rx.wait_accepted(uuid, 3)
        self.assertEqual(shape(got), [("event", "sms", "sent"),
                                      ("event", "sms", "cancelled"),
                                      ("summary", None, "cancelled")])
        self.assert_client_ref(got, ref)

    def test_v2_without_client_ref_carries_none(self):
        self.v2_cancelled(self.start(), None)

    def downgrade_to_20(self):
        """The stopped server's store as migration 20 left it: no
        client_ref or v2 column (21), no templates and no template_id
        column (22)."""
        db = self.s.db
        db_query(db, "ALTER TABLE verifications DROP COLUMN client_ref")
        db_query(db, "ALTER TABLE verifications DROP COLUMN v2")
        db_query(db, "ALTER TABLE verifications DROP COLUMN template_id")
        db_query(db, "DROP TABLE template_fragments")
        db_query(db, "DROP TABLE templates")
        db_query(db, "UPDATE schema_version SET version = 20"
                 if BACKEND == "postgres" else "PRAGMA user_version = 20")

    def test_a_store_from_before_client_ref_is_upgraded(self):
        rx = self.start()
        number = new_number()
        old = self.request(number, 6)
        pin = self.sms_pin(number)
        rx.wait_accepted(old, 1)
        self.s.stop()
        self.downgrade_to_20()
        cp = self.s.cli("migrate", "--db", self.s.db)
        self.assertEqual([str(e["migration"]) for e in
                          log_events(cp.stderr, "store.migrated")],
                         ["21", "22", "23"],
                         cp.stderr)
        self.s.restart()
        # The verification from before goes on, with no client_ref.
        self.check(old, pin, "0")
        got = rx.wait_accepted(old, 3)
        self.assertEqual(shape(got)[1:], [("event", "sms", "completed"),
                                          ("summary", None, "completed")])
        self.assert_client_ref(got, None)
        # A new one keeps its client_ref.
        self.v2_cancelled(rx, "after-21")

    # -- at least once, retries, giving up --------------------------------

    def callback_counts(self):
        """kookooverify_callbacks_total by result, from /metrics."""
        text = self.s.metrics().text
        return {m.group(1): int(float(m.group(2))) for m in re.finditer(
            r'^kookooverify_callbacks_total\{result="(\w+)"\} (\S+)$',
            text, re.M)}

    def test_5xx_then_timeout_are_retried_with_the_same_jti(self):
        rx = self.start()
        rx.statuses = [500, 503]
        number = new_number()
        rid = self.request(number, 6)
        first = rx.wait_accepted(rid, 1)[0]
        tries = rx.of(rid)
        self.assertEqual([a.status for a in tries], [500, 503, 200])
        self.assertEqual({a.claims["jti"] for a in tries},
                         {first.claims["jti"]}, "one jti on every attempt")
        # Now a receiver slower than callback_timeout_ms (1 s), once.
        rx.delay_next = 2.5
        self.check(rid, wrong_pin(self.sms_pin(number)), "16")
        got = poll_until(lambda: [a for a in rx.of(rid)[3:]
                                  if a.body["status"] == "code_wrong"
                                  and len(rx.of(rid)) >= 5],
                         15, "the slow callback sent again")
        self.assertEqual(len({a.claims["jti"] for a in got}), 1, got)
        self.assertIn("callback.retry", self.s_log_events())
        n = self.callback_counts()
        self.assertGreaterEqual(n["retried"], 3, n)  # 500, 503, the slow one
        self.assertGreaterEqual(n["delivered"], 2, n)
        self.assertEqual(n["given_up"], 0, n)
        self.assertGreaterEqual(n["queued"], n["delivered"], n)

    def test_given_up_after_the_setting_and_visible(self):
        rx = self.start(callback_give_up=1)
        rx.statuses = [500] * 1000
        number = new_number()
        rid = self.request(number, 6)

        def failed_event():
            r, d = self.seed_search(rid)
            return [e for e in d.get("events") or []
                    if e.get("type") == "callback"]
        ev = poll_until(failed_event, 15, "the callback given up")[0]
        self.assertEqual(ev["result"], "failed", ev)
        self.assertEqual(ev["detail"], "HTTP 500", ev)
        self.assertGreaterEqual(len(rx.of(rid)), 2, "retried first")
        self.assertIn("callback.given_up", self.s_log_events())
        n = self.callback_counts()
        self.assertGreaterEqual(n["given_up"], 1, n)
        self.assertGreaterEqual(n["retried"], 1, n)
        self.assertEqual(n["delivered"], 0, n)

    def test_loopback_refused_when_not_allowed(self):
        rx = self.start(callback_allow_private="off")
        number = new_number()
        rid = self.request(number, 6)

        def failed_event():
            r, d = self.seed_search(rid)
            return [e for e in d.get("events") or []
                    if e.get("type") == "callback"]
        ev = poll_until(failed_event, 15, "the callback refused")[0]
        self.assertIn("public address", ev["detail"], ev)
        self.assertEqual(rx.of(rid), [], "nothing reached the receiver")

    def test_https_only_but_localhost(self):
        self.wire(**CALLBACK_SETTINGS)
        for url in ("http://example.com/cb", "ftp://127.0.0.1/x",
                    "https://user@example.com/", "not a url"):
            cp = self.s.cli("keys", "callback", self.s.keys[0]["api_key"],
                            url, "--db", self.s.db, check=False)
            self.assertEqual(cp.returncode, 2, (url, cp.stdout, cp.stderr))
            self.assertIn("callback URL", cp.stderr)
        self.set_callback("https://hooks.example/kv")
        cp = self.s.cli("keys", "list", "--db", self.s.db)
        self.assertIn("callback: https://hooks.example/kv", cp.stdout)
        self.assertRegex(cp.stdout, r"signature_secret: [A-Za-z0-9_-]{4}\*")

    # -- durability and isolation -----------------------------------------

    def test_kill9_between_event_and_callback_loses_nothing(self):
        rx = self.start()
        hold = threading.Event()
        rx.hold = hold  # the receiver answers nothing until released
        number = new_number()
        rid = self.request(number, 6)
        pin = self.sms_pin(number)
        # The SMS can reach the simulator before the server has KooKoo's
        # answer and recorded "sent": killed then, it restarts with no
        # record of that SMS, and no "sent" to call back.  Its callback,
        # held in flight, says it is recorded.
        poll_until(lambda: rx.in_flight, 10, "the first callback in flight")
        self.check(rid, pin, "0")
        self.s.kill9()
        rx.hold = None
        hold.set()
        self.s.restart()

        # The held one counts as accepted when released (its sender is
        # gone): the restarted server sends it again, so wait for the
        # summary rather than for a number of callbacks.
        def through_summary():
            got = rx.accepted(rid)
            done = ("summary", None, "completed") in shape(got)
            return got if done else None
        got = poll_until(through_summary, 30, "the summary of %s" % rid,
                         detail=lambda: rx.of(rid))
        statuses = [a.body["status"] for a in got]
        for want in ("sent", "completed", "completed"):
            self.assertIn(want, statuses)
        self.assertEqual(shape(got)[-1], ("summary", None, "completed"))

    def test_slow_receiver_does_not_delay_requests(self):
        # Held POSTs must not time out meanwhile (a loaded machine can take
        # seconds here).
        rx = self.start(callback_workers=2, callback_timeout_ms=60000)
        hold = threading.Event()
        self.addCleanup(hold.set)
        rx.hold = hold
        # The key's senders (its share: one of two) wait on the receiver;
        # the API must not.
        rids = [self.request(new_number(), 6) for _ in range(6)]
        poll_until(lambda: rx.in_flight >= 1, 10, "a sender held")
        for rid in rids:
            r = self.s.vonage("/control", {"request_id": rid,
                                           "cmd": "cancel"})
            self.assert_vonage(r, "0")
        self.assertEqual(rx.arrivals, [], "no callback answered yet")
        hold.set()
        rx.hold = None
        for rid in rids:
            poll_until(lambda: shape(rx.accepted(rid))[-1:] == [
                ("summary", None, "cancelled")], 30,
                "the summary of %s" % rid, detail=lambda: rx.of(rid))

    def test_a_held_receiver_holds_at_most_its_share_of_senders(self):
        # A held POST must not time out meanwhile (a loaded machine can
        # take seconds here): its retry would be a second one in flight.
        rx = self.start(callback_workers=2, callback_timeout_ms=60000)
        hold = threading.Event()
        self.addCleanup(hold.set)
        rx.hold = hold
        other = Receiver()
        self.addCleanup(other.close)
        other.secret = self.set_callback(other.url, key=1)
        for _ in range(3):
            self.request(new_number(), 6)
        poll_until(lambda: rx.in_flight, 10, "key 0's receiver holding one")
        number = new_number()
        rid = self.vonage_request_ok(number=number, key=1, brand="AcmeCo",
                                     workflow_id="6")[1]
        got = other.wait_accepted(rid, 1)
        self.assertEqual(shape(got), [("event", "sms", "sent")])
        self.assertEqual(rx.in_flight, 1, "one sender of two for key 0")
        hold.set()
        rx.hold = None

    # -- a backlog of other verifications' rows costs nothing ------------

    def pg_counts(self):
        """PostgreSQL's counters: entries read from the two indexes of
        every pending row, and rows written to callbacks and checks."""
        rows = db_query(self.s.db, "SELECT indexrelname, idx_tup_read "
                        "FROM pg_stat_user_indexes WHERE indexrelname IN "
                        "('callbacks_pending', 'jobs_pending')")
        rows += db_query(self.s.db, "SELECT relname || '_written', "
                         "n_tup_ins + n_tup_upd FROM pg_stat_user_tables "
                         "WHERE relname IN ('callbacks', 'checks')")
        return {name: int(n) for name, n in rows}

    def assert_backlog_unread(self, rx, other, backlog=60000):
        """With `backlog` pending callbacks and jobs of verification
        `other` (never due, so never claimed), a new verification's
        events, callbacks and ending check read none of them."""
        # For 1 s after a callback is queued the runner looks for it every
        # 20 ms (callback.c, WAKE_WINDOW_MS), and each look's next-due
        # scan walks the pending index past entries it cannot see yet:
        # during the INSERTs below, the whole uncommitted backlog, which
        # a backlog that grew over time never is.  Let that window close.
        time.sleep(1.2)
        db_query(self.s.db, "INSERT INTO callbacks (verification_id, key_id,"
                 " jti, body, created_ms, due_ms) SELECT ?, key_id, 'x', "
                 "'{}', 0, 9223372036854775807 FROM verifications, "
                 "generate_series(1, ?) WHERE id = ?",
                 (other, backlog, other))
        db_query(self.s.db, "INSERT INTO jobs (kind, verification_id, step, "
                 "due_ms, created_ms) SELECT 'step', ?, 9, "
                 "9223372036854775807, 0 FROM generate_series(1, ?)",
                 (other, backlog))
        before = self.pg_counts()
        # A call step pending, then checks: two wrong, then one that ends
        # it and cancels the step.  Five callbacks, each a lookup.
        number = new_number()
        rid = self.request(number, 1)
        pin = self.sms_pin(number)
        for _ in range(2):
            self.check(rid, wrong_pin(pin), "16")
        self.check(rid, pin, "0")
        got = rx.wait_accepted(rid, 5)
        self.assertEqual(shape(got)[-1], ("summary", None, "completed"))

        # A node's backends report their counters within a second of
        # going idle: wait until they count every row this wrote.
        def counted():
            c = self.pg_counts()
            done = (c["callbacks_written"] >=
                    before["callbacks_written"] + 2 * len(got) and
                    c["checks_written"] > before["checks_written"])
            return c if done else None
        after = poll_until(counted, 10, "PostgreSQL's counts of the writes")
        for index in ("callbacks_pending", "jobs_pending"):
            self.assertLess(after[index] - before[index], backlog // 10,
                            "%s read for one verification" % index)

    def start_with_statistics(self, when):
        """A server, its tables' statistics taken `when` ("new": of the
        new store; "ended": after one verification ended, so with rows but
        none pending) and not renewed by autovacuum; returns the receiver
        and the id of that verification."""
        rx = self.start(next_event_wait=60)

        def analyze():
            for table in ("callbacks", "jobs"):
                db_query(self.s.db, "ANALYZE %s" % table)
        for table in ("callbacks", "jobs"):
            db_query(self.s.db, "ALTER TABLE %s SET (autovacuum_enabled = "
                     "off)" % table)
        if when == "new":
            analyze()
        number = new_number()
        rid = self.request(number, 6)
        self.check(rid, self.sms_pin(number), "0")
        rx.wait_accepted(rid, 3)
        if when == "ended":
            # The last callback is done once its reply is read, just after
            # the receiver accepted it.
            poll_until(lambda: db_query(
                self.s.db, "SELECT count(*) FROM callbacks WHERE state = 0"
            )[0][0] == 0, 10, "no callback pending")
            analyze()
        return rx, db_query(self.s.db, "SELECT max(id) FROM verifications")[0][0]

    # While a receiver is down (or SMS wait behind KooKoo), every one of its
    # pending callbacks (or jobs) is in the partial index of all pending
    # ones.  A verification's own are looked up on each of its events, when
    # its callback is done and when a check ends it.  With statistics from
    # when no row was pending, PostgreSQL served those lookups with a scan
    # of that whole index (every backlog entry read a lookup here); the
    # verification's own index must serve them.  Which lookup went wrong
    # depended on the statistics: a new store's (the jobs' cancel) or one
    # with rows, none pending (the callbacks' lookups).

    @postgres_only("PostgreSQL's choice of index")
    def test_pending_rows_unread_with_a_new_stores_statistics(self):
        self.assert_backlog_unread(*self.start_with_statistics("new"))

    @postgres_only("PostgreSQL's choice of index")
    def test_pending_rows_unread_with_statistics_of_none_pending(self):
        self.assert_backlog_unread(*self.start_with_statistics("ended"))

    def s_log_events(self):
        return [e["event"] for e in log_events(self.s.stderr_text())]


if __name__ == "__main__":
    unittest.main()
