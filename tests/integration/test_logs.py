"""Logs (docs/OPERATIONS.md#logs): log_format = json gives one JSON object
per line with the same events as text; access_log = on gives one
http.access line per request, with the route, never the query.  Log
hygiene: no API secret, PIN or full number in any line (the harness scans
every server's log, kvtest/logscan.py; these tests also check it here, and
that the scan itself finds a leak).
"""

import functools
import json
import os
import re
import unittest

from harness import (KVTestCase, SimTestCase, log_events, new_mobile, pin_of,
                     poll_until, wrong_pin)
from kvtest import logscan

REQUIRED = ("time", "level", "event")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEXT_LINE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                          r"(debug|info|warn|error) [a-z_]+\.[a-z_.]+( |$)")
MASKED_RE = re.compile(r"^\+91\*{8}\d\d$")


# The simulator delivers to these (they are no fixed-PIN test numbers).
new_number = functools.partial(new_mobile, "9198124")


class StructuredLogTests(SimTestCase):
    sim_name = "logs-sim"

    def flow(self, **settings):
        """request, SMS, wrong check, right check, search on a server with
        `settings`; returns (number, request id, [(route, status)] the
        test's requests must give, the server's whole log)."""
        s = self.wire(**settings)
        number = new_number()
        r = s.seed("", {"phone_no": number, "brand": "Logs"})
        rid = self.assert_seed(r, 0)["request_id"]
        pin = logscan.SMS_PIN_RE.search(self.wait_sms(number)[0]).group(1)
        self.assert_seed(s.seed("/check", {"request_id": rid,
                                           "code": wrong_pin(pin)}), 16)
        self.assert_seed(s.seed("/check", {"request_id": rid, "code": pin}),
                         0)
        s.seed("/search", {"request_id": rid})
        # The query carries api_secret: the route must not.
        r = s.get("/nowhere", {"api_secret": "0123456789abcdef"})
        self.assertEqual(r.status, 404)
        # The SMS was accepted: the worker logs it once it recorded it.
        poll_until(lambda: log_events(s.stderr_text(), "sms.sent"), 5,
                   "the sms.sent line", detail=s.stderr_text)
        s.stop()
        made = [("/kookooverify", 200), ("/kookooverify/check", 200),
                ("/kookooverify/check", 200), ("/kookooverify/search", 200),
                (None, 404)]
        return number, rid, made, s.stderr_text()

    def access(self, log):
        """(route, status) of each access line, the IVR's callbacks (the
        simulator's calls) left out."""
        return [(None if e["route"] in (None, "-") else e["route"],
                 int(e["status"]))
                for e in log_events(log, "http.access")
                if not str(e["route"]).startswith("/ivr/")]

    def test_json_lines_with_access_log(self):
        number, rid, made, log = self.flow(log_format="json",
                                           access_log="on")
        lines = log.splitlines()
        self.assertTrue(lines)
        for line in lines:
            try:
                d = json.loads(line)
            except ValueError:
                self.fail("not a JSON line: %r\nlog:\n%s" % (line, log))
            self.assertIsInstance(d, dict, line)
            for k in REQUIRED:
                self.assertIn(k, d, line)
            self.assertRegex(d["time"], TIME_RE, line)
            self.assertIn(d["level"], ("debug", "info", "warn", "error"))
            if "number" in d:
                self.assertRegex(d["number"], MASKED_RE, line)
        self.assertEqual(self.access(log), made, log)
        for e in log_events(log, "http.access"):
            for k in ("method", "route", "status", "duration_ms", "bytes",
                      "client"):
                self.assertIn(k, e)
            self.assertIsInstance(e["status"], int)
            self.assertIsInstance(e["duration_ms"], (int, float))
            self.assertGreater(e["bytes"], 0)
            self.assertEqual(e["client"], "127.0.0.1")
        ours = [e for e in log_events(log, "http.access")
                if str(e["route"]).startswith("/kookooverify")]
        self.assertEqual({e.get("request_id") for e in ours}, {rid}, log)
        self.assertEqual(len({e.get("key") for e in ours}), 1, log)
        self.assertEqual(ours[0]["key"], self.s.keys[0]["api_key"], log)
        # The request's line, answered after its write, keeps the number.
        self.assertEqual(ours[0].get("number"), "+91********" + number[-2:],
                         log)
        # The delivery worker's line carries its verification's context.
        sent = log_events(log, "sms.sent")
        self.assertEqual(len(sent), 1, log)
        self.assertEqual(sent[0]["request_id"], rid)
        self.assertEqual(sent[0]["number"], "+91********" + number[-2:])
        self.assertNotIn("0123456789abcdef", log)
        self.assertNotIn("nowhere", log, "the raw path of a 404")

    def test_text_lines_and_access_log_off(self):
        number, rid, made, log = self.flow(log_format="text")
        for line in log.splitlines():
            self.assertRegex(line, TEXT_LINE_RE)
        self.assertEqual(self.access(log), [], "access_log is off by default")
        sent = log_events(log, "sms.sent")
        self.assertEqual([(e["request_id"], e["number"]) for e in sent],
                         [(rid, "+91********" + number[-2:])], log)
        self.assertTrue(log_events(log, "server.started"), log)

    def test_text_access_log_says_the_same(self):
        _, rid, made, log = self.flow(log_format="text", access_log="on")
        self.assertEqual(self.access(log), made, log)
        self.assertIn(" route=/kookooverify/check status=200 ", log)
        self.assertIn(" request_id=%s " % rid, log)


