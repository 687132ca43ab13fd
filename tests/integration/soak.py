#!/usr/bin/env python3
"""Crash soak: load, kill -9 at random moments, restart, lose nothing.

Usage: soak.py [--kills N] [--seconds S] [--threads T] [--rate R]
               [--deadline D] [--seed X] [-v]

Starts kookoo-sim and a server wired to it (short timings, fixed port and
database), then runs T client threads (default 4, about R operations a
second each, default 40) for S seconds: Verify Requests for new numbers in
both dialects, one wrong check per verification at most, checks with the
PIN read from the simulator's SMS, and searches.
Meanwhile the server gets SIGKILL N times (default 20), each after a random
0.3-1.0 s of uptime (plus a random pause when the run is long enough to
spread the kills over it), and is restarted on the same port and database.

After the last restart, within D seconds (default 30), every acknowledged
request (status 0) must be searchable, must have its first SMS in the
simulator's inbox (or a final SMS event), every acknowledged check must be
in checks[] and every acknowledged success must still be SUCCESS.  No
server run may crash on its own or report a sanitizer error.  The last line
is "soak: N passed, N failed" (one per acknowledged verification, plus one
failure per server crash or sanitizer report); the exit status is 1 on any
failure.  Not part of run.py (its name does not match test_*.py): `make
soak` and `make soak-ci` run it.  Binaries: $KOOKOOVERIFY_BIN and
$KOOKOO_SIM_BIN, as for run.py.
"""

import argparse
import http.client
import itertools
import json
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402  (after the sys.path change)
from harness import Server, Sim, free_port, sanitizer_report  # noqa: E402

HTTP_TIMEOUT = 3.0
# Lifetimes: the seed dialect's default workflow (SMS, a call 3 s later)
# lives pin_expiry = LIFETIME s; Vonage workflows 1 and 6 get steps of
# VONAGE_WAIT s, so they live at least as long.  A verification older than
# LIFETIME may have expired: "not found" is then no failure.
LIFETIME = 900
VONAGE_WAIT = "900"
SMS_PIN_RE = re.compile(r"code: (\d{4,10})\.")
# Non-test Indian mobiles, one per request.  The simulator keeps the
# inboxes of 10000 numbers: past NUMBERS_MAX the clients only check and
# search.
NUMBERS_MAX = 9000
_numbers = itertools.count(1)
_numbers_lock = threading.Lock()


def new_number():
    """A number never used before in this run, or None when they ran out."""
    with _numbers_lock:
        i = next(_numbers)
    return "91981%07d" % i if i <= NUMBERS_MAX else None


def call(port, path, params, timeout=HTTP_TIMEOUT):
    """GET path?params; returns the parsed JSON reply, or None when the
    server was not there to answer (killed, restarting) or the reply was
    cut short."""
    url = path + "?" + urllib.parse.urlencode(params)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", url)
        resp = conn.getresponse()
        raw = resp.read()
        if resp.status != 200:
            return {"_http": resp.status, "_raw": raw[:300]}
        return json.loads(raw.decode("utf-8"))
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()


