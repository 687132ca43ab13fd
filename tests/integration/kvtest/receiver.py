"""A status callback receiver on 127.0.0.1:0 for the callback tests.

It checks every callback as a key's backend would: the Authorization
header's JWT (HS256 under the key's signature secret, checked here with
hmac, independently of the server's libsodium), its payload_hash against
the body, and records what arrived.  A test scripts its answers: a status
per arrival (500 first, then 200), a hold (the handler waits on an Event,
to play a slow or dead receiver) and a delay past the server's timeout.
"""

import base64
import hashlib
import hmac
import http.server
import json
import threading

from .waiting import poll_until


def _b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_check(token, secret):
    """The claims of an HS256 JWT signed with `secret`; raises ValueError
    when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT: %r" % token[:40])
    header = json.loads(_b64url(parts[0]))
    if header != {"alg": "HS256", "typ": "JWT"}:
        raise ValueError("header %r" % header)
    mac = hmac.new(secret.encode(), (parts[0] + "." + parts[1]).encode(),
                   hashlib.sha256).digest()
    if not hmac.compare_digest(mac, _b64url(parts[2])):
        raise ValueError("bad signature")
    return json.loads(_b64url(parts[1]))


class Arrival:
    """One POST: its body (parsed), claims and the status it was given;
    raw and authorization are the body and header as they came."""

    def __init__(self, body, claims, error, raw=b"", authorization=""):
        self.body = body
        self.raw = raw
        self.authorization = authorization
        self.claims = claims
        self.error = error
        self.status = None

    def __repr__(self):
        return "<%s %s %s>" % (self.status, self.error or "", self.body)


class Receiver:
    def __init__(self, secret=None):
        self.secret = secret
        self.arrivals = []
        self.lock = threading.Lock()
        self.statuses = []       # answers for the next arrivals, in order
        self.delay_next = 0.0    # seconds the next arrival waits
        self.hold = None         # an Event every arrival waits on
        self.in_flight = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                receiver._serve(self)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/callbacks" % self.httpd.server_port

    def close(self):
        if self.hold is not None:
            self.hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _serve(self, req):
        n = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(n)
        auth = req.headers.get("Authorization") or ""
        body, claims, error = None, None, None
        try:
            body = json.loads(raw)
            if not auth.startswith("Bearer "):
                raise ValueError("no bearer token")
            claims = jwt_check(auth[7:], self.secret)
            if claims.get("payload_hash") != hashlib.sha256(raw).hexdigest():
                raise ValueError("payload_hash does not match the body")
        except ValueError as e:
            error = str(e)
        arrival = Arrival(body, claims, error, raw, auth)
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else 200
            delay, self.delay_next = self.delay_next, 0.0
            hold = self.hold
            self.in_flight += 1
        if hold is not None:
            hold.wait(60)
        if delay:
            threading.Event().wait(delay)
        arrival.status = status
        with self.lock:
            self.arrivals.append(arrival)
            self.in_flight -= 1
        try:
            req.send_response(status)
            req.send_header("Content-Length", "2")
            req.end_headers()
            req.wfile.write(b"ok")
        except OSError:
            pass  # the server gave up waiting: that is the test

    def of(self, rid):
        """The arrivals for request id rid, in arrival order."""
        with self.lock:
            return [a for a in self.arrivals
                    if a.body and a.body.get("request_id") == rid]

    def accepted(self, rid):
        return [a for a in self.of(rid) if 200 <= a.status < 300]

    def wait_accepted(self, rid, count, timeout=15.0):
        """Polls until `count` callbacks of rid were accepted; returns
        them."""
        def enough():
            got = self.accepted(rid)
            return got if len(got) >= count else None
        return poll_until(enough, timeout, "%d callbacks of %s" % (count, rid),
                          interval=0.05, detail=lambda: self.of(rid))
