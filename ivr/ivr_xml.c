/*
 * Template loading, validation and rendering for the IVR (ivr_xml.h).
 * Templates are parsed into DOM trees once; an answer is a copy of the tree
 * whose text nodes get their placeholders replaced, serialised by libxml2
 * (which does all the escaping).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "err.h"
#include "ivr_xml.h"
#include "sms.h"
#include "util.h"

#define LANG_MAX 4

static const char *const page_files[IVR_PAGE_COUNT] = {
	[IVR_GREETING] = "greeting.xml",   [IVR_REPEAT] = "repeat.xml",
	[IVR_CONFIRMED] = "confirmed.xml", [IVR_REPORTED] = "reported.xml",
	[IVR_GOODBYE] = "goodbye.xml",     [IVR_ENDED] = "ended.xml",
};

/* The languages we ship; sms_language() maps `lg` onto them. */
static const char *const languages[] = {"en", "hi"};

/* KooKoo's tags we use, and the attributes each may carry. */
static const struct {
	const char *tag;
	const char *attrs[6];
} kookoo_tags[] = {
	{"response", {"sid", "filler", NULL}},
	{"playtext", {"lang", "speed", "quality", "type", NULL}},
	{"say-as", {"format", "lang", NULL}},
	{"collectdtmf", {"l", "t", "o", NULL}},
	{"playaudio", {NULL}},
	{"hangup", {NULL}},
};

static const char *const placeholders[] = {"{brand}", "{pin}",
					   "{repetitions_left}"};

static xmlDocPtr pages[ARRAY_LEN(languages)][IVR_PAGE_COUNT];

static int tag_index(const xmlChar *name)
{
	for (size_t i = 0; i < ARRAY_LEN(kookoo_tags); i++)
		if (xmlStrEqual(name, (const xmlChar *)kookoo_tags[i].tag))
			return (int)i;
	return -1;
}

static int attr_allowed(int tag, const xmlChar *name)
{
	for (const char *const *a = kookoo_tags[tag].attrs; *a; a++)
		if (xmlStrEqual(name, (const xmlChar *)*a))
			return 1;
	return 0;
}

/* Every "{...}" in a text must be one of ours. */
static const char *bad_placeholder(const char *text)
{
	const char *p = text;

	while ((p = strchr(p, '{')) != NULL) {
		size_t i;

		for (i = 0; i < ARRAY_LEN(placeholders); i++)
			if (strncmp(p, placeholders[i],
				    strlen(placeholders[i])) == 0)
				break;
		if (i == ARRAY_LEN(placeholders))
			return p;
		p++;
	}
	return NULL;
}

static int attr_has_brace(xmlAttrPtr a)
{
	xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
	int brace = v && strchr((const char *)v, '{') != NULL;

	xmlFree(v);
	return brace;
}

/* The DOM walkers recurse: templates nest at most three levels (checked). */
// NOLINTNEXTLINE(misc-no-recursion)
static int validate_node(xmlNodePtr n, const char *path, char *err,
			 size_t errlen, int depth)
{
	for (; n; n = n->next) {
		int tag;

		if (n->type == XML_COMMENT_NODE)
			continue;
		if (n->type == XML_TEXT_NODE) {
			const char *bad =
				bad_placeholder((const char *)n->content);

			if (bad) {
				snprintf(
					err, errlen,
					"%s:%ld: unknown placeholder \"%.20s\"",
					path, xmlGetLineNo(n), bad);
				return KV_ECONFIG;
			}
			continue;
		}
		if (n->type != XML_ELEMENT_NODE) {
			snprintf(err, errlen, "%s:%ld: unexpected node", path,
				 xmlGetLineNo(n));
			return KV_ECONFIG;
		}
		tag = tag_index(n->name);
		if (tag < 0 || (depth == 0) != (tag == 0) || depth > 2) {
			snprintf(err, errlen,
				 "%s:%ld: tag <%s> is not allowed "
				 "here",
				 path, xmlGetLineNo(n), (const char *)n->name);
			return KV_ECONFIG;
		}
		for (xmlAttrPtr a = n->properties; a; a = a->next) {
			if (!attr_allowed(tag, a->name)) {
				snprintf(err, errlen,
					 "%s:%ld: attribute \"%s\" "
					 "is not allowed on <%s>",
					 path, xmlGetLineNo(n),
					 (const char *)a->name,
					 (const char *)n->name);
				return KV_ECONFIG;
			}
			/* Only texts are filled: a placeholder here would
			 * reach KooKoo as it is. */
			if (attr_has_brace(a)) {
				snprintf(err, errlen,
					 "%s:%ld: \"{\" in attribute \"%s\" "
					 "of <%s>: only texts are filled",
					 path, xmlGetLineNo(n),
					 (const char *)a->name,
					 (const char *)n->name);
				return KV_ECONFIG;
			}
		}
		if (validate_node(n->children, path, err, errlen, depth + 1))
			return KV_ECONFIG;
	}
	return 0;
}

