"""Three kookooverify nodes on one PostgreSQL database (issue 13).

These tests run on PostgreSQL whatever KOOKOOVERIFY_TEST_BACKEND says
(`make integration` runs them in its PostgreSQL half only).  Each starts
three `serve` processes on one fresh database, each on its own port with
the same secret file and settings, plus a kookoo-sim when it delivers:

- wrong guesses racing on the three nodes are evaluated three times;
- a call placed by one node is confirmed by keypad through another (every
  node's public_base_url names the next node, so the simulator's IVR
  requests and status POST always reach another node than the placer);
- kill -9 of a node under load: nothing acknowledged is lost, and the jobs
  it held under lease are delivered once by the survivors;
- PostgreSQL stopped and started (fast, then immediate) under load:
  status 5 while it is down, /readyz says so, the nodes recover without a
  restart and nothing acknowledged is lost;
- requests and checks racing on the three nodes for one key make
  PostgreSQL create no MultiXact (no row they all lock);
- a node with idle delivery workers starts its jobs itself and notifies
  no other node; one with none idle wakes the others;
- nodes (and `migrate` commands) started together migrate once, and a node
  with another secret is refused;
- the admin commands against a postgresql:// database, seen by every node.
"""

import functools
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import (DialectSteps, Postgres, ReplyAssertions, Server, Sim,
                     clean_env, db_query, free_port, log_events,
                     new_mobile, pin_of,
                     poll_until, run_all, run_cli, run_together,
                     start_together, wrong_pin)
from kvtest import postgres
from kvtest.config import sim_settings

NODES = 3
# The kill test: a trap SMS's first send hangs TRAP_MS at the simulator,
# under the server's KooKoo timeout, under the lease (s), so that a
# survivor's own sends end before their lease does; WORKERS per node.
TRAP_MS = 4000
KOOKOO_TIMEOUT_MS = 5000
LEASE_S = 6
WORKERS = 2
SMS_PIN_RE = re.compile(r"code: (\d{4,10})\.")

def applied_migrations(logs):
    """The migrations the log says were applied, as strings."""
    return [str(e["migration"]) for e in log_events(logs, "store.migrated")]


# The simulator delivers to these (they are no fixed-PIN test numbers).
new_number = functools.partial(new_mobile, "9198125")


def status_of(reply):
    """The seed status of a reply, or None when it is not seed JSON."""
    data = reply.data if isinstance(reply.data, dict) else {}
    st = data.get("status")
    return st if type(st) is int else None


class Load:
    """Client threads sending seed requests for new numbers round-robin to
    the nodes still alive, until stopped.  acked: {rid: (number, node)}
    of the requests answered status 0; other: the (status, reply text) of
    every other answer; errors: requests that got no HTTP answer from a
    live node."""

    def __init__(self, nodes, threads=3, dialect="seed", pause=0.02):
        self.nodes = nodes
        self.dialect = dialect
        self.pause = pause
        self.acked = {}
        self.other = []
        self.errors = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(i,),
                                         daemon=True)
                        for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join(timeout=30)

    def count(self):
        with self.lock:
            return len(self.acked)

    def send(self, node, number):
        if self.dialect == "vonage":
            r = node.vonage("", {"number": number, "brand": "Cluster",
                                 "workflow_id": "6"})
            d = r.data if isinstance(r.data, dict) else {}
            ok = d.get("status") == "0"
        else:
            r = node.seed("", {"phone_no": number, "brand": "Cluster"})
            d = r.data if isinstance(r.data, dict) else {}
            ok = status_of(r) == 0
        return r, d, ok

    def client(self, i):
        k = i
        while not self.stopped.is_set():
            live = [n for n in self.nodes if n.alive()]
            if not live:
                return
            node = live[k % len(live)]
            k += 1
            number = new_number()
            try:
                r, d, ok = self.send(node, number)
            except AssertionError as e:
                if node.alive():  # a dead node's refusal is expected
                    with self.lock:
                        self.errors.append(str(e)[:2000])
                continue
            with self.lock:
                if ok:
                    self.acked[d["request_id"]] = (number, node)
                else:
                    self.other.append((d.get("status"), r.text[:300]))
            self.stopped.wait(self.pause)


