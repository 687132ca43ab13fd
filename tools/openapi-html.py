#!/usr/bin/env python3
"""Renders docs/openapi.yaml as one static HTML page, docs/api-reference.html:
no script, no network, no build step, the same bytes for the same document.

Usage: tools/openapi-html.py [SPEC [OUT]]   (OUT "-" writes to stdout)

The integration tests render it again and compare (test_openapi.py), so the
committed page cannot drift from the document: after editing the YAML, run
this script and commit both.
"""

import html
import json
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(HERE, "..", "docs")
METHODS = ("get", "post", "put", "patch", "delete", "head", "options",
           "trace")

STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:0 auto;
padding:1rem 2rem;color:#1d1d1f}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #ddd;margin-top:2.5rem}
h3{margin:1.8rem 0 .3rem;font-family:ui-monospace,monospace;font-size:1.05rem}
code,.mono{font-family:ui-monospace,monospace;font-size:.9em}
code{background:#f3f3f5;padding:0 .2em;border-radius:3px}
table{border-collapse:collapse;margin:.4rem 0 1rem;width:100%}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;
vertical-align:top}th{background:#f6f6f8}
.m{display:inline-block;min-width:4.5em;text-align:center;border-radius:3px;
color:#fff;font-weight:bold;margin-right:.4em}
.get{background:#2b7a3d}.post{background:#1f5fa8}.head{background:#6b6b6b}
.options{background:#8a5a00}.op{border-left:3px solid #ddd;padding-left:1rem}
.req{color:#b00020}.toc li{list-style:none}.note{color:#555}
"""


def esc(s):
    return html.escape(str(s), quote=True)


def inline_md(text):
    """`code`, **bold** and [text](url) of an escaped line."""
    out = []
    for i, part in enumerate(re.split(r"(`[^`]*`)", text)):
        if i % 2:
            out.append("<code>%s</code>" % esc(part[1:-1]))
            continue
        part = esc(part)
        part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
        part = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>',
                      part)
        out.append(part)
    return "".join(out)


def md(text):
    """The Markdown subset the document uses: paragraphs, `- ` lists and
    inline marks."""
    blocks = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        lines = block.split("\n")
        if lines[0].startswith("- "):
            items, cur = [], []
            for line in lines:
                if line.startswith("- ") and cur:
                    items.append(" ".join(cur))
                    cur = []
                cur.append(line[2:] if line.startswith("- ") else
                           line.strip())
            items.append(" ".join(cur))
            blocks.append("<ul>%s</ul>" % "".join(
                "<li>%s</li>" % inline_md(i) for i in items))
        elif block.strip():
            blocks.append("<p>%s</p>" % inline_md(" ".join(
                line.strip() for line in lines)))
    return "\n".join(blocks)


class Page:
    def __init__(self, doc):
        self.doc = doc
        self.comp = doc.get("components", {})
        self.out = []

    def w(self, s):
        self.out.append(s)

    # -- references and schemas --

    def deref(self, node):
        """(node, component name or None) behind a $ref."""
        name = None
        while isinstance(node, dict) and "$ref" in node:
            parts = node["$ref"].lstrip("#/").split("/")
            name = parts[-1]
            target = self.doc
            for p in parts:
                target = target[p.replace("~1", "/").replace("~0", "~")]
            node = target
        return node, name

    @staticmethod
    def schema_link(ref):
        name = ref.rsplit("/", 1)[-1]
        if "/schemas/" in ref:
            return '<a href="#schema-%s">%s</a>' % (esc(name), esc(name))
        return esc(name)

    def type_text(self, s):
        """A schema in one line of HTML."""
        if s is False:
            return "never present"
        if not isinstance(s, dict):
            return "any"
        parts = []
        if "$ref" in s:
            parts.append(self.schema_link(s["$ref"]))
        if "const" in s:
            parts.append("<code>%s</code>" % esc(json.dumps(
                s["const"], ensure_ascii=False)))
        if "enum" in s:
            parts.append("one of " + ", ".join(
                "<code>%s</code>" % esc(json.dumps(v, ensure_ascii=False))
                for v in s["enum"]))
        for key, word in (("oneOf", "one of"), ("anyOf", "any of"),
                          ("allOf", "all of")):
            if key in s:
                parts.append("%s %s" % (word, ", ".join(
                    self.type_text(b) for b in s[key])))
        t = s.get("type")
        if t == "array":
            parts.append("array of %s" % self.type_text(s.get("items", {})))
        elif t == "object" and "properties" in s and "$ref" not in s:
            parts.append("object")
        elif t:
            parts.append(" or ".join(t) if isinstance(t, list) else t)
        limits = []
        for key, fmt in (("pattern", "matching <code>%s</code>"),
                         ("minLength", "at least %s characters"),
                         ("maxLength", "at most %s characters"),
                         ("minimum", "&ge; %s"), ("maximum", "&le; %s"),
                         ("minItems", "at least %s items"),
                         ("maxItems", "at most %s items")):
            if key in s:
                limits.append(fmt % esc(s[key]))
        if "$ref" in s and "properties" in s:
            limits.append("with " + "; ".join(
                "<code>%s</code> %s" % (esc(k), self.type_text(v))
                for k, v in s["properties"].items()))
        if (s.get("xml") or {}).get("name"):
            limits.append("XML element <code>&lt;%s&gt;</code>"
                          % esc(s["xml"]["name"]))
        text = " ".join(parts) or ("text" if limits else "any")
        return text + (" (%s)" % ", ".join(limits) if limits else "")

    def props_table(self, s):
        props = s.get("properties") or {}
        if not props:
            return
        required = set(s.get("required", ()))
        self.w("<table><tr><th>name</th><th>type</th><th>description</th>"
               "</tr>")
        for name, p in props.items():
            desc = p.get("description", "") if isinstance(p, dict) else ""
            if isinstance(p, dict) and "$ref" in p and not desc:
                desc = self.deref(p)[0].get("description", "")
            self.w('<tr><td class="mono">%s%s</td><td>%s</td><td>%s</td>'
                   "</tr>" % (esc(name), ' <span class="req">*</span>'
                              if name in required else "",
                              self.type_text(p), inline_md(desc)))
        self.w("</table>")

    def schema_body(self, s):
        """A schema's own constraints, then its members."""
        if s.get("description"):
            self.w(md(s["description"]))
        rules = [b for b in s.get("allOf", ()) if "if" in b]
        if rules and len(rules) == len(s["allOf"]):
            self.w("<table><tr><th>when</th><th>then</th></tr>%s</table>" % (
                "".join("<tr><td>%s</td><td>%s</td></tr>" % (
                    self.cond_text(b["if"], "is"),
                    self.cond_text(b.get("then", {}), "is"))
                    for b in rules)))
            return
        head = dict(s)
        head.pop("description", None)
        if "$ref" not in s:
            head.pop("properties", None)
            if s.get("type") == "object":
                head.pop("type")
        for key in ("if", "then", "else"):
            head.pop(key, None)
        summary = self.type_text(head)
        if summary != "any":
            self.w("<p>%s</p>" % summary)
        if "if" in s:
            self.w('<p class="note">When %s: %s; otherwise: %s.</p>' % (
                self.cond_text(s["if"], "is"), self.cond_text(s.get("then", {})),
                self.cond_text(s.get("else", {}))))
        if "$ref" not in s:
            self.props_table(s)

    def cond_text(self, s, verb=""):
        if "required" in s:
            return "%s required" % ", ".join(
                "<code>%s</code>" % esc(r) for r in s["required"])
        if "not" in s and "required" in s["not"]:
            return "no %s" % ", ".join(
                "<code>%s</code>" % esc(r) for r in s["not"]["required"])
        return "; ".join("<code>%s</code> %s%s" % (
            esc(k), verb + " " if verb else "", self.type_text(v))
            for k, v in s.get("properties", {}).items())

    # -- operations --

    def security_text(self, op):
        reqs = op.get("security", self.doc.get("security", []))
        if not reqs:
            return "none"
        return " or ".join(" + ".join(esc(n) for n in r) for r in reqs)

    def parameters(self, params):
        rows = []
        for p in params:
            p, _ = self.deref(p)
            if p.get("style") == "form" and p.get("explode") and \
                    "$ref" in p.get("schema", {}):
                rows.append("<p>Query string: the members of %s.</p>"
                            % self.schema_link(p["schema"]["$ref"]))
                continue
            rows.append('<p><span class="mono">%s</span> (%s%s): %s %s</p>'
                        % (esc(p["name"]), esc(p["in"]),
                           ", required" if p.get("required") else "",
                           self.type_text(p.get("schema", {})),
                           inline_md(p.get("description", ""))))
        self.w("".join(rows))

    def content(self, content):
        for media, m in content.items():
            s = (m or {}).get("schema")
            self.w("<div><code>%s</code>: %s</div>"
                   % (esc(media), self.type_text(s) if s else "any"))
            if isinstance(s, dict) and s.get("type") == "object" and \
                    "properties" in s:
                self.props_table(s)

    def responses(self, responses):
        self.w("<table><tr><th>HTTP</th><th>reply</th></tr>")
        for code, r in responses.items():
            r, name = self.deref(r)
            self.w('<tr><td class="mono">%s</td><td>' % esc(code))
            if name:
                self.w('<span class="note">%s</span> ' % esc(name))
            self.w(md(r.get("description", "")))
            for h, hv in (r.get("headers") or {}).items():
                hv, _ = self.deref(hv)
                self.w("<div>header <code>%s</code>%s: %s</div>" % (
                    esc(h), " (always)" if hv.get("required") else "",
                    self.type_text(hv.get("schema", {}))))
            self.content(r.get("content") or {})
            self.w("</td></tr>")
        self.w("</table>")

    def operation(self, path, method, op, item):
        oid = op.get("operationId", method + path)
        self.w('<div class="op" id="op-%s">' % esc(oid))
        self.w('<h3><span class="m %s">%s</span>%s</h3>'
               % (method, method.upper(), esc(path)))
        self.w("<p><strong>%s</strong></p>" % inline_md(op.get("summary",
                                                               "")))
        if op.get("description"):
            self.w(md(op["description"]))
        self.w("<p>Credentials: %s</p>" % self.security_text(op))
        params = list(item.get("parameters", ())) + list(
            op.get("parameters", ()))
        if params:
            self.parameters(params)
        if "requestBody" in op:
            body, _ = self.deref(op["requestBody"])
            self.w("<p>Body:</p>")
            self.content(body.get("content", {}))
        self.responses(op.get("responses", {}))
        self.w("</div>")

    def operations_by_tag(self):
        by_tag = {t["name"]: [] for t in self.doc.get("tags", ())}
        for path, item in self.doc.get("paths", {}).items():
            for m in METHODS:
                if m in item:
                    tag = (item[m].get("tags") or ["Other"])[0]
                    by_tag.setdefault(tag, []).append((path, m, item[m],
                                                       item))
        return by_tag

    # -- the page --

    def render(self):
        info = self.doc.get("info", {})
        by_tag = self.operations_by_tag()
        self.w("<!DOCTYPE html>\n<html lang=\"en\"><head>"
               "<meta charset=\"utf-8\">")
        self.w("<title>%s %s</title>" % (esc(info.get("title")),
                                         esc(info.get("version"))))
        self.w("<style>%s</style></head><body>" % STYLE.strip())
        self.w("<!-- Generated from docs/openapi.yaml by "
               "tools/openapi-html.py; do not edit. -->")
        self.w("<h1>%s</h1><p class=\"note\">Version %s, OpenAPI %s. "
               "Generated from <a href=\"openapi.yaml\">openapi.yaml</a>; "
               "the prose reference is <a href=\"API.md\">API.md</a>.</p>"
               % (esc(info.get("title")), esc(info.get("version")),
                  esc(self.doc.get("openapi"))))
        if info.get("summary"):
            self.w("<p><strong>%s</strong></p>" % inline_md(info["summary"]))
        self.w(md(info.get("description", "")))
        self.w("<h2 id=\"contents\">Contents</h2><ul class=\"toc\">")
        for tag, ops in by_tag.items():
            if not ops:
                continue
            self.w('<li><a href="#tag-%s"><strong>%s</strong></a><ul>'
                   % (esc(tag), esc(tag)))
            paths = {}
            for path, m, op, _ in ops:
                paths.setdefault(path, []).append((m, op))
            for path, mops in paths.items():
                self.w('<li>%s <span class="mono">%s</span></li>' % (
                    "".join('<a href="#op-%s"><span class="m %s">%s</span>'
                            "</a>" % (esc(op.get("operationId")), m,
                                      m.upper()) for m, op in mops),
                    esc(path)))
            self.w("</ul></li>")
        self.w('<li><a href="#credentials"><strong>Credentials'
               '</strong></a></li><li><a href="#schemas"><strong>Schemas'
               "</strong></a></li></ul>")
        self.w('<h2 id="credentials">Credentials</h2><table><tr>'
               "<th>scheme</th><th>how</th><th>description</th></tr>")
        for name, s in self.comp.get("securitySchemes", {}).items():
            how = ("HTTP %s" % s.get("scheme")) if s.get("type") == "http" \
                else "<code>%s</code> (%s)" % (esc(s.get("name")),
                                               esc(s.get("in")))
            self.w('<tr><td class="mono">%s</td><td>%s</td><td>%s</td></tr>'
                   % (esc(name), how, md(s.get("description", ""))))
        self.w("</table>")
        tags = {t["name"]: t for t in self.doc.get("tags", ())}
        for tag, ops in by_tag.items():
            if not ops:
                continue
            self.w('<h2 id="tag-%s">%s</h2>' % (esc(tag), esc(tag)))
            self.w(md(tags.get(tag, {}).get("description", "")))
            for path, m, op, item in ops:
                self.operation(path, m, op, item)
        hooks = self.doc.get("webhooks") or {}
        self.w("<h2 id=\"webhooks\">Webhooks</h2><p>%s</p>" % (
            "None: the server sends no notifications to applications."
            if not hooks else ", ".join(esc(k) for k in hooks)))
        self.w('<h2 id="schemas">Schemas</h2>')
        for name, s in self.comp.get("schemas", {}).items():
            self.w('<h3 id="schema-%s">%s</h3>' % (esc(name), esc(name)))
            self.schema_body(s)
        self.w("</body></html>\n")
        return "\n".join(self.out)


def render(spec_path):
    with open(spec_path, encoding="utf-8") as f:
        return Page(yaml.safe_load(f)).render()


def main(argv):
    spec = argv[1] if len(argv) > 1 else os.path.join(DOCS, "openapi.yaml")
    out = argv[2] if len(argv) > 2 else os.path.join(DOCS,
                                                     "api-reference.html")
    page = render(spec)
    if out == "-":
        sys.stdout.write(page)
    else:
        with open(out, "w", encoding="utf-8") as f:
            f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
