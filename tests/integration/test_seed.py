"""Seed dialect (/kookooverify...): request, check, search, control.

Every status each endpoint can give, the URL forms, the number forms, the
3-attempt rule, search's checks[] and status strings after each transition
and the verified-number lookup.  Expiry is in test_expiry.py.
"""

import datetime
import secrets
import unittest

from harness import DATETIME_RE, KVTestCase, pin_of, wrong_pin

SEED_SETTINGS = {"cancel_min_age": 0, "resend_cooldown": 0, "resend_max": 1}

MISSING_REQUEST = "phone_no and brand parameters required!"
MISSING_CHECK = "request_id and code parameters required!"
MISSING_SEARCH = "request_id parameters required!"
MISSING_CONTROL = "request_id and cmd parameters required!"
CONCURRENT = "Concurrent verifications to the same number are not allowed"
WRONG_CODE = "The code provided does not match the expected value"
LIMIT = "Verify Limit Exceeded"
NOT_FOUND = "Request ID does not exist or is expired"
VERIFIED = "Verified already"
CANCELLED = "Verification cancelled"


def unknown_id():
    return secrets.token_hex(16)


def parse_utc(s):
    return datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)


class SeedRequestTests(KVTestCase):
    settings = SEED_SETTINGS
    nkeys = 2

    def test_request_url_without_slash(self):
        self.seed_request_ok(path="")

    def test_request_url_with_slash(self):
        self.seed_request_ok(path="/")

    def test_request_post_form_on_both_urls(self):
        self.seed_request_ok(path="", via="form")
        self.seed_request_ok(path="/", via="form")

    def test_request_post_json_on_both_urls(self):
        self.seed_request_ok(path="", via="json")
        self.seed_request_ok(path="/", via="json")

    def test_request_post_json_phone_as_json_number(self):
        number = self.s.new_number()
        r = self.s.seed("", {"phone_no": int(number), "brand": "TestApp"},
                        via="json")
        d = self.assert_seed(r, 0)
        _, s = self.seed_search(d["request_id"])
        self.assertEqual(s.get("phone_no"), number, s)

    def test_request_reply_is_status_and_request_id(self):
        number = self.s.new_number()
        r = self.s.seed("", {"phone_no": number, "brand": "TestApp"})
        d = self.assert_seed(r, 0)
        self.assert_request_id(r, d.get("request_id"))
        if "error_text" in d:
            self.fail_reply(r, "expected no error_text on success")

    def test_four_number_forms_are_one_number(self):
        e164 = self.s.new_number()  # 91 + 10 digits
        national = e164[2:]
        forms = [national, "0" + national, e164, "+" + e164]
        _, rid = self.seed_request_ok(number=forms[0])
        for form in forms[1:]:
            r = self.s.seed("", {"phone_no": form, "brand": "TestApp"})
            self.assert_seed(r, 10, CONCURRENT, request_id=rid)
        r, d = self.seed_search(rid)
        self.assertEqual(d.get("phone_no"), e164,
                         "search phone_no: E.164 digits without +\n"
                         + r.describe())

    def test_request_missing_params_is_2(self):
        number = self.s.new_number()
        for params in ({"brand": "TestApp"}, {"phone_no": number}, {}):
            with self.subTest(params=params):
                r = self.s.seed("", params)
                self.assert_seed(r, 2, MISSING_REQUEST)
        # Nothing was stored for that number: a request now succeeds.
        self.seed_request_ok(number=number)

    def test_request_invalid_number_is_3(self):
        for bad in ("98765", "98765abcde", "5555555555", "++919876543210",
                    "91987654321"):
            with self.subTest(phone_no=bad):
                r = self.s.seed("", {"phone_no": bad, "brand": "TestApp"})
                d = self.assert_seed(r, 3)
                if not d.get("error_text"):
                    self.fail_reply(r, "expected an error_text")
                if "request_id" in d and d["request_id"]:
                    self.fail_reply(r, "expected no request_id")

    def test_second_request_same_number_is_10_with_existing_id(self):
        number, rid = self.seed_request_ok()
        r = self.s.seed("/", {"phone_no": number, "brand": "Other"})
        self.assert_seed(r, 10, CONCURRENT, request_id=rid)
        r = self.s.seed("", {"phone_no": number, "brand": "TestApp"},
                        via="form")
        self.assert_seed(r, 10, CONCURRENT, request_id=rid)

    def test_one_live_verification_per_key_not_per_server(self):
        number, rid = self.seed_request_ok(key=0)
        _, rid2 = self.seed_request_ok(number=number, key=1)
        self.assertNotEqual(rid, rid2)

    def test_request_after_final_state_creates_a_new_one(self):
        number, rid = self.seed_request_ok()
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)})
        self.assert_seed(r, 0)
        _, rid2 = self.seed_request_ok(number=number)
        self.assertNotEqual(rid, rid2)

    def test_unknown_parameters_are_ignored(self):
        number = self.s.new_number()
        r = self.s.seed("", {"phone_no": number, "brand": "TestApp",
                             "foo": "bar", "x_y": ""})
        self.assert_seed(r, 0)


