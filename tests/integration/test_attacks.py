"""Attacks on a running server (docs/SECURITY.md names what each proves).

Brute force on one PIN from many threads at once, a right code racing wrong
ones, bursts that try to slip past "one live verification per number", the
per-prefix limit and the per-number window, enumeration of request ids and
keys (by content and by time), and hostile input: a 10 MB body, a thousand
parameters, a 100 KB query, 64 KB of headers, slow clients (also 4352 of them
from 17 addresses), ambiguous HTTP framing that would smuggle a request, and
every parameter cap answered in the dialect's form.
"""

import random
import re
import secrets
import socket
import statistics
import threading
import time
import unittest
import urllib.parse

import harness
from harness import KVTestCase, db_scalar, pin_of, run_all, wrong_pin

# Real Indian mobiles (test numbers are exempt from the number and prefix
# limits).  Nothing is sent: these servers have no KooKoo URL.
REAL_BASE = 919812300000


def real_number(i):
    return str(REAL_BASE + i)


def describe_all(replies):
    return "\n".join(r.describe() for r in replies)


def wrong_codes(pin, count):
    """`count` distinct codes of the PIN's length, none of them the PIN."""
    codes = []
    i = 0
    while len(codes) < count:
        c = "%0*d" % (len(pin), (int(pin) + 1 + i * 37) % 10 ** len(pin))
        if c != pin and c not in codes:
            codes.append(c)
        i += 1
    return codes


def db_count(db, sql, *args):
    """One count(*) from the server's database (either backend)."""
    return db_scalar(db, sql, args)


# ---- brute force on one PIN ------------------------------------------------

class BruteForceTests(KVTestCase):
    """The attempt is counted before the comparison, in the writer: no
    amount of parallelism buys a fourth guess."""

    def check(self, dialect, rid, code):
        if dialect == "seed":
            return self.s.seed("/check", {"request_id": rid, "code": code})
        return self.s.vonage("/check", {"request_id": rid, "code": code})

    def new_verification(self, dialect):
        if dialect == "seed":
            return self.seed_request_ok()
        return self.vonage_request_ok()

    def search(self, dialect, rid):
        if dialect == "seed":
            return self.seed_search(rid)
        return self.vonage_search(rid)

    def brute_force(self, dialect, wrong_status, spent_status):
        number, rid = self.new_verification(dialect)
        pin = pin_of(number)
        codes = wrong_codes(pin, 30)
        replies = run_all([lambda c=c: self.check(dialect, rid, c)
                                for c in codes])
        statuses = sorted(self.assert_json_reply(r).get("status")
                          for r in replies)
        # Seed: 16 16 16 (the third ends it), then 15; Vonage: 16 16 17,
        # then 17.
        expected = sorted(wrong_status[:3] + [spent_status] * 27)
        if statuses != expected:
            self.fail("30 parallel wrong codes: expected statuses %r, got %r"
                      "\n%s" % (expected, statuses, describe_all(replies)))
        r = self.check(dialect, rid, pin)
        if self.assert_json_reply(r).get("status") != spent_status:
            self.fail_reply(r, "the right code after three wrong ones must "
                            "fail with %r" % spent_status)
        r, d = self.search(dialect, rid)
        if d.get("status") != "FAILED" or len(d.get("checks", [])) != 3 \
                or any(c.get("status") != "INVALID" for c in d["checks"]):
            self.fail_reply(r, "expected FAILED with exactly 3 INVALID "
                            "checks")
        counted = sorted(c["code"] for c in d["checks"])
        self.assertTrue(set(counted) <= set(codes), counted)
        self.assertNotIn(pin, counted)

    def test_seed_30_parallel_wrong_codes_then_the_right_one(self):
        self.brute_force("seed", [16, 16, 16], 15)

    def test_vonage_30_parallel_wrong_codes_then_the_right_one(self):
        self.brute_force("vonage", ["16", "16", "17"], "17")

    def race_right_code(self, dialect):
        """One right code and 10 wrong ones at once; returns True when the
        right one won."""
        number, rid = self.new_verification(dialect)
        pin = pin_of(number)
        codes = wrong_codes(pin, 10)
        # Where the right code's thread sits changes who wins the race.
        at = random.randrange(len(codes) + 1)
        codes.insert(at, pin)
        replies = run_all([lambda c=c: self.check(dialect, rid, c)
                                for c in codes])
        st = [self.assert_json_reply(r).get("status") for r in replies]
        # The right code's reply first.
        st.insert(0, st.pop(at))
        ok, wrong, after_ok, failed = (
            ("0", "16", "6", "17") if dialect == "vonage" else
            (0, 16, 18, 15))
        r, d = self.search(dialect, rid)
        checks = d.get("checks", [])
        msg = ("right code racing 10 wrong ones (%s): reply statuses %r "
               "(the right code's first), search:\n%s\n%s"
               % (dialect, st, r.describe(), describe_all(replies)))
        if not 1 <= len(checks) <= 3:
            self.fail("expected 1 to 3 counted checks; " + msg)
        valid = [c for c in checks if c.get("status") == "VALID"]
        if st[0] == ok:
            # It was counted among the first three, and last: nothing is
            # counted after a success.
            self.assertEqual(d.get("status"), "SUCCESS", msg)
            self.assertEqual(len(valid), 1, msg)
            self.assertEqual(checks[-1].get("status"), "VALID", msg)
            self.assertEqual(checks[-1].get("code"), pin, msg)
            self.assertEqual(st[1:].count(wrong), len(checks) - 1, msg)
            self.assertEqual(st[1:].count(after_ok) + len(checks) - 1, 10,
                             msg)
            return True
        # Not among the first three: three wrong ones spent the budget.
        self.assertEqual(st[0], failed, msg)
        self.assertEqual(st.count(wrong), 3 if dialect == "seed" else 2, msg)
        self.assertEqual(d.get("status"), "FAILED", msg)
        self.assertEqual(len(checks), 3, msg)
        self.assertEqual(valid, [], msg)
        self.assertNotIn(pin, [c.get("code") for c in checks], msg)
        return False

    def test_right_code_racing_10_wrong_ones(self):
        outcomes = [self.race_right_code("seed" if i % 2 else "vonage")
                    for i in range(12)]
        # Either outcome is fine; each was checked for consistency.
        self.assertEqual(len(outcomes), 12)


