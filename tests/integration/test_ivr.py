"""The IVR: verification calls played by kookoo-sim, and forged callbacks.

IvrCallTests wires one server to one simulator; each test scripts a number
(keys, hang-up, no answer, busy, ring time), lets the simulator play the
call against the server's /ivr/kookoo and /ivr/kookoo/status, and checks
what the callee heard (the transcript), the verification's final state,
Search's events[] in both dialects and the db's calls / fraud_reports rows.
IvrCallbackTests points the server at a stand-in KooKoo written here that
only records the URLs it is given, so the tests hold the real token and sid
and send forged, replayed and genuine callbacks themselves.
"""

import functools
import http.server
import json
import re
import threading
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from harness import (KVTestCase, WiredTestCase, db_query, new_mobile,
                     poll_until)

BRAND = "AcmeCo"
CALL_TIMEOUT = 8.0  # seconds for a scripted call to be played and posted
PIN_RE = re.compile(r"\b(\d{4,10})\b")
SPACED_PIN_RE = re.compile(r"^\d( \d){3,9}$")
XML_DECL = b'<?xml version="1.0" encoding="UTF-8"?>'

# The simulator delivers to these (they are no fixed-PIN test numbers).
new_number = functools.partial(new_mobile, "9198124")


def spaced(pin):
    """How the simulator speaks <say-as format="501">: "4821" -> "4 8 2 1"."""
    return " ".join(pin)


def spoken_pins(transcript):
    """The digit-by-digit lines of a transcript, unspaced."""
    return [line.replace(" ", "") for line in transcript
            if SPACED_PIN_RE.match(line)]


class IvrTestCase(KVTestCase):
    """Shared checks: search events, db rows, waiting for states."""

    def seed_events(self, rid):
        return self.seed_search(rid)[1].get("events") or []

    @staticmethod
    def shape(events):
        return [(e.get("type"), e.get("channel"), e.get("result"))
                for e in events]

    def wait_status(self, rid, status, timeout=CALL_TIMEOUT):
        return poll_until(
            lambda: self.seed_search(rid)[1].get("status") == status,
            timeout, "search status %s of %s" % (status, rid), interval=0.05,
            detail=lambda: self.seed_search(rid)[0].describe())

    def db_rows(self, sql, args=()):
        return db_query(self.s.db, sql, args)

    def vid(self, rid):
        rows = self.db_rows("SELECT id FROM verifications WHERE "
                            "request_id = ?", (rid,))
        self.assertEqual(len(rows), 1, "verification row of %s" % rid)
        return rows[0][0]

    def fraud_reports(self, rid):
        return self.db_rows("SELECT number FROM fraud_reports WHERE "
                            "verification_id = ?", (self.vid(rid),))

    def call_row(self, sid):
        rows = self.db_rows("SELECT repeats, outcome, status, duration "
                            "FROM calls WHERE sid = ?", (sid,))
        self.assertEqual(len(rows), 1, "calls row of sid %s" % sid)
        return dict(zip(("repeats", "outcome", "status", "duration"),
                        rows[0]))

    def number_status(self, number, key=0):
        r = self.s.seed("/search", {"phone_no": number}, key)
        return r, self.assert_json_reply(r)

    def assert_not_verified(self, number, key=0):
        r, d = self.number_status(number, key)
        if d.get("status") != "NOT VERIFIED":
            self.fail_reply(r, "expected the number NOT VERIFIED")

    def assert_verified(self, number, rid, key=0):
        r, d = self.number_status(number, key)
        if d.get("status") != "VERIFIED" or d.get("request_id") != rid:
            self.fail_reply(r, "expected the number VERIFIED by %s" % rid)

    def assert_vonage_events_are_the_call(self, rid, sid):
        """Vonage events[]: the call shows as tts events naming its sid
        (how many per call is test_delivery's business: Vonage lists one
        per message or call sent)."""
        r, d = self.vonage_search(rid)
        ev = d.get("events")
        if not isinstance(ev, list) or not ev or any(
                e.get("type") != "tts" or e.get("id") != sid for e in ev):
            self.fail_reply(r, "expected tts events with id %s" % sid)


