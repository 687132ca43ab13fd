"""Log hygiene (docs/SECURITY.md): with log_level = debug, a whole flow
in both dialects leaves no API secret and no full phone number in the
server's output.
"""

import os
import unittest

from harness import KVTestCase, pin_of, wrong_pin


class LogHygieneTests(KVTestCase):
    per_test = True
    settings = {"log_level": "debug", "cancel_min_age": 0,
                "resend_cooldown": 0}

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


if __name__ == "__main__":
    unittest.main()
