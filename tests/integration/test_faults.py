"""Fault injection: SQLite fails while the server runs (disk full, I/O
error, the write lock held elsewhere, failed syncs, out of memory).

The server runs with the test hook `fault_file` (src/faultvfs.c) and is
wired to the KooKoo simulator.  A test writes a word into the control file,
waits until the server logs that it armed it, and checks the contract: a
change during the fault answers status 5 "Internal Error" in both dialects
(never "ok" for something not stored), reads that need no write keep
answering, nothing acknowledged before is lost (not even across a kill -9),
the server recovers by itself once the file is cleared, and the job runner
delivers after the fault what fell due during it.
"""

import concurrent.futures
import functools
import hashlib
import hmac
import os
import re
import shutil
import struct
import tempfile
import time
import unittest
from unittest import mock

from harness import (SimTestCase, new_mobile, pin_of, poll_until,
                     sqlite_only, wrong_pin)
from kvtest import config
from kvtest.faults import FaultControl

# Real (non-test) numbers for delivery; the fixed-PIN ones are 9199999....

SMS_PIN_RE = re.compile(r"^\S+ code: (\d{4,10})\.")

# SQLite's busy_timeout (src/db.c): how long a write waits for a lock.
BUSY_TIMEOUT = 5.0


# The simulator delivers to these (they are no fixed-PIN test numbers).
new_number = functools.partial(new_mobile, "9198124")


@sqlite_only("faults are injected by the SQLite VFS of the fault_file "
             "test hook; test_cluster stops PostgreSQL itself")
