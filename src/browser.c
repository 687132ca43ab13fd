/*
 * Browser support (browser.h): the JWK Set, token issue and redemption,
 * and the demo page's files.  The demo serves a fixed set of
 * flat file names from two directories of the repository, nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "browser.h"
#include "verify.h"
#include "err.h"
#include "http.h"
#include "jdump.h"
#include "keys.h"
#include "log.h"
#include "util.h"

/* The largest demo file served. */
#define DEMO_FILE_MAX (1024L * 1024)
#define DEMO_NAME_MAX 64

static struct {
	int token_ttl;
	int demo;
	char root[512];
	char key[64];
	char inbox_url[256];
	int resend_cooldown;
} bs;

static int access_demo_page(void)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/demo/index.html", bs.root);
	return access(path, R_OK);
}

void browser_init(const struct config *cfg)
{
	bs.token_ttl = cfg->token_ttl;
	bs.demo = cfg->demo;
	snprintf(bs.root, sizeof(bs.root), "%s", cfg->demo_root);
	snprintf(bs.key, sizeof(bs.key), "%s", cfg->demo_key);
	snprintf(bs.inbox_url, sizeof(bs.inbox_url), "%s", cfg->demo_inbox_url);
	bs.resend_cooldown = cfg->resend_cooldown;
	if (bs.demo && access_demo_page() != 0)
		log_warn("demo.missing", LOG_STR("root", bs.root),
			 LOG_STR("error", "demo/index.html is missing: /demo/ "
					  "will answer 404 (set demo_root to "
					  "the repository)"));
}

int browser_token_issue(const char *api_key, const char *request_id,
			const char *number, char *out)
{
	struct vtoken_claims c;
	int64_t now = now_ms() / 1000;

	memset(&c, 0, sizeof(c));
	snprintf(c.number, sizeof(c.number), "%s", number);
	snprintf(c.api_key, sizeof(c.api_key), "%s", api_key);
	snprintf(c.request_id, sizeof(c.request_id), "%s", request_id);
	/*
	 * Every token of one verification has its request id for jti (the
	 * check's, and the search's after a missed call), so single use
	 * spends them all at once.
	 */
	if (strlen(request_id) == sizeof(c.jti) - 1 &&
	    strspn(request_id, "0123456789abcdef") == sizeof(c.jti) - 1)
		memcpy(c.jti, request_id, sizeof(c.jti));
	c.iat = now;
	c.exp = now + (bs.token_ttl > 0 ? bs.token_ttl : 600);
	return vtoken_issue(&c, out, VTOKEN_MAX);
}

/*
 * Only the backend of the site that owns the token's publishable key may
 * redeem it: 1 when `caller` owns the key named by the token, 0 when not
 * (or the key has no owner), or KV_EDB.
 */
static int redeem_owner_ok(const struct vtoken_claims *claims, int64_t caller)
{
	int owns = 0;
	int rc = keys_owner_check(claims->api_key, caller, &owns);

	return rc ? rc : owns;
}

enum browser_redeem browser_redeem_start(const char *token, int single_use,
					 int64_t caller_key_id,
					 struct browser_redeem_op *op)
{
	enum vtoken_result r;
	int rc;

	op->now_ms = now_ms();
	op->used = 0;
	r = vtoken_verify(token, op->now_ms / 1000, &op->claims);
	if (r != VTOKEN_OK && r != VTOKEN_EXPIRED)
		return REDEEM_INVALID;
	/* Another tenant learns nothing, not even that the token expired. */
	rc = redeem_owner_ok(&op->claims, caller_key_id);
	if (rc < 0)
		return REDEEM_ERROR;
	if (rc == 0)
		return REDEEM_INVALID;
	if (r == VTOKEN_EXPIRED)
		return REDEEM_EXPIRED;
	if (single_use)
		return REDEEM_PENDING;
	/* Spent by a single-use redemption: spent for every later one. */
	rc = verify_token_spent(op->claims.jti, &op->used);
	if (rc < 0)
		return REDEEM_ERROR;
	return op->used ? REDEEM_USED : REDEEM_OK;
}

