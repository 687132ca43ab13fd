/*
 * libFuzzer harness for src/params.c: the first byte picks the parser (query,
 * form, JSON, HTTP Basic, or two parsers appending to one table as the API and
 * the IVR do), the rest is the input.  Checks the table after every call:
 * the caps, non-empty names, valid UTF-8, rollback on failure, full release.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "params.h"

enum mode {
	MODE_QUERY,
	MODE_FORM,
	MODE_JSON,
	MODE_BASIC,
	MODE_QUERY_FORM, /* "query\0body", as the IVR callbacks */
	MODE_QUERY_JSON, /* "query\0body", as a JSON API request */
	MODE_COUNT
};

enum parser { PARSE_QUERY, PARSE_FORM, PARSE_JSON };

/* Every accepted parameter obeys the header's promises. */
static void check_table(const struct params *p)
{
	FUZZ_CHECK(p->count <= PARAMS_MAX);
	for (size_t i = 0; i < p->count; i++) {
		const struct param *it = &p->items[i];
		size_t nlen, vlen, first;

		FUZZ_CHECK(it->name && it->value);
		nlen = strlen(it->name);
		vlen = strlen(it->value);
		FUZZ_CHECK(nlen > 0 && nlen <= PARAMS_NAME_MAX);
		FUZZ_CHECK(vlen <= PARAMS_VALUE_MAX);
		/* One allocation: the value follows the name's NUL. */
		FUZZ_CHECK(it->value == it->name + nlen + 1);
		FUZZ_CHECK(fuzz_param_text(it->name, nlen));
		FUZZ_CHECK(fuzz_param_text(it->value, vlen));
		FUZZ_CHECK(it->repeated == (params_count(p, it->name) > 1));
		for (first = 0; first < i; first++)
			if (strcmp(p->items[first].name, it->name) == 0)
				break;
		FUZZ_CHECK(params_get(p, it->name) == p->items[first].value);
	}
	for (size_t i = p->count; i < PARAMS_MAX; i++)
		FUZZ_CHECK(p->items[i].name == NULL);
}

/* Non-empty '&'-separated segments: what a successful parse appends. */
static size_t count_segments(const char *s, size_t len)
{
	size_t n = 0, seg = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '&') {
			n += seg > 0;
			seg = 0;
		} else {
			seg++;
		}
	}
	return n;
}

/*
 * Runs one parser on s[0..len) and checks its contract: success appends
 * (for urlencoded input, one entry per non-empty segment), failure leaves
 * the table exactly as it was and says why.
 */
static int parse_one(struct params *p, enum parser which, const char *s,
		     size_t len)
{
	struct param before[PARAMS_MAX];
	size_t count = p->count;
	int json = which == PARSE_JSON;
	int rc;

	memcpy(before, p->items, sizeof(before));
	p->error[0] = '\0';
	if (which == PARSE_JSON)
		rc = params_parse_json(p, s, len);
	else if (which == PARSE_FORM)
		rc = params_parse_form(p, s, len);
	else
		rc = params_parse_query(p, s, len);
	if (rc == 0) {
		FUZZ_CHECK(p->count >= count);
		if (!json)
			FUZZ_CHECK(p->count - count == count_segments(s, len));
	} else {
		FUZZ_CHECK(rc == KV_EINVAL || rc == KV_ETOOBIG ||
			   rc == KV_ENOMEM);
		FUZZ_CHECK(p->count == count);
		FUZZ_CHECK(fuzz_terminated(p->error, sizeof(p->error)));
		FUZZ_CHECK(p->error[0] != '\0');
	}
	/* Earlier entries stay; only `repeated` may change (check_table). */
	for (size_t i = 0; i < count; i++) {
		FUZZ_CHECK(p->items[i].name == before[i].name);
		FUZZ_CHECK(p->items[i].value == before[i].value);
	}
	check_table(p);
	return rc;
}

/* A form body and a query string share one grammar: same table, same rc. */
static void compare_form_query(const struct params *form, int form_rc,
			       const char *s, size_t len)
{
	struct params q;
	int rc;

	params_init(&q);
	rc = params_parse_query(&q, s, len);
	FUZZ_CHECK(rc == form_rc && q.count == form->count);
	for (size_t i = 0; i < q.count; i++) {
		FUZZ_CHECK(strcmp(q.items[i].name, form->items[i].name) == 0);
		FUZZ_CHECK(strcmp(q.items[i].value, form->items[i].value) == 0);
	}
	params_release(&q);
}

static void fuzz_table(enum mode mode, const char *s, size_t len)
{
	struct params p;
	const char *nul = memchr(s, '\0', len);
	size_t qlen = nul ? (size_t)(nul - s) : len;

	params_init(&p);
	switch (mode) {
	case MODE_QUERY:
		parse_one(&p, PARSE_QUERY, s, len);
		break;
	case MODE_FORM:
		compare_form_query(&p, parse_one(&p, PARSE_FORM, s, len), s,
				   len);
		break;
	case MODE_JSON:
		parse_one(&p, PARSE_JSON, s, len);
		break;
	case MODE_QUERY_FORM:
	case MODE_QUERY_JSON:
		parse_one(&p, PARSE_QUERY, s, qlen);
		if (nul)
			parse_one(&p,
				  mode == MODE_QUERY_JSON ? PARSE_JSON
							  : PARSE_FORM,
				  nul + 1, len - qlen - 1);
		break;
	default:
		break;
	}
	if (p.count > 0) {
		/* The name may be the table's own string, freed on the way. */
		size_t expect = p.count - params_count(&p, p.items[0].name);

		params_remove(&p, p.items[0].name);
		FUZZ_CHECK(p.count == expect);
		check_table(&p);
	}
	params_release(&p);
	FUZZ_CHECK(p.count == 0 && p.error[0] == '\0');
	check_table(&p);
}

static void fuzz_basic(const char *header)
{
	char *user = (char *)1, *pass = (char *)1;
	int rc = params_parse_basic_auth(header, &user, &pass);

	if (rc != 0) {
		FUZZ_CHECK(rc == KV_EINVAL || rc == KV_ENOMEM);
		FUZZ_CHECK(user == NULL && pass == NULL);
		return;
	}
	FUZZ_CHECK(user && pass);
	FUZZ_CHECK(user[0] != '\0' && strchr(user, ':') == NULL);
	FUZZ_CHECK(fuzz_param_text(user, strlen(user)));
	FUZZ_CHECK(fuzz_param_text(pass, strlen(pass)));
	free(user);
	free(pass);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mode mode;
	char *s;

	if (size == 0)
		return 0;
	mode = (enum mode)(data[0] % MODE_COUNT);
	if (mode == MODE_BASIC) {
		s = fuzz_strndup(data + 1, size - 1);
		fuzz_basic(s);
	} else {
		/* An exact-size heap copy: ASan sees a read past its end. */
		s = fuzz_memdup(data + 1, size - 1);
		fuzz_table(mode, s, size - 1);
	}
	free(s);
	return 0;
}
