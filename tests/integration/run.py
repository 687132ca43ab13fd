#!/usr/bin/env python3
"""Runs the integration tests (tests/integration/test_*.py) with unittest.

Usage: run.py [-v|-q] [-k PATTERN]... [--exclude NAME]... [--summary FILE]
              [NAME]...
NAME keeps the tests whose id (module.Class.method) contains it, e.g.
`run.py test_seed` or `run.py SeedCheckTests`; -k PATTERN does the same with
fnmatch wildcards; --exclude NAME drops the tests whose id contains it.
--summary FILE appends the closing lines to FILE as well.  The binary is $KOOKOOVERIFY_BIN (default bin/kookooverify).
The store backend is $KOOKOOVERIFY_TEST_BACKEND, sqlite (default) or
postgres (one PostgreSQL started for the run, a database per server).
The last line is "integration (BACKEND): N passed, N failed[, N skipped]",
after one with the wall time; the exit status is 1 when anything failed or
errored.
"""

import argparse
import fnmatch
import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402  (after the sys.path change)


class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

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


def closing(args, line):
    print(line, flush=True)
    if args.summary:
        with open(args.summary, "a") as f:
            f.write(line + "\n")


def on_signal(signum, frame):
    # atexit (harness) kills the servers on the way out.
    sys.exit(128 + signum)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="substring of test ids to run")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only tests whose id matches this pattern")
    ap.add_argument("--exclude", dest="excluded", action="append",
                    default=[], help="drop tests whose id contains this")
    ap.add_argument("--summary", metavar="FILE",
                    help="append the closing line to FILE too")
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
    suite = unittest.TestSuite(tests)
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
    runner = unittest.TextTestRunner(stream=sys.stdout,
                                     verbosity=args.verbosity,
                                     resultclass=CountingResult)
    result = runner.run(suite)
    passed = result.passed + len(result.expectedFailures)
    failed = (len(result.failures) + len(result.errors)
              + len(result.unexpectedSuccesses))
    skipped = len(result.skipped)
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
