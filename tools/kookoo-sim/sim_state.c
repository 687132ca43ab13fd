/*
 * kookoo-sim: the state every thread shares (struct sim_state under one
 * lock): small text and phone-number helpers, per-number inboxes, request
 * counters and statistics, and the fault scripts set by --script or
 * POST /sim/script.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"
#include "log.h"
#include "sim.h"
#include "util.h"

const char *const mode_names[] = {
	"ok",      "dnd",     "window",    "http500",
	"timeout", "garbage", "no_answer", "busy",
};

const struct sim_script script_defaults = {
	.sms = MODE_OK,
	.call = MODE_OK,
	.ring_ms = 100,
	.timeout_ms = 15000,
};

enum field_kind { FIELD_MODE, FIELD_INT, FIELD_KEYS };

static const struct script_field {
	const char *name;
	enum field_kind kind;
	size_t off;
	int min;
	int max;
} script_fields[] = {
	{"sms", FIELD_MODE, offsetof(struct sim_script, sms), 0, MODE_GARBAGE},
	{"call", FIELD_MODE, offsetof(struct sim_script, call), 0, MODE_BUSY},
	{"sms_fail_times", FIELD_INT,
	 offsetof(struct sim_script, sms_fail_times), 0, 1000000},
	{"call_fail_times", FIELD_INT,
	 offsetof(struct sim_script, call_fail_times), 0, 1000000},
	{"hangup_at", FIELD_INT, offsetof(struct sim_script, hangup_at), 0,
	 SIM_STEPS_MAX},
	{"ring_ms", FIELD_INT, offsetof(struct sim_script, ring_ms), 0, 60000},
	{"timeout_ms", FIELD_INT, offsetof(struct sim_script, timeout_ms), 0,
	 120000},
	{"keys", FIELD_KEYS, 0, 0, 0},
};

struct sim_state sim = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- small helpers ------------------------------------------------------ */

int sim_is_stopping(void)
{
	int s;

	pthread_mutex_lock(&sim.lock);
	s = sim.stopping;
	pthread_mutex_unlock(&sim.lock);
	return s;
}

/* Sleeps ms milliseconds; returns KV_EIO at once when the simulator stops. */
int sim_sleep_ms(int64_t ms)
{
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sim.lock);
	while (!sim.stopping &&
	       pthread_cond_timedwait(&sim.cond, &sim.lock, &ts) != ETIMEDOUT)
		;
	rc = sim.stopping ? KV_EIO : 0;
	pthread_mutex_unlock(&sim.lock);
	return rc;
}

/* xorshift64*: a uniform double in [0, 1).  Not for secrets. */
double sim_random_locked(void)
{
	sim.rng ^= sim.rng >> 12;
	sim.rng ^= sim.rng << 25;
	sim.rng ^= sim.rng >> 27;
	return (double)((sim.rng * 2685821657736338717ULL) >> 11) /
	       9007199254740992.0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Copies src into dst (cap bytes) as one printable line of valid UTF-8:
 * control characters become spaces, invalid bytes '?'; cut at the cap on
 * a character boundary.  JSON strings and printed lines both need this.
 */
static void clean(char *dst, size_t cap, const char *src, int keep_newline)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = src ? strlen(src) : 0;
	size_t o = 0;

	while (n && o + 1 < cap) {
		size_t l = utf8_seq(s, n);

		if (l == 0) {
			dst[o++] = '?';
			l = 1;
		} else if (l == 1 && (*s < 0x20 || *s == 0x7f) &&
			   !(keep_newline && *s == '\n')) {
			dst[o++] = ' ';
		} else if (o + l < cap) {
			memcpy(dst + o, s, l);
			o += l;
		} else {
			break;
		}
		s += l;
		n -= l;
	}
	dst[o] = '\0';
}

void text_clean(char *dst, size_t cap, const char *src)
{
	clean(dst, cap, src, 0);
}

void text_clean_message(char *dst, size_t cap, const char *src)
{
	clean(dst, cap, src, 1);
}

/* A phone number as KooKoo takes it: optional '+', then 5 to 20 digits. */
int phone_ok(const char *p)
{
	size_t n;

	if (!p)
		return 0;
	if (*p == '+')
		p++;
	n = strlen(p);
	return n >= 5 && n <= 20 && strspn(p, "0123456789") == n;
}

static const char *phone_tail(const char *p)
{
	size_t n = strlen(p);

	return n > 10 ? p + n - 10 : p;
}

/* Same number: equal as given, or equal in their last 10 digits. */
static int phone_match(const char *a, const char *b)
{
	return strcmp(a, b) == 0 || (strlen(a) >= 10 && strlen(b) >= 10 &&
				     strcmp(phone_tail(a), phone_tail(b)) == 0);
}

int empty(const char *s)
{
	return !s || !*s;
}

