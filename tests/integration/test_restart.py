"""Durability: verifications survive a clean restart and a kill -9.

Each test has its own server (per_test): it is stopped with SIGTERM or
SIGKILL and started again on the same SQLite file.
"""

import signal
import unittest

from harness import KVTestCase, pin_of, wrong_pin


class RestartTests(KVTestCase):
    per_test = True
    settings = {"cancel_min_age": 0}

    def test_clean_restart_keeps_verifications(self):
        n1, rid1 = self.seed_request_ok()
        n2, rid2 = self.vonage_request_ok()
        n3, rid3 = self.seed_request_ok()
        bad = wrong_pin(pin_of(n3))
        r = self.s.seed("/check", {"request_id": rid3, "code": bad})
        self.assert_seed(r, 16)
        r = self.s.seed("/check", {"request_id": rid3, "code": bad})
        self.assert_seed(r, 16)

        self.s.restart()

        self.assert_seed_search_status(rid1, "IN PROGRESS")
        self.assert_vonage_search_status(rid2, "IN PROGRESS")
        # Still live: the same number gives the same request_id.
        r = self.s.seed("", {"phone_no": n1, "brand": "TestApp"})
        self.assert_seed(r, 10, request_id=rid1)
        r = self.s.vonage("", {"number": n2, "brand": "TestApp"})
        self.assert_vonage(r, "10", request_id=rid2)
        # PINs and keys still work.
        r = self.s.seed("/check", {"request_id": rid1, "code": pin_of(n1)})
        self.assert_seed(r, 0, request_id=rid1)
        r = self.s.vonage("/check", {"request_id": rid2, "code": pin_of(n2)})
        self.assert_vonage(r, "0", request_id=rid2)
        # Attempts are durable: the third wrong code fails it.
        r = self.s.seed("/check", {"request_id": rid3, "code": bad})
        self.assert_seed(r, 16)
        r = self.s.seed("/check", {"request_id": rid3, "code": pin_of(n3)})
        self.assert_seed(r, 15)
        r, d = self.assert_seed_search_status(rid3, "FAILED")
        self.assertGreaterEqual(len(d.get("checks", [])), 3, r.describe())
        # Verified numbers are durable.
        r = self.s.seed("/search", {"phone_no": n1})
        self.assert_fields(r, self.assert_json_reply(r),
                           {"status": "VERIFIED", "request_id": rid1})

    def test_sigint_exits_cleanly(self):
        self.seed_request_ok()
        self.s.stop(sig=signal.SIGINT)  # asserts exit status 0

    def test_kill9_after_50_acknowledged_requests(self):
        acked = []
        for i in range(50):
            if i % 2:
                acked.append(self.seed_request_ok())
            else:
                acked.append(self.vonage_request_ok(workflow_id="6"))
        self.s.kill9()
        self.s.restart()
        for number, rid in acked:
            r, d = self.assert_seed_search_status(rid, "IN PROGRESS")
            self.assertEqual(d.get("phone_no"), number, r.describe())
        number, rid = acked[-1]
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)})
        self.assert_seed(r, 0, request_id=rid)
        number, rid = acked[0]
        r = self.s.vonage("", {"number": number, "brand": "TestApp"})
        self.assert_vonage(r, "10", request_id=rid)


if __name__ == "__main__":
    unittest.main()
