"""The checks on replies that the tests share, as unittest mixins: every
failure message carries the whole reply (Reply.describe())."""

import xml.etree.ElementTree as ET

from .config import REQUEST_ID_RE


class ReplyAssertions:
    """Checks on one Reply: its HTTP status, content type and body in
    either dialect.  Mixed into a unittest.TestCase."""

    # -- generic checks --------------------------------------------------

    def fail_reply(self, reply, msg):
        self.fail("%s\n%s" % (msg, reply.describe()))

    def assert_json_reply(self, reply, http_status=200):
        """HTTP status, JSON content type and a JSON object body."""
        if reply.status != http_status:
            self.fail_reply(reply, "expected HTTP %d" % http_status)
        if "application/json" not in reply.content_type:
            self.fail_reply(reply, "expected Content-Type application/json")
        if not isinstance(reply.data, dict):
            self.fail_reply(reply, "expected a JSON object body")
        return reply.data

    def assert_fields(self, reply, data, fields):
        for k, v in fields.items():
            if k not in data:
                self.fail_reply(reply, "expected field %r = %r, it is "
                                "missing" % (k, v))
            if data[k] != v or type(data[k]) is not type(v):
                self.fail_reply(reply, "expected field %r = %r, got %r"
                                % (k, v, data[k]))

    def assert_request_id(self, reply, rid):
        if not isinstance(rid, str) or not REQUEST_ID_RE.match(rid):
            self.fail_reply(reply, "expected request_id of 32 lowercase hex "
                            "digits, got %r" % (rid,))

    # -- seed dialect ----------------------------------------------------

    def assert_seed(self, reply, status, error_text=None, **fields):
        """A seed reply: HTTP 200, JSON object, numeric `status`."""
        d = self.assert_json_reply(reply)
        st = d.get("status")
        if type(st) is not int or st != status:
            self.fail_reply(reply, "expected JSON number status %d, got %r"
                            % (status, st))
        if error_text is not None:
            fields["error_text"] = error_text
        self.assert_fields(reply, d, fields)
        return d

    # -- Vonage dialect --------------------------------------------------

    def assert_all_strings(self, reply, value, where="body"):
        """Every scalar in a Vonage JSON reply is a string."""
        if isinstance(value, dict):
            for k, v in value.items():
                self.assert_all_strings(reply, v, "%s.%s" % (where, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.assert_all_strings(reply, v, "%s[%d]" % (where, i))
        elif not isinstance(value, str):
            self.fail_reply(reply, "expected every value to be a JSON string"
                            ", %s is %r" % (where, value))

    def assert_vonage(self, reply, status, error_text=None, contains=None,
                      **fields):
        """A Vonage JSON reply: HTTP 200, every value a string, `status`."""
        d = self.assert_json_reply(reply)
        self.assert_all_strings(reply, d)
        if d.get("status") != status:
            self.fail_reply(reply, "expected status %r, got %r"
                            % (status, d.get("status")))
        if error_text is not None:
            fields["error_text"] = error_text
        self.assert_fields(reply, d, fields)
        if contains is not None:
            et = d.get("error_text", "")
            if contains not in et:
                self.fail_reply(reply, "expected error_text containing %r"
                                % contains)
        if status != "0" and not d.get("error_text"):
            self.fail_reply(reply, "expected a non-empty error_text")
        return d

    def assert_xml(self, reply, root, status):
        """A Vonage XML reply with root `root` and <status>status</status>."""
        if reply.status != 200:
            self.fail_reply(reply, "expected HTTP 200")
        if "xml" not in reply.content_type:
            self.fail_reply(reply, "expected an XML Content-Type")
        el = reply.data
        if not isinstance(el, ET.Element):
            self.fail_reply(reply, "expected an XML body")
        if el.tag != root:
            self.fail_reply(reply, "expected XML root <%s>, got <%s>"
                            % (root, el.tag))
        st = el.findtext("status")
        if st != status:
            self.fail_reply(reply, "expected <status>%s</status>, got %r"
                            % (status, st))
        return el


class DialectSteps:
    """A request, a search or a check that must succeed, with its
    assertions.  Mixed into a TestCase whose self.s is a running Server
    and that has ReplyAssertions."""

    # -- seed dialect ----------------------------------------------------

    def seed_request_ok(self, number=None, key=0, via="get", brand="TestApp",
                        path=""):
        """Seed request that must give status 0; returns (number, rid)."""
        number = number or self.s.new_number()
        r = self.s.seed(path, {"phone_no": number, "brand": brand}, key, via)
        d = self.assert_seed(r, 0)
        self.assert_request_id(r, d.get("request_id"))
        return number, d["request_id"]

    def seed_search(self, rid, key=0):
        r = self.s.seed("/search", {"request_id": rid}, key)
        d = self.assert_json_reply(r)
        if d.get("request_id") != rid:
            self.fail_reply(r, "expected the search of %s" % rid)
        return r, d

    def assert_seed_search_status(self, rid, status, key=0):
        r, d = self.seed_search(rid, key)
        if d.get("status") != status:
            self.fail_reply(r, "expected search status %r" % status)
        return r, d

    # -- Vonage dialect --------------------------------------------------

    def vonage_request_ok(self, number=None, key=0, via="get", **params):
        """Vonage request that must give status "0"; (number, rid)."""
        number = number or self.s.new_number()
        p = {"number": number, "brand": "TestApp"}
        p.update(params)
        r = self.s.vonage("", p, key, via)
        d = self.assert_vonage(r, "0")
        self.assert_request_id(r, d.get("request_id"))
        return number, d["request_id"]

    def vonage_search(self, rid, key=0):
        r = self.s.vonage("/search", {"request_id": rid}, key)
        d = self.assert_json_reply(r)
        self.assert_all_strings(r, d)
        if d.get("request_id") != rid:
            self.fail_reply(r, "expected the search of %s" % rid)
        return r, d

    def assert_vonage_search_status(self, rid, status, key=0):
        r, d = self.vonage_search(rid, key)
        if d.get("status") != status:
            self.fail_reply(r, "expected search status %r" % status)
        return r, d
