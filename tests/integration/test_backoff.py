"""Resend backoff per number: each resend waits longer than the one before.

Successive resends get a growing Retry-After (and resend_in) in the seed
dialect, Vonage JSON and XML, and a page's publishable key; the wait holds
for a new verification of the same number and survives a restart; a quiet
stretch shrinks it again.  Jitter is random: bounds, never exact values.
"""

import unittest

from harness import KVTestCase, LIMITS_OFF
from kvtest.waiting import poll_until
from test_browser import ORIGIN, create_pk

# base 1 s: the wait after the n-th resend is 2^n s, shortened by <= 20 %.
BACKOFF = dict(LIMITS_OFF, cancel_min_age=0, resend_cooldown=0,
               resend_max=10, resend_backoff_base=1, resend_backoff_max=60,
               resend_backoff_quiet=3600, resend_backoff_jitter=20,
               limit_pk_rps=0, limit_pk_ip_requests_per_hour=0)

TOO_SOON = "Throttled: resent too recently"


def backoff_bounds(n):
    """Retry-After just after the n-th resend: ceil of 2^n x [0.8, 1]."""
    full = 2 ** n
    return range(int(full * 0.8), full + 1)


def field(r, name):
    """A reply's field: JSON object member or XML child element."""
    d = r.data
    if hasattr(d, "find"):
        el = d.find(name)
        return el.text if el is not None else None
    return d.get(name)


class Dialect:
    """Starts a verification and resends it through one dialect."""

    def __init__(self, case, kind):
        self.case, self.kind = case, kind

    def start(self, number):
        s, case = self.case.s, self.case
        if self.kind == "seed":
            d = case.assert_seed(s.seed("", {"phone_no": number,
                                             "brand": "App"}), 0)
            return d["request_id"], None
        if self.kind == "page":
            r = s.post_json("/verify/json", {"number": number,
                                             "brand": "Shop",
                                             "api_key": case.pk},
                            headers={"Origin": ORIGIN})
            d = case.assert_vonage(r, "0")
            return d["request_id"], d["handle"]
        r = s.vonage("", {"number": number, "brand": "App"},
                     fmt=self.kind)
        return field(r, "request_id"), None

    def resend(self, rid, handle):
        """(ok, seconds in Retry-After or resend_in, reply)."""
        s = self.case.s
        if self.kind == "seed":
            r = s.seed("/control", {"request_id": rid, "cmd": "resend"})
        elif self.kind == "page":
            r = s.post_json("/verify/control/json",
                            {"request_id": rid, "cmd": "resend",
                             "handle": handle, "api_key": self.case.pk},
                            headers={"Origin": ORIGIN})
        else:
            r = s.vonage("/control", {"request_id": rid, "cmd": "resend"},
                         fmt=self.kind)
        status = str(field(r, "status"))
        wait = field(r, "resend_in")
        if status == "0":
            return True, int(wait) if wait is not None else 0, r
        self.case.assertEqual(status, "1", r.describe())
        self.case.assertEqual(field(r, "error_text"), TOO_SOON,
                              r.describe())
        retry = r.headers.get("Retry-After")
        self.case.assertIsNotNone(retry, r.describe())
        self.case.assertEqual(int(retry), int(wait), r.describe())
        return False, int(retry), r


class BackoffCase(KVTestCase):
    settings = BACKOFF

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.server is not None:
            cls.pk = create_pk(cls.server, ORIGIN)

    def resend_when_allowed(self, dialect, rid, handle, timeout):
        """Polls the resend until it is accepted; its reply's wait."""
        def attempt():
            ok, wait, _ = dialect.resend(rid, handle)
            return (ok, wait) if ok else None
        return poll_until(attempt, timeout, "a resend accepted",
                          interval=0.2)[1]

    def growing_waits(self, kind, resends=3):
        """Resends as soon as allowed; returns the Retry-After of a resend
        asked for right after each accepted one."""
        d = Dialect(self, kind)
        rid, handle = d.start(self.s.new_number())
        waits = []
        for n in range(1, resends + 1):
            after = self.resend_when_allowed(d, rid, handle, 2 ** n + 5)
            ok, retry, r = d.resend(rid, handle)
            self.assertFalse(ok, r.describe())
            self.assertIn(after, backoff_bounds(n), r.describe())
            self.assertLessEqual(retry, after, r.describe())
            self.assertGreaterEqual(retry, after - 1, r.describe())
            waits.append(retry)
        return waits


class BackoffGrowsTests(BackoffCase):
    def assert_growing(self, waits):
        self.assertEqual(waits, sorted(set(waits)), waits)

    def test_seed_resends_wait_longer_each_time(self):
        self.assert_growing(self.growing_waits("seed"))

    def test_vonage_json_resends_wait_longer_each_time(self):
        self.assert_growing(self.growing_waits("json"))

    def test_vonage_xml_resends_wait_longer_each_time(self):
        self.assert_growing(self.growing_waits("xml", resends=2))

    def test_page_resends_wait_longer_each_time(self):
        self.assert_growing(self.growing_waits("page", resends=2))

    def test_a_new_verification_of_the_number_keeps_the_wait(self):
        d = Dialect(self, "json")
        number = self.s.new_number()
        rid, _ = d.start(number)
        for n in (1, 2):
            self.resend_when_allowed(d, rid, None, 2 ** n + 5)
        self.assert_vonage(self.s.vonage("/control", {
            "request_id": rid, "cmd": "cancel"}), "0")
        rid2, _ = d.start(number)
        ok, retry, r = d.resend(rid2, None)
        self.assertFalse(ok, r.describe())
        self.assertGreaterEqual(retry, 2, r.describe())

    def test_another_number_is_not_slowed(self):
        d = Dialect(self, "json")
        rid, _ = d.start(self.s.new_number())
        self.resend_when_allowed(d, rid, None, 7)
        other, _ = d.start(self.s.new_number())
        ok, wait, r = d.resend(other, None)
        self.assertTrue(ok, r.describe())
        self.assertIn(wait, backoff_bounds(1), r.describe())


class BackoffRestartTests(BackoffCase):
    settings = dict(BACKOFF, resend_backoff_base=30, resend_backoff_max=600)

    def test_the_wait_survives_a_restart(self):
        d = Dialect(self, "json")
        rid, _ = d.start(self.s.new_number())
        ok, wait, r = d.resend(rid, None)
        self.assertTrue(ok, r.describe())
        self.assertIn(wait, range(48, 61), r.describe())
        self.s.restart()
        ok, retry, r = d.resend(rid, None)
        self.assertFalse(ok, r.describe())
        self.assertIn(retry, range(40, wait + 1), r.describe())


class BackoffDecayTests(BackoffCase):
    settings = dict(BACKOFF, resend_backoff_quiet=3)

    def test_a_quiet_period_halves_the_count(self):
        d = Dialect(self, "json")
        rid, _ = d.start(self.s.new_number())
        self.resend_when_allowed(d, rid, None, 7)
        # Within 3 s of the first: no quiet period yet, the count is 2.
        second = self.resend_when_allowed(d, rid, None, 7)
        self.assertIn(second, backoff_bounds(2))
        # The third comes after its 3.2-4 s wait, one quiet period on: the
        # count of 2 halved to 1 makes it the second resend again (2^2 s),
        # where without the decay it would be the third (2^3 s).
        third = self.resend_when_allowed(d, rid, None, 10)
        self.assertIn(third, backoff_bounds(2))


if __name__ == "__main__":
    unittest.main()
