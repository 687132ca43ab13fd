"""Integration-test harness: runs the real kookooverify binary on port 0.

A Server owns one temp dir with its SQLite file, its API keys and the server
process; tests talk to it over HTTP on 127.0.0.1 with the standard library
only.  A Sim is the KooKoo simulator (bin/kookoo-sim) that delivery tests
wire a server to (sim_settings).  KVTestCase gives each TestCase class one
server and the assertions the tests share.  Every child process is killed
when the interpreter exits.
"""

import atexit
import base64
import http.client
import itertools
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("KOOKOOVERIFY_BIN") or os.path.join(ROOT, "bin",
                                                         "kookooverify")

# The simulator: $KOOKOO_SIM_BIN, else kookoo-sim(-san) next to the server
# binary (-san when the server is bin/kookooverify-san), else bin/kookoo-sim.
SIM_BIN = os.environ.get("KOOKOO_SIM_BIN") or next(
    (p for p in (os.path.join(os.path.dirname(BIN), "kookoo-sim-san")
                 if BIN.endswith("-san") else "",
                 os.path.join(os.path.dirname(BIN), "kookoo-sim"),
                 os.path.join(ROOT, "bin", "kookoo-sim"))
     if p and os.path.isfile(p)), os.path.join(ROOT, "bin", "kookoo-sim"))

READY_TIMEOUT = 10.0  # seconds to wait for "listening on"
STOP_TIMEOUT = 10.0   # seconds to wait for a clean exit after SIGTERM
HTTP_TIMEOUT = 5.0    # every HTTP request
CLI_TIMEOUT = 20.0    # migrate, keys, check-config

SANITIZER_MARKS = ("runtime error:", "ERROR: AddressSanitizer",
                   "LeakSanitizer")
REQUEST_ID_RE = re.compile(r"^[0-9a-f]{32}$")
DATETIME_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")

# First test number; numbers are FIRST_NUMBER + i for i in 0..count-1.
FIRST_NUMBER = 919999900001

_children = set()
_children_lock = threading.Lock()


def _signal_group(proc, sig):
    """Sends sig to the child's own process group (the server, or a wrapper
    script and its children), and only while the child is not reaped, so
    the group id cannot have been reused."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        pass


def _kill_group(proc):
    _signal_group(proc, signal.SIGKILL)


def _kill_all_children():
    with _children_lock:
        procs = list(_children)
    for p in procs:
        _kill_group(p)
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass


atexit.register(_kill_all_children)

# The server gets SIGKILL if the test runner dies without running atexit
# (setpriv sets PR_SET_PDEATHSIG, which survives the exec).  setpriv rather
# than a preexec_fn, which is unsafe while other threads run.
_SETPRIV = shutil.which("setpriv")
DEATHSIG_PREFIX = [_SETPRIV, "--pdeathsig", "KILL"] if _SETPRIV else []


def require_binary():
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        raise RuntimeError("kookooverify binary not found at %s "
                           "(build it with make or set KOOKOOVERIFY_BIN)"
                           % BIN)


def pin_of(number):
    """The fixed 4-digit PIN the harness gives test number `number`."""
    i = int(number) - FIRST_NUMBER + 1
    return "%04d" % ((i * 7919 + 1234) % 9000 + 1000)


def wrong_pin(pin):
    """A code of the same length that is certainly not `pin`."""
    last = (int(pin[-1]) + 1) % 10
    return pin[:-1] + str(last)


def sanitizer_report(text):
    return any(m in text for m in SANITIZER_MARKS)


LIMITS_OFF = {
    "KOOKOOVERIFY_LIMIT_KEY_RPS": "0",
    "KOOKOOVERIFY_LIMIT_NUMBER_MAX": "0",
    "KOOKOOVERIFY_LIMIT_PREFIX_PER_HOUR": "0",
    "KOOKOOVERIFY_LIMIT_IP_CHECKS_PER_MIN": "0",
    "KOOKOOVERIFY_LIMIT_IP_AUTH_FAILURES_PER_MIN": "0",
    "KOOKOOVERIFY_LIMIT_PK_IP_CALLS_PER_MIN": "0",
    "KOOKOOVERIFY_FRAUD_REPORTS_BLOCK": "0",
    "KOOKOOVERIFY_FRAUD_MIN_VOLUME": "0",
}


def clean_env(settings=None):
    """os.environ without inherited KOOKOOVERIFY_* plus `settings`.

    settings maps "pin_expiry" or "KOOKOOVERIFY_PIN_EXPIRY" to a value.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KOOKOOVERIFY_")}
    # The abuse limits have their own tests (test_limits.py); every other
    # test sends far more per key, number and address than they allow.
    env.update(LIMITS_OFF)
    # Servers and the CLI run in temp dirs: the IVR templates by path.
    env["KOOKOOVERIFY_XML_TEMPLATES"] = os.path.join(ROOT, "xml_templates")
    for k, v in (settings or {}).items():
        if not k.startswith("KOOKOOVERIFY_"):
            k = "KOOKOOVERIFY_" + k.upper()
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def run_cli(args, env=None, timeout=CLI_TIMEOUT, settings=None, cwd=None):
    """Runs `kookooverify ARGS`; returns CompletedProcess (text output).

    Fails the calling test if stderr holds a sanitizer report.
    """
    require_binary()
    if env is None:
        env = clean_env(settings)
    cp = subprocess.run([BIN] + list(args), env=env, capture_output=True,
                        text=True, timeout=timeout, errors="replace",
                        stdin=subprocess.DEVNULL, cwd=cwd)
    if sanitizer_report(cp.stderr):
        raise AssertionError("sanitizer report from kookooverify %s:\n%s"
                             % (" ".join(args), cp.stderr))
    return cp


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