class SeedCheckTests(KVTestCase):
    settings = SEED_SETTINGS

    def check(self, rid, code, via="get"):
        return self.s.seed("/check", {"request_id": rid, "code": code},
                           via=via)

    def test_right_code_is_0_then_18(self):
        number, rid = self.seed_request_ok()
        r = self.check(rid, pin_of(number))
        d = self.assert_seed(r, 0, message="Verified successfully",
                             request_id=rid)
        if "error_text" in d:
            self.fail_reply(r, "expected no error_text on success")
        self.assert_seed(self.check(rid, pin_of(number)), 18, VERIFIED)
        self.assert_seed(self.check(rid, wrong_pin(pin_of(number))), 18,
                         VERIFIED)

    def test_wrong_then_right_is_16_then_0(self):
        number, rid = self.seed_request_ok()
        self.assert_seed(self.check(rid, wrong_pin(pin_of(number))), 16,
                         WRONG_CODE)
        self.assert_seed(self.check(rid, pin_of(number)), 0,
                         message="Verified successfully", request_id=rid)

    def test_three_wrong_then_right_fails_with_15(self):
        number, rid = self.seed_request_ok()
        bad = wrong_pin(pin_of(number))
        for i in range(3):
            r = self.check(rid, bad)
            self.assert_seed(r, 16, WRONG_CODE)
        self.assert_seed(self.check(rid, pin_of(number)), 15, LIMIT)
        self.assert_seed(self.check(rid, bad), 15, LIMIT)
        self.assert_seed_search_status(rid, "FAILED")

    def test_missing_params_is_2(self):
        number, rid = self.seed_request_ok()
        for params in ({"request_id": rid}, {"code": pin_of(number)}, {}):
            with self.subTest(params=params):
                r = self.s.seed("/check", params)
                self.assert_seed(r, 2, MISSING_CHECK)
        # Those did not count as attempts.
        self.assert_seed(self.check(rid, pin_of(number)), 0)

    def test_unknown_id_is_6(self):
        self.assert_seed(self.check(unknown_id(), "1234"), 6, NOT_FOUND)

    def test_cancelled_is_19(self):
        number, rid = self.seed_request_ok()
        r = self.s.seed("/control", {"request_id": rid, "cmd": "cancel"})
        self.assert_seed(r, 0, response="CANCELLED")
        self.assert_seed(self.check(rid, pin_of(number)), 19, CANCELLED)

    def test_check_post_form_and_json_with_code_as_number(self):
        number, rid = self.seed_request_ok()
        r = self.check(rid, wrong_pin(pin_of(number)), via="form")
        self.assert_seed(r, 16, WRONG_CODE)
        r = self.s.seed("/check", {"request_id": rid,
                                   "code": int(pin_of(number))}, via="json")
        self.assert_seed(r, 0, message="Verified successfully",
                         request_id=rid)

    def test_check_with_basic_auth(self):
        number, rid = self.seed_request_ok(via="basic-get")
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)},
                        via="basic-form")
        self.assert_seed(r, 0, message="Verified successfully",
                         request_id=rid)