void sim_print_locked(const char *fmt, ...)
{
	va_list ap;

	if (sim.quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Appends item (stolen) to arr, dropping the oldest entries past cap. */
void array_push_capped(json_t *arr, json_t *item, size_t cap)
{
	if (!item)
		return;
	if (json_array_append_new(arr, item) != 0)
		return;
	while (json_array_size(arr) > cap)
		json_array_remove(arr, 0);
}

/* Deletes the members whose value is null: a script sets null to remove. */
static void object_drop_nulls(json_t *obj)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v)
	{
		if (json_is_null(v))
			json_object_del(obj, key);
	}
}

/* ---- statistics, inboxes, counters (all with sim.lock held) ------------- */

static json_t *object_child_locked(json_t *parent, const char *key, size_t cap)
{
	json_t *c = json_object_get(parent, key);

	if (c || json_object_size(parent) >= cap)
		return c;
	c = json_object();
	if (!c || json_object_set_new(parent, key, c) != 0)
		return NULL;
	return c;
}

static void count_bump(json_t *obj, const char *name)
{
	if (obj)
		json_object_set_new(
			obj, name,
			json_integer(
				json_integer_value(json_object_get(obj, name)) +
				1));
}

void stats_bump_locked(const char *group, const char *name)
{
	count_bump(object_child_locked(sim.stats, group, 64), name);
}

void stats_bump(const char *group, const char *name)
{
	pthread_mutex_lock(&sim.lock);
	stats_bump_locked(group, name);
	pthread_mutex_unlock(&sim.lock);
}

/* Bumps and returns how many requests of api this number has made. */
int counter_bump_locked(const char *phone, const char *api)
{
	json_t *c;
	json_int_t n;

	if (json_object_size(sim.counters) >= SIM_NUMBERS_MAX &&
	    !json_object_get(sim.counters, phone_tail(phone)))
		json_object_clear(sim.counters);
	c = object_child_locked(sim.counters, phone_tail(phone),
				SIM_NUMBERS_MAX);
	if (!c)
		return INT_MAX;
	count_bump(c, api);
	n = json_integer_value(json_object_get(c, api));
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* The inbox of a number (exact form first, then last 10 digits). */
json_t *inbox_find_locked(const char *phone, int create)
{
	const char *key;
	json_t *box = json_object_get(sim.inboxes, phone);

	if (box)
		return box;
	json_object_foreach (sim.inboxes, key, box) {
		if (phone_match(key, phone))
			return box;
	}
	if (!create || json_object_size(sim.inboxes) >= SIM_NUMBERS_MAX)
		return NULL;
	box = json_pack("{s:s, s:[], s:[]}", "phone_no", phone, "sms", "calls");
	if (!box || json_object_set_new(sim.inboxes, phone, box) != 0)
		return NULL;
	return box;
}

/* Counts per number, under the form its inbox was created with. */
void stats_number_locked(const char *phone, const char *name)
{
	json_t *numbers = object_child_locked(sim.stats, "numbers", 64);
	const char *key = json_string_value(
		json_object_get(inbox_find_locked(phone, 0), "phone_no"));

	if (numbers)
		count_bump(object_child_locked(numbers, key ? key : phone,
					       SIM_NUMBERS_MAX),
			   name);
}

/* Records an SMS for phone; all strings clean UTF-8; sender may be NULL. */
static int text_has_non_ascii(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p >= 0x80)
			return 1;
	return 0;
}

void inbox_add_sms_locked(const char *phone, const char *text,
			  const char *sender, const char *unicode,
			  json_t *params)
{
	char when[20];
	json_t *box = inbox_find_locked(phone, 1);

	format_datetime(now_ms() / 1000, when);
	if (box)
		array_push_capped(json_object_get(box, "sms"),
				  json_pack("{s:s, s:s?, s:s, s:s?, s:o}",
					    "message", text, "senderid", sender,
					    "time", when, "unicode", unicode,
					    "params",
					    params ? params : json_object()),
				  SIM_SMS_PER_NUMBER);
	else
		json_decref(params);
	/* KooKoo sends text not marked Unicode as plain text: a phone
	 * would show Devanagari as garbage.  Counted, for tests to check. */
	if (!unicode && text_has_non_ascii(text))
		stats_bump_locked("sms", "unicode_unmarked");
	stats_number_locked(phone, "sms");
	sim_print_locked("SMS to %s [%s]: %s", phone, sender ? sender : "",
			 text);
}

/* ---- scripts ------------------------------------------------------------ */

static const struct script_field *field_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(script_fields); i++)
		if (strcmp(script_fields[i].name, name) == 0)
			return &script_fields[i];
	return NULL;
}

static int keys_valid(json_t *keys)
{
	size_t i;
	json_t *k;

	if (!json_is_array(keys) || json_array_size(keys) > 64)
		return 0;
	json_array_foreach (keys, i, k) {
		const char *s = json_string_value(k);

		if (!s || strlen(s) > 32 ||
		    strspn(s, "0123456789*#") != strlen(s))
			return 0;
	}
	return 1;
}

