"""Replies checked against docs/openapi.yaml, and the document itself
checked as OpenAPI 3.1.

Debian 12 packages no OpenAPI validator, so this is the subset the tests
need over python3-jsonschema (OpenAPI 3.1 schemas are JSON Schema 2020-12):

- spec_problems(doc): the document's structure (the fields this project
  uses), every local $ref resolving, every schema a valid 2020-12 schema,
  unique operationIds, declared path parameters, tags and security
  schemes;
- reply_problems(method, url, status, headers, body): one reply against
  the operation of its path and method: its HTTP status, required headers
  and header values, content type, and body against the media type's
  schema.  Vonage's XML is read into the JSON shape it mirrors (child
  elements become members, a wrapped array's children its items) and
  validated against the same schemas, after its root element's name is
  checked against the schema's `xml.name`;
- check_reply(reply): the client's hook; raises AssertionError naming
  every problem.

A path the document does not hold must answer components/responses
NotFound; a method its path does not serve, MethodNotAllowed; any request
may also answer BadRequest (framing) or InternalError, as the document's
description says.
"""

import json
import os
import re
import threading
import urllib.parse
import xml.etree.ElementTree as ET

try:
    import yaml
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match
except ImportError as e:  # pragma: no cover - a set-up problem
    raise ImportError("the OpenAPI checks need PyYAML and jsonschema "
                      "(Debian: python3-yaml python3-jsonschema; `make "
                      "deps` installs them): %s" % e) from None

SPEC_PATH = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "docs",
    "openapi.yaml"))

METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
           "trace")
# The replies any path may give (the document's description says so).
NEUTRAL_ANY = ("BadRequest", "InternalError")


def pointer_escape(part):
    return str(part).replace("~", "~0").replace("/", "~1")


def pointer_get(doc, pointer):
    """The node at a JSON pointer ("/a/b"), or KeyError."""
    node = doc
    if not pointer:
        return node
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(pointer)
    return node


def media_base(content_type):
    return (content_type or "").split(";", 1)[0].strip().lower()


