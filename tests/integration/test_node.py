"""What a node checks about its store: readiness (/readyz answers whether
the store does, /healthz stays free of it) and the server secret the store
was claimed for (a node with another secret refuses to start, since it
would derive other request ids, PIN hashes and callback tokens than the
nodes beside it).

The store failure is the fault hook's "nomem": every allocation SQLite asks
for fails, so a read cannot be answered, as when a database is lost.
"""

import http.client
import os
import re
import resource
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import KVTestCase, db_query, poll_until, run_cli, sqlite_only
from kvtest import config
from kvtest.faults import FaultControl


@sqlite_only("the fault hook fails SQLite; test_cluster stops PostgreSQL")
class ReadinessTests(FaultControl, KVTestCase):
    per_test = True

    def setUp(self):
        self.ctl_dir = tempfile.mkdtemp(prefix="kvtest-node-")
        self.addCleanup(shutil.rmtree, self.ctl_dir, True)
        self.control = os.path.join(self.ctl_dir, "fault")
        self.settings = {"fault_file": self.control}
        super().setUp()

    def assert_ready(self):
        r = self.server.get("/readyz")
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.data, {"status": "ready", "store": "ok"})

    def test_ready_when_the_store_answers(self):
        self.assert_ready()
        self.assertEqual(self.server.request("HEAD", "/readyz").status, 200)

    def test_unavailable_while_the_store_cannot_answer(self):
        self.assert_ready()
        self.fault("nomem")
        r = self.server.get("/readyz")
        self.assertEqual(r.status, 503, r.describe())
        self.assertEqual(r.data, {"status": "unavailable",
                                    "store": "unreachable"})
        # The process lives: /healthz does not ask the store.
        self.assertEqual(self.server.get("/healthz").status, 200)
        self.set_fault("")
        self.assert_ready()


