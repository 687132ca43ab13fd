/*
 * libFuzzer harness for the IVR template loader (ivr/ivr_xml.c): the input is
 * written to a temporary file and validated as a template.  Templates are
 * operator input, but no file may crash the loader; one it accepts must load
 * as every page of every language and render into XML that parses back.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "err.h"
#include "fuzz.h"
#include "ivr_xml.h"

static const char *const languages[] = {"en", "hi"};
static const char *const pages[] = {"greeting.xml",  "repeat.xml",
				    "confirmed.xml", "reported.xml",
				    "goodbye.xml",   "ended.xml"};

/* dir/template.xml holds the input; dir/<lang>/<page> link to it. */
static char dir[512], path[600];
static int fd = -1;

static void cleanup(void)
{
	char link[700];

	for (size_t l = 0; l < 2; l++) {
		for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
			snprintf(link, sizeof(link), "%s/%s/%s", dir,
				 languages[l], pages[p]);
			unlink(link);
		}
		snprintf(link, sizeof(link), "%s/%s", dir, languages[l]);
		rmdir(link);
	}
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char link[700];

	xmlInitParser();
	snprintf(dir, sizeof(dir), "%s/kv-fuzz-ivr.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("fuzz_ivr_validate: mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/template.xml", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror("fuzz_ivr_validate: open");
		exit(1);
	}
	atexit(cleanup);
	for (size_t l = 0; l < 2; l++) {
		snprintf(link, sizeof(link), "%s/%s", dir, languages[l]);
		if (mkdir(link, 0700) != 0) {
			perror("fuzz_ivr_validate: mkdir");
			exit(1);
		}
		for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
			snprintf(link, sizeof(link), "%s/%s/%s", dir,
				 languages[l], pages[p]);
			if (symlink("../template.xml", link) != 0) {
				perror("fuzz_ivr_validate: symlink");
				exit(1);
			}
		}
	}
	return 0;
}

/* An accepted template loads as every page, and every page renders. */
static void check_render(void)
{
	static const struct ivr_fill fill = {
		.brand = "Shop & Co <1>",
		.pin = "4821",
		.repetitions_left = 1,
		.sid = "123",
	};
	char err[256];
	char *out = NULL;
	size_t outlen = 0;
	xmlDocPtr doc;

	FUZZ_CHECK(ivr_xml_load(dir, err, sizeof(err)) == 0);
	for (int page = 0; page < IVR_PAGE_COUNT; page++) {
		FUZZ_CHECK(ivr_xml_render((enum ivr_page)page, "hi", &fill,
					  &out, &outlen) == 0);
		FUZZ_CHECK(strlen(out) == outlen);
		/* Every placeholder was filled; none was left behind. */
		if (strchr(out, '{'))
			fprintf(stderr, "placeholder left in:\n%s\n", out);
		FUZZ_CHECK(strchr(out, '{') == NULL);
		doc = xmlReadMemory(out, (int)outlen, NULL, "UTF-8",
				    XML_PARSE_NONET | XML_PARSE_NOERROR |
					    XML_PARSE_NOWARNING);
		if (!doc)
			fprintf(stderr, "unparsable answer:\n%s\n", out);
		FUZZ_CHECK(doc != NULL);
		xmlFreeDoc(doc);
		free(out);
		out = NULL;
	}
	ivr_xml_free();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact size: ASan sees a write past the end of the message. */
	size_t errlen = 200;
	char *err = malloc(errlen);
	int rc;

	if (!err || ftruncate(fd, 0) != 0 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	err[0] = '\0';
	rc = ivr_xml_validate_file(path, err, errlen);
	FUZZ_CHECK(rc == 0 || rc == KV_ECONFIG);
	if (rc != 0) {
		/* "file:line: reason" or "file: reason", always named. */
		FUZZ_CHECK(fuzz_terminated(err, errlen));
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
		FUZZ_CHECK(err[strlen(path)] == ':');
	} else {
		check_render();
	}
	free(err);
	return 0;
}
