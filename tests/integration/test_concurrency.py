"""Concurrency: 20 clients requesting the same new number at the same moment
get one verification (one status 0, nineteen status 10 with its id); many
clients with different numbers all succeed, and Requests for many new
numbers at once each get their own id.  Searches of two keys at once each
get the answer they get alone.  Connections opened together are
served by every HTTP thread, not by the one that woke first.
"""

import glob
import http.client
import os
import random
import re
import secrets
import unittest

from harness import (BACKEND, KVTestCase, new_mobile, pin_of, poll_until,
                     run_all, run_together)

THREADS = 20


def read_batch_figures(server, lookup):
    """The count and sum of kookooverify_store_read_batch_size on
    PostgreSQL for `lookup`: statements, and the lookups they made."""
    text = server.metrics().text
    got = []
    for part in ("count", "sum"):
        m = re.search(r'^kookooverify_store_read_batch_size_%s\{backend='
                      r'"postgres",lookup="%s"\} (\S+)$' % (part, lookup),
                      text, re.M)
        got.append(float(m.group(1)) if m else 0.0)
    return got


class ConcurrencyTests(KVTestCase):

    def collect(self, results):
        replies = []
        for r, e in results:
            if e is not None:
                raise e
            replies.append(r)
        return replies

    def summary(self, replies):
        return "\n".join(r.describe() for r in replies)

    def test_same_number_seed(self):
        number = self.s.new_number()
        replies = self.collect(run_together(
            [lambda: self.s.seed("", {"phone_no": number, "brand": "Race"})]
            * THREADS))
        for r in replies:
            self.assert_json_reply(r)
        statuses = sorted(r.data.get("status") for r in replies)
        ids = {r.data.get("request_id") for r in replies}
        if statuses != [0] + [10] * (THREADS - 1) or len(ids) != 1:
            self.fail("expected one status 0 and %d status 10, all with the "
                      "same request_id; got statuses %r and ids %r\n%s"
                      % (THREADS - 1, statuses, ids, self.summary(replies)))
        rid = ids.pop()
        self.assert_request_id(replies[0], rid)
        r = self.s.seed("/check", {"request_id": rid, "code": pin_of(number)})
        self.assert_seed(r, 0)

    def test_same_number_vonage_mixed_forms(self):
        number = self.s.new_number()
        forms = [number, "+" + number, number[2:], "0" + number[2:]]
        fns = []
        for i in range(THREADS):
            form = forms[i % len(forms)]
            if i % 2:
                fns.append(lambda f=form: self.s.vonage(
                    "", {"number": f, "brand": "Race"}))
            else:
                fns.append(lambda f=form: self.s.vonage(
                    "", {"number": f, "brand": "Race"}, via="basic-json"))
        replies = self.collect(run_together(fns))
        for r in replies:
            self.assert_json_reply(r)
        statuses = sorted(r.data.get("status") for r in replies)
        ids = {r.data.get("request_id") for r in replies}
        if statuses != ["0"] + ["10"] * (THREADS - 1) or len(ids) != 1:
            self.fail("expected one status \"0\" and %d status \"10\", all "
                      "with the same request_id; got statuses %r and ids %r"
                      "\n%s" % (THREADS - 1, statuses, ids,
                                self.summary(replies)))

    def test_different_numbers_all_succeed(self):
        numbers = [self.s.new_number() for _ in range(THREADS)]
        replies = self.collect(run_together(
            [lambda n=n: self.s.seed("", {"phone_no": n, "brand": "Many"})
             for n in numbers]))
        for r in replies:
            self.assert_seed(r, 0)
        ids = {r.data["request_id"] for r in replies}
        self.assertEqual(len(ids), THREADS,
                         "expected %d distinct request_ids\n%s"
                         % (THREADS, self.summary(replies)))

    def test_parallel_checks_count_every_attempt(self):
        # 10 wrong checks at once on one verification: exactly 3 are
        # counted (16, 16, 16), the rest see it FAILED (15), never more
        # than 3 attempts and never a success.
        number, rid = self.seed_request_ok()
        bad = "0000" if pin_of(number) != "0000" else "1111"
        replies = self.collect(run_together(
            [lambda: self.s.seed("/check", {"request_id": rid, "code": bad})]
            * 10))
        for r in replies:
            self.assert_json_reply(r)
        statuses = sorted(r.data.get("status") for r in replies)
        if statuses != [15] * 7 + [16] * 3:
            self.fail("expected three 16 and seven 15, got %r\n%s"
                      % (statuses, self.summary(replies)))
        self.assert_seed_search_status(rid, "FAILED")


