"""Vonage Verify v1 dialect (/verify/...): request, check, search, control.

JSON and XML, string-typed values, GET / POST form / POST JSON with numbers
and strings, parameter ranges, search of several ids, cancel with and
without cancel_min_age, trigger_next_event.
"""

import secrets
import unittest

from harness import KVTestCase, db_query, poll_until, pin_of, wrong_pin

CONCURRENT = "Concurrent verifications to the same number are not allowed."
WRONG_CODE = "The code provided does not match the expected value"
TOO_MANY = "The wrong code was provided too many times"
NOT_FOUND = "was not found or it has been verified already"


def missing(name):
    return ("Your request is incomplete and missing the mandatory parameter "
            "`%s`" % name)


def unknown_id():
    return secrets.token_hex(16)


class VonageRequestTests(KVTestCase):
    settings = {"resend_cooldown": 0}

    def request(self, params, via="get", fmt="json"):
        return self.s.vonage("", params, via=via, fmt=fmt)

    def assert_refused(self, params, status, name):
        """A request refused with `status` whose error_text names `name`."""
        r = self.request(params)
        d = self.assert_vonage(r, status, contains="`%s`" % name,
                               request_id="")
        return r, d

    def test_request_json(self):
        number = self.s.new_number()
        r = self.request({"number": number, "brand": "TestApp"})
        d = self.assert_vonage(r, "0")
        self.assert_request_id(r, d.get("request_id"))
        if d.get("error_text"):
            self.fail_reply(r, "expected no error_text on success")

    def test_request_xml(self):
        number = self.s.new_number()
        r = self.request({"number": number, "brand": "TestApp"}, fmt="xml")
        el = self.assert_xml(r, "verify_response", "0")
        self.assert_request_id(r, el.findtext("request_id"))

    def test_request_xml_error(self):
        r = self.request({"brand": "TestApp"}, fmt="xml")
        el = self.assert_xml(r, "verify_response", "2")
        if "`number`" not in (el.findtext("error_text") or ""):
            self.fail_reply(r, "expected error_text naming `number`")

    def test_missing_number_or_brand_is_2(self):
        number = self.s.new_number()
        r = self.request({"brand": "TestApp"})
        self.assert_vonage(r, "2", missing("number"), request_id="")
        r = self.request({"number": number})
        self.assert_vonage(r, "2", missing("brand"), request_id="")

    def test_concurrent_is_10_with_existing_id(self):
        number, rid = self.vonage_request_ok()
        r = self.request({"number": number, "brand": "TestApp"})
        self.assert_vonage(r, "10", CONCURRENT, request_id=rid)
        r = self.request({"number": number, "brand": "TestApp"}, fmt="xml")
        el = self.assert_xml(r, "verify_response", "10")
        self.assertEqual(el.findtext("request_id"), rid, r.describe())

    def test_seed_and_vonage_share_the_live_rule(self):
        number, rid = self.vonage_request_ok()
        r = self.s.seed("", {"phone_no": number, "brand": "TestApp"})
        self.assert_seed(r, 10, request_id=rid)

    def test_invalid_number_is_3(self):
        for bad in ("98765", "98765abcde", "5555555555"):
            with self.subTest(number=bad):
                self.assert_refused({"number": bad, "brand": "TestApp"}, "3",
                                    "number")

    def test_national_number_with_country(self):
        e164 = self.s.new_number()
        number, rid = self.vonage_request_ok(number=e164[2:], country="IN")
        r, d = self.vonage_search(rid)
        self.assertEqual(d.get("number"), e164, r.describe())
        # The same number in E.164 is the same live verification.
        r = self.request({"number": e164, "brand": "TestApp"})
        self.assert_vonage(r, "10", CONCURRENT, request_id=rid)

    def test_national_number_with_wrong_country_is_3(self):
        e164 = self.s.new_number()
        self.assert_refused({"number": e164[2:], "country": "US",
                             "brand": "TestApp"}, "3", "number")

    def test_pin_code_is_20_unsupported(self):
        # Vonage answers 20 to accounts without custom PINs; silently
        # sending a random PIN instead would break the app's flow.
        r = self.request({"number": self.s.new_number(), "brand": "TestApp",
                          "pin_code": "123456"})
        self.assert_vonage(r, "20", "This account does not support the "
                           "parameter: pin_code.", request_id="")

    def test_brand_18_chars_ok_19_refused(self):
        self.vonage_request_ok(brand="B" * 18)
        number = self.s.new_number()
        self.assert_refused({"number": number, "brand": "B" * 19}, "3",
                            "brand")
        # Nothing was stored: the number is still free.
        self.vonage_request_ok(number=number)

    def test_sender_id(self):
        self.vonage_request_ok(sender_id="MyApp")
        self.assert_refused({"number": self.s.new_number(), "brand": "X",
                             "sender_id": "A" * 12}, "3", "sender_id")

    def test_workflow_1_to_7_accepted(self):
        for wf in range(1, 8):
            with self.subTest(workflow_id=wf):
                self.vonage_request_ok(workflow_id=str(wf))

    def test_workflow_0_and_10_refused(self):
        # 8 and 9 are this server's missed-call workflows (test_missed_call).
        for wf in ("0", "10", "-1", "x"):
            with self.subTest(workflow_id=wf):
                self.assert_refused({"number": self.s.new_number(),
                                     "brand": "TestApp", "workflow_id": wf},
                                    "3", "workflow_id")

    def test_code_length_4_and_6_accepted(self):
        # A test number's PIN has its own length: only the status counts.
        for n in ("4", "6", "10"):
            with self.subTest(code_length=n):
                self.vonage_request_ok(code_length=n)

    def test_code_length_out_of_range_refused(self):
        for n in ("3", "11", "abc"):
            with self.subTest(code_length=n):
                self.assert_refused({"number": self.s.new_number(),
                                     "brand": "TestApp", "code_length": n},
                                    "3", "code_length")

    def test_pin_expiry_and_next_event_wait_bounds(self):
        # param_min_wait is 60 on this server (the default).
        for name, lo, hi in (("pin_expiry", 60, 3600),
                             ("next_event_wait", 60, 900)):
            for ok in (lo, hi):
                with self.subTest(name=name, value=ok):
                    self.vonage_request_ok(**{name: str(ok)})
            for bad in (lo - 1, hi + 1, 0, -5):
                with self.subTest(name=name, value=bad):
                    self.assert_refused({"number": self.s.new_number(),
                                         "brand": "TestApp",
                                         name: str(bad)}, "3", name)

    def test_lg_accepted(self):
        self.vonage_request_ok(lg="en-us")

    def test_post_form(self):
        self.vonage_request_ok(via="form", code_length="6", workflow_id="6")

    def test_post_json_with_strings(self):
        self.vonage_request_ok(via="json", code_length="6", workflow_id="6",
                               pin_expiry="120")

    def test_post_json_with_numbers(self):
        number = self.s.new_number()
        r = self.s.vonage("", {"number": int(number), "brand": "TestApp",
                               "code_length": 6, "workflow_id": 6,
                               "pin_expiry": 120}, via="json")
        d = self.assert_vonage(r, "0")
        r, s = self.vonage_search(d["request_id"])
        self.assertEqual(s.get("number"), number, r.describe())

    def test_post_json_with_basic_auth(self):
        number, rid = self.vonage_request_ok(via="basic-json")
        r, s = self.vonage_search(rid)
        self.assertEqual(s.get("account_id"), self.s.keys[0]["api_key"],
                         r.describe())

    def test_get_with_basic_auth(self):
        self.vonage_request_ok(via="basic-get")

    def test_post_form_with_basic_auth(self):
        self.vonage_request_ok(via="basic-form")