/* Template comments are for their authors, not for KooKoo. */
// NOLINTNEXTLINE(misc-no-recursion)
static void strip_comments(xmlNodePtr n)
{
	while (n) {
		xmlNodePtr next = n->next;

		if (n->type == XML_COMMENT_NODE) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		} else {
			strip_comments(n->children);
		}
		n = next;
	}
}

/* Parses and validates; the caller owns the returned document. */
/* The first parse error of a file: later ones are usually its echoes. */
struct first_error {
	int set;
	int line;
	char message[160];
};

static void keep_first_error(void *ctx, xmlErrorPtr e)
{
	struct first_error *fe = ctx;

	if (fe->set || !e)
		return;
	fe->set = 1;
	fe->line = e->line;
	snprintf(fe->message, sizeof(fe->message), "%s",
		 e->message ? e->message : "cannot parse");
	fe->message[strcspn(fe->message, "\n")] = '\0';
}

static xmlDocPtr load_file(const char *path, char *err, size_t errlen)
{
	struct first_error fe = {0};
	xmlDocPtr doc;
	xmlNodePtr root;

	/* Templates load at start-up, before any thread: the handler is ours. */
	xmlSetStructuredErrorFunc(&fe, keep_first_error);
	doc = xmlReadFile(path, "UTF-8",
			  XML_PARSE_NONET | XML_PARSE_NOERROR |
				  XML_PARSE_NOWARNING);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (!doc) {
		if (fe.line > 0)
			snprintf(err, errlen, "%s:%d: %s", path, fe.line,
				 fe.set ? fe.message : "cannot parse");
		else
			snprintf(err, errlen, "%s: %s", path,
				 fe.set ? fe.message : "cannot read");
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (doc->intSubset) {
		/* A DTD node has no line of its own: it precedes the root. */
		snprintf(err, errlen,
			 "%s:%ld: a DTD is not allowed (before <%s>)", path,
			 root ? xmlGetLineNo(root) - 1 : 1L,
			 root ? (const char *)root->name : "response");
		xmlFreeDoc(doc);
		return NULL;
	}
	/* From the first child of the document, not the root: a processing
	 * instruction before <response> would be sent to KooKoo. */
	if (validate_node(doc->children, path, err, errlen, 0)) {
		xmlFreeDoc(doc);
		return NULL;
	}
	strip_comments(doc->children);
	return doc;
}

int ivr_xml_validate_file(const char *path, char *err, size_t errlen)
{
	xmlDocPtr doc = load_file(path, err, errlen);

	xmlFreeDoc(doc);
	return doc ? 0 : KV_ECONFIG;
}

int ivr_xml_load(const char *dir, char *err, size_t errlen)
{
	char path[1024];

	for (size_t l = 0; l < ARRAY_LEN(languages); l++)
		for (int p = 0; p < IVR_PAGE_COUNT; p++) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir,
				 languages[l], page_files[p]);
			pages[l][p] = load_file(path, err, errlen);
			if (!pages[l][p]) {
				ivr_xml_free();
				return KV_ECONFIG;
			}
		}
	return 0;
}

