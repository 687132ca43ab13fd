"""docs/openapi.yaml: a valid OpenAPI 3.1 document that names every route
the server has, a reply check that refuses what the document forbids, the
replies of a live server in both dialects meeting it, and
docs/api-reference.html rendered from the current document.

Every reply any integration test receives is also checked, by the client
(kvtest/client.py); these tests prove that check has teeth.
"""

import copy
import importlib.util
import os
import re
import unittest
from email.message import Message

from harness import ROOT, KVTestCase, Reply
from kvtest import openapi

SPEC = os.path.join(ROOT, "docs", "openapi.yaml")
PAGE = os.path.join(ROOT, "docs", "api-reference.html")
RENDERER = os.path.join(ROOT, "tools", "openapi-html.py")
RID = "11d4a548deedbb923af356fead0afc87"


def headers(content_type, **more):
    h = Message()
    h["Content-Type"] = content_type
    h["Cache-Control"] = "no-store"
    for k, v in more.items():
        h[k.replace("_", "-")] = v
    return h


def reply(method, url, status, content_type, body, **more):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Reply(method, url, status, headers(content_type, **more), body)


def route_table():
    """{path: set of methods} of the server's route tables, read from the
    C sources (string literals and the macros the tables use); a route
    with a preflight handler also answers OPTIONS."""
    sources = []
    for d in ("src", "ivr"):
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            if name.endswith((".c", ".h")):
                with open(os.path.join(ROOT, d, name), encoding="utf-8") as f:
                    sources.append(f.read())
    text = "\n".join(sources)
    paths = dict(re.findall(r'#define\s+(\w+)\s+"(/[^"]*)"', text))
    masks = dict(re.findall(r"#define\s+(\w+)\s+\(([A-Z_ |]+)\)", text))
    routes = {}
    for table in re.findall(r"const struct route \w+\[\] = \{(.*?)\n\};",
                            text, re.S):
        for path, mask, pre in re.findall(
                r'\{\s*("[^"]*"|\w+)\s*,\s*\w+\s*,\s*([\w |]+?)\s*,'
                r"\s*\d\s*,\s*(\w+)\s*\}", table):
            if path == "NULL":
                continue  # the table's end
            path = path.strip('"') if path.startswith('"') else paths[path]
            mask = masks.get(mask.strip(), mask)
            methods = {m.lower() for m in re.findall(r"HTTP_(\w+)", mask)}
            if pre not in ("NULL", "0"):
                methods.add("options")
            routes[path] = methods
    return routes


class SpecDocumentTests(unittest.TestCase):
    """The document, without a server."""

    @classmethod
    def setUpClass(cls):
        cls.doc = openapi.load_spec(SPEC).doc

    def test_the_document_is_valid_openapi_3_1(self):
        self.assertEqual(openapi.spec_problems(self.doc), [])

    def test_the_document_check_finds_broken_documents(self):
        def broken(change):
            d = copy.deepcopy(self.doc)
            change(d)
            return openapi.spec_problems(d)

        paths = "paths"
        cases = {
            "3.0": lambda d: d.update(openapi="3.0.3"),
            "dangling $ref": lambda d: d[paths]["/healthz"]["get"][
                "responses"].update({"200": {"$ref": "#/components/nope"}}),
            "no responses": lambda d: d[paths]["/healthz"]["get"].pop(
                "responses"),
            "operationId twice": lambda d: d[paths]["/healthz"]["head"].update(
                operationId="healthzGet"),
            "undeclared path parameter": lambda d: d[paths].update(
                {"/x/{id}": {"get": {"responses": {"200": {
                    "description": "x"}}}}}),
            "bad schema": lambda d: d["components"]["schemas"].update(
                Bad={"type": "strnig"}),
            "unknown security scheme": lambda d: d[paths]["/metrics"][
                "get"].update(security=[{"cookie": []}]),
            "bad status code": lambda d: d[paths]["/healthz"]["get"][
                "responses"].update({"2000": {"description": "x"}}),
        }
        for name, change in cases.items():
            with self.subTest(name):
                self.assertNotEqual(broken(change), [], name)

    def test_every_route_of_the_server_is_described(self):
        routes = route_table()
        # Sanity: the parse found the tables, their macros and preflights.
        self.assertEqual(routes.get("/verify/check/json"),
                         {"get", "post", "options"})
        self.assertEqual(routes.get("/ivr/kookoo/status"), {"get", "post"})
        self.assertEqual(routes.get("/.well-known/kookooverify/jwks.json"),
                         {"get", "head"})
        described = {
            path: {m for m in item if m in openapi.METHODS}
            for path, item in self.doc["paths"].items()}
        self.assertEqual({p: sorted(m) for p, m in routes.items()
                          if described.get(p) != m},
                         {}, "routes whose methods the document does not "
                         "describe exactly (document: %s)" % {
                             p: sorted(described.get(p, ()))
                             for p in routes if described.get(p) != routes[p]})

    def test_the_reference_page_is_rendered_from_this_document(self):
        spec = importlib.util.spec_from_file_location("openapi_html",
                                                      RENDERER)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        with open(PAGE, encoding="utf-8") as f:
            committed = f.read()
        self.assertTrue(committed == mod.render(SPEC),
                        "docs/api-reference.html is not what "
                        "tools/openapi-html.py renders from docs/openapi.yaml:"
                        " run it and commit the page")
        self.assertIn('id="op-vonageSearchXmlGet"', committed)


