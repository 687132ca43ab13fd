"""The programs under test as child processes.

Child is the one lifecycle every program shares: a temp dir, a start that
waits (with a deadline) for "listening on 127.0.0.1:PORT", stdout and
stderr kept in files of that dir, a stop that asserts a clean exit and no
sanitizer report, a kill for the crash case, and the kill of every child
when the interpreter exits.  Server (kookooverify serve) and Sim (the
KooKoo simulator) say only what differs: the command line, the
environment and what happens before the first start.
"""

import atexit
import itertools
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from . import logscan
from .client import ServerClient, send, with_query
from .config import (BIN, CLI_TIMEOUT, FIRST_NUMBER, READY_TIMEOUT,
                     SIM_BIN, STOP_TIMEOUT, clean_env, pin_of,
                     sanitizer_report)

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

# A child gets SIGKILL if the test runner dies without running atexit
# (setpriv sets PR_SET_PDEATHSIG, which survives the exec).  setpriv rather
# than a preexec_fn, which is unsafe while other threads run.
_SETPRIV = shutil.which("setpriv")
DEATHSIG_PREFIX = [_SETPRIV, "--pdeathsig", "KILL"] if _SETPRIV else []

LISTENING_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def require_binary():
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        raise RuntimeError("kookooverify binary not found at %s "
                           "(build it with make or set KOOKOOVERIFY_BIN)"
                           % BIN)


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


_sqlite_template = None
_sqlite_template_lock = threading.Lock()


def _sqlite_template_dir_remove(path):
    shutil.rmtree(path, True)


def copy_migrated_sqlite(db):
    """Makes db a copy of a SQLite store that `kookooverify migrate` brought
    to the current schema once for this process: a copy costs a test server
    far less than running every migration (a fifth of a second of CPU
    under the sanitizers), and PostgreSQL's servers start from a migrated
    template database the same way.  The copy keeps the store's mode."""
    global _sqlite_template
    with _sqlite_template_lock:
        if _sqlite_template is None:
            d = tempfile.mkdtemp(prefix="kvtest-template-")
            atexit.register(_sqlite_template_dir_remove, d)
            path = os.path.join(d, "kv.db")
            cp = run_cli(["migrate", "--db", path])
            if cp.returncode != 0:
                raise AssertionError("kookooverify migrate of the template "
                                     "store exited %d:\n%s"
                                     % (cp.returncode, cp.stderr))
            _sqlite_template = path
    shutil.copy2(_sqlite_template, db)


def _ephemeral_low():
    """The first port of the kernel's ephemeral range (Linux's default
    32768 when it cannot be read)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# free_port() draws from below the ephemeral range, down to this port.
FREE_PORT_FLOOR = 20000


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago, for a server that
    must know its own URL before it starts (public_base_url).  It is drawn
    from below the kernel's ephemeral range: a port from inside it (what
    binding port 0 gives) can be handed to the next server that listens on
    port 0, or to any client connection, before this one binds it, which
    happened under parallel runs."""
    low = _ephemeral_low()
    if low - FREE_PORT_FLOOR >= 1000:
        for _ in range(100):
            port = random.randrange(FREE_PORT_FLOOR, low)
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_together(children):
    """Starts every child at (nearly) the same instant from this thread,
    then waits until each serves; returns them.  Children must be started
    from the main thread: their PR_SET_PDEATHSIG fires when the thread that
    forked them ends.  On a failure every child of the list is killed."""
    lines = []
    try:
        for c in children:
            c.require()
            c.dir = tempfile.mkdtemp(prefix="kvtest-%s-" % c.name)
            c.prepare()
        for c in children:
            lines.append(c._launch())
        for c, q in zip(children, lines):
            c.port = c.wait_ready(q)
    except BaseException:
        for c in children:
            c.failed = True
            c._kill()
            c.proc = None  # close() has nothing left to stop
        raise
    return children