class IvrCallTests(IvrTestCase, WiredTestCase):
    """Calls played by kookoo-sim against one server (PIN 30 s, the call
    1 s after the SMS in the seed dialect's workflow)."""

    sim_name = "ivr-sim"
    wired_settings = {"pin_expiry": 30, "next_event_wait": 1}

    @classmethod
    def after_start(cls):
        # Key 1: its callees may not verify by pressing 2.
        cp = cls.server.cli("keys", "create", "--db", cls.server.db,
                            "--name", "novoice", "--json",
                            "--no-voice-confirm")
        line = [ln for ln in cp.stdout.splitlines()
                if ln.strip().startswith("{")]
        if not line:
            raise AssertionError("keys create --no-voice-confirm "
                                 "printed no key: %r" % cp.stdout)
        cls.server.keys.append(json.loads(line[0]))

    @property
    def sim(self):
        return self.provider

    # -- helpers -----------------------------------------------------------

    def script(self, number, **fields):
        self.sim.script(number, **fields)

    def wait_calls(self, number, count=1, timeout=CALL_TIMEOUT):
        """Waits until the number got `count` calls, all done (callback
        posted); returns them."""
        def done():
            calls = self.sim.calls(number)
            if len(calls) >= count and all(c["done"] for c in calls):
                return calls
            return None
        return poll_until(done, timeout, "%d finished call(s) to %s"
                          % (count, number), interval=0.05,
                          detail=lambda: self.sim.inbox(number))

    def wait_sms_pin(self, number, timeout=4.0):
        text = poll_until(lambda: (self.sim.sms(number) or [None])[0],
                          timeout, "the SMS to %s" % number, interval=0.05,
                          detail=lambda: self.sim.inbox(number))
        m = PIN_RE.search(text)
        self.assertIsNotNone(m, "no PIN in the SMS %r" % text)
        return m.group(1)

    def tts_request(self, number, key=0, **params):
        """A Vonage request for a call-only workflow (7) unless params
        say otherwise; returns the request_id."""
        p = {"workflow_id": "7"}
        p.update(params)
        return self.vonage_request_ok(number=number, key=key, brand=BRAND,
                                      **p)[1]

    def assert_call_events(self, rid, sid, ivr, status="answered",
                           before=(("sms", "sms", "accepted"),)):
        """Seed events[]: `before`, the call queued, the IVR callbacks
        `ivr` (results) and the status POST, all naming `sid`."""
        r, d = self.seed_search(rid)
        ev = d.get("events") or []
        want = list(before) + [("tts", "tts", "accepted")] + \
            [("tts", "ivr", x) for x in ivr] + [("tts", "call", status)]
        if self.shape(ev) != want:
            self.fail_reply(r, "expected events %r" % (want,))
        for e in ev[len(before):]:
            if e.get("id") != sid:
                self.fail_reply(r, "expected every call event to name "
                                "sid %s" % sid)
        return ev[len(before):]

    # -- 1: press 2 --------------------------------------------------------

    def test_press_2_verifies_and_reads_the_sms_pin_twice(self):
        number = new_number()
        self.script(number, keys=["2"])
        _, rid = self.seed_request_ok(number=number, brand=BRAND)
        sms_pin = self.wait_sms_pin(number)
        call = self.wait_calls(number)[0]
        tr = call["transcript"]

        self.assertTrue(any(BRAND in line for line in tr[:3]),
                        "the greeting names the brand: %r" % tr)
        self.assertEqual(spoken_pins(tr), [sms_pin, sms_pin],
                         "the PIN of the SMS, digit by digit, twice: %r" % tr)
        self.assertEqual(tr.count(spaced(sms_pin)), 2, tr)
        self.assertIn("[pressed 2]", tr)
        self.assertIn("Thank you. Your number is now verified with %s. "
                      "Goodbye." % BRAND, tr)
        self.assertEqual((call["keys_sent"], call["events"],
                          call["callback_status"], call["callback_http"]),
                         (["2"], ["NewCall", "GotDTMF", "Disconnect"],
                          "answered", 200), call)

        self.wait_status(rid, "SUCCESS")
        ev = self.assert_call_events(rid, call["sid"],
                                     ["NewCall", "GotDTMF", "Disconnect"])
        self.assertEqual(ev[2]["detail"], "key 2", ev)
        self.assertEqual(ev[3]["detail"], "duration %d s" % call["duration"],
                         ev)
        self.assertEqual(ev[4]["detail"], "duration %d s" % call["duration"],
                         ev)
        self.assert_verified(number, rid)
        self.assertEqual(self.call_row(call["sid"])["outcome"], "confirmed")
        self.assertEqual(self.fraud_reports(rid), [])
        # Already verified: the PIN is not accepted a second time.
        self.assert_seed(self.s.seed("/check", {"request_id": rid,
                                                "code": sms_pin}), 18)
        r, d = self.vonage_search(rid)
        ev = d.get("events") or []
        self.assertEqual([e.get("type") for e in ev][:1], ["sms"],
                         r.describe())
        self.assertTrue(ev[1:] and all(e.get("type") == "tts" and
                                       e.get("id") == call["sid"]
                                       for e in ev[1:]), r.describe())

    # -- 2: press 9 --------------------------------------------------------

    def test_press_9_cancels_reports_fraud_and_stops_the_workflow(self):
        number = new_number()
        self.script(number, keys=["9"])
        # Two calls 1 s apart: the second must never come.
        rid = self.tts_request(number, workflow_id="3", next_event_wait="1")
        call = self.wait_calls(number)[0]
        t_done = time.monotonic()
        tr = call["transcript"]
        pins = spoken_pins(tr)
        self.assertEqual(len(pins), 2, tr)
        self.assertIn("[pressed 9]", tr)
        self.assertIn("Thank you. We have cancelled this request and will "
                      "not call again for it. Goodbye.", tr)

        self.wait_status(rid, "CANCELLED")
        ev = self.assert_call_events(rid, call["sid"],
                                     ["NewCall", "GotDTMF", "Disconnect"],
                                     before=())
        self.assertEqual(ev[2]["detail"], "key 9", ev)
        self.assertEqual(self.fraud_reports(rid), [(number,)],
                         "one fraud report for the number")
        self.assertEqual(self.db_rows("SELECT count(*) FROM fraud_reports "
                                      "WHERE number = ?", (number,)), [(1,)])
        self.assertEqual(self.call_row(call["sid"])["outcome"], "reported")
        self.assert_seed(self.s.seed("/check", {"request_id": rid,
                                                "code": pins[0]}), 19)
        self.assert_not_verified(number)
        # The next call would be due 1 s after the first: wait 2.5 s.
        time.sleep(max(0.0, t_done + 2.5 - time.monotonic()))
        self.assertEqual(len(self.sim.calls(number)), 1,
                         "no call after the callee pressed 9")
        self.assert_seed_search_status(rid, "CANCELLED")
        self.assertEqual(len(self.fraud_reports(rid)), 1)

    # -- 3: press 1 then 2 -------------------------------------------------

    def test_press_1_repeats_the_pin_then_2_verifies(self):
        number = new_number()
        self.script(number, keys=["1", "2"])
        rid = self.tts_request(number)
        call = self.wait_calls(number)[0]
        tr = call["transcript"]
        pins = spoken_pins(tr)
        self.assertEqual(len(pins), 3, "twice, then once more after 1: %r"
                         % tr)
        self.assertEqual(len(set(pins)), 1, tr)
        i1, i2 = tr.index("[pressed 1]"), tr.index("[pressed 2]")
        self.assertLess(i1, i2, tr)
        self.assertEqual(spoken_pins(tr[i1:i2]), pins[:1],
                         "the PIN is read again between 1 and 2: %r" % tr)
        self.assertIn("Your %s verification code is" % BRAND, tr[i1:i2])
        self.assertTrue(any("Repetitions left: 1" in x for x in tr[i1:i2]),
                        tr)
        self.assertIn("Thank you. Your number is now verified with %s. "
                      "Goodbye." % BRAND, tr[i2:])

        self.wait_status(rid, "SUCCESS")
        ev = self.assert_call_events(
            rid, call["sid"], ["NewCall", "GotDTMF", "GotDTMF", "Disconnect"],
            before=())
        self.assertEqual([e["detail"] for e in ev[2:4]], ["key 1", "key 2"])
        self.assertEqual(self.call_row(call["sid"])["repeats"], 1)
        self.assertEqual(self.call_row(call["sid"])["outcome"], "confirmed")
        self.assert_verified(number, rid)
        self.assert_vonage_events_are_the_call(rid, call["sid"])

    def test_key_1_repeats_at_most_twice_then_goodbye(self):
        number = new_number()
        self.script(number, keys=["1", "1", "1"])
        rid = self.tts_request(number)
        call = self.wait_calls(number)[0]
        tr = call["transcript"]
        self.assertEqual(len(spoken_pins(tr)), 4, "twice, then two "
                         "repetitions (IVR_REPEATS_MAX): %r" % tr)
        self.assertEqual(tr.count("[pressed 1]"), 3, tr)
        prompts = [x for x in tr if "Repetitions left" in x]
        self.assertEqual(len(prompts), 2, tr)
        self.assertIn("Repetitions left: 1", prompts[0])
        self.assertIn("Repetitions left: 0", prompts[1])
        spoken = [x for x in tr if not x.startswith("[")]
        self.assertEqual(spoken[-1], "Please enter the code in %s. Goodbye."
                         % BRAND, tr)
        row = self.call_row(call["sid"])
        self.assertEqual((row["repeats"], row["outcome"]), (2, "goodbye"),
                         row)
        self.assert_seed_search_status(rid, "IN PROGRESS")

    # -- 4: silence --------------------------------------------------------

    def test_silence_repeats_once_then_goodbye_and_the_pin_still_works(self):
        number = new_number()
        self.script(number, keys=[])
        rid = self.tts_request(number)
        call = self.wait_calls(number)[0]
        tr = call["transcript"]
        pins = spoken_pins(tr)
        self.assertEqual(len(pins), 3, "twice, then one more repetition: %r"
                         % tr)
        self.assertEqual(len(set(pins)), 1, tr)
        self.assertEqual(tr.count("[no key pressed]"), 2, tr)
        i = tr.index("[no key pressed]")
        self.assertIn("Your %s verification code is" % BRAND, tr[i:])
        spoken = [x for x in tr if not x.startswith("[")]
        self.assertEqual(spoken[-1], "Please enter the code in %s. Goodbye."
                         % BRAND, tr)
        self.assertEqual(call["keys_sent"], ["", ""], call)

        ev = self.assert_call_events(
            rid, call["sid"], ["NewCall", "GotDTMF", "GotDTMF", "Disconnect"],
            before=())
        self.assertEqual([e["detail"] for e in ev[2:4]], ["key -"] * 2)
        row = self.call_row(call["sid"])
        self.assertEqual((row["repeats"], row["outcome"], row["status"]),
                         (1, "goodbye", "answered"), row)
        self.assert_seed_search_status(rid, "IN PROGRESS")
        self.assert_not_verified(number)
        # The person heard the PIN: typing it still verifies.
        r = self.s.vonage("/check", {"request_id": rid, "code": pins[0]})
        self.assert_vonage(r, "0", request_id=rid)
        self.assert_seed_search_status(rid, "SUCCESS")
        self.assert_verified(number, rid)

    # -- 5: the callee hangs up --------------------------------------------

    def test_callee_hangs_up_at_once_stays_in_progress(self):
        number = new_number()
        self.script(number, keys=["2"], hangup_at=1)
        rid = self.tts_request(number)
        call = self.wait_calls(number)[0]
        self.assertIn("[callee hung up]", call["transcript"])
        self.assertEqual(call["events"], ["NewCall", "Hangup"], call)
        self.assertEqual(call["keys_sent"], [], call)

        ev = self.assert_call_events(rid, call["sid"], ["NewCall", "Hangup"],
                                     before=())
        self.assertEqual(ev[2]["detail"], "duration %d s" % call["duration"],
                         ev)
        self.assertEqual(self.call_row(call["sid"])["outcome"], "")
        self.assert_seed_search_status(rid, "IN PROGRESS")
        self.assert_not_verified(number)
        self.assertEqual(self.fraud_reports(rid), [])
        pin = spoken_pins(call["transcript"])[0]
        self.assert_vonage(self.s.vonage("/check", {"request_id": rid,
                                                    "code": pin}), "0")

    def test_callee_answering_at_once_is_not_refused(self):
        """KooKoo may request the IVR URL as soon as it has queued the call
        (here: no ring at all); the server must not refuse that NewCall
        because it has not yet stored the call's sid."""
        numbers = [new_number() for _ in range(12)]
        for n in numbers:
            self.script(n, keys=["2"], ring_ms=0)
        rids = [self.tts_request(n) for n in numbers]
        calls = [self.wait_calls(n)[0] for n in numbers]
        refused = [(n, c["sid"], c["transcript"])
                   for n, c in zip(numbers, calls)
                   if c["events"] != ["NewCall", "GotDTMF", "Disconnect"]
                   or c["callback_http"] != 200]
        self.assertEqual(refused, [], "calls cut short because the IVR "
                         "answered before the sid was stored")
        for rid in rids:
            self.assert_seed_search_status(rid, "SUCCESS")

    # -- 6: not answered, busy ---------------------------------------------

    def test_no_answer_is_recorded_and_the_next_call_comes_at_once(self):
        number = new_number()
        self.script(number, call="no_answer")
        # Workflow 1: SMS, call after 3 s, call after 3 s more.
        rid = self.tts_request(number, workflow_id="1", next_event_wait="3")
        self.wait_sms_pin(number)
        first = poll_until(lambda: self.sim.calls(number), 6,
                           "the first call", interval=0.05)
        t_first = time.monotonic()
        self.assertEqual(len(first), 1, first)
        calls = self.wait_calls(number, 2, timeout=6)
        t_second = time.monotonic()
        self.assertLess(t_second - t_first, 2.0,
                        "the second call waited next_event_wait (3 s) "
                        "although the first was not answered")
        for c in calls:
            self.assertEqual((c["status"], c["callback_status"],
                              c["callback_http"], c["events"]),
                             ("ring", "ring", 200, []), c)
        ev = self.seed_events(rid)
        self.assertEqual(self.shape(ev), [
            ("sms", "sms", "accepted"),
            ("tts", "tts", "accepted"), ("tts", "call", "ring"),
            ("tts", "tts", "accepted"), ("tts", "call", "ring")], ev)
        self.assertEqual([e["id"] for e in ev[1:]],
                         [calls[0]["sid"]] * 2 + [calls[1]["sid"]] * 2, ev)
        self.assertEqual(ev[2]["detail"], "duration 0 s", ev)
        self.assertEqual(self.call_row(calls[0]["sid"])["status"], "ring")
        self.assert_seed_search_status(rid, "IN PROGRESS")
        self.assert_not_verified(number)

    def test_busy_is_recorded_and_the_next_call_comes_at_once(self):
        number = new_number()
        self.script(number, call="busy", call_fail_times=1, keys=["2"])
        # Workflow 3: two calls 20 s apart, unless the first is not answered.
        t0 = time.monotonic()
        rid = self.tts_request(number, workflow_id="3",
                               next_event_wait="20", pin_expiry="40")
        calls = self.wait_calls(number, 2, timeout=6)
        self.assertLess(time.monotonic() - t0, 6.0)
        self.assertEqual((calls[0]["status"], calls[0]["callback_status"],
                          calls[0]["events"]), ("busy", "busy", []), calls)
        self.assertEqual(calls[1]["callback_status"], "answered", calls)

        self.wait_status(rid, "SUCCESS")
        ev = self.seed_events(rid)
        self.assertEqual(self.shape(ev), [
            ("tts", "tts", "accepted"), ("tts", "call", "busy"),
            ("tts", "tts", "accepted"), ("tts", "ivr", "NewCall"),
            ("tts", "ivr", "GotDTMF"), ("tts", "ivr", "Disconnect"),
            ("tts", "call", "answered")], ev)
        self.assertEqual([e["id"] for e in ev],
                         [calls[0]["sid"]] * 2 + [calls[1]["sid"]] * 5, ev)
        self.assertEqual(self.call_row(calls[0]["sid"])["status"], "busy")
        self.assert_verified(number, rid)

    # -- 7: a key without voice confirmation -------------------------------

    def test_key_without_voice_confirm_press_2_does_not_verify(self):
        number = new_number()
        self.script(number, keys=["2"])
        rid = self.tts_request(number, key=1)
        call = self.wait_calls(number)[0]
        tr = call["transcript"]
        self.assertIn("[pressed 2]", tr)
        self.assertIn("Please enter the code in %s. Goodbye." % BRAND, tr)
        self.assertFalse(any("now verified" in x for x in tr), tr)

        r, d = self.seed_search(rid, key=1)
        if d.get("status") != "IN PROGRESS":
            self.fail_reply(r, "expected IN PROGRESS: 2 must not verify")
        self.assertEqual(self.shape(d["events"]), [
            ("tts", "tts", "accepted"), ("tts", "ivr", "NewCall"),
            ("tts", "ivr", "GotDTMF"), ("tts", "ivr", "Disconnect"),
            ("tts", "call", "answered")], r.describe())
        self.assert_not_verified(number, key=1)
        outcome = self.call_row(call["sid"])["outcome"]
        # The code itself still verifies.
        pin = spoken_pins(tr)[0]
        self.assert_vonage(self.s.vonage("/check", {"request_id": rid,
                                                    "code": pin}, key=1), "0")
        self.assert_verified(number, rid, key=1)
        # The call ended on the goodbye page: its row says so, as it does
        # when silence ends the call.
        self.assertEqual(outcome, "goodbye", "calls.outcome of a call that "
                         "ended on the goodbye page after key 2")

    # -- 8: Hindi ----------------------------------------------------------

    def test_hindi_call(self):
        number = new_number()
        self.script(number, keys=["2"])
        rid = self.tts_request(number, lg="hi-in")
        call = self.wait_calls(number)[0]
        tr = call["transcript"]
        text = "\n".join(tr)
        self.assertIn("सत्यापन कोड", text)
        self.assertIn("%s की ओर से कॉल है" % BRAND, text)
        self.assertIn("सत्यापित हो गया", text)
        self.assertNotIn("verification code", text)
        self.assertEqual(len(spoken_pins(tr)), 2, tr)
        self.wait_status(rid, "SUCCESS")

    # -- 9: the PIN expires while the phone rings --------------------------

    def test_pin_expired_before_answer_ends_the_call(self):
        number = new_number()
        self.script(number, keys=["2"], ring_ms=2500)
        rid = self.tts_request(number, pin_expiry="1")
        call = self.wait_calls(number)[0]
        tr = call["transcript"]
        self.assertIn("This %s code is no longer valid. Please request a new "
                      "one. Goodbye." % BRAND, tr)
        self.assertEqual(spoken_pins(tr), [], "an expired PIN is not read")
        self.assertEqual(call["events"], ["NewCall", "Disconnect"], call)
        self.assertEqual(call["keys_sent"], [], call)

        self.wait_status(rid, "EXPIRED")
        r, d = self.seed_search(rid)
        shape = self.shape(d["events"])
        for e in [("tts", "tts", "accepted"), ("tts", "ivr", "NewCall"),
                  ("tts", "call", "answered")]:
            if e not in shape:
                self.fail_reply(r, "expected event %r" % (e,))
        if ("tts", "ivr", "GotDTMF") in shape:
            self.fail_reply(r, "no key can be pressed after the end")
        self.assert_not_verified(number)


