"""/metrics as a real Prometheus sees it, and the alert rules in docs/.

PrometheusFlowTests starts Debian's `prometheus` binary (its own config,
TSDB in a temp dir, 127.0.0.1 on a free port, a 1 s scrape with the
operator token as a bearer credentials file), runs a delivery flow through
kookoo-sim (SMS requests, wrong and right checks, a call answered by key
2), waits until Prometheus has a scrape taken after the flow, and asserts
through its HTTP query API that the figures equal what happened.
AlertRuleTests runs `promtool check rules` and `promtool test rules` on
docs/alerts.yml and docs/alerts.test.yml.  MetricsDocTests checks that the
metric families OPERATIONS.md lists and those /metrics shows are the same.
"""

import json
import os
import re
import shutil
import subprocess
import time
import unittest
import urllib.parse
import urllib.request

from harness import (BACKEND, KVTestCase, Child, WiredTestCase, free_port,
                     poll_until)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCS = os.path.join(ROOT, "docs")
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
MISSING = ("Debian's prometheus package (tools/install-deps.sh) is not "
           "installed: no %s on PATH")
SCRAPE_TIMEOUT = 30.0  # seconds for a scrape after the flow to be stored
FLOW_TIMEOUT = 10.0  # seconds for an SMS or a call to be played


def require_tool(path, name):
    if not path:
        raise AssertionError(MISSING % name)