class SeedSearchTests(KVTestCase):
    settings = SEED_SETTINGS
    nkeys = 2

    def check(self, rid, code, key=0):
        return self.s.seed("/check", {"request_id": rid, "code": code}, key)

    def assert_checks(self, rid, want):
        """want: list of (code, "VALID"|"INVALID") the checks[] must hold."""
        r, d = self.seed_search(rid)
        checks = d.get("checks")
        if not isinstance(checks, list):
            self.fail_reply(r, "expected checks to be a list")
        got = [(c.get("code"), c.get("status")) for c in checks]
        if got[:len(want)] != want or len(got) < len(want):
            self.fail_reply(r, "expected checks %r" % (want,))
        for c in checks:
            if not DATETIME_RE.match(str(c.get("created_at"))):
                self.fail_reply(r, "expected check created_at "
                                "'YYYY-MM-DD HH:MM:SS'")
        return r, d

    def test_missing_is_2(self):
        r = self.s.seed("/search", {})
        self.assert_seed(r, 2, MISSING_SEARCH)

    def test_unknown_is_101(self):
        r = self.s.seed("/search", {"request_id": unknown_id()})
        self.assert_seed(r, 101, "No response found")

    def test_in_progress_fields(self):
        number, rid = self.seed_request_ok(brand="MyBrand")
        r, d = self.seed_search(rid)
        for k in ("request_id", "phone_no", "brand", "created_at", "status",
                  "checks", "events"):
            if k not in d:
                self.fail_reply(r, "expected field %r" % k)
        self.assert_fields(r, d, {"phone_no": number, "brand": "MyBrand",
                                  "status": "IN PROGRESS", "checks": []})
        if not isinstance(d["events"], list):
            self.fail_reply(r, "expected events to be a list")
        if not DATETIME_RE.match(str(d["created_at"])):
            self.fail_reply(r, "expected created_at 'YYYY-MM-DD HH:MM:SS'")
        now = datetime.datetime.now(datetime.timezone.utc)
        delta = abs((now - parse_utc(d["created_at"])).total_seconds())
        if delta > 120:
            self.fail_reply(r, "expected created_at in UTC near %s" % now)

    def test_checks_and_status_after_wrong_then_right(self):
        number, rid = self.seed_request_ok()
        pin = pin_of(number)
        bad = wrong_pin(pin)
        self.assert_seed(self.check(rid, bad), 16)
        r, d = self.assert_checks(rid, [(bad, "INVALID")])
        self.assertEqual(d["status"], "IN PROGRESS", r.describe())
        self.assert_seed(self.check(rid, pin), 0)
        r, d = self.assert_checks(rid, [(bad, "INVALID"), (pin, "VALID")])
        self.assertEqual(d["status"], "SUCCESS", r.describe())

    def test_checks_and_status_after_three_wrong(self):
        number, rid = self.seed_request_ok()
        bad = wrong_pin(pin_of(number))
        bad2 = wrong_pin(bad)
        codes = [bad, bad2, bad]
        for i, code in enumerate(codes):
            self.assert_seed(self.check(rid, code), 16)
            want = [(c, "INVALID") for c in codes[:i + 1]]
            r, d = self.assert_checks(rid, want)
            st = "FAILED" if i == 2 else "IN PROGRESS"
            self.assertEqual(d["status"], st, r.describe())

    def test_cancelled_status(self):
        number, rid = self.seed_request_ok()
        r = self.s.seed("/control", {"request_id": rid, "cmd": "cancel"})
        self.assert_seed(r, 0, response="CANCELLED")
        self.assert_seed_search_status(rid, "CANCELLED")

    def test_search_via_post_and_basic(self):
        number, rid = self.seed_request_ok()
        for via in ("form", "json", "basic-get", "basic-json"):
            with self.subTest(via=via):
                r = self.s.seed("/search", {"request_id": rid}, via=via)
                d = self.assert_json_reply(r)
                self.assert_fields(r, d, {"request_id": rid,
                                          "status": "IN PROGRESS"})

    def lookup(self, phone, key=0):
        r = self.s.seed("/search", {"phone_no": phone}, key)
        return r, self.assert_json_reply(r)

    def test_verified_number_lookup(self):
        number, rid = self.seed_request_ok()
        r, d = self.lookup(number)
        self.assertEqual(d, {"phone_no": number, "status": "NOT VERIFIED"},
                         r.describe())
        self.assert_seed(self.check(rid, pin_of(number)), 0)
        for form in (number, number[2:], "0" + number[2:], "+" + number):
            with self.subTest(form=form):
                r, d = self.lookup(form)
                self.assert_fields(r, d, {"phone_no": number,
                                          "status": "VERIFIED",
                                          "request_id": rid})
                for k in ("verified_at", "verified_until"):
                    if not isinstance(d.get(k), str) or not d[k]:
                        self.fail_reply(r, "expected a non-empty %s" % k)
                if DATETIME_RE.match(d["verified_at"]) and \
                        DATETIME_RE.match(d["verified_until"]):
                    ttl = (parse_utc(d["verified_until"])
                           - parse_utc(d["verified_at"])).total_seconds()
                    if abs(ttl - 2592000) > 2:
                        self.fail_reply(r, "expected verified_until = "
                                        "verified_at + 2592000 s")
        # Another key never sees this key's verified numbers.
        r, d = self.lookup(number, key=1)
        self.assertEqual(d, {"phone_no": number, "status": "NOT VERIFIED"},
                         r.describe())

    def test_failed_or_cancelled_is_not_verified(self):
        number, rid = self.seed_request_ok()
        bad = wrong_pin(pin_of(number))
        for _ in range(3):
            self.assert_seed(self.check(rid, bad), 16)
        r, d = self.lookup(number)
        self.assertEqual(d, {"phone_no": number, "status": "NOT VERIFIED"},
                         r.describe())

    def test_lookup_of_invalid_number_is_3(self):
        r = self.s.seed("/search", {"phone_no": "98765"})
        self.assert_seed(r, 3)