class VonageCheckTests(KVTestCase):
    settings = {"cancel_min_age": 0}

    def check(self, rid, code, via="get", fmt="json"):
        return self.s.vonage("/check", {"request_id": rid, "code": code},
                             via=via, fmt=fmt)

    def test_right_code(self):
        number, rid = self.vonage_request_ok()
        r = self.check(rid, pin_of(number))
        d = self.assert_vonage(r, "0", request_id=rid, price="0.00000000",
                               currency="EUR")
        if not d.get("event_id"):
            self.fail_reply(r, "expected a non-empty event_id")
        # Verified already: Vonage says "not found or verified already".
        r = self.check(rid, pin_of(number))
        self.assert_vonage(r, "6", contains=NOT_FOUND)
        self.assert_vonage_search_status(rid, "SUCCESS")

    def test_wrong_code_is_16(self):
        number, rid = self.vonage_request_ok()
        r = self.check(rid, wrong_pin(pin_of(number)))
        self.assert_vonage(r, "16", WRONG_CODE)
        self.assert_vonage(self.check(rid, pin_of(number)), "0")

    def test_third_wrong_is_17_then_17(self):
        number, rid = self.vonage_request_ok()
        bad = wrong_pin(pin_of(number))
        self.assert_vonage(self.check(rid, bad), "16", WRONG_CODE)
        self.assert_vonage(self.check(rid, bad), "16", WRONG_CODE)
        self.assert_vonage(self.check(rid, bad), "17", TOO_MANY)
        self.assert_vonage(self.check(rid, pin_of(number)), "17")
        self.assert_vonage(self.check(rid, bad), "17")
        self.assert_vonage_search_status(rid, "FAILED")

    def test_unknown_is_6(self):
        r = self.check(unknown_id(), "1234")
        self.assert_vonage(r, "6", contains=NOT_FOUND)

    def test_cancelled_is_6(self):
        number, rid = self.vonage_request_ok()
        r = self.s.vonage("/control", {"request_id": rid, "cmd": "cancel"})
        self.assert_vonage(r, "0", command="cancel")
        r = self.check(rid, pin_of(number))
        self.assert_vonage(r, "6", contains=NOT_FOUND)

    def test_missing_is_2(self):
        number, rid = self.vonage_request_ok()
        r = self.s.vonage("/check", {"request_id": rid})
        self.assert_vonage(r, "2", contains="`code`")
        r = self.s.vonage("/check", {"code": pin_of(number)})
        self.assert_vonage(r, "2", contains="`request_id`")
        self.assert_vonage(self.check(rid, pin_of(number)), "0")

    def test_check_xml(self):
        number, rid = self.vonage_request_ok()
        r = self.check(rid, wrong_pin(pin_of(number)), fmt="xml")
        self.assert_xml(r, "verify_response", "16")
        r = self.check(rid, pin_of(number), fmt="xml")
        el = self.assert_xml(r, "verify_response", "0")
        self.assertEqual(el.findtext("request_id"), rid, r.describe())

    def test_check_post_json_code_as_number_and_string(self):
        number, rid = self.vonage_request_ok()
        r = self.s.vonage("/check", {"request_id": rid,
                                     "code": int(wrong_pin(pin_of(number)))},
                          via="json")
        self.assert_vonage(r, "16", WRONG_CODE)
        r = self.s.vonage("/check", {"request_id": rid,
                                     "code": pin_of(number)}, via="basic-json")
        self.assert_vonage(r, "0", request_id=rid)

    def test_check_post_form(self):
        number, rid = self.vonage_request_ok()
        r = self.check(rid, pin_of(number), via="form")
        self.assert_vonage(r, "0", request_id=rid)

    def test_seed_and_vonage_check_the_same_verification(self):
        number, rid = self.vonage_request_ok()
        r = self.s.seed("/check", {"request_id": rid,
                                   "code": wrong_pin(pin_of(number))})
        self.assert_seed(r, 16)
        self.assert_vonage(self.check(rid, pin_of(number)), "0")