class SearchRaceTests(KVTestCase):
    """Two keys search at once, each its own verifications, the other
    key's and unknown ids, from many connections: every reply is the one
    the same search gets alone.  On PostgreSQL a node's concurrent
    Searches go to the database together, several keys' in one statement
    (kookooverify_store_read_batch_size): a row must reach its own asker
    and no other key's."""

    nkeys = 2
    CLIENTS = 12
    SEARCHES = 60

    def batch_figures(self):
        return read_batch_figures(self.s, "search")

    def test_concurrent_searches_each_get_their_own_answer(self):
        rids = {0: [], 1: []}
        for key in (0, 1):
            for i in range(4):
                number, rid = self.vonage_request_ok(key=key)
                rids[key].append(rid)
                if i % 2:  # a check to list
                    bad = "0000" if pin_of(number) != "0000" else "1111"
                    self.assert_vonage(self.s.vonage(
                        "/check", {"request_id": rid, "code": bad},
                        key=key), "16")
        unknown = [secrets.token_hex(16) for _ in range(2)]
        every = rids[0] + rids[1] + unknown
        alone = {}
        for key in (0, 1):
            for rid in every:
                [(status, data)] = list(self.s.burst(
                    "/verify/search/json", [{"request_id": rid}], key))
                self.assertEqual(status, 200)
                alone[key, rid] = data
            for rid in rids[key]:
                self.assertEqual(alone[key, rid].get("status"),
                                 "IN PROGRESS", alone[key, rid])
            for rid in rids[1 - key] + unknown:
                self.assertEqual(alone[key, rid].get("status"), "101",
                                 alone[key, rid])

        def client(i):
            key = i % 2
            order = random.Random(i).choices(every, k=self.SEARCHES)
            got = list(self.s.burst("/verify/search/json",
                                    [{"request_id": r} for r in order], key))
            return [(key, rid, status, data)
                    for rid, (status, data) in zip(order, got)]

        batched = False
        for _ in range(5):  # until the node has batched some
            before = self.batch_figures()
            replies = run_all([lambda i=i: client(i)
                               for i in range(self.CLIENTS)], timeout=120)
            for per_client in replies:
                self.assertEqual(len(per_client), self.SEARCHES)
                for key, rid, status, data in per_client:
                    self.assertEqual(status, 200)
                    if data != alone[key, rid]:
                        self.fail("key %d searching %s at once got\n%r\n"
                                  "instead of, alone,\n%r"
                                  % (key, rid, data, alone[key, rid]))
            after = self.batch_figures()
            lookups = after[1] - before[1]
            statements = after[0] - before[0]
            if BACKEND != "postgres":
                self.assertEqual(after, [0.0, 0.0], "a series on SQLite")
                return
            # Every Search of an issued id was a lookup in some batch.
            issued = sum(1 for per_client in replies
                         for _, rid, _, _ in per_client
                         if rid not in unknown)
            self.assertGreaterEqual(lookups, issued)
            if lookups > statements:
                batched = True
                break
        self.assertTrue(batched, "no Search went to PostgreSQL with another")