class ReplyCheckTests(unittest.TestCase):
    """check_reply() on replies made here: the client calls the same
    function on every reply it receives."""

    def assert_refused(self, r, *words):
        with self.assertRaises(AssertionError) as cm:
            openapi.check_reply(r)
        for w in words:
            self.assertIn(w, str(cm.exception))

    def test_true_replies_pass(self):
        good = [
            reply("GET", "/verify/json?number=1", 200, "application/json",
                  '{"request_id":"%s","status":"0"}' % RID),
            reply("POST", "/kookooverify/check", 200, "application/json",
                  '{"status":16,"error_text":"The code provided does not '
                  'match the expected value"}'),
            reply("GET", "/verify/search/xml", 200, "text/xml; charset=UTF-8",
                  '<?xml version="1.0" encoding="UTF-8"?>\n<verify_request>'
                  '<status>101</status><error_text>No response found'
                  '</error_text></verify_request>'),
            reply("GET", "/nope", 404, "application/json",
                  '{"status":404,"error_text":"Not found"}'),
            reply("DELETE", "/verify/json", 405, "application/json",
                  '{"status":405,"error_text":"Method not allowed"}'),
        ]
        for r in good:
            with self.subTest(r.url):
                openapi.check_reply(r)

    def test_a_vonage_status_sent_as_a_number_is_refused(self):
        self.assert_refused(reply(
            "GET", "/verify/json", 200, "application/json",
            '{"request_id":"","status":3,"error_text":"x"}'),
            "/verify/json", "not of type 'string'")

    def test_a_status_code_the_endpoint_never_sends_is_refused(self):
        # 16 is a check's answer, never a request's.
        self.assert_refused(reply(
            "GET", "/verify/json", 200, "application/json",
            '{"request_id":"","status":"16","error_text":"x"}'))
        self.assert_refused(reply(
            "GET", "/kookooverify/control", 200, "application/json",
            '{"status":0,"response":"INVALID COMMAND"}'))

    def test_an_error_text_of_another_status_is_refused(self):
        # The seed dialect's text under the Vonage code, and a Vonage text
        # under the seed code.
        self.assert_refused(reply(
            "GET", "/verify/check/json", 200, "application/json",
            '{"request_id":"","status":"4","error_text":"Bad Credentials"}'),
            "error_text")
        self.assert_refused(reply(
            "GET", "/kookooverify/check", 200, "application/json",
            '{"status":4,"error_text":"Invalid credentials were provided"}'),
            "error_text")

    def test_a_missing_or_extra_member_is_refused(self):
        self.assert_refused(reply(
            "GET", "/verify/check/json", 200, "application/json",
            '{"request_id":"%s","status":"0","price":"0.00000000",'
            '"currency":"EUR"}' % RID), "event_id")
        self.assert_refused(reply(
            "GET", "/kookooverify", 200, "application/json",
            '{"status":0,"request_id":"%s","kookoo_response":"x"}' % RID),
            "kookoo_response")

    def test_an_http_status_the_operation_does_not_list_is_refused(self):
        self.assert_refused(reply(
            "GET", "/verify/json", 401, "application/json",
            '{"status":"4","error_text":"x"}'), "HTTP 401")
        self.assert_refused(reply(
            "GET", "/nope", 200, "application/json", '{"status":"ok"}'),
            "a path the spec does not hold")

    def test_a_wrong_content_type_or_body_is_refused(self):
        self.assert_refused(reply(
            "GET", "/verify/json", 200, "text/html",
            '{"request_id":"%s","status":"0"}' % RID), "Content-Type")
        self.assert_refused(reply(
            "GET", "/healthz", 200, "application/json", "ok"), "not JSON")

    def test_xml_is_checked_like_its_json(self):
        self.assert_refused(reply(
            "GET", "/verify/search/xml", 200, "text/xml; charset=UTF-8",
            '<?xml version="1.0"?><response><status>101</status>'
            '<error_text>No response found</error_text></response>'),
            "XML root <response>")
        self.assert_refused(reply(
            "GET", "/verify/control/xml", 200, "text/xml; charset=UTF-8",
            '<?xml version="1.0"?><response><status>0</status>'
            '<command>stop</command></response>'), "command")

    def test_a_required_header_is_enforced(self):
        r = reply("GET", "/healthz", 200, "application/json",
                  '{"status":"ok"}')
        del r.headers["Cache-Control"]
        self.assert_refused(r, "Cache-Control")
        self.assert_refused(reply(
            "OPTIONS", "/verify/json", 204, "text/plain", ""),
            "Access-Control-Allow-Origin")