# ---- bursts and the atomic limits ------------------------------------------

class BurstTests(KVTestCase):

    def test_burst_of_50_makes_one_verification(self):
        number = real_number(1)
        replies = run_all(
            [lambda: self.s.seed("", {"phone_no": number, "brand": "Burst"})]
            * 50)
        statuses = sorted(self.assert_json_reply(r).get("status")
                          for r in replies)
        ids = {r.data.get("request_id") for r in replies}
        if statuses != [0] + [10] * 49 or len(ids) != 1:
            self.fail("expected one status 0 and 49 status 10 with one "
                      "request_id; got %r and %r\n%s"
                      % (statuses, ids, describe_all(replies)))
        rid = ids.pop()
        self.assertEqual(db_count(self.s.db, "SELECT count(*) FROM "
                                  "verifications WHERE number = ?", number),
                         1, "rows for the number in verifications")
        self.assertEqual(db_count(self.s.db, "SELECT count(*) FROM jobs "
                                  "JOIN verifications v ON v.id = "
                                  "verification_id WHERE v.request_id = ?",
                                  rid), 1, "delivery jobs for it")


class LimitRaceTests(KVTestCase):
    per_test = True
    nkeys = 10

    def assert_throttled(self, r):
        if self.assert_json_reply(r).get("status") != 1:
            self.fail_reply(r, "expected status 1 (throttled)")
        retry = r.headers.get("Retry-After")
        if retry is None or not retry.isdigit() or int(retry) < 1:
            self.fail_reply(r, "expected a Retry-After of whole seconds")

    def request(self, number, key=0):
        return self.s.seed("", {"phone_no": number, "brand": "Lim"}, key=key)

    def test_prefix_limit_holds_under_a_burst(self):
        self.start_server({"limit_prefix_per_hour": 10,
                           "limit_prefix_digits": 7})
        numbers = [real_number(100 + i) for i in range(30)]  # 9198123...
        replies = run_all([lambda n=n: self.request(n)
                                for n in numbers])
        ok = [r for r in replies if self.assert_json_reply(r).get("status")
              == 0]
        rest = [r for r in replies if r not in ok]
        if len(ok) != 10:
            self.fail("expected exactly 10 of 30 accepted, got %d\n%s"
                      % (len(ok), describe_all(replies)))
        for r in rest:
            self.assert_throttled(r)
        self.assertEqual(db_count(self.s.db, "SELECT count(*) FROM "
                                  "verifications WHERE number LIKE "
                                  "'9198123%'"), 10)

    def test_number_window_holds_under_parallel_requests(self):
        self.start_server({"limit_number_max": 2,
                           "limit_number_window": 600})
        number = real_number(200)
        # One key: each round is a burst, then a cancel frees the number.
        # Two rounds fill the window; the third burst is all throttled.
        for rnd in range(3):
            replies = run_all([lambda: self.request(number)] * 10)
            st = sorted(self.assert_json_reply(r).get("status")
                        for r in replies)
            if rnd < 2:
                if st != [0] + [10] * 9:
                    self.fail("round %d: expected one 0 and nine 10, got %r"
                              "\n%s" % (rnd, st, describe_all(replies)))
                rid = next(r.data["request_id"] for r in replies
                           if r.data["status"] == 0)
                self.assert_seed(self.s.seed("/control", {
                    "request_id": rid, "cmd": "cancel"}), 0)
            else:
                for r in replies:
                    self.assert_throttled(r)
        self.assertEqual(db_count(self.s.db, "SELECT count(*) FROM "
                                  "verifications WHERE number = ?", number),
                         2)
        # Ten keys at once on a fresh number: the window counts every
        # key, inside the writer, so exactly two get through.
        number = real_number(201)
        replies = run_all([lambda k=k: self.request(number, key=k)
                                for k in range(10)])
        ok = [r for r in replies if self.assert_json_reply(r).get("status")
              == 0]
        if len(ok) != 2:
            self.fail("10 keys, one number, limit 2: expected 2 accepted, "
                      "got %d\n%s" % (len(ok), describe_all(replies)))
        for r in replies:
            if r not in ok:
                self.assert_throttled(r)
        self.assertEqual(db_count(self.s.db, "SELECT count(*) FROM "
                                  "verifications WHERE number = ?", number),
                         2)