class Prometheus(Child):
    """Prometheus scraping one target's /metrics every second."""

    label = "prometheus"

    def __init__(self, target_port, token):
        super().__init__("prometheus")
        self.target_port = target_port
        self.token = token
        self.listen_port = free_port()

    def require(self):
        require_tool(PROMETHEUS, "prometheus")

    def prepare(self):
        token_file = os.path.join(self.dir, "operator.token")
        with open(token_file, "w") as f:
            f.write(self.token + "\n")
        os.chmod(token_file, 0o600)
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "scrape_configs": [{
                "job_name": "kookooverify",
                "metrics_path": "/metrics",
                "authorization": {"type": "Bearer",
                                  "credentials_file": token_file},
                "static_configs": [{"targets": [
                    "127.0.0.1:%d" % self.target_port]}],
            }],
        }
        # JSON is YAML: no YAML writer needed.
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            json.dump(config, f)

    def command(self):
        return [PROMETHEUS,
                "--config.file=" + os.path.join(self.dir, "prometheus.yml"),
                "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                "--web.listen-address=127.0.0.1:%d" % self.listen_port,
                "--log.level=warn"]

    def wait_ready(self, lines):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("prometheus exited with %s:\n%s"
                                     % (self.proc.returncode,
                                        self.stderr_text()))
            try:
                with urllib.request.urlopen(
                        "http://127.0.0.1:%d/-/ready" % self.listen_port,
                        timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False
        poll_until(ready, 30, "prometheus ready", interval=0.1,
                   detail=self.stderr_text)
        return self.listen_port

    def query(self, expr):
        """The instant vector of expr: [(labels, float value)]."""
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (
            self.listen_port, urllib.parse.urlencode({"query": expr}))
        with urllib.request.urlopen(url, timeout=5) as r:
            doc = json.load(r)
        if doc.get("status") != "success":
            raise AssertionError("query %r: %r" % (expr, doc))
        return [(s["metric"], float(s["value"][1]))
                for s in doc["data"]["result"]]

    def value(self, expr):
        """The single value of expr, or None when it has no series."""
        res = self.query(expr)
        if len(res) > 1:
            raise AssertionError("query %r: %d series %r"
                                 % (expr, len(res), res))
        return res[0][1] if res else None


class PrometheusFlowTests(WiredTestCase):
    """One server, one simulator and one Prometheus for the class."""

    sim_name = "prom-sim"
    wired_settings = {"pin_expiry": 120, "next_event_wait": 60}
    prometheus = None
    N_SMS = 3

    @classmethod
    def after_start(cls):
        cls.prometheus = Prometheus(cls.server.port,
                                    cls.server.operator_token())
        cls.prometheus.start()

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.prometheus is not None:
                cls.prometheus.close()
        finally:
            cls.prometheus = None
            super().tearDownClass()

    @property
    def sim(self):
        return self.provider

    def number(self, i):
        return "9198125%05d" % i

    def sms_pin(self, number):
        text = poll_until(lambda: (self.sim.sms(number) or [None])[0],
                          FLOW_TIMEOUT, "the SMS to %s" % number,
                          interval=0.05,
                          detail=lambda: self.sim.inbox(number))
        return re.search(r"\b(\d{4,10})\b", text).group(1)

    def wait_scrape_after(self, t):
        """Until Prometheus holds a scrape that began after time t."""
        def after():
            ts = self.prometheus.value(
                'timestamp(up{job="kookooverify"} == 1)')
            return ts is not None and ts > t
        poll_until(after, SCRAPE_TIMEOUT, "a scrape after the flow",
                   interval=0.2, detail=self.prometheus.stderr_text)

    def run_flow(self):
        """N SMS verifications (the first: two wrong codes, then the right
        one) and one call answered by key 2."""
        rids = []
        for i in range(self.N_SMS):
            rids.append(self.vonage_request_ok(
                number=self.number(i), workflow_id="6")[1])
        pin = self.sms_pin(self.number(0))
        wrong = "0000" if pin != "0000" else "1111"
        for _ in range(2):
            self.assert_vonage(self.s.vonage(
                "/check", {"request_id": rids[0], "code": wrong}), "16")
        self.assert_vonage(self.s.vonage(
            "/check", {"request_id": rids[0], "code": pin}), "0")
        for i in range(1, self.N_SMS):
            self.sms_pin(self.number(i))
        call_to = self.number(99)
        self.sim.script(call_to, keys=["2"])
        self.vonage_request_ok(number=call_to, workflow_id="7")

        def call_done():
            calls = self.sim.calls(call_to)
            return calls and all(c["done"] for c in calls)
        poll_until(call_done, FLOW_TIMEOUT, "the call to %s" % call_to,
                   interval=0.05, detail=lambda: self.sim.inbox(call_to))
        # The status POST's write: the verification is verified by then.
        poll_until(lambda: self.prom_ready_figure(), FLOW_TIMEOUT,
                   "the call's outcome on /metrics", interval=0.05)

    def prom_ready_figure(self):
        text = self.s.metrics().text
        return 'kookooverify_call_outcomes_total{outcome="answered"} 1' \
            in text and 'channel="keypad"} 1' in text

    def test_prometheus_sees_what_happened(self):
        self.run_flow()
        self.wait_scrape_after(time.time())
        p = self.prometheus
        key = self.s.keys[0]["api_key"]
        expect = {
            # Exactly the SMS and the call sent, each one KooKoo request.
            'kookooverify_deliveries_total{channel="sms",result="sent"}':
                self.N_SMS,
            'kookooverify_deliveries_total{channel="call",result="sent"}': 1,
            'kookooverify_kookoo_request_duration_seconds_count{api="sms"}':
                self.N_SMS,
            'kookooverify_kookoo_request_duration_seconds_count{api="call"}':
                1,
            'sum(kookooverify_kookoo_errors_total)': 0,
            # Started by key and workflow; verified by channel.
            'kookooverify_verifications_started_total{key="%s",'
            'workflow="6"}' % key: self.N_SMS,
            'kookooverify_verifications_started_total{key="%s",'
            'workflow="7"}' % key: 1,
            'kookooverify_verifications_verified_total{key="%s",'
            'workflow="6",channel="sms_code"}' % key: 1,
            'kookooverify_verifications_verified_total{key="%s",'
            'workflow="7",channel="keypad"}' % key: 1,
            'sum(kookooverify_verifications_ended_total) or vector(0)': 0,
            'sum(kookooverify_time_to_verify_seconds_count)': 2,
            # The call: answered, key 2 pressed once.
            'kookooverify_call_outcomes_total{outcome="answered"}': 1,
            'kookooverify_call_keys_total{pressed="2"}': 1,
            # HTTP: the requests made, and the histogram counts them too.
            'sum(kookooverify_http_requests_total{route="/verify/json",'
            'dialect="vonage",status="200"})': self.N_SMS + 1,
            'sum(kookooverify_http_request_duration_seconds_count{'
            'route="/verify/json"})': self.N_SMS + 1,
            'sum(kookooverify_http_requests_total{'
            'route="/verify/check/json"})': 3,
            'sum(kookooverify_http_request_duration_seconds_count{'
            'route="/verify/check/json"})': 3,
            'sum(kookooverify_rate_limited_total)': 0,
            'kookooverify_fraud_reports_total': 0,
            'kookooverify_fraud_blocks_active': 0,
        }
        got = {q: p.value(q) for q in expect}
        self.assertEqual(got, {q: float(v) for q, v in expect.items()},
                         "Prometheus' figures against the flow")
        # Histogram buckets are cumulative: +Inf is the count.
        self.assertEqual(
            p.value('sum(kookooverify_http_request_duration_seconds_bucket{'
                    'route="/verify/json",le="+Inf"})'), self.N_SMS + 1)
        # Group commit and the store's gauges are there too.
        self.assertGreater(p.value(
            'sum(kookooverify_store_batch_size_count)'), 0)
        self.assertGreater(p.value('kookooverify_store_database_bytes'), 0)
        # Jobs: the two SMS verifications still in progress wait for
        # nothing more (workflow 6 has one step): none due.
        self.assertEqual(p.value('kookooverify_jobs_due'), 0)
        self.assertEqual(p.value('kookooverify_jobs_oldest_due_age_seconds'),
                         0)


class AlertRuleTests(unittest.TestCase):
    """docs/alerts.yml is a rule file promtool accepts, and its unit tests
    (docs/alerts.test.yml) prove each alert fires and stays quiet."""

    def promtool(self, *args):
        require_tool(PROMTOOL, "promtool")
        cp = subprocess.run([PROMTOOL] + list(args), capture_output=True,
                            text=True, timeout=60, cwd=DOCS,
                            stdin=subprocess.DEVNULL)
        self.assertEqual(cp.returncode, 0, "promtool %s:\n%s\n%s"
                         % (" ".join(args), cp.stdout, cp.stderr))
        return cp.stdout

    def test_rules_are_valid(self):
        out = self.promtool("check", "rules", "alerts.yml")
        self.assertIn("SUCCESS", out)

    def test_rules_unit_tests_pass(self):
        out = self.promtool("test", "rules", "alerts.test.yml")
        self.assertIn("SUCCESS", out)

    def test_each_alert_has_a_unit_test(self):
        with open(os.path.join(DOCS, "alerts.yml")) as f:
            alerts = set(re.findall(r"^\s*- alert: (\w+)", f.read(), re.M))
        with open(os.path.join(DOCS, "alerts.test.yml")) as f:
            tested = set(re.findall(r"alertname: (\w+)", f.read()))
        self.assertTrue(alerts)
        self.assertEqual(alerts - tested, set(), "alerts without a test")


class MetricsDocTests(KVTestCase):
    """The metrics table of OPERATIONS.md names exactly the families."""

    def test_the_docs_table_lists_every_family(self):
        with open(os.path.join(DOCS, "OPERATIONS.md")) as f:
            listed = set(re.findall(r"^\| `(kookooverify_\w+)`", f.read(),
                                    re.M))
        r = self.s.metrics()
        self.assertEqual(r.status, 200, r.describe())
        shown = set(re.findall(r"^# TYPE (kookooverify_\w+) ", r.text,
                               re.M))
        self.assertTrue(shown)
        self.assertEqual(sorted(listed - shown), [],
                         "in OPERATIONS.md but not on /metrics")
        self.assertEqual(sorted(shown - listed), [],
                         "on /metrics but not in OPERATIONS.md")


class StoreReadTests(KVTestCase):
    """A node's own statements on PostgreSQL, outside the writer, are timed
    (kookooverify_store_read_duration_seconds): a Search is one of them.
    SQLite's reads are not timed and the family shows no series."""

    SERIES = ('kookooverify_store_read_duration_seconds_%s'
              '{backend="postgres"}')

    def figures(self):
        text = self.s.metrics().text
        got = {}
        for part in ("count", "sum"):
            m = re.search(r"^%s (\S+)$" % re.escape(self.SERIES % part),
                          text, re.M)
            got[part] = float(m.group(1)) if m else None
        return got

    def test_each_search_is_timed(self):
        _, rid = self.vonage_request_ok()
        before = self.figures()
        for _ in range(20):
            self.vonage_search(rid)
        after = self.figures()
        if BACKEND != "postgres":
            self.assertEqual(after, {"count": None, "sum": None})
            return
        self.assertIsNotNone(before["count"], "no series of the reads")
        # Each Search reads once (the node's background threads and the
        # scrape add their own statements).
        self.assertGreaterEqual(after["count"] - before["count"], 20)
        self.assertGreater(after["sum"], before["sum"])


class RefusalCountTests(KVTestCase):
    """Refusals count by the limit that refused them, and a cancel or a
    failure by how the verification ended (read from /metrics itself)."""

    settings = {"limit_ip_checks_per_min": 2, "cancel_min_age": 0}

    def figure(self, text, series):
        m = re.search(r"^%s (\d+)$" % re.escape(series), text, re.M)
        return int(m.group(1)) if m else 0

    def test_refusals_and_ends_are_counted(self):
        key = self.s.keys[0]["api_key"]
        _, rid = self.vonage_request_ok()
        for _ in range(2):
            self.assert_vonage(self.s.vonage(
                "/check", {"request_id": rid, "code": "0000"}), "16")
        self.assert_vonage(self.s.vonage(
            "/check", {"request_id": rid, "code": "0000"}), "1")
        _, other = self.vonage_request_ok()
        self.assert_vonage(self.s.vonage(
            "/control", {"request_id": other, "cmd": "cancel"}), "0")
        text = self.s.metrics().text
        self.assertEqual(self.figure(
            text, 'kookooverify_rate_limited_total{limit="check_ip"}'), 1)
        self.assertEqual(self.figure(
            text, 'kookooverify_verifications_ended_total{key="%s",'
            'workflow="0",result="cancelled"}' % key), 1)
        self.assertEqual(self.figure(
            text, 'kookooverify_verifications_started_total{key="%s",'
            'workflow="0"}' % key), 2)
        self.assertEqual(self.figure(
            text, 'kookooverify_http_requests_total{route='
            '"/verify/check/json",dialect="vonage",status="429"}'), 0)


class DeliveryCountTests(WiredTestCase):
    """KooKoo's refusals, failures and call outcomes, by reason and class
    (read from /metrics itself)."""

    sim_name = "count-sim"
    wired_settings = {"pin_expiry": 120, "next_event_wait": 60}

    def figures(self):
        return {m.group(1): int(m.group(2)) for m in re.finditer(
            r"^(kookooverify_[^ ]+) (\d+)$", self.s.metrics().text, re.M)}

    def test_refusals_retries_and_call_outcomes(self):
        dnd, flaky, busy = "919812600001", "919812600002", "919812600003"
        self.provider.script(dnd, sms="dnd")
        self.provider.script(flaky, sms="http500", sms_fail_times=1)
        self.provider.script(busy, call="busy")
        self.vonage_request_ok(number=dnd, workflow_id="6")
        self.vonage_request_ok(number=flaky, workflow_id="6")
        self.vonage_request_ok(number=busy, workflow_id="7")
        want = {
            'kookooverify_deliveries_total{channel="sms",result="refused"}':
                1,
            'kookooverify_delivery_refusals_total{channel="sms",'
            'reason="dnd"}': 1,
            'kookooverify_kookoo_errors_total{api="sms",'
            'class="refused_dnd"}': 1,
            'kookooverify_deliveries_total{channel="sms",result="retried"}':
                1,
            'kookooverify_kookoo_errors_total{api="sms",class="http_5xx"}':
                1,
            'kookooverify_deliveries_total{channel="sms",result="sent"}': 1,
            'kookooverify_deliveries_total{channel="call",result="sent"}': 1,
            'kookooverify_call_outcomes_total{outcome="busy"}': 1,
            'kookooverify_kookoo_request_duration_seconds_count{api="sms"}':
                3,
        }

        def settled():
            f = self.figures()
            return all(f.get(k, 0) >= v for k, v in want.items()) and f
        got = poll_until(settled, FLOW_TIMEOUT, "the deliveries counted",
                         interval=0.1, detail=self.figures)
        self.assertEqual({k: got.get(k, 0) for k in want}, want)
