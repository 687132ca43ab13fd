"""Limits and fraud figures that hold for the cluster, not per node (issue
13): three nodes on one PostgreSQL database, each request through another
node.  With limits kept in each node's memory every one of these would let
the last request through, since no node alone saw enough.

- the per-number limit counts a number's requests on every node, and a
  burst for one number across the nodes counts once (the requests that lose
  the race to the live verification count against nothing);
- the per-prefix limit counts a range's requests on every node, and not
  those that find the number's verification live; a busy range's tokens
  are taken in batches that still cover every request served;
- the conversion rule blocks a prefix on the cluster's figures, and the
  block holds on every node;
- a number's resend backoff grows with its resends on every node, and
  outlives its verification there too.

Nothing is sent: the nodes have no KooKoo URL, and the numbers are real
mobiles (test numbers are exempt from these limits).
"""

import time
import unittest

from harness import db_query, run_all
from test_cluster import ClusterTestCase

# A range of its own: 8-digit prefix 91981261.
BASE = 919812610000


def number(i):
    return str(BASE + i)


class ClusterLimitTests(ClusterTestCase):

    def request_on(self, node, num):
        """A seed request for num through node; returns the reply."""
        return node.seed("", {"phone_no": num, "brand": "Lim"})

    def status_on(self, node, num):
        return self.assert_json_reply(self.request_on(node, num)).get(
            "status")

    def assert_throttled(self, reply):
        data = self.assert_json_reply(reply)
        if data.get("status") != 1:
            self.fail_reply(reply, "expected status 1 (throttled)")
        self.assertGreaterEqual(int(reply.headers.get("Retry-After", "0")),
                                1, reply.describe())

    def test_a_numbers_limit_counts_its_requests_on_every_node(self):
        nodes = self.start_nodes({"limit_number_max": 2,
                                  "limit_number_window": 600,
                                  "cancel_min_age": 0})
        num = number(1)
        for node in nodes[:2]:
            data = self.assert_json_reply(self.request_on(node, num))
            self.assertEqual(data.get("status"), 0, data)
            cancel = node.seed("/control", {"request_id": data["request_id"],
                                            "cmd": "cancel"})
            self.assertEqual(self.assert_json_reply(cancel).get("status"), 0,
                             cancel.describe())
        # The third node never saw this number, and still refuses it.
        self.assert_throttled(self.request_on(nodes[2], num))
        # Another number is not affected.
        self.assertEqual(self.status_on(nodes[2], number(2)), 0)

    def test_a_burst_for_one_number_on_every_node_counts_once(self):
        nodes = self.start_nodes({"limit_number_max": 2,
                                  "limit_number_window": 600,
                                  "cancel_min_age": 0})
        num = number(5)
        replies = run_all([lambda n=n: self.request_on(n, num)
                           for n in nodes * 10])
        statuses = sorted(self.assert_json_reply(r).get("status")
                          for r in replies)
        ids = {r.data.get("request_id") for r in replies}
        self.assertEqual((statuses, len(ids)), ([0] + [10] * 29, 1),
                         "one verification, the other 29 answered with it")
        # The burst took one of the number's two tokens: one more request
        # is served, on any node, and the one after is refused.
        for node in nodes[:2]:
            cancel = node.seed("/control", {"request_id": ids.pop(),
                                            "cmd": "cancel"})
            self.assertEqual(self.assert_json_reply(cancel).get("status"), 0,
                             cancel.describe())
            if node is nodes[0]:
                data = self.assert_json_reply(self.request_on(nodes[1], num))
                self.assertEqual(data.get("status"), 0, data)
                ids.add(data["request_id"])
        self.assert_throttled(self.request_on(nodes[2], num))

    def test_a_prefixs_limit_counts_its_requests_on_every_node(self):
        nodes = self.start_nodes({"limit_prefix_per_hour": 3,
                                  "limit_prefix_digits": 8})
        for i, node in enumerate(nodes):
            self.assertEqual(self.status_on(node, number(10 + i)), 0)
        for node in nodes:
            self.assert_throttled(self.request_on(node, number(20)))
        # Another range is served.
        self.assertEqual(self.status_on(nodes[0], "919876540001"), 0)

    def test_a_prefixs_limit_spares_requests_for_a_live_number(self):
        # Without the conversion rule a request's prefix token is taken
        # in the statement that looks for the number's live verification:
        # a request that finds one takes none, on whichever node.
        nodes = self.start_nodes({"limit_prefix_per_hour": 2,
                                  "limit_prefix_digits": 8,
                                  "fraud_min_volume": 0})
        self.assertEqual(self.status_on(nodes[0], number(30)), 0)
        for node in nodes:
            self.assertEqual(self.status_on(node, number(30)), 10)
        self.assertEqual(self.status_on(nodes[1], number(31)), 0)
        for node in nodes:
            self.assert_throttled(self.request_on(node, number(32)))
        # The live numbers still get their answer, not a throttle.
        self.assertEqual(self.status_on(nodes[2], number(31)), 10)

    def assert_busy_range_takes_batches(self, settings, base):
        """300 requests of the range of `base` (its 8 digits) on two nodes:
        every one served paid a token of the range's bucket, the nodes took
        few more, and the range's row was updated far less than once a
        request."""
        # 10,000 an hour: a node's batch up to 10 tokens (a thousandth),
        # one token every 360 ms, so these requests keep the bucket's
        # time ahead of the clock and each token taken shows in it, and a
        # first reply comes less than a token after its take: the nodes'
        # connections are opened first, by requests of another range.
        nodes = self.start_nodes(dict({"limit_prefix_per_hour": 10000,
                                       "limit_prefix_digits": 8},
                                      **settings))
        step_us, workers, each = 360000, 6, 50
        run_all([lambda i=i: self.request_on(nodes[i % 2],
                                             str(919812640000 + i))
                 for i in range(16)])
        started_us = time.time() * 1e6
        replied_us = []

        def worker(w):
            statuses = []
            for i in range(each):
                num = str(base + w * each + i)
                data = self.assert_json_reply(
                    self.request_on(nodes[i % 2], num))
                replied_us.append(time.time() * 1e6)
                statuses.append(data.get("status"))
            return statuses
        statuses = sum(run_all([lambda w=w: worker(w)
                                for w in range(workers)], timeout=120), [])
        self.assertEqual(statuses, [0] * workers * each)
        served = len(statuses)
        # A node's backends report their counters when they exit.
        for node in nodes:
            node.stop()
        (tat_us,), = db_query(self.node.db, "SELECT tat_us FROM limits "
                              "WHERE name = 'prefix' AND key = ?",
                              (str(base)[:8],))
        (updates,), = db_query(self.node.db, "SELECT n_tup_upd FROM "
                               "pg_stat_user_tables WHERE relname = "
                               "'limits'")
        # Every request served spent a token the bucket gave.
        self.assertGreaterEqual((int(tat_us) - min(replied_us)) / step_us,
                                served - 1)
        # What the two nodes took beyond that is what they still held, or
        # dropped unspent after two windows: a small part of it.
        self.assertLess((int(tat_us) - started_us) / step_us, served * 4 / 3)
        # Without the batches the range's row is updated once a request.
        self.assertLess(int(updates), served // 2)

    def test_a_busy_range_takes_its_tokens_in_batches(self):
        # The token in the statement that looks for the live verification.
        self.assert_busy_range_takes_batches({"fraud_min_volume": 0},
                                             919812620000)

    def test_a_busy_range_takes_batches_with_the_fraud_rules_on(self):
        # The token in a statement of its own, after the range's figures
        # (counted, and never low enough to block at 0 %).
        self.assert_busy_range_takes_batches({"fraud_min_volume": 1,
                                              "fraud_min_conversion": 0},
                                             919812630000)

    def test_low_conversion_on_the_cluster_blocks_on_every_node(self):
        nodes = self.start_nodes({"fraud_min_volume": 3,
                                  "fraud_min_conversion": 50,
                                  "limit_prefix_digits": 8})
        for i, node in enumerate(nodes):
            self.assertEqual(self.status_on(node, number(100 + i)), 0)
        # The 4th unconverted request in the range is refused, and says
        # why, wherever it arrives.
        r = self.request_on(nodes[0], number(110))
        data = self.assert_json_reply(r)
        self.assertEqual(data.get("status"), 7, r.describe())
        self.assertIn("Number blocked: conversion below 50% over 3 "
                      "requests", data.get("error_text", ""))
        for node in nodes[1:]:
            self.assertEqual(self.status_on(node, number(111)), 7)
        # Another range is served.
        self.assertEqual(self.status_on(nodes[1], "919876540002"), 0)

    def resend_on(self, node, rid):
        """A seed resend through node: (status, its wait in seconds)."""
        r = node.seed("/control", {"request_id": rid, "cmd": "resend"})
        data = self.assert_json_reply(r)
        if data.get("status") == 0:
            return 0, int(data.get("resend_in", 0))
        self.assertEqual(data.get("status"), 1, r.describe())
        self.assertEqual(data.get("error_text"),
                         "Throttled: resent too recently", r.describe())
        return 1, int(r.headers.get("Retry-After", "0"))

    def test_a_numbers_resend_backoff_holds_on_every_node(self):
        nodes = self.start_nodes({"resend_cooldown": 0, "resend_max": 10,
                                  "resend_backoff_base": 30,
                                  "resend_backoff_jitter": 0,
                                  "cancel_min_age": 0})
        num = number(200)
        data = self.assert_json_reply(self.request_on(nodes[0], num))
        self.assertEqual(data.get("status"), 0, data)
        rid = data["request_id"]
        status, wait = self.resend_on(nodes[0], rid)
        self.assertEqual(status, 0)
        self.assertEqual(wait, 60)  # 30 s x 2 after the first resend
        # The next node never saw a resend of it, and still makes it wait.
        status, retry = self.resend_on(nodes[1], rid)
        self.assertEqual(status, 1)
        self.assertIn(retry, range(wait - 5, wait + 1))
        # A new verification of the number on the third node waits too.
        cancel = nodes[2].seed("/control", {"request_id": rid,
                                            "cmd": "cancel"})
        self.assertEqual(self.assert_json_reply(cancel).get("status"), 0,
                         cancel.describe())
        data = self.assert_json_reply(self.request_on(nodes[2], num))
        self.assertEqual(data.get("status"), 0, data)
        status, retry = self.resend_on(nodes[2], data["request_id"])
        self.assertEqual(status, 1)
        self.assertIn(retry, range(wait - 5, wait + 1))


if __name__ == "__main__":
    unittest.main()
