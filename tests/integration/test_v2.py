"""Vonage Verify v2 dialect (/v2/verify): start, check, cancel and
next_workflow, and every refusal as an RFC 7807 problem (status, type URL,
title, detail, instance, invalid_parameters, Retry-After)."""

import json
import re
import secrets

from harness import (KVTestCase, db_query, pin_of, wrong_pin)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
NEXMO = "https://developer.nexmo.com/api-errors"
CONFLICT_TYPE = "https://www.developer.vonage.com/api-errors/verify#conflict"


def unknown_uuid():
    h = secrets.token_hex(16)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


class V2Steps:
    """The v2 calls, with key 0's credentials as HTTP Basic by default."""

    def v2(self, method, path, body=None, auth=True, headers=None):
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        return self.s.request(method, "/v2/verify" + path, body=body,
                              headers=hdrs,
                              auth=self.s.basic(0) if auth is True else
                              auth or None)

    def start(self, number=None, workflow=None, **extra):
        number = number or self.s.new_number()
        body = {"brand": "TestApp",
                "workflow": [{"channel": "sms", "to": number}]
                if workflow is None else workflow}
        body.update(extra)
        return number, self.v2("POST", "", body)

    def started(self, **kw):
        number, r = self.start(**kw)
        self.assert_status(r, 202)
        rid = r.data["request_id"]
        if not UUID_RE.match(rid):
            self.fail_reply(r, "request_id is not a UUID")
        return number, rid

    def assert_status(self, r, status):
        if r.status != status:
            self.fail_reply(r, "expected HTTP %d" % status)

    def assert_problem(self, r, status, type_, title, detail=None):
        """A problem+json with these members; returns its body."""
        self.assert_status(r, status)
        if not r.content_type.startswith("application/problem+json"):
            self.fail_reply(r, "expected application/problem+json")
        d = r.data
        for name, want in (("type", type_), ("title", title)):
            if d.get(name) != want:
                self.fail_reply(r, "expected %s %r" % (name, want))
        if detail is not None and detail not in d.get("detail", ""):
            self.fail_reply(r, "expected detail containing %r" % detail)
        return d

    def assert_invalid(self, r, *names):
        d = self.assert_problem(r, 422, NEXMO + "#invalid-param",
                                "Invalid params")
        got = [p["name"] for p in d.get("invalid_parameters", [])]
        for n in names:
            if n not in got:
                self.fail_reply(r, "expected invalid_parameters naming %r"
                                % n)
        return d


class V2StartCheckTests(V2Steps, KVTestCase):
    settings = {"cancel_min_age": 0}

    def test_start_and_check(self):
        number, rid = self.started()
        r = self.v2("POST", "/" + rid, {"code": pin_of(number)})
        self.assert_status(r, 200)
        self.assertEqual(r.data, {"request_id": rid, "status": "completed"})
        # Verified: the id is no longer one a check may name.
        r = self.v2("POST", "/" + rid, {"code": pin_of(number)})
        self.assert_problem(r, 404, NEXMO + "#not-found", "Not Found",
                            "Request '%s' was not found" % rid)

    def test_upper_case_id_is_the_same_verification(self):
        number, rid = self.started()
        r = self.v2("POST", "/" + rid.upper(), {"code": pin_of(number)})
        self.assert_status(r, 200)

    def test_wrong_code_then_too_many(self):
        number, rid = self.started()
        bad = wrong_pin(pin_of(number))
        for _ in range(2):
            r = self.v2("POST", "/" + rid, {"code": bad})
            self.assert_problem(r, 400, NEXMO + "#bad-request",
                                "Invalid Code", "does not match")
        r = self.v2("POST", "/" + rid, {"code": bad})
        self.assert_problem(r, 410, NEXMO + "#gone", "Invalid Code",
                            "too many times")
        # Even the right code now: the workflow is over.
        r = self.v2("POST", "/" + rid, {"code": pin_of(number)})
        self.assert_problem(r, 410, NEXMO + "#gone", "Invalid Code")

    def test_expired(self):
        number, rid = self.started()
        db_query(self.s.db, "UPDATE verifications SET expires_ms = 1 "
                 "WHERE number = ?", (number.lstrip("+"),))
        r = self.v2("POST", "/" + rid, {"code": pin_of(number)})
        self.assert_problem(r, 410, NEXMO + "#gone", "Gone", "expired")

    def test_concurrent_names_the_live_one(self):
        number, rid = self.started()
        _, r = self.start(number=number)
        d = self.assert_problem(r, 409, CONFLICT_TYPE, "Conflict",
                                "Concurrent verifications")
        self.assertEqual(d.get("request_id"), rid)

    def test_unknown_and_malformed_ids(self):
        for rid in (unknown_uuid(), "not-a-uuid", "0" * 32):
            r = self.v2("POST", "/" + rid, {"code": "1234"})
            self.assert_problem(r, 404, NEXMO + "#not-found", "Not Found")

    def test_instance_is_fresh_uuid(self):
        seen = set()
        for _ in range(3):
            r = self.v2("POST", "/" + unknown_uuid(), {"code": "1234"})
            inst = r.data["instance"]
            self.assertRegex(inst, UUID_RE)
            seen.add(inst)
        self.assertEqual(len(seen), 3)

    def test_caller_code_with_sms_and_voice(self):
        # A number that is not a test number: the caller's code is the PIN.
        number = "+9198%08d" % secrets.randbelow(10 ** 8)
        _, r = self.start(number=number, code="482913",
                          workflow=[{"channel": "sms", "to": number},
                                    {"channel": "voice", "to": number}])
        self.assert_status(r, 202)
        rid = r.data["request_id"]
        r = self.v2("POST", "/" + rid, {"code": "482913"})
        self.assert_status(r, 200)


