"""Retention and erasure.  The background purge must remove finished
verifications past retain_verifications (from search and from the
database) while a live one and one whose number is still verified stay,
and blank client addresses past retain_client_addresses.
`kookooverify erase --number N`, while the server runs, must remove every
row that names the number or belongs to one of its verifications, across
keys, leave every other number's rows as they were, and say so when nothing
was stored.
"""

import json

import harness
from harness import (KVTestCase, db_query, db_scalar, log_events, pin_of,
                     poll_until)

# The tables that hold a number, directly or through a verification.
BY_VERIFICATION = ("checks", "events", "calls", "jobs", "callbacks")


def rows_of(db, digits):
    """Rows per table that belong to the number `digits` (E.164, no '+'),
    counted in one query."""
    vids = "SELECT id FROM verifications WHERE number = ?"
    counts = [("verifications", "verifications WHERE number = ?")]
    counts += [(t, "%s WHERE verification_id IN (%s)" % (t, vids))
               for t in BY_VERIFICATION]
    counts += [(t, "%s WHERE number = ?" % t)
               for t in ("fraud_reports", "verified_numbers")]
    row = db_query(db, "SELECT " + ", ".join(
        "(SELECT count(*) FROM %s)" % where for _, where in counts),
        (digits,) * len(counts))[0]
    return {name: n for (name, _), n in zip(counts, row)}


class EraseTests(KVTestCase):
    nkeys = 2
    # Resends at once, so that a resend leaves a backoff row to erase.
    settings = dict(harness.LIMITS_OFF, resend_cooldown=0)

    def erase(self, number, *extra):
        return self.s.cli("erase", "--number", number, "--db", self.s.db,
                          *extra, check=False)

    def resend(self, rid, key):
        self.assert_seed(self.s.seed("/control", {"request_id": rid,
                                                  "cmd": "resend"}, key), 0)

    def verified(self, key):
        """A number verified through key `key`: request, a wrong code, the
        right code.  Returns (number, request id)."""
        number, rid = self.seed_request_ok(key=key)
        r = self.s.seed("/check", {"request_id": rid,
                                   "code": harness.wrong_pin(pin_of(number))},
                        key)
        self.assert_json_reply(r)
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)},
                        key)
        self.assert_seed(r, 0)
        return number, rid

    def test_erase_removes_every_row_of_the_number_and_no_other(self):
        # Key 0's status callbacks queue rows (callbacks) to erase too.
        self.s.cli("keys", "callback", self.s.keys[0]["api_key"],
                   "https://hooks.invalid/kv", "--db", self.s.db)
        number, rid = self.verified(0)
        # The same number through the other key: erasure is across keys.
        _, rid2 = self.seed_request_ok(number=number, key=1)
        other, other_rid = self.verified(0)
        live, live_rid = self.seed_request_ok(key=1)
        # A resend keeps the number's backoff, named by a keyed hash of it:
        # one row for this number (key 1), one for another number.
        self.resend(rid2, 1)
        self.resend(live_rid, 1)
        backoffs = "SELECT count(*) FROM resend_backoff"
        self.assertEqual(db_scalar(self.s.db, backoffs), 2)
        before = rows_of(self.s.db, number)
        before["resend_backoff"] = 1
        self.assertGreaterEqual(before["verifications"], 2, before)
        self.assertGreaterEqual(before["checks"], 2, before)
        self.assertEqual(before["verified_numbers"], 1, before)
        self.assertGreaterEqual(before["callbacks"], 3, before)
        kept_before = (rows_of(self.s.db, other), rows_of(self.s.db, live))

        cp = self.erase("+" + number, "--json")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        out = json.loads(cp.stdout)
        self.assertTrue(out["found"], out)
        self.assertEqual(out["removed"], before, out)
        self.assertNotIn(number, cp.stdout + cp.stderr,
                         "the full number must not be printed")
        self.assertTrue(out["kept"], out)

        after = rows_of(self.s.db, number)
        self.assertEqual(set(after.values()), {0}, after)
        self.assertEqual(db_scalar(self.s.db, backoffs), 1,
                         "only the other number's backoff is left")
        self.assertEqual((rows_of(self.s.db, other), rows_of(self.s.db, live)),
                         kept_before)
        # Gone from the API too; the other numbers still answer.
        for key, r in ((0, rid), (1, rid2)):
            reply = self.s.seed("/search", {"request_id": r}, key)
            self.assert_seed(reply, 101, "No response found")
        self.assert_seed_search_status(other_rid, "SUCCESS")
        self.assert_seed_search_status(live_rid, "IN PROGRESS", key=1)
        # The server still serves the erased number afresh.
        self.seed_request_ok(number=number)

    def test_erase_of_a_number_with_nothing_stored_says_so(self):
        number = self.s.new_number()
        cp = self.erase(number)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("nothing stored", cp.stdout)
        cp = self.erase(number, "--json")
        self.assertEqual(cp.returncode, 0, cp.stderr)
        out = json.loads(cp.stdout)
        self.assertFalse(out["found"], out)
        self.assertEqual(set(out["removed"].values()), {0}, out)

    def test_erase_needs_a_phone_number(self):
        for args in (["erase", "--db", self.s.db],
                     ["erase", "--number", "not-a-number", "--db", self.s.db],
                     ["erase", "extra", "--number", "919999900001",
                      "--db", self.s.db]):
            cp = self.s.cli(*args, check=False)
            self.assertEqual(cp.returncode, 2, (args, cp.stdout, cp.stderr))