class Spec:
    """A loaded document and the validators made from it (cached)."""

    def __init__(self, doc):
        self.doc = doc
        self._validators = {}
        self._lock = threading.Lock()
        self.wrapped_arrays = set()
        self._collect_wrapped(doc.get("components", {}))
        self._templates = []
        for path in doc.get("paths", {}):
            if "{" in path:
                rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+",
                                  re.escape(path)) + "$"
                self._templates.append((re.compile(rx), path))

    # -- the document --

    def resolve(self, node, pointer):
        """Follows $ref (local) from node; returns (node, its pointer)."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#") or ref in seen:
                raise KeyError(ref)
            seen.add(ref)
            pointer = urllib.parse.unquote(ref[1:])
            node = pointer_get(self.doc, pointer)
        return node, pointer

    def _collect_wrapped(self, node):
        """Names of the properties that are XML-wrapped arrays."""
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict) and prop.get("type") == "array" \
                        and (prop.get("xml") or {}).get("wrapped"):
                    self.wrapped_arrays.add(name)
            for v in node.values():
                self._collect_wrapped(v)
        elif isinstance(node, list):
            for v in node:
                self._collect_wrapped(v)

    def path_item(self, path):
        """(template, path item) for a request path, or (None, None).
        Concrete paths win over templated ones, as OpenAPI says."""
        paths = self.doc.get("paths", {})
        if path in paths:
            return path, paths[path]
        for rx, template in self._templates:
            if rx.match(path):
                return template, paths[template]
        return None, None

    def validator(self, pointer):
        """A validator of the schema at pointer, its $refs resolved in
        the whole document (which is the validator's root resource)."""
        with self._lock:
            v = self._validators.get(pointer)
            if v is None:
                root = dict(self.doc)
                root["$ref"] = "#" + urllib.parse.quote(pointer, safe="/~")
                v = Draft202012Validator(root)
                self._validators[pointer] = v
            return v

    # -- one reply --

    def responses_for(self, method, path):
        """(where, {status: (response, pointer)}) for a request."""
        comp = "/components/responses/"
        neutral = {}
        for name in NEUTRAL_ANY:
            r = self.doc["components"]["responses"][name]
            code = {"BadRequest": "400", "InternalError": "500"}[name]
            neutral[code] = (r, comp + name)
        template, item = self.path_item(path)
        if item is None:
            neutral["404"] = (self.doc["components"]["responses"]["NotFound"],
                              comp + "NotFound")
            return "%s %s (a path the spec does not hold)" % (method, path), \
                neutral
        op = item.get(method.lower())
        if op is None:
            neutral["405"] = (
                self.doc["components"]["responses"]["MethodNotAllowed"],
                comp + "MethodNotAllowed")
            return "%s %s (a method %s does not serve)" % (
                method, path, template), neutral
        base = "/paths/%s/%s/responses/" % (pointer_escape(template),
                                             method.lower())
        found = dict(neutral)
        for code, r in op.get("responses", {}).items():
            found[str(code)] = (r, base + pointer_escape(code))
        return "%s %s" % (method, template), found

    def reply_problems(self, method, url, status, headers, body):
        """Every way the reply breaks the document, as sentences."""
        path = urllib.parse.urlsplit(url).path
        where, responses = self.responses_for(method, path)
        status = str(status)
        picked = responses.get(status) or \
            responses.get(status[0] + "XX") or responses.get("default")
        if picked is None:
            return ["%s: HTTP %s is not a reply the spec allows (it allows "
                    "%s)" % (where, status, ", ".join(sorted(responses)))]
        resp, pointer = self.resolve(*picked)
        where = "%s -> %s" % (where, status)
        problems = self._header_problems(where, resp, pointer, headers)
        problems += self._body_problems(where, method, resp, pointer,
                                        headers, body)
        return problems

    def _header_problems(self, where, resp, pointer, headers):
        problems = []
        for name, h in (resp.get("headers") or {}).items():
            h, hp = self.resolve(h, pointer + "/headers/" +
                                 pointer_escape(name))
            value = headers.get(name)
            if value is None:
                if h.get("required"):
                    problems.append("%s: header %s is required and missing"
                                    % (where, name))
                continue
            if "schema" in h:
                for e in self.validator(hp + "/schema").iter_errors(value):
                    problems.append("%s: header %s: %r: %s"
                                    % (where, name, value, e.message))
        return problems

    def _body_problems(self, where, method, resp, pointer, headers, body):
        content = resp.get("content")
        ctype = headers.get("Content-Type") or ""
        if not content:
            return [] if not body else [
                "%s: no body is allowed, got %d bytes" % (where, len(body))]
        base = media_base(ctype)
        media = content.get(base)
        if media is None:
            return ["%s: Content-Type %r is not one of %s"
                    % (where, ctype, ", ".join(content))]
        if method.upper() == "HEAD":
            return []
        mptr = pointer + "/content/" + pointer_escape(base)
        schema = media.get("schema")
        try:
            value, branches = self.decode(base, body, schema,
                                          mptr + "/schema")
        except ValueError as e:
            return ["%s: %s" % (where, e)]
        if schema is None:
            return []
        # Any one branch of those the XML root allows will do.
        found = []
        for bp in branches:
            errors = list(self.validator(bp).iter_errors(value))
            if not errors:
                return []
            found.append(errors[0])
        return ["%s: %s" % (where, self.explain(found[0]))]

    @staticmethod
    def where_in(error):
        return "/" + "/".join(str(p) for p in error.absolute_path)

    def explain(self, e):
        """A failed validation as a sentence; for a oneOf/anyOf, why each
        of its schemas refused the value."""
        at = self.where_in(e)
        if e.validator not in ("oneOf", "anyOf") or not e.context:
            return "%s at %s" % (e.message, at)
        by_branch = {}
        for c in e.context:
            by_branch.setdefault(c.schema_path[0], []).append(c)
        parts = []
        for i, errors in sorted(by_branch.items()):
            b = best_match(errors)
            name = e.validator_value[i].get("$ref", "#%d" % i)
            parts.append("%s: %s at %s" % (name.rsplit("/", 1)[-1],
                                           b.message, self.where_in(b)))
        return "matches none of its schemas at %s (%s)" % (at,
                                                           "; ".join(parts))

    def decode(self, base, body, schema, pointer):
        """(the body as the value its schema describes, the pointers of
        the schemas it must meet one of), or ValueError."""
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        if base == "application/json" or base.endswith("+json"):
            try:
                return json.loads(text), [pointer]
            except ValueError as e:
                raise ValueError("the body is not JSON (%s)" % e) from None
        resolved = self.resolve(schema, pointer)[0] if schema else {}
        if "xml" not in base or resolved.get("type") == "string" or \
                "const" in resolved:
            return text, [pointer]
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            raise ValueError("the body is not XML (%s)" % e) from None
        roots = self.xml_roots(schema, pointer)
        if not roots:
            return self.xml_value(root, top=True), [pointer]
        if root.tag not in roots:
            raise ValueError("XML root <%s>, expected one of <%s>"
                             % (root.tag, ">, <".join(sorted(roots))))
        return self.xml_value(root, top=True), roots[root.tag]

    def xml_roots(self, schema, pointer):
        """{root element name: [pointers of the schemas for it]}: the
        schema's xml.name, or each oneOf/anyOf branch's (a branch without
        one has its parent's)."""
        own = (schema.get("xml") or {}).get("name")
        roots = {}
        for key in ("oneOf", "anyOf"):
            for i, branch in enumerate(schema.get(key, ())):
                name = (branch.get("xml") or {}).get("name") or own
                if name:
                    roots.setdefault(name, []).append(
                        "%s/%s/%d" % (pointer, key, i))
        if not roots and own:
            roots[own] = [pointer]
        if not roots and "$ref" in schema:
            inner, ip = self.resolve(schema, pointer)
            return self.xml_roots(inner, ip)
        return roots

    def xml_value(self, elem, top=False):
        if not top and elem.tag in self.wrapped_arrays:
            return [self.xml_value(c) for c in elem]
        if len(elem) or top:
            obj = {}
            for c in elem:
                if c.tag in obj:
                    # A repeated element where an object was expected:
                    # keep both, so the schema refuses it.
                    obj[c.tag] = [obj[c.tag], self.xml_value(c)]
                else:
                    obj[c.tag] = self.xml_value(c)
            return obj
        return elem.text or ""


_SPEC = None
_SPEC_LOCK = threading.Lock()


def load_spec(path=SPEC_PATH):
    with open(path, encoding="utf-8") as f:
        return Spec(yaml.safe_load(f))


def spec():
    """The repository's document, loaded once."""
    global _SPEC
    with _SPEC_LOCK:
        if _SPEC is None:
            _SPEC = load_spec()
        return _SPEC


def check_reply(reply, against=None):
    """Raises AssertionError when a client Reply breaks the document."""
    s = against or spec()
    problems = s.reply_problems(reply.method, reply.url, reply.status,
                                reply.headers, reply.raw)
    if problems:
        raise AssertionError(
            "the reply breaks docs/openapi.yaml:\n  %s\n%s"
            % ("\n  ".join(problems), reply.describe()))


# ---- the document itself ----

SCHEME_TYPES = {"apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"}
PARAM_IN = {"query", "header", "path", "cookie"}
TOP_KEYS = {"openapi", "info", "jsonSchemaDialect", "servers", "paths",
            "webhooks", "components", "security", "tags", "externalDocs"}
ITEM_KEYS = {"$ref", "summary", "description", "servers",
             "parameters"} | set(METHODS)
COMPONENT_KEYS = {"schemas", "responses", "parameters", "examples",
                  "requestBodies", "headers", "securitySchemes", "links",
                  "callbacks", "pathItems"}
STATUS_RE = re.compile(r"^([1-5][0-9][0-9]|[1-5]XX|default)$")


def _extra_keys(obj, allowed):
    return sorted(k for k in obj if k not in allowed
                  and not str(k).startswith("x-"))


class _DocCheck:
    """The structural checks of spec_problems(), one object per run."""

    def __init__(self, doc):
        self.doc = doc
        self.spec = Spec(doc)
        self.problems = []

    def bad(self, where, msg):
        self.problems.append("%s: %s" % (where, msg))

    def deref(self, node, where):
        """node behind its $refs; {} for a dangling one (refs() says so)."""
        try:
            return self.spec.resolve(node, where)[0]
        except (KeyError, ValueError, IndexError):
            return {}

    def refs(self, node, where):
        """Every $ref resolves inside the document."""
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                try:
                    if not ref.startswith("#"):
                        raise KeyError(ref)
                    pointer_get(self.doc, urllib.parse.unquote(ref[1:]))
                except (KeyError, ValueError, IndexError):
                    self.bad(where, "$ref %r does not resolve" % ref)
            for k, v in node.items():
                self.refs(v, "%s/%s" % (where, pointer_escape(k)))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self.refs(v, "%s/%d" % (where, i))

    def schema(self, node, where):
        try:
            Draft202012Validator.check_schema(node)
        except Exception as e:  # SchemaError, with its message
            self.bad(where, "not a JSON Schema 2020-12 schema: %s"
                     % getattr(e, "message", e))

    def top(self):
        d = self.doc
        if not re.match(r"^3\.1\.[0-9]+$", str(d.get("openapi", ""))):
            self.bad("openapi", "must be 3.1.x, is %r" % d.get("openapi"))
        for k in _extra_keys(d, TOP_KEYS):
            self.bad(k, "not an OpenAPI 3.1 field")
        info = d.get("info")
        if not isinstance(info, dict) or not isinstance(
                info.get("title"), str) or not isinstance(
                info.get("version"), str):
            self.bad("info", "needs the strings title and version")
        if not any(k in d for k in ("paths", "components", "webhooks")):
            self.bad("/", "needs paths, components or webhooks")
        for k in ("paths", "webhooks", "components"):
            if k in d and not isinstance(d[k], dict):
                self.bad(k, "must be a map")
        for k in _extra_keys(d.get("components") or {}, COMPONENT_KEYS):
            self.bad("components/" + k, "not a component type")

    def security(self, reqs, where):
        schemes = (self.doc.get("components") or {}).get(
            "securitySchemes") or {}
        for req in reqs or ():
            for name in req:
                if name not in schemes:
                    self.bad(where, "security scheme %r is not defined"
                             % name)

    def schemes(self):
        schemes = (self.doc.get("components") or {}).get(
            "securitySchemes") or {}
        for name, s in schemes.items():
            where = "securitySchemes/" + name
            t = s.get("type")
            if t not in SCHEME_TYPES:
                self.bad(where, "type %r is not a scheme type" % t)
            if t == "apiKey" and (s.get("in") not in ("query", "header",
                                                      "cookie")
                                  or not s.get("name")):
                self.bad(where, "an apiKey scheme needs name and in")
            if t == "http" and not s.get("scheme"):
                self.bad(where, "an http scheme needs scheme")

    def parameter(self, p, where):
        p = self.deref(p, where)
        if not p.get("name") or p.get("in") not in PARAM_IN:
            self.bad(where, "a parameter needs name and in (one of %s)"
                     % ", ".join(sorted(PARAM_IN)))
        if ("schema" in p) == ("content" in p):
            self.bad(where, "a parameter needs schema or content, not both")
        if p.get("in") == "path" and p.get("required") is not True:
            self.bad(where, "a path parameter must be required")
        return p

    def operation(self, op, where, template, inherited, op_ids, tags):
        oid = op.get("operationId")
        if oid is not None:
            if oid in op_ids:
                self.bad(where, "operationId %r is used twice" % oid)
            op_ids.add(oid)
        for t in op.get("tags", ()):
            if t not in tags:
                self.bad(where, "tag %r is not declared" % t)
        self.security(op.get("security"), where)
        params = list(inherited)
        for i, p in enumerate(op.get("parameters", ())):
            params.append(self.parameter(p, "%s/parameters/%d" % (where, i)))
        declared = {p.get("name") for p in params if p.get("in") == "path"}
        for name in re.findall(r"\{([^}]+)\}", template):
            if name not in declared:
                self.bad(where, "path parameter {%s} is not declared" % name)
        responses = op.get("responses")
        if not isinstance(responses, dict) or not responses:
            self.bad(where, "needs responses")
            return
        for code, r in responses.items():
            rw = "%s/responses/%s" % (where, code)
            if not STATUS_RE.match(str(code)):
                self.bad(rw, "not an HTTP status code")
            r = self.deref(r, rw)
            if not isinstance(r.get("description"), str):
                self.bad(rw, "a response needs a description")

    def paths(self):
        tags = {t.get("name") for t in self.doc.get("tags", ())}
        op_ids = set()
        for template, item in (self.doc.get("paths") or {}).items():
            where = "paths/" + template
            if not template.startswith("/"):
                self.bad(where, "a path must start with /")
            for k in _extra_keys(item, ITEM_KEYS):
                self.bad(where, "%r is not a path item field" % k)
            inherited = [self.parameter(p, "%s/parameters/%d" % (where, i))
                         for i, p in enumerate(item.get("parameters", ()))]
            for m in METHODS:
                if m in item:
                    self.operation(item[m], "%s/%s" % (where, m), template,
                                   inherited, op_ids, tags)

    def schemas(self, node, where, in_schema=False):
        """Checks every schema: components/schemas and each `schema`."""
        if isinstance(node, dict):
            for k, v in node.items():
                w = "%s/%s" % (where, k)
                if not in_schema and k == "schema" and isinstance(v, dict):
                    self.schema(v, w)
                elif isinstance(v, (dict, list)):
                    self.schemas(v, w, in_schema)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self.schemas(v, "%s/%d" % (where, i), in_schema)

    def run(self):
        self.top()
        self.refs(self.doc, "")
        self.schemes()
        self.security(self.doc.get("security"), "security")
        self.paths()
        for name, s in ((self.doc.get("components") or {}).get(
                "schemas") or {}).items():
            self.schema(s, "components/schemas/" + name)
        self.schemas({k: v for k, v in self.doc.items() if k != "components"}
                     , "")
        comps = self.doc.get("components") or {}
        self.schemas({k: v for k, v in comps.items() if k != "schemas"},
                     "components")
        return self.problems


def spec_problems(doc):
    """What keeps doc from being a valid OpenAPI 3.1 document (as far as
    the fields this project uses go), as sentences; [] when none."""
    if not isinstance(doc, dict):
        return ["the document is not a map"]
    return _DocCheck(doc).run()