void ivr_xml_free(void)
{
	for (size_t l = 0; l < ARRAY_LEN(languages); l++)
		for (int p = 0; p < IVR_PAGE_COUNT; p++) {
			xmlFreeDoc(pages[l][p]);
			pages[l][p] = NULL;
		}
}

/* Replaces the placeholders of one text into a new string (caller frees). */
static char *fill_text(const char *t, const struct ivr_fill *f)
{
	struct buf b;
	char reps[16];

	snprintf(reps, sizeof(reps), "%d", f->repetitions_left);
	buf_init(&b, 65536);
	while (*t) {
		const char *v = NULL;
		size_t skip = 1;

		if (strncmp(t, "{brand}", 7) == 0)
			v = f->brand, skip = 7;
		else if (strncmp(t, "{pin}", 5) == 0)
			v = f->pin, skip = 5;
		else if (strncmp(t, "{repetitions_left}", 18) == 0)
			v = reps, skip = 18;
		if (v ? buf_append_str(&b, v) : buf_append(&b, t, 1)) {
			buf_release(&b);
			return NULL;
		}
		t += skip;
	}
	return b.data ? b.data : strdup("");
}

// NOLINTNEXTLINE(misc-no-recursion)
static int fill_node(xmlNodePtr n, const struct ivr_fill *f)
{
	for (; n; n = n->next) {
		if (n->type == XML_TEXT_NODE && n->content &&
		    strchr((const char *)n->content, '{')) {
			char *t = fill_text((const char *)n->content, f);

			if (!t)
				return KV_ENOMEM;
			/* A text node's content is stored as is, escaped on output. */
			xmlNodeSetContent(n, (const xmlChar *)t);
			free(t);
		}
		if (fill_node(n->children, f) != 0)
			return KV_ENOMEM;
	}
	return 0;
}

/* ---- a voice fragment ---- */

/* The words gathered so far go out as one piece, without the blanks
 * around them (the code is read apart anyway), unless they are blank. */
static int words_flush(struct buf *b,
		       int (*piece)(int is_code, const char *s, void *arg),
		       void *arg)
{
	const char *start = b->len ? b->data + strspn(b->data, " ") : "";
	int rc = 0;

	if (*start) {
		while (b->len && b->data[b->len - 1] == ' ')
			b->data[--b->len] = '\0';
		rc = piece(0, start, arg);
	}
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
	return rc;
}

int ivr_voice_split(const char *text, const struct ivr_fill *fill,
		    int (*piece)(int is_code, const char *s, void *arg),
		    void *arg)
{
	static const char code[] = "${code}", brand[] = "${brand}",
			  minutes[] = "${time-limit}",
			  unit[] = "${time-limit-unit}";
	char mins[16];
	struct buf b;
	int rc = 0;

	snprintf(mins, sizeof(mins), "%d", fill->minutes);
	buf_init(&b, 65536);
	while (*text && rc == 0) {
		const char *v = NULL;
		size_t skip = 1;

		if (strncmp(text, code, sizeof(code) - 1) == 0) {
			rc = words_flush(&b, piece, arg);
			if (rc == 0)
				rc = piece(1, fill->pin, arg);
			text += sizeof(code) - 1;
			continue;
		}
		if (strncmp(text, brand, sizeof(brand) - 1) == 0)
			v = fill->brand, skip = sizeof(brand) - 1;
		else if (strncmp(text, unit, sizeof(unit) - 1) == 0)
			v = "minutes", skip = sizeof(unit) - 1;
		else if (strncmp(text, minutes, sizeof(minutes) - 1) == 0)
			v = mins, skip = sizeof(minutes) - 1;
		rc = v ? buf_append_str(&b, v) : buf_append(&b, text, 1);
		if (rc != 0)
			rc = KV_ENOMEM;
		text += skip;
	}
	if (rc == 0)
		rc = words_flush(&b, piece, arg);
	buf_release(&b);
	return rc;
}

/*
 * Where a fragment's pieces go: before the page's menu, as copies of the
 * page's own first <playtext> (words) and <say-as> (the code), so that
 * they keep the language and the digit-by-digit reading the page has.
 */