class VonageSearchTests(KVTestCase):
    FIELDS = ("request_id", "account_id", "number", "sender_id",
              "date_submitted", "date_finalized", "first_event_date",
              "last_event_date", "price", "currency", "status", "checks",
              "events")

    def check(self, rid, code):
        return self.s.vonage("/check", {"request_id": rid, "code": code})

    def assert_checks(self, r, d, want):
        checks = d.get("checks")
        if not isinstance(checks, list):
            self.fail_reply(r, "expected checks to be a list")
        got = [(c.get("code"), c.get("status")) for c in checks]
        if got[:len(want)] != want or len(got) < len(want):
            self.fail_reply(r, "expected checks %r" % (want,))
        for c in checks:
            for k in ("date_received", "code", "status", "ip_address"):
                if k not in c:
                    self.fail_reply(r, "expected %r in every check" % k)

    def test_fields_in_progress(self):
        number, rid = self.vonage_request_ok(sender_id="MyApp")
        r, d = self.vonage_search(rid)
        for k in self.FIELDS:
            if k not in d:
                self.fail_reply(r, "expected field %r" % k)
        self.assert_fields(r, d, {"request_id": rid,
                                  "account_id": self.s.keys[0]["api_key"],
                                  "number": number, "status": "IN PROGRESS",
                                  "checks": []})
        if not isinstance(d["events"], list):
            self.fail_reply(r, "expected events to be a list")
        for e in d["events"]:
            if not isinstance(e, dict) or "type" not in e or "id" not in e:
                self.fail_reply(r, "expected events of {type, id}")

    def test_checks_and_status_after_wrong_then_right(self):
        number, rid = self.vonage_request_ok()
        pin = pin_of(number)
        bad = wrong_pin(pin)
        self.assert_vonage(self.check(rid, bad), "16")
        r, d = self.assert_vonage_search_status(rid, "IN PROGRESS")
        self.assert_checks(r, d, [(bad, "INVALID")])
        self.assert_vonage(self.check(rid, pin), "0")
        r, d = self.assert_vonage_search_status(rid, "SUCCESS")
        self.assert_checks(r, d, [(bad, "INVALID"), (pin, "VALID")])
        if not d.get("date_finalized"):
            self.fail_reply(r, "expected date_finalized once SUCCESS")

    def test_status_failed(self):
        number, rid = self.vonage_request_ok()
        bad = wrong_pin(pin_of(number))
        for want in ("16", "16", "17"):
            self.assert_vonage(self.check(rid, bad), want)
        r, d = self.assert_vonage_search_status(rid, "FAILED")
        self.assert_checks(r, d, [(bad, "INVALID")] * 3)

    def test_a_legacy_request_id_is_found_with_its_checks(self):
        # A verification from before request ids were derived from the
        # row id keeps its random id, marked legacy: a search of that id
        # finds it with its checks, a check of that id is a check of it,
        # and the id its row id would give now finds nothing.
        number, rid = self.vonage_request_ok()
        bad = wrong_pin(pin_of(number))
        self.assert_vonage(self.check(rid, bad), "16")
        legacy = secrets.token_hex(16)
        db_query(self.s.db, "UPDATE verifications SET request_id = ?,"
                 " legacy = 1 WHERE request_id = ?", (legacy, rid))
        r, d = self.assert_vonage_search_status(legacy, "IN PROGRESS")
        self.assert_checks(r, d, [(bad, "INVALID")])
        self.assert_fields(r, d, {"request_id": legacy, "number": number})
        r = self.s.vonage("/search", {"request_id": rid})
        self.assert_vonage(r, "101", "No response found")
        self.assert_vonage(self.check(legacy, bad), "16")
        r, d = self.assert_vonage_search_status(legacy, "IN PROGRESS")
        self.assert_checks(r, d, [(bad, "INVALID")] * 2)
        self.assert_vonage(self.check(rid, bad), "6")
        self.assert_vonage(self.check(legacy, bad), "17")
        self.assert_vonage_search_status(legacy, "FAILED")

    def test_unknown_is_101(self):
        r = self.s.vonage("/search", {"request_id": unknown_id()})
        self.assert_vonage(r, "101", "No response found")

    def test_missing_is_2(self):
        r = self.s.vonage("/search", {})
        self.assert_vonage(r, "2")

    def test_search_xml(self):
        number, rid = self.vonage_request_ok()
        r = self.s.vonage("/search", {"request_id": rid}, fmt="xml")
        el = self.assert_xml(r, "verify_request", "IN PROGRESS")
        self.assertEqual(el.findtext("request_id"), rid, r.describe())
        self.assertEqual(el.findtext("number"), number, r.describe())

    def assert_several(self, r, rids):
        d = self.assert_json_reply(r)
        self.assert_all_strings(r, d)
        vr = d.get("verification_requests")
        if not isinstance(vr, list):
            self.fail_reply(r, "expected verification_requests: [...]")
        got = sorted(v.get("request_id") for v in vr)
        if got != sorted(rids):
            self.fail_reply(r, "expected the verifications %r" % (rids,))
        for v in vr:
            if v.get("status") != "IN PROGRESS":
                self.fail_reply(r, "expected every status IN PROGRESS")

    def test_several_ids_in_query(self):
        rids = [self.vonage_request_ok()[1] for _ in range(3)]
        r = self.s.vonage("/search", [("request_ids", x) for x in rids])
        self.assert_several(r, rids)

    def test_several_ids_post_form(self):
        rids = [self.vonage_request_ok()[1] for _ in range(2)]
        r = self.s.vonage("/search", [("request_ids", x) for x in rids],
                          via="form")
        self.assert_several(r, rids)

    def test_several_ids_json_array(self):
        rids = [self.vonage_request_ok()[1] for _ in range(2)]
        r = self.s.vonage("/search", {"request_ids": rids}, via="basic-json")
        self.assert_several(r, rids)

    def test_eleven_ids_is_3(self):
        rids = [unknown_id() for _ in range(11)]
        r = self.s.vonage("/search", [("request_ids", x) for x in rids])
        self.assert_vonage(r, "3")
        r = self.s.vonage("/search", {"request_ids": rids}, via="json")
        self.assert_vonage(r, "3")

    def test_search_post_form(self):
        number, rid = self.vonage_request_ok()
        r = self.s.vonage("/search", {"request_id": rid}, via="form")
        d = self.assert_json_reply(r)
        self.assert_all_strings(r, d)
        self.assert_fields(r, d, {"request_id": rid, "status": "IN PROGRESS"})

    def test_seed_request_found_by_vonage_search(self):
        number, rid = self.seed_request_ok()
        r, d = self.vonage_search(rid)
        self.assert_fields(r, d, {"number": number, "status": "IN PROGRESS"})