class ClusterTestCase(ReplyAssertions, DialectSteps, unittest.TestCase):
    """start_nodes() gives the test three nodes on one database; self.s
    (DialectSteps' server) is self.node, node 0 unless a test says
    otherwise."""

    maxDiff = None
    node = None
    nodes = ()

    @property
    def s(self):
        return self.node

    def tearDown(self):
        for n in self.nodes:
            n.check_stderr()
        super().tearDown()

    def start_sim(self):
        sim = Sim("cluster-sim")
        self.addCleanup(sim.close)
        sim.start()
        return sim

    def start_pg(self):
        """A PostgreSQL of this test's own, to stop and start (the shared
        one serves the other tests)."""
        pg = Postgres("cluster-pg")
        self.addCleanup(pg.close)
        pg.start()
        return pg

    def start_nodes(self, settings=None, sim=None, pg=None,
                    callbacks_to_next=False, numbers=60):
        """Three nodes on a fresh database of the shared PostgreSQL (or of
        pg): node 0 migrates it and creates the key, nodes 1 and 2 join
        with its key and secret file.  sim: wired to it (sim_settings, its
        short timings; settings override them).  callbacks_to_next: node
        i's public_base_url is node i+1's, so IVR callbacks go to another
        node than the one that placed the call."""
        ports = [free_port() for _ in range(NODES)]

        def node_settings(i):
            if sim is None:
                return dict(settings or {})
            url_port = ports[(i + 1) % NODES] if callbacks_to_next \
                else ports[i]
            return sim_settings(sim, url_port, **(settings or {}))

        first = Server(node_settings(0), numbers=numbers, port=ports[0],
                       name="%s-n0" % self._testMethodName,
                       backend="postgres",
                       db=pg.create_database() if pg else None)
        self.addCleanup(first.close)
        first.start()
        nodes = [first]
        for i in range(1, NODES):
            node = Server(node_settings(i), numbers=numbers, port=ports[i],
                          name="%s-n%d" % (self._testMethodName, i),
                          db=first.db, keys=first.keys,
                          secret_file=first.secret_path)
            self.addCleanup(node.close)
            node.start()
            nodes.append(node)
        self.nodes = nodes
        self.node = first
        return nodes

    def search_on(self, node, rid):
        """The seed search of rid through node: (reply, data)."""
        self.node, before = node, self.node
        try:
            return self.seed_search(rid)
        finally:
            self.node = before


class RacingGuessTests(ClusterTestCase):

    def test_wrong_guesses_racing_on_three_nodes_are_evaluated_three_times(
            self):
        nodes = self.start_nodes()
        number, rid = self.seed_request_ok()
        bad = wrong_pin(pin_of(number))
        guesses = 30
        out = run_together([
            (lambda n=nodes[i % NODES]: n.seed(
                "/check", {"request_id": rid, "code": bad}))
            for i in range(guesses)], timeout=60)
        statuses = []
        for r, e in out:
            if e is not None:
                raise e
            statuses.append(status_of(r))
        summary = "statuses %r" % sorted(statuses, key=str)
        self.assertEqual(statuses.count(16), 3,
                         "exactly three wrong codes evaluated: " + summary)
        self.assertEqual(statuses.count(15), guesses - 3,
                         "every other guess refused (15): " + summary)
        for node in nodes:
            r, d = self.search_on(node, rid)
            self.assertEqual(d.get("status"), "FAILED", r.describe())
            self.assertEqual([c.get("status") for c in d.get("checks", [])],
                             ["INVALID"] * 3, r.describe())
        # The right PIN is refused too, on any node.
        for node in nodes:
            r = node.seed("/check", {"request_id": rid,
                                     "code": pin_of(number)})
            self.assert_seed(r, 15)
        r, d = self.search_on(nodes[2], rid)
        self.assertEqual(len(d.get("checks", [])), 3, r.describe())


