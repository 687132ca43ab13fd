"""Waiting for something to happen and running clients side by side."""

import threading
import time


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