class RequestRaceTests(KVTestCase):
    """Requests for new numbers from many connections at once, each
    number twice from two of them: every number gets one verification
    (one "0", one "10" with its request id) and no two numbers the same.
    On PostgreSQL a node's concurrent Requests look up their numbers' live
    verifications together, drawing the new ids in the same statement
    (lookup="live"): each answer and id must reach its own asker."""

    CLIENTS = 12
    PER_CLIENT = 40

    def test_concurrent_requests_each_get_their_own_answer(self):
        batched = False
        for _ in range(5):  # until the node has batched some
            before = read_batch_figures(self.s, "live")
            numbers = [new_mobile("9198127")
                       for _ in range(self.CLIENTS * self.PER_CLIENT // 2)]
            # Client i asks for slice i, client i + 1 for the same numbers
            # in another order.
            slices = []
            half = self.CLIENTS // 2
            for i in range(half):
                own = numbers[i * self.PER_CLIENT:(i + 1) * self.PER_CLIENT]
                slices.append(own)
                slices.append(random.Random(i).sample(own, len(own)))

            def client(order):
                got = list(self.s.burst(
                    "/verify/json",
                    [{"number": n, "brand": "Race"} for n in order]))
                return list(zip(order, got))

            replies = run_all([lambda o=o: client(o) for o in slices],
                              timeout=120)
            by_number = {}
            for per_client in replies:
                self.assertEqual(len(per_client), self.PER_CLIENT)
                for number, (status, data) in per_client:
                    self.assertEqual(status, 200, data)
                    by_number.setdefault(number, []).append(
                        (data.get("status"), data.get("request_id")))
            rids = set()
            for number, answers in by_number.items():
                statuses = sorted(st for st, _ in answers)
                ids = {rid for _, rid in answers}
                if statuses != ["0", "10"] or len(ids) != 1:
                    self.fail("number %s asked twice at once got %r"
                              % (number, answers))
                rids |= ids
            self.assertEqual(len(rids), len(numbers),
                             "a request id answered for two numbers")
            for rid in random.Random(0).sample(sorted(rids), 20):
                r = self.s.vonage("/search", {"request_id": rid})
                self.assertEqual(r.data.get("request_id"), rid, r.describe())
                self.assertEqual(r.data.get("status"), "IN PROGRESS",
                                 r.describe())
            after = read_batch_figures(self.s, "live")
            if BACKEND != "postgres":
                self.assertEqual(after, [0.0, 0.0], "a batch on SQLite")
                return
            statements = after[0] - before[0]
            lookups = after[1] - before[1]
            # Every Request looked its number up in some batch.
            self.assertGreaterEqual(lookups, 2 * len(numbers))
            if lookups > statements:
                batched = True
                break
        self.assertTrue(batched, "no Request's lookup went to PostgreSQL "
                        "with another")


class SpreadTests(KVTestCase):
    """libmicrohttpd's workers used to share the listening socket, and the
    first to wake accepted a burst of connections: a pool of keep-alive
    connections then sat on one or two threads of eight, and the server ran
    on one core (src/http_accept.h)."""
    settings = {"threads": 4}
    CONNECTIONS = 16
    ROUNDS = 150

    def worker_runtimes(self):
        """Nanoseconds on a CPU of each of the server's HTTP threads."""
        times = {}
        for task in glob.glob("/proc/%d/task/*" % self.s.proc.pid):
            try:
                with open(os.path.join(task, "comm")) as f:
                    if f.read().strip() != "MHD-worker":
                        continue
                with open(os.path.join(task, "schedstat")) as f:
                    times[task] = int(f.read().split()[0])
            except OSError:
                continue
        return times

    def test_connections_opened_together_use_every_thread(self):
        conns = [http.client.HTTPConnection("127.0.0.1", self.s.port,
                                            timeout=10)
                 for _ in range(self.CONNECTIONS)]
        try:
            for c in conns:  # a burst, as a client pool opens them
                c.connect()
            # A worker takes its name once it runs, which a slow start
            # (sanitizers) may not have reached yet.
            poll_until(lambda: len(self.worker_runtimes()) == 4, 10,
                       "four named HTTP threads",
                       detail=lambda: self.worker_runtimes())
            before = self.worker_runtimes()
            for _ in range(self.ROUNDS):
                for c in conns:
                    c.request("GET", "/healthz")
                    r = c.getresponse()
                    r.read()
                    self.assertEqual(r.status, 200)
            after = self.worker_runtimes()
        finally:
            for c in conns:
                c.close()
        used = {t: after[t] - before[t] for t in before}
        total = sum(used.values())
        # Each thread holds 4 of the 16 connections: a quarter of the work.
        # A thread that holds none only wakes now and then.
        for task, ns in used.items():
            self.assertGreater(ns, total * 0.10,
                               "a thread did %.1f %% of the work: %r"
                               % (100.0 * ns / total, used))


if __name__ == "__main__":
    unittest.main()