static int field_apply(struct sim_script *s, const struct script_field *f,
		       json_t *v)
{
	int *slot = (int *)(void *)((char *)s + f->off);
	const char *m;

	switch (f->kind) {
	case FIELD_KEYS:
		if (!keys_valid(v))
			return KV_EINVAL;
		s->keys = v;
		return 0;
	case FIELD_MODE:
		m = json_string_value(v);
		for (int i = 0; m && i <= f->max; i++) {
			if (strcmp(m, mode_names[i]) == 0) {
				*slot = i;
				return 0;
			}
		}
		return KV_EINVAL;
	case FIELD_INT:
		if (!json_is_integer(v) || json_integer_value(v) < f->min ||
		    json_integer_value(v) > f->max)
			return KV_ERANGE;
		*slot = (int)json_integer_value(v);
		return 0;
	}
	return KV_EINVAL;
}

/* Applies one number's script object over s; err says what is wrong. */
static int script_entry_apply(struct sim_script *s, json_t *entry, char *err,
			      size_t errlen)
{
	const char *name;
	json_t *v;

	if (!json_is_object(entry)) {
		snprintf(err, errlen, "a number's script must be an object");
		return KV_EINVAL;
	}
	json_object_foreach (entry, name, v) {
		const struct script_field *f = field_find(name);

		if (!f) {
			snprintf(err, errlen, "unknown script field \"%.40s\"",
				 name);
			return KV_EINVAL;
		}
		if (field_apply(s, f, v) != 0) {
			snprintf(err, errlen, "bad value for \"%s\"", f->name);
			return KV_EINVAL;
		}
	}
	return 0;
}

/* Checks a whole script document; null values (deletions) are allowed. */
int script_validate(json_t *root, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "the script must be a JSON object");
		return KV_EINVAL;
	}
	json_object_foreach (root, key, v) {
		struct sim_script tmp = script_defaults;
		double rate = json_number_value(v);

		if (json_is_null(v))
			continue;
		if (strcmp(key, "failure_rate") == 0) {
			if (!json_is_number(v) || rate < 0 || rate > 1) {
				snprintf(err, errlen,
					 "failure_rate must be 0 to 1");
				return KV_ERANGE;
			}
			continue;
		}
		if (strcmp(key, "api_key") == 0) {
			if (!json_is_string(v)) {
				snprintf(err, errlen,
					 "api_key must be a string");
				return KV_EINVAL;
			}
			continue;
		}
		if (strcmp(key, "*") != 0 && !phone_ok(key)) {
			snprintf(err, errlen,
				 "\"%.40s\" is not a phone number or \"*\"",
				 key);
			return KV_EINVAL;
		}
		if (script_entry_apply(&tmp, v, err, errlen) != 0)
			return KV_EINVAL;
	}
	return 0;
}

/* Merges a valid script document; a number's fault budget starts over. */
void script_merge_locked(json_t *root)
{
	const char *key;
	json_t *v;

	json_object_foreach (root, key, v) {
		if (strcmp(key, "*") == 0)
			json_object_clear(sim.counters);
		else if (phone_ok(key))
			json_object_del(sim.counters, phone_tail(key));
	}
	json_object_update(sim.scripts, root);
	object_drop_nulls(sim.scripts);
}

static json_t *script_find_locked(const char *phone)
{
	const char *key;
	json_t *v = json_object_get(sim.scripts, phone);

	if (json_is_object(v))
		return v;
	json_object_foreach (sim.scripts, key, v) {
		if (json_is_object(v) && strcmp(key, "*") != 0 &&
		    phone_match(key, phone))
			return v;
	}
	return NULL;
}

/* Defaults, then "*", then the number's own fields.  s->keys is a copy. */
void script_resolve_locked(const char *phone, struct sim_script *s)
{
	char err[8];
	json_t *star = json_object_get(sim.scripts, "*");
	json_t *own = script_find_locked(phone);

	*s = script_defaults;
	if (star)
		script_entry_apply(s, star, err, sizeof(err));
	if (own)
		script_entry_apply(s, own, err, sizeof(err));
	s->keys = s->keys ? json_deep_copy(s->keys) : NULL;
}

/* ---- start-up ---------------------------------------------------------- */

void script_load_file(const char *path)
{
	json_error_t jerr;
	char err[160];
	json_t *root = json_load_file(path, 0, &jerr);

	if (!root)
		fatal("sim.bad_script", LOG_STR("path", path),
		      LOG_INT("line", jerr.line), LOG_STR("error", jerr.text));
	if (script_validate(root, err, sizeof(err)) != 0)
		fatal("sim.bad_script", LOG_STR("path", path),
		      LOG_STR("error", err));
	script_merge_locked(root);
	json_decref(root);
}

void sim_init(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sim.cond, &ca);
	pthread_condattr_destroy(&ca);
	sim.scripts = json_object();
	sim.inboxes = json_object();
	sim.counters = json_object();
	sim.stats = json_object();
	if (!sim.scripts || !sim.inboxes || !sim.counters || !sim.stats)
		fatal("sim.out_of_memory");
	sim.rng = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32) ^
		  0x9e3779b97f4a7c15ULL;
	/* 17-digit call ids like KooKoo's; unique within this process. */
	sim.next_sid = (uint64_t)now_ms() * 10000;
}