class Child:
    """One program on 127.0.0.1 with its own temp dir.

    A subclass gives `label` (the program in messages), require() (fails
    when its binary is missing), prepare() (after the temp dir exists,
    before the first start), command() and may override env(), argv() and
    wait_ready() (by default: "listening on 127.0.0.1:PORT" on stdout).  Each start
    is a "run": run N writes stdout.N.log and stderr.N.log in self.dir, and
    stderr_text() shows every run's stderr.
    """

    label = "child"

    def __init__(self, name):
        self.name = name
        self.dir = None
        self.proc = None
        self.port = None
        self.runs = 0
        self.stderr_paths = []
        self.failed = False
        self._stdout_thread = None

    # -- what a subclass says ---------------------------------------------

    def require(self):
        raise NotImplementedError

    def prepare(self):
        pass

    def command(self):
        raise NotImplementedError

    def env(self):
        return None  # the harness's own environment

    # -- lifecycle ----------------------------------------------------------

    def start(self):
        return start_together([self])[0]

    def _launch(self):
        """Starts the program; returns the queue its stdout lines go to."""
        self.runs += 1
        err_path = os.path.join(self.dir, "stderr.%d.log" % self.runs)
        self.stderr_paths.append(err_path)
        errf = open(err_path, "wb")
        try:
            self.proc = subprocess.Popen(
                self.argv(), env=self.env(),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=errf, cwd=self.dir, start_new_session=True)
        finally:
            errf.close()
        with _children_lock:
            _children.add(self.proc)
        lines = queue.Queue()
        out_path = os.path.join(self.dir, "stdout.%d.log" % self.runs)
        self._stdout_thread = threading.Thread(
            target=self._drain_stdout, args=(self.proc, lines, out_path),
            daemon=True)
        self._stdout_thread.start()
        return lines

    def _spawn(self):
        self.port = self.wait_ready(self._launch())

    def argv(self):
        """command() run so that the child gets SIGKILL when we die."""
        return DEATHSIG_PREFIX + self.command()

    def wait_ready(self, lines):
        """Waits until the child serves; returns its port.  lines yields
        its stdout lines (None at EOF)."""
        return self._wait_listening(lines)

    def _wait_listening(self, lines):
        """The port of the "listening on" line; fails (and kills the child)
        when it exits first or READY_TIMEOUT passes."""
        deadline = time.monotonic() + READY_TIMEOUT
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill()
                raise AssertionError(
                    "%s did not print 'listening on 127.0.0.1:PORT' "
                    "within %.0f s; stdout so far: %r\nstderr:\n%s"
                    % (self.label, READY_TIMEOUT, seen, self.stderr_text()))
            try:
                line = lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                if self.proc.poll() is not None and lines.empty():
                    rc = self.proc.returncode
                    self._forget()
                    raise AssertionError(
                        "%s exited with %s before listening; stdout: "
                        "%r\nstderr:\n%s"
                        % (self.label, rc, seen, self.stderr_text()))
                continue
            if line is None:
                continue
            seen.append(line)
            m = LISTENING_RE.search(line)
            if m:
                return int(m.group(1))

    @staticmethod
    def _drain_stdout(proc, lines, path):
        with open(path, "wb") as out, proc.stdout:
            for raw in proc.stdout:
                out.write(raw)
                out.flush()
                lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        lines.put(None)

    def _forget(self):
        """After the child exited: drop it from the kill list.  stdout is
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

    def exit_note(self):
        """"running" or "exited with STATUS", for failure messages."""
        if self.proc is None:
            return "not running"
        return ("running" if self.alive() else
                "exited with %s" % self.proc.returncode)

    def reap(self):
        """After the child exited on its own (a crash the caller has
        reported): forget it, so that restart() starts a new run."""
        self._forget()
        self.proc = None

    def stop(self, sig=signal.SIGTERM):
        """Stops the child with `sig`; asserts a clean exit with status 0
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
                        "%s did not exit within %.0f s of signal %d; "
                        "killed it.\nstderr:\n%s"
                        % (self.label, STOP_TIMEOUT, sig,
                           self.stderr_text()))
            rc = proc.returncode
            self._forget()
            self.check_stderr()
            if rc != 0:
                self.failed = True
                raise AssertionError(
                    "%s exited with status %s after signal %d, expected "
                    "0.\nstderr:\n%s" % (self.label, rc, sig,
                                         self.stderr_text()))
        finally:
            self.proc = None

    def kill9(self):
        """SIGKILL: the crash case.  The dir is kept."""
        if self.proc is not None:
            _kill_group(self.proc)
            self.proc.wait(timeout=STOP_TIMEOUT)
            self._forget()
            self.proc = None

    def restart(self):
        """Stops (if running) and starts again in the same dir; the port
        changes unless the command fixes it."""
        if self.proc is not None:
            self.stop()
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

    # -- stderr ---------------------------------------------------------------

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
            raise AssertionError("sanitizer report in the %s's stderr:\n%s"
                                 % (self.label, text))


