"""Verify v2 templates: the server's DLT template set, read only, as one
template whose fragments are the registered texts with Vonage's variables;
writes refused 403; and a start's sms entity_id / content_id held to the
set's registration."""

from harness import KVTestCase
from test_v2 import NEXMO, V2Steps

# sms_templates/*/pin.txt, as shipped
EN = {"text": "${brand} code: ${code}. Valid for ${time-limit} min.",
      "template": "1107000000000000001", "entity": "1101000000000000001"}
HI_TEMPLATE = "1107000000000000002"


class V2TemplateTests(V2Steps, KVTestCase):

    def get(self, path, auth=True):
        return self.v2("GET", "/templates" + path, auth=auth)

    def test_one_template_with_a_fragment_per_locale(self):
        r = self.get("")
        self.assert_status(r, 200)
        templates = r.data["_embedded"]["templates"]
        self.assertEqual(len(templates), 1, r.describe())
        tid = templates[0]["template_id"]
        self.assertTrue(templates[0]["is_default"])
        r = self.get("/" + tid)
        self.assert_status(r, 200)
        self.assertEqual(r.data["template_id"], tid)
        r = self.get("/%s/template_fragments" % tid)
        self.assert_status(r, 200)
        frags = {f["locale"]: f for f in
                 r.data["_embedded"]["template_fragments"]}
        self.assertEqual(sorted(frags), ["en-us", "hi-in"])
        en = frags["en-us"]
        self.assertEqual(en["channel"], "sms")
        self.assertEqual(en["text"], EN["text"])
        self.assertEqual(en["dlt_template_id"], EN["template"])
        self.assertEqual(en["dlt_entity_id"], EN["entity"])
        self.assertEqual(frags["hi-in"]["dlt_template_id"], HI_TEMPLATE)
        r = self.get("/%s/template_fragments/%s"
                     % (tid, en["template_fragment_id"]))
        self.assert_status(r, 200)
        self.assertEqual(r.data, en)
        # Stable ids: the same on every call (and every node).
        again = self.get("/%s/template_fragments" % tid)
        self.assertEqual(again.raw, self.get(
            "/%s/template_fragments" % tid).raw)

    def test_unknown_ids_and_writes(self):
        tid = self.get("").data["_embedded"]["templates"][0]["template_id"]
        for path in ("/00000000-0000-4000-8000-000000000000",
                     "/%s/template_fragments/nope" % tid):
            r = self.get(path)
            self.assert_problem(r, 404, NEXMO + "#not-found", "Not Found")
        for method, path in (("POST", ""), ("DELETE", "/" + tid)):
            r = self.v2(method, "/templates" + path, {"name": "mine"})
            self.assert_problem(r, 403, NEXMO + "#forbidden", "Forbidden")
        r = self.get("", auth=False)
        self.assert_problem(r, 401, NEXMO + "#unauthorized", "Unauthorized")

    def test_start_holds_dlt_ids_to_the_set(self):
        number = self.s.new_number()
        step = {"channel": "sms", "to": number,
                "entity_id": EN["entity"], "content_id": EN["template"]}
        _, r = self.start(number=number, workflow=[dict(step)])
        self.assert_status(r, 202)
        other = self.s.new_number()
        for name, value in (("entity_id", "1101000000000000009"),
                            ("content_id", HI_TEMPLATE)):
            s = dict(step, to=other)
            s[name] = value
            _, r = self.start(number=other, workflow=[s])
            self.assert_invalid(r, name)
        # Hindi: its own template's id is the one.
        s = dict(step, to=other, content_id=HI_TEMPLATE)
        _, r = self.start(number=other, workflow=[s], locale="hi-in")
        self.assert_status(r, 202)