int browser_redeem_run(struct store_tx *c, void *arg)
{
	struct browser_redeem_op *op = arg;
	struct verify_token_use use = {
		.jti = op->claims.jti,
		.exp_ms = op->claims.exp * 1000,
		.now_ms = op->now_ms,
	};
	int rc = verify_token_use_run(c, &use);

	op->used = use.used;
	return rc;
}

enum browser_redeem browser_redeem_finish(const struct browser_redeem_op *op,
					  int rc)
{
	if (rc != 0)
		return REDEEM_ERROR;
	return op->used ? REDEEM_USED : REDEEM_OK;
}

/* ---- HTTP ---- */

static void reply_json_obj(struct http_req *req, unsigned int status, json_t *o)
{
	size_t len = 0;
	char *text = jdump_compact(o, &len);

	json_decref(o);
	http_reply(req, status, "application/json", text, len);
}

static void browser_jwks(struct http_req *req)
{
	req->cors_allow = "*";
	reply_json_obj(req, 200, vtoken_jwks());
}

static void demo_not_found(struct http_req *req)
{
	http_reply_copy(req, 404, "application/json",
			"{\"status\":404,\"error_text\":\"Not found\"}");
}

static const char *demo_type(const char *name)
{
	static const struct {
		const char *suffix, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".json", "application/json"},
	};
	size_t n = strlen(name);

	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		size_t k = strlen(types[i].suffix);

		if (n > k && strcmp(name + n - k, types[i].suffix) == 0)
			return types[i].type;
	}
	return NULL;
}

/* A flat file name: letters, digits, '_', '-', '.', not starting with '.'. */
static int demo_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < DEMO_NAME_MAX && name[0] != '.' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == n;
}

void browser_file(struct http_req *req, const char *dir, const char *name)
{
	const char *type = demo_type(name);
	char path[1100];
	struct stat st;
	char *body = NULL;
	ssize_t got = 0;
	int fd = -1;

	if (!demo_name_ok(name) || !type ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    sizeof(path))
		goto missing;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > DEMO_FILE_MAX)
		goto missing;
	body = malloc((size_t)st.st_size + 1);
	if (!body)
		goto missing;
	while (got < st.st_size) {
		ssize_t n = read(fd, body + got, (size_t)(st.st_size - got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto missing;
		got += n;
	}
	body[got] = '\0';
	close(fd);
	http_reply(req, 200, type, body, (size_t)got);
	return;
missing:
	if (fd >= 0)
		close(fd);
	free(body);
	demo_not_found(req);
}

/* Serves <demo_root>/<sub>/<name>. */
static void demo_file(struct http_req *req, const char *sub, const char *name)
{
	char dir[1024];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", bs.root, sub) >=
	    sizeof(dir)) {
		demo_not_found(req);
		return;
	}
	browser_file(req, dir, name);
}

static void demo_config(struct http_req *req)
{
	reply_json_obj(req, 200,
		       json_pack("{s:s, s:s, s:s, s:i}", "api_key", bs.key,
				 "base_url", "", "inbox_url", bs.inbox_url,
				 "resend_cooldown", bs.resend_cooldown));
}

static void browser_demo(struct http_req *req)
{
	const char *rest;

	if (!bs.demo) {
		demo_not_found(req);
		return;
	}
	if (strcmp(req->path, "/demo") == 0) {
		/* The page's relative imports need the trailing slash. */
		req->location = "/demo/";
		http_reply_copy(req, 301, "text/plain", "");
		return;
	}
	rest = req->path + strlen("/demo/");
	if (*rest == '\0')
		demo_file(req, "demo", "index.html");
	else if (strcmp(rest, "config.json") == 0)
		demo_config(req);
	else if (strncmp(rest, "sdk/", 4) == 0)
		demo_file(req, "sdk/js/src", rest + 4);
	else
		demo_file(req, "demo", rest);
}

const struct route browser_routes[] = {
	{BROWSER_JWKS_PATH, browser_jwks, HTTP_GET | HTTP_HEAD, 0, 0},
	{"/demo", browser_demo, HTTP_GET | HTTP_HEAD, 0, 0},
	{"/demo/", browser_demo, HTTP_GET | HTTP_HEAD, 1, 0},
	{NULL, NULL, 0, 0, 0},
};