class FaultTests(FaultControl, SimTestCase):
    sim_name = "faults-sim"

    def setUp(self):
        super().setUp()
        self.ctl_dir = tempfile.mkdtemp(prefix="kvtest-faults-")
        self.addCleanup(shutil.rmtree, self.ctl_dir, True)
        self.control = os.path.join(self.ctl_dir, "fault")

    # -- helpers ----------------------------------------------------------

    def wire(self, **overrides):
        """Starts a server wired to the simulator, faults from self.control.
        Test-number PINs live 120 s: a busy fault takes tens of seconds."""
        settings = {"fault_file": self.control, "pin_expiry": 120}
        settings.update(overrides)
        wired = super().wire(**settings)
        # The retention pass the server makes 50 ms after its start writes
        # through the same writer: under a fault it waits busy_timeout
        # too, and a request queued behind it would wait twice.
        poll_until(lambda: "purge.done" in self.log(), 10.0,
                   "the first retention pass", interval=0.02)
        return wired

    def assert_internal(self, reply, vonage=False):
        if vonage:
            self.assert_vonage(reply, "5", error_text="Internal Error")
        else:
            self.assert_seed(reply, 5, error_text="Internal Error")

    def seed_req(self, number):
        return self.seed_request_ok(number=number, brand="Brand")[1]

    # -- the write faults -------------------------------------------------

    def before_fault(self):
        """Acknowledged work: four verifications (two per dialect), one of
        them verified.  Returns {name: (number, rid)}."""
        done = {}
        for name in ("a", "b"):
            done[name] = self.seed_request_ok()
        for name in ("c", "d"):
            done[name] = self.vonage_request_ok()
        number, rid = done["a"]
        self.assert_seed(self.s.seed("/check", {"request_id": rid,
                                                "code": pin_of(number)}),
                         0, request_id=rid)
        return done

    def during_fault_writes(self, done, fresh):
        """Every kind of change answers 5; the right PIN too (a check that
        cannot be stored reveals nothing)."""
        b, c, d = done["b"], done["c"], done["d"]
        self.assert_internal(self.s.seed("", {"phone_no": fresh[0],
                                              "brand": "Brand"}))
        self.assert_internal(self.s.vonage("", {"number": fresh[1],
                                                "brand": "Brand"}),
                             vonage=True)
        self.assert_internal(self.s.seed("/check", {
            "request_id": b[1], "code": pin_of(b[0])}))
        self.assert_internal(self.s.vonage("/check", {
            "request_id": c[1], "code": pin_of(c[0])}), vonage=True)
        # Three wrong codes would fail it, were they counted.
        for _ in range(3):
            self.assert_internal(self.s.seed("/check", {
                "request_id": c[1], "code": wrong_pin(pin_of(c[0]))}))
        self.assert_internal(self.s.seed("/control", {
            "request_id": d[1], "cmd": "cancel"}))

    def during_fault_reads(self, done):
        """Searches write nothing: they answer from what was committed."""
        self.assert_seed_search_status(done["a"][1], "SUCCESS")
        self.assert_seed_search_status(done["b"][1], "IN PROGRESS")
        self.assert_vonage_search_status(done["c"][1], "IN PROGRESS")
        number, rid = done["a"]
        r = self.s.seed("/search", {"phone_no": number})
        self.assert_fields(r, self.assert_json_reply(r), {
            "phone_no": number, "status": "VERIFIED", "request_id": rid})

    def after_fault(self, done, fresh):
        """The server works again: the changes refused during the fault go
        through, and each refused check had left no trace."""
        b, c, d = done["b"], done["c"], done["d"]
        # A request answered 5 may exist or not (status 10 or 0 now); one
        # answered 0 must.
        r = self.s.seed("", {"phone_no": fresh[0], "brand": "Brand"})
        if self.assert_json_reply(r).get("status") not in (0, 10):
            self.fail_reply(r, "expected status 0 (or 10) after the fault")
        done["fresh0"] = (fresh[0], r.data["request_id"])
        r = self.s.vonage("", {"number": fresh[1], "brand": "Brand"})
        if self.assert_json_reply(r).get("status") not in ("0", "10"):
            self.fail_reply(r, "expected status 0 (or 10) after the fault")
        done["fresh1"] = (fresh[1], r.data["request_id"])
        # The checks refused during the fault were not counted.
        self.assert_seed(self.s.seed("/check", {"request_id": b[1],
                                                "code": pin_of(b[0])}),
                         0, request_id=b[1])
        self.assert_vonage(self.s.vonage("/check", {
            "request_id": c[1], "code": pin_of(c[0])}), "0",
            request_id=c[1])
        r = self.s.seed("/control", {"request_id": d[1], "cmd": "cancel"})
        self.assert_seed(r, 0, response="CANCELLED")

    def assert_all_kept(self, done):
        """Every acknowledged change is there, here and after a kill -9."""
        want = {"a": "SUCCESS", "b": "SUCCESS", "c": "SUCCESS",
                "d": "CANCELLED", "fresh0": "IN PROGRESS",
                "fresh1": "IN PROGRESS"}
        for restarted in (False, True):
            if restarted:
                self.s.kill9()
                self.set_fault_file_empty()
                self.s.restart()
            for name, status in want.items():
                with self.subTest(verification=name, restarted=restarted):
                    self.assert_seed_search_status(done[name][1], status)

    def set_fault_file_empty(self):
        with open(self.control, "w"):
            pass

    def write_fault_cycle(self, word):
        self.wire()
        done = self.before_fault()
        fresh = [self.s.new_number(), self.s.new_number()]
        self.fault(word)
        self.during_fault_writes(done, fresh)
        self.during_fault_reads(done)
        self.assertTrue(self.s.alive(), "the server died during the fault")
        self.set_fault("")
        self.after_fault(done, fresh)
        self.assert_all_kept(done)

    def test_disk_full_answers_5_keeps_reads_and_recovers(self):
        self.write_fault_cycle("full")

    def test_io_error_answers_5_keeps_reads_and_recovers(self):
        self.write_fault_cycle("ioerr")

    def test_out_of_memory_answers_5_and_recovers(self):
        # Every SQLite allocation fails: reads (and the key lookup) too.
        self.wire()
        done = self.before_fault()
        fresh = [self.s.new_number(), self.s.new_number()]
        self.fault("nomem")
        self.during_fault_writes(done, fresh)
        self.assert_internal(self.s.seed("/search",
                                         {"request_id": done["a"][1]}))
        self.assert_internal(self.s.vonage("/search",
                                           {"request_id": done["c"][1]}),
                             vonage=True)
        self.assertTrue(self.s.alive(), "the server died during the fault")
        self.set_fault("")
        self.after_fault(done, fresh)
        self.assert_all_kept(done)

    def requests_during_sync_fault(self, seconds):
        """Seed requests for `seconds` under the fsync fault; each answers 0
        or 5.  Returns the acknowledged (number, rid)s."""
        acked = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            number = self.s.new_number()
            r = self.s.seed("", {"phone_no": number, "brand": "Brand"})
            if self.assert_json_reply(r).get("status") == 0:
                acked.append((number, r.data["request_id"]))
            else:
                self.assert_internal(r)
            time.sleep(0.2)
        return acked

    def test_failed_syncs_lose_nothing(self):
        # WAL with synchronous=NORMAL syncs the WAL header when the log
        # starts over and the files at checkpoints, never at a commit: a
        # request may succeed or answer 5, and what succeeded stays.
        self.wire()
        done = self.before_fault()
        self.fault("fsync")
        acked = self.requests_during_sync_fault(2.5)
        self.assertTrue(self.s.alive(), "the server died during the fault")
        self.set_fault("")
        acked.append(self.seed_request_ok())
        self.s.kill9()
        self.set_fault_file_empty()
        self.s.restart()
        for number, rid in acked:
            r, d = self.assert_seed_search_status(rid, "IN PROGRESS")
            self.assertEqual(d.get("phone_no"), number, r.describe())
        self.assert_seed_search_status(done["a"][1], "SUCCESS")
        number, rid = acked[0]
        self.assert_seed(self.s.seed("/check", {"request_id": rid,
                                                "code": pin_of(number)}),
                         0, request_id=rid)

    def test_checkpointer_syncs_the_wal_within_seconds(self):
        # The checkpointer's connection must have read the database, or
        # SQLite 3.40 checkpoints nothing through it (no WAL open): then
        # nothing was ever synced while the server ran.  Checkpoints run
        # at least once a second, so a sync fails here within seconds.
        self.wire()
        self.before_fault()
        self.fault("fsync")
        self.requests_during_sync_fault(2.5)
        self.assertIn("disk I/O error", self.log(),
                      "nothing was synced in 2.5 s of commits")

    def test_write_lock_held_elsewhere_answers_5_and_recovers(self):
        # Each write waits busy_timeout for the lock (and, today, once more
        # when the writer replays the failed batch op by op: see
        # test_write_lock_held_answers_within_busy_timeout).  Connections
        # may wait behind a write in the same libmicrohttpd thread longer
        # than the 10 s idle timeout (reported): raise it here.
        self.wire(connection_timeout=90)
        done = self.before_fault()
        fresh = [self.s.new_number(), self.s.new_number()]
        self.fault("busy")
        with mock.patch.object(config, "HTTP_TIMEOUT", 90.0), \
                concurrent.futures.ThreadPoolExecutor(2) as pool:
            seed = pool.submit(self.s.seed, "", {"phone_no": fresh[0],
                                                 "brand": "Brand"})
            vonage = pool.submit(self.s.vonage, "", {"number": fresh[1],
                                                     "brand": "Brand"})
            # Reads are not blocked by the held write lock.  They are sent
            # once the writes wait in their HTTP threads: a connection that
            # arrives with them may be accepted by the same libmicrohttpd
            # thread and wait behind the write (reported).
            time.sleep(0.5)
            t = time.monotonic()
            self.during_fault_reads(done)
            self.assertLess(time.monotonic() - t, BUSY_TIMEOUT,
                            "searches waited for the write lock")
            self.assert_internal(seed.result())
            self.assert_internal(vonage.result(), vonage=True)
        self.assertTrue(self.s.alive(), "the server died during the fault")
        self.set_fault("")
        self.after_fault(done, fresh)
        self.assert_all_kept(done)

    def test_write_lock_held_answers_within_busy_timeout(self):
        # A failed BEGIN or COMMIT is the store's failure, not an op's: the
        # batch is not replayed op by op (each replay would wait
        # busy_timeout again).
        self.wire(connection_timeout=90)
        self.fault("busy")
        with mock.patch.object(config, "HTTP_TIMEOUT", 60.0):
            t = time.monotonic()
            r = self.s.seed("", {"phone_no": self.s.new_number(),
                                 "brand": "Brand"})
            took = time.monotonic() - t
        self.assert_internal(r)
        self.assertLess(took, BUSY_TIMEOUT + 2.0,
                        "a write under a held lock took %.1f s" % took)

    def stuck_writes_block_nothing(self, writes_of, vonage=False,
                                   check=None):
        """With more writes stuck on the lock than HTTP threads, other
        connections are still answered while every write still waits: a
        write waits for the writer with its connection suspended, not in
        an HTTP thread.  writes_of(done) lists (call, path, params); each
        reply must pass check(reply), by default the dialect's error 5."""
        self.wire(connection_timeout=90, threads=2)
        done = self.before_fault()
        self.fault("busy")
        with mock.patch.object(config, "HTTP_TIMEOUT", 90.0), \
                concurrent.futures.ThreadPoolExecutor(6) as pool:
            writes = [pool.submit(call, path, params)
                      for call, path, params in writes_of(done)]
            # Each write waits busy_timeout for the lock; the reads below
            # are sent once the writes have reached the server.
            time.sleep(0.5)
            self.assert_vonage_search_status(done["c"][1], "IN PROGRESS")
            r = self.s.get("/healthz")
            self.assertEqual(r.status, 200, "healthz during stuck writes")
            # Every write waits busy_timeout at least: in an HTTP thread,
            # a write would have held up the reads behind it until then.
            ended = [w for w in writes if w.done()]
            self.assertFalse(ended, "a stuck write ended before the reads "
                             "on other connections were answered")
            for w in writes:
                if check:
                    check(w.result())
                else:
                    self.assert_internal(w.result(), vonage=vonage)
        self.assertTrue(self.s.alive(), "the server died during the fault")

    def call_token(self, verification_id, step):
        """A call token as the server signs it (crypto.c): HMAC-SHA256 with
        the KDF subkey 4 of the server secret (libsodium's crypto_kdf is
        BLAKE2b keyed with the secret, the subkey id as salt, the context as
        personalisation)."""
        with open(self.s.secret_path, "rb") as f:
            secret = f.read()
        key = hashlib.blake2b(b"", digest_size=32, key=secret,
                              salt=struct.pack("<Q", 4) + bytes(8),
                              person=b"kvsecret" + bytes(8)).digest()
        body = "%d.%d.%d" % (verification_id, step, int(time.time()) + 600)
        mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
        return body + "." + mac

    def test_stuck_ivr_callbacks_block_no_other_connection(self):
        # KooKoo's callbacks write the call's progress: with the lock held
        # they wait, answer 500 (KooKoo retries) and hold up nobody else.
        def writes(done):
            token = self.call_token(1, 0)
            sid = "sim-stuck"
            return ([(self.s.get, "/ivr/kookoo",
                      {"t": token, "sid": sid, "event": "NewCall"})
                     for _ in range(3)]
                    + [(self.s.get, "/ivr/kookoo/status",
                        {"t": token, "sid": sid, "status": "answered"})
                       for _ in range(3)])

        def check(reply):
            self.assertEqual(reply.status, 500, reply)

        self.stuck_writes_block_nothing(writes, check=check)

    def test_stuck_vonage_writes_block_no_other_connection(self):
        self.stuck_writes_block_nothing(
            lambda done: [(self.s.vonage, "", {"number": self.s.new_number(),
                                               "brand": "Brand"})
                          for _ in range(6)], vonage=True)

    def test_stuck_seed_writes_block_no_other_connection(self):
        # The original's URLs write the same way: requests, checks (right
        # and wrong code) and a cancel.
        def writes(done):
            b, d = done["b"], done["d"]
            fresh = [(self.s.seed, "", {"phone_no": self.s.new_number(),
                                        "brand": "Brand"})
                     for _ in range(3)]
            return fresh + [
                (self.s.seed, "/check", {"request_id": b[1],
                                         "code": wrong_pin(pin_of(b[0]))}),
                (self.s.seed, "/check", {"request_id": d[1],
                                         "code": pin_of(d[0])}),
                (self.s.seed, "/control", {"request_id": d[1],
                                           "cmd": "cancel"}),
            ]
        self.stuck_writes_block_nothing(writes, vonage=False)

    # -- the job runner ---------------------------------------------------

    def sms_pin(self, text):
        m = SMS_PIN_RE.match(text)
        self.assertIsNotNone(m, "SMS text %r carries no PIN" % text)
        return m.group(1)

    def sms_events(self, rid):
        r, d = self.seed_search(rid)
        return [e for e in d.get("events", []) if e.get("channel") == "sms"]

    def test_sms_due_during_a_fault_is_sent_after_it(self):
        self.wire()
        for word in ("full", "ioerr", "nomem"):
            with self.subTest(fault=word):
                number = new_number()
                # Vonage workflow 4: SMS, then a second SMS 5 s later; the
                # verification ends 5 s after that.
                _, rid = self.vonage_request_ok(
                    number=number, workflow_id="4", next_event_wait="5",
                    pin_expiry="30")
                first = self.wait_sms(number, 1)
                pin = self.sms_pin(first[0])
                # Recorded: the second step's job is stored, due in 5 s.
                poll_until(lambda: self.sms_events(rid), 3,
                           "the first SMS recorded")
                t_sms = time.monotonic()
                self.fault(word)
                time.sleep(max(0.0, t_sms + 6.0 - time.monotonic()))
                self.assertEqual(len(self.sim.sms(number)), 1,
                                 "an SMS was sent while the store failed")
                self.set_fault("")
                texts = self.wait_sms(number, 2)
                self.assertEqual(len(texts), 2, texts)
                self.assertEqual(self.sms_pin(texts[1]), pin,
                                 "the PIN is still valid: the same one")
                self.assert_vonage(self.s.vonage("/check", {
                    "request_id": rid, "code": pin}), "0")

    def test_delivery_recorded_during_a_fault_is_not_lost(self):
        # The SMS request hangs until the fault is armed; its outcome cannot
        # be recorded, so the lease runs out and the job runs again after.
        self.wire(kookoo_timeout_ms=1500, pin_expiry=30)
        number = new_number()
        self.sim.script(number[-10:], sms="timeout", timeout_ms=5000,
                        sms_fail_times=1)
        rid = self.seed_req(number)
        poll_until(lambda: self.sim.stats().get("sms", {}).get("timeout"),
                   3, "the SMS request in flight", interval=0.02,
                   detail=self.sim.stats)
        self.fault("full")
        self.wait_log("job.record_failed", timeout=4)
        self.set_fault("")
        texts = self.wait_sms(number, 1, timeout=6)
        pin = self.sms_pin(texts[0])
        self.assertEqual(self.sim.stats()["sms"].get("requests"), 2,
                         self.sim.stats())
        self.assert_seed(self.s.seed("/check", {"request_id": rid,
                                                "code": pin}),
                         0, request_id=rid)
        self.assertEqual([e["result"] for e in self.sms_events(rid)][-1:],
                         ["accepted"])


if __name__ == "__main__":
    unittest.main()