class Server:
    """A kookooverify server on 127.0.0.1:0 with a fresh temp dir.

    settings: dict of settings (short names like "pin_expiry" or full
    KOOKOOVERIFY_* names) passed in the environment.  nkeys API keys are
    created before the start; self.keys[i] is {"api_key", "api_secret"}.
    numbers: how many test numbers (fixed PINs) to configure.
    """

    _seq = itertools.count(1)

    def __init__(self, settings=None, nkeys=1, numbers=60, name=None,
                 port=0):
        """port: the port to listen on, kept across restarts (0: any free
        port, a new one at each start)."""
        self.settings = dict(settings or {})
        self.listen_port = port
        self.nkeys = nkeys
        self.numbers = [str(FIRST_NUMBER + i) for i in range(numbers)]
        self.name = name or "kv%d" % next(self._seq)
        self.dir = None
        self.db = None
        self.keys = []
        self.proc = None
        self.port = None
        self.runs = 0
        self.stderr_paths = []
        self._stdout_lines = None
        self._stdout_thread = None
        self._next_number = 0
        self._number_lock = threading.Lock()
        self.failed = False

    # -- lifecycle ------------------------------------------------------

    def env(self):
        settings = {"test_numbers": ",".join(
            "%s:%s" % (n, pin_of(n)) for n in self.numbers)}
        settings.update(self.settings)
        return clean_env(settings)

    def cli(self, *args, check=True):
        """Runs a CLI command against this server's db (same env)."""
        cp = run_cli(list(args), env=self.env())
        if check and cp.returncode != 0:
            raise AssertionError("kookooverify %s exited %d\nstdout:\n%s\n"
                                 "stderr:\n%s" % (" ".join(args),
                                                  cp.returncode, cp.stdout,
                                                  cp.stderr))
        return cp

    def create_key(self, name=None):
        args = ["keys", "create", "--db", self.db, "--json"]
        if name:
            args[4:4] = ["--name", name]
        cp = self.cli(*args)
        for line in cp.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                key = json.loads(line)
                if key.get("api_key") and key.get("api_secret"):
                    self.keys.append(key)
                    return key
        raise AssertionError("keys create --json printed no key line:\n%s"
                             % cp.stdout)

    def start(self):
        require_binary()
        self.dir = tempfile.mkdtemp(prefix="kvtest-%s-" % self.name)
        self.db = os.path.join(self.dir, "kv.db")
        try:
            self.cli("migrate", "--db", self.db)
            for i in range(self.nkeys):
                self.create_key("key%d" % i)
            self._spawn()
        except BaseException:
            self.failed = True
            self._kill()
            self.proc = None  # close() has nothing left to stop
            raise
        return self

    def _spawn(self, extra_args=()):
        self.runs += 1
        err_path = os.path.join(self.dir, "stderr.%d.log" % self.runs)
        self.stderr_paths.append(err_path)
        errf = open(err_path, "wb")
        args = DEATHSIG_PREFIX + [BIN, "serve", "--listen",
                                  "127.0.0.1:%d" % self.listen_port,
                                  "--db", self.db]
        args += list(extra_args)
        try:
            self.proc = subprocess.Popen(
                args, env=self.env(), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=errf, cwd=self.dir,
                start_new_session=True)
        finally:
            errf.close()
        with _children_lock:
            _children.add(self.proc)
        lines = queue.Queue()
        self._stdout_lines = lines
        out_path = os.path.join(self.dir, "stdout.%d.log" % self.runs)
        self._stdout_thread = threading.Thread(
            target=self._drain_stdout, args=(self.proc, lines, out_path),
            daemon=True)
        self._stdout_thread.start()
        deadline = time.monotonic() + READY_TIMEOUT
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill()
                raise AssertionError(
                    "server did not print 'listening on 127.0.0.1:PORT' "
                    "within %.0f s; stdout so far: %r\nstderr:\n%s"
                    % (READY_TIMEOUT, seen, self.stderr_text()))
            try:
                line = lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                if self.proc.poll() is not None and lines.empty():
                    rc = self.proc.returncode
                    self._forget()
                    raise AssertionError(
                        "server exited with %s before listening; stdout: "
                        "%r\nstderr:\n%s" % (rc, seen, self.stderr_text()))
                continue
            if line is None:
                continue
            seen.append(line)
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                return

    @staticmethod
    def _drain_stdout(proc, lines, path):
        with open(path, "wb") as out, proc.stdout:
            for raw in proc.stdout:
                out.write(raw)
                out.flush()
                lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        lines.put(None)

    def _forget(self):
        """After the server exited: drop it from the kill list.  stdout is
        closed by the drain thread at EOF (closing it here could block on
        the thread's read)."""
        if self.proc is not None:
            with _children_lock:
                _children.discard(self.proc)
        if self._stdout_thread is not None:
            self._stdout_thread.join(timeout=2)
            self._stdout_thread = None

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            _kill_group(self.proc)
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._forget()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        """Stops the server with `sig`; asserts a clean exit with status 0
        and no sanitizer report."""
        if self.proc is None:
            return
        proc = self.proc
        try:
            if proc.poll() is None:
                _signal_group(proc, sig)
                try:
                    proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self._kill()
                    self.failed = True
                    raise AssertionError(
                        "server did not exit within %.0f s of signal %d; "
                        "killed it.\nstderr:\n%s"
                        % (STOP_TIMEOUT, sig, self.stderr_text()))
            rc = proc.returncode
            self._forget()
            self.check_stderr()
            if rc != 0:
                self.failed = True
                raise AssertionError(
                    "server exited with status %s after signal %d, expected "
                    "0.\nstderr:\n%s" % (rc, sig, self.stderr_text()))
        finally:
            self.proc = None

    def kill9(self):
        """SIGKILL: the crash case.  The db and dir are kept."""
        if self.proc is not None:
            _kill_group(self.proc)
            self.proc.wait(timeout=STOP_TIMEOUT)
            self._forget()
            self.proc = None

    def restart(self, settings=None):
        """Stops (if running) and starts again on the same db; the port
        changes.  settings, if given, replace the server's settings."""
        if self.proc is not None:
            self.stop()
        if settings is not None:
            self.settings = dict(settings)
        self._spawn()
        return self

    def close(self):
        """stop() and remove the temp dir (kept when something failed)."""
        try:
            if self.proc is not None:
                try:
                    self.stop()
                except BaseException:
                    self.failed = True
                    raise
        finally:
            self._kill()
            keep = self.failed or os.environ.get("KOOKOOVERIFY_KEEP_TMP")
            if self.dir and not keep:
                shutil.rmtree(self.dir, ignore_errors=True)
            elif self.dir:
                sys.stderr.write("[harness] kept %s\n" % self.dir)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.failed = True
        self.close()
        return False

    # -- stderr ------------------------------------------------------------

    def stderr_text(self):
        parts = []
        for p in self.stderr_paths:
            try:
                with open(p, "rb") as f:
                    data = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            if len(self.stderr_paths) > 1:
                parts.append("--- %s ---\n" % os.path.basename(p))
            parts.append(data)
        text = "".join(parts)
        if len(text) > 20000:
            text = "...\n" + text[-20000:]
        return text

    def check_stderr(self):
        """Raises AssertionError (with the stderr) on a sanitizer report."""
        text = self.stderr_text()
        if sanitizer_report(text):
            self.failed = True
            raise AssertionError("sanitizer report in the server's stderr:\n"
                                 + text)

    # -- numbers and keys -------------------------------------------------

    def new_number(self):
        """A test number not handed out before by this server object."""
        with self._number_lock:
            if self._next_number >= len(self.numbers):
                raise AssertionError("out of test numbers: raise numbers= "
                                     "(have %d)" % len(self.numbers))
            n = self.numbers[self._next_number]
            self._next_number += 1
            return n

    def creds(self, key=0):
        k = self.keys[key]
        return {"api_key": k["api_key"], "api_secret": k["api_secret"]}

    def basic(self, key=0):
        k = self.keys[key]
        return (k["api_key"], k["api_secret"])

    # -- HTTP --------------------------------------------------------------

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
        url = path
        if params is not None:
            q = params if isinstance(params, str) else \
                urllib.parse.urlencode(params, doseq=True)
            if q:
                url += ("&" if "?" in url else "?") + q
        hdrs = dict(headers or {})
        if auth is not None:
            tok = base64.b64encode(("%s:%s" % auth).encode()).decode()
            hdrs["Authorization"] = "Basic " + tok
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=HTTP_TIMEOUT)
        try:
            try:
                conn.request(method, url, body=body, headers=hdrs)
                resp = conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException) as e:
                time.sleep(0.1)  # let a crashing server finish its report
                raise AssertionError(
                    "%s %s failed: %s: %s (server %s)\nstderr:\n%s"
                    % (method, url[:300], type(e).__name__, e,
                       "running" if self.alive() else
                       "exited with %s" % self.proc.returncode,
                       self.stderr_text())) from None
            return Reply(method, url, resp.status, resp.headers, raw)
        finally:
            conn.close()

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

    # Dialect shortcuts.
    def seed(self, endpoint, params, key=0, via="get"):
        """endpoint: "" (request), "/", "/check", "/search", "/control"."""
        return self.call("/kookooverify" + endpoint, params, key, via)

    def vonage(self, endpoint, params, key=0, via="get", fmt="json"):
        """endpoint: "" (request), "/check", "/search", "/control"."""
        return self.call("/verify%s/%s" % (endpoint, fmt), params, key, via)