# ---- enumeration -----------------------------------------------------------

class EnumerationTests(KVTestCase):
    """Nothing tells an unknown request id from another key's, or a wrong
    secret from an unknown key: not the body and not the time."""

    nkeys = 2
    settings = {"cancel_min_age": 0, "resend_cooldown": 0}

    def same_reply(self, what, a, b, a_id="", b_id=""):
        ra = a.raw.replace(a_id.encode(), b"<ID>") if a_id else a.raw
        rb = b.raw.replace(b_id.encode(), b"<ID>") if b_id else b.raw
        if (a.status, a.content_type, ra) != (b.status, b.content_type, rb):
            self.fail("%s: the two replies differ\n%s\n%s"
                      % (what, a.describe(), b.describe()))

    def test_other_keys_ids_answer_like_unknown_ids(self):
        number, rid = self.seed_request_ok(key=0)
        pin = pin_of(number)
        calls = []
        for fmt in ("json", "xml"):
            for ep, p in (("/check", {"code": pin}),
                          ("/check", {"code": wrong_pin(pin)}),
                          ("/search", {}),
                          ("/control", {"cmd": "cancel"}),
                          ("/control", {"cmd": "trigger_next_event"})):
                calls.append(("vonage %s %s" % (fmt, ep),
                              lambda x, ep=ep, p=p, fmt=fmt: self.s.vonage(
                                  ep, dict(p, request_id=x), key=1,
                                  fmt=fmt)))
        for ep, p in (("/check", {"code": pin}), ("/search", {}),
                      ("/control", {"cmd": "resend"}),
                      ("/control", {"cmd": "cancel"})):
            calls.append(("seed " + ep, lambda x, ep=ep, p=p: self.s.seed(
                ep, dict(p, request_id=x), key=1)))
        for via in ("form", "json", "basic-get"):
            calls.append(("seed check via " + via,
                          lambda x, via=via: self.s.seed(
                              "/check", {"request_id": x, "code": pin},
                              key=1, via=via)))
        for what, send in calls:
            unknown = secrets.token_hex(16)
            self.same_reply(what, send(rid), send(unknown), rid, unknown)
        # Key 0's verification was not touched by any of it.
        r, d = self.assert_seed_search_status(rid, "IN PROGRESS", key=0)
        self.assertEqual(d.get("checks"), [], r.describe())

    def test_wrong_secret_answers_like_an_unknown_key(self):
        number = self.s.new_number()
        key = self.s.keys[0]["api_key"]
        cases = [
            ("/kookooverify", {"phone_no": number, "brand": "X"}),
            ("/kookooverify/check", {"request_id": "0" * 32, "code": "1"}),
            ("/kookooverify/search", {"request_id": "0" * 32}),
            ("/kookooverify/control", {"request_id": "0" * 32,
                                       "cmd": "cancel"}),
            ("/verify/json", {"number": number, "brand": "X"}),
            ("/verify/xml", {"number": number, "brand": "X"}),
            ("/verify/check/json", {"request_id": "0" * 32, "code": "1"}),
            ("/verify/search/xml", {"request_id": "0" * 32}),
            ("/verify/control/json", {"request_id": "0" * 32,
                                      "cmd": "cancel"}),
            ("/metrics", {}),
        ]
        for path, p in cases:
            wrong = self.s.get(path, dict(p, api_key=key,
                                          api_secret=secrets.token_hex(16)))
            unknown = self.s.get(path, dict(p, api_key=secrets.token_hex(8),
                                            api_secret=secrets.token_hex(16)))
            self.same_reply("wrong secret vs unknown key on " + path,
                            wrong, unknown)
            basic = self.s.get(path, p, auth=(key, "wrong"))
            basic_unknown = self.s.get(path, p,
                                       auth=(secrets.token_hex(8), "wrong"))
            self.same_reply("HTTP Basic: wrong secret vs unknown key on "
                            + path, basic, basic_unknown)
        # None of it created anything.
        self.assertEqual(db_count(self.s.db, "SELECT count(*) FROM "
                                  "verifications WHERE number = ?", number),
                         0)

    def median_times(self, send_a, send_b, samples=200):
        """Interleaved samples (the order inside each pair alternates);
        returns (median of a, median of b) in seconds."""
        ta, tb = [], []
        for i in range(samples):
            pair = ((send_a, ta), (send_b, tb))
            for send, out in (pair if i % 2 else pair[::-1]):
                t0 = time.perf_counter()
                send()
                out.append(time.perf_counter() - t0)
        return statistics.median(ta), statistics.median(tb)

    def assert_close_in_time(self, what, measure, tries=3):
        """measure() gives two medians (median_times); they must be within
        30 % of each other in one of `tries` measurements.  A difference
        in the code paths shows in every measurement; a burst of load on a
        shared machine (seen under the sanitizers, 45 % once) in one."""
        seen = []
        for _ in range(tries):
            a, b = measure()
            spread = abs(a - b) / min(a, b)
            if spread < 0.30:
                return
            seen.append("%.3f ms and %.3f ms (%.0f%%)"
                        % (a * 1e3, b * 1e3, spread * 100))
        self.fail("%s: medians differ by more than 30%% in every one of "
                  "%d measurements: %s" % (what, tries, "; ".join(seen)))

    def test_check_time_does_not_tell_ids_apart(self):
        _, rid = self.seed_request_ok(key=0)
        unknown = secrets.token_hex(16)
        seen = set()

        def check(x):
            r = self.s.vonage("/check", {"request_id": x, "code": "1234"},
                              key=1)
            seen.add(r.raw.replace(x.encode(), b""))
        self.assert_close_in_time(
            "checks of an unknown id vs another key's id",
            lambda: self.median_times(lambda: check(unknown),
                                      lambda: check(rid)))
        self.assertEqual(len(seen), 1, seen)

    def test_auth_time_does_not_tell_keys_apart(self):
        key = self.s.keys[0]["api_key"]
        other = secrets.token_hex(8)

        def search(k):
            self.s.seed("/search", {"request_id": "0" * 32, "api_key": k,
                                    "api_secret": "0" * 32})
        self.assert_close_in_time(
            "an unknown key vs a wrong secret",
            lambda: self.median_times(lambda: search(other),
                                      lambda: search(key)))