class Verification:
    """What the server acknowledged about one verification."""

    def __init__(self, rid, number, dialect):
        self.rid = rid
        self.number = number
        self.dialect = dialect
        self.created = time.monotonic()
        self.wrong_sent = False    # a wrong check was sent (at most one)
        self.right_sent = False    # the right code was sent
        self.busy = False          # a client thread is checking it
        self.checks_acked = 0      # checks answered as counted
        self.success_acked = False


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.acked = []            # Verification, in acknowledgement order
        self.failures = []         # (what, detail)
        self.counts = dict.fromkeys(
            ("requests", "acked", "unanswered", "checks", "searches",
             "inbox"), 0)
        self.stop_load = threading.Event()
        self.sim = None
        self.server = None
        self.port = None
        self.kills = 0
        self.crashes = 0

    # -- bookkeeping ----------------------------------------------------------

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] += n

    def fail(self, what, detail):
        with self.lock:
            self.failures.append((what, detail))

    def log(self, msg):
        if self.args.verbose:
            print("soak: %s" % msg, flush=True)

    def creds(self):
        return self.server.creds(0)

    # -- the clients ----------------------------------------------------------

    def op_request(self, rng):
        number = new_number()
        if number is None:
            return
        dialect = rng.choice(("seed", "seed", "vonage"))
        if dialect == "seed":
            d = call(self.port, "/kookooverify",
                     dict(self.creds(), phone_no=number, brand="Soak"))
        else:
            d = call(self.port, "/verify/json",
                     dict(self.creds(), number=number, brand="Soak",
                          workflow_id=rng.choice(("1", "6")),
                          next_event_wait=VONAGE_WAIT,
                          pin_expiry=VONAGE_WAIT))
        self.count("requests")
        if d is None:
            self.count("unanswered")
            return
        st = d.get("status")
        if st in (0, "0") and d.get("request_id"):
            with self.lock:
                self.acked.append(Verification(d["request_id"], number,
                                               dialect))
                self.counts["acked"] += 1
        elif "_http" in d or st not in (5, "5"):
            # 5 (internal error) may come from a server being killed;
            # anything else for a new, valid number is wrong.
            self.fail("request answered %r" % (st,),
                      "%s %s" % (number, d))

    def pick(self, rng, pred, claim=False):
        """A random acknowledged verification that pred accepts, or None.
        claim: one no other thread is checking, marked busy until
        release(), so that two checks of one verification never overlap
        (two threads sending the right code, or a wrong one racing it,
        would see "verified already" for a reason of the client's own)."""
        with self.lock:
            if not self.acked:
                return None
            for _ in range(8):
                v = self.acked[rng.randrange(len(self.acked))]
                if pred(v) and not (claim and v.busy):
                    v.busy = v.busy or claim
                    return v
        return None

    def release(self, v):
        with self.lock:
            v.busy = False

    @staticmethod
    def excused(v, d):
        """An answer that is no failure although not the expected one: an
        internal error (5), or "not found" (6) once the verification may
        have expired."""
        st = d.get("status")
        return st in (5, "5") or (st in (6, "6") and
                                  time.monotonic() - v.created
                                  > LIFETIME - 10)

    def op_wrong_check(self, rng):
        v = self.pick(rng, lambda v: not v.wrong_sent and not v.right_sent,
                      claim=True)
        if v is None:
            return
        try:
            self.wrong_check(v)
        finally:
            self.release(v)

    def wrong_check(self, v):
        v.wrong_sent = True  # even if unanswered: one wrong code at most
        d = call(self.port, "/kookooverify/check",
                 dict(self.creds(), request_id=v.rid, code="0000000000"))
        self.count("checks")
        if d is None:
            return
        if d.get("status") == 16:
            with self.lock:
                v.checks_acked += 1
        elif not self.excused(v, d):
            self.fail("wrong code answered %r" % d.get("status"),
                      "%s %s" % (v.rid, d))

    def op_right_check(self, rng):
        v = self.pick(rng, lambda v: not v.right_sent, claim=True)
        if v is None:
            return
        try:
            self.right_check(v)
        finally:
            self.release(v)

    def right_check(self, v):
        try:
            box = self.sim.inbox(v.number)
        except Exception as e:  # the simulator never restarts: a failure
            self.fail("kookoo-sim inbox", repr(e))
            return
        self.count("inbox")
        pins = [m.group(1) for m in (SMS_PIN_RE.search(s["message"])
                                     for s in box["sms"]) if m]
        if not pins:
            return
        v.right_sent = True
        if v.dialect == "seed":
            d = call(self.port, "/kookooverify/check",
                     dict(self.creds(), request_id=v.rid, code=pins[-1]))
            ok = d is not None and d.get("status") == 0
        else:
            d = call(self.port, "/verify/check/json",
                     dict(self.creds(), request_id=v.rid, code=pins[-1]))
            ok = d is not None and d.get("status") == "0"
        self.count("checks")
        if d is None:
            return
        if ok:
            with self.lock:
                v.checks_acked += 1
                v.success_acked = True
        elif not self.excused(v, d):
            self.fail("the SMS's PIN was refused",
                      "%s %s: %s" % (v.rid, pins, d))

    def op_search(self, rng):
        v = self.pick(rng, lambda v: True)
        if v is None:
            return
        if rng.random() < 0.5:
            d = call(self.port, "/kookooverify/search",
                     dict(self.creds(), request_id=v.rid))
        else:
            d = call(self.port, "/verify/search/json",
                     dict(self.creds(), request_id=v.rid))
        self.count("searches")
        if d is not None and d.get("request_id") != v.rid and \
                d.get("status") not in (5, "5"):
            self.fail("an acknowledged request was not found",
                      "%s: %s" % (v.rid, d))

    def rng_pause(self, rng):
        """The pause after each operation: --rate operations per second
        per client thread, on average."""
        return rng.uniform(0, 2.0 / self.args.rate)

    def client(self, i):
        rng = random.Random(self.rng.random())
        ops = ((0.45, self.op_request), (0.15, self.op_wrong_check),
               (0.15, self.op_right_check), (0.25, self.op_search))
        while not self.stop_load.is_set():
            x = rng.random()
            for p, op in ops:
                if x < p:
                    break
                x -= p
            try:
                op(rng)
            except Exception as e:  # a bug in the soak itself: report it
                self.fail("client %d raised" % i, repr(e))
                time.sleep(0.1)
            time.sleep(self.rng_pause(rng))

    # -- the killer -----------------------------------------------------------

    def restart(self):
        t0 = time.monotonic()
        self.server.restart()  # same port and database
        self.log("restarted in %.2f s" % (time.monotonic() - t0))

    def kill_loop(self, deadline):
        """Kills and restarts the server args.kills times before deadline,
        spreading the kills over the time there is."""
        for left in range(self.args.kills, 0, -1):
            uptime = self.rng.uniform(0.3, 1.0)
            # A long run spreads its kills: a random pause on top.
            spare = deadline - time.monotonic() - left * 1.2
            if spare > 0:
                uptime += self.rng.uniform(0, 2 * spare / left)
            end = time.monotonic() + uptime
            while time.monotonic() < end:
                if not self.server.alive():
                    break
                time.sleep(0.02)
            if not self.server.alive():
                self.crashes += 1
                self.fail("the server exited on its own", "status %s\n%s"
                          % (self.server.proc.returncode,
                             self.server.stderr_text()[-3000:]))
                self.server.reap()
                self.restart()
                continue
            self.server.kill9()
            self.kills += 1
            self.log("kill %d after %.2f s" % (self.kills, uptime))
            self.restart()

    # -- the checks after the run ---------------------------------------------

    def search(self, v):
        d = call(self.port, "/kookooverify/search",
                 dict(self.creds(), request_id=v.rid), timeout=10)
        return d

    @staticmethod
    def sms_event(events):
        return any(e.get("channel") == "sms" and e.get("result") in
                   ("accepted", "refused", "failed", "skipped")
                   for e in events or [])

    def verify_all(self):
        """Checks every acknowledged verification; returns the failed ones
        as {rid: reason}."""
        deadline = time.monotonic() + self.args.deadline
        pending = {v.rid: v for v in self.acked}
        bad = {}
        while pending:
            for rid, v in list(pending.items()):
                d = self.search(v)
                if d is None or d.get("request_id") != rid:
                    bad[rid] = "not searchable after the last restart: %s" % d
                    continue
                checks = d.get("checks") or []
                if len(checks) < v.checks_acked:
                    bad[rid] = ("%d checks acknowledged, %d in checks[]: %s"
                                % (v.checks_acked, len(checks), d))
                    del pending[rid]
                    continue
                if v.success_acked and d.get("status") != "SUCCESS":
                    bad[rid] = "acknowledged SUCCESS, search says %s" % d
                    del pending[rid]
                    continue
                box = self.sim.inbox(v.number)
                if box["sms"] or self.sms_event(d.get("events")):
                    bad.pop(rid, None)
                    del pending[rid]
                    continue
                bad[rid] = ("no SMS in the inbox and no SMS event within "
                            "%.0f s of the last restart: search %s"
                            % (self.args.deadline, d))
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        return bad

    def sanitizer_reports(self):
        out = []
        for p in self.server.stderr_paths:
            try:
                with open(p, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            if sanitizer_report(text):
                out.append((p, text[-4000:]))
        return out

    # -- the run --------------------------------------------------------------

    def run(self):
        self.sim = Sim("soak-sim").start()
        self.port = free_port()
        settings = harness.sim_settings(
            self.sim, self.port, pin_expiry=LIFETIME, next_event_wait=3,
            send_rate=1000, job_workers=4, job_lease=2,
            kookoo_timeout_ms=1000, resend_cooldown=0)
        self.server = Server(settings, nkeys=1, numbers=1, name="soak",
                             port=self.port)
        self.server.start()
        print("soak: %s, %d kills over %.0f s, %d client threads, seed %s"
              % (harness.BIN, self.args.kills, self.args.seconds,
                 self.args.threads, self.args.seed), flush=True)
        t0 = time.monotonic()
        threads = [threading.Thread(target=self.client, args=(i,),
                                    daemon=True)
                   for i in range(self.args.threads)]
        for t in threads:
            t.start()
        try:
            self.kill_loop(t0 + self.args.seconds)
            # The rest of the run on the last server, under load.
            while time.monotonic() < t0 + self.args.seconds:
                time.sleep(0.05)
        finally:
            self.stop_load.set()
            for t in threads:
                t.join(timeout=10)
        t_load = time.monotonic() - t0
        print("soak: load %.1f s: %s; %d kills"
              % (t_load, ", ".join("%s %d" % kv for kv in
                                   self.counts.items()), self.kills),
              flush=True)
        if not self.server.alive():
            self.crashes += 1
            self.fail("the server exited on its own after the last restart",
                      self.server.stderr_text()[-3000:])
            self.server.reap()
            self.restart()
        bad = self.verify_all()
        st = self.sim.stats()
        print("soak: kookoo-sim saw: sms %s, calls %s, ivr %s, callbacks %s"
              % (st.get("sms"), st.get("call"), st.get("ivr"),
                 st.get("callback")), flush=True)
        dup = 0
        for v in self.acked:
            if v.rid not in bad and len(self.sim.inbox(v.number)["sms"]) > 1:
                dup += 1
        return bad, dup

    def stop_all(self):
        """Stops both programs (SIGTERM); an unclean stop is a failure."""
        for what, prog in (("server", self.server), ("kookoo-sim",
                                                     self.sim)):
            if prog is None:
                continue
            try:
                prog.stop()
            except AssertionError as e:
                self.fail("%s did not stop cleanly" % what, str(e)[-3000:])

    def cleanup(self, keep):
        """Removes the temp dirs, or keeps them (and says so) after a
        failure."""
        for prog in (self.server, self.sim):
            if prog is not None:
                prog.failed = prog.failed or keep or bool(self.failures)
                prog.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0,
                    help="length of the load (default 60)")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--rate", type=float, default=40.0,
                    help="operations per second per client thread, about "
                    "(default 40; 45%% of them are new requests)")
    ap.add_argument("--deadline", type=float, default=30.0,
                    help="seconds after the load for every SMS to arrive")
    ap.add_argument("--seed", type=int, default=None,
                    help="random seed (default: random, printed)")
    ap.add_argument("-v", dest="verbose", action="store_true")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)

    def on_signal(signum, frame):
        sys.exit(128 + signum)  # atexit (harness) kills the children
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    soak = Soak(args)
    bad, dup = {}, 0
    try:
        try:
            harness.require_binary()
            bad, dup = soak.run()
        except (AssertionError, RuntimeError) as e:
            soak.fail("setup or restart", str(e)[-3000:])
        finally:
            soak.stop_all()
        # After the clean stop: LeakSanitizer reports at exit.
        for path, text in (soak.sanitizer_reports() if soak.server
                           else []):
            soak.fail("sanitizer report in %s" % os.path.basename(path),
                      text)
    finally:
        soak.cleanup(keep=bool(bad))

    for rid, why in list(bad.items())[:20]:
        print("soak: LOST %s: %s" % (rid, why[:1500]), flush=True)
    if len(bad) > 20:
        print("soak: ... and %d more" % (len(bad) - 20))
    for what, detail in soak.failures[:20]:
        print("soak: FAIL %s: %s" % (what, detail[:3000]), flush=True)
    if len(soak.failures) > 20:
        print("soak: ... and %d more failures" % (len(soak.failures) - 20))
    passed = len(soak.acked) - len(bad)
    failed = len(bad) + len(soak.failures)
    print("soak: %d acknowledged verifications kept through %d kills; "
          "%d got more than one SMS (at-least-once delivery)"
          % (passed, soak.kills, dup), flush=True)
    if soak.kills < args.kills:
        failed += 1
        print("soak: only %d of %d kills happened" % (soak.kills,
                                                      args.kills))
    print("soak: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed or not soak.acked else 0


if __name__ == "__main__":
    sys.exit(main())