class Server(ServerClient, Child):
    """A kookooverify server on 127.0.0.1:0 with a fresh temp dir.

    settings: dict of settings (short names like "pin_expiry" or full
    KOOKOOVERIFY_* names) passed in the environment.  nkeys API keys are
    created before the start; self.keys[i] is {"api_key", "api_secret"}.
    numbers: how many test numbers (fixed PINs) to configure.
    backend: "sqlite" (a file in the temp dir) or "postgres" (a fresh
    database on the tests' PostgreSQL); default $KOOKOOVERIFY_TEST_BACKEND.
    self.db is the file or the URI either way.  db: use this database
    instead (a URI; the caller made it).  keys: the keys of the node whose
    database this one joins (a cluster): given, nothing is migrated or
    created before the start (secret_file: that node's).
    """

    label = "server"
    _seq = itertools.count(1)

    def __init__(self, settings=None, nkeys=1, numbers=60, name=None,
                 port=0, backend=None, db=None, keys=None, secret_file=None):
        """port: the port to listen on, kept across restarts (0: any free
        port, a new one at each start)."""
        super().__init__(name or "kv%d" % next(self._seq))
        from . import postgres
        self.settings = dict(settings or {})
        self.listen_port = port
        self.nkeys = nkeys
        self.numbers = [str(FIRST_NUMBER + i) for i in range(numbers)]
        self.backend = ("postgres" if postgres.is_postgres(db)
                        else backend or postgres.BACKEND)
        self.given_db = db
        self.joined = keys is not None
        self.db = None
        self.secret_file = secret_file
        self.keys = list(keys or [])
        self._next_number = 0
        self._number_lock = threading.Lock()

    def require(self):
        require_binary()

    def prepare(self):
        from . import postgres
        if self.given_db:
            self.db = self.given_db
        elif self.backend == "postgres":
            self.db = postgres.new_database(migrated=not self.joined)
        else:
            self.db = os.path.join(self.dir, "kv.db")
        if self.backend == "postgres" and not self.secret_file:
            # <db>.secret means nothing for a URI.
            self.secret_file = os.path.join(self.dir, "kv.secret")
        if self.joined:
            return
        if self.given_db:
            self.cli("migrate", "--db", self.db)
        elif not postgres.is_postgres(self.db):
            copy_migrated_sqlite(self.db)
        # (else a copy of PostgreSQL's migrated template database)
        for i in range(self.nkeys):
            self.create_key("key%d" % i)

    @property
    def secret_path(self):
        """The server secret's file, as the server finds it."""
        for k in ("secret_file", "KOOKOOVERIFY_SECRET_FILE"):
            if self.settings.get(k):
                return self.settings[k]
        return self.secret_file or self.db + ".secret"

    def check_stderr(self):
        """Child.check_stderr(), then the log scan (kvtest/logscan.py):
        no PIN, full phone number, API secret or the server secret's hex
        in any line this server wrote, in either log format."""
        super().check_stderr()
        for k in self.keys:
            logscan.note_secret(k.get("api_secret"))
        try:
            with open(self.secret_path, "rb") as f:
                logscan.note_secret(f.read().hex())
        except (OSError, TypeError):
            pass  # not made yet, or the test removed it
        text = ""
        for p in self.stderr_paths:
            try:
                with open(p, "rb") as f:
                    text += f.read().decode("utf-8", "replace")
            except OSError:
                continue
        leak = logscan.find_leak(text)
        if leak:
            self.failed = True
            raise AssertionError("%s in the %s's log (%s), line:\n%s"
                                 % (leak[0], self.label, leak[1], leak[2]))

    def close(self):
        """Child.close(), then the PostgreSQL database this server made is
        dropped (kept, as the dir is, when something failed)."""
        try:
            super().close()
        finally:
            if (self.backend == "postgres" and self.db
                    and not self.given_db and not self.failed
                    and not os.environ.get("KOOKOOVERIFY_KEEP_TMP")):
                from . import postgres
                postgres.drop_database(self.db, wait=False)

    def command(self):
        return [BIN, "serve", "--listen", "127.0.0.1:%d" % self.listen_port,
                "--db", self.db]

    def env(self):
        settings = {"test_numbers": ",".join(
            "%s:%s" % (n, pin_of(n)) for n in self.numbers)}
        if self.secret_file:
            settings["secret_file"] = self.secret_file
        settings.update(self.settings)
        return clean_env(settings)

    def restart(self, settings=None):
        """Stops (if running) and starts again on the same db; the port
        changes.  settings, if given, replace the server's settings."""
        if settings is not None:
            self.settings = dict(settings)
        return super().restart()

    def cli(self, *args, check=True):
        """Runs a CLI command against this server's db (same env)."""
        cp = run_cli(list(args), env=self.env())
        if check and cp.returncode != 0:
            raise AssertionError("kookooverify %s exited %d\nstdout:\n%s\n"
                                 "stderr:\n%s" % (" ".join(args),
                                                  cp.returncode, cp.stdout,
                                                  cp.stderr))
        return cp

    def operator_token(self):
        """The bearer token of /metrics (`kookooverify operator-token`
        with this server's settings)."""
        token = getattr(self, "_operator_token", None)
        if not token:
            token = self.cli("operator-token", "--db", self.db).stdout.strip()
            self._operator_token = token
        return token

    def metrics(self):
        """GET /metrics with the operator token; returns the Reply."""
        return self.get("/metrics", headers={
            "Authorization": "Bearer " + self.operator_token()})

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


