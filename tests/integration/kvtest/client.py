"""HTTP to the programs under test, standard library only: Reply (one
answer, parsed) and ServerClient, the calls a test makes to a server in
either dialect."""

import base64
import http.client
import json
import time
import urllib.parse
import xml.etree.ElementTree as ET

from . import config
from . import logscan
from . import openapi


class Reply:
    """One HTTP answer; unpacks as (http_status, headers, data).

    data is the parsed JSON value, an xml.etree Element, or None when the
    body did not parse; raw is the body as bytes.
    """

    def __init__(self, method, url, status, headers, raw):
        self.method = method
        self.url = url
        self.status = status
        self.headers = headers
        self.raw = raw
        self.content_type = headers.get("Content-Type", "") or ""
        self.data = None
        self.parse_error = None
        stripped = raw.lstrip()
        try:
            if "xml" in self.content_type or stripped.startswith(b"<"):
                self.data = ET.fromstring(raw)
            elif stripped:
                self.data = json.loads(raw.decode("utf-8"))
        except Exception as e:  # kept for the failure message
            self.parse_error = "%s: %s" % (type(e).__name__, e)

    def __iter__(self):
        return iter((self.status, self.headers, self.data))

    @property
    def text(self):
        return self.raw.decode("utf-8", "replace")

    def describe(self):
        url = self.url if len(self.url) < 300 else self.url[:300] + "..."
        body = self.text
        if len(body) > 3000:
            body = body[:3000] + "...(%d bytes)" % len(self.raw)
        s = "%s %s -> HTTP %s, Content-Type %r, body:\n%s" % (
            self.method, url, self.status, self.content_type, body)
        if self.parse_error:
            s += "\n(body did not parse: %s)" % self.parse_error
        return s


def with_query(path, params):
    """path with params appended as a query string.  params: dict, list of
    pairs (repeats allowed) or an already encoded string."""
    if params is None:
        return path
    q = params if isinstance(params, str) else \
        urllib.parse.urlencode(params, doseq=True)
    if q:
        path += ("&" if "?" in path else "?") + q
    return path


def send(port, method, url, body=None, headers=None):
    """One request to 127.0.0.1:port on a fresh connection; returns
    (response, body bytes).  Connection errors are the caller's.  The
    timeout is read at each call: a test may patch config.HTTP_TIMEOUT."""
    conn = http.client.HTTPConnection("127.0.0.1", port,
                                      timeout=config.HTTP_TIMEOUT)
    try:
        conn.request(method, url, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp, resp.read()
    finally:
        conn.close()


class ServerClient:
    """The requests a test makes to a kookooverify server.

    Mixed into process.Server, which gives port, alive(), exit_note(),
    stderr_text(), creds(key) and basic(key).
    """

    def request(self, method, path, params=None, body=None, headers=None,
                auth=None):
        """Sends one request; returns a Reply.

        params: dict, list of pairs (repeats allowed) or an already encoded
        query string.  body: bytes or str.  auth: (user, password) for HTTP
        Basic.
        """
        if self.port is None or not self.alive():
            raise AssertionError("server is not running.\nstderr:\n%s"
                                 % self.stderr_text())
        url = with_query(path, params)
        hdrs = dict(headers or {})
        if auth is not None:
            tok = base64.b64encode(("%s:%s" % auth).encode()).decode()
            hdrs["Authorization"] = "Basic " + tok
        if isinstance(body, str):
            body = body.encode("utf-8")
        logscan.note_request(url, body, hdrs)
        try:
            resp, raw = send(self.port, method, url, body, hdrs)
        except (OSError, http.client.HTTPException) as e:
            time.sleep(0.1)  # let a crashing server finish its report
            raise AssertionError(
                "%s %s failed: %s: %s (server %s)\nstderr:\n%s"
                % (method, url[:300], type(e).__name__, e, self.exit_note(),
                   self.stderr_text())) from None
        reply = Reply(method, url, resp.status, resp.headers, raw)
        # A reply docs/openapi.yaml does not allow fails the test that got it.
        openapi.check_reply(reply)
        return reply

    def get(self, path, params=None, auth=None, headers=None):
        return self.request("GET", path, params=params, auth=auth,
                            headers=headers)

    def post_form(self, path, params, auth=None, headers=None):
        body = params if isinstance(params, (str, bytes)) else \
            urllib.parse.urlencode(params, doseq=True)
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request("POST", path, body=body, headers=h, auth=auth)

    def post_json(self, path, obj, auth=None, headers=None):
        """obj: a value to serialise, or str/bytes sent as they are."""
        body = obj if isinstance(obj, (str, bytes)) else json.dumps(obj)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.request("POST", path, body=body, headers=h, auth=auth)

    def call(self, path, params, key=0, via="get"):
        """One API call with key `key`'s credentials, sent `via`:
        get | form | json (credentials as parameters) or basic-get |
        basic-form | basic-json (credentials as HTTP Basic)."""
        if isinstance(params, dict):
            params = dict(params)
        else:
            params = list(params)
        auth = None
        if via.startswith("basic"):
            auth = self.basic(key)
            via = via.split("-", 1)[1]
        elif isinstance(params, dict):
            params.update(self.creds(key))
        else:
            params += list(self.creds(key).items())
        if via == "get":
            return self.get(path, params, auth=auth)
        if via == "form":
            return self.post_form(path, params, auth=auth)
        if via == "json":
            if not isinstance(params, dict):
                raise ValueError("json needs a dict")
            return self.post_json(path, params, auth=auth)
        raise ValueError("unknown via %r" % via)

    def burst(self, path, params_seq, key=0):
        """GETs path once for each params dict in params_seq, with key
        `key`'s credentials, one after another on one kept-alive
        connection; yields each reply's (HTTP status, parsed JSON body).

        For floods of thousands of requests whose replies are not the
        subject of the test: no fresh connection per request and no spec
        check of each reply (request() does both), so the flood costs
        the machine its requests and little else.  The server may close
        the connection between replies; the next request opens another.
        """
        conn = None
        try:
            for params in params_seq:
                url = with_query(path, dict(params, **self.creds(key)))
                logscan.note_request(url, None, {})
                for attempt in (0, 1):
                    if conn is None:
                        conn = http.client.HTTPConnection(
                            "127.0.0.1", self.port,
                            timeout=config.HTTP_TIMEOUT)
                    try:
                        conn.request("GET", url)
                        resp = conn.getresponse()
                        raw = resp.read()
                        break
                    except (OSError, http.client.HTTPException) as e:
                        conn.close()
                        conn = None
                        if attempt or not self.alive():
                            raise AssertionError(
                                "GET %s failed: %s: %s (server %s)"
                                "\nstderr:\n%s"
                                % (url[:300], type(e).__name__, e,
                                   self.exit_note(),
                                   self.stderr_text())) from None
                if resp.will_close:
                    conn.close()
                    conn = None
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = None
                yield resp.status, data
        finally:
            if conn is not None:
                conn.close()

    # Dialect shortcuts.
    def seed(self, endpoint, params, key=0, via="get"):
        """endpoint: "" (request), "/", "/check", "/search", "/control"."""
        return self.call("/kookooverify" + endpoint, params, key, via)

    def vonage(self, endpoint, params, key=0, via="get", fmt="json"):
        """endpoint: "" (request), "/check", "/search", "/control"."""
        return self.call("/verify%s/%s" % (endpoint, fmt), params, key, via)