struct voice_out {
	xmlDocPtr doc;
	xmlNodePtr root, menu;
	xmlNodePtr words, code; /* the prototypes */
};

static int voice_piece(int is_code, const char *s, void *arg)
{
	struct voice_out *v = arg;
	xmlNodePtr proto = is_code ? v->code : v->words;
	xmlNodePtr n =
		proto ? xmlDocCopyNode(proto, v->doc, 2)
		      : xmlNewDocNode(v->doc, NULL,
				      (const xmlChar *)(is_code ? "say-as"
								: "playtext"),
				      NULL);
	/* A text node: stored as it is, escaped when written. */
	xmlNodePtr t = n ? xmlNewDocText(v->doc, (const xmlChar *)s) : NULL;

	if (!t) {
		xmlFreeNode(n);
		return KV_ENOMEM;
	}
	xmlAddChild(n, t);
	if (!proto && is_code)
		xmlSetProp(n, (const xmlChar *)"format",
			   (const xmlChar *)"501");
	if (v->menu)
		xmlAddPrevSibling(v->menu, n);
	else
		xmlAddChild(v->root, n);
	return 0;
}

static int is_element(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	       xmlStrEqual(n->name, (const xmlChar *)name);
}

/*
 * Replaces what the page says before its menu (<collectdtmf>) with the
 * fragment's pieces; the menu, the keys' own instructions, stays.
 */
static int voice_place(xmlDocPtr doc, const struct ivr_fill *fill)
{
	struct voice_out v = {doc, xmlDocGetRootElement(doc), NULL, NULL, NULL};
	xmlNodePtr hold =
		xmlNewDocNode(doc, NULL, (const xmlChar *)"hold", NULL);
	xmlNodePtr n = v.root ? v.root->children : NULL;
	int rc;

	if (!hold || !v.root) {
		xmlFreeNode(hold);
		return KV_ENOMEM;
	}
	while (n && !is_element(n, "collectdtmf")) {
		xmlNodePtr next = n->next;

		if (!v.words && is_element(n, "playtext"))
			v.words = n;
		if (!v.code && is_element(n, "say-as"))
			v.code = n;
		xmlUnlinkNode(n);
		if (!xmlAddChild(hold, n))
			xmlFreeNode(n);
		n = next;
	}
	v.menu = n;
	rc = ivr_voice_split(fill->voice, fill, voice_piece, &v);
	xmlFreeNode(hold);
	return rc;
}

int ivr_xml_render(enum ivr_page page, const char *lg,
		   const struct ivr_fill *fill, char **out, size_t *outlen)
{
	const char *lang = sms_language(lg);
	size_t l = 0;
	xmlDocPtr doc;
	xmlChar *mem = NULL;
	int len = 0;

	if ((int)page < 0 || page >= IVR_PAGE_COUNT)
		return KV_EINVAL;
	while (l < ARRAY_LEN(languages) && strcmp(languages[l], lang) != 0)
		l++;
	if (l == ARRAY_LEN(languages) || !pages[l][page])
		l = 0;
	doc = xmlCopyDoc(pages[l][page], 1);
	if (!doc || fill_node(xmlDocGetRootElement(doc), fill) != 0 ||
	    ((page == IVR_GREETING || page == IVR_REPEAT) && fill->voice &&
	     *fill->voice && voice_place(doc, fill) != 0)) {
		xmlFreeDoc(doc);
		return KV_ENOMEM;
	}
	if (fill->sid)
		xmlSetProp(xmlDocGetRootElement(doc), (const xmlChar *)"sid",
			   (const xmlChar *)fill->sid);
	xmlDocDumpFormatMemoryEnc(doc, &mem, &len, "UTF-8", 1);
	xmlFreeDoc(doc);
	if (!mem)
		return KV_ENOMEM;
	*out = malloc((size_t)len + 1);
	if (*out) {
		memcpy(*out, mem, (size_t)len + 1);
		*outlen = (size_t)len;
	}
	xmlFree(mem);
	return *out ? 0 : KV_ENOMEM;
}
