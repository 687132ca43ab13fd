#!/usr/bin/env python3
"""Runs the integration tests (tests/integration/test_*.py) with unittest.

Usage: run.py [-v|-q] [-j N] [-k PATTERN]... [--exclude NAME]...
              [--summary FILE] [NAME]...
NAME keeps the tests whose id (module.Class.method) contains it, e.g.
`run.py test_seed` or `run.py SeedCheckTests`; -k PATTERN does the same with
fnmatch wildcards; --exclude NAME drops the tests whose id contains it.
--summary FILE appends the closing lines to FILE as well.  The binary is
$KOOKOOVERIFY_BIN (default bin/kookooverify).

-j N (default $KOOKOOVERIFY_TEST_JOBS, else 1) runs the test classes in N
worker processes of this script, each class whole in one worker (its
setUpClass shared by its tests), the slow classes first; each class's
output is printed when it ends, with its wall time.  The tests mostly wait
(on the servers' timers, on KooKoo's simulated delays), so more workers
than cores pay.  Each worker has its own servers and, on PostgreSQL, its
own PostgreSQL.
The store backend is $KOOKOOVERIFY_TEST_BACKEND, sqlite (default) or
postgres (one PostgreSQL started for the run, a database per server).
The last line is "integration (BACKEND): N passed, N failed[, N skipped]",
after one with the wall time; the exit status is 1 when anything failed or
errored.
"""

import argparse
import contextlib
import fnmatch
import io
import json
import os
import selectors
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402  (after the sys.path change)


class CountingResult(unittest.TextTestResult):
    """Counts the passes and keeps each test's wall time (setUpClass
    and the like not included) as [seconds, id]."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0
        self.durations = []

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.durations.append([time.monotonic() - self._started, test.id()])

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def selected(test, names, patterns, excluded):
    tid = test.id()
    if any(n in tid for n in excluded):
        return False
    if names and not any(n in tid for n in names):
        return False
    if patterns and not any(fnmatch.fnmatchcase(tid, p if "*" in p
                                                 else "*%s*" % p)
                            for p in patterns):
        return False
    return True


def group_name(test):
    """A test's class, the unit a worker runs whole; a module that did not
    import is a group of its own."""
    if test.__class__.__name__ in ("_FailedTest", "ModuleImportFailure"):
        return test.id()
    return "%s.%s" % (type(test).__module__, type(test).__name__)


# A class of more tests than this is run as several groups, each with its
# own setUpClass (a server start), so that a long class does not keep one
# worker busy while the others are done.
CHUNK = 6

# The classes that took longest, slowest first, started first for the same
# reason (a million-row store is built once for test_migrate's three).
SLOW_FIRST = (
    "test_migrate.MigrateTests",
    "test_limits.LimitTests",
    "test_faults.FaultTests",
    "test_delivery.DeliveryTests",
    "test_attacks.ParameterCapTests",
    "test_callbacks.CallbackTests",
    "test_openapi.SpecDocumentTests",
    "test_copy_store.CopyStoreTests",
)


def groups_of(tests):
    """The tests by class, in discovery order, a class of more than CHUNK
    split in equal parts: {name: [test, ...]}."""
    classes = {}
    for t in tests:
        classes.setdefault(group_name(t), []).append(t)
    groups = {}
    for name, members in classes.items():
        parts = -(-len(members) // CHUNK)
        for i in range(parts):
            part = members[i::parts]
            groups[name if parts == 1
                   else "%s (%d/%d)" % (name, i + 1, parts)] = part
    return groups


def schedule(groups):
    """The order groups are handed out: SLOW_FIRST's, then the larger."""
    def key(g):
        cls = g.split(" ")[0]
        slow = SLOW_FIRST.index(cls) if cls in SLOW_FIRST else len(SLOW_FIRST)
        return (slow, -len(groups[g]))
    return sorted(groups, key=key)


def run_suite(tests, verbosity, stream, durations):
    """Runs tests, appending each one's [seconds, id] to durations;
    returns (passed, failed, skipped)."""
    runner = unittest.TextTestRunner(stream=stream, verbosity=verbosity,
                                     resultclass=CountingResult)
    result = runner.run(unittest.TestSuite(tests))
    durations.extend(result.durations)
    return (result.passed + len(result.expectedFailures),
            len(result.failures) + len(result.errors)
            + len(result.unexpectedSuccesses),
            len(result.skipped))


# The slowest tests are listed before the closing lines, so that a test
# that grows slow shows in every run's log.
SLOWEST_SHOWN = 10


def print_slowest(durations):
    print("slowest tests:")
    for seconds, tid in sorted(durations, reverse=True)[:SLOWEST_SHOWN]:
        print("  %6.1f s  %s" % (seconds, tid))


def closing(args, line):
    print(line, flush=True)
    if args.summary:
        with open(args.summary, "a") as f:
            f.write(line + "\n")


def on_signal(signum, frame):
    # KeyboardInterrupt, not SystemExit: unittest records any other
    # exception raised in a test as that test's error and goes on with
    # the next, so the run would outlive its SIGTERM.  atexit (harness)
    # kills the servers on the way out.
    raise KeyboardInterrupt("signal %d" % signum)


