"""Idempotency-Key on the Verify v2 start, against the KooKoo simulator: a
retry with the same key and body gets the first answer (same status, same
body) and the number gets one SMS; the same key with another body is
refused 422; two copies racing to the writer both get the first answer."""

import itertools
import json

from harness import SimTestCase, db_query, run_all
from test_v2 import NEXMO, V2Steps

_numbers = itertools.count(1)


def real_number():
    """A number that is not a test number: its code goes out by SMS."""
    return "9198126%05d" % next(_numbers)


class V2IdempotencyTests(V2Steps, SimTestCase):
    sim_name = "idem-sim"

    def start_keyed(self, number, key, brand="TestApp"):
        body = json.dumps({"brand": brand,
                           "workflow": [{"channel": "sms", "to": number}]})
        return self.v2("POST", "", body, headers={"Idempotency-Key": key})

    def verifications_of(self, number):
        return db_query(self.s.db, "SELECT count(*) FROM verifications "
                        "WHERE number = ?", (number,))[0][0]

    def test_retry_gets_the_first_answer_and_no_second_sms(self):
        self.wire()
        number = real_number()
        first = self.start_keyed(number, "order-1")
        self.assert_status(first, 202)
        self.wait_sms(number)
        again = self.start_keyed(number, "order-1")
        self.assert_status(again, 202)
        self.assertEqual(again.raw, first.raw)
        self.assertEqual(self.verifications_of(number), 1)
        self.assertEqual(len(self.sim.sms(number)), 1)
        # Without the key the same body is a new request: the live one
        # refuses it, as Vonage does.
        r = self.v2("POST", "", json.dumps(
            {"brand": "TestApp",
             "workflow": [{"channel": "sms", "to": number}]}))
        self.assert_problem(r, 409,
                            "https://www.developer.vonage.com/api-errors/"
                            "verify#conflict", "Conflict")

    def test_same_key_other_body_is_refused(self):
        self.wire()
        number = real_number()
        self.assert_status(self.start_keyed(number, "k-2"), 202)
        r = self.start_keyed(number, "k-2", brand="Other")
        self.assert_problem(r, 422, NEXMO + "#invalid-param",
                            "Invalid params", "Idempotency-Key")
        r = self.start_keyed(real_number(), "k-2")
        self.assert_problem(r, 422, NEXMO + "#invalid-param",
                            "Invalid params", "Idempotency-Key")

    def test_keys_are_per_api_key(self):
        self.wire()
        number = real_number()
        self.assert_status(self.start_keyed(number, "shared"), 202)
        key = self.s.create_key()
        body = json.dumps({"brand": "TestApp",
                           "workflow": [{"channel": "sms",
                                         "to": real_number()}]})
        r = self.v2("POST", "", body, headers={"Idempotency-Key": "shared"},
                    auth=(key["api_key"], key["api_secret"]))
        self.assert_status(r, 202)

    def test_racing_copies_get_one_verification(self):
        self.wire()
        number = real_number()
        replies = run_all([lambda: self.start_keyed(number, "race")] * 4)
        for r in replies:
            self.assert_status(r, 202)
        self.assertEqual({r.raw for r in replies}, {replies[0].raw})
        self.assertEqual(self.verifications_of(number), 1)
        self.wait_sms(number)

    def test_malformed_keys(self):
        self.wire()
        for key in ("", "x" * 256, "caf\u00e9".encode().decode("latin-1")):
            r = self.start_keyed(real_number(), key)
            d = self.assert_invalid(r, "Idempotency-Key")
            self.assertEqual(len(d["invalid_parameters"]), 1)


class V1IdempotencyTests(SimTestCase):
    """The same header on Vonage v1's request (/verify/json)."""

    sim_name = "idem-v1-sim"

    def request(self, number, key, brand="TestApp", basic=False):
        params = {"number": number, "brand": brand}
        auth = None
        if basic:
            auth = self.s.basic(0)
        else:
            params.update(self.s.creds(0))
        return self.s.post_form("/verify/json", params, auth=auth,
                                headers={"Idempotency-Key": key})

    def test_retry_gets_the_first_answer_and_no_second_sms(self):
        self.wire()
        number = real_number()
        first = self.request(number, "v1-order")
        self.assertEqual(first.data["status"], "0", first.describe())
        self.wait_sms(number)
        # Credentials as Basic this time: the same request all the same.
        again = self.request(number, "v1-order", basic=True)
        self.assertEqual(again.raw, first.raw)
        self.assertEqual(len(self.sim.sms(number)), 1)

    def test_same_key_other_request_is_refused(self):
        self.wire()
        number = real_number()
        self.assertEqual(self.request(number, "v1-k").data["status"], "0")
        r = self.request(number, "v1-k", brand="Other")
        self.assertEqual(r.data["status"], "3", r.describe())
        self.assertIn("Idempotency-Key", r.data["error_text"])
        r = self.request(real_number(), "x" * 256)
        self.assertEqual(r.data["status"], "3", r.describe())
