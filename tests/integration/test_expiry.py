"""Expiry: a PIN of 2 s, polled until it is EXPIRED, in both dialects.

The verifications are created in setUpClass so their clocks run together;
each test polls search with a deadline instead of sleeping blindly.
"""

import unittest

from harness import KVTestCase, poll_until, pin_of

DEADLINE = 10.0  # seconds; the PIN lives 2


class ExpiryTests(KVTestCase):
    settings = {"pin_expiry": 2, "next_event_wait": 1, "param_min_wait": 1,
                "verified_ttl": 2, "cancel_min_age": 0, "resend_cooldown": 0}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.seed_number = s.new_number()
        r = s.seed("", {"phone_no": cls.seed_number, "brand": "Exp"})
        cls.seed_rid = r.data["request_id"] if r.data else None
        cls.vonage_number = s.new_number()
        r = s.vonage("", {"number": cls.vonage_number, "brand": "Exp",
                          "workflow_id": "6", "pin_expiry": "2"})
        cls.vonage_rid = r.data.get("request_id") if r.data else None

    def setUp(self):
        if not self.seed_rid or not self.vonage_rid:
            self.fail("setUpClass could not create the verifications")

    def wait_seed_expired(self, rid):
        last = []

        def expired():
            r, d = self.seed_search(rid)
            last[:] = [r]
            if d.get("status") not in ("IN PROGRESS", "EXPIRED"):
                self.fail_reply(r, "expected IN PROGRESS then EXPIRED")
            return d["status"] == "EXPIRED"
        poll_until(expired, DEADLINE, "search status EXPIRED",
                   detail=lambda: last[0].describe())

    def wait_vonage_expired(self, rid):
        last = []

        def expired():
            r, d = self.vonage_search(rid)
            last[:] = [r]
            if d.get("status") not in ("IN PROGRESS", "EXPIRED"):
                self.fail_reply(r, "expected IN PROGRESS then EXPIRED")
            return d["status"] == "EXPIRED"
        poll_until(expired, DEADLINE, "search status EXPIRED",
                   detail=lambda: last[0].describe())

    def test_seed_expired(self):
        rid, number = self.seed_rid, self.seed_number
        self.wait_seed_expired(rid)
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)})
        self.assert_seed(r, 6, "Request ID does not exist or is expired")
        for cmd in ("cancel", "resend"):
            r = self.s.seed("/control", {"request_id": rid, "cmd": cmd})
            self.assert_seed(r, 6, "Request ID does not exist or is expired")
        self.assert_seed_search_status(rid, "EXPIRED")
        r = self.s.seed("/search", {"phone_no": number})
        self.assertEqual(self.assert_json_reply(r),
                         {"phone_no": number, "status": "NOT VERIFIED"},
                         r.describe())
        # The number is free: a new request is a new verification, found
        # under the request id its reply gave.
        _, rid2 = self.seed_request_ok(number=number)
        self.assertNotEqual(rid, rid2)
        self.assert_seed_search_status(rid2, "IN PROGRESS")
        self.assert_seed_search_status(rid, "EXPIRED")

    def test_vonage_expired(self):
        rid, number = self.vonage_rid, self.vonage_number
        self.wait_vonage_expired(rid)
        r = self.s.vonage("/check", {"request_id": rid,
                                     "code": pin_of(number)})
        self.assert_vonage(r, "6",
                           contains="was not found or it has been verified "
                           "already")
        r = self.s.vonage("/control", {"request_id": rid, "cmd": "cancel"})
        self.assert_vonage(r, "6")
        r, d = self.assert_vonage_search_status(rid, "EXPIRED")
        if not d.get("date_finalized"):
            self.fail_reply(r, "expected date_finalized once EXPIRED")
        _, rid2 = self.vonage_request_ok(number=number)
        self.assertNotEqual(rid, rid2)
        r, d = self.assert_vonage_search_status(rid2, "IN PROGRESS")
        if d.get("number") != number:
            self.fail_reply(r, "expected the new verification's number")
        self.assert_vonage_search_status(rid, "EXPIRED")

    def test_vonage_waits_follow_param_min_wait(self):
        # param_min_wait is 1 here: 1 s is accepted, 0 is not.
        self.vonage_request_ok(pin_expiry="1", next_event_wait="1")
        r = self.s.vonage("", {"number": self.s.new_number(), "brand": "X",
                               "pin_expiry": "0"})
        self.assert_vonage(r, "3", contains="`pin_expiry`")

    def test_verified_ttl(self):
        number, rid = self.seed_request_ok()
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)})
        self.assert_seed(r, 0)

        def lookup():
            r = self.s.seed("/search", {"phone_no": number})
            return r, self.assert_json_reply(r)

        r, d = lookup()
        # Verified a moment ago, with a TTL of 2 s.
        if d.get("status") != "VERIFIED":
            self.fail_reply(r, "expected VERIFIED right after the check")
        last = []

        def lapsed():
            last[:] = [lookup()[0]]
            return last[0].data.get("status") == "NOT VERIFIED"

        poll_until(lapsed, DEADLINE, "the verified number to lapse after "
                   "verified_ttl = 2 s", detail=lambda: last[0].describe())
        # The verification itself stays SUCCESS.
        self.assert_seed_search_status(rid, "SUCCESS")


if __name__ == "__main__":
    unittest.main()