class V2RefusalTests(V2Steps, KVTestCase):
    settings = {"cancel_min_age": 30}

    def test_missing_members(self):
        r = self.v2("POST", "", {})
        self.assert_invalid(r, "brand", "workflow")

    def test_channels_this_server_lacks(self):
        number = self.s.new_number()
        for ch in ("whatsapp", "email", "silent_auth", "pigeon"):
            _, r = self.start(number=number,
                              workflow=[{"channel": ch, "to": number}])
            d = self.assert_invalid(r, "channel")
            self.assertEqual(len(d["invalid_parameters"]), 1)

    def test_workflow_orders(self):
        number = self.s.new_number()
        for wf in ([], [{"channel": "voice", "to": number},
                        {"channel": "sms", "to": number}],
                   [{"channel": "sms", "to": number}] * 4):
            _, r = self.start(number=number, workflow=wf)
            self.assert_invalid(r, "workflow")
        _, r = self.start(number=number, workflow=[
            {"channel": "sms", "to": number},
            {"channel": "voice", "to": "+919800000001"}])
        self.assert_invalid(r, "to")

    def test_bad_values(self):
        cases = [
            ({"brand": "A{B}"}, "brand"),
            ({"brand": "x" * 19}, "brand"),
            ({"locale": "xx-yy"}, "locale"),
            ({"channel_timeout": 10}, "channel_timeout"),
            ({"channel_timeout": "60"}, "channel_timeout"),
            ({"code_length": 11}, "code_length"),
            ({"code": "12ab"}, "code"),
            ({"code": "1234", "code_length": 6}, "code_length"),
            ({"client_ref": "x" * 41}, "client_ref"),
            ({"fraud_check": "no"}, "fraud_check"),
            ({"template_id": "t1"}, "template_id"),
        ]
        for extra, name in cases:
            with self.subTest(name=name, extra=extra):
                _, r = self.start(**extra)
                self.assert_invalid(r, name)

    def test_sms_members(self):
        number = self.s.new_number()
        for step, name in (({"from": "TOO-LONG-SENDER"}, "from"),
                           ({"app_hash": "short"}, "app_hash"),
                           ({"entity_id": "12ab"}, "entity_id")):
            s = {"channel": "sms", "to": number}
            s.update(step)
            _, r = self.start(number=number, workflow=[s])
            self.assert_invalid(r, name)

    def test_bad_number(self):
        _, r = self.start(number="12")
        self.assert_invalid(r, "to")

    def test_fraud_check_off_is_forbidden(self):
        _, r = self.start(fraud_check=False)
        self.assert_problem(r, 403, NEXMO + "#forbidden", "Forbidden")

    def test_invalid_json(self):
        for body in ("{", "[1]", '{"brand": "a", "brand": "b"}'):
            r = self.v2("POST", "", body)
            self.assert_problem(r, 400, NEXMO + "#invalid-json",
                                "Invalid JSON")

    def test_unauthorized(self):
        for auth in (None, (self.s.keys[0]["api_key"], "0" * 32)):
            r = self.v2("POST", "", {"brand": "x"}, auth=auth or False)
            self.assert_problem(r, 401, NEXMO + "#unauthorized",
                                "Unauthorized")

    def test_cancel_too_early(self):
        _, rid = self.started()
        r = self.v2("DELETE", "/" + rid)
        self.assert_problem(r, 409, NEXMO + "#conflict", "Conflict",
                            "within the first 30 seconds")


class V2ControlTests(V2Steps, KVTestCase):
    settings = {"cancel_min_age": 0}

    def test_cancel(self):
        number, rid = self.started()
        r = self.v2("DELETE", "/" + rid)
        self.assert_status(r, 204)
        self.assertEqual(r.raw, b"")
        r = self.v2("POST", "/" + rid, {"code": pin_of(number)})
        self.assert_problem(r, 404, NEXMO + "#not-found", "Not Found")
        r = self.v2("DELETE", "/" + rid)
        self.assert_problem(r, 404, NEXMO + "#not-found", "Not Found")

    def test_cancel_unknown(self):
        r = self.v2("DELETE", "/" + unknown_uuid())
        self.assert_problem(r, 404, NEXMO + "#not-found", "Not Found")

    def test_next_workflow(self):
        number = self.s.new_number()
        _, rid = self.started(number=number, workflow=[
            {"channel": "sms", "to": number},
            {"channel": "voice", "to": number}])
        r = self.v2("POST", "/%s/next_workflow" % rid)
        self.assert_status(r, 200)
        self.assertEqual(r.raw, b"")

    def test_next_workflow_after_the_last_step(self):
        _, rid = self.started()
        r = self.v2("POST", "/%s/next_workflow" % rid)
        self.assert_problem(r, 409, NEXMO + "#conflict", "Conflict",
                            "no more events")
        r = self.v2("POST", "/%s/next_workflow" % unknown_uuid())
        self.assert_problem(r, 404, NEXMO + "#not-found", "Not Found")

    def test_throttled(self):
        srv = self.start_server({"limit_key_rps": 2})
        got = None
        for _ in range(20):
            r = self.v2("POST", "/" + unknown_uuid(), {"code": "1234"})
            if r.status == 429:
                got = r
                break
        if got is None:
            self.fail("no 429 in 20 calls at limit_key_rps 2")
        self.assert_problem(got, 429,
                            "https://www.developer.vonage.com/api-errors"
                            "#throttled", "Rate Limit Hit")
        self.assertRegex(got.headers.get("Retry-After", ""), r"^[1-9]\d*$")
        srv.close()
