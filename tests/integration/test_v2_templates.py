"""Verify v2 templates: the server's DLT template set, read only, as one
template whose fragments are the registered texts with Vonage's variables
(writes to it refused 403); each key's own templates and fragments (every
endpoint, their conflicts and refusals, one key never seeing another's);
an sms fragment held to the DLT registration; a start's template_id and
the SMS it sends; and a start's sms entity_id / content_id held to the
set's registration."""

import functools
import os
import re
import shutil
import tempfile

from harness import ROOT, KVTestCase, SimTestCase, new_mobile, poll_until
from test_v2 import NEXMO, V2Steps

# sms_templates/*/pin.txt, as shipped
EN = {"text": "${brand} code: ${code}. Valid for ${time-limit} min.",
      "template": "1107000000000000001", "entity": "1101000000000000001"}
HI_TEMPLATE = "1107000000000000002"
HI_TEXT = "कोड ${code}"
# The English text with Vonage's unit variable where the registration
# says "min" (the word after the time-limit slot).
EN_UNIT = "${brand} code: ${code}. Valid for ${time-limit} ${time-limit-unit}."
BUILTIN = "6b1f4ad2-0c4e-4d63-9a51-2f7d3c8e9b10"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}"
                  r"-[0-9a-f]{12}$")
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


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
        self.assertEqual(tid, BUILTIN)
        fid = self.get("/%s/template_fragments" % tid).data[
            "_embedded"]["template_fragments"][0]["template_fragment_id"]
        for path in ("/00000000-0000-4000-8000-000000000000",
                     "/%s/template_fragments/nope" % tid):
            r = self.get(path)
            self.assert_problem(r, 404, NEXMO + "#not-found", "Not Found")
        # The DLT set changes on disk only: every write to it is 403.
        frag = "/%s/template_fragments" % tid
        for method, path in (("PATCH", "/" + tid), ("DELETE", "/" + tid),
                             ("POST", frag), ("PATCH", frag + "/" + fid),
                             ("DELETE", frag + "/" + fid)):
            r = self.v2(method, "/templates" + path,
                        {"name": "mine", "channel": "sms",
                         "locale": "en-us", "text": EN["text"]})
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


class V2TemplateSteps(V2Steps):

    def tpl(self, method, path="", body=None, key=0):
        return self.v2(method, "/templates" + path, body,
                       auth=self.s.basic(key))

    def created(self, r, status=201):
        self.assert_status(r, status)
        return r.data

    def new_template(self, name, key=0):
        t = self.created(self.tpl("POST", "", {"name": name}, key=key))
        if not UUID.match(t["template_id"]):
            self.fail_reply(None, "template_id %r is no UUID"
                            % t["template_id"])
        return t

    def new_fragment(self, tid, locale="en-us", text=EN_UNIT, key=0):
        return self.created(self.tpl(
            "POST", "/%s/template_fragments" % tid,
            {"channel": "sms", "locale": locale, "text": text}, key=key))

    def listed(self, path="", key=0, query=""):
        r = self.tpl("GET", path + query, key=key)
        self.assert_status(r, 200)
        name = "template_fragments" if path else "templates"
        return r.data, r.data["_embedded"][name]

    def assert_conflict(self, r, detail):
        self.assert_problem(r, 409, NEXMO + "#conflict", "Conflict", detail)

    def assert_not_found(self, r):
        self.assert_problem(r, 404, NEXMO + "#not-found", "Not Found")


