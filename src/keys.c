/*
 * API key creation and authentication (keys.h).
 */
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "keys.h"
#include "metrics.h"
#include "store.h"
#include "util.h"

static void key_row_init(struct key_info *k, const char *name,
			 int voice_confirm, const char *countries)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name ? name : "");
	k->created_ms = now_ms();
	k->voice_confirm = voice_confirm;
	snprintf(k->countries, sizeof(k->countries), "%s",
		 countries ? countries : "IN");
}

/* Inserts the key and its origins in one transaction. */
static int insert_with_origins(struct store_tx *c, const struct key_info *k,
			       const char *const *origins, size_t n)
{
	int64_t id = 0;
	int rc = store_begin(c);

	if (rc != 0)
		return rc;
	rc = store_key_insert(c, k, &id);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = store_key_origin_add(c, id, origins[i]);
	if (rc == 0)
		return store_commit(c);
	store_rollback(c);
	return rc;
}

int keys_create(struct store_tx *c, const char *name, int voice_confirm,
		const char *countries, char api_key[CRYPTO_API_KEY_LEN + 1],
		char api_secret[CRYPTO_API_SECRET_LEN + 1])
{
	return keys_create_origins(c, name, voice_confirm, countries, NULL, 0,
				   api_key, api_secret);
}

int keys_create_origins(struct store_tx *c, const char *name, int voice_confirm,
			const char *countries, const char *const *origins,
			size_t n, char api_key[CRYPTO_API_KEY_LEN + 1],
			char api_secret[CRYPTO_API_SECRET_LEN + 1])
{
	struct key_info k;

	if (n > KEYS_ORIGINS_MAX)
		return KV_EINVAL;
	key_row_init(&k, name, voice_confirm, countries);
	crypto_api_credentials(api_key, api_secret);
	memcpy(k.api_key, api_key, CRYPTO_API_KEY_LEN + 1);
	crypto_secret_hash(api_secret, k.secret_hash);
	k.kind = KEY_SECRET;
	if (n == 0)
		return store_key_insert(c, &k, NULL);
	return insert_with_origins(c, &k, origins, n);
}

/* The id of `owner` if it is an active secret key, else KV_ENOTFOUND. */
static int owner_id_of(struct store_tx *c, const char *owner, int64_t *id)
{
	struct key_info o;
	int rc = store_key_get(c, owner, &o);

	if (rc != 0)
		return rc;
	if (o.kind != KEY_SECRET || o.revoked_ms != 0)
		return KV_ENOTFOUND;
	*id = o.id;
	return 0;
}

int keys_create_publishable(struct store_tx *c, const char *name,
			    int voice_confirm, const char *countries,
			    const char *brand, const char *owner,
			    const char *const *origins, size_t n,
			    char api_key[KEYS_PUBLISHABLE_LEN + 1])
{
	const size_t plen = sizeof(KEYS_PUBLISHABLE_PREFIX) - 1;
	unsigned char raw[(KEYS_PUBLISHABLE_LEN - 3) / 2];
	struct key_info k;
	int64_t owner_id = 0;
	int rc;

	if (n == 0 || n > KEYS_ORIGINS_MAX)
		return KV_EINVAL;
	if (owner && (rc = owner_id_of(c, owner, &owner_id)) != 0)
		return rc;
	key_row_init(&k, name, voice_confirm, countries);
	k.owner_key_id = owner_id;
	memcpy(api_key, KEYS_PUBLISHABLE_PREFIX, plen);
	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), api_key + plen);
	memcpy(k.api_key, api_key, KEYS_PUBLISHABLE_LEN + 1);
	/* No secret opens it: the hash of random bytes nobody keeps. */
	randombytes_buf(k.secret_hash, sizeof(k.secret_hash));
	k.kind = KEY_PUBLISHABLE;
	snprintf(k.brand, sizeof(k.brand), "%s", brand ? brand : "");
	return insert_with_origins(c, &k, origins, n);
}

int keys_is_publishable(const char *api_key)
{
	return strncmp(api_key, KEYS_PUBLISHABLE_PREFIX,
		       sizeof(KEYS_PUBLISHABLE_PREFIX) - 1) == 0;
}

/* Host of an origin: DNS labels or a bracketed IPv6 address. */
static int host_valid(const char *h, size_t n)
{
	if (n == 0)
		return 0;
	if (h[0] == '[')
		return n > 2 && h[n - 1] == ']' &&
		       strspn(h + 1, "0123456789abcdef:.") == n - 2;
	return strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n &&
	       h[0] != '.' && h[0] != '-' && h[n - 1] != '.';
}