class LiveRepliesTests(KVTestCase):
    """A real server's replies, each checked here explicitly (besides the
    client's own check)."""

    def check(self, r):
        self.assertEqual(openapi.spec().reply_problems(
            r.method, r.url, r.status, r.headers, r.raw), [], r.describe())
        return r

    def test_both_dialects_meet_the_document(self):
        s = self.s
        number = s.new_number()
        r = self.check(s.vonage("", {"number": number, "brand": "Spec"},
                                via="form"))
        rid = r.data["request_id"]
        for fmt in ("json", "xml"):
            self.check(s.vonage("/check", {"request_id": rid, "code": "0"},
                                fmt=fmt))
            self.check(s.vonage("/search", {"request_id": rid}, fmt=fmt))
            self.check(s.vonage("/search", [("request_ids", rid),
                                            ("request_ids", "0" * 32)],
                                fmt=fmt))
            self.check(s.vonage("/control", {"request_id": rid,
                                             "cmd": "nope"}, fmt=fmt))
            self.check(s.vonage("/token", {"token": "x.y.z"}, fmt=fmt))
        seed_number = s.new_number()
        r = self.check(s.seed("", {"phone_no": seed_number,
                                   "brand": "Spec"}, via="json"))
        rid = r.data["request_id"]
        self.check(s.seed("/", {"phone_no": seed_number, "brand": "Spec"}))
        self.check(s.seed("/check", {"request_id": rid, "code": "0"}))
        self.check(s.seed("/search", {"request_id": rid}))
        self.check(s.seed("/search", {"phone_no": seed_number}))
        self.check(s.seed("/control", {"request_id": rid, "cmd": "stop"}))
        self.check(s.seed("/control", {"request_id": rid, "cmd": "cancel"}))

    def test_operations_and_neutral_replies_meet_the_document(self):
        s = self.s
        self.check(s.get("/healthz"))
        self.check(s.request("HEAD", "/healthz"))
        self.check(s.get("/metrics"))
        self.check(s.get("/metrics", auth=s.basic()))
        self.check(s.metrics())
        self.check(s.get("/.well-known/kookooverify/jwks.json"))
        self.check(s.get("/nope"))
        self.check(s.request("PUT", "/verify/json"))
        self.check(s.request("OPTIONS", "/kookooverify"))
        self.check(s.request("OPTIONS", "/verify/json",
                             headers={"Origin": "https://nobody.example"}))
        self.check(s.get("/ivr/kookoo", {"t": "forged", "sid": "1"}))
        self.check(s.get("/demo/"))


if __name__ == "__main__":
    unittest.main()