class V2CustomTemplateTests(V2TemplateSteps, KVTestCase):
    """Each key's own templates, a fresh server per test."""

    per_test = True
    nkeys = 2

    def test_templates_default_rename_and_delete(self):
        first = self.new_template("first")
        self.assertTrue(first["is_default"], first)
        self.assertEqual(first["_links"]["self"]["href"],
                         "/v2/verify/templates/" + first["template_id"])
        self.assertEqual(first["_links"]["fragments"]["href"],
                         "/v2/verify/templates/%s/template_fragments"
                         % first["template_id"])
        r = self.tpl("GET", "/" + first["template_id"])
        self.assert_status(r, 200)
        self.assertEqual(r.data, first)
        # The built-in set is the default no longer.
        page, items = self.listed()
        self.assertEqual([(t["name"], t["is_default"]) for t in items],
                         [("dlt", False), ("first", True)])
        self.assertEqual(page["total_items"], 2)
        second = self.new_template("second")
        self.assertFalse(second["is_default"], second)
        # One default per key: making second it takes it from first.
        r = self.tpl("PATCH", "/" + second["template_id"],
                     {"is_default": True})
        self.assert_status(r, 200)
        self.assertTrue(r.data["is_default"])
        self.assertFalse(self.tpl("GET", "/" + first["template_id"])
                         .data["is_default"])
        r = self.tpl("PATCH", "/" + second["template_id"],
                     {"name": "renamed"})
        self.assert_status(r, 200)
        self.assertEqual((r.data["name"], r.data["is_default"]),
                         ("renamed", True))
        # Names are unique per key.
        self.assert_conflict(self.tpl("POST", "", {"name": "first"}),
                             "named 'first'")
        self.assert_conflict(self.tpl("PATCH", "/" + second["template_id"],
                                      {"name": "first"}), "named 'first'")
        r = self.tpl("DELETE", "/" + second["template_id"])
        self.assert_status(r, 204)
        self.assert_not_found(self.tpl("GET", "/" + second["template_id"]))
        self.assert_not_found(self.tpl("DELETE", "/" + second["template_id"]))
        # No default of the key's own: the built-in set is it again.
        _, items = self.listed()
        self.assertEqual([(t["name"], t["is_default"]) for t in items],
                         [("dlt", True), ("first", False)])

    def test_pages(self):
        for name in ("a", "b", "c"):
            self.new_template(name)
        page, items = self.listed(query="?page_size=2")
        self.assertEqual([t["name"] for t in items], ["dlt", "a"])
        self.assertEqual((page["page"], page["page_size"],
                          page["total_pages"], page["total_items"]),
                         (1, 2, 2, 4))
        self.assertEqual(page["_links"]["next"]["href"],
                         "/v2/verify/templates?page_size=2&page=2")
        self.assertNotIn("prev", page["_links"])
        page, items = self.listed(query="?page_size=2&page=2")
        self.assertEqual([t["name"] for t in items], ["b", "c"])
        self.assertIn("prev", page["_links"])
        self.assertNotIn("next", page["_links"])
        for query, name in (("?page_size=0", "page_size"),
                            ("?page_size=1001", "page_size"),
                            ("?page=x", "page")):
            self.assert_invalid(self.tpl("GET", query), name)

    def test_fragments_are_registered_dlt_texts(self):
        tid = self.new_template("mine")["template_id"]
        frags = "/%s/template_fragments" % tid
        en = self.new_fragment(tid)
        self.assertTrue(UUID.match(en["template_fragment_id"]), en)
        self.assertEqual((en["channel"], en["locale"], en["text"]),
                         ("sms", "en-us", EN_UNIT))
        self.assertEqual((en["dlt_template_id"], en["dlt_entity_id"]),
                         (EN["template"], EN["entity"]))
        for d in ("date_created", "date_updated"):
            self.assertTrue(DATE.match(en[d]), en)
        self.assertEqual(en["_links"]["self"]["href"],
                         "/v2/verify/templates%s/%s"
                         % (frags, en["template_fragment_id"]))
        # The registered text as it is, "min" and all; another locale of
        # English; Hindi's own.
        gb = self.new_fragment(tid, "en-gb", EN["text"])
        self.assertEqual(gb["dlt_template_id"], EN["template"])
        hi = self.new_fragment(tid, "hi-in", HI_TEXT)
        self.assertEqual(hi["dlt_template_id"], HI_TEMPLATE)
        r = self.tpl("GET", "%s/%s" % (frags, en["template_fragment_id"]))
        self.assert_status(r, 200)
        self.assertEqual(r.data, en)
        page, items = self.listed(frags)
        self.assertEqual([f["locale"] for f in items],
                         ["en-us", "en-gb", "hi-in"])
        # One fragment per channel and locale.
        self.assert_conflict(self.tpl("POST", frags, {
            "channel": "sms", "locale": "en-us", "text": EN["text"]}),
            "sms fragment for en-us")
        # Refused texts and channels, each naming its parameter.
        for body, name, why in (
                ({"text": "Your ${brand} code is ${code}"}, "text",
                 "Not a registered DLT template"),
                ({"locale": "hi-in"}, "text", "Not a registered DLT"),
                ({"text": "${brand} code: 1234. Valid for ${time-limit} "
                  "min."}, "text", "Must contain ${code}"),
                ({"text": "${code} ${nope}"}, "text", "The variables are"),
                ({"channel": "voice", "text": "Code\t${code}"}, "text",
                 "control characters"),
                ({"channel": "voice", "text": "Call ${brand}"}, "text",
                 "Must contain ${code}"),
                ({"channel": "email"}, "channel", "sms or voice"),
                ({"locale": "xx-yy"}, "locale", "locales"),
                ({"text": 7}, "text", "string")):
            b = {"channel": "sms", "locale": "fr-fr", "text": EN_UNIT}
            b.update(body)
            d = self.assert_invalid(self.tpl("POST", frags, b), name)
            reasons = " ".join(p["reason"] for p in d["invalid_parameters"])
            self.assertIn(why, reasons, d)
        # The text changes, checked the same way.
        path = "%s/%s" % (frags, en["template_fragment_id"])
        r = self.tpl("PATCH", path, {"text": EN["text"]})
        self.assert_status(r, 200)
        self.assertEqual((r.data["text"], r.data["date_created"]),
                         (EN["text"], en["date_created"]))
        self.assert_invalid(self.tpl("PATCH", path, {"text": HI_TEXT}),
                            "text")
        # A template with fragments stays; without, it goes.
        self.assert_conflict(self.tpl("DELETE", "/" + tid), "fragments")
        for f in (en, gb, hi):
            r = self.tpl("DELETE", "%s/%s" % (frags,
                                              f["template_fragment_id"]))
            self.assert_status(r, 204)
        self.assert_not_found(self.tpl("GET", path))
        self.assert_not_found(self.tpl("PATCH", path, {"text": EN["text"]}))
        self.assert_not_found(self.tpl("DELETE", path))
        self.assert_status(self.tpl("DELETE", "/" + tid), 204)
        self.assert_not_found(self.tpl("GET", frags))
        self.assert_not_found(self.tpl("POST", frags, {
            "channel": "sms", "locale": "en-us", "text": EN["text"]}))

    def test_a_key_never_sees_another_keys_templates(self):
        theirs = self.new_template("shared-name", key=1)
        tid = theirs["template_id"]
        frag = self.new_fragment(tid, key=1)
        fpath = "/%s/template_fragments/%s" % (tid,
                                               frag["template_fragment_id"])
        for method, path, body in (
                ("GET", "/" + tid, None),
                ("PATCH", "/" + tid, {"name": "x"}),
                ("DELETE", "/" + tid, None),
                ("GET", "/%s/template_fragments" % tid, None),
                ("POST", "/%s/template_fragments" % tid,
                 {"channel": "sms", "locale": "hi-in", "text": HI_TEXT}),
                ("GET", fpath, None),
                ("PATCH", fpath, {"text": EN["text"]}),
                ("DELETE", fpath, None)):
            self.assert_not_found(self.tpl(method, path, body))
        _, items = self.listed()
        self.assertEqual([t["name"] for t in items], ["dlt"])
        # Names are the key's own: key 0 may take the same one.
        mine = self.new_template("shared-name")
        self.assertTrue(mine["is_default"])
        _, items = self.listed(key=1)
        self.assertEqual([t["template_id"] for t in items], [BUILTIN, tid])
        r = self.tpl("GET", fpath, key=1)
        self.assert_status(r, 200)
        # A start of key 0 cannot name key 1's template.
        _, r = self.start(template_id=tid)
        self.assert_invalid(r, "template_id")

    def test_bad_requests(self):
        tid = self.new_template("t")["template_id"]
        r = self.tpl("POST", "", "{not json")
        self.assert_problem(r, 400, NEXMO + "#invalid-json", "Invalid JSON")
        for body, name in (({}, "name"), ({"name": ""}, "name"),
                           ({"name": "n" * 65}, "name"),
                           ({"name": 5}, "name"),
                           ({"name": "dlt"}, "name"),
                           ({"name": "x", "is_default": "yes"},
                            "is_default")):
            self.assert_invalid(self.tpl("POST", "", body), name)
        d = self.assert_invalid(self.tpl("POST", "", {"name": 5}), "name")
        self.assertEqual(len(d["invalid_parameters"]), 1, d)
        self.assert_invalid(self.tpl("PATCH", "/" + tid,
                                     {"is_default": 1}), "is_default")
        self.assert_invalid(self.tpl("POST", "/%s/template_fragments" % tid,
                                     {}), "channel", "locale", "text")
        r = self.tpl("PATCH", "")
        self.assert_problem(r, 405, NEXMO + "#method-not-allowed",
                            "Method Not Allowed")
        self.assert_not_found(self.tpl("GET", "/" + "a" * 40))
        r = self.v2("POST", "/templates", {"name": "x"}, auth=False)
        self.assert_problem(r, 401, NEXMO + "#unauthorized", "Unauthorized")

    def test_start_takes_a_template(self):
        _, r = self.start(template_id="00000000-0000-4000-8000-000000000000")
        self.assert_invalid(r, "template_id")
        _, r = self.start(template_id=7)
        self.assert_invalid(r, "template_id")
        _, r = self.start(template_id=BUILTIN.upper())
        self.assert_status(r, 202)
        tid = self.new_template("t")["template_id"]
        # No fragment for the locale: the built-in set's text.
        _, r = self.start(template_id=tid)
        self.assert_status(r, 202)
        self.new_fragment(tid)
        _, r = self.start(template_id=tid)
        self.assert_status(r, 202)
        _, r = self.start(locale="hi-in")
        self.assert_status(r, 202)

    def test_a_registration_changed_on_disk_is_held_at_start(self):
        d = tempfile.mkdtemp(prefix="kv-sms-")
        self.addCleanup(shutil.rmtree, d, True)
        shutil.copytree(os.path.join(ROOT, "sms_templates"), d,
                        dirs_exist_ok=True)
        self.s.restart(dict(self.s.settings, sms_templates=d))
        tid = self.new_template("t")["template_id"]
        literal = self.new_fragment(tid, "en-us", EN["text"])
        self.new_fragment(tid, "en-gb", EN_UNIT)
        # The operator registers "minutes" where the text said "min".
        path = os.path.join(d, "en", "pin.txt")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace("{#var#} min.", "{#var#} minutes."))
        self.s.restart()
        _, items = self.listed("/%s/template_fragments" % BUILTIN)
        self.assertIn("${time-limit} minutes.", items[0]["text"])
        # The literal "min" is no registered text now: refused at start.
        _, r = self.start(template_id=tid)
        self.assert_invalid(r, "template_id")
        # ${time-limit-unit} follows the registration's word.
        _, r = self.start(template_id=tid, locale="en-gb")
        self.assert_status(r, 202)
        r = self.tpl("PATCH", "/%s/template_fragments/%s"
                     % (tid, literal["template_fragment_id"]),
                     {"text": EN["text"].replace("min.", "minutes.")})
        self.assert_status(r, 200)
        _, r = self.start(template_id=tid)
        self.assert_status(r, 202)