class KeyRowLockTests(ClusterTestCase):

    def multixacts(self, pg):
        """The next MultiXact id of pg's cluster, as its last checkpoint
        recorded it (one is forced first)."""
        pg.sql("postgres", "CHECKPOINT")
        return int(pg.sql("postgres", "SELECT next_multixact_id FROM "
                          "pg_control_checkpoint()")[0][0])

    def test_requests_and_checks_on_three_nodes_share_no_row_lock(self):
        """Every verification a node writes belongs to one API key.  Were
        its row locked by each transaction (a foreign key's check locks
        the referenced row FOR KEY SHARE), two nodes' writers holding it
        at once would make PostgreSQL record them in a new MultiXact,
        whose storage grows with the request rate.  None may be made."""
        pg = self.start_pg()
        nodes = self.start_nodes(pg=pg)
        before = self.multixacts(pg)
        load = Load(nodes, threads=6, pause=0).start()
        # Successful checks too (verified numbers), each through another
        # node than its request.
        started = []
        for i in range(30):
            number = nodes[0].new_number()  # one series for the cluster
            self.node = nodes[i % NODES]
            started.append(self.seed_request_ok(number))
        self.node = nodes[0]
        out = run_together([
            (lambda n=nodes[(i + 1) % NODES], number=number, rid=rid:
             n.seed("/check", {"request_id": rid, "code": pin_of(number)}))
            for i, (number, rid) in enumerate(started)], timeout=60)
        time.sleep(2)
        load.stop()
        for r, e in out:
            if e is not None:
                raise e
            self.assertEqual(status_of(r), 0, r.describe())
        self.assertEqual(load.errors, [])
        self.assertGreater(load.count(), 100,
                           "requests answered while the nodes raced")
        self.assertEqual(self.multixacts(pg), before,
                         "MultiXacts made by %d requests and %d checks"
                         % (load.count() + len(started), len(started)))


