/*
 * The domain's records, owned by the service: a verification and what
 * happens to it (checks, delivery events, calls, jobs), API keys and fraud
 * blocks.  Every layer may use them; none of them says how or where they are
 * kept (store.h does that, behind its own interface).
 */
#ifndef KV_MODEL_H
#define KV_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "engine.h"

/* The longest client_ref a verification may carry (bytes). */
#define VF_CLIENT_REF_MAX 40

/* A Verify v2 template's id (a UUID's 36 characters). */
#define TEMPLATE_ID_LEN 36

/* A stored verification: the engine's mutable state plus what describes it. */
struct vf_record {
	struct verification v;
	char number[16]; /* E.164 digits, no '+' */
	int number_type;
	char brand[80]; /* 18 code points of up to 4 bytes, or 63 bytes */
	char sender_id[16];
	char lg[16];
	int workflow_id;
	int code_length;
	int test_number; /* fixed PIN: nothing is ever sent */
	unsigned char pin_hash[CRYPTO_HASH_LEN];
	int64_t wait_ms[ENGINE_MAX_STEPS];
	char steps[ENGINE_MAX_STEPS + 1]; /* 's' SMS, 't' TTS per step */
	int64_t first_event_ms;
	int64_t last_event_ms;
	unsigned char pin_box[CRYPTO_PIN_BOX_MAX]; /* crypto_pin_seal() */
	size_t pin_box_len;
	char call_sid[64]; /* KooKoo's id of the latest call */
	/* Started through a publishable key: the keyed hash of its handle. */
	unsigned char handle_hash[CRYPTO_HASH_LEN];
	int has_handle;
	/*
	 * Autofill: the host of the web origin the code is for (the WebOTP
	 * line "@host #code") and the Android app's SMS Retriever hash; ""
	 * when none.  Stored, so that every node sends the same SMS.
	 */
	char origin_host[64];
	char app_hash[12];
	/*
	 * The DID (E.164 digits) a missed call from `number` verifies it by,
	 * until v.missed_until_ms; "" when no missed call may.
	 */
	char missed_did[16];
	/*
	 * The client's reference for the verification (Vonage v2's
	 * client_ref), echoed in its status callbacks; "" when none.
	 */
	char client_ref[VF_CLIENT_REF_MAX + 1];
	/*
	 * 1 when Verify v2 started it: its callbacks name it by the UUID form
	 * of request_id, the one that start answered.
	 */
	int v2;
	/*
	 * The Verify v2 template its start chose (the one named, else the
	 * key's default then), whose voice fragment its calls read; "" when
	 * none.
	 */
	char template_id[TEMPLATE_ID_LEN + 1];
};

struct key_info {
	int64_t id;
	char api_key[40];
	char name[64];
	unsigned char secret_hash[CRYPTO_HASH_LEN];
	int64_t created_ms;
	int64_t revoked_ms; /* 0 while active */
	int voice_confirm;  /* the callee may verify by pressing 2 */
	char countries[64]; /* allow-list: "IN", "IN,GB", or "*" for any */
	int kind;           /* KEY_SECRET or KEY_PUBLISHABLE */
	char brand[80];     /* publishable: the only brand it may use, or "" */
	/* publishable: the secret key that may redeem its tokens (0: none) */
	int64_t owner_key_id;
	char owner[40];  /* that key's api_key, or "" (read only) */
	int missed_call; /* missed-call verification enabled (read only) */
};

enum key_kind {
	KEY_SECRET = 0,      /* key + secret, for backends */
	KEY_PUBLISHABLE = 1, /* key alone, for browsers of listed origins */
};

/* The longest PEM public key an application may register (bytes). */
#define APP_PEM_MAX 2048
#define APP_ID_LEN 36 /* a UUID, lower case */

/*
 * A Vonage-style application: the public key its JWTs are signed with,
 * bound to one API key, whose rights its calls get.
 */
struct app_info {
	char app_id[APP_ID_LEN + 1];
	int64_t key_id;
	char public_key[APP_PEM_MAX];
	int64_t created_ms;
	/* read only: the bound key's */
	char api_key[40];
	int64_t key_revoked_ms;
	int key_kind;
	char countries[64];
};

/* The longest Idempotency-Key header value. */
#define IDEM_KEY_MAX 255

/*
 * A start answered once: a retry with the same Idempotency-Key and the
 * same request (its hash) gets the same verification's answer again.
 */
struct idem_record {
	int64_t key_id;
	char idem_key[IDEM_KEY_MAX + 1];
	unsigned char body_hash[32];
	char request_id[33];
	int64_t created_ms;
};