new_number = functools.partial(new_mobile, "9198125")
DLT_NAMES = dict(kookoo_dlt_template_param="dlt_template_id",
                 kookoo_dlt_entity_param="dlt_entity_id",
                 kookoo_dlt_header_param="dlt_header")


class V2TemplateSmsTests(V2TemplateSteps, SimTestCase):
    """The SMS a start with a template sends, read at the simulator."""

    nkeys = 2

    def sent(self, number):
        self.wait_sms(number)
        return self.sim.inbox(number)["sms"][0]

    def test_the_sms_is_the_chosen_fragments_registered_text(self):
        self.wire(**DLT_NAMES)
        tid = self.new_template("india")["template_id"]
        frag = self.new_fragment(tid, "hi-in", HI_TEXT)
        self.new_template("other")
        # template_id names it, and the locale picks its Hindi fragment.
        number = new_number()
        _, r = self.start(number=number, template_id=tid, locale="hi-in")
        self.assert_status(r, 202)
        sms = self.sent(number)
        self.assertRegex(sms["message"], r"^कोड \d{4,10}$")
        self.assertEqual(sms["params"]["dlt_template_id"],
                         frag["dlt_template_id"])
        # Without template_id: the key's default, which is this one.
        number = new_number()
        _, r = self.start(number=number, locale="hi-in")
        self.assert_status(r, 202)
        self.assertRegex(self.sent(number)["message"], r"^कोड \d{4,10}$")
        # Its English fragment, with the unit variable.
        self.new_fragment(tid, "en-us", EN_UNIT)
        number = new_number()
        _, r = self.start(number=number, template_id=tid, brand="Shop")
        self.assert_status(r, 202)
        sms = self.sent(number)
        self.assertRegex(sms["message"],
                         r"^Shop code: \d{4,10}\. Valid for \d+ min\.$")
        self.assertEqual(sms["params"]["dlt_template_id"], EN["template"])


