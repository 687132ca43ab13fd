/*
 * Unit tests of ivr/ivr_xml.c: every page in every language rendered with a
 * fixed fill, compared byte for byte with tests/golden/ivr/ and parsed back;
 * broken templates refused with the file and the line; odd fills (a long
 * brand, a brand that looks like a placeholder, an empty PIN) rendered safely.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlstring.h>

#include "err.h"
#include "ivr_xml.h"
#include "table.h"
#include "util.h"

/*
 * The tests run from the repository root (`make unit`); these variables
 * point elsewhere.  IVR_GOLDEN_UPDATE=1 rewrites the golden files from the
 * renderer instead of trusting them: read every file it writes before
 * committing it.
 */
#define GOLDEN_ENV "IVR_GOLDEN_DIR"
#define GOLDEN_DEFAULT "tests/golden/ivr"
#define TEMPLATES_ENV "IVR_TEMPLATES_DIR"
#define TEMPLATES_DEFAULT "xml_templates"
#define UPDATE_ENV "IVR_GOLDEN_UPDATE"

#define FILE_MAX (1024 * 1024)
#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

/* The fixed fill of the golden files. */
#define BRAND "Shop & Co <1>"
#define BRAND_XML "Shop &amp; Co &lt;1&gt;"
#define PIN "4821"
#define SID "123"

static const struct ivr_fill golden_fill = {
	.brand = BRAND,
	.pin = PIN,
	.repetitions_left = 1,
	.sid = SID,
};

/* What each page must hold, independently of the golden files. */
static const struct {
	const char *name;
	int pins;   /* <say-as format="501">PIN</say-as> */
	int brands; /* texts naming the brand */
	int menu;   /* ends with <collectdtmf>, else with <hangup/> */
} pages[IVR_PAGE_COUNT] = {
	[IVR_GREETING] = {"greeting", 2, 1, 1},
	[IVR_REPEAT] = {"repeat", 1, 1, 1},
	[IVR_CONFIRMED] = {"confirmed", 0, 1, 0},
	[IVR_REPORTED] = {"reported", 0, 0, 0},
	[IVR_GOODBYE] = {"goodbye", 0, 1, 0},
	[IVR_ENDED] = {"ended", 0, 1, 0},
};

static const char *const shipped_langs[] = {"en", "hi"};

/* The temporary directory of the validation tests. */
static char tmp_dir[256];

static const char *env_or(const char *var, const char *def)
{
	const char *v = getenv(var);

	return v && *v ? v : def;
}

/* Reads a whole file (NUL-terminated), or NULL when it cannot be read. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t n;

	if (!f)
		return NULL;
	data = malloc(FILE_MAX + 1);
	if (data) {
		n = fread(data, 1, FILE_MAX + 1, f);
		if (ferror(f) || n > FILE_MAX) {
			free(data);
			data = NULL;
		} else {
			data[n] = '\0';
			*len = n;
		}
	}
	fclose(f);
	return data;
}

static void write_all(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		fail_msg("cannot create %s", path);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_str(const char *path, const char *text)
{
	write_all(path, text, strlen(text));
}

/* dir/a[/b]: a path inside the temporary directory or another one. */
static void join(char *out, size_t outlen, const char *dir, const char *a,
		 const char *b)
{
	int n = b ? snprintf(out, outlen, "%s/%s/%s", dir, a, b)
		  : snprintf(out, outlen, "%s/%s", dir, a);

	assert_true(n > 0 && (size_t)n < outlen);
}

/* ---- rendering helpers ---- */

static char *render(enum ivr_page page, const char *lg,
		    const struct ivr_fill *fill, size_t *len)
{
	char *out = NULL;

	assert_int_equal(ivr_xml_render(page, lg, fill, &out, len), 0);
	assert_non_null(out);
	/* The length is the document's, with no NUL inside. */
	assert_int_equal(strlen(out), *len);
	return out;
}