class LogHygieneTests(KVTestCase):
    per_test = True
    settings = {"log_level": "debug", "cancel_min_age": 0,
                "resend_cooldown": 0, "access_log": "on"}

    def output(self):
        parts = [self.s.stderr_text()]
        for i in range(1, self.s.runs + 1):
            path = os.path.join(self.s.dir, "stdout.%d.log" % i)
            with open(path, "rb") as f:
                parts.append(f.read().decode("utf-8", "replace"))
        return "\n".join(parts)

    def test_no_secret_or_full_number_in_logs(self):
        key = self.s.keys[0]
        n1, rid1 = self.seed_request_ok()
        r = self.s.seed("/check", {"request_id": rid1,
                                   "code": wrong_pin(pin_of(n1))})
        self.assert_seed(r, 16)
        r = self.s.seed("/check", {"request_id": rid1, "code": pin_of(n1)})
        self.assert_seed(r, 0)
        self.s.seed("/search", {"phone_no": n1})
        n2, rid2 = self.vonage_request_ok(via="basic-json")
        self.s.vonage("/control", {"request_id": rid2, "cmd": "cancel"})
        wrong_secret = "feedface" * 4
        r = self.s.get("/verify/json", {"api_key": key["api_key"],
                                        "api_secret": wrong_secret,
                                        "number": n2, "brand": "X"})
        self.assert_vonage(r, "4")
        self.s.stop()
        out = self.output()
        for what, secret in (("the API secret", key["api_secret"]),
                             ("a client's wrong secret", wrong_secret)):
            if secret in out:
                self.fail("%s (%s) appears in the server's output:\n%s"
                          % (what, secret, out))
        for number in (n1, n2):
            if number[2:] in out:
                self.fail("the full phone number %s appears in the server's "
                          "output:\n%s" % (number, out))


class LogScanTests(unittest.TestCase):
    """The harness's scan finds what it must, in both formats, and leaves
    the line's time alone."""

    def test_scan_finds_numbers_pins_and_secrets(self):
        scan = logscan.LogScan()  # not the run's: these are made up
        scan.note_number("+91 98765 01234")
        scan.note_pin("4821")
        scan.note_secret("s3cr3t-value-xyz")
        t = "2026-12-05T18:24:38.123Z"
        bad = [
            (t + " info sms.sent job=1 to=9876501234", "9876501234"),
            ('{"time":"%s","level":"info","event":"x","to":"919876501234"}'
             % t, "919876501234"),
            (t + " info check.done code=4821", "4821"),
            ('{"time":"%s","level":"info","event":"x","code":"4821"}' % t,
             "4821"),
            (t + ' warn x why="s3cr3t-value-xyz"', "s3cr3t-value-xyz"),
        ]
        for line, value in bad:
            found = scan.find_leak("ok line\n" + line + "\n")
            self.assertIsNotNone(found, line)
            self.assertEqual((found[1], found[2]), (value, line))
        good = [
            "2026-12-05T18:48:21.482Z info server.started port=48210",
            '{"time":"2026-12-05T18:48:21.482Z","event":"x","n":"+91*'
            '*******34","id":"ab4821cd"}',
        ]
        self.assertIsNone(scan.find_leak("\n".join(good)))

    def test_text_lines_parse(self):
        line = ('2026-12-05T18:24:38.123Z warn ivr.refused client=127.0.0.1 '
                'why="a \\"b\\"\\x0ac" n=3')
        self.assertEqual(logscan.parse_line(line),
                         {"time": "2026-12-05T18:24:38.123Z",
                          "level": "warn", "event": "ivr.refused",
                          "client": "127.0.0.1", "why": 'a "b"\nc',
                          "n": "3"})


if __name__ == "__main__":
    unittest.main()