class SecretClaimTests(KVTestCase):
    per_test = True

    def other_serve(self, secret_file):
        """`serve` on the server's database with another secret file;
        returns the CompletedProcess (a node that does not refuse keeps
        serving, which the timeout turns into a failure)."""
        try:
            return run_cli(["serve", "--listen", "127.0.0.1:0", "--db",
                            self.server.db],
                           settings={"secret_file": secret_file},
                           timeout=10 + config.READY_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("a node with another secret kept serving")

    def other_secret(self):
        """A secret file other than the server's: its path."""
        other = os.path.join(self.server.dir, "other.secret")
        with open(other, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(other, 0o600)
        return other

    def test_a_node_with_another_secret_refuses_to_start(self):
        cp = self.other_serve(self.other_secret())
        self.assertNotEqual(cp.returncode, 0, cp.stderr)
        self.assertIn("the server secret differs from the one this "
                      "database was created with", cp.stderr)
        # The node that owns the database keeps answering.
        self.assertEqual(self.server.get("/readyz").status, 200)

    def test_keys_commands_with_another_secret_are_refused(self):
        """A key made with another secret would never authenticate on the
        nodes (its secret is hashed with the server secret): the admin
        commands check the claim as `serve` does."""
        other = self.other_secret()
        own = {"secret_file": self.server.secret_path}
        before = run_cli(["keys", "list", "--db", self.server.db],
                         settings=own).stdout
        self.assertIn("key0", before)
        for args in (["keys", "create", "--name", "elsewhere"],
                     ["keys", "list"], ["operator-token"]):
            cp = run_cli(args + ["--db", self.server.db],
                         settings={"secret_file": other})
            self.assertNotEqual(cp.returncode, 0, (args, cp.stdout))
            self.assertIn("the server secret differs", cp.stderr)
            self.assertNotIn("api_secret", cp.stdout)
            self.assertNotIn("kvop_", cp.stdout)
        self.assertEqual(run_cli(["keys", "list", "--db", self.server.db],
                                 settings=own).stdout, before)

    def test_operator_token_follows_the_secret_and_its_epoch(self):
        """Every node with the secret prints the same token; a new epoch
        gives another."""
        own = {"secret_file": self.server.secret_path}
        args = ["operator-token", "--db", self.server.db]
        first = run_cli(args, settings=own)
        self.assertEqual(first.returncode, 0, first.stderr)
        token = first.stdout.strip()
        self.assertRegex(token, r"^kvop_[0-9a-f]{64}$")
        self.assertEqual(run_cli(args, settings=own).stdout.strip(), token)
        with open(self.server.secret_path, "rb") as f:
            self.assertNotIn(f.read().hex(), token)
        later = run_cli(args, settings=dict(own, operator_token_epoch="2"))
        self.assertEqual(later.returncode, 0, later.stderr)
        self.assertRegex(later.stdout.strip(), r"^kvop_[0-9a-f]{64}$")
        self.assertNotEqual(later.stdout.strip(), token)

    def test_the_same_secret_starts_and_the_store_holds_no_secret(self):
        self.server.restart()
        self.assertEqual(self.server.get("/readyz").status, 200)
        with open(self.server.secret_path, "rb") as f:
            secret = f.read()
        rows = db_query(self.server.db, "SELECT name, value FROM meta")
        self.assertEqual([name for name, _ in rows], ["secret_fingerprint"])
        value = rows[0][1]
        self.assertRegex(value, r"^[0-9a-f]{32}$")
        self.assertNotIn(secret.hex(), value)
        self.assertNotIn(value, secret.hex())


def ipv6_loopback():
    """Whether this machine can listen on ::1."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def serve_directly(test, listen, settings=None, preexec_fn=None):
    """A server started without the harness (to choose its address or its
    process limits) on a fresh SQLite file in a temp dir.  Returns the
    process, its stderr file and the port of its "listening on" line; at
    the test's end it is stopped and must exit 0 with no sanitizer report.
    """
    tmp = tempfile.mkdtemp(prefix="kvtest-node-")
    test.addCleanup(shutil.rmtree, tmp, True)
    db = os.path.join(tmp, "kv.db")
    cp = run_cli(["migrate", "--db", db])
    test.assertEqual(cp.returncode, 0, cp.stderr)
    err = open(os.path.join(tmp, "stderr"), "w+")
    proc = subprocess.Popen([config.BIN, "serve", "--db", db,
                             "--listen", listen],
                            env=config.clean_env(settings),
                            stdout=subprocess.PIPE, stderr=err, text=True,
                            preexec_fn=preexec_fn)

    def stop():
        proc.terminate()
        status = proc.wait(timeout=10)
        proc.stdout.close()
        err.seek(0)
        text = err.read()
        err.close()
        test.assertEqual(status, 0, text)
        test.assertNotIn("Sanitizer", text)
    test.addCleanup(stop)
    line = proc.stdout.readline().strip()
    host = re.escape(listen.rsplit(":", 1)[0])
    m = re.fullmatch(r"listening on %s:(\d+)" % host, line)
    test.assertIsNotNone(m, repr(line))
    return proc, err, int(m.group(1))


def healthz(host, port):
    """/healthz's status and body on a new connection."""
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


OK = (200, b'{"status":"ok"}')


@sqlite_only("a node's listening socket does not depend on its store")
class ListenAddressTests(unittest.TestCase):
    """The server binds and accepts on its own socket (src/http_accept.c):
    an IPv6 address listens, reports the port the kernel chose, and
    serves."""

    @unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback here")
    def test_an_ipv6_address_is_served(self):
        _, _, port = serve_directly(self, "[::1]:0")
        self.assertEqual(healthz("::1", port), OK)


def cpu_seconds(pid):
    """User + system CPU the process has used, from /proc (clock ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@sqlite_only("a node's accepting thread does not depend on its store")
class AcceptBackoffTests(unittest.TestCase):
    """Out of descriptors, the accepting thread (src/http_accept.c) waits
    10 ms between tries, leaving the connections in the kernel's backlog:
    it says so once a second at most, does not spin, and serves again as
    soon as descriptors are free."""

    NOFILE = 48      # the server needs about 20 of its own
    HELD = 80        # connections opened and held: more than it can take
    HOLD_S = 3.0

    def test_out_of_descriptors_waits_quietly_then_serves(self):
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (self.NOFILE, self.NOFILE))

        proc, err, port = serve_directly(
            self, "127.0.0.1:0",
            {"threads": "2", "per_ip_connections": "0"}, limit)
        held = [socket.create_connection(("127.0.0.1", port), timeout=5)
                for _ in range(self.HELD)]
        try:
            time.sleep(0.5)  # the first failures, and the first line
            cpu0 = cpu_seconds(proc.pid)
            time.sleep(self.HOLD_S)
            cpu = cpu_seconds(proc.pid) - cpu0
            err.seek(0)
            said = err.read().count("http.accept_failed")
        finally:
            for s in held:
                s.close()
        # 10 ms between tries: ~300 tries in the hold, a line a second.
        self.assertGreaterEqual(said, 1, "no accept_failed line")
        self.assertLessEqual(said, self.HOLD_S + 2,
                             "%d accept_failed lines" % said)
        self.assertLess(cpu, 0.5 * self.HOLD_S,
                        "%.2f s of CPU while waiting" % cpu)

        def served():
            try:
                return healthz("127.0.0.1", port)
            except (OSError, http.client.HTTPException):
                return None
        self.assertEqual(poll_until(served, 10, "/healthz served again"),
                         OK)

if __name__ == "__main__":
    unittest.main()