def verification_ids(db, number):
    return [r[0] for r in db_query(
        db, "SELECT id FROM verifications WHERE number = ?", (number,))]


def addresses_of(db, number):
    return [r[0] for r in db_query(
        db, "SELECT ip FROM checks WHERE verification_id IN"
        " (SELECT id FROM verifications WHERE number = ?)", (number,))]


class PurgeTests(KVTestCase):
    settings = dict(harness.LIMITS_OFF,
                    KOOKOOVERIFY_RETAIN_VERIFICATIONS="2",
                    KOOKOOVERIFY_RETAIN_CLIENT_ADDRESSES="1",
                    KOOKOOVERIFY_PURGE_INTERVAL="1",
                    KOOKOOVERIFY_CANCEL_MIN_AGE="0")

    def test_purge_keeps_live_and_verified_and_removes_finished(self):
        live, live_rid = self.vonage_request_ok()
        verified, verified_rid = self.vonage_request_ok()
        r = self.s.vonage("/check", {"request_id": verified_rid,
                                     "code": pin_of(verified)})
        self.assert_vonage(r, "0")
        self.assertTrue(any(addresses_of(self.s.db, verified)),
                        "the check records the client's address")
        # Finished last: once it is gone, every pass that removed it was
        # past the others' retention too.
        gone, gone_rid = self.vonage_request_ok()
        r = self.s.vonage("/control", {"request_id": gone_rid,
                                       "cmd": "cancel"})
        self.assert_vonage(r, "0")

        poll_until(lambda: not verification_ids(self.s.db, gone), 20,
                   "the cancelled verification to be purged")
        r = self.s.vonage("/search", {"request_id": gone_rid})
        self.assert_vonage(r, "101")
        self.assert_vonage_search_status(live_rid, "IN PROGRESS")
        self.assert_vonage_search_status(verified_rid, "SUCCESS")
        self.assertTrue(verification_ids(self.s.db, verified))
        poll_until(lambda: not any(addresses_of(self.s.db, verified)), 20,
                   "the client address to be blanked")
        self.assertTrue(addresses_of(self.s.db, verified),
                        "the check itself stays")
        log = self.s.stderr_text()
        self.assertTrue(log_events(log, "purge.done"), log)
        for n in (live, verified, gone):
            self.assertNotIn(n, log, "a full number in the log")

    def test_retention_settings_have_bounds(self):
        for name, bad in (("retain_verifications", "-1"),
                          ("retain_verifications", "315360001"),
                          ("retain_client_addresses", "-1"),
                          ("retain_events", "315360001"),
                          ("purge_interval", "0"),
                          ("purge_interval", "86401"),
                          ("purge_batch", "0"),
                          ("purge_batch", "10001")):
            cp = harness.run_cli(["check-config"], settings={name: bad})
            self.assertEqual(cp.returncode, 2, (name, bad, cp.stderr))
            self.assertIn(name, cp.stderr)
        for name, good in (("retain_verifications", "0"),
                           ("purge_interval", "86400"),
                           ("purge_batch", "10000")):
            cp = harness.run_cli(["check-config"], settings={name: good})
            self.assertEqual(cp.returncode, 0, (name, good, cp.stderr))