class WakeUpTests(ClusterTestCase):

    N = 30
    LISTEN_S = 15

    def test_a_node_with_idle_workers_notifies_no_other_node(self):
        """A node whose own delivery workers are idle starts the jobs it
        stores itself (it wakes them directly) and notifies no other node:
        each notification woke a worker on every other node, whose claim
        mostly found the job taken (three nodes ran 2.5 times the claims
        of one).  A client LISTENing on the jobs' channel counts the
        notifications while SMS-only verifications are requested one after
        another through one node; its own notification at the end shows
        it was listening all along."""
        pg = self.start_pg()
        sim = self.start_sim()
        nodes = self.start_nodes(sim=sim, pg=pg)
        dbname = urllib.parse.urlparse(nodes[0].db).path.lstrip("/")
        listener = subprocess.Popen(
            [os.path.join(postgres.PGBIN, "psql"), "-X", "-h", pg.dir,
             "-p", str(postgres.PG_PORT), "-U", postgres.PG_USER,
             "-d", dbname, "-c", "LISTEN kookooverify_jobs",
             "-c", "SELECT pg_sleep(%d)" % self.LISTEN_S],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        self.addCleanup(listener.kill)
        time.sleep(1)
        start = time.monotonic()
        numbers = []
        for _ in range(self.N):
            number = new_number()
            self.vonage_request_ok(number=number, workflow_id="6")
            numbers.append(number)
            time.sleep(0.1)
        poll_until(lambda: all(sim.sms(n) for n in numbers), 30,
                   "every SMS delivered")
        self.assertLess(time.monotonic() - start, self.LISTEN_S - 2,
                        "the requests outlasted the listener")
        pg.sql(dbname, "SELECT pg_notify('kookooverify_jobs', 'control')")
        out = listener.communicate(timeout=self.LISTEN_S + 30)[0].decode()
        self.assertIn('"kookooverify_jobs" with payload "control"', out)
        notes = out.count('Asynchronous notification "kookooverify_jobs" '
                          'received')
        self.assertLess(notes, self.N // 4,
                        "notifications for %d jobs a node's idle workers "
                        "could start:\n%s" % (self.N, out[-2000:]))

    def test_a_node_whose_workers_are_busy_wakes_the_others(self):
        """One worker a node; node 0's is held by an SMS that hangs
        (TRAP_MS).  Three more verifications requested through node 0 are
        sent by the other nodes meanwhile, woken by its notification (they
        would otherwise look only at their next timed poll)."""
        sim = self.start_sim()
        nodes = self.start_nodes({"job_lease": LEASE_S, "job_workers": 1,
                                  "kookoo_timeout_ms": KOOKOO_TIMEOUT_MS,
                                  "pin_expiry": 300}, sim=sim)
        trap = new_number()
        sim.script(doc={trap: {"sms": "timeout", "sms_fail_times": 1,
                               "timeout_ms": TRAP_MS}})
        _, rid = self.vonage_request_ok(number=trap, workflow_id="6")

        def trap_leased():
            return db_query(nodes[0].db, "SELECT count(*) FROM jobs j JOIN "
                            "verifications v ON v.id = j.verification_id "
                            "WHERE v.request_id = ? AND j.state = 0 AND "
                            "j.lease_until_ms > 0", (rid,))[0][0] == 1
        poll_until(trap_leased, 10, "a worker sending the trap SMS")
        self.assertEqual(sim.sms(trap), [], "the trap SMS was not held")
        start = time.monotonic()
        numbers = [new_number() for _ in range(3)]
        for number in numbers:
            self.vonage_request_ok(number=number, workflow_id="6")
        poll_until(lambda: all(sim.sms(n) for n in numbers),
                   TRAP_MS / 1000.0 - 1, "the three SMS sent by the other "
                   "nodes while node 0's worker is busy")
        self.assertLess(time.monotonic() - start, TRAP_MS / 1000.0)
        self.assertEqual(sim.sms(trap), [], "the trap SMS was not held")


class CrossNodeCallTests(ClusterTestCase):

    def test_call_placed_by_one_node_is_confirmed_through_another(self):
        sim = self.start_sim()
        nodes = self.start_nodes({"pin_expiry": 60}, sim=sim,
                                 callbacks_to_next=True)
        ports = [n.port for n in nodes]
        number = new_number()
        sim.script(number, keys=["2"])
        _, rid = self.vonage_request_ok(number=number, brand="Cluster",
                                        workflow_id="7")

        def done():
            calls = sim.calls(number)
            return calls if calls and all(c["done"] for c in calls) \
                else None
        call = poll_until(done, 15, "the call to %s played" % number,
                          interval=0.05,
                          detail=lambda: sim.inbox(number))[0]
        tr = call["transcript"]
        self.assertIn("[pressed 2]", tr)
        self.assertTrue(any("now verified" in line for line in tr), tr)
        self.assertEqual((call["keys_sent"], call["events"],
                          call["callback_status"], call["callback_http"]),
                         (["2"], ["NewCall", "GotDTMF", "Disconnect"],
                          "answered", 200), call)
        # The IVR URL names a node; the node before it placed the call.
        m = re.match(r"http://127\.0\.0\.1:(\d+)/ivr/kookoo$",
                     call.get("url") or "")
        self.assertIsNotNone(m, call)
        self.assertEqual(call.get("callback_url"), call["url"] + "/status",
                         call)
        answering = ports.index(int(m.group(1)))
        placer = (answering - 1) % NODES
        self.assertNotEqual(answering, placer)
        for node in nodes:
            r, d = self.search_on(node, rid)
            self.assertEqual(d.get("status"), "SUCCESS", r.describe())
            ev = [(e.get("channel"), e.get("result"), e.get("id"))
                  for e in d.get("events", [])]
            self.assertEqual(ev, [
                ("tts", "accepted", call["sid"]),
                ("ivr", "NewCall", call["sid"]),
                ("ivr", "GotDTMF", call["sid"]),
                ("ivr", "Disconnect", call["sid"]),
                ("call", "answered", call["sid"])], r.describe())
            r = node.seed("/search", {"phone_no": number})
            self.assertEqual(self.assert_json_reply(r).get("status"),
                             "VERIFIED", r.describe())
        # The same PIN cannot be used again, through the placer either.
        r = nodes[placer].seed("/check", {"request_id": rid, "code": "1234"})
        self.assert_seed(r, 18)


class NodeKillTests(ClusterTestCase):

    TRAPS = NODES * WORKERS + 2  # SMS whose first send hangs

    def in_flight(self, db, rids):
        """How many of these verifications' SMS steps are under a lease
        (claimed, being sent: a report or a retry clears the lease)."""
        rows = db_query(db, "SELECT v.request_id FROM jobs j JOIN "
                            "verifications v ON v.id = j.verification_id "
                            "WHERE j.kind = 'step' AND j.state = 0 AND "
                            "j.lease_until_ms > 0")
        return sum(1 for (rid,) in rows if rid in rids)

    def jobs(self, db):
        """{request_id: (state, attempts)} of every verification's SMS
        step (workflow 6: one step)."""
        rows = db_query(db, "SELECT v.request_id, j.state, j.attempts "
                            "FROM jobs j JOIN verifications v ON "
                            "v.id = j.verification_id WHERE j.kind = 'step'")
        return {rid: (state, attempts) for rid, state, attempts in rows}

    def test_kill9_of_a_node_under_load_loses_nothing(self):
        sim = self.start_sim()
        nodes = self.start_nodes({"job_lease": LEASE_S,
                                  "job_workers": WORKERS,
                                  "kookoo_timeout_ms": KOOKOO_TIMEOUT_MS,
                                  "pin_expiry": 300}, sim=sim)
        victim, survivors = nodes[2], nodes[:2]
        db = nodes[0].db
        # The first SMS to a trap number hangs, then is lost (504, nothing
        # stored); the next is delivered.  Once every worker of the
        # cluster is sending one (a worker holds one job at a time), the
        # victim dies holding WORKERS leases.
        traps = [new_number() for _ in range(self.TRAPS)]
        sim.script(doc={n: {"sms": "timeout", "sms_fail_times": 1,
                            "timeout_ms": TRAP_MS} for n in traps})
        load = Load(nodes, dialect="vonage").start()
        self.addCleanup(load.stop)
        poll_until(lambda: load.count() >= 15, 20, "15 requests acknowledged",
                   detail=lambda: (load.other[-3:], load.errors[-3:]))
        trap_rids = {}
        self.node = victim
        for n in traps:
            trap_rids[self.vonage_request_ok(number=n, brand="Cluster",
                                             workflow_id="6")[1]] = n
        poll_until(lambda: self.in_flight(db, trap_rids) >= NODES * WORKERS,
                   15, "every worker sending a trap SMS",
                   detail=lambda: self.jobs(db))
        victim.kill9()
        before_kill = load.count()
        poll_until(lambda: load.count() >= before_kill + 15, 20,
                   "15 more requests acknowledged by the survivors",
                   detail=lambda: (load.other[-3:], load.errors[-3:]))
        load.stop()
        self.assertEqual(load.errors, [], "survivors failed requests")
        self.assertEqual(load.other, [], "requests refused")

        acked = {rid: number for rid, (number, _) in load.acked.items()}
        acked.update(trap_rids)
        # Every SMS step ends (the dead node's leases run out first).
        jobs = poll_until(
            lambda: (lambda j: j if all(j.get(rid, (0,))[0] != 0
                                        for rid in acked) else None)(
                self.jobs(db)), 30, "every SMS step done",
            detail=lambda: {r: s for r, s in self.jobs(db).items()
                            if s[0] == 0})
        taken_over = 0
        traps_seen = {}
        for rid, number in sorted(acked.items()):
            state, attempts = jobs[rid]
            self.assertEqual(state, 1, "SMS step of %s: %r"
                             % (rid, jobs[rid]))
            texts = sim.sms(number)
            self.assertGreaterEqual(len(texts), 1, "no SMS to %s" % number)
            for node in survivors:
                r, d = self.search_on(node, rid)
                self.assertEqual(d.get("status"), "IN PROGRESS",
                                 r.describe())
            if rid in trap_rids:
                self.assertEqual(len(texts), 1, "SMS to trap %s: %r"
                                 % (number, texts))
                r, d = self.search_on(survivors[0], rid)
                retried = [e for e in d.get("events", [])
                           if e.get("result") == "retrying"]
                # Each claim that came back records one send: a failed
                # one ("retrying") or the last.  A claim more is one that
                # died with the victim: its lease ran out.
                if attempts > len(retried) + 1:
                    taken_over += 1
                traps_seen[number] = (attempts, len(retried))
            else:
                # Only a send whose record died with the victim is sent
                # again (at-least-once): never more SMS than attempts.
                self.assertLessEqual(len(texts), attempts,
                                     "SMS to %s: %r" % (number, texts))
        self.assertEqual(taken_over, WORKERS,
                         "trap SMS held by the killed node's workers and "
                         "taken over: (attempts, failed sends) of each "
                         "trap: %r" % traps_seen)
        # The survivors still verify: a trap number's PIN from its SMS.
        rid, number = next(iter(trap_rids.items()))
        pin = SMS_PIN_RE.search(sim.sms(number)[0])
        self.assertIsNotNone(pin, sim.sms(number))
        self.node = survivors[1]
        r = self.s.vonage("/check", {"request_id": rid,
                                     "code": pin.group(1)})
        self.assert_vonage(r, "0")


class PostgresRestartTests(ClusterTestCase):

    def outage(self, pg, nodes, load, immediate, readyz):
        """PostgreSQL down: every node answers status 5 (within the HTTP
        timeout, no hang), /healthz stays 200; then up: every node serves
        again without a restart.  readyz gets (when, HTTP status) of each
        node's /readyz, which the test checks last."""
        if immediate:
            pg.crash()
        else:
            pg.stop()
        for node in nodes:
            r = node.seed("", {"phone_no": new_number(), "brand": "Down"})
            self.assert_seed(r, 5)
            self.assertEqual(node.get("/healthz").status, 200)
            readyz.append(("down", node.get("/readyz").status))
        pg.start_again()
        for node in nodes:
            poll_until(lambda: status_of(node.seed(
                "", {"phone_no": new_number(), "brand": "Up"})) == 0, 30,
                "node on port %d serving again" % node.port)
            readyz.append(("up", node.get("/readyz").status))
        n = load.count()
        poll_until(lambda: load.count() >= n + 15, 20,
                   "15 requests acknowledged after the restart",
                   detail=lambda: (load.other[-3:], load.errors[-3:]))

    def test_postgresql_restarted_under_load(self):
        pg = self.start_pg()
        nodes = self.start_nodes(pg=pg)
        load = Load(nodes).start()
        self.addCleanup(load.stop)
        poll_until(lambda: load.count() >= 15, 20, "15 requests acknowledged",
                   detail=lambda: (load.other[-3:], load.errors[-3:]))
        number, rid = self.seed_request_ok()  # a test number: fixed PIN
        readyz = []
        self.outage(pg, nodes, load, False, readyz)
        self.outage(pg, nodes, load, True, readyz)
        load.stop()
        self.assertEqual(load.errors, [], "requests without an answer")
        refused = [o for o in load.other if o[0] != 5]
        self.assertEqual(refused, [], "statuses other than 0 and 5")
        for rid_, (num, _) in sorted(load.acked.items()):
            for node in nodes:
                r, d = self.search_on(node, rid_)
                self.assertEqual((d.get("status"), d.get("phone_no")),
                                 ("IN PROGRESS", num), r.describe())
        r = nodes[2].seed("/check", {"request_id": rid,
                                     "code": pin_of(number)})
        self.assert_seed(r, 0)
        self.assertEqual(readyz, [("down", 503)] * NODES
                         + [("up", 200)] * NODES
                         + [("down", 503)] * NODES
                         + [("up", 200)] * NODES, "/readyz")

    def searches_everywhere(self, nodes, rid, per_node=8):
        """per_node concurrent searches of rid on each node (each HTTP
        thread uses its own reader session): their statuses."""
        out = run_together([
            (lambda n=node: (lambda r: r.data.get("status")
                             if isinstance(r.data, dict) else r.describe())(
                n.seed("/search", {"request_id": rid})))
            for node in nodes for _ in range(per_node)], timeout=60)
        for _, e in out:
            if e is not None:
                raise e
        return [r for r, _ in out]

    def test_sessions_closed_by_a_restart_cost_no_request(self):
        """Every session a node holds is closed by the restart while idle;
        once PostgreSQL is back, the first statement on each finds that out
        and runs again on a new session, so no request after the restart
        gets status 5, reads or writes."""
        pg = self.start_pg()
        nodes = self.start_nodes(pg=pg)
        _, rid = self.seed_request_ok()
        for immediate in (True, False):
            self.assertEqual(self.searches_everywhere(nodes, rid),
                             ["IN PROGRESS"] * NODES * 8, "before")
            pg.restart(immediate=immediate)
            self.assertEqual(self.searches_everywhere(nodes, rid),
                             ["IN PROGRESS"] * NODES * 8,
                             "after the restart (immediate=%s)" % immediate)
            for node in nodes:
                r = node.seed("", {"phone_no": new_number(),
                                   "brand": "After"})
                self.assert_seed(r, 0)


class MigrationTests(ClusterTestCase):

    def secret_file(self):
        d = tempfile.mkdtemp(prefix="kvtest-secret-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "kv.secret")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
        return path

    def fresh_database(self):
        db = postgres.new_database()
        self.addCleanup(postgres.drop_database, db)
        return db

    def assert_applied_once(self, logs):
        applied = applied_migrations(logs)
        self.assertTrue(applied, "no migration applied:\n%s" % logs)
        self.assertEqual(sorted(applied, key=int),
                         sorted(set(applied), key=int),
                         "a migration applied twice:\n%s" % logs)

    def test_nodes_started_together_migrate_once(self):
        db = self.fresh_database()
        secret = self.secret_file()
        self.nodes = [Server(numbers=5, db=db, keys=[], secret_file=secret,
                             name="migrate-n%d" % i) for i in range(NODES)]
        for node in self.nodes:
            self.addCleanup(node.close)
        start_together(self.nodes)
        self.assert_applied_once("".join(n.stderr_text()
                                         for n in self.nodes))
        for node in self.nodes:
            self.assertEqual(node.get("/healthz").status, 200)
        # A key made now works on every node.
        self.nodes[0].create_key("late")
        for node in self.nodes:
            node.keys = self.nodes[0].keys
            self.node = node
            self.seed_request_ok(number=new_number())

    def test_migrate_commands_started_together_migrate_once(self):
        db = self.fresh_database()
        env = clean_env({"secret_file": self.secret_file()})
        cps = run_all([lambda: run_cli(["migrate", "--db", db], env=env)
                       for _ in range(NODES)], timeout=60)
        logs = "".join(cp.stdout + cp.stderr for cp in cps)
        self.assertEqual([cp.returncode for cp in cps], [0] * NODES, logs)
        self.assert_applied_once(logs)
        again = run_cli(["migrate", "--db", db], env=env)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(applied_migrations(again.stdout + again.stderr),
                         [], "migrated twice")

    def test_a_node_with_another_secret_is_refused(self):
        nodes = self.start_nodes()
        odd = Server(numbers=5, db=nodes[0].db, keys=nodes[0].keys,
                     secret_file=self.secret_file(), name="odd-secret")
        self.addCleanup(odd.close)
        with self.assertRaises(AssertionError,
                               msg="a node with another secret started"):
            odd.start()
        self.assertIn("secret", odd.stderr_text())
        odd.failed = False  # refused as it should: no dir to keep
        self.seed_request_ok()


class ClusterCliTests(ClusterTestCase):

    def test_admin_commands_on_postgresql_are_seen_by_every_node(self):
        nodes = self.start_nodes({"fraud_min_volume": 3,
                                  "fraud_min_conversion": 50,
                                  "limit_prefix_digits": 8})
        n0 = nodes[0]
        self.assertTrue(n0.db.startswith("postgresql://"), n0.db)
        cp = n0.cli("check-config", "--db", n0.db)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        cp = n0.cli("migrate", "--db", n0.db)
        self.assertEqual(applied_migrations(cp.stdout + cp.stderr), [])

        key = n0.create_key("cli")  # key 1 of n0
        self.assertIn(key["api_key"], n0.cli("keys", "list", "--db",
                                             n0.db).stdout)
        for node in nodes[1:]:
            node.keys.append(key)
        for node in nodes:
            r = node.seed("", {"phone_no": new_number(), "brand": "Cli"},
                          key=1)
            self.assert_seed(r, 0)
        n0.cli("keys", "revoke", key["api_key"], "--db", n0.db)
        self.assertRegex(n0.cli("keys", "list", "--db", n0.db).stdout,
                         r"%s\s.*revoked" % key["api_key"])
        # Each node hears of the revoke through its listener and drops the
        # key it cached (within 1 s at worst: docs/SCALING.md).
        for node in nodes:
            poll_until(lambda n=node: n.seed(
                "", {"phone_no": new_number(), "brand": "Cli"},
                key=1).data.get("status") == 4, 3,
                "the revoked key refused on every node")

        # Three unconverted requests in one prefix, one per node: the
        # fourth is refused by the prefix's block, on any node.
        for i, node in enumerate(nodes):
            self.assert_seed(node.seed("", {"phone_no": "91981234%04d" % i,
                                            "brand": "Cli"}), 0)
        for i, node in enumerate(nodes):
            r = node.seed("", {"phone_no": "91981234%04d" % (10 + i),
                               "brand": "Cli"})
            self.assert_seed(r, 7)
        self.assertIn("91981234", n0.cli("blocks", "list", "--db",
                                          n0.db).stdout)
        n0.cli("blocks", "lift", "91981234", "--db", n0.db)
        self.assertNotIn("91981234", n0.cli("blocks", "list", "--db",
                                             n0.db).stdout)
        r = nodes[2].seed("", {"phone_no": "919812340020", "brand": "Cli"})
        self.assert_seed(r, 0)

    def test_a_started_node_keeps_no_session_it_does_not_use(self):
        # A reader's session is opened for a statement and its setup is
        # its first: one left with nothing after the setup was opened for
        # nothing and would hold a PostgreSQL backend for the node's life.
        s = Server(name=self._testMethodName, backend="postgres")
        self.addCleanup(s.close)
        s.start()
        self.assertEqual(s.get("/readyz").status, 200)

        def unused():
            return db_query(s.db, "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> "
                            "pg_backend_pid() AND query = "
                            "'SET synchronous_commit = off'")[0][0]

        poll_until(lambda: unused() == 0, 5,
                   "no session left at its setup statement")
        time.sleep(1)
        self.assertEqual(unused(), 0)

    def test_an_admin_command_opens_one_session(self):
        # Each session costs PostgreSQL a process: a command migrates,
        # checks the secret and does its work on one (docs/SCALING.md).
        # A new, empty database: the first command also migrates it and
        # finds no secret file, the two steps that once had sessions of
        # their own.
        pg = postgres.shared()
        db = postgres.new_database()
        name = db.split("?")[0].rsplit("/", 1)[1]
        self.addCleanup(postgres.drop_database, db)
        secret = os.path.join(tempfile.mkdtemp(prefix="kvtest-cli-"), "s")
        self.addCleanup(shutil.rmtree, os.path.dirname(secret), True)

        def sessions():
            # Read from another database, so the reading is not counted.
            return pg.sql("postgres", "SELECT sessions FROM "
                           "pg_stat_database WHERE datname = ?",
                           (name,))[0][0] or 0

        def settled_sessions(at_least):
            # A backend reports its session when it exits, just after the
            # command does.
            poll_until(lambda: sessions() >= at_least, 5,
                       "%d sessions reported" % at_least)
            time.sleep(0.3)
            return sessions()

        before = settled_sessions(0)
        commands = (["keys", "create", "--name", "first"],
                    ["keys", "create"], ["keys", "list"], ["blocks", "list"],
                    ["operator-token"], ["token-key"], ["applications",
                                                        "list"])
        for i, args in enumerate(commands, 1):
            cp = run_cli(args + ["--db", db],
                         settings={"secret_file": secret})
            self.assertEqual(cp.returncode, 0, cp.stderr)
            self.assertEqual(settled_sessions(before + i), before + i,
                             "kookooverify %s" % " ".join(args))


if __name__ == "__main__":
    unittest.main()
