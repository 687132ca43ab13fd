"""The operator console's JSON endpoints (/operator/api/...), on one server
wired to kookoo-sim: every endpoint refuses all but the operator token; after
flows through the simulator the figures move by what they did; a block is
lifted and a key made and revoked through it; no full number or PIN shows.
"""

import json
import re

from harness import (BACKEND, LIMITS_OFF, WiredTestCase, new_mobile,
                     poll_until, run_cli)

API = "/operator/api/"
MASKED = re.compile(r"^\+91\*+[0-9]{2}$")
PIN_RE = re.compile(r"\b(\d{4,10})\b")
FLOW_TIMEOUT = 10.0


def assert_absent(test, secret, text, where=""):
    """`secret` (a number or a PIN) is not in `text` as a token of its own
    (inside a longer run of digits or hex, a time or an id, it says
    nothing)."""
    pat = r"(?<![0-9A-Za-z])%s(?![0-9A-Za-z])" % re.escape(secret)
    test.assertIsNone(re.search(pat, text), "%s in %s" % (secret, where))

GETS = ("summary", "prefixes", "blocks", "keys", "verifications",
        "verifications/" + "0" * 32)
POSTS = ("blocks/lift", "keys/create", "keys/revoke")


def new_number(prefix="9198133"):
    """A number the simulator delivers to (not a fixed-PIN test number)."""
    return new_mobile(prefix)


