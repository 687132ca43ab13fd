"""The log scan: no PIN, full phone number or secret in a server's log.

What a test sends a server (phone numbers, codes, API secrets, HTTP Basic
passwords) is noted by the client (client.ServerClient.request), the PINs
the simulator delivered (SMS texts, the IVR's readings) by Sim.inbox(),
and each server's API secrets and server secret by the server itself.  Every server's stderr is scanned
against all of them when it is checked (process.Server.check_stderr: at
its stop and at each test's tearDown), in the text and the JSON format
alike, and the test fails naming the line.  The line's own time is left
out of the scan (its digits are not a PIN).
"""

import base64
import glob
import json
import os
import re
import threading
import urllib.parse

from .config import ROOT

NUMBER_PARAMS = ("number", "phone_no")
PIN_PARAMS = ("code", "pin")
SECRET_PARAMS = ("api_secret",)
SMS_PIN_RE = re.compile(r"(?<![0-9A-Za-z])(\d{4,10})(?![0-9A-Za-z])")
SPOKEN_PIN_RE = re.compile(r"^\d( \d){3,9}$")  # the IVR reads "1 2 3 4"
TIME_RE = re.compile(r'^(\{"time":"[^"]*"|\d{4}-\d\d-\d\dT[0-9:.]+Z)')


def _counter_fields():
    """The names of the numeric fields the server logs (LOG_INT and
    LOG_DOUBLE in its source): their values are counters, ids and sizes,
    so a job numbered 1000 is not the PIN 1000.  A name that could hold a
    code is never one of them."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "src", "*.c")) + \
            glob.glob(os.path.join(ROOT, "ivr", "*.c")):
        with open(path, encoding="utf-8") as f:
            names.update(re.findall(r'LOG_(?:INT|DOUBLE)\("([a-z_]+)"',
                                    f.read()))
    return {n for n in names if not re.search(r"pin|code|otp", n)}


_COUNTERS = "|".join(sorted(_counter_fields())) or "(?!)"
# A counter field's whole value, in the text and the JSON format.
COUNTER_VALUE_RE = re.compile(
    r'(?<= )((?:%s)=)-?[0-9.]+(?= |$)|("(?:%s)":)-?[0-9.]+(?=[,}])'
    % (_COUNTERS, _COUNTERS))


class LogScan:
    """What must never be logged, and the scan of a log for it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pins = set()     # 4-10 digits, matched as a whole token
        self._numbers = set()  # E.164 digits, national form: anywhere
        self._secrets = set()  # anywhere

    def note_pin(self, pin):
        if isinstance(pin, str) and re.fullmatch(r"\d{4,10}", pin):
            with self._lock:
                self._pins.add(pin)

    def note_number(self, value):
        """A number as a test wrote it: its E.164 digits and, for India,
        the 10-digit national form.  Shorter than a number: ignored."""
        if not isinstance(value, str):
            return
        digits = re.sub(r"\D", "", value)
        forms = set()
        if len(digits) == 12 and digits.startswith("91"):
            forms.update((digits, digits[2:]))
        elif len(digits) == 11 and digits.startswith("0"):
            forms.add(digits[1:])
        elif len(digits) >= 10:
            forms.add(digits)
        with self._lock:
            self._numbers.update(forms)

    def note_secret(self, value):
        if isinstance(value, str) and len(value) >= 8:
            with self._lock:
                self._secrets.add(value)

    def note_sms(self, texts):
        """The PINs in the texts of SMS the simulator delivered."""
        for text in texts:
            for m in SMS_PIN_RE.finditer(text or ""):
                self.note_pin(m.group(1))

    def note_calls(self, calls):
        """The PINs the IVR read in the simulator's calls."""
        for call in calls:
            for line in call.get("transcript") or []:
                if isinstance(line, str) and SPOKEN_PIN_RE.match(line):
                    self.note_pin(line.replace(" ", ""))

    def note_request(self, url, body, headers):
        """Everything sensitive in one request a test sends."""
        for name, value in _request_values(url, body, headers):
            if name in NUMBER_PARAMS:
                self.note_number(value)
            elif name in PIN_PARAMS:
                self.note_pin(value)
            elif name in SECRET_PARAMS:
                self.note_secret(value)

    def find_leak(self, text):
        """(what, value, line) for the first line of `text` that holds a
        noted value, or None."""
        with self._lock:
            pins = sorted(self._pins)
            numbers = sorted(self._numbers)
            secrets = sorted(self._secrets)
        pin_re = (re.compile(r"(?<![0-9A-Za-z])(%s)(?![0-9A-Za-z])"
                             % "|".join(pins)) if pins else None)
        for line in text.splitlines():
            body = TIME_RE.sub("", line, count=1)
            for s in secrets:
                if s in body:
                    return ("a secret", s, line)
            for n in numbers:
                if n in body:
                    return ("a full phone number", n, line)
            m = (pin_re.search(COUNTER_VALUE_RE.sub(r"\1\2#", body))
                 if pin_re else None)
            if m:
                return ("a PIN", m.group(1), line)
        return None