# ---- forged and replayed callbacks -----------------------------------------


class FakeKooKoo:
    """Answers KooKoo's outbound APIs and records what it was given; plays
    no call.  calls: [{"phone_no", "url", "callback_url", "sid"}]."""

    def __init__(self):
        self.calls = []
        self.sms = []
        self.lock = threading.Lock()
        self.next_sid = 50000000000000001
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.answer(urllib.parse.urlsplit(self.path).query)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8", "replace")
                q = urllib.parse.urlsplit(self.path).query
                self.answer(q + "&" + body if q else body)

            def answer(self, query):
                p = dict(urllib.parse.parse_qsl(query,
                                                keep_blank_values=True))
                path = urllib.parse.urlsplit(self.path).path
                with fake.lock:
                    if path.endswith("/outbound.php"):
                        sid = str(fake.next_sid)
                        fake.next_sid += 1
                        fake.calls.append({
                            "phone_no": p.get("phone_no"),
                            "url": p.get("url"),
                            "callback_url": p.get("callback_url"),
                            "sid": sid})
                        status, msg = "queued", sid
                    elif path.endswith("/outbound_sms.php"):
                        fake.sms.append((p.get("phone_no"),
                                         p.get("message")))
                        status, msg = "success", "SMS queued"
                    else:
                        status, msg = "error", "Unknown API"
                body = ("<?xml version=\"1.0\"?><response><status>%s"
                        "</status><message>%s</message></response>"
                        % (status, msg)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    @property
    def base_url(self):
        return "http://127.0.0.1:%d/outbound" % self.port

    def call_to(self, number):
        with self.lock:
            for c in self.calls:
                if c["phone_no"] and number.endswith(c["phone_no"]):
                    return dict(c)
        return None

    def sms_to(self, number):
        with self.lock:
            return [m for n, m in self.sms if n and number.endswith(n)]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def split_url(url):
    """(path, token) of an IVR URL the server handed to KooKoo."""
    u = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(u.query))
    return u.path, q.get("t")