class ConsoleTests(WiredTestCase):
    sim_name = "console-sim"
    wired_settings = dict(
        LIMITS_OFF, pin_expiry=30, next_event_wait=1, cancel_min_age=0,
        operator_token_epoch=2, fraud_reports_block=1)

    @classmethod
    def after_start(cls):
        srv = cls.server
        cls.token = srv.cli("operator-token", "--db", srv.db).stdout.strip()
        env = dict(srv.env(), KOOKOOVERIFY_OPERATOR_TOKEN_EPOCH="1")
        cls.old_token = run_cli(["operator-token", "--db", srv.db],
                                env=env).stdout.strip()
        cp = srv.cli("keys", "create", "--db", srv.db, "--publishable",
                     "--json", "--origin", "https://shop.example",
                     "--owner", srv.keys[0]["api_key"])
        cls.pk = json.loads(cp.stdout.strip().splitlines()[-1])["api_key"]

    # -- helpers -----------------------------------------------------------

    def bearer(self, token=None):
        return {"Authorization": "Bearer " + (token or self.token)}

    def get(self, name, params=None, status=200):
        r = self.s.get(API + name, params, headers=self.bearer())
        self.assertEqual(r.status, status, r.describe())
        return json.loads(r.text)

    def post(self, name, params, status=200):
        r = self.s.post_form(API + name, params, headers=self.bearer())
        self.assertEqual(r.status, status, r.describe())
        return json.loads(r.text)

    def summary(self):
        d = self.get("summary", {"minutes": "10"})
        self.assertEqual(len(d["per_minute"]), 10)
        per = {k: sum(m[k] for m in d["per_minute"])
               for k in d["per_minute"][0] if k != "minute_ms"}
        return d["funnel"], per, sum(d["time_to_verify"]["counts"])

    def wait_status(self, rid, status):
        poll_until(lambda: self.vonage_search(rid)[1].get("status") == status,
                   FLOW_TIMEOUT, "status %s of %s" % (status, rid),
                   interval=0.05,
                   detail=lambda: self.vonage_search(rid)[0].describe())

    def wait_sms_pin(self, number):
        text = poll_until(lambda: (self.provider.sms(number) or [None])[0],
                          FLOW_TIMEOUT, "the SMS to %s" % number,
                          interval=0.05)
        return PIN_RE.search(text).group(1)

    def wait_call(self, number):
        def done():
            calls = self.provider.calls(number)
            return calls if calls and all(c["done"] for c in calls) else None
        return poll_until(done, FLOW_TIMEOUT, "the call to %s" % number,
                          interval=0.05)[0]

    def assert_refused(self, r):
        self.assertEqual(r.status, 401, r.describe())
        self.assertTrue(r.headers.get("WWW-Authenticate", "")
                        .startswith("Bearer "), r.describe())
        self.assertIn("operator token", json.loads(r.text)["error"])

    # -- the page ----------------------------------------------------------

    def test_the_page_is_served_under_a_strict_policy(self):
        r = self.s.get("/operator")
        self.assertEqual((r.status, r.headers.get("Location")),
                         (301, "/operator/"), r.describe())
        for path, ctype in (("/operator/", "text/html"),
                            ("/operator/console.js", "text/javascript"),
                            ("/operator/charts.js", "text/javascript"),
                            ("/operator/console.css", "text/css")):
            with self.subTest(path=path):
                r = self.s.get(path)
                self.assertEqual(r.status, 200, r.describe())
                self.assertTrue(r.headers["Content-Type"].startswith(ctype))
                csp = r.headers.get("Content-Security-Policy", "")
                self.assertIn("script-src 'self'", csp)
                self.assertNotIn("unsafe", csp)
                self.assertEqual(r.headers.get("X-Frame-Options"), "DENY")
        # Nothing else under /operator/ is a file.
        self.assertEqual(self.s.get("/operator/index.html").status, 404)

    # -- who may call ------------------------------------------------------

    def test_every_endpoint_refuses_anything_but_the_operator_token(self):
        key = self.s.keys[0]
        wrong = "kvop_" + "0" * 64
        for name in GETS + POSTS:
            post = name in POSTS
            for how in ("none", "basic", "params", "publishable", "wrong",
                        "old", "basic+params"):
                with self.subTest(name=name, how=how):
                    params, headers, auth = {}, {}, None
                    if how in ("basic", "basic+params"):
                        auth = (key["api_key"], key["api_secret"])
                    if how in ("params", "basic+params"):
                        params = {"api_key": key["api_key"],
                                  "api_secret": key["api_secret"]}
                    if how == "publishable":
                        params = {"api_key": self.pk}
                        headers = {"Origin": "https://shop.example"}
                    if how == "wrong":
                        headers = self.bearer(wrong)
                    if how == "old":
                        headers = self.bearer(self.old_token)
                    if post:
                        params = dict(params, prefix="91", name="x",
                                      api_key=params.get("api_key", "k"))
                        r = self.s.post_form(API + name, params, auth=auth,
                                             headers=headers)
                    else:
                        r = self.s.get(API + name, params, auth=auth,
                                       headers=headers)
                    self.assert_refused(r)
        self.assertNotEqual(self.old_token, self.token)
        # And the right token opens them (no block, no such key: 404).
        self.get("blocks")
        self.post("keys/revoke", {"key": "0" * 16}, status=404)

    def test_bad_input_gets_a_clear_error(self):
        cases = [
            ("GET", "summary", {"minutes": "0"}, 400, "minutes"),
            ("GET", "summary", {"minutes": "abc"}, 400, "minutes"),
            ("GET", "summary", {"minutes": "1441"}, 400, "minutes"),
            ("GET", "prefixes", {"limit": "1000"}, 400, "limit"),
            ("GET", "verifications", {"limit": "-1"}, 400, "limit"),
            ("POST", "blocks/lift", {}, 400, "prefix"),
            ("POST", "blocks/lift", {"prefix": "91x"}, 400, "prefix"),
            ("POST", "blocks/lift", {"prefix": "9199"}, 404, "no block"),
            ("POST", "keys/create", {}, 400, "name"),
            ("POST", "keys/create", {"name": "a\x01b"}, 400, "name"),
            ("POST", "keys/create", {"name": "x" * 64}, 400, "name"),
            ("POST", "keys/create", {"name": "x", "countries": "india"}, 400,
             "countries"),
            ("POST", "keys/revoke", {}, 400, "key"),
            ("GET", "verifications/" + "f" * 32, None, 404, "no verification"),
            ("GET", "verifications/nothex", None, 404, "no verification"),
        ]
        for method, name, params, status, text in cases:
            with self.subTest(name=name, params=params):
                if method == "GET":
                    d = self.get(name, params, status=status)
                else:
                    d = self.post(name, params, status=status)
                self.assertIn(text, d["error"])
        r = self.s.get(API + "blocks/lift", headers=self.bearer())
        self.assertEqual(r.status, 405, r.describe())

    # -- the figures -------------------------------------------------------

    def test_figures_follow_the_flows_and_a_block_is_lifted(self):
        funnel0, per0, ttv0 = self.summary()
        # 1: an SMS, a wrong code, then the right one.
        n_sms = new_number()
        _, rid_sms = self.vonage_request_ok(number=n_sms, workflow_id="6")
        pin = self.wait_sms_pin(n_sms)
        wrong = "0000" if pin != "0000" else "1111"
        for code in (wrong, pin):
            self.s.vonage("/check", {"request_id": rid_sms, "code": code})
        self.wait_status(rid_sms, "SUCCESS")
        # 2: a call whose callee presses 2.
        n_key = new_number()
        self.provider.script(n_key, keys=["2"])
        _, rid_key = self.vonage_request_ok(number=n_key, workflow_id="7")
        self.wait_call(n_key)
        self.wait_status(rid_key, "SUCCESS")
        # 3: a call whose callee presses 9: cancelled, its prefix blocked.
        n_fraud = new_number("9198744")
        self.provider.script(n_fraud, keys=["9"])
        _, rid_fraud = self.vonage_request_ok(number=n_fraud,
                                              workflow_id="7")
        self.wait_call(n_fraud)
        self.wait_status(rid_fraud, "CANCELLED")

        funnel, per, ttv = self.summary()
        delta = {k: funnel[k] - funnel0[k] for k in funnel}
        self.assertEqual(delta, {"requested": 3, "sms_sent": 1,
                                 "verified_by_sms": 1, "call_placed": 2,
                                 "answered": 2, "confirmed_by_key": 1})
        self.assertEqual({k: per[k] - per0[k] for k in per},
                         {"started": 3, "in_progress": 0, "verified": 2,
                          "failed": 0, "expired": 0, "cancelled": 1})
        self.assertEqual(ttv - ttv0, 2)

        prefixes = {p["prefix"]: p for p in
                    self.get("prefixes", {"limit": "200"})["prefixes"]}
        self.assertEqual((prefixes["9198744"]["requests"],
                          prefixes["9198744"]["verified"]), (1, 0))
        self.assertGreaterEqual(prefixes["9198133"]["verified"], 2)

        # The recent list: newest first, masked, with the key's id.
        recent = self.get("verifications", {"limit": "3"})["verifications"]
        self.assertEqual([v["request_id"] for v in recent],
                         [rid_fraud, rid_key, rid_sms])
        self.assertEqual([v["status"] for v in recent],
                         ["CANCELLED", "SUCCESS", "SUCCESS"])
        for v in recent:
            self.assertRegex(v["number"], MASKED)
            self.assertEqual(v["api_key"], self.s.keys[0]["api_key"])

        # Timelines: the SMS and both checks; the call and its key.
        r = self.s.get(API + "verifications/" + rid_sms,
                       headers=self.bearer())
        t = json.loads(r.text)
        assert_absent(self, pin, r.text, "the timeline")
        self.assertNotIn(n_sms, r.text)
        self.assertRegex(t["number"], MASKED)
        self.assertEqual([c["valid"] for c in t["checks"]], [False, True])
        self.assertIn(("sms", "sms", "accepted"),
                      [(e["type"], e["channel"], e["result"])
                       for e in t["events"]])
        t = self.get("verifications/" + rid_key)
        self.assertEqual([c["outcome"] for c in t["calls"]], ["confirmed"])
        self.assertIn("key 2", [e["detail"] for e in t["events"]])

        # The block the report earned, lifted through the console.
        blocks = self.get("blocks")["blocks"]
        self.assertIn("9198744", [b["prefix"] for b in blocks])
        listed = self.s.cli("blocks", "list", "--db", self.s.db).stdout
        self.assertIn("9198744", listed)
        d = self.post("blocks/lift", {"prefix": "9198744"})
        self.assertEqual(d, {"prefix": "9198744", "lifted": True})
        self.assertNotIn("9198744",
                         [b["prefix"] for b in self.get("blocks")["blocks"]])
        self.assertNotIn("9198744", self.s.cli("blocks", "list", "--db",
                                               self.s.db).stdout)
        self.post("blocks/lift", {"prefix": "9198744"}, status=404)

        # No full number and no PIN in any body of the console.
        for name in ("summary", "prefixes", "blocks", "keys",
                     "verifications"):
            text = self.s.get(API + name, headers=self.bearer()).text
            for secret in (n_sms, n_key, n_fraud, pin):
                assert_absent(self, secret, text, name)

    # -- keys --------------------------------------------------------------

    def test_a_key_created_works_until_revoked(self):
        d = self.post("keys/create", {"name": "console-made",
                                      "countries": "IN,GB"})
        self.assertEqual((d["name"], d["countries"]),
                         ("console-made", "IN,GB"))
        self.s.keys.append({"api_key": d["api_key"],
                            "api_secret": d["api_secret"]})
        idx = len(self.s.keys) - 1
        number = self.s.new_number()

        def lookup():
            # A number lookup: the key's credentials checked, nothing made
            # (the figures test counts what is made).
            return self.s.seed("/search", {"phone_no": number}, idx).data
        self.assertEqual(lookup(), {"phone_no": number,
                                    "status": "NOT VERIFIED"})
        keys = self.get("keys")["keys"]
        mine = [k for k in keys if k["api_key"] == d["api_key"]]
        self.assertEqual(len(mine), 1)
        self.assertTrue(mine[0]["active"])
        self.assertNotIn(d["api_secret"], json.dumps(keys))

        self.assertEqual(self.post("keys/revoke", {"key": d["api_key"]}),
                         {"api_key": d["api_key"], "revoked": True})
        if BACKEND == "sqlite":
            # The lookups above left the key in the server's cache; a revoke
            # the server made itself empties it at once (docs/SCALING.md).
            self.assertEqual(lookup().get("status"), 4)
        # On PostgreSQL the node hears of it through its listener, and its
        # key cache may serve the row for at most 1 s more.
        poll_until(lambda: lookup().get("status") == 4, 3.0,
                   "the revoked key refused", detail=lambda: lookup())
        self.post("keys/revoke", {"key": d["api_key"]}, status=404)
        mine = [k for k in self.get("keys")["keys"]
                if k["api_key"] == d["api_key"]]
        self.assertFalse(mine[0]["active"])