/* Parses a rendered document back: it must be well-formed UTF-8 XML. */
static xmlDocPtr parse_back(const char *xml, size_t len)
{
	xmlDocPtr doc;

	assert_true(xmlCheckUTF8((const xmlChar *)xml));
	doc = xmlReadMemory(xml, (int)len, "rendered.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (!doc)
		fail_msg("rendered document is not well-formed:\n%s", xml);
	assert_null(doc->intSubset);
	return doc;
}

static int count_occurrences(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static int is_element(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE &&
	       xmlStrEqual(n->name, (const xmlChar *)name);
}

/* Content of an element's text, as the callee's phone would read it. */
static int content_equals(xmlNodePtr n, const char *want)
{
	xmlChar *c = xmlNodeGetContent(n);
	int eq = c && strcmp((const char *)c, want) == 0;

	xmlFree(c);
	return eq;
}

static int content_contains(xmlNodePtr n, const char *want)
{
	xmlChar *c = xmlNodeGetContent(n);
	int has = c && strstr((const char *)c, want) != NULL;

	xmlFree(c);
	return has;
}

struct tally {
	int comments;
	int pins;      /* <say-as format="501"> holding the PIN */
	int say_as;    /* every <say-as> */
	int brands;    /* <playtext> naming the brand */
	int responses; /* <response> elements */
	int menus;     /* <collectdtmf> */
	int hangups;
};

static void tally_nodes(xmlNodePtr n, const char *pin, const char *brand,
			struct tally *t)
{
	for (; n; n = n->next) {
		if (n->type == XML_COMMENT_NODE)
			t->comments++;
		if (is_element(n, "say-as")) {
			xmlChar *f = xmlGetProp(n, (const xmlChar *)"format");

			t->say_as++;
			if (f && xmlStrEqual(f, (const xmlChar *)"501") &&
			    content_equals(n, pin))
				t->pins++;
			xmlFree(f);
		}
		if (is_element(n, "playtext") && content_contains(n, brand))
			t->brands++;
		t->responses += is_element(n, "response");
		t->menus += is_element(n, "collectdtmf");
		t->hangups += is_element(n, "hangup");
		tally_nodes(n->children, pin, brand, t);
	}
}

/* The last element child of the root: what KooKoo does at the end. */
static xmlNodePtr last_element(xmlNodePtr root)
{
	xmlNodePtr last = NULL;

	for (xmlNodePtr n = root->children; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			last = n;
	return last;
}

/* Checks the page's shape on the parsed document and on the raw text. */
static void check_page(enum ivr_page page, const char *xml, size_t len)
{
	xmlDocPtr doc = parse_back(xml, len);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlChar *sid = xmlGetProp(root, (const xmlChar *)"sid");
	struct tally t = {0};

	assert_memory_equal(xml, DECL, strlen(DECL));
	assert_true(is_element(root, "response"));
	assert_non_null(sid);
	assert_string_equal((const char *)sid, SID);
	xmlFree(sid);

	tally_nodes(doc->children, PIN, BRAND, &t);
	assert_int_equal(t.comments, 0);
	assert_null(strstr(xml, "<!--"));
	assert_int_equal(t.responses, 1);
	assert_int_equal(t.pins, pages[page].pins);
	assert_int_equal(t.say_as, pages[page].pins);
	/* The PIN is spoken only through <say-as>. */
	assert_int_equal(count_occurrences(xml, PIN), pages[page].pins);
	assert_int_equal(t.brands, pages[page].brands);
	/* The brand is escaped by the serialiser, never pasted raw. */
	assert_int_equal(count_occurrences(xml, BRAND_XML), pages[page].brands);
	assert_null(strstr(xml, "Shop & Co"));
	assert_null(strchr(xml, '{'));
	assert_int_equal(t.menus, pages[page].menu);
	assert_int_equal(t.hangups, !pages[page].menu);
	assert_true(is_element(last_element(root),
			       pages[page].menu ? "collectdtmf" : "hangup"));
	xmlFreeDoc(doc);
}

/* ---- golden files ---- */

static void report_difference(const char *path, const char *want,
			      size_t wantlen, const char *got, size_t gotlen)
{
	size_t i = 0;

	while (i < wantlen && i < gotlen && want[i] == got[i])
		i++;
	print_error("%s differs from the render at byte %zu\n"
		    "--- expected (%zu bytes)\n%s\n--- got (%zu bytes)\n%s\n",
		    path, i, wantlen, want, gotlen, got);
}

/*
 * Renders every page for `lg` and compares it with the golden file of
 * language `golden_lang` (a fallback compares with the language it falls
 * back to).
 */
static void check_golden(const char *lg, const char *golden_lang)
{
	const char *dir = env_or(GOLDEN_ENV, GOLDEN_DEFAULT);
	int update = strcmp(env_or(UPDATE_ENV, "0"), "1") == 0 && lg &&
		     strcmp(lg, golden_lang) == 0;

	for (int p = 0; p < IVR_PAGE_COUNT; p++) {
		char path[512], file[64];
		size_t len = 0, wantlen = 0;
		char *got = render((enum ivr_page)p, lg, &golden_fill, &len);
		char *want;

		snprintf(file, sizeof(file), "%s.xml", pages[p].name);
		join(path, sizeof(path), dir, golden_lang, file);
		if (update)
			write_all(path, got, len);
		want = read_all(path, &wantlen);
		if (!want)
			fail_msg("cannot read %s (run from the repository "
				 "root, or set " GOLDEN_ENV ")",
				 path);
		if (wantlen != len || memcmp(want, got, len) != 0) {
			report_difference(path, want, wantlen, got, len);
			fail_msg("render of %s for lg \"%s\" is not golden",
				 pages[p].name, lg ? lg : "(null)");
		}
		check_page((enum ivr_page)p, got, len);
		free(want);
		free(got);
	}
}

/* A language asked for, and the golden set its renders must equal. */
struct golden_case {
	const char *name;
	const char *lg, *golden_lang;
};

static struct golden_case golden_cases[] = {
	{"english", "en", "en"},
	{"hindi", "hi", "hi"},
	{"unknown language falls back to english", "fr-fr", "en"},
	{"hindi with a region picks hindi", "hi-IN", "hi"},
	{"no language falls back to english", NULL, "en"},
	{"empty language falls back to english", "", "en"},
	/* "hindi" is not "hi" followed by a region: English. */
	{"lookalike hindi falls back to english", "hindi", "en"},
	{"unknown two letters fall back to english", "xx", "en"},
};

static void test_golden(void **state)
{
	const struct golden_case *c = *state;

	check_golden(c->lg, c->golden_lang);
}

static void test_hindi_is_written_as_utf8_not_character_references(void **state)
{
	size_t len = 0;
	char *xml = render(IVR_GREETING, "hi", &golden_fill, &len);

	/* "नमस्ते" as raw UTF-8 bytes. */
	assert_non_null(strstr(xml, "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8"
				    "\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87"));
	assert_null(strstr(xml, "&#"));
	free(xml);
}

static void test_repetitions_left_is_spoken(void **state)
{
	struct ivr_fill f = golden_fill;
	size_t len = 0;
	char *xml;

	f.repetitions_left = 2;
	xml = render(IVR_REPEAT, "en", &f, &len);
	assert_non_null(strstr(xml, "Repetitions left: 2."));
	assert_null(strstr(xml, "{repetitions_left}"));
	free(xml);
}

/* ---- render robustness ---- */

/* The decoded text of the first <playtext> under the root. */
static char *first_playtext(const char *xml, size_t len)
{
	xmlDocPtr doc = parse_back(xml, len);
	xmlNodePtr n = xmlDocGetRootElement(doc)->children;
	xmlChar *c;
	char *text;

	while (n && !is_element(n, "playtext"))
		n = n->next;
	assert_non_null(n);
	c = xmlNodeGetContent(n);
	assert_non_null(c);
	text = strdup((const char *)c);
	assert_non_null(text);
	xmlFree(c);
	xmlFreeDoc(doc);
	return text;
}

static void test_long_brand_is_rendered_whole(void **state)
{
	static const char piece[] = "A&b<";
	char brand[2001];
	struct ivr_fill f = golden_fill;
	size_t len = 0;
	char *xml, *text;

	for (size_t i = 0; i < 2000; i++)
		brand[i] = piece[i % 4];
	brand[2000] = '\0';
	f.brand = brand;
	xml = render(IVR_CONFIRMED, "en", &f, &len);
	text = first_playtext(xml, len);
	assert_non_null(strstr(text, brand));
	assert_string_equal(strstr(text, brand) + 2000, ". Goodbye.");
	free(text);
	free(xml);
}

static void test_brand_past_the_cap_is_refused(void **state)
{
	/* fill_text caps one text at 64 KiB. */
	size_t n = 70000;
	char *brand = malloc(n + 1);
	struct ivr_fill f = golden_fill;
	char *out = NULL;
	size_t len = 12345;

	assert_non_null(brand);
	memset(brand, 'b', n);
	brand[n] = '\0';
	f.brand = brand;
	assert_true(ivr_xml_render(IVR_CONFIRMED, "en", &f, &out, &len) < 0);
	assert_null(out);
	assert_int_equal(len, 12345);
	free(brand);
}

static void test_placeholders_in_values_stay_literal(void **state)
{
	struct ivr_fill f = golden_fill;
	size_t len = 0;
	char *xml, *text;

	/* One pass over the template: a value is never expanded again. */
	f.brand = "{pin} {brand} {repetitions_left}";
	xml = render(IVR_GREETING, "en", &f, &len);
	text = first_playtext(xml, len);
	assert_string_equal(text, "Hello. This is a call from {pin} {brand} "
				  "{repetitions_left}. Your verification "
				  "code is");
	assert_int_equal(count_occurrences(xml, PIN), 2);
	free(text);
	free(xml);

	f.brand = BRAND;
	f.pin = "{brand}";
	xml = render(IVR_REPEAT, "en", &f, &len);
	assert_int_equal(count_occurrences(xml, "{brand}"), 1);
	assert_int_equal(count_occurrences(xml, BRAND_XML), 1);
	free(xml);
}

static void test_empty_pin_renders_empty_say_as(void **state)
{
	struct ivr_fill f = golden_fill;
	size_t len = 0;
	char *xml;
	xmlDocPtr doc;
	struct tally t = {0};

	f.pin = "";
	xml = render(IVR_GREETING, "en", &f, &len);
	doc = parse_back(xml, len);
	tally_nodes(doc->children, "", BRAND, &t);
	assert_int_equal(t.say_as, 2);
	assert_int_equal(t.pins, 2);
	assert_null(strstr(xml, "{pin}"));
	assert_int_equal(count_occurrences(xml, PIN), 0);
	xmlFreeDoc(doc);
	free(xml);
}

static void test_sid_is_escaped_in_its_attribute(void **state)
{
	struct ivr_fill f = golden_fill;
	size_t len = 0;
	char *xml;
	xmlDocPtr doc;
	xmlChar *sid;

	f.sid = "1\"2&3<4>'";
	xml = render(IVR_GOODBYE, "en", &f, &len);
	doc = parse_back(xml, len);
	sid = xmlGetProp(xmlDocGetRootElement(doc), (const xmlChar *)"sid");
	assert_non_null(sid);
	assert_string_equal((const char *)sid, f.sid);
	xmlFree(sid);
	xmlFreeDoc(doc);
	free(xml);
}

static void test_no_sid_means_no_attribute(void **state)
{
	struct ivr_fill f = golden_fill;
	size_t len = 0;
	char *xml;

	f.sid = NULL;
	xml = render(IVR_ENDED, "hi", &f, &len);
	assert_non_null(strstr(xml, "\n<response>\n"));
	assert_null(strstr(xml, "sid="));
	free(xml);
}

static void test_render_leaves_the_template_untouched(void **state)
{
	struct ivr_fill f = golden_fill;
	size_t len = 0;
	char *first, *second;

	f.brand = "FirstBrand";
	first = render(IVR_REPEAT, "en", &f, &len);
	f.brand = "SecondBrand";
	f.pin = "9999";
	second = render(IVR_REPEAT, "en", &f, &len);
	assert_non_null(strstr(first, "FirstBrand"));
	assert_null(strstr(second, "FirstBrand"));
	assert_null(strstr(second, PIN));
	assert_non_null(strstr(second, "SecondBrand"));
	assert_int_equal(count_occurrences(second, "9999"), 1);
	free(second);
	free(first);
}

static void test_render_without_templates_fails_cleanly(void **state)
{
	char *out = NULL;
	size_t len = 0;

	ivr_xml_free();
	assert_true(ivr_xml_render(IVR_GREETING, "en", &golden_fill, &out,
				   &len) < 0);
	assert_null(out);
}

/* ---- validation ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

static int setup_tmp(void **state)
{
	const char *base = env_or("TMPDIR", "/tmp");

	ivr_xml_free();
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/kv-ivr-xml.XXXXXX", base);
	return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	ivr_xml_free();
	return nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup_shipped(void **state)
{
	char err[512] = "";
	const char *dir = env_or(TEMPLATES_ENV, TEMPLATES_DEFAULT);

	ivr_xml_free();
	if (ivr_xml_load(dir, err, sizeof(err)) != 0) {
		print_error("cannot load %s (run from the repository root, "
			    "or set " TEMPLATES_ENV "): %s\n",
			    dir, err);
		return -1;
	}
	return 0;
}

static int teardown_free(void **state)
{
	ivr_xml_free();
	return 0;
}

/* Copies the shipped templates into tmp_dir/set/<lang>/. */
static void copy_shipped_set(char *set, size_t setlen)
{
	const char *src = env_or(TEMPLATES_ENV, TEMPLATES_DEFAULT);

	join(set, setlen, tmp_dir, "set", NULL);
	assert_int_equal(mkdir(set, 0700), 0);
	for (size_t l = 0; l < ARRAY_LEN(shipped_langs); l++) {
		char path[512];

		join(path, sizeof(path), set, shipped_langs[l], NULL);
		assert_int_equal(mkdir(path, 0700), 0);
		for (int p = 0; p < IVR_PAGE_COUNT; p++) {
			char file[64];
			size_t len = 0;
			char *data;

			snprintf(file, sizeof(file), "%s.xml", pages[p].name);
			join(path, sizeof(path), src, shipped_langs[l], file);
			data = read_all(path, &len);
			if (!data)
				fail_msg("cannot read %s", path);
			join(path, sizeof(path), set, shipped_langs[l], file);
			write_all(path, data, len);
			free(data);
		}
	}
}

/*
 * The line an error "path:LINE: reason" names, or -1 when the message does
 * not start with the path, a line number and ": ".
 */
static long err_line(const char *err, const char *path)
{
	size_t n = strlen(path);
	char *end = NULL;
	long line;

	if (strncmp(err, path, n) != 0 || err[n] != ':' || err[n + 1] < '0' ||
	    err[n + 1] > '9')
		return -1;
	line = strtol(err + n + 1, &end, 10);
	return strncmp(end, ": ", 2) == 0 ? line : -1;
}

static void expect_line(const char *err, const char *path, long want)
{
	long got = err_line(err, path);

	if (got != want)
		fail_msg("expected \"%s:%ld: ...\", got \"%s\"", path, want,
			 err);
}

static void expect_mention(const char *err, const char *word)
{
	if (!strstr(err, word))
		fail_msg("expected an error mentioning \"%s\", got \"%s\"",
			 word, err);
}

/*
 * Writes `text` as a lone file and as hi/repeat.xml of an otherwise good
 * set (so English loads first and must be freed): both refuse it, naming
 * the file and `line` (0: any line) and mentioning `word`.
 */
static void expect_refused(const char *text, long line, const char *word)
{
	char path[512], set[512], err[512];

	join(path, sizeof(path), tmp_dir, "lone.xml", NULL);
	write_str(path, text);
	memset(err, 0, sizeof(err));
	assert_int_equal(ivr_xml_validate_file(path, err, sizeof(err)),
			 KV_ECONFIG);
	if (line)
		expect_line(err, path, line);
	else if (err_line(err, path) <= 0)
		fail_msg("expected \"%s:<line>: ...\", got \"%s\"", path, err);
	expect_mention(err, word);

	copy_shipped_set(set, sizeof(set));
	join(path, sizeof(path), set, "hi", "repeat.xml");
	write_str(path, text);
	memset(err, 0, sizeof(err));
	assert_int_equal(ivr_xml_load(set, err, sizeof(err)), KV_ECONFIG);
	if (line)
		expect_line(err, path, line);
	else if (err_line(err, path) <= 0)
		fail_msg("expected \"%s:<line>: ...\", got \"%s\"", path, err);
	expect_mention(err, word);
	/* A failed load keeps nothing. */
	assert_true(ivr_xml_render(IVR_GREETING, "en", &golden_fill,
				   &(char *){NULL}, &(size_t){0}) < 0);
}

static void test_shipped_templates_validate_and_load(void **state)
{
	const char *src = env_or(TEMPLATES_ENV, TEMPLATES_DEFAULT);
	char err[512] = "";
	char *xml = NULL;
	size_t len = 0;

	for (size_t l = 0; l < ARRAY_LEN(shipped_langs); l++)
		for (int p = 0; p < IVR_PAGE_COUNT; p++) {
			char path[512], file[64];

			snprintf(file, sizeof(file), "%s.xml", pages[p].name);
			join(path, sizeof(path), src, shipped_langs[l], file);
			if (ivr_xml_validate_file(path, err, sizeof(err)) != 0)
				fail_msg("%s refused: %s", path, err);
		}
	if (ivr_xml_load(src, err, sizeof(err)) != 0)
		fail_msg("%s refused: %s", src, err);
	assert_int_equal(ivr_xml_render(IVR_GREETING, "hi", &golden_fill, &xml,
					&len),
			 0);
	free(xml);
}

static void test_load_reads_the_given_directory(void **state)
{
	char set[512], path[512], err[512] = "";
	size_t len = 0;
	char *xml;

	copy_shipped_set(set, sizeof(set));
	join(path, sizeof(path), set, "en", "goodbye.xml");
	write_str(path, DECL "<!-- edited -->\n<response>\n"
			     "  <playtext>Bye from {brand}.</playtext>\n"
			     "  <hangup/>\n</response>\n");
	if (ivr_xml_load(set, err, sizeof(err)) != 0)
		fail_msg("%s refused: %s", set, err);
	xml = render(IVR_GOODBYE, "en", &golden_fill, &len);
	assert_string_equal(xml, DECL "<response sid=\"" SID "\">\n"
				      "  <playtext>Bye from " BRAND_XML
				      ".</playtext>\n"
				      "  <hangup/>\n</response>\n");
	free(xml);
}

/*
 * A template the validator and the loader must refuse, the line the error
 * names (0: any line) and a word it must mention.
 */
struct refused_case {
	const char *name;
	const char *text;
	long line;
	const char *word;
};

static struct refused_case refused_cases[] = {
	{"unknown tag",
	 DECL "<response>\n"
	      "  <playtext>hi</playtext>\n"
	      "  <dial>123</dial>\n"
	      "</response>\n",
	 4, "<dial>"},
	{"unknown attribute",
	 DECL "<response>\n"
	      "  <hangup/>\n"
	      "  <playtext foo=\"1\">hi</playtext>\n"
	      "</response>\n",
	 4, "\"foo\""},
	{"unknown placeholder",
	 DECL "<response>\n"
	      "  <playtext>{brand} {pin}</playtext>\n"
	      "  <playtext>Your {code} is</playtext>\n"
	      "</response>\n",
	 4, "{code}"},
	/* The loader reports libxml2's first error: the mismatch, line 4. */
	{"unclosed tag",
	 DECL "<response>\n"
	      "  <playtext>hi\n"
	      "</response>\n",
	 4, "mismatch"},
	/* Found by fuzz_ivr_validate: attributes are never filled, so no
	 * "{". */
	{"placeholder in an attribute",
	 DECL "<response>\n"
	      "  <collectdtmf l=\"1\" o=\"{pin}\"/>\n"
	      "</response>\n",
	 3, "attribute"},
	/* Found by fuzz_ivr_validate: nothing may precede <response>
	 * unchecked. */
	{"instruction before the root",
	 DECL "<?x y?>\n"
	      "<response><hangup/></response>\n",
	 0, "unexpected"},
	{"undeclared entity",
	 DECL "<response>\n"
	      "  <playtext>&x;</playtext>\n"
	      "</response>\n",
	 3, "'x'"},
	{"other node kinds",
	 DECL "<response>\n"
	      "  <![CDATA[{brand}]]>\n"
	      "</response>\n",
	 3, "unexpected node"},
	{"wrong root", DECL "<playtext>hi</playtext>\n", 2, "<playtext>"},
	{"nested response",
	 DECL "<response>\n"
	      "  <playtext>hi</playtext>\n"
	      "  <response><hangup/></response>\n"
	      "</response>\n",
	 4, "<response>"},
	{"too deep nesting",
	 DECL "<response>\n"
	      "  <collectdtmf>\n"
	      "    <playtext>\n"
	      "      <say-as format=\"501\">{pin}</say-as>\n"
	      "    </playtext>\n"
	      "  </collectdtmf>\n"
	      "</response>\n",
	 5, "<say-as>"},
};

static void test_refused(void **state)
{
	const struct refused_case *c = *state;

	expect_refused(c->text, c->line, c->word);
}

static void test_dtd_with_entity_is_refused(void **state)
{
	static const char text[] = DECL
		"<!DOCTYPE response [\n"
		"<!ENTITY x SYSTEM \"file:///etc/passwd\">\n"
		"]>\n"
		"<response><playtext>&x;</playtext></response>\n";
	char path[512], set[512], err[512] = "";

	join(path, sizeof(path), tmp_dir, "dtd.xml", NULL);
	write_str(path, text);
	assert_int_equal(ivr_xml_validate_file(path, err, sizeof(err)),
			 KV_ECONFIG);
	assert_memory_equal(err, path, strlen(path));
	expect_mention(err, "DTD");

	copy_shipped_set(set, sizeof(set));
	join(path, sizeof(path), set, "en", "ended.xml");
	write_str(path, text);
	assert_int_equal(ivr_xml_load(set, err, sizeof(err)), KV_ECONFIG);
	assert_memory_equal(err, path, strlen(path));
	expect_mention(err, "DTD");
	/* A line of the DOCTYPE (lines 2 to 4). */
	assert_in_range(err_line(err, path), 2, 4);
}

static void test_missing_page_fails_the_load(void **state)
{
	char set[512], path[512], err[512] = "";

	copy_shipped_set(set, sizeof(set));
	join(path, sizeof(path), set, "hi", "goodbye.xml");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(ivr_xml_load(set, err, sizeof(err)), KV_ECONFIG);
	assert_memory_equal(err, path, strlen(path));
	assert_int_equal(err[strlen(path)], ':');
}

/* ---- a voice fragment ---- */

/* The pieces of a split as "w[words]" and "c[code]", in order. */
static int collect_piece(int is_code, const char *s, void *arg)
{
	struct buf *b = arg;

	assert_int_equal(buf_append_str(b, is_code ? "c[" : "w["), 0);
	assert_int_equal(buf_append_str(b, s), 0);
	assert_int_equal(buf_append_str(b, "]"), 0);
	return 0;
}

static void assert_split(const char *text, const char *want)
{
	struct ivr_fill f = golden_fill;
	struct buf b;

	f.minutes = 5;
	buf_init(&b, 4096);
	assert_int_equal(ivr_voice_split(text, &f, collect_piece, &b), 0);
	assert_string_equal(b.data ? b.data : "", want);
	buf_release(&b);
}

static void test_voice_split_reads_the_code_apart(void **state)
{
	(void)state;
	assert_split("Hi ${brand}: ${code}, valid ${time-limit} "
		     "${time-limit-unit}.",
		     "w[Hi " BRAND ":]c[" PIN "]w[, valid 5 minutes.]");
	/* Words lose the blanks around them; blank runs between codes are
	 * no pieces; a code may open the text. */
	assert_split("${code} ${code}", "c[" PIN "]c[" PIN "]");
	assert_split("${code}${code} again", "c[" PIN "]c[" PIN "]w[again]");
	/* A value is never expanded again; other braces stay as they are. */
	assert_split("{pin} $ {brand} ${cod ${code}",
		     "w[{pin} $ {brand} ${cod]c[" PIN "]");
}

static int stop_at_code(int is_code, const char *s, void *arg)
{
	(void)s;
	(*(int *)arg)++;
	return is_code ? KV_EINVAL : 0;
}

static void test_voice_split_stops_when_a_piece_fails(void **state)
{
	struct ivr_fill f = golden_fill;
	int calls = 0;

	(void)state;
	assert_int_equal(ivr_voice_split("a ${code} b ${code}", &f,
					 stop_at_code, &calls),
			 KV_EINVAL);
	assert_int_equal(calls, 2);
}

/* The text of element n, in a string the caller frees with xmlFree. */
static char *elem_text(xmlNodePtr n, const char *name)
{
	if (!n || n->type != XML_ELEMENT_NODE)
		fail_msg("expected <%s>, got no element", name);
	else
		assert_string_equal((const char *)n->name, name);
	return n ? (char *)xmlNodeGetContent(n) : NULL;
}

static xmlNodePtr next_element(xmlNodePtr n)
{
	while (n && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

/*
 * The element after `prev` (the first of `first` when prev is NULL): it
 * must be <name> with `text` and lang="lang" (text NULL: any).
 */
static xmlNodePtr assert_next(xmlNodePtr first, xmlNodePtr prev,
			      const char *name, const char *text,
			      const char *lang)
{
	xmlNodePtr n = next_element(prev ? prev->next : first);
	char *t = elem_text(n, name);
	xmlChar *l = n ? xmlGetProp(n, (const xmlChar *)"lang") : NULL;

	if (text)
		assert_string_equal(t, text);
	if (lang) {
		assert_non_null(l);
		assert_string_equal((const char *)l, lang);
	}
	xmlFree(l);
	xmlFree(t);
	return n;
}

static void test_voice_fragment_is_read_before_the_menu(void **state)
{
	struct ivr_fill f = golden_fill;
	static const struct {
		enum ivr_page page;
		const char *lg, *lang;
	} cases[] = {{IVR_GREETING, "en-us", "EN"},
		     {IVR_REPEAT, "en-gb", "EN"},
		     {IVR_GREETING, "hi-in", "HI"}};
	size_t len = 0;

	(void)state;
	f.voice = "Your ${brand} code: ${code}. Valid ${time-limit} "
		  "${time-limit-unit} & no more <really>.";
	f.minutes = 10;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *xml = render(cases[i].page, cases[i].lg, &f, &len);
		xmlDocPtr doc = parse_back(xml, len);
		xmlNodePtr root = xmlDocGetRootElement(doc);
		xmlNodePtr n = assert_next(
			root ? root->children : NULL, NULL, "playtext",
			"Your " BRAND " code:", cases[i].lang);
		xmlChar *fmt;

		n = assert_next(NULL, n, "say-as", PIN, cases[i].lang);
		fmt = n ? xmlGetProp(n, (const xmlChar *)"format") : NULL;
		assert_non_null(fmt);
		assert_string_equal((const char *)fmt, "501");
		xmlFree(fmt);
		n = assert_next(NULL, n, "playtext",
				". Valid 10 minutes & no more <really>.",
				cases[i].lang);
		/* The menu, the keys' own words, follows as the page has it. */
		n = assert_next(NULL, n, "collectdtmf", NULL, NULL);
		assert_null(n ? next_element(n->next) : NULL);
		assert_non_null(
			strstr(xml, cases[i].page == IVR_GREETING &&
						    cases[i].lang[0] == 'H'
					    ? "9 दबाएँ"
					    : "9 if you did not ask"));
		xmlFreeDoc(doc);
		free(xml);
	}
}

static void test_voice_fragment_leaves_other_pages_alone(void **state)
{
	struct ivr_fill f = golden_fill;
	size_t len = 0, len2 = 0;
	char *with, *without;

	(void)state;
	f.voice = "Code ${code}";
	with = render(IVR_GOODBYE, "en", &f, &len);
	f.voice = "";
	without = render(IVR_GOODBYE, "en", &f, &len2);
	assert_string_equal(with, without);
	free(with);
	free(without);
	/* An empty fragment is none: the page's own words. */
	with = render(IVR_GREETING, "en", &f, &len);
	f.voice = NULL;
	without = render(IVR_GREETING, "en", &f, &len2);
	assert_string_equal(with, without);
	free(with);
	free(without);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
#define RENDER_TEST(f)                                                         \
	cmocka_unit_test_setup_teardown(f, setup_shipped, teardown_free)
#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, setup_tmp, teardown_tmp)
		RENDER_TEST(
			test_hindi_is_written_as_utf8_not_character_references),
		RENDER_TEST(test_repetitions_left_is_spoken),
		RENDER_TEST(test_long_brand_is_rendered_whole),
		RENDER_TEST(test_brand_past_the_cap_is_refused),
		RENDER_TEST(test_placeholders_in_values_stay_literal),
		RENDER_TEST(test_empty_pin_renders_empty_say_as),
		RENDER_TEST(test_sid_is_escaped_in_its_attribute),
		RENDER_TEST(test_no_sid_means_no_attribute),
		RENDER_TEST(test_render_leaves_the_template_untouched),
		RENDER_TEST(test_render_without_templates_fails_cleanly),
		cmocka_unit_test(test_voice_split_reads_the_code_apart),
		cmocka_unit_test(test_voice_split_stops_when_a_piece_fails),
		RENDER_TEST(test_voice_fragment_is_read_before_the_menu),
		RENDER_TEST(test_voice_fragment_leaves_other_pages_alone),
		TMP_TEST(test_shipped_templates_validate_and_load),
		TMP_TEST(test_load_reads_the_given_directory),
		TMP_TEST(test_dtd_with_entity_is_refused),
		TMP_TEST(test_missing_page_fails_the_load),
#undef RENDER_TEST
#undef TMP_TEST
	};
	static struct table_tests all;
	int rc;

	TABLE_ADD_FIXTURE(&all, test_golden, golden_cases, setup_shipped,
			  teardown_free);
	table_add_tests(&all, tests, ARRAY_LEN(tests));
	TABLE_ADD_FIXTURE(&all, test_refused, refused_cases, setup_tmp,
			  teardown_tmp);
	xmlInitParser();
	rc = table_run(&all);
	ivr_xml_free();
	xmlCleanupParser();
	return rc;
}
