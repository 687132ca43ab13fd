"""Credentials and key isolation in both dialects.

Missing, wrong and revoked credentials, HTTP Basic, /healthz without a key,
and a key that uses another key's request_id getting exactly the answer of
an unknown id.
"""

import secrets
import unittest

from harness import KVTestCase, pin_of, poll_until, wrong_pin

SEED_MISSING = "api_key and api_secret parameters required!"
SEED_BAD = "Bad Credentials"
VONAGE_BAD = "Invalid credentials were provided"

# (dialect, path, params without credentials)
ENDPOINTS = [
    ("seed", "/kookooverify", {"phone_no": "919999900001", "brand": "X"}),
    ("seed", "/kookooverify/check", {"request_id": "0" * 32, "code": "1234"}),
    ("seed", "/kookooverify/search", {"request_id": "0" * 32}),
    ("seed", "/kookooverify/control", {"request_id": "0" * 32,
                                       "cmd": "cancel"}),
    ("vonage", "/verify/json", {"number": "919999900001", "brand": "X"}),
    ("vonage", "/verify/check/json", {"request_id": "0" * 32,
                                      "code": "1234"}),
    ("vonage", "/verify/search/json", {"request_id": "0" * 32}),
    ("vonage", "/verify/control/json", {"request_id": "0" * 32,
                                        "cmd": "cancel"}),
]