class V2TemplateVoiceTests(V2TemplateSteps, SimTestCase):
    """A voice fragment read by the call, heard at the simulator: the
    fragment's words around the code, the code digit by digit as the IVR
    reads its own, then the IVR's own menu."""

    CODE = "482913"
    VOICE = ("Hello from ${brand}. Your code is ${code}. It expires in "
             "${time-limit} ${time-limit-unit}, & that is <all>.")

    def call(self, keys, **start):
        """A v2 voice verification (code CODE, brand Shop) whose callee
        presses `keys`: its id and the call's transcript."""
        return self.answer(self.place(keys, **start))

    def place(self, keys, ring_ms=100, **start):
        """Starts the verification of call() with the simulator ringing
        ring_ms before it answers; returns (number, reply)."""
        number = new_number()
        self.sim.script(number, keys=keys, ring_ms=ring_ms)
        _, r = self.start(number=number, code=self.CODE, brand="Shop",
                          workflow=[{"channel": "voice", "to": number}],
                          **start)
        self.assert_status(r, 202)
        return number, r

    def answer(self, placed):
        """call()'s id and transcript of a verification place() started."""
        number, r = placed
        calls = poll_until(
            lambda: [c for c in self.sim.calls(number) if c["done"]],
            10, "the call to %s" % number,
            detail=lambda: self.sim.inbox(number))
        return r.data["request_id"], calls[0]["transcript"]

    def voice_fragment(self, tid, locale="en-us", text=None):
        return self.created(self.tpl(
            "POST", "/%s/template_fragments" % tid,
            {"channel": "voice", "locale": locale,
             "text": text or self.VOICE}))

    def test_the_call_reads_the_templates_voice_fragment(self):
        self.wire()
        spoken = " ".join(self.CODE)
        # No template yet: the IVR's own words, the code twice.
        _, tr = self.call(["2"])
        self.assertIn("Hello. This is a call from Shop. Your verification "
                      "code is", tr)
        self.assertEqual(tr.count(spoken), 2, tr)
        tid = self.new_template("calls")["template_id"]
        frag = self.voice_fragment(tid)
        self.assertEqual((frag["channel"], frag["text"]),
                         ("voice", self.VOICE))
        self.assertNotIn("dlt_template_id", frag)
        # template_id names it: its words around the code, then the menu;
        # key 1 reads them again.
        _, tr = self.call(["1", "2"], template_id=tid)
        at = tr.index("Hello from Shop. Your code is")
        self.assertEqual(tr[at + 1], spoken, tr)
        # ${time-limit}: the code's minutes, as its SMS would say them.
        self.assertRegex(tr[at + 2], r"^\. It expires in \d+ minutes, & "
                         r"that is <all>\.$")
        said = tr[at + 2]
        self.assertTrue(tr[at + 3].startswith("Press 1 to hear the code "
                                              "again"), tr)
        self.assertEqual(tr.count(said), 2, tr)
        self.assertEqual(tr.count(spoken), 2, tr)
        self.assertNotIn("Your verification code is", "\n".join(tr))
        self.assertIn("Thank you. Your number is now verified with Shop. "
                      "Goodbye.", tr)
        # Without template_id: the key's default, this one.
        _, tr = self.call(["2"])
        self.assertIn(said, tr)
        # A locale it has no voice fragment for: the IVR's own Hindi.
        _, tr = self.call(["2"], template_id=tid, locale="hi-in")
        self.assertNotIn(said, tr)
        self.assertIn("नमस्ते। यह Shop की ओर से कॉल है। आपका सत्यापन कोड है",
                      tr)
        # And one it has: read with the page's Hindi voice.
        self.voice_fragment(tid, "hi-in", "${brand} कोड ${code}")
        _, tr = self.call(["2"], template_id=tid, locale="hi-in")
        self.assertEqual(tr[tr.index("Shop कोड") + 1], spoken, tr)

    def test_the_call_reads_the_fragment_as_it_is_when_answered(self):
        # The call fetches its words when the callee answers: a fragment
        # changed, or deleted, while the phone rings is read as it is then.
        self.wire()
        tid = self.new_template("ringing")["template_id"]
        frag = self.voice_fragment(tid)
        path = "/%s/template_fragments/%s" % (tid,
                                              frag["template_fragment_id"])
        placed = self.place(["2"], ring_ms=3000, template_id=tid)
        r = self.tpl("PATCH", path, {"text": "Changed for ${brand}: "
                                             "${code}."})
        self.assert_status(r, 200)
        _, tr = self.answer(placed)
        self.assertEqual(tr[tr.index("Changed for Shop:") + 1],
                         " ".join(self.CODE), tr)
        self.assertNotIn("Hello from Shop. Your code is", tr)
        placed = self.place(["2"], ring_ms=3000, template_id=tid)
        self.assert_status(self.tpl("DELETE", path), 204)
        _, tr = self.answer(placed)
        self.assertNotIn("Changed for Shop:", tr)
        self.assertIn("Hello. This is a call from Shop. Your verification "
                      "code is", tr)
