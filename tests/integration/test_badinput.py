"""Bad input everywhere: unknown paths, wrong methods, oversized bodies, bad
JSON, invalid UTF-8 and control characters, duplicated parameters, missing
secrets, garbage on the socket and slow clients.  Every answer stays inside
the dialect and the server keeps serving.
"""

import socket
import time
import unittest
import urllib.parse

from harness import KVTestCase


class BadInputTests(KVTestCase):
    settings = {"body_max": 16384}

    def assert_error_json(self, r, http_status):
        d = self.assert_json_reply(r, http_status)
        if "status" not in d:
            self.fail_reply(r, "expected a status field")
        if not isinstance(d.get("error_text"), str) or not d["error_text"]:
            self.fail_reply(r, "expected a non-empty error_text")
        return d

    def assert_alive(self):
        r = self.s.get("/healthz")
        if r.status != 200:
            self.fail_reply(r, "expected /healthz to answer 200")

    def creds_query(self):
        return urllib.parse.urlencode(self.s.creds())

    def test_unknown_path_is_404_json(self):
        for path in ("/nope", "/verify/nope/json", "/kookooverify/checkx",
                     "/verify/check/yaml", "/kookooverify/check/extra"):
            with self.subTest(path=path):
                r = self.s.get(path, self.s.creds())
                self.assert_error_json(r, 404)
        self.assert_alive()

    def test_wrong_method_is_405_json(self):
        for method in ("DELETE", "PUT"):
            for path in ("/kookooverify", "/kookooverify/check",
                         "/verify/json", "/verify/search/json"):
                with self.subTest(method=method, path=path):
                    r = self.s.request(method, path, params=self.s.creds())
                    self.assert_error_json(r, 405)
        self.assert_alive()

    def assert_too_big(self, r, dialect):
        if r.status == 413:
            self.assert_error_json(r, 413)
        elif dialect == "seed":
            self.assert_seed(r, 3)
        else:
            self.assert_vonage(r, "3")

    def test_oversized_body(self):
        # About 21.7 KB in parameters of under 2 KB each: only the body cap
        # (16384) refuses it.
        number = self.s.new_number()
        body = dict(self.s.creds(), number=number, phone_no=number,
                    brand="Big")
        for i in range(12):
            body["pad%d" % i] = "x" * 1800
        for dialect, path in (("vonage", "/verify/json"),
                              ("seed", "/kookooverify")):
            with self.subTest(path=path, kind="form"):
                self.assert_too_big(self.s.post_form(path, body), dialect)
            with self.subTest(path=path, kind="json"):
                self.assert_too_big(self.s.post_json(path, body), dialect)
        # Nothing was stored and the server still serves.
        self.assert_alive()
        self.vonage_request_ok(number=number)

    def test_body_just_under_the_cap_is_read(self):
        # 16368 bytes in parameters of under 2 KB each.
        number = self.s.new_number()
        body = dict(self.s.creds(), number=number, brand="Big")
        for i in range(10):
            body["pad%d" % i] = ""
        room = 16384 - 16 - len(urllib.parse.urlencode(body))
        for i in range(10):
            body["pad%d" % i] = "x" * (room // 10)
        body["pad0"] += "x" * (room % 10)
        encoded = urllib.parse.urlencode(body)
        self.assertEqual(len(encoded), 16384 - 16)
        r = self.s.post_form("/verify/json", encoded)
        self.assert_vonage(r, "0")

    def test_bad_json_is_3(self):
        for raw in ('{"number": ', "not json", '{"a":1,}', "[1, 2]", '"x"',
                    b'{"brand": "\xc3\x28"}'):
            with self.subTest(body=raw):
                r = self.s.post_json("/verify/json", raw,
                                     auth=self.s.basic())
                self.assert_vonage(r, "3")
                r = self.s.post_json("/kookooverify", raw,
                                     auth=self.s.basic())
                self.assert_seed(r, 3)
        self.assert_alive()

    def test_invalid_utf8_or_control_chars_is_3(self):
        number = self.s.new_number()
        for bad in ("%C3%28", "%FF", "a%01b", "a%00b", "%ED%A0%80"):
            with self.subTest(brand=bad):
                q = "%s&number=%s&brand=%s" % (self.creds_query(), number, bad)
                self.assert_vonage(self.s.get("/verify/json", q), "3")
                self.assert_vonage(
                    self.s.post_form("/verify/json", q), "3")
                q = "%s&phone_no=%s&brand=%s" % (self.creds_query(), number,
                                                 bad)
                self.assert_seed(self.s.get("/kookooverify", q), 3)
        # The number was never stored.
        self.vonage_request_ok(number=number)

    def test_duplicated_param_is_3(self):
        n1, n2 = self.s.new_number(), self.s.new_number()
        q = "%s&number=%s&number=%s&brand=X" % (self.creds_query(), n1, n2)
        self.assert_vonage(self.s.get("/verify/json", q), "3")
        q = "%s&phone_no=%s&phone_no=%s&brand=X" % (self.creds_query(), n1,
                                                   n2)
        self.assert_seed(self.s.get("/kookooverify", q), 3)
        q = "%s&number=%s&brand=X&brand=Y" % (self.creds_query(), n1)
        self.assert_vonage(self.s.get("/verify/json", q), "3")
        # Once in the query and once in the body is a duplicate too.
        r = self.s.request(
            "POST", "/verify/json?number=%s" % n1,
            body="%s&number=%s&brand=X" % (self.creds_query(), n2),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assert_vonage(r, "3")
        # Neither number was stored.
        self.vonage_request_ok(number=n1)
        self.vonage_request_ok(number=n2)

    def test_duplicated_check_params_is_3(self):
        q = "%s&request_id=%s&request_id=%s&code=1234" % (
            self.creds_query(), "a" * 32, "b" * 32)
        self.assert_vonage(self.s.get("/verify/check/json", q), "3")
        self.assert_seed(self.s.get("/kookooverify/check", q), 3)

    def test_api_secret_missing_is_2(self):
        key = self.s.keys[0]["api_key"]
        number = self.s.new_number()
        r = self.s.get("/verify/json", {"api_key": key, "number": number,
                                        "brand": "X"})
        self.assert_vonage(r, "2", contains="`api_secret`")
        r = self.s.get("/kookooverify", {"api_key": key, "phone_no": number,
                                         "brand": "X"})
        self.assert_seed(r, 2, "api_key and api_secret parameters required!")
        r = self.s.post_form("/verify/json", "")
        self.assert_vonage(r, "2", contains="`api_key`")

    def test_unknown_params_are_ignored(self):
        self.vonage_request_ok(foo="bar", callback="http://example.com/",
                               x="")

    def test_too_long_value_is_3(self):
        r = self.s.vonage("", {"number": self.s.new_number(),
                               "brand": "B" * 5000})
        self.assert_vonage(r, "3")

    def test_garbage_on_the_socket(self):
        for junk in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"\x00\x01\x02\xff" * 64 + b"\r\n\r\n"):
            # A server may keep the connection open after its error reply:
            # a quiet second is as good as a close.
            with socket.create_connection(("127.0.0.1", self.s.port),
                                          timeout=1) as sock:
                sock.sendall(junk)
                try:
                    while sock.recv(4096):
                        pass
                except (socket.timeout, ConnectionResetError):
                    pass
        self.assert_alive()


class SlowClientTests(KVTestCase):
    settings = {"connection_timeout": 1}

    def test_idle_half_request_is_closed(self):
        with socket.create_connection(("127.0.0.1", self.s.port),
                                      timeout=6) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            start = time.monotonic()
            try:
                while sock.recv(4096):
                    pass
            except socket.timeout:
                self.fail("the server kept a half-sent request open for "
                          "more than 6 s with connection_timeout = 1")
            except ConnectionResetError:
                pass
            self.assertLess(time.monotonic() - start, 6)
        r = self.s.get("/healthz")
        self.assertEqual(r.status, 200, r.describe())


if __name__ == "__main__":
    unittest.main()