class CredentialTests(KVTestCase):
    nkeys = 3  # key 2 is revoked by test_revoked_key_is_4

    def assert_status(self, dialect, r, status, text=None, contains=None):
        if dialect == "seed":
            self.assert_seed(r, int(status), text)
        else:
            self.assert_vonage(r, status, text, contains=contains)

    def test_metrics_needs_the_operator_token(self):
        """Every tenant's figures are in /metrics: no API key opens it,
        in any form, only the operator's bearer token."""
        key = self.s.keys[0]
        refused = {
            "nothing": ({}, {}, None),
            "Basic": ({}, {}, self.s.basic(0)),
            "parameters": (dict(key), {}, None),
            "secret as bearer": ({}, {"Authorization":
                                      "Bearer " + key["api_secret"]}, None),
            "wrong token": ({}, {"Authorization": "Bearer kvop_" + "0" * 64},
                            None),
        }
        for name, (params, headers, auth) in refused.items():
            with self.subTest(name):
                r = self.s.get("/metrics", params, auth=auth, headers=headers)
                self.assertEqual(r.status, 401, r.describe())
                self.assertTrue((r.headers.get("WWW-Authenticate") or "")
                                .startswith("Bearer"), r.describe())
                self.assertNotIn(b"kookooverify_", r.raw)
        r = self.s.metrics()
        self.assertEqual(r.status, 200, r.describe())
        self.assertIn(b"# TYPE kookooverify_http_requests_total counter",
                      r.raw, r.describe())

    def test_missing_credentials_is_2(self):
        key = self.s.keys[0]
        for dialect, path, params in ENDPOINTS:
            for creds in ({}, {"api_key": key["api_key"]},
                          {"api_secret": key["api_secret"]}):
                with self.subTest(path=path, creds=list(creds)):
                    p = dict(params, **creds)
                    r = self.s.get(path, p)
                    if dialect == "seed":
                        self.assert_seed(r, 2, SEED_MISSING)
                    else:
                        name = "api_secret" if "api_key" in creds \
                            else "api_key"
                        self.assert_vonage(r, "2", contains="`%s`" % name)

    def test_wrong_secret_or_unknown_key_is_4(self):
        key = self.s.keys[0]
        bad = [{"api_key": key["api_key"], "api_secret": "wrong"},
               {"api_key": key["api_key"],
                "api_secret": key["api_secret"] + "x"},
               {"api_key": "nosuchkey", "api_secret": key["api_secret"]},
               {"api_key": self.s.keys[1]["api_key"],
                "api_secret": key["api_secret"]}]
        for dialect, path, params in ENDPOINTS:
            for creds in bad:
                with self.subTest(path=path, creds=creds):
                    r = self.s.get(path, dict(params, **creds))
                    if dialect == "seed":
                        self.assert_seed(r, 4, SEED_BAD)
                    else:
                        self.assert_vonage(r, "4", VONAGE_BAD)

    def test_basic_auth_works_everywhere(self):
        number, rid = self.seed_request_ok(via="basic-get")
        r = self.s.seed("/search", {"request_id": rid}, via="basic-get")
        self.assert_fields(r, self.assert_json_reply(r),
                           {"status": "IN PROGRESS"})
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)},
                        via="basic-json")
        self.assert_seed(r, 0)
        number, rid = self.vonage_request_ok(via="basic-form")
        r = self.s.vonage("/check", {"request_id": rid,
                                     "code": pin_of(number)}, via="basic-get")
        self.assert_vonage(r, "0")

    def test_basic_auth_wrong_password_is_4(self):
        user = self.s.keys[0]["api_key"]
        r = self.s.get("/kookooverify/search", {"request_id": "0" * 32},
                       auth=(user, "wrong"))
        self.assert_seed(r, 4, SEED_BAD)
        r = self.s.get("/verify/search/json", {"request_id": "0" * 32},
                       auth=(user, "wrong"))
        self.assert_vonage(r, "4", VONAGE_BAD)

    def test_malformed_basic_header_is_refused(self):
        for value in ("Basic", "Basic !!!notbase64", "Basic " + "QQ==",
                      "Bearer abc"):
            with self.subTest(header=value):
                r = self.s.get("/verify/search/json",
                               {"request_id": "0" * 32},
                               headers={"Authorization": value})
                d = self.assert_json_reply(r)
                self.assert_all_strings(r, d)
                if d.get("status") not in ("2", "3", "4"):
                    self.fail_reply(r, "expected status \"2\", \"3\" or "
                                    "\"4\" for a malformed Authorization")

    def test_healthz_without_key_is_200(self):
        r = self.s.get("/healthz")
        if r.status != 200:
            self.fail_reply(r, "expected HTTP 200")

    def test_revoked_key_is_4(self):
        key = self.s.keys[2]
        self.seed_request_ok(key=2)
        cp = self.s.cli("keys", "revoke", key["api_key"], "--db", self.s.db)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        # On PostgreSQL a running node hears of the revoke through its
        # listener, so the key's cached row may serve for a moment more
        # (at most 1 s, docs/SCALING.md).
        replies = []

        def refused():
            replies.append(self.s.seed("", {"phone_no": self.s.new_number(),
                                            "brand": "X"}, key=2))
            return replies[-1].data.get("status") == 4

        poll_until(refused, 3, "the revoked key refused",
                   detail=lambda: replies[-1].describe())
        self.assert_seed(replies[-1], 4, SEED_BAD)
        r = self.s.vonage("", {"number": self.s.new_number(), "brand": "X"},
                          key=2, via="basic-get")
        self.assert_vonage(r, "4", VONAGE_BAD)
        # Other keys are untouched.
        self.seed_request_ok(key=0)


