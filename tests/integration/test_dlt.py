"""SMS as India's DLT registers it, and SMS autofill: the text the simulator
receives (filled exactly, with the WebOTP line and the Android app hash),
the DLT ids under the parameter names the settings give (absent when
empty), each SMS event's encoding and segments, and the refusals: a brand
that does not fit, an origin that is not the key's, a malformed app hash.
"""

import functools
import json
import os
import re
import shutil
import tempfile
import unittest

from harness import ROOT, SimTestCase, new_mobile, poll_until, run_cli

ORIGIN = "https://shop.example"
HASH = "FA+9qCX9VSu"
# sms_templates/en/pin.txt, as shipped
EN_IDS = {"template": "1107000000000000001", "entity": "1101000000000000001",
          "header": "KVERFY"}
DLT_NAMES = dict(kookoo_dlt_template_param="dlt_template_id",
                 kookoo_dlt_entity_param="dlt_entity_id",
                 kookoo_dlt_header_param="dlt_header")
EN_RE = re.compile(r"^Brand code: (\d{4,10})\. Valid for \d+ min\.")
# 18 Devanagari characters: Vonage's longest brand, which turns the
# English text into UCS-2 (70 units a segment).
LONG_UCS2_BRAND = "क" * 18

# Numbers that are not the harness's test numbers (those get no SMS).


# The simulator delivers to these (they are no fixed-PIN test numbers).
new_number = functools.partial(new_mobile, "9198124")


