/*
 * libFuzzer harness for the IVR template filling (ivr/ivr_xml.c): the shipped
 * templates are loaded once, then every page is rendered with a brand, PIN
 * and sid taken from the input.  Every answer must parse back with libxml2,
 * carry the sid, hold the brand and PIN, and leave no placeholder behind.
 */
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "err.h"
#include "fuzz.h"
#include "ivr_xml.h"

#define TEMPLATES_ENV "IVR_TEMPLATES_DIR"

/* Language selectors; index LANG_RAW takes the input's fourth part. */
static const char *const langs[] = {"en",    "hi", "hi-IN", "HI_in",
				    "en-us", "fr", "",      NULL};
#define LANG_COUNT (sizeof(langs) / sizeof(langs[0]))
#define LANG_RAW LANG_COUNT

/*
 * The templates: $IVR_TEMPLATES_DIR, else xml_templates/ next to the
 * build-fuzz/ directory that holds this binary, else ./xml_templates.
 */
static void find_templates(const char *argv0, char *dir, size_t len)
{
	const char *env = getenv(TEMPLATES_ENV);
	char copy[900], probe[1024];

	if (env && *env) {
		snprintf(dir, len, "%s", env);
		return;
	}
	snprintf(copy, sizeof(copy), "%s", argv0 ? argv0 : ".");
	snprintf(dir, len, "%s/../xml_templates", dirname(copy));
	snprintf(probe, sizeof(probe), "%s/en/greeting.xml", dir);
	if (access(probe, R_OK) != 0)
		snprintf(dir, len, "%s", "xml_templates");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[1024], err[512];

	xmlInitParser();
	find_templates(*argc > 0 ? (*argv)[0] : NULL, dir, sizeof(dir));
	if (ivr_xml_load(dir, err, sizeof(err)) != 0) {
		fprintf(stderr,
			"fuzz_ivr: cannot load templates (set %s): %s\n",
			TEMPLATES_ENV, err);
		exit(1);
	}
	return 0;
}

/* Next NUL-terminated part of s[*pos..len), or NULL when none is left. */
static const char *next_part(const char *s, size_t len, size_t *pos)
{
	const char *part;

	if (*pos > len)
		return NULL;
	part = s + *pos;
	*pos += strlen(part) + 1;
	return part;
}

/*
 * The renderer's callers only pass what params.c accepts (brand from the API,
 * sid from KooKoo's callback): valid UTF-8 that XML 1.0 can carry.
 */
static int acceptable(const char *s)
{
	return !s || fuzz_param_text(s, strlen(s));
}

static int has_brace(const char *s)
{
	return s && strchr(s, '{') != NULL;
}

static void check_page(enum ivr_page page, const char *lg,
		       const struct ivr_fill *fill)
{
	char *out = NULL;
	size_t outlen = 0;
	xmlDocPtr doc;
	xmlNodePtr root;
	xmlChar *sid, *text;
	int rc;

	rc = ivr_xml_render(page, lg, fill, &out, &outlen);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(out && strlen(out) == outlen);
	if (!has_brace(fill->brand) && !has_brace(fill->pin) &&
	    !has_brace(fill->sid))
		FUZZ_CHECK(strchr(out, '{') == NULL);
	doc = xmlReadMemory(out, (int)outlen, NULL, "UTF-8",
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	if (!doc)
		fprintf(stderr, "unparsable answer:\n%s\n", out);
	FUZZ_CHECK(doc != NULL);
	root = xmlDocGetRootElement(doc);
	FUZZ_CHECK(root &&
		   xmlStrEqual(root->name, (const xmlChar *)"response"));
	sid = xmlGetProp(root, (const xmlChar *)"sid");
	if (fill->sid)
		FUZZ_CHECK(sid && strcmp((const char *)sid, fill->sid) == 0);
	xmlFree(sid);
	if (page == IVR_GREETING) {
		/* The greeting names the brand and reads the PIN. */
		text = xmlNodeGetContent(root);
		FUZZ_CHECK(text);
		FUZZ_CHECK(strstr((const char *)text, fill->brand) != NULL);
		FUZZ_CHECK(strstr((const char *)text, fill->pin) != NULL);
		xmlFree(text);
	}
	xmlFreeDoc(doc);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ivr_fill fill;
	const char *lg, *raw_lg;
	size_t pos = 0, which;
	char *s, *out = NULL;
	size_t outlen = 0;

	if (size < 2)
		return 0;
	which = data[0] % (LANG_COUNT + 1);
	s = fuzz_strndup(data + 2, size - 2);
	memset(&fill, 0, sizeof(fill));
	fill.repetitions_left = (int8_t)data[1];
	fill.brand = next_part(s, size - 2, &pos);
	fill.pin = next_part(s, size - 2, &pos);
	fill.sid = next_part(s, size - 2, &pos);
	raw_lg = next_part(s, size - 2, &pos);
	if (!fill.pin)
		fill.pin = "4821";
	if (!acceptable(fill.brand) || !acceptable(fill.pin) ||
	    !acceptable(fill.sid)) {
		free(s);
		return -1; /* not worth keeping in the corpus */
	}
	lg = which == LANG_RAW ? raw_lg : langs[which];

	for (int page = 0; page < IVR_PAGE_COUNT; page++)
		check_page((enum ivr_page)page, lg, &fill);
	FUZZ_CHECK(ivr_xml_render(IVR_PAGE_COUNT, lg, &fill, &out, &outlen) ==
		   KV_EINVAL);
	free(s);
	return 0;
}