def flip_hex(c):
    return "0" if c != "0" else "1"


class IvrCallbackTests(IvrTestCase, WiredTestCase):
    """Callbacks sent by the test with the token the server gave KooKoo."""

    wired_settings = {"pin_expiry": 60, "next_event_wait": 1}

    @classmethod
    def make_provider(cls):
        return FakeKooKoo()

    @property
    def fake(self):
        return self.provider

    def placed_call(self, workflow="7", lg=None):
        """A verification whose call the fake KooKoo queued, once its sid
        is stored; returns (number, rid, call, token)."""
        number = new_number()
        p = {"workflow_id": workflow}
        if lg:
            p["lg"] = lg
        _, rid = self.vonage_request_ok(number=number, brand=BRAND, **p)
        call = poll_until(lambda: self.fake.call_to(number), 6,
                          "the call request for %s" % number, interval=0.05)
        # The sid is stored with the "accepted" event.
        poll_until(lambda: any(e.get("id") == call["sid"] and
                               e.get("result") == "accepted"
                               for e in self.seed_events(rid)),
                   4, "the queued call recorded", interval=0.05)
        path, token = split_url(call["url"])
        self.assertEqual(path, "/ivr/kookoo", call)
        self.assertTrue(call["url"].startswith("http://127.0.0.1:%d/"
                                               % self.s.port), call)
        spath, stoken = split_url(call["callback_url"])
        self.assertEqual((spath, stoken), ("/ivr/kookoo/status", token),
                         call)
        self.assertTrue(token, call)
        return number, rid, call, token

    def ivr(self, params, path="/ivr/kookoo", method="GET"):
        if method == "GET":
            return self.s.get(path, params)
        return self.s.post_form(path, params)

    def snapshot(self, rid, number):
        """Everything a callback could change for verification rid."""
        r, d = self.seed_search(rid)
        vid = self.vid(rid)
        with self.fake.lock:
            placed = [c for c in self.fake.calls
                      if number.endswith(c["phone_no"] or "-")]
        return {
            "status": d.get("status"),
            "events": d.get("events"),
            "calls": self.db_rows("SELECT * FROM calls WHERE "
                                  "verification_id = ?", (vid,)),
            "fraud_reports": self.db_rows("SELECT count(*) FROM "
                                          "fraud_reports"),
            "jobs": self.db_rows("SELECT kind, step, due_ms, state FROM jobs"
                                 " WHERE verification_id = ? ORDER BY id",
                                 (vid,)),
            "placed_calls": len(placed),
        }

    # -- 10 ----------------------------------------------------------------

    def test_forged_callbacks_are_refused_and_change_nothing(self):
        # Workflow 3: a second call is pending (150 s), which a forged
        # "not answered" status would bring forward.
        number, rid, call, token = self.placed_call(workflow="3")
        sid = call["sid"]
        number_b, rid_b, call_b, token_b = self.placed_call(workflow="3")
        before = self.snapshot(rid, number)
        self.assertEqual(before["status"], "IN PROGRESS")
        self.assertIn(("step", 1, before["jobs"][-1][2], 0), before["jobs"],
                      "the second call is pending")
        before_b = self.snapshot(rid_b, number_b)

        body, mac = token.rsplit(".", 1)
        vid, step, exp = body.split(".")
        forged = {
            "no token": None,
            "empty token": "",
            "garbage token": "garbage",
            "MAC with one hex digit changed":
                body + "." + mac[:-1] + flip_hex(mac[-1]),
            "MAC cut short": body + "." + mac[:-1],
            "verification id changed": "%d.%s.%s.%s"
                % (int(vid) + 1, step, exp, mac),
            "step changed": "%s.%d.%s.%s" % (vid, int(step) + 1, exp, mac),
            "expiry extended": "%s.%s.%d.%s" % (vid, step, int(exp) + 86400,
                                                 mac),
            "another call's token": token_b,
        }
        attempts = []
        # The genuine token with a sid that is not the call's.
        # (The server stored the call's sid before this: placed_call.)
        for what, bad_sid in (("wrong sid", str(int(sid) + 1000)),
                              ("the other call's sid", call_b["sid"]),
                              ("empty sid", "")):
            attempts.append((what, "GET", "/ivr/kookoo",
                             {"t": token, "sid": bad_sid,
                              "event": "GotDTMF", "data": "2"}))
            attempts.append((what, "POST", "/ivr/kookoo/status",
                             {"t": token, "sid": bad_sid,
                              "status": "busy"}))
        for what, t in forged.items():
            for ev in ({"event": "GotDTMF", "data": "2"},
                       {"event": "GotDTMF", "data": "9"},
                       {"event": "NewCall"}):
                p = dict(ev, sid=sid)
                if t is not None:
                    p["t"] = t
                attempts.append((what, "GET", "/ivr/kookoo", p))
            p = {"sid": sid, "status": "ring", "duration": "0"}
            if t is not None:
                p["t"] = t
            attempts.append((what, "POST", "/ivr/kookoo/status", p))
        attempts.append(("no sid", "GET", "/ivr/kookoo",
                         {"t": token, "event": "GotDTMF", "data": "9"}))
        attempts.append(("POST form, forged", "POST", "/ivr/kookoo",
                         {"t": forged["verification id changed"], "sid": sid,
                          "event": "GotDTMF", "data": "2"}))

        accepted = []
        for what, method, path, p in attempts:
            r = self.ivr(p, path, method)
            if r.status != 403 or b"<say-as" in r.raw or \
                    b"verified" in r.raw:
                accepted.append("%s: %s" % (what, r.describe()))
        self.assertEqual(accepted, [], "expected HTTP 403 and no page for "
                         "each forged callback")
        time.sleep(0.3)  # a wrongly woken worker would have placed a call
        self.assertEqual(self.snapshot(rid, number), before,
                         "forged callbacks changed the verification")
        self.assertEqual(self.snapshot(rid_b, number_b), before_b)
        self.assert_not_verified(number)

        # The genuine callback is accepted: the refusals were the forgery.
        r = self.ivr({"t": token, "sid": sid, "event": "GotDTMF",
                      "data": "2"})
        if r.status != 200 or b"now verified" not in r.raw:
            self.fail_reply(r, "the genuine key 2 must verify")
        self.assert_seed_search_status(rid, "SUCCESS")
        self.assert_verified(number, rid)
        self.assert_seed_search_status(rid_b, "IN PROGRESS")

    def test_outbound_sid_carrying_the_call_id_is_accepted(self):
        # KooKoo's app requests for a call placed through outbound.php
        # carry outbound_sid, the id the queued reply gave; its own sid may
        # be another (session) id.  Either naming the call is enough, with
        # the token; both wrong, or no token, is refused.
        number, rid, call, token = self.placed_call(workflow="3")
        sid = call["sid"]
        session = str(int(sid) + 777)
        before = self.snapshot(rid, number)
        refused = [
            ("both ids wrong", {"t": token, "sid": session,
                                "outbound_sid": str(int(sid) + 1)}),
            ("both ids wrong, reversed", {"t": token,
                                          "sid": str(int(sid) + 1),
                                          "outbound_sid": session}),
            ("outbound_sid right, no token", {"sid": session,
                                              "outbound_sid": sid}),
            ("outbound_sid right, forged token",
             {"t": token[:-1] + flip_hex(token[-1]), "sid": session,
              "outbound_sid": sid}),
        ]
        for what, p in refused:
            for path, method, extra in (
                    ("/ivr/kookoo", "GET", {"event": "NewCall"}),
                    ("/ivr/kookoo/status", "POST", {"status": "busy"})):
                r = self.ivr(dict(p, **extra), path, method)
                self.assertEqual(r.status, 403, "%s: %s"
                                 % (what, r.describe()))
                self.assertNotIn(b"<say-as", r.raw, what)
        self.assertEqual(self.snapshot(rid, number), before,
                         "refused callbacks changed the verification")

        # sid wrong, outbound_sid right: the call is found and played.
        r = self.ivr({"t": token, "sid": session, "outbound_sid": sid,
                      "event": "NewCall", "cid": number[-10:]})
        if r.status != 200 or b"<say-as" not in r.raw:
            self.fail_reply(r, "NewCall with the call id in outbound_sid "
                            "must read the PIN")
        # The other order: sid right, outbound_sid wrong.
        r = self.ivr({"t": token, "sid": sid, "outbound_sid": session,
                      "event": "GotDTMF", "data": "1"})
        if r.status != 200 or b"<say-as" not in r.raw:
            self.fail_reply(r, "key 1 with the call id in sid must repeat")
        r = self.ivr({"t": token, "sid": session, "outbound_sid": sid,
                      "event": "GotDTMF", "data": "2"})
        if r.status != 200 or b"now verified" not in r.raw:
            self.fail_reply(r, "key 2 with the call id in outbound_sid "
                            "must verify")
        r = self.ivr({"t": token, "sid": session, "outbound_sid": sid,
                      "status": "answered", "duration": "9"},
                     "/ivr/kookoo/status", "POST")
        self.assertEqual(r.status, 200, r.describe())
        self.assert_seed_search_status(rid, "SUCCESS")
        self.assert_verified(number, rid)
        # Every event is recorded under the queued call id, in one row.
        ev = [e for e in self.seed_events(rid) if e["channel"] != "tts"]
        self.assertEqual([(e["channel"], e["result"], e["id"]) for e in ev],
                         [("ivr", "NewCall", sid), ("ivr", "GotDTMF", sid),
                          ("ivr", "GotDTMF", sid), ("call", "answered", sid)],
                         ev)
        self.assertEqual(len(self.snapshot(rid, number)["calls"]), 1)
        self.assertEqual(self.call_row(sid),
                         {"repeats": 1, "outcome": "confirmed",
                          "status": "answered", "duration": 9})

    def test_replayed_callbacks_after_the_end_change_nothing(self):
        number, rid, call, token = self.placed_call()
        sid = call["sid"]
        r = self.ivr({"t": token, "sid": sid, "event": "GotDTMF",
                      "data": "2"})
        self.assertEqual(r.status, 200, r.describe())
        self.assert_seed_search_status(rid, "SUCCESS")
        n_events = len(self.seed_events(rid))

        # Replays with the genuine token: the verification is over.
        r = self.ivr({"t": token, "sid": sid, "event": "GotDTMF",
                      "data": "9"})
        if r.status != 200 or b"no longer valid" not in r.raw:
            self.fail_reply(r, "a late key 9 gets the 'no longer valid' page")
        r = self.ivr({"t": token, "sid": sid, "event": "NewCall"})
        if r.status != 200 or b"no longer valid" not in r.raw or \
                b"say-as" in r.raw:
            self.fail_reply(r, "a replayed NewCall must not read the PIN")
        r = self.ivr({"t": token, "sid": sid, "status": "busy"},
                     "/ivr/kookoo/status", "POST")
        self.assertEqual(r.status, 200, r.describe())
        self.assert_seed_search_status(rid, "SUCCESS")
        self.assertEqual(self.fraud_reports(rid), [])
        self.assert_verified(number, rid)
        ev = self.seed_events(rid)
        self.assertEqual(self.shape(ev[n_events:]), [
            ("tts", "ivr", "GotDTMF"), ("tts", "ivr", "NewCall"),
            ("tts", "call", "busy")], "replays are recorded: %r" % ev)

    # -- 11 ----------------------------------------------------------------

    def test_newcall_xml_answer(self):
        number = new_number()
        _, rid = self.seed_request_ok(number=number, brand=BRAND)
        sms = poll_until(lambda: self.fake.sms_to(number), 4,
                         "the SMS to %s" % number, interval=0.05)
        sms_pin = PIN_RE.search(sms[0]).group(1)
        call = poll_until(lambda: self.fake.call_to(number), 6,
                          "the call request for %s" % number, interval=0.05)
        poll_until(lambda: any(e.get("id") == call["sid"]
                               for e in self.seed_events(rid)),
                   4, "the queued call recorded", interval=0.05)
        _, token = split_url(call["url"])
        sid = call["sid"]

        r = self.ivr({"t": token, "sid": sid, "event": "NewCall",
                      "cid": call["phone_no"], "called_number": "0800000000",
                      "outbound_sid": sid})
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.content_type.startswith("text/xml"), r.describe())
        self.assertTrue(r.raw.startswith(XML_DECL), r.describe())
        root = ET.fromstring(r.raw)
        self.assertEqual(root.tag, "response", r.describe())
        self.assertEqual(root.get("sid"), sid, r.describe())
        says = root.findall("say-as")
        self.assertEqual([(s.get("format"), s.text) for s in says],
                         [("501", sms_pin)] * 2, r.describe())
        self.assertIn(b'<say-as format="501"', r.raw)
        self.assertEqual(root[-1].tag, "collectdtmf", r.describe())
        self.assertTrue(any(BRAND in (e.text or "")
                            for e in root.iter("playtext")), r.describe())

        # Key 1: the repeat page reads it again; the call ends; the status.
        r = self.ivr({"t": token, "sid": sid, "event": "GotDTMF",
                      "data": "1"}, method="POST")
        self.assertEqual(r.status, 200, r.describe())
        root = ET.fromstring(r.raw)
        self.assertEqual([s.text for s in root.iter("say-as")], [sms_pin],
                         r.describe())
        r = self.ivr({"t": token, "sid": sid, "event": "Hangup",
                      "process": "none", "total_call_duration": "17"})
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(ET.fromstring(r.raw).tag, "response", r.describe())
        r = self.ivr({"t": token, "sid": sid, "status": "answered",
                      "duration": "17", "phone_no": call["phone_no"]},
                     "/ivr/kookoo/status", "POST")
        self.assertEqual(r.status, 200, r.describe())

        r, d = self.seed_search(rid)
        ev = d["events"]
        self.assertEqual(self.shape(ev), [
            ("sms", "sms", "accepted"), ("tts", "tts", "accepted"),
            ("tts", "ivr", "NewCall"), ("tts", "ivr", "GotDTMF"),
            ("tts", "ivr", "Hangup"), ("tts", "call", "answered")],
            r.describe())
        self.assertEqual([e["detail"] for e in ev[3:]],
                         ["key 1", "duration 17 s", "duration 17 s"],
                         r.describe())
        row = self.call_row(sid)
        self.assertEqual((row["repeats"], row["status"], row["duration"]),
                         (1, "answered", 17), row)
        self.assertEqual(d["status"], "IN PROGRESS", r.describe())
        self.assert_seed(self.s.seed("/check", {"request_id": rid,
                                                "code": sms_pin}), 0)

    def test_hindi_xml_answer(self):
        number, rid, call, token = self.placed_call(lg="hi-in")
        r = self.ivr({"t": token, "sid": call["sid"], "event": "NewCall"})
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.raw.startswith(XML_DECL), r.describe())
        root = ET.fromstring(r.raw)
        texts = " ".join(e.text or "" for e in root.iter("playtext"))
        self.assertIn("सत्यापन कोड", texts, r.describe())
        self.assertEqual(len(root.findall("say-as")), 2, r.describe())


if __name__ == "__main__":
    unittest.main()