class DltTests(SimTestCase):

    def secret_key_with_origin(self, *origins):
        """A new secret key of the running server listing `origins`; its
        index in self.s.keys."""
        args = ["keys", "create", "--db", self.s.db, "--json"]
        for o in origins:
            args += ["--origin", o]
        cp = self.s.cli(*args)
        key = json.loads(cp.stdout.strip().splitlines()[-1])
        self.s.keys.append(key)
        return len(self.s.keys) - 1

    def publishable_key(self, origin):
        cp = self.s.cli("keys", "create", "--db", self.s.db, "--publishable",
                        "--json", "--origin", origin, "--owner",
                        self.s.keys[0]["api_key"])
        return json.loads(cp.stdout.strip().splitlines()[-1])["api_key"]

    def first_sms(self, number):
        self.wait_sms(number)
        return self.sim.inbox(number)["sms"][0]

    def sms_event(self, rid):
        """Polls the seed search until the SMS event is recorded."""
        def event():
            r = self.s.seed("/search", {"request_id": rid})
            for e in r.data.get("events", []):
                if e.get("type") == "sms":
                    return e
            return None
        return poll_until(event, 8.0, "the SMS event of %s" % rid,
                          interval=0.05)

    # -- what the simulator receives -----------------------------------------

    def test_sms_ends_with_webotp_line_and_app_hash_and_carries_dlt_ids(self):
        self.wire(**DLT_NAMES)
        key = self.secret_key_with_origin(ORIGIN)
        number, rid = self.vonage_request_ok(new_number(), key=key,
                                             brand="Brand",
                                             origin=ORIGIN + "/",
                                             app_hash=HASH)
        sms = self.first_sms(number)
        text = sms["message"]
        m = EN_RE.match(text)
        self.assertIsNotNone(m, text)
        pin = m.group(1)
        # The last line: "@host #code hash" (WebOTP, then SMS Retriever).
        self.assertEqual(text.split("\n")[-1],
                         "@shop.example #%s %s" % (pin, HASH), text)
        self.assertEqual(text.count("\n"), 1, text)
        self.assertEqual(sms["params"], {
            "dlt_template_id": EN_IDS["template"],
            "dlt_entity_id": EN_IDS["entity"],
            "dlt_header": EN_IDS["header"]}, sms)
        r = self.s.vonage("/check", {"request_id": rid, "code": pin}, key=key)
        self.assert_vonage(r, "0", request_id=rid)

    def test_app_hash_alone_ends_the_sms_and_dlt_ids_are_off_by_default(self):
        self.wire()
        number, _ = self.seed_request_ok(number=new_number(), brand="Brand")
        self.assertEqual(self.first_sms(number)["params"], {})
        number = new_number()
        r = self.s.seed("", {"phone_no": number, "brand": "Brand",
                             "app_hash": HASH})
        self.assert_seed(r, 0)
        text = self.first_sms(number)["message"]
        self.assertRegex(text, r"^Brand code: \d+\. Valid for \d+ min\.\n"
                         + re.escape(HASH) + "$")

    def test_browser_flow_names_the_pages_own_origin(self):
        self.wire()
        pk = self.publishable_key(ORIGIN)
        number = new_number()
        r = self.s.post_json("/verify/json", {"api_key": pk, "number": number,
                                              "brand": "Brand"},
                             headers={"Origin": ORIGIN})
        self.assert_vonage(r, "0")
        text = self.first_sms(number)["message"]
        pin = EN_RE.match(text).group(1)
        self.assertTrue(text.endswith("\n@shop.example #%s" % pin), text)
        # A page may not name another origin for its SMS.
        r = self.s.post_json("/verify/json", {
            "api_key": pk, "number": new_number(), "brand": "Brand",
            "origin": "https://other.example"}, headers={"Origin": ORIGIN})
        self.assert_vonage(r, "3", contains="origin")

    def test_a_resend_sends_the_same_text_from_the_stored_values(self):
        # The origin's host and the hash are stored with the verification:
        # a resend (any node's job runner) rebuilds the very same SMS.
        self.wire(resend_cooldown=0, next_event_wait=30, pin_expiry=60)
        key = self.secret_key_with_origin(ORIGIN)
        number = new_number()
        r = self.s.seed("", {"phone_no": number, "brand": "Brand",
                             "origin": ORIGIN, "app_hash": HASH}, key=key)
        rid = self.assert_seed(r, 0)["request_id"]
        first = self.wait_sms(number)[0]
        self.assertTrue(first.endswith(" " + HASH), first)
        r = self.s.seed("/control", {"request_id": rid, "cmd": "resend"},
                        key=key)
        self.assert_seed(r, 0, response="RESENT")
        self.assertEqual(self.wait_sms(number, 2), [first, first])

    def test_event_has_encoding_and_segments(self):
        self.wire()
        number, rid = self.vonage_request_ok(new_number(), brand="Brand")
        e = self.sms_event(rid)
        self.assertEqual((e.get("encoding"), e.get("segments")), ("gsm7", 1),
                         e)
        number, rid = self.vonage_request_ok(new_number(), brand="Brand",
                                             lg="hi-in",
                                             app_hash=HASH)
        e = self.sms_event(rid)
        self.assertEqual((e.get("encoding"), e.get("segments")), ("ucs2", 1),
                         e)
        self.assertTrue(self.first_sms(number)["message"].endswith(HASH))

    # -- refusals --------------------------------------------------------------

    def test_brand_that_does_not_fit_is_refused_in_each_dialect(self):
        self.wire()
        key = self.secret_key_with_origin(ORIGIN)
        # Seed: over a DLT slot's 30 characters.
        r = self.s.seed("", {"phone_no": new_number(),
                             "brand": "B" * 31})
        self.assert_seed(r, 3, "Invalid value for parameter brand")
        ok, _ = self.seed_request_ok(number=new_number(), brand="B" * 30)
        # Vonage: 18 characters, but with the autofill line the UCS-2 text
        # is over one segment: refused, never cut.
        r = self.s.vonage("", {"number": new_number(),
                               "brand": LONG_UCS2_BRAND, "origin": ORIGIN,
                               "app_hash": HASH}, key=key)
        self.assert_vonage(r, "3", "Invalid value for parameter `brand`")
        sent = [self.vonage_request_ok(new_number(), key=key,
                                       brand=LONG_UCS2_BRAND)[0]]
        # The browser's endpoint: its page's origin adds the line.
        pk = self.publishable_key(ORIGIN)
        r = self.s.post_json("/verify/json", {
            "api_key": pk, "number": new_number(),
            "brand": LONG_UCS2_BRAND, "app_hash": HASH},
            headers={"Origin": ORIGIN})
        self.assert_vonage(r, "3", "Invalid value for parameter `brand`")
        # Only the two accepted ones were ever sent.
        for number in sent + [ok]:
            self.wait_sms(number)
        self.assertEqual(self.sim.stats().get("sms", {}).get("sent"), 2,
                         self.sim.stats())

    def test_origin_not_on_the_key_is_refused(self):
        self.wire()
        other = self.secret_key_with_origin("https://other.example")
        for key in (0, other):
            r = self.s.vonage("", {"number": new_number(),
                                   "brand": "Brand", "origin": ORIGIN},
                              key=key)
            self.assert_vonage(r, "3", contains="not one of this key's "
                               "origins")
            r = self.s.seed("", {"phone_no": new_number(),
                                 "brand": "Brand", "origin": ORIGIN},
                            key=key)
            self.assert_seed(r, 3)
            self.assertIn("not one of this key's origins",
                          r.data.get("error_text", ""), r.describe())
        # Listed, but WebOTP cannot name it: a port, or an IP address.
        key = self.secret_key_with_origin("https://shop.example:8443",
                                          "https://127.0.0.1")
        for origin in ("https://shop.example:8443", "https://127.0.0.1"):
            r = self.s.vonage("", {"number": new_number(),
                                   "brand": "Brand", "origin": origin},
                              key=key)
            self.assert_vonage(r, "3", contains="WebOTP")
        r = self.s.vonage("", {"number": new_number(),
                               "brand": "Brand", "origin": "shop.example"})
        self.assert_vonage(r, "3", contains="Invalid value for parameter "
                           "origin")

    def test_secret_key_origins_are_listed_and_open_no_cors(self):
        self.wire()
        key = self.secret_key_with_origin("https://autofill.example")
        cp = self.s.cli("keys", "list", "--db", self.s.db)
        line = next(t for t in cp.stdout.splitlines()
                    if t.startswith(self.s.keys[key]["api_key"]))
        self.assertTrue(line.endswith("\tsecret\t\torigins: "
                                      "https://autofill.example"), line)
        r = self.s.request("OPTIONS", "/verify/json", headers={
            "Origin": "https://autofill.example",
            "Access-Control-Request-Method": "POST"})
        self.assertIsNone(r.headers.get("Access-Control-Allow-Origin"),
                          r.describe())

    def test_malformed_app_hash_is_refused(self):
        self.wire()
        for bad in ("FA+9qCX9VS", "FA+9qCX9VSuu", "FA-9qCX9VSu"):
            r = self.s.vonage("", {"number": new_number(),
                                   "brand": "Brand", "app_hash": bad})
            self.assert_vonage(r, "3", contains="app_hash")
            r = self.s.seed("", {"phone_no": new_number(),
                                 "brand": "Brand", "app_hash": bad})
            self.assert_seed(r, 3)
            self.assertIn("app_hash", r.data.get("error_text", ""),
                          r.describe())
        self.assertEqual(self.sim.stats().get("sms", {}).get("sent", 0), 0)


