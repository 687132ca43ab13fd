/*
 * libFuzzer harness for the DLT SMS template parser (src/sms.c): the input
 * is written to a temporary file and parsed as a template.  Templates are
 * operator input, but no file may crash the parser; a refusal names the
 * file, and a template it accepts fills, with the longest values and both
 * autofill lines, into one segment of valid text with no slot left.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fuzz.h"
#include "sms.h"

static const struct sms_limits limits = {.code_max = 10, .minutes_max = 60};
static char dir[512], path[600];
static int fd = -1;

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/kv-fuzz-sms.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("fuzz_sms_template: mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/pin.txt", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror("fuzz_sms_template: open");
		exit(1);
	}
	atexit(cleanup);
	return 0;
}

/* Fills t with `in`; the text must come out whole, in one segment. */
static void check_fill(const struct sms_template *t,
		       const struct sms_fill_in *in)
{
	char out[SMS_TEXT_MAX];
	struct sms_count cnt, again;
	const char *bad = NULL;
	int binds_code = 0;

	FUZZ_CHECK(sms_fill(t, in, out, &cnt, &bad) == 0);
	FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	FUZZ_CHECK(cnt.segments == 1);
	FUZZ_CHECK(sms_count(out, &again) == 0); /* valid UTF-8 */
	FUZZ_CHECK(again.units == cnt.units && again.encoding == cnt.encoding);
	/* No value holds a character of the slot's: none is left. */
	FUZZ_CHECK(strstr(out, "{#var#}") == NULL);
	for (int i = 0; i < t->nvalues; i++)
		binds_code |= t->values[i] == SMS_VALUE_CODE;
	if (binds_code)
		FUZZ_CHECK(strstr(out, in->code) != NULL);
	if (in->app_hash && *in->app_hash)
		FUZZ_CHECK(strstr(out, in->app_hash) != NULL);
}

static void check_accepted(const struct sms_template *t)
{
	static const char *const x30 = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
	const struct sms_fill_in longest = {
		.code = "9999999999",
		.brand = x30,
		.minutes = limits.minutes_max,
		.host = x30,
		.app_hash = "AAAAAAAAAAA",
	};
	const struct sms_fill_in plain = {
		.code = "4821", .brand = "Shop", .minutes = 5};

	FUZZ_CHECK(strlen(t->template_id) == 19);
	FUZZ_CHECK(strspn(t->template_id, "0123456789") == 19);
	FUZZ_CHECK(strlen(t->header) == 6);
	FUZZ_CHECK(t->entity_id[0] != '\0');
	FUZZ_CHECK(t->nvalues >= 0 && t->nvalues <= SMS_SLOTS_MAX);
	for (int i = 0; i < t->nvalues; i++)
		FUZZ_CHECK(t->values[i] >= 0 && t->values[i] < SMS_VALUE_COUNT);
	check_fill(t, &longest);
	check_fill(t, &plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact size: ASan sees a write past the end of the message. */
	size_t errlen = 200;
	char *err = malloc(errlen);
	struct sms_template t;
	int rc;

	if (!err || ftruncate(fd, 0) != 0 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	err[0] = '\0';
	rc = sms_template_parse(path, &limits, &t, err, errlen);
	FUZZ_CHECK(rc == 0 || rc == KV_EINVAL);
	if (rc != 0) {
		/* "file:line: reason" or "file: reason", always named. */
		FUZZ_CHECK(fuzz_terminated(err, errlen));
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0);
		FUZZ_CHECK(err[strlen(path)] == ':');
	} else {
		check_accepted(&t);
	}
	free(err);
	return 0;
}