# ---- hostile input ---------------------------------------------------------

def raw_exchange(port, data, timeout=5.0):
    """Sends bytes on a new connection (ignoring a reset while sending) and
    returns whatever comes back before the server closes (b"" if none).
    A request answered on a connection kept open waits out the timeout:
    such a request says Connection: close."""
    got = b""
    with socket.create_connection(("127.0.0.1", port),
                                  timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    return got


def http_status(raw):
    """The status code of a raw HTTP reply, or None."""
    if not raw.startswith(b"HTTP/1."):
        return None
    try:
        return int(raw.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


class HostileInputTests(KVTestCase):
    settings = {"connection_timeout": 1}

    def assert_alive(self):
        r = self.s.get("/healthz")
        if r.status != 200:
            self.fail_reply(r, "expected /healthz to answer 200")
        # And real work still goes through.
        self.seed_request_ok()

    def creds_query(self):
        return urllib.parse.urlencode(self.s.creds())

    def test_10mb_body_is_refused_and_dropped(self):
        number = self.s.new_number()
        head = urllib.parse.urlencode(dict(self.s.creds(), number=number,
                                           brand="Big"))
        body = (head + "&pad=").encode() + b"x" * (10 * 1024 * 1024)
        for path in ("/verify/json", "/kookooverify"):
            t0 = time.monotonic()
            r = self.s.post_form(path, body)
            if r.status == 413:
                self.assert_json_reply(r, 413)
            elif path == "/kookooverify":
                self.assert_seed(r, 3)
            else:
                self.assert_vonage(r, "3")
            self.assertLess(time.monotonic() - t0, 5)
        r = self.s.seed("/search", {"phone_no": number})
        self.assertEqual(self.assert_json_reply(r).get("status"),
                         "NOT VERIFIED", "nothing was stored")
        self.assert_alive()

    def test_1000_parameters(self):
        # A server of its own, stopped at the test's cleanup: a leak
        # reported at exit names this test.
        self.start_server(self.settings)
        pad = "&".join("p%d=1" % i for i in range(1000))
        form = self.creds_query() + "&number=919999900001&brand=X&" + pad
        self.assert_vonage(self.s.post_form("/verify/json", form), "3",
                           "Request too large")
        obj = dict(self.s.creds(), number="919999900001", brand="X")
        obj.update(("p%d" % i, "1") for i in range(1000))
        self.assert_vonage(self.s.post_json("/verify/json", obj), "3",
                           "Request too large")
        self.assert_seed(self.s.post_form("/kookooverify", form.replace(
            "number=", "phone_no=")), 3)
        # In the query (7.9 KB) too: the dialect's error, never silence
        # (ParameterCapTests has the other caps).
        req = ("GET /verify/json?%s HTTP/1.1\r\nHost: x\r\n"
               "Connection: close\r\n\r\n" % form).encode()
        got = raw_exchange(self.s.port, req)
        self.assertEqual(http_status(got), 200, got[:300])
        self.assertIn(b'"status":"3"', got)
        self.assert_alive()

    def test_100kb_query(self):
        req = ("GET /verify/json?%s&number=919999900001&brand=X&pad=%s "
               "HTTP/1.1\r\nHost: x\r\n\r\n"
               % (self.creds_query(), "y" * 100000)).encode()
        got = raw_exchange(self.s.port, req)
        # Refused while reading the request line: 414, or a reset that
        # ate the reply; never processed.
        self.assertIn(http_status(got), (None, 414), got[:300])
        self.assert_alive()

    def test_64kb_of_headers(self):
        for headers in ({"X-Big": "z" * 65536},
                        {"X-H%d" % i: "z" * 1024 for i in range(64)}):
            lines = "".join("%s: %s\r\n" % kv for kv in headers.items())
            req = ("GET /verify/json?%s&number=919999900001&brand=X "
                   "HTTP/1.1\r\nHost: x\r\n%s\r\n"
                   % (self.creds_query(), lines)).encode()
            got = raw_exchange(self.s.port, req)
            self.assertIn(http_status(got), (None, 431), got[:300])
        self.assert_alive()

    def test_slow_clients_are_dropped_and_do_not_block_others(self):
        partial = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: "
        idle = []
        try:
            for _ in range(30):
                sock = socket.create_connection(("127.0.0.1", self.s.port),
                                                timeout=6)
                sock.sendall(partial)
                idle.append(sock)
            # Meanwhile the server answers everyone else.
            t0 = time.monotonic()
            for _ in range(5):
                r = self.s.get("/healthz")
                self.assertEqual(r.status, 200, r.describe())
            self.seed_request_ok()
            self.assertLess(time.monotonic() - t0, 2.0)
            # connection_timeout = 1: each idle one is closed within a few
            # seconds, without a reply.
            for sock in idle:
                try:
                    data = sock.recv(4096)
                except ConnectionResetError:
                    data = b""
                except socket.timeout:
                    self.fail("a half-sent request stayed open for more "
                              "than 6 s with connection_timeout = 1")
                self.assertEqual(data, b"")
            self.assertLess(time.monotonic() - t0, 6.0)
        finally:
            for sock in idle:
                sock.close()
        self.assert_alive()

    def test_trickling_clients_do_not_block_others(self):
        # A byte every 0.5 s keeps a connection from ever being idle for
        # connection_timeout (1 s): the server holds these (max_connections
        # and per_ip_connections bound them) but keeps serving.
        socks = []
        stop = threading.Event()
        try:
            for _ in range(20):
                sock = socket.create_connection(("127.0.0.1", self.s.port),
                                                timeout=5)
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                socks.append(sock)

            def trickle():
                while not stop.wait(0.5):
                    for s in socks:
                        try:
                            s.sendall(b"X")
                        except OSError:
                            pass
            t = threading.Thread(target=trickle, daemon=True)
            t.start()
            deadline = time.monotonic() + 2.5
            while time.monotonic() < deadline:
                r = self.s.get("/healthz")
                self.assertEqual(r.status, 200, r.describe())
                time.sleep(0.1)
            stop.set()
            t.join(timeout=5)
        finally:
            stop.set()
            for s in socks:
                s.close()
        self.assert_alive()


if __name__ == "__main__":
    unittest.main()


class PerAddressConnectionTests(KVTestCase):
    """One address cannot hold more than per_ip_connections connections,
    so a single client cannot take every connection slot."""

    settings = {"per_ip_connections": 4, "connection_timeout": 5}

    def test_connections_past_the_cap_are_closed(self):
        held = []
        try:
            # Each held connection is answered once and kept alive, so
            # all four are surely counted before the fifth arrives (the
            # server's threads accept in parallel: unanswered, a held one
            # could be accepted after the fifth and be the one refused).
            for _ in range(4):
                sock = socket.create_connection(("127.0.0.1", self.s.port),
                                                timeout=5)
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(sock.recv(1024).startswith(b"HTTP/1.1 200"))
                held.append(sock)
            extra = socket.create_connection(("127.0.0.1", self.s.port),
                                             timeout=5)
            try:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                data = extra.recv(1024)
            except OSError:
                data = b""
            finally:
                extra.close()
            self.assertEqual(data, b"", "a 5th connection from one address "
                             "was served: %r" % data[:80])
        finally:
            for sock in held:
                sock.close()
        # Once the server has seen them close, the address is served again.
        def served():
            try:
                r = self.s.get("/healthz")
            except AssertionError:  # reset while the closes are noticed
                return None
            return r if r.status == 200 else None

        r = harness.poll_until(served, 10, "/healthz after the cap")
        self.assertEqual(r.status, 200)


# ---- HTTP framing (RFC 9112) -------------------------------------------------

class FramingTests(KVTestCase):
    """Ambiguous framing is refused with 400 and the connection closed, so
    a request hidden behind it (sent in the same write) is never served."""

    SMUGGLED = b"GET /healthz?smuggled=1 HTTP/1.1\r\nHost: x\r\n\r\n"

    def replies(self, head, body=b""):
        """Sends head + body + a second request in one write; returns the
        raw bytes back and how many replies they hold."""
        got = raw_exchange(self.s.port, head + body + self.SMUGGLED)
        return got, got.count(b"HTTP/1.1 ")

    def assert_refused(self, head, body=b"", why=None):
        got, n = self.replies(head, body)
        self.assertEqual(http_status(got), 400, got[:400])
        self.assertEqual(n, 1, "the request behind was served: %r"
                         % got[:600])
        self.assertIn(b"Connection: close", got.split(b"\r\n\r\n")[0])
        if why:
            self.assertIn(why.encode(), got)
        self.assertEqual(self.s.get("/healthz").status, 200)

    def test_two_different_content_lengths(self):
        self.assert_refused(b"POST /kookooverify HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Type: application/x-www-form-"
                            b"urlencoded\r\nContent-Length: 0\r\n"
                            b"Content-Length: 3\r\n\r\n", b"a=b",
                            "conflicting Content-Length")

    def test_content_length_with_chunked(self):
        self.assert_refused(b"POST /kookooverify HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 5\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n",
                            b"0\r\n\r\n",
                            "Content-Length with Transfer-Encoding")

    def test_space_before_the_colon(self):
        self.assert_refused(b"POST /kookooverify HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length : 0\r\n\r\n", b"",
                            "malformed header name")

    def test_malformed_header_names(self):
        for line in (b"X Y: 1", b"X(y): 1", b"X\"y: 1", b"X/y: 1",
                     b"\x80x: 1"):
            self.assert_refused(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                + line + b"\r\n\r\n")

    def test_transfer_codings_other_than_chunked(self):
        for te in (b"gzip, chunked", b"chunked, identity", b"identity"):
            self.assert_refused(b"POST /kookooverify HTTP/1.1\r\nHost: x\r"
                                b"\nTransfer-Encoding: " + te +
                                b"\r\n\r\n", b"0\r\n\r\n",
                                "unsupported Transfer-Encoding")

    def test_chunked_in_http_1_0(self):
        # HTTP/1.0 has no chunked coding (RFC 9112 section 6.1).
        got = raw_exchange(self.s.port,
                           b"POST /kookooverify HTTP/1.0\r\nHost: x\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n"
                           b"0\r\n\r\n" + self.SMUGGLED)
        self.assertEqual(http_status(got), 400, got[:400])
        self.assertIn(b"unsupported Transfer-Encoding", got)
        self.assertEqual(got.count(b"HTTP/1."), 1, got[:600])

    def test_folded_header_lines(self):
        # RFC 9112 section 5.2: a line starting with a blank continues the
        # header before it (obs-fold), and a server must refuse it or read
        # it as a space.  libmicrohttpd 0.9.75 instead joins it onto the
        # header's name: "Content-: 9" + " Length" became a Content-Length
        # of 9, which swallowed the start of the next request, while a
        # proxy that unfolds it sees a header "Content-" and no body; and
        # "Content-Length: 5" + " 0" lost its length altogether.
        for head, body in (
                (b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                 b"Content-: 9\r\n Length\r\n\r\n", b""),
                (b"POST /kookooverify HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: 5\r\n 0\r\n\r\n", b"a=b&c"),
                (b"POST /kookooverify HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: 0\r\n\t5\r\n\r\n", b"")):
            with self.subTest(head=head):
                self.assert_refused(head, body, "malformed header")
        # Folded into another header's value or name, the same.
        self.assert_refused(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                            b"X-Note: a\r\n b\r\n\r\n")

    def test_other_spellings_of_ambiguous_framing(self):
        # Variants tried from outside after issue 11: a list in one
        # Content-Length, signs and hex, chunked named twice (in one line
        # or two), a tab before the colon.  Each is refused and closes.
        post = b"POST /kookooverify HTTP/1.1\r\nHost: x\r\n"
        for framing, body in (
                (b"Content-Length: 0, 0\r\n", b""),
                (b"Content-Length: 3, 3\r\n", b"a=b"),
                (b"Content-Length: +0\r\n", b""),
                (b"Content-Length: 0x0\r\n", b""),
                (b"Content-Length: 0\r\nContent-Length: 00\r\n", b""),
                (b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"),
                (b"Transfer-Encoding: chunked\r\n"
                 b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
                (b"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
                 b"0\r\n\r\n"),
                (b"Content-Length\t: 0\r\n", b"")):
            with self.subTest(framing=framing):
                got, _ = self.replies(post + framing + b"\r\n", body)
                self.assertEqual(http_status(got), 400, got[:400])
                # libmicrohttpd answers some of these itself, and writes
                # its 400's head twice: look for the /healthz answer.
                self.assertNotIn(b'{"status":"ok"}', got,
                                 "the request behind was served")

    @unittest.expectedFailure
    def test_a_header_line_with_no_name(self):
        # DEFECT (found from outside after issue 11, not fixed): in
        # libmicrohttpd 0.9.75 a header line that starts with ':' (an
        # empty name), anywhere but first, ends the header block; the
        # lines after it are read as the next request and served, so one
        # request on the wire is two here.  The server never sees the
        # line (it is not stored as a header), so it cannot refuse it: a
        # proxy that refuses or drops such lines (nginx, HAProxy) is the
        # defence until libmicrohttpd is upgraded.
        self.assert_refused(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                            b": x\r\n" + self.SMUGGLED[:-2] +
                            b"Connection: close\r\n\r\n")

    def test_sound_requests_keep_their_connection(self):
        # One Content-Length, or the same one twice, or chunked alone:
        # both requests are answered on the same connection.
        body = urllib.parse.urlencode(
            dict(self.s.creds(), request_id="0" * 32)).encode()
        for framing, data in (
                (b"Content-Length: %d\r\n" % len(body), body),
                (b"Content-Length: %d\r\nContent-Length: %d\r\n"
                 % (len(body), len(body)), body),
                (b"Transfer-Encoding: chunked\r\n",
                 b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))):
            head = (b"POST /kookooverify/search HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    + framing + b"\r\n")
            with socket.create_connection(("127.0.0.1", self.s.port),
                                          timeout=5) as sock:
                sock.sendall(head + data + self.SMUGGLED)
                got = b""
                while got.count(b"HTTP/1.1 200") < 2:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    got += chunk
            self.assertEqual(got.count(b"HTTP/1.1 200"), 2, got[:800])
            self.assertIn(b'"status":101', got)


# ---- parameter caps: always a reply in the dialect's form -----------------

class ParameterCapTests(KVTestCase):
    """Past any parameter cap (count, name, value) the client gets its
    dialect's error (status 3), from the query, a form or a JSON body."""

    def cases(self):
        many = [("p%d" % i, "1") for i in range(1000)]
        just_over = [("p%d" % i, "1") for i in range(40)]
        long_name = [("n" * 65, "1")]
        long_value = [("brand", "v" * 2049)]
        return (("1000 parameters", many), ("40 parameters", just_over),
                ("a 65-byte name", long_name),
                ("a 2049-byte value", long_value))

    def test_query(self):
        for what, extra in self.cases():
            q = urllib.parse.urlencode(
                list(self.s.creds().items()) +
                [("number", "919999900001"), ("brand", "X")] + extra)
            for path, marker in (("/verify/json", b'"status":"3"'),
                                 ("/kookooverify", b'"status":3')):
                # Closed after the reply: raw_exchange reads to the end.
                req = ("GET %s?%s HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n"
                       % (path, q.replace("number=", "phone_no=")
                          if path == "/kookooverify" else q)).encode()
                got = raw_exchange(self.s.port, req)
                self.assertEqual(http_status(got), 200,
                                 "%s in the query of %s: %r"
                                 % (what, path, got[:300]))
                self.assertIn(marker, got, "%s: %r" % (what, got[:300]))
                self.assertIn(b"error_text", got)

    def test_form_and_json(self):
        for what, extra in self.cases():
            base = dict(self.s.creds(), number="919999900001", brand="X")
            form = urllib.parse.urlencode(list(base.items()) + extra)
            self.assert_vonage(self.s.post_form("/verify/json", form), "3")
            self.assert_seed(self.s.post_form(
                "/kookooverify", form.replace("number=", "phone_no=")), 3)
            obj = dict(base)
            obj.update(extra)
            self.assert_vonage(self.s.post_json("/verify/json", obj), "3")


# ---- slow clients from many addresses ---------------------------------------

def raise_fd_limit(want):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(want, hard) if hard != resource.RLIM_INFINITY
                            else want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class SlowClientSpreadTests(KVTestCase):
    """Slow clients spread over 17 addresses (256 connections each, the
    per-address cap) would hold every connection slot: pending requests
    are capped and have request_timeout to arrive."""

    per_test = True
    PARTIAL = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: "

    def open_slow(self, addresses, per_address):
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for a in addresses:
            for _ in range(per_address):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.settimeout(5)
                s.bind((a, 0))
                try:
                    s.connect(("127.0.0.1", self.s.port))
                    s.sendall(self.PARTIAL)
                except OSError:
                    pass  # refused or reset: the server is full
        return socks

    def test_a_normal_client_is_served_past_4000_slow_connections(self):
        if raise_fd_limit(6000) < 5000:
            self.skipTest("this process may not open 5000 sockets")
        # An idle timeout this long cannot be what frees the slots.
        self.start_server({"connection_timeout": 60})
        addresses = ["127.0.0.%d" % i for i in range(2, 19)]
        socks = self.open_slow(addresses, 256)
        self.assertEqual(len(socks), 4352)
        for _ in range(3):
            try:
                r = self.s.get("/healthz")
            except AssertionError as e:
                self.fail("a normal client was not served with 4352 slow "
                          "connections open: %s" % str(e)[:300])
            self.assertEqual(r.status, 200, r.describe())
        self.seed_request_ok()
        # The slots were freed by closing the oldest pending connections.
        m = self.s.metrics()
        evicted = re.search(rb'slow_closes_total\{reason="evicted"\} (\d+)',
                            m.raw)
        self.assertTrue(evicted and int(evicted.group(1)) > 0, m.raw)

    def test_a_request_must_arrive_within_request_timeout(self):
        self.start_server({"connection_timeout": 60, "request_timeout": 2})
        sock = socket.create_connection(("127.0.0.1", self.s.port),
                                        timeout=1)
        self.addCleanup(sock.close)
        sock.sendall(self.PARTIAL)
        # A byte every 0.3 s is never idle, but the whole request does
        # not arrive: the server closes it (within 2 s; 20 s allowed).
        deadline = time.monotonic() + 20
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                sock.sendall(b"a")
                closed = sock.recv(4096) == b""
            except socket.timeout:
                pass
            except OSError:
                closed = True
            time.sleep(0.3)
        self.assertTrue(closed, "a trickling request stayed open 20 s with "
                        "request_timeout = 2")
        self.assertEqual(self.s.get("/healthz").status, 200)

    def test_new_settings_have_bounds(self):
        for name, bad, good in (("request_timeout", ("0", "3601"),
                                 ("1", "3600")),
                                ("max_pending_requests", ("0", "100001"),
                                 ("1", "100000"))):
            for v in bad:
                cp = harness.run_cli(["check-config"], settings={name: v})
                self.assertEqual(cp.returncode, 2, "%s=%s: %s"
                                 % (name, v, cp.stderr))
            for v in good:
                cp = harness.run_cli(["check-config"], settings={name: v})
                self.assertEqual(cp.returncode, 0, "%s=%s: %s"
                                 % (name, v, cp.stderr))