def worker(args, groups):
    """-j's worker: runs the groups named on stdin, one per line, and
    answers each with a JSON line on --worker-fd (its output, counts and
    wall time); exits at EOF, stopping its servers on the way out."""
    with os.fdopen(args.worker_fd, "w") as out:
        for line in iter(sys.stdin.readline, ""):
            name = line.strip()
            buf = io.StringIO()
            started = time.monotonic()
            durations = []
            with contextlib.redirect_stdout(buf), \
                    contextlib.redirect_stderr(buf):
                counts = run_suite(groups[name], args.verbosity, buf,
                                   durations)
            out.write(json.dumps({
                "group": name, "counts": counts, "output": buf.getvalue(),
                "seconds": time.monotonic() - started,
                "durations": durations}) + "\n")
            out.flush()
    return 0


class Workers:
    """-j N: N copies of this script in worker mode, each given one group
    at a time, the next when it answers."""

    def __init__(self, args, n):
        self.procs = []
        self.sel = selectors.DefaultSelector()
        argv = [sys.executable, os.path.abspath(__file__),
                "-v" if args.verbosity == 2 else "-q"]
        argv += args.names
        for p in args.patterns:
            argv += ["-k", p]
        for e in args.excluded:
            argv += ["--exclude", e]
        # A worker outlives no runner: SIGTERM (a clean stop of its
        # servers) when this process dies.
        prefix = (harness.DEATHSIG_PREFIX[:2] + ["TERM"]
                  if harness.DEATHSIG_PREFIX else [])
        for _ in range(n):
            r, w = os.pipe()
            proc = subprocess.Popen(prefix + argv + ["--worker-fd", str(w)],
                                    stdin=subprocess.PIPE, pass_fds=(w,),
                                    text=True)
            os.close(w)
            proc.reader = os.fdopen(r)
            proc.group = None
            self.procs.append(proc)
            self.sel.register(proc.reader, selectors.EVENT_READ, proc)

    def give(self, proc, name):
        proc.group = name
        if name is None:
            proc.stdin.close()
        else:
            proc.stdin.write(name + "\n")
            proc.stdin.flush()

    def answers(self):
        """Yields (proc, answer), answer None when proc died holding a
        group; ends when every worker has exited."""
        while self.sel.get_map():
            for key, _ in self.sel.select():
                proc = key.data
                line = proc.reader.readline()
                if line:
                    yield proc, json.loads(line)
                    continue
                self.sel.unregister(proc.reader)
                proc.reader.close()
                proc.wait()
                if proc.group is not None:
                    yield proc, None

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            proc.wait()


def run_parallel(args, groups, jobs, durations):
    """Runs the groups in jobs workers, gathering their tests' [seconds,
    id] into durations; returns (passed, failed, skipped)."""
    todo = schedule(groups)
    total = [0, 0, 0]
    workers = Workers(args, min(jobs, len(todo)))
    try:
        for proc in workers.procs:
            workers.give(proc, todo.pop(0) if todo else None)
        for proc, ans in workers.answers():
            if ans is None:
                print("%s: the worker died (status %s) running it"
                      % (proc.group, proc.returncode), flush=True)
                total[1] += len(groups[proc.group])
                continue
            passed, failed, skipped = ans["counts"]
            out = ans["output"]
            if not failed:  # the header below says it all
                out = out[:out.rfind("\n" + "-" * 70 + "\nRan ") + 1]
            sys.stdout.write(out)
            print("== %s: %d passed, %d failed, %d skipped in %.1f s"
                  % (ans["group"], passed, failed, skipped, ans["seconds"]),
                  flush=True)
            for i, c in enumerate(ans["counts"]):
                total[i] += c
            durations.extend(ans["durations"])
            workers.give(proc, todo.pop(0) if todo else None)
    finally:
        workers.stop()
    return tuple(total)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="substring of test ids to run")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only tests whose id matches this pattern")
    ap.add_argument("--exclude", dest="excluded", action="append",
                    default=[], help="drop tests whose id contains this")
    ap.add_argument("--summary", metavar="FILE",
                    help="append the closing line to FILE too")
    ap.add_argument("-j", dest="jobs", type=int,
                    default=int(os.environ.get("KOOKOOVERIFY_TEST_JOBS")
                                or 1),
                    help="worker processes (default 1: none)")
    ap.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)
    ap.add_argument("-v", dest="verbosity", action="store_const", const=2,
                    default=2)
    ap.add_argument("-q", dest="verbosity", action="store_const", const=1)
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    loader = unittest.TestLoader()
    discovered = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = []
    for t in flatten(discovered):
        # A module that does not import shows up as a failing test: keep it.
        if t.__class__.__name__ in ("_FailedTest", "ModuleImportFailure") \
                or selected(t, args.names, args.patterns, args.excluded):
            tests.append(t)
    if args.worker_fd is not None:
        return worker(args, groups_of(tests))

    head = "integration (%s)" % harness.BACKEND
    if not tests:
        print("%s: no test matches %s"
              % (head, " ".join(args.names
                                + ["-k " + p for p in args.patterns])))

    print("%s: binary %s" % (head, harness.BIN), flush=True)
    try:
        harness.require_binary()
    except RuntimeError as e:
        print(str(e), flush=True)
        closing(args, "%s: 0 passed, %d failed" % (head, max(1, len(tests))))
        return 1

    started = time.monotonic()
    durations = []
    if args.jobs > 1 and tests:
        passed, failed, skipped = run_parallel(args, groups_of(tests),
                                               args.jobs, durations)
    else:
        passed, failed, skipped = run_suite(tests, args.verbosity,
                                            sys.stdout, durations)
    print_slowest(durations)
    line = "%s: %d passed, %d failed" % (head, passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    sys.stdout.flush()
    closing(args, "%s: wall time %.0f s" % (head,
                                            time.monotonic() - started))
    closing(args, line)
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    sys.exit(main())