int keys_origin_normalize(const char *in, char out[KEYS_ORIGIN_MAX])
{
	char s[KEYS_ORIGIN_MAX] = "";
	size_t n = strnlen(in, KEYS_ORIGIN_MAX), hn;
	const char *host, *colon, *def;
	int port = 0;

	if (n == KEYS_ORIGIN_MAX)
		return KV_EINVAL;
	for (size_t i = 0; i <= n; i++)
		s[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a'
							   : in[i]);
	if (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	if (strncmp(s, "https://", 8) == 0) {
		host = s + 8;
		def = "443";
	} else if (strncmp(s, "http://", 7) == 0) {
		host = s + 7;
		def = "80";
	} else {
		return KV_EINVAL;
	}
	/* The port follows the last ':' outside an IPv6 address. */
	colon = strrchr(host, ':');
	if (colon && strchr(host, ']') > colon)
		colon = NULL;
	hn = colon ? (size_t)(colon - host) : strlen(host);
	if (!host_valid(host, hn))
		return KV_EINVAL;
	if (colon && (strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
		      parse_int(colon + 1, 1, 65535, &port) != 0))
		return KV_EINVAL;
	if (colon && strcmp(colon + 1, def) == 0)
		s[colon - s] = '\0';
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int keys_authenticate(const char *api_key, const char *api_secret,
		      struct key_auth *out)
{
	static const unsigned char absent[CRYPTO_HASH_LEN];
	unsigned char given[CRYPTO_HASH_LEN];
	struct store_tx *c = store_reader();
	struct key_info k;
	int found, rc;

	if (!c)
		return KV_EDB;
	rc = store_key_get(c, api_key, &k);
	if (rc != 0 && rc != KV_ENOTFOUND)
		return rc;
	found = rc == 0 && k.revoked_ms == 0 && k.kind == KEY_SECRET;
	/* Hash and compare even for an unknown key: equal work either way. */
	crypto_secret_hash(api_secret, given);
	rc = crypto_hash_equal(given, found ? k.secret_hash : absent);
	sodium_memzero(given, sizeof(given));
	if (!found || !rc)
		return KV_EAUTH;
	metrics_key_name(k.id, k.api_key);
	out->key_id = k.id;
	out->kind = k.kind;
	memcpy(out->countries, k.countries, sizeof(k.countries));
	out->brand[0] = '\0';
	return 0;
}

int keys_authenticate_publishable(const char *api_key, const char *origin,
				  struct key_auth *out)
{
	struct store_tx *c = store_reader();
	struct key_info k;
	int listed = 0, rc;

	if (!c)
		return KV_EDB;
	rc = store_key_get(c, api_key, &k);
	if (rc == KV_ENOTFOUND ||
	    (rc == 0 && (k.revoked_ms != 0 || k.kind != KEY_PUBLISHABLE)))
		return KV_EAUTH;
	if (rc != 0)
		return rc;
	if (!origin)
		return KV_EPERM;
	rc = store_key_origin_allowed(c, k.id, origin, &listed);
	if (rc != 0)
		return rc;
	if (!listed)
		return KV_EPERM;
	metrics_key_name(k.id, k.api_key);
	out->key_id = k.id;
	out->kind = k.kind;
	memcpy(out->countries, k.countries, sizeof(k.countries));
	memcpy(out->brand, k.brand, sizeof(k.brand));
	return 0;
}

int keys_origin_known(const char *origin, int *known)
{
	struct store_tx *c = store_reader();
	int rc;

	*known = 0;
	rc = c ? store_origin_known(c, origin, known) : KV_EDB;
	if (rc != 0)
		*known = 0;
	return rc;
}

int keys_origin_listed(int64_t key_id, const char *origin, int *listed)
{
	struct store_tx *c = store_reader();

	*listed = 0;
	return c ? store_key_origin_allowed(c, key_id, origin, listed) : KV_EDB;
}

int keys_origin_host(const char *origin, char *host, size_t hostlen)
{
	const char *h = strstr(origin, "://");
	size_t n;

	if (!h)
		return KV_EINVAL;
	h += 3;
	n = strlen(h);
	/* A port left after normalising is not the default one; '[' starts
	 * an IPv6 address; digits and dots alone are an IPv4 one. */
	if (n == 0 || strchr(h, ':') || h[0] == '[' ||
	    strspn(h, "0123456789.") == n)
		return KV_EINVAL;
	if (n > KEYS_WEBOTP_HOST_MAX || n >= hostlen)
		return KV_ERANGE;
	memcpy(host, h, n + 1);
	return 0;
}

int keys_origin_preflight(const char *origin, int *known)
{
	int rc;

	store_read_begin();
	rc = keys_origin_known(origin, known);
	store_read_end();
	return rc;
}

int keys_owner_check(const char *api_key, int64_t owner_key_id, int *owns)
{
	struct store_tx *c = store_reader();
	struct key_info k;
	int rc;

	*owns = 0;
	if (!c)
		return KV_EDB;
	rc = store_key_get(c, api_key, &k);
	if (rc == KV_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	*owns = k.kind == KEY_PUBLISHABLE && k.owner_key_id != 0 &&
		k.owner_key_id == owner_key_id;
	return 0;
}