struct vf_check {
	int64_t created_ms;
	char code[16];
	int valid;
	char ip[48];
};

struct vf_event {
	int64_t created_ms;
	char type[16]; /* "sms", "tts", "resend", ... */
	char channel[8];
	char provider_id[64];
	char result[32];
	char detail[160];
	char encoding[8]; /* an SMS: "gsm7" or "ucs2"; else "" */
	int segments;     /* an SMS: its segments; else 0 */
};

struct vf_verified {
	int64_t verified_ms;
	char request_id[ENGINE_REQUEST_ID_LEN + 1];
};

/* Job kinds stored in jobs.kind. */
#define JOB_STEP "step"     /* run workflow step jobs.step */
#define JOB_RESEND "resend" /* send the current PIN again on the same channel */

/* One call KooKoo placed for a verification, keyed by KooKoo's sid. */
struct vf_call {
	char sid[64];
	int64_t verification_id;
	int step;
	int repeats;      /* times the PIN was read again on request */
	char outcome[16]; /* "", "confirmed", "reported", "goodbye", "ended" */
	char status[32];  /* KooKoo's call status: answered, ring, busy... */
	int duration;     /* seconds */
};

/*
 * A number prefix blocked against fraud until until_ms: for every key
 * (key_id 0), or only for the publishable key key_id, whose requests alone
 * earned it (fraud.h).
 */
struct fraud_block {
	char prefix[16];
	char reason[96];
	int64_t created_ms;
	int64_t until_ms;
	int64_t key_id;
	char api_key[40]; /* read only: key_id's api_key, "" for key_id 0 */
};

/* Delivery jobs. */
#define JOB_EXPIRE "expire" /* record the verification's expiry */

enum job_state {
	JOB_PENDING = 0,
	JOB_DONE = 1,
	JOB_FAILED = 2,    /* retries exhausted or refused for good */
	JOB_CANCELLED = 3, /* the verification ended first, or a stale job */
};

struct vf_job {
	int64_t id;
	char kind[16];
	int64_t verification_id;
	int step;
	int64_t due_ms;
	int attempts; /* including the current one after store_job_claim */
};

/*
 * Status callbacks (callback.h).  A key's callback: the URL its
 * verifications' events are POSTed to and the secret that signs them.
 */
#define CALLBACK_URL_MAX 512
#define CALLBACK_SECRET_MAX 128
struct key_callback {
	char url[CALLBACK_URL_MAX];
	char secret[CALLBACK_SECRET_MAX];
};

/* One callback to deliver: its signed body's parts and its delivery state. */
#define CALLBACK_BODY_MAX 2048
#define CALLBACK_JTI_LEN 32
/* Keys a claim may pass over (their receivers hold enough senders). */
#define CALLBACK_SKIP_KEYS 4
struct vf_callback {
	int64_t id;
	int64_t verification_id;
	int64_t key_id;
	char jti[CALLBACK_JTI_LEN + 1]; /* the same on every attempt */
	char body[CALLBACK_BODY_MAX];   /* JSON, as signed and sent */
	int64_t created_ms;
	int attempts;           /* including the current one after the claim */
	struct key_callback to; /* the key's, read by the claim */
	char api_key[40];       /* the key's, read by the claim */
};

/*
 * Verify v2 templates of one API key (docs/API.md, "Templates"): a named
 * set of fragments, one per channel and locale.  Ids are UUIDs.
 */
#define TEMPLATE_NAME_MAX 64   /* bytes of a template's name */
#define FRAGMENT_TEXT_MAX 1024 /* bytes of a fragment's text with its NUL */

struct vf_template {
	char id[TEMPLATE_ID_LEN + 1];
	int64_t key_id;
	char name[TEMPLATE_NAME_MAX + 1];
	int is_default; /* the key's one default (at most one per key) */
	int64_t created_ms, updated_ms;
};

/* One text of a template, for a channel ("sms", "voice") and a locale. */
struct vf_fragment {
	char id[TEMPLATE_ID_LEN + 1];
	char template_id[TEMPLATE_ID_LEN + 1];
	int64_t key_id;
	char channel[8];
	char locale[8]; /* Vonage's, lower case ("en-us") */
	char text[FRAGMENT_TEXT_MAX];
	/* The DLT registration an sms text is ("" for none). */
	char dlt_template_id[20];
	char dlt_entity_id[32];
	int64_t created_ms, updated_ms;
};

#endif