class SeedControlTests(KVTestCase):
    settings = SEED_SETTINGS  # resend: no cooldown, at most 1

    def control(self, rid, cmd, via="get"):
        return self.s.seed("/control", {"request_id": rid, "cmd": cmd},
                           via=via)

    def test_missing_is_2(self):
        number, rid = self.seed_request_ok()
        for params in ({"request_id": rid}, {"cmd": "cancel"}, {}):
            with self.subTest(params=params):
                r = self.s.seed("/control", params)
                self.assert_seed(r, 2, MISSING_CONTROL)
        self.assert_seed_search_status(rid, "IN PROGRESS")

    def test_cancel_then_cancel_again_is_19(self):
        number, rid = self.seed_request_ok()
        self.assert_seed(self.control(rid, "cancel"), 0,
                         response="CANCELLED")
        self.assert_seed(self.control(rid, "cancel"), 19, CANCELLED)
        self.assert_seed_search_status(rid, "CANCELLED")
        # The number is free again.
        _, rid2 = self.seed_request_ok(number=number)
        self.assertNotEqual(rid, rid2)

    def test_cancel_via_post(self):
        number, rid = self.seed_request_ok()
        self.assert_seed(self.control(rid, "cancel", via="json"), 0,
                         response="CANCELLED")
        number, rid = self.seed_request_ok()
        self.assert_seed(self.control(rid, "cancel", via="form"), 0,
                         response="CANCELLED")

    def test_other_cmd_is_1_invalid_command(self):
        number, rid = self.seed_request_ok()
        for cmd in ("explode", "CANCELx", "trigger"):
            with self.subTest(cmd=cmd):
                self.assert_seed(self.control(rid, cmd), 1,
                                 response="INVALID COMMAND")
        self.assert_seed_search_status(rid, "IN PROGRESS")

    def test_unknown_id_is_6(self):
        self.assert_seed(self.control(unknown_id(), "cancel"), 6, NOT_FOUND)
        self.assert_seed(self.control(unknown_id(), "resend"), 6, NOT_FOUND)

    def test_verified_is_18(self):
        number, rid = self.seed_request_ok()
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)})
        self.assert_seed(r, 0)
        self.assert_seed(self.control(rid, "cancel"), 18, VERIFIED)
        self.assert_seed(self.control(rid, "resend"), 18, VERIFIED)
        self.assert_seed_search_status(rid, "SUCCESS")

    def test_failed_is_15(self):
        number, rid = self.seed_request_ok()
        bad = wrong_pin(pin_of(number))
        for _ in range(3):
            r = self.s.seed("/check", {"request_id": rid, "code": bad})
            self.assert_seed(r, 16)
        self.assert_seed(self.control(rid, "cancel"), 15, LIMIT)
        self.assert_seed_search_status(rid, "FAILED")

    def test_resend_then_over_cap_is_1(self):
        number, rid = self.seed_request_ok()
        self.assert_seed(self.control(rid, "resend"), 0, response="RESENT")
        self.assert_seed(self.control(rid, "resend"), 1)
        # Resending changes nothing else: the PIN still works.
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)})
        self.assert_seed(r, 0)

    def test_resend_after_cancel_is_19(self):
        number, rid = self.seed_request_ok()
        self.assert_seed(self.control(rid, "cancel"), 0, response="CANCELLED")
        self.assert_seed(self.control(rid, "resend"), 19, CANCELLED)


