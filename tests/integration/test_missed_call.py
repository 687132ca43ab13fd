"""Missed-call verification: a request answers with a DID, kookoo-sim gives
the missed call (POST /sim/inbound rings the server's inbound app URL with
NewCall) and the server hangs up at once and verifies the pending
verification of that caller for that DID, within its window, once.  Both
dialects, the SMS fallback (workflow 9), the caller-id forms KooKoo sends,
the calls that must change nothing, and the browser flow's search token.
"""

import functools
import json

from harness import WiredTestCase, db_query, new_mobile, poll_until

DIDS = ("08040000001", "08040000002")
DID_E164 = {"+918040000001": DIDS[0], "+918040000002": DIDS[1]}
PATH = "inbound-secret-0123456789"
HANGUP = '<response><hangup/></response>'
ORIGIN = "https://shop.example"


# The simulator delivers to these (they are no fixed-PIN test numbers).
new_number = functools.partial(new_mobile, "9198126")


class MissedCallTests(WiredTestCase):
    sim_name = "missed-sim"
    # The simulator calls from loopback: the allow-list lets it in.
    wired_settings = {"missed_call_dids": ",".join(DIDS),
                      "missed_call_path": PATH, "pin_expiry": 60,
                      "cancel_min_age": 0,
                      "missed_call_sources": "127.0.0.0/8,::1"}

    @classmethod
    def after_start(cls):
        s = cls.server
        s.cli("keys", "missed-call", "--db", s.db, s.keys[0]["api_key"],
              "on")
        s.create_key("no-missed")  # key 1: missed calls not enabled
        cp = s.cli("keys", "create", "--db", s.db, "--publishable", "--json",
                   "--origin", ORIGIN, "--owner", s.keys[0]["api_key"])
        cls.pk = json.loads(cp.stdout.strip().splitlines()[-1])["api_key"]
        s.cli("keys", "missed-call", "--db", s.db, cls.pk, "on")

    # -- helpers ----------------------------------------------------------

    def ring(self, cid, did, path=PATH):
        """The simulator calls `did` from `cid`; returns its record."""
        url = "http://127.0.0.1:%d/ivr/kookoo/inbound/%s" % (self.s.port,
                                                             path)
        return self.provider.request("POST", "/sim/inbound", {
            "cid": cid, "called_number": did, "url": url})

    def assert_hung_up(self, rec):
        self.assertEqual(rec["http_status"], 200, rec)
        self.assertTrue(rec["hangup"], rec)
        self.assertIn(HANGUP, rec["answer"])

    def vonage_missed(self, number, workflow="8", **params):
        r = self.s.vonage("", dict({"number": number, "brand": "Shop",
                                    "workflow_id": workflow}, **params))
        d = self.assert_vonage(r, "0")
        self.assertIn(d.get("missed_call_number"), DID_E164, r.describe())
        self.assertGreater(int(d.get("missed_call_expires_in", "0")), 0)
        return d["request_id"], DID_E164[d["missed_call_number"]]

    def seed_status(self, rid):
        return self.seed_search(rid)[1].get("status")

    def missed_events(self, rid):
        return [(e["result"], e["detail"])
                for e in self.seed_search(rid)[1].get("events") or []
                if e["channel"] == "missed"]

    def other_did(self, did):
        return DIDS[1] if did == DIDS[0] else DIDS[0]

    # -- the happy path, both dialects --------------------------------------

    def test_vonage_missed_call_verifies(self):
        number = new_number()
        rid, did = self.vonage_missed(number)
        self.assert_hung_up(self.ring(number, did))
        self.assertEqual(self.seed_status(rid), "SUCCESS")
        self.assertEqual(self.missed_events(rid),
                         [("verified", "caller verified")])
        d = self.vonage_search(rid)[1]
        self.assertEqual(d["status"], "SUCCESS")
        self.assertEqual([e["type"] for e in d["events"]], ["missed_call"])
        # Verified for the 30-day lookup too.
        r = self.s.seed("/search", {"phone_no": number})
        self.assertEqual(self.assert_json_reply(r).get("status"), "VERIFIED")

    def test_seed_missed_call_verifies(self):
        number = new_number()
        r = self.s.seed("", {"phone_no": number, "brand": "Shop",
                             "missed_call": "1"})
        d = self.assert_seed(r, 0)
        self.assertIn(d.get("missed_call_number"), DID_E164)
        rid = d["request_id"]
        self.assert_hung_up(self.ring(number,
                                      DID_E164[d["missed_call_number"]]))
        self.assertEqual(self.seed_status(rid), "SUCCESS")

    def test_caller_id_forms(self):
        for form in ("%s", "0%s", "91%s", "+91%s"):
            number = new_number()
            rid, did = self.vonage_missed(number)
            self.assert_hung_up(self.ring(form % number[2:], did))
            self.assertEqual(self.seed_status(rid), "SUCCESS", form)

    # -- calls that change nothing ------------------------------------------

    def test_unknown_caller_changes_nothing(self):
        number = new_number()
        rid, did = self.vonage_missed(number)
        before = self.s.metrics().text
        self.assert_hung_up(self.ring(new_number(), did))
        self.assert_hung_up(self.ring("anonymous", did))
        self.assertEqual(self.seed_status(rid), "IN PROGRESS")
        self.assertEqual(self.missed_events(rid), [])
        after = self.s.metrics().text
        self.assertNotEqual(before, after)
        self.assertIn('kookooverify_missed_calls_total{result="unmatched"}',
                      after)

    def test_wrong_did_changes_nothing(self):
        number = new_number()
        rid, did = self.vonage_missed(number)
        self.assert_hung_up(self.ring(number, self.other_did(did)))
        self.assert_hung_up(self.ring(number, "08049999999"))
        self.assertEqual(self.seed_status(rid), "IN PROGRESS")

    def test_second_call_changes_nothing(self):
        number = new_number()
        rid, did = self.vonage_missed(number)
        self.assert_hung_up(self.ring(number, did))
        finalized = self.vonage_search(rid)[1]["date_finalized"]
        self.assert_hung_up(self.ring(number, did))
        self.assertEqual(self.vonage_search(rid)[1]["date_finalized"], finalized)
        self.assertEqual(self.missed_events(rid),
                         [("verified", "caller verified"),
                          ("ignored", "SUCCESS")])

    def test_expired_changes_nothing(self):
        number = new_number()
        rid, did = self.vonage_missed(number, pin_expiry="1")
        poll_until(lambda: self.seed_status(rid) == "EXPIRED", 5.0,
                   "expiry of %s" % rid, interval=0.05)
        self.assert_hung_up(self.ring(number, did))
        self.assertEqual(self.seed_status(rid), "EXPIRED")
        self.assertEqual(self.missed_events(rid), [("ignored", "EXPIRED")])

    def test_cancelled_changes_nothing(self):
        number = new_number()
        rid, did = self.vonage_missed(number)
        self.assert_vonage(self.s.vonage("/control", {
            "request_id": rid, "cmd": "cancel"}), "0")
        self.assert_hung_up(self.ring(number, did))
        self.assertEqual(self.seed_status(rid), "CANCELLED")

    def test_another_numbers_call_leaves_each_its_own(self):
        a, b = new_number(), new_number()
        rid_a, did_a = self.vonage_missed(a)
        rid_b, did_b = self.vonage_missed(b)
        self.assert_hung_up(self.ring(b, did_b))
        self.assertEqual(self.seed_status(rid_b), "SUCCESS")
        self.assertEqual(self.seed_status(rid_a), "IN PROGRESS")

    def test_wrong_path_is_refused(self):
        number = new_number()
        rid, did = self.vonage_missed(number)
        rec = self.ring(number, did, path="not-the-secret-0123456789")
        self.assertEqual(rec["http_status"], 403, rec)
        self.assertEqual(self.seed_status(rid), "IN PROGRESS")

    def test_a_code_never_verifies_a_missed_call_only_request(self):
        number = new_number()
        rid, _ = self.vonage_missed(number)
        pin = db_query(self.s.db, "SELECT count(*) FROM jobs j JOIN "
                       "verifications v ON v.id = j.verification_id WHERE "
                       "v.request_id = ? AND j.kind = 'step'", (rid,))
        self.assertEqual(pin[0][0], 0, "no step job: nothing is sent")
        r = self.s.vonage("/check", {"request_id": rid, "code": "1234"})
        self.assertNotEqual(self.assert_json_reply(r).get("status"), "0")
        self.assertEqual(self.seed_status(rid), "IN PROGRESS")

    # -- keys ---------------------------------------------------------------

    def test_key_without_missed_calls_is_refused(self):
        for via in ("vonage", "seed"):
            number = new_number()
            if via == "vonage":
                r = self.s.vonage("", {"number": number, "brand": "Shop",
                                       "workflow_id": "8"}, key=1)
                self.assert_vonage(r, "3", contains="not enabled")
            else:
                r = self.s.seed("", {"phone_no": number, "brand": "Shop",
                                     "missed_call": "sms"}, key=1)
                self.assert_seed(r, 3)
                self.assertIn("not enabled", r.data["error_text"])

    def test_usual_request_has_no_missed_call_fields(self):
        r = self.s.vonage("", {"number": new_number(), "brand": "Shop"})
        d = self.assert_vonage(r, "0")
        self.assertNotIn("missed_call_number", d)

    # -- the SMS fallback (workflow 9) --------------------------------------

    def test_fallback_sends_the_sms_after_the_window(self):
        number = new_number()
        rid, did = self.vonage_missed(number, workflow="9",
                                      next_event_wait="1")
        texts = poll_until(lambda: self.provider.sms(number), 8.0,
                           "fallback SMS to %s" % number, interval=0.05)
        self.assertEqual(len(texts), 1)
        # The window is over: the call no longer verifies.
        self.assert_hung_up(self.ring(number, did))
        self.assertEqual(self.seed_status(rid), "IN PROGRESS")
        self.assertEqual(self.missed_events(rid),
                         [("ignored", "missed-call window over")])

    def test_fallback_sms_at_once_on_request(self):
        number = new_number()
        rid, _ = self.vonage_missed(number, workflow="9")
        self.assertEqual(self.provider.sms(number), [])
        self.assert_vonage(self.s.vonage("/control", {
            "request_id": rid, "cmd": "trigger_next_event"}), "0")
        poll_until(lambda: self.provider.sms(number), 8.0,
                   "SMS to %s" % number, interval=0.05)
        number = new_number()
        r = self.s.seed("", {"phone_no": number, "brand": "Shop",
                             "missed_call": "sms"})
        rid = self.assert_seed(r, 0)["request_id"]
        r = self.s.seed("/control", {"request_id": rid, "cmd": "resend"})
        self.assert_seed(r, 0)
        poll_until(lambda: self.provider.sms(number), 8.0,
                   "SMS to %s" % number, interval=0.05)

    def test_fallback_verified_by_the_call_sends_nothing(self):
        number = new_number()
        rid, did = self.vonage_missed(number, workflow="9",
                                      next_event_wait="30")
        self.assert_hung_up(self.ring(number, did))
        self.assertEqual(self.seed_status(rid), "SUCCESS")
        pending = db_query(self.s.db, "SELECT count(*) FROM jobs j JOIN "
                           "verifications v ON v.id = j.verification_id "
                           "WHERE v.request_id = ? AND j.state = 0", (rid,))
        self.assertEqual(pending[0][0], 0)

    # -- the browser flow ---------------------------------------------------

    def test_page_learns_of_the_missed_call_by_search(self):
        number = new_number()
        headers = {"Origin": ORIGIN}
        r = self.s.post_json("/verify/json", {
            "api_key": self.pk, "number": number, "brand": "Shop"},
            headers=headers)
        d = self.assert_vonage(r, "0")
        rid, handle = d["request_id"], d["handle"]
        did = DID_E164[d["missed_call_number"]]
        self.wait_sms_sent(number)
        search = {"api_key": self.pk, "request_id": rid, "handle": handle}
        r = self.s.post_json("/verify/search/json", search, headers=headers)
        self.assertNotIn("token", self.assert_json_reply(r))
        self.assert_hung_up(self.ring(number, did))
        r = self.s.post_json("/verify/search/json", search, headers=headers)
        d = self.assert_json_reply(r)
        self.assertEqual(d["status"], "SUCCESS")
        token = d["token"]
        redeem = self.s.vonage("/token", {"token": token,
                                          "single_use": "true"}, via="form")
        self.assertEqual(self.assert_json_reply(redeem)["number"], number)
        # Another search gives a token of the same verification: spent.
        r = self.s.post_json("/verify/search/json", search, headers=headers)
        again = self.s.vonage("/token", {
            "token": self.assert_json_reply(r)["token"],
            "single_use": "true"}, via="form")
        self.assert_vonage(again, "6")

    def wait_sms_sent(self, number):
        poll_until(lambda: self.provider.sms(number), 8.0,
                   "SMS to %s" % number, interval=0.05)