def _request_values(url, body, headers):
    """(name, value) of the query, the form or JSON body, and ("api_secret",
    password) of HTTP Basic credentials."""
    pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query,
                                   keep_blank_values=True)
    ctype = ""
    for k, v in (headers or {}).items():
        if k.lower() == "content-type":
            ctype = v
        elif k.lower() == "authorization" and v.startswith("Basic "):
            try:
                user_pass = base64.b64decode(v[6:]).decode("utf-8")
            except ValueError:
                continue
            pairs.append(("api_secret", user_pass.partition(":")[2]))
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body and ctype.startswith("application/json"):
        try:
            obj = json.loads(body)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            pairs += list(obj.items())
    elif body and ctype.startswith("application/x-www-form-urlencoded"):
        pairs += urllib.parse.parse_qsl(body, keep_blank_values=True)
    return [(k, v) for k, v in pairs if isinstance(v, str)]


# The scan of the whole test run: what every test sent, every server's log.
SCAN = LogScan()
note_pin = SCAN.note_pin
note_number = SCAN.note_number
note_secret = SCAN.note_secret
note_sms = SCAN.note_sms
note_calls = SCAN.note_calls
note_request = SCAN.note_request
find_leak = SCAN.find_leak


# -- reading lines of either format ------------------------------------------

TEXT_LINE_RE = re.compile(r"^(\S+Z) (debug|info|warn|error) (\S+)(.*)$")
PAIR_RE = re.compile(r' ([^=\s]+)=("(?:[^"\\]|\\.)*"|\S*)')
ESCAPE_RE = re.compile(r"\\(x[0-9a-f]{2}|.)")


def _unescape(m):
    s = m.group(1)
    return chr(int(s[1:], 16)) if s.startswith("x") else s


def parse_line(line):
    """One log line, text or JSON, as a dict (time, level, event, then the
    context and the fields; text values are strings), or None."""
    if line.startswith("{"):
        try:
            d = json.loads(line)
        except ValueError:
            return None
        return d if isinstance(d, dict) else None
    m = TEXT_LINE_RE.match(line)
    if not m:
        return None
    d = {"time": m.group(1), "level": m.group(2), "event": m.group(3)}
    for k, v in PAIR_RE.findall(m.group(4)):
        if v.startswith('"'):
            v = ESCAPE_RE.sub(_unescape, v[1:-1])
        d[k] = v
    return d


def events(text, name=None, **fields):
    """The lines of `text` that are events (named `name`, when given, and
    with these field values, compared as strings), parsed."""
    out = []
    for line in text.splitlines():
        d = parse_line(line)
        if d is None or (name is not None and d.get("event") != name):
            continue
        if all(str(d.get(k)) == str(v) for k, v in fields.items()):
            out.append(d)
    return out