class SeedResendCooldownTests(KVTestCase):
    settings = {"resend_cooldown": 30, "resend_max": 3}

    def test_resend_inside_cooldown_is_1(self):
        number, rid = self.seed_request_ok()
        r = self.s.seed("/control", {"request_id": rid, "cmd": "resend"})
        self.assert_seed(r, 1, "Throttled: resent too recently")
        # The wait left of the 30 s cooldown, so a client can count down.
        self.assertIn(int(r.headers.get("Retry-After", "0")), range(28, 31),
                      r.describe())
        self.assert_seed_search_status(rid, "IN PROGRESS")


class VonageResendLimitTests(KVTestCase):
    settings = {"resend_cooldown": 30, "resend_max": 1}

    def test_cooldown_says_so_with_retry_after(self):
        number = self.s.new_number()
        d = self.assert_vonage(self.s.vonage("", {"number": number,
                                                  "brand": "App"}), "0")
        r = self.s.vonage("/control", {"request_id": d["request_id"],
                                       "cmd": "resend"})
        self.assert_vonage(r, "1", error_text="Throttled: resent too "
                           "recently")
        self.assertIn(int(r.headers.get("Retry-After", "0")), range(28, 31),
                      r.describe())


class VonageResendCapTests(KVTestCase):
    settings = {"resend_cooldown": 0, "resend_max": 1}

    def test_cap_says_so(self):
        number = self.s.new_number()
        d = self.assert_vonage(self.s.vonage("", {"number": number,
                                                  "brand": "App"}), "0")
        params = {"request_id": d["request_id"], "cmd": "resend"}
        self.assert_vonage(self.s.vonage("/control", params), "0")
        r = self.s.vonage("/control", params)
        self.assert_vonage(r, "1", error_text="Throttled: no resends left")
        self.assertIsNone(r.headers.get("Retry-After"), r.describe())


if __name__ == "__main__":
    unittest.main()