class MissedCallSourceTests(WiredTestCase):
    """missed_call_sources: an inbound call from any other address is
    refused even on the secret path; behind a trusted proxy the address
    is the client's it names."""

    sim_name = "missed-src-sim"
    wired_settings = {"missed_call_dids": ",".join(DIDS),
                      "missed_call_path": PATH, "pin_expiry": 60,
                      "missed_call_sources": "192.0.2.0/24,2001:db8::/32",
                      "trusted_proxies": "127.0.0.1"}

    @classmethod
    def after_start(cls):
        s = cls.server
        s.cli("keys", "missed-call", "--db", s.db, s.keys[0]["api_key"],
              "on")

    def requested(self):
        number = new_number()
        r = self.s.vonage("", {"number": number, "brand": "Shop",
                               "workflow_id": "8"})
        d = self.assert_vonage(r, "0")
        return number, d["request_id"], DID_E164[d["missed_call_number"]]

    def new_call(self, number, did, client):
        return self.s.post_form(
            "/ivr/kookoo/inbound/" + PATH,
            {"event": "NewCall", "sid": "src-" + number, "cid": number,
             "called_number": did},
            headers={"X-Forwarded-For": client})

    def status(self, rid):
        return self.seed_search(rid)[1].get("status")

    def test_a_call_from_elsewhere_is_refused(self):
        number, rid, did = self.requested()
        rec = self.provider.request("POST", "/sim/inbound", {
            "cid": number, "called_number": did,
            "url": "http://127.0.0.1:%d/ivr/kookoo/inbound/%s"
                   % (self.s.port, PATH)})
        self.assertEqual(rec["http_status"], 403, rec)
        r = self.new_call(number, did, "198.51.100.7")
        self.assertEqual(r.status, 403, r.describe())
        self.assertEqual(self.status(rid), "IN PROGRESS")

    def test_a_listed_client_behind_a_trusted_proxy_verifies(self):
        for client in ("192.0.2.44", "2001:db8::7"):
            number, rid, did = self.requested()
            r = self.new_call(number, did, client)
            self.assertEqual(r.status, 200, r.describe())
            self.assertIn(HANGUP, r.text)
            self.assertEqual(self.status(rid), "SUCCESS", client)