class KeyIsolationTests(KVTestCase):
    """Key 1 using key 0's request_id gets what an unknown id gets."""

    nkeys = 2
    settings = {"cancel_min_age": 0, "resend_cooldown": 0}

    def assert_same_as_unknown(self, send, rid):
        """send(request_id) -> Reply, sent with key 1."""
        other = secrets.token_hex(16)
        a = send(rid)
        b = send(other)
        ba = a.raw.replace(rid.encode(), b"<ID>")
        bb = b.raw.replace(other.encode(), b"<ID>")
        if (a.status, a.content_type, ba) != (b.status, b.content_type, bb):
            self.fail("another key's request_id must answer exactly like an "
                      "unknown one.\nanother key's id:\n%s\nunknown id:\n%s"
                      % (a.describe(), b.describe()))
        return a

    def test_seed_search_check_control(self):
        number, rid = self.seed_request_ok(key=0)
        pin = pin_of(number)
        r = self.assert_same_as_unknown(
            lambda x: self.s.seed("/search", {"request_id": x}, key=1), rid)
        self.assert_seed(r, 101)
        for code in (wrong_pin(pin), wrong_pin(pin), wrong_pin(pin), pin):
            r = self.assert_same_as_unknown(
                lambda x: self.s.seed("/check", {"request_id": x,
                                                 "code": code}, key=1), rid)
            self.assert_seed(r, 6)
        for cmd in ("cancel", "resend"):
            r = self.assert_same_as_unknown(
                lambda x: self.s.seed("/control", {"request_id": x,
                                                   "cmd": cmd}, key=1), rid)
            self.assert_seed(r, 6)
        # Key 0's verification is untouched: no attempts used, not cancelled.
        r, d = self.assert_seed_search_status(rid, "IN PROGRESS", key=0)
        self.assertEqual(d.get("checks"), [], r.describe())
        r = self.s.seed("/check", {"request_id": rid, "code": pin}, key=0)
        self.assert_seed(r, 0)
        # After key 0 verified it, key 1 still sees nothing.
        r = self.assert_same_as_unknown(
            lambda x: self.s.seed("/check", {"request_id": x, "code": pin},
                                  key=1), rid)
        self.assert_seed(r, 6)

    def test_vonage_search_check_control(self):
        number, rid = self.vonage_request_ok(key=0)
        pin = pin_of(number)
        for fmt in ("json", "xml"):
            r = self.assert_same_as_unknown(
                lambda x: self.s.vonage("/search", {"request_id": x}, key=1,
                                        fmt=fmt), rid)
        r = self.assert_same_as_unknown(
            lambda x: self.s.vonage("/search", [("request_ids", x),
                                                ("request_ids", x)],
                                    key=1), rid)
        for code in (wrong_pin(pin), wrong_pin(pin), wrong_pin(pin), pin):
            r = self.assert_same_as_unknown(
                lambda x: self.s.vonage("/check", {"request_id": x,
                                                   "code": code}, key=1), rid)
            self.assert_vonage(r, "6")
        for cmd in ("cancel", "trigger_next_event"):
            r = self.assert_same_as_unknown(
                lambda x: self.s.vonage("/control", {"request_id": x,
                                                     "cmd": cmd}, key=1),
                rid)
            self.assert_vonage(r, "6")
        r, d = self.assert_vonage_search_status(rid, "IN PROGRESS", key=0)
        self.assertEqual(d.get("checks"), [], r.describe())
        r = self.s.vonage("/check", {"request_id": rid, "code": pin}, key=0)
        self.assert_vonage(r, "0")

    def test_verified_number_is_per_key(self):
        number, rid = self.seed_request_ok(key=0)
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)},
                        key=0)
        self.assert_seed(r, 0)
        r = self.s.seed("/search", {"phone_no": number}, key=0)
        self.assert_fields(r, self.assert_json_reply(r),
                           {"status": "VERIFIED"})
        r = self.s.seed("/search", {"phone_no": number}, key=1)
        self.assertEqual(self.assert_json_reply(r),
                         {"phone_no": number, "status": "NOT VERIFIED"},
                         r.describe())

    def test_same_number_live_for_two_keys(self):
        number, rid0 = self.vonage_request_ok(key=0)
        _, rid1 = self.vonage_request_ok(number=number, key=1)
        self.assertNotEqual(rid0, rid1)
        # Each key checks its own with the same (test) PIN.
        r = self.s.vonage("/check", {"request_id": rid1,
                                     "code": pin_of(number)}, key=1)
        self.assert_vonage(r, "0")
        self.assert_vonage_search_status(rid0, "IN PROGRESS", key=0)


if __name__ == "__main__":
    unittest.main()
