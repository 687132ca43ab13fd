"""Verify v2 authentication by an application's JWT (RS256), registered
with `kookooverify applications add`: a good token works once, and every
attack is refused 401 (alg none, HS256 keyed with the public key, expired,
replayed jti, another application, a changed payload, a removed
application, a revoked key).  Keys and signatures come from the openssl
command."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import time
import uuid

from harness import KVTestCase, log_events, pin_of, poll_until
from test_v2 import NEXMO, V2Steps


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def openssl(*args, data=None):
    return subprocess.run(("openssl",) + args, input=data, check=True,
                          capture_output=True, timeout=60).stdout


class KeyPair:
    """An RSA key pair in files of a temp dir (openssl genpkey)."""

    def __init__(self, bits=2048):
        self.dir = tempfile.mkdtemp(prefix="kvtest-jwt-")
        self.private = os.path.join(self.dir, "private.pem")
        self.public = os.path.join(self.dir, "public.pem")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                "rsa_keygen_bits:%d" % bits, "-out", self.private)
        openssl("pkey", "-in", self.private, "-pubout", "-out", self.public)
        with open(self.public, "rb") as f:
            self.public_pem = f.read()

    def sign(self, data):
        return openssl("dgst", "-sha256", "-sign", self.private, data=data)


def token(key, app_id, header=None, sign=None, **claims):
    """A JWT as Vonage's SDK makes it; header, claims and the signing
    function (key.sign by default) may be overridden."""
    now = int(time.time())
    body = {"application_id": app_id, "iat": now, "exp": now + 900,
            "jti": str(uuid.uuid4())}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    head = header or {"alg": "RS256", "typ": "JWT"}
    signing = (b64url(json.dumps(head).encode()) + "." +
               b64url(json.dumps(body).encode()))
    sig = (sign or key.sign)(signing.encode())
    return signing + "." + b64url(sig)


class V2JwtTests(V2Steps, KVTestCase):
    nkeys = 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = KeyPair()
        cls.other_key = KeyPair()
        cls.app_id = cls.register(cls.key, 0)
        # Another application of the same server, with its own key.
        cls.other_app = cls.register(cls.other_key, 1)

    @classmethod
    def register(cls, key, k):
        cp = cls.server.cli("applications", "add", "--db", cls.server.db,
                            "--json", cls.server.keys[k]["api_key"],
                            key.public)
        return json.loads(cp.stdout)["application_id"]

    def bearer(self, tok):
        return {"Authorization": "Bearer " + tok}

    def start_with(self, tok, number=None):
        number = number or self.s.new_number()
        body = {"brand": "TestApp",
                "workflow": [{"channel": "sms", "to": number}]}
        return number, self.v2("POST", "", body, auth=False,
                               headers=self.bearer(tok))

    def assert_unauthorized(self, r):
        self.assert_problem(r, 401, NEXMO + "#unauthorized", "Unauthorized")

    def test_start_and_check_with_jwt(self):
        number, r = self.start_with(token(self.key, self.app_id))
        self.assert_status(r, 202)
        rid = r.data["request_id"]
        r = self.v2("POST", "/" + rid, {"code": pin_of(number)}, auth=False,
                    headers=self.bearer(token(self.key, self.app_id)))
        self.assert_status(r, 200)

    def test_the_key_is_the_applications(self):
        # Key 1's verification is not key 0's application's to check.
        number, r = self.start_with(token(self.other_key, self.other_app))
        self.assert_status(r, 202)
        rid = r.data["request_id"]
        r = self.v2("POST", "/" + rid, {"code": pin_of(number)}, auth=False,
                    headers=self.bearer(token(self.key, self.app_id)))
        self.assert_problem(r, 404, NEXMO + "#not-found", "Not Found")

    def test_replayed_jti(self):
        tok = token(self.key, self.app_id)
        _, r = self.start_with(tok)
        self.assert_status(r, 202)
        _, r = self.start_with(tok)
        self.assert_unauthorized(r)

    def test_attacks(self):
        pub = self.public_pem = self.key.public_pem
        cases = {
            "alg none": token(self.key, self.app_id,
                              header={"alg": "none", "typ": "JWT"},
                              sign=lambda d: b""),
            "HS256 keyed with the public key": token(
                self.key, self.app_id, header={"alg": "HS256", "typ": "JWT"},
                sign=lambda d: hmac.new(pub, d, hashlib.sha256).digest()),
            "RS256 header, HMAC signature": token(
                self.key, self.app_id,
                sign=lambda d: hmac.new(pub, d, hashlib.sha256).digest()),
            "expired": token(self.key, self.app_id,
                             iat=int(time.time()) - 2000,
                             exp=int(time.time()) - 1000),
            "issued in the future": token(self.key, self.app_id,
                                          iat=int(time.time()) + 3600,
                                          exp=int(time.time()) + 4000),
            "life too long": token(self.key, self.app_id,
                                   exp=int(time.time()) + 86400 * 30),
            "no jti": token(self.key, self.app_id, jti=None),
            "no exp": token(self.key, self.app_id, exp=None),
            "unknown application": token(self.key, str(uuid.uuid4())),
            "another application's id": token(self.key, self.other_app),
            "not a token": "abc.def",
        }
        good = token(self.key, self.app_id)
        head, claims, sig = good.split(".")
        changed = json.loads(base64.urlsafe_b64decode(claims + "=="))
        changed["application_id"] = self.other_app
        cases["tampered payload"] = ".".join(
            (head, b64url(json.dumps(changed).encode()), sig))
        reasons = {
            "alg none": "algorithm not RS256",
            "HS256 keyed with the public key": "algorithm not RS256",
            "RS256 header, HMAC signature": "bad signature",
            "expired": "expired",
            "issued in the future": "issued in the future",
            "life too long": "lifetime out of range",
            "no jti": "jti missing or too long",
            "no exp": "iat or exp missing",
            "unknown application": "unknown application",
            "another application's id": "bad signature",
            "not a token": "malformed token",
            "tampered payload": "bad signature",
        }
        for name, tok in cases.items():
            with self.subTest(name):
                seen = len(log_events(self.s.stderr_text(),
                                      "api.jwt_refused"))
                _, r = self.start_with(tok)
                self.assert_unauthorized(r)
                # Refused by the check meant, not by an earlier one.
                poll_until(lambda: log_events(
                    self.s.stderr_text(), "api.jwt_refused")[seen:], 5,
                    "the refusal's log line")
                got = log_events(self.s.stderr_text(),
                                 "api.jwt_refused")[seen]
                self.assertEqual(got.get("reason"), reasons[name])

    def test_removed_application_and_revoked_key(self):
        srv = self.start_server()
        key = KeyPair()
        cp = srv.cli("applications", "add", "--db", srv.db, "--json",
                     srv.keys[0]["api_key"], key.public)
        app = json.loads(cp.stdout)["application_id"]
        listed = json.loads(srv.cli("applications", "list", "--db", srv.db,
                                    "--json").stdout)
        self.assertEqual([a["application_id"] for a in listed], [app])
        _, r = self.start_with(token(key, app))
        self.assert_status(r, 202)
        srv.cli("keys", "revoke", "--db", srv.db, srv.keys[0]["api_key"])
        _, r = self.start_with(token(key, app))
        self.assert_unauthorized(r)
        srv.cli("applications", "remove", "--db", srv.db, app)
        _, r = self.start_with(token(key, app))
        self.assert_unauthorized(r)
        cp = srv.cli("applications", "remove", "--db", srv.db, app,
                     check=False)
        self.assertEqual(cp.returncode, 1, cp.stderr)

    def test_add_refuses_what_is_no_rsa_key(self):
        short = KeyPair(bits=1024)
        for path in (short.public, short.private, "/nonexistent"):
            cp = self.s.cli("applications", "add", "--db", self.s.db,
                            self.s.keys[0]["api_key"], path, check=False)
            self.assertEqual(cp.returncode, 1, cp.stderr)
        cp = self.s.cli("applications", "add", "--db", self.s.db,
                        "0" * 16, self.key.public, check=False)
        self.assertEqual(cp.returncode, 1, cp.stderr)
        self.assertIn("no active secret key", cp.stderr)
