"""The Python and PHP examples of docs/API.md that check a status
callback's signature, run as printed there against callbacks a real server
signed and delivered.

Each example is taken from its fenced block under "### Signature", so the
docs and this test cannot drift apart: the Python one is exec'd here (PyJWT,
Debian's python3-jwt), the PHP one is required by a small driver run with
`php` (php-cli), all cases in one process.  Both must return the claims of
every genuine callback, and nothing for the same callback with a changed
body, under a wrong secret, or with its token's alg changed to "none".
The Node.js example is run by tests/callbacks/.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import ROOT, KVTestCase, pin_of, wrong_pin
from kvtest.receiver import Receiver

API_MD = os.path.join(ROOT, "docs", "API.md")
PHP_TIMEOUT = 20.0  # seconds for php to check every case

# Requires the example (argv[1]), reads the cases as JSON on stdin (raw as
# base64) and prints what callback_claims returned for each, as JSON.
PHP_DRIVER = r"""<?php
require $argv[1];
$out = [];
foreach (json_decode(stream_get_contents(STDIN), true) as $c) {
    $out[] = callback_claims($c['authorization'], base64_decode($c['raw']),
                             $c['secret']);
}
echo json_encode($out), "\n";
"""


def doc_snippets(path=API_MD, heading="### Signature"):
    """{language: code} of the fenced blocks in the section `heading`,
    which ends at the next heading of level 1 to 3 outside a block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if heading not in lines:
        raise AssertionError("no %r heading in %s" % (heading, path))
    blocks, lang, code = {}, None, []
    for line in lines[lines.index(heading) + 1:]:
        if lang is not None:
            if line == "```":
                blocks[lang], lang = "\n".join(code) + "\n", None
            else:
                code.append(line)
            continue
        if re.match(r"#{1,3} ", line):
            break
        m = re.match(r"```(\w+)$", line)
        if m:
            lang, code = m.group(1), []
            if lang in blocks:
                raise AssertionError("two %s blocks under %r in %s"
                                     % (lang, heading, path))
    return blocks


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def alg_none(authorization):
    """The same token with header {"alg":"none"} and no signature."""
    payload = authorization.removeprefix("Bearer ").split(".")[1]
    header = b64url(b'{"alg":"none","typ":"JWT"}')
    return "Bearer %s.%s." % (header, payload)


def changed(s):
    """s with its last character changed."""
    return s[:-1] + ("A" if s[-1] != "A" else "B")


class CallbackSnippetTests(KVTestCase):
    """One server whose key 0 sends its callbacks to a loopback receiver;
    one verification (a wrong code, then the right one) gives three signed
    callbacks: two events and the summary."""

    settings = {"callback_allow_private": "on"}
    rx = None
    captured = None  # the arrivals, made by the first test that runs

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.rx = Receiver()
        except BaseException:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.rx.close()
        finally:
            super().tearDownClass()

    def setUp(self):
        super().setUp()
        if CallbackSnippetTests.captured is None:
            CallbackSnippetTests.captured = self.capture()

    def capture(self):
        """The callbacks of one verification, each checked first by the
        receiver's own HMAC code (kvtest/receiver.py)."""
        cp = self.s.cli("keys", "callback", self.s.keys[0]["api_key"],
                        self.rx.url, "--db", self.s.db, "--json")
        self.rx.secret = json.loads(
            cp.stdout.strip().splitlines()[-1])["signature_secret"]
        number, rid = self.vonage_request_ok(brand="AcmeCo")
        pin = pin_of(number)
        self.assert_vonage(self.s.vonage("/check", {"request_id": rid,
                                                    "code": wrong_pin(pin)}),
                           "16")
        self.assert_vonage(self.s.vonage("/check", {"request_id": rid,
                                                    "code": pin}), "0")
        got = self.rx.wait_accepted(rid, 3)
        for a in got:
            self.assertIsNone(a.error, a)
        self.assertEqual([a.body["status"] for a in got],
                         ["code_wrong", "completed", "completed"], got)
        return got

    def cases(self):
        """(name, authorization, raw, secret, expected claims or None)."""
        secret = self.rx.secret
        out = []
        for a in self.captured:
            what = "%s %s" % (a.body["type"], a.body["status"])
            out += [
                ("genuine " + what, a.authorization, a.raw, secret, a.claims),
                ("changed body of " + what, a.authorization,
                 a.raw.replace(a.body["request_id"].encode(),
                               changed(a.body["request_id"]).encode()),
                 secret, None),
                ("re-serialised body of " + what, a.authorization,
                 json.dumps(a.body, indent=1).encode(), secret, None),
                ("wrong secret for " + what, a.authorization, a.raw,
                 changed(secret), None),
                ("alg none in " + what, alg_none(a.authorization), a.raw,
                 secret, None),
            ]
        return out

    def assert_results(self, language, results):
        cases = self.cases()
        self.assertEqual(len(results), len(cases), results)
        for (name, _, _, _, want), got in zip(cases, results):
            with self.subTest(language=language, case=name):
                self.assertEqual(got, want, "%s: %s" % (language, name))

    def test_the_section_has_each_example_once(self):
        self.assertEqual(sorted(doc_snippets()), ["js", "php", "python"])

    def test_python_example(self):
        namespace = {}
        exec(compile(doc_snippets()["python"], API_MD + " (python)", "exec"),
             namespace)
        check = namespace["callback_claims"]
        self.assert_results("python", [check(auth, raw, secret)
                                       for _, auth, raw, secret, _
                                       in self.cases()])

    def test_php_example(self):
        php = shutil.which("php")
        self.assertIsNotNone(php, "no php on PATH: `make deps` installs "
                             "php-cli")
        with tempfile.TemporaryDirectory(prefix="kv-php-") as d:
            example = os.path.join(d, "example.php")
            driver = os.path.join(d, "driver.php")
            with open(example, "w", encoding="utf-8") as f:
                f.write(doc_snippets()["php"])
            with open(driver, "w", encoding="utf-8") as f:
                f.write(PHP_DRIVER)
            stdin = json.dumps([
                {"authorization": auth,
                 "raw": base64.b64encode(raw).decode(), "secret": secret}
                for _, auth, raw, secret, _ in self.cases()])
            cp = subprocess.run([php, "-d", "display_errors=stderr",
                                 "-d", "error_reporting=-1", driver, example],
                                input=stdin, capture_output=True, text=True,
                                timeout=PHP_TIMEOUT)
        self.assertEqual((cp.returncode, cp.stderr), (0, ""),
                         "php exited %d\nstdout:\n%s\nstderr:\n%s"
                         % (cp.returncode, cp.stdout, cp.stderr))
        self.assert_results("php", json.loads(cp.stdout))


if __name__ == "__main__":
    unittest.main()