class TemplateCheckTests(unittest.TestCase):
    """check-config (and serve, which loads the same way) refuses a broken
    template set, naming the file and the line."""

    def broken(self, old, new):
        d = tempfile.mkdtemp(prefix="kv-sms-")
        self.addCleanup(shutil.rmtree, d, True)
        shutil.copytree(os.path.join(ROOT, "sms_templates"), d,
                        dirs_exist_ok=True)
        path = os.path.join(d, "en", "pin.txt")
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        line = next(i for i, t in enumerate(lines) if t.startswith(old)) + 1
        lines[line - 1] = new
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        cp = run_cli(["check-config", "--set", "sms_templates=" + d])
        self.assertNotEqual(cp.returncode, 0, cp.stdout)
        self.assertIn("%s:%d: " % (path, line), cp.stderr)
        return cp.stderr

    def test_shipped_set_is_valid(self):
        cp = run_cli(["check-config", "--set", "sms_templates="
                      + os.path.join(ROOT, "sms_templates")])
        self.assertEqual(cp.returncode, 0, cp.stderr)

    def test_errors_name_file_and_line(self):
        self.assertIn("6 letters", self.broken("header", "header = KV"))
        self.assertIn("19 digits",
                      self.broken("template_id", "template_id = 12345"))
        self.assertIn("unknown value name",
                      self.broken("values", "values = brand pin minutes"))
        self.assertIn("over one SMS segment", self.broken(
            "text", "text = " + "x" * 100 + " {#var#} {#var#} {#var#}"))


if __name__ == "__main__":
    unittest.main()
