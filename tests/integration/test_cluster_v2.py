"""Verify v2 on three nodes of one PostgreSQL database: a JWT's jti spent on
one node is refused on the others, and an Idempotency-Key answered by one
node is answered the same by another, with one verification stored."""

import json

from harness import db_query
from test_cluster import ClusterTestCase
from test_v2 import NEXMO, V2Steps
from test_v2_jwt import KeyPair, token


class ClusterV2Tests(V2Steps, ClusterTestCase):

    def test_a_jti_spent_on_one_node_is_refused_on_the_others(self):
        nodes = self.start_nodes()
        key = KeyPair()
        cp = nodes[0].cli("applications", "add", "--db", nodes[0].db,
                          "--json", nodes[0].keys[0]["api_key"], key.public)
        app = json.loads(cp.stdout)["application_id"]
        tok = token(key, app)
        hdr = {"Authorization": "Bearer " + tok}
        body = {"brand": "TestApp",
                "workflow": [{"channel": "sms", "to": nodes[0].new_number()}]}
        self.node = nodes[0]
        r = self.v2("POST", "", body, auth=False, headers=hdr)
        self.assert_status(r, 202)
        for n in nodes[1:]:
            self.node = n
            body["workflow"][0]["to"] = nodes[0].new_number()
            r = self.v2("POST", "", body, auth=False, headers=hdr)
            self.assert_problem(r, 401, NEXMO + "#unauthorized",
                                "Unauthorized")

    def test_an_idempotency_key_holds_on_every_node(self):
        nodes = self.start_nodes()
        number = nodes[0].new_number()
        body = json.dumps({"brand": "TestApp",
                           "workflow": [{"channel": "sms", "to": number}]})
        replies = []
        for n in nodes:
            self.node = n
            replies.append(self.v2("POST", "", body,
                                   headers={"Idempotency-Key": "c-1"}))
        for r in replies:
            self.assert_status(r, 202)
        self.assertEqual({r.raw for r in replies}, {replies[0].raw})
        self.assertEqual(db_query(nodes[0].db, "SELECT count(*) FROM "
                                  "verifications WHERE number = ?",
                                  (number,))[0][0], 1)