def run_together(fns, timeout=30):
    """Runs every fn in its own thread, released together by a barrier;
    returns [(result, exception)] in order (a hung thread's exception says
    so)."""
    barrier = threading.Barrier(len(fns))
    out = [None] * len(fns)

    def worker(i, fn):
        try:
            barrier.wait(timeout=10)
            out[i] = (fn(), None)
        except BaseException as e:  # reported by the caller
            out[i] = (None, e)

    threads = [threading.Thread(target=worker, args=(i, fn), daemon=True)
               for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    for i, t in enumerate(threads):
        if t.is_alive():
            out[i] = (None, AssertionError("client thread %d hung" % i))
    return out


def run_all(fns, timeout=30):
    """run_together(), then the results alone, re-raising the first
    exception."""
    out = run_together(fns, timeout)
    for _, e in out:
        if e is not None:
            raise e
    return [r for r, _ in out]


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago, for a server that
    must know its own URL before it starts (public_base_url)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sim:
    """The KooKoo simulator (bin/kookoo-sim --quiet) on 127.0.0.1:0.

    base_url is what a server's kookoo_base_url points at.  script(),
    inbox(), stats() and reset() use its /sim/ API (tools/README.md).
    """

    def __init__(self, name="sim"):
        self.name = name
        self.proc = None
        self.port = None
        self.dir = None
        self.failed = False

    def start(self):
        if not (os.path.isfile(SIM_BIN) and os.access(SIM_BIN, os.X_OK)):
            raise RuntimeError("kookoo-sim not found at %s (build it with "
                               "make or set KOOKOO_SIM_BIN)" % SIM_BIN)
        self.dir = tempfile.mkdtemp(prefix="kvtest-%s-" % self.name)
        self.err_path = os.path.join(self.dir, "sim.stderr.log")
        with open(self.err_path, "wb") as errf:
            self.proc = subprocess.Popen(
                DEATHSIG_PREFIX + [SIM_BIN, "--listen", "127.0.0.1:0",
                                   "--quiet"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=errf, start_new_session=True)
        with _children_lock:
            _children.add(self.proc)
        lines = queue.Queue()
        threading.Thread(target=self._drain, args=(self.proc, lines),
                         daemon=True).start()
        deadline = time.monotonic() + READY_TIMEOUT
        seen = []
        while self.port is None:
            try:
                line = lines.get(timeout=max(0.01, deadline
                                             - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:  # EOF or timeout
                self.failed = True
                self.close()
                raise AssertionError("kookoo-sim did not print 'listening "
                                     "on 127.0.0.1:PORT'; stdout %r" % seen)
            seen.append(line)
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
        return self

    @staticmethod
    def _drain(proc, lines):
        with proc.stdout:
            for raw in proc.stdout:
                lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        lines.put(None)

    @property
    def base_url(self):
        return "http://127.0.0.1:%d/outbound" % self.port

    def stderr_text(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-20000:]
        except (OSError, AttributeError):
            return ""

    def request(self, method, path, params=None, body=None):
        """Returns the parsed JSON answer of a /sim/ request; asserts 200."""
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError("kookoo-sim is not running.\nstderr:\n%s"
                                 % self.stderr_text())
        if params:
            path += "?" + urllib.parse.urlencode(params)
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=HTTP_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers={
                "Content-Type": "application/json"} if body else {})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise AssertionError("kookoo-sim %s %s -> HTTP %d: %r"
                                 % (method, path, resp.status, raw[:500]))
        return json.loads(raw.decode("utf-8"))

    def script(self, number=None, doc=None, **fields):
        """Scripts faults: script("9812300001", sms="dnd"), or a whole
        document: script(doc={"*": {...}, "failure_rate": 0.1}).  Setting a
        number's script starts its fault budget (*_fail_times) over."""
        if doc is None:
            doc = {number: fields}
        return self.request("POST", "/sim/script", body=json.dumps(doc))

    def inbox(self, number):
        """{"phone_no", "sms": [{message, senderid, time}], "calls": [...]}
        for a number in any form the simulator matches (last 10 digits)."""
        return self.request("GET", "/sim/inbox", {"phone_no": number})

    def sms(self, number):
        """The texts of the SMS the number got, oldest first."""
        return [m["message"] for m in self.inbox(number)["sms"]]

    def calls(self, number):
        return self.inbox(number)["calls"]

    def stats(self):
        return self.request("GET", "/sim/stats")

    def reset(self):
        return self.request("POST", "/sim/reset")

    def stop(self):
        """SIGTERM; asserts exit status 0 and no sanitizer report."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            _signal_group(proc, signal.SIGTERM)
            try:
                rc = proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                proc.wait(timeout=5)
                self.failed = True
                raise AssertionError("kookoo-sim did not exit within %.0f s"
                                     " of SIGTERM" % STOP_TIMEOUT)
            if rc != 0 or sanitizer_report(self.stderr_text()):
                self.failed = True
                raise AssertionError("kookoo-sim exited with %s\nstderr:\n%s"
                                     % (rc, self.stderr_text()))
        finally:
            with _children_lock:
                _children.discard(proc)

    def close(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.stop()
        finally:
            if self.proc is not None:
                _kill_group(self.proc)
                self.proc = None
            if self.dir and not (self.failed or
                                 os.environ.get("KOOKOOVERIFY_KEEP_TMP")):
                shutil.rmtree(self.dir, ignore_errors=True)
            elif self.dir:
                sys.stderr.write("[harness] kept %s\n" % self.dir)


def sim_settings(sim, port, **overrides):
    """Settings that wire a server listening on `port` to `sim`, with the
    short delivery timings the delivery tests assume; overrides win (None
    removes a setting, e.g. kookoo_base_url=None: delivery off)."""
    settings = {
        "kookoo_base_url": sim.base_url,
        "kookoo_api_key": "test",
        "public_base_url": "http://127.0.0.1:%d" % port,
        "call_window": "00:00-00:00",  # always open
        "pin_expiry": 6,
        "next_event_wait": 2,
        "param_min_wait": 1,
        "retry_base_ms": 100,
        "retry_max_ms": 400,
        "kookoo_timeout_ms": 500,
        "job_lease": 2,
    }
    settings.update(overrides)
    return {k: v for k, v in settings.items() if v is not None}


def poll_until(fn, timeout, what, interval=0.1, detail=None):
    """Calls fn() until it returns a true value or `timeout` s pass.

    Returns that value; on timeout raises AssertionError naming `what` and
    detail() (e.g. the last reply) or else the last value fn returned.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError("timed out after %.1f s waiting for %s; last: %s"
                         % (timeout, what, detail() if detail else repr(last)))


class KVTestCase(unittest.TestCase):
    """One server per TestCase class, with the settings in `settings`
    (per_test = True: a fresh server for each test instead)."""

    settings = {}
    nkeys = 1
    numbers = 60
    per_test = False
    server = None
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.per_test:
            return
        cls.server = Server(cls.settings, nkeys=cls.nkeys, numbers=cls.numbers,
                            name=cls.__name__)
        try:
            cls.server.start()
        except BaseException:
            cls.server.close()
            cls.server = None
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server is not None:
                cls.server.close()
        finally:
            cls.server = None
            super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.per_test:
            self.server = Server(self.settings, nkeys=self.nkeys,
                                 numbers=self.numbers,
                                 name=self._testMethodName)
            # close() runs even when setUp or the test fails.
            self.addCleanup(self._close_test_server)
            self.server.start()

    def start_server(self, settings=None, port=0):
        """Starts a server for this test only (closed at cleanup, even when
        the test fails) and makes it self.server; returns it."""
        srv = Server(settings, nkeys=self.nkeys, numbers=self.numbers,
                     name=self._testMethodName, port=port)
        self.addCleanup(srv.close)
        srv.start()
        self.server = srv
        return srv

    def _close_test_server(self):
        if self.server is not None:
            srv, self.server = self.server, None
            srv.close()

    def tearDown(self):
        # Name the test during which a sanitizer reported.
        if self.server is not None:
            self.server.check_stderr()
        super().tearDown()

    @property
    def s(self):
        return self.server

    # -- generic checks --------------------------------------------------

    def fail_reply(self, reply, msg):
        self.fail("%s\n%s" % (msg, reply.describe()))

    def assert_json_reply(self, reply, http_status=200):
        """HTTP status, JSON content type and a JSON object body."""
        if reply.status != http_status:
            self.fail_reply(reply, "expected HTTP %d" % http_status)
        if "application/json" not in reply.content_type:
            self.fail_reply(reply, "expected Content-Type application/json")
        if not isinstance(reply.data, dict):
            self.fail_reply(reply, "expected a JSON object body")
        return reply.data

    def assert_fields(self, reply, data, fields):
        for k, v in fields.items():
            if k not in data:
                self.fail_reply(reply, "expected field %r = %r, it is "
                                "missing" % (k, v))
            if data[k] != v or type(data[k]) is not type(v):
                self.fail_reply(reply, "expected field %r = %r, got %r"
                                % (k, v, data[k]))

    def assert_request_id(self, reply, rid):
        if not isinstance(rid, str) or not REQUEST_ID_RE.match(rid):
            self.fail_reply(reply, "expected request_id of 32 lowercase hex "
                            "digits, got %r" % (rid,))

    # -- seed dialect ----------------------------------------------------

    def assert_seed(self, reply, status, error_text=None, **fields):
        """A seed reply: HTTP 200, JSON object, numeric `status`."""
        d = self.assert_json_reply(reply)
        st = d.get("status")
        if type(st) is not int or st != status:
            self.fail_reply(reply, "expected JSON number status %d, got %r"
                            % (status, st))
        if error_text is not None:
            fields["error_text"] = error_text
        self.assert_fields(reply, d, fields)
        return d

    def seed_request_ok(self, number=None, key=0, via="get", brand="TestApp",
                        path=""):
        """Seed request that must give status 0; returns (number, rid)."""
        number = number or self.s.new_number()
        r = self.s.seed(path, {"phone_no": number, "brand": brand}, key, via)
        d = self.assert_seed(r, 0)
        self.assert_request_id(r, d.get("request_id"))
        return number, d["request_id"]

    def seed_search(self, rid, key=0):
        r = self.s.seed("/search", {"request_id": rid}, key)
        d = self.assert_json_reply(r)
        if d.get("request_id") != rid:
            self.fail_reply(r, "expected the search of %s" % rid)
        return r, d

    def assert_seed_search_status(self, rid, status, key=0):
        r, d = self.seed_search(rid, key)
        if d.get("status") != status:
            self.fail_reply(r, "expected search status %r" % status)
        return r, d

    # -- Vonage dialect --------------------------------------------------

    def assert_all_strings(self, reply, value, where="body"):
        """Every scalar in a Vonage JSON reply is a string."""
        if isinstance(value, dict):
            for k, v in value.items():
                self.assert_all_strings(reply, v, "%s.%s" % (where, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.assert_all_strings(reply, v, "%s[%d]" % (where, i))
        elif not isinstance(value, str):
            self.fail_reply(reply, "expected every value to be a JSON string"
                            ", %s is %r" % (where, value))

    def assert_vonage(self, reply, status, error_text=None, contains=None,
                      **fields):
        """A Vonage JSON reply: HTTP 200, every value a string, `status`."""
        d = self.assert_json_reply(reply)
        self.assert_all_strings(reply, d)
        if d.get("status") != status:
            self.fail_reply(reply, "expected status %r, got %r"
                            % (status, d.get("status")))
        if error_text is not None:
            fields["error_text"] = error_text
        self.assert_fields(reply, d, fields)
        if contains is not None:
            et = d.get("error_text", "")
            if contains not in et:
                self.fail_reply(reply, "expected error_text containing %r"
                                % contains)
        if status != "0" and not d.get("error_text"):
            self.fail_reply(reply, "expected a non-empty error_text")
        return d

    def assert_xml(self, reply, root, status):
        """A Vonage XML reply with root `root` and <status>status</status>."""
        if reply.status != 200:
            self.fail_reply(reply, "expected HTTP 200")
        if "xml" not in reply.content_type:
            self.fail_reply(reply, "expected an XML Content-Type")
        el = reply.data
        if not isinstance(el, ET.Element):
            self.fail_reply(reply, "expected an XML body")
        if el.tag != root:
            self.fail_reply(reply, "expected XML root <%s>, got <%s>"
                            % (root, el.tag))
        st = el.findtext("status")
        if st != status:
            self.fail_reply(reply, "expected <status>%s</status>, got %r"
                            % (status, st))
        return el

    def vonage_request_ok(self, number=None, key=0, via="get", **params):
        """Vonage request that must give status "0"; (number, rid)."""
        number = number or self.s.new_number()
        p = {"number": number, "brand": "TestApp"}
        p.update(params)
        r = self.s.vonage("", p, key, via)
        d = self.assert_vonage(r, "0")
        self.assert_request_id(r, d.get("request_id"))
        return number, d["request_id"]

    def vonage_search(self, rid, key=0):
        r = self.s.vonage("/search", {"request_id": rid}, key)
        d = self.assert_json_reply(r)
        self.assert_all_strings(r, d)
        if d.get("request_id") != rid:
            self.fail_reply(r, "expected the search of %s" % rid)
        return r, d

    def assert_vonage_search_status(self, rid, status, key=0):
        r, d = self.vonage_search(rid, key)
        if d.get("status") != status:
            self.fail_reply(r, "expected search status %r" % status)
        return r, d


class WiredTestCase(KVTestCase):
    """One KooKoo provider and one server wired to it for the whole class.

    Subclasses give make_provider() (a started Sim, or a fake with the same
    base_url and close()), the server's settings in `wired_settings`, and
    may add to the running server in after_start().  Both are closed at the
    end, also when the set-up fails half way."""

    provider = None
    wired_settings = {}

    @classmethod
    def make_provider(cls):
        raise NotImplementedError

    @classmethod
    def after_start(cls):
        pass

    @classmethod
    def setUpClass(cls):
        # Not KVTestCase's: the server must know its own port beforehand.
        super(KVTestCase, cls).setUpClass()
        try:
            cls.provider = cls.make_provider()
            port = free_port()
            cls.server = Server(sim_settings(cls.provider, port,
                                             **cls.wired_settings),
                                name=cls.__name__, port=port)
            cls.server.start()
            cls.after_start()
        except BaseException:
            cls._close_all()
            raise

    @classmethod
    def _close_all(cls):
        try:
            if cls.server is not None:
                cls.server.close()
        finally:
            cls.server = None
            if cls.provider is not None:
                provider, cls.provider = cls.provider, None
                provider.close()

    @classmethod
    def tearDownClass(cls):
        try:
            cls._close_all()
        finally:
            super(KVTestCase, cls).tearDownClass()


class SimTestCase(KVTestCase):
    """One KooKoo simulator per TestCase class (reset before each test) and
    no class-wide server: each test starts a server wired to the simulator
    with wire(**settings)."""

    per_test = True
    sim = None
    sim_name = "sim"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim = Sim(cls.sim_name)
        try:
            cls.sim.start()
        except BaseException:
            cls.sim.close()
            cls.sim = None
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.sim is not None:
                cls.sim.close()
        finally:
            cls.sim = None
            super().tearDownClass()

    def setUp(self):
        # Not KVTestCase.setUp: its per-test server has no sim settings.
        unittest.TestCase.setUp(self)
        self.server = None
        self.sim.reset()

    def wait_sms(self, number, count=1, timeout=8.0):
        """Polls the number's inbox until it holds `count` SMS; returns
        their texts."""
        def enough():
            texts = self.sim.sms(number)
            return texts if len(texts) >= count else None
        return poll_until(enough, timeout, "%d SMS to %s" % (count, number),
                          interval=0.05,
                          detail=lambda: self.sim.inbox(number))

    def wire(self, **overrides):
        """Starts a server wired to the simulator (overrides: settings)."""
        port = free_port()
        return self.start_server(sim_settings(self.sim, port, **overrides),
                                 port=port)