class VonageControlTests(KVTestCase):
    settings = {"cancel_min_age": 0}

    def control(self, rid, cmd, fmt="json", via="get"):
        return self.s.vonage("/control", {"request_id": rid, "cmd": cmd},
                             fmt=fmt, via=via)

    def test_cancel(self):
        number, rid = self.vonage_request_ok()
        self.assert_vonage(self.control(rid, "cancel"), "0", command="cancel")
        self.assert_vonage_search_status(rid, "CANCELLED")
        r = self.s.vonage("/check", {"request_id": rid,
                                     "code": pin_of(number)})
        self.assert_vonage(r, "6", contains=NOT_FOUND)
        # Final: a second cancel is an error, never a silent success.
        self.assert_vonage(self.control(rid, "cancel"), "6")
        # The number is free again.
        self.vonage_request_ok(number=number)

    def test_cancel_xml(self):
        number, rid = self.vonage_request_ok()
        r = self.control(rid, "cancel", fmt="xml")
        el = self.assert_xml(r, "response", "0")
        self.assertEqual(el.findtext("command"), "cancel", r.describe())

    def test_cancel_post_json(self):
        number, rid = self.vonage_request_ok()
        r = self.control(rid, "cancel", via="basic-json")
        self.assert_vonage(r, "0", command="cancel")

    def test_cancel_unknown_is_6(self):
        self.assert_vonage(self.control(unknown_id(), "cancel"), "6")

    def test_cancel_verified_is_6(self):
        number, rid = self.vonage_request_ok()
        r = self.s.vonage("/check", {"request_id": rid,
                                     "code": pin_of(number)})
        self.assert_vonage(r, "0")
        self.assert_vonage(self.control(rid, "cancel"), "6")
        self.assert_vonage_search_status(rid, "SUCCESS")

    def test_other_cmd_is_3(self):
        number, rid = self.vonage_request_ok()
        for cmd in ("resendx", "explode"):
            with self.subTest(cmd=cmd):
                self.assert_vonage(self.control(rid, cmd), "3")
        self.assert_vonage_search_status(rid, "IN PROGRESS")

    def test_missing_is_2(self):
        number, rid = self.vonage_request_ok()
        r = self.s.vonage("/control", {"request_id": rid})
        self.assert_vonage(r, "2", contains="`cmd`")
        r = self.s.vonage("/control", {"cmd": "cancel"})
        self.assert_vonage(r, "2", contains="`request_id`")

    def test_trigger_next_event(self):
        number, rid = self.vonage_request_ok(workflow_id="1")
        self.assert_vonage(self.control(rid, "trigger_next_event"), "0",
                           command="trigger_next_event")
        self.assert_vonage_search_status(rid, "IN PROGRESS")
        r = self.s.vonage("/check", {"request_id": rid,
                                     "code": pin_of(number)})
        self.assert_vonage(r, "0")

    def test_trigger_next_event_with_none_left_is_19(self):
        # Workflow 6 is one SMS.  Until the worker has run it, a trigger
        # may still start it ("0"); after that it must be "19".
        number, rid = self.vonage_request_ok(workflow_id="6")
        text = ("No more events are left to execute for the request "
                "['%s']" % rid)
        replies = []

        def attempt():
            r = self.control(rid, "trigger_next_event")
            d = self.assert_json_reply(r)
            replies.append(r)
            if d.get("status") not in ("0", "19"):
                self.fail_reply(r, "expected status \"0\" or \"19\"")
            return r if d["status"] == "19" else None

        r = poll_until(attempt, 5.0, "trigger_next_event to answer 19 "
                       "once the one SMS step has run",
                       detail=lambda: replies[-1].describe())
        self.assert_vonage(r, "19", text)
        self.assert_vonage_search_status(rid, "IN PROGRESS")

    def test_trigger_next_event_xml(self):
        number, rid = self.vonage_request_ok(workflow_id="2")
        r = self.control(rid, "trigger_next_event", fmt="xml")
        el = self.assert_xml(r, "response", "0")
        self.assertEqual(el.findtext("command"), "trigger_next_event",
                         r.describe())


class VonageCancelMinAgeTests(KVTestCase):
    settings = {"cancel_min_age": 30}

    def test_cancel_within_min_age_is_19(self):
        number, rid = self.vonage_request_ok()
        r = self.s.vonage("/control", {"request_id": rid, "cmd": "cancel"})
        self.assert_vonage(r, "19",
                           contains="can't be cancelled within the first 30 "
                           "seconds")
        self.assert_vonage_search_status(rid, "IN PROGRESS")
        r = self.s.vonage("/check", {"request_id": rid,
                                     "code": pin_of(number)})
        self.assert_vonage(r, "0")

    def test_seed_cancel_ignores_min_age(self):
        number, rid = self.seed_request_ok()
        r = self.s.seed("/control", {"request_id": rid, "cmd": "cancel"})
        self.assert_seed(r, 0, response="CANCELLED")


if __name__ == "__main__":
    unittest.main()