class Sim(Child):
    """The KooKoo simulator (bin/kookoo-sim --quiet) on 127.0.0.1:0.

    base_url is what a server's kookoo_base_url points at.  script(),
    inbox(), stats() and reset() use its /sim/ API (tools/README.md).
    """

    label = "kookoo-sim"

    def __init__(self, name="sim"):
        super().__init__(name)

    def require(self):
        if not (os.path.isfile(SIM_BIN) and os.access(SIM_BIN, os.X_OK)):
            raise RuntimeError("kookoo-sim not found at %s (build it with "
                               "make or set KOOKOO_SIM_BIN)" % SIM_BIN)

    def command(self):
        return [SIM_BIN, "--listen", "127.0.0.1:0", "--quiet"]

    @property
    def base_url(self):
        return "http://127.0.0.1:%d/outbound" % self.port

    def request(self, method, path, params=None, body=None):
        """Returns the parsed JSON answer of a /sim/ request; asserts 200."""
        if not self.alive():
            raise AssertionError("kookoo-sim is not running.\nstderr:\n%s"
                                 % self.stderr_text())
        if params:
            path = with_query(path, params)
        resp, raw = send(self.port, method, path, body, {
            "Content-Type": "application/json"} if body else {})
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
        box = self.request("GET", "/sim/inbox", {"phone_no": number})
        # A PIN the server sent must not be in any server's log.
        logscan.note_sms(m.get("message") for m in box.get("sms", []))
        logscan.note_calls(box.get("calls", []))
        return box

    def sms(self, number):
        """The texts of the SMS the number got, oldest first."""
        return [m["message"] for m in self.inbox(number)["sms"]]

    def calls(self, number):
        return self.inbox(number)["calls"]

    def stats(self):
        return self.request("GET", "/sim/stats")

    def reset(self):
        return self.request("POST", "/sim/reset")


def started_sim(name):
    """A started simulator named `name`, closed again if it fails to start."""
    sim = Sim(name)
    try:
        sim.start()
    except BaseException:
        sim.close()
        raise
    return sim
