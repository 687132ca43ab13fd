/*
 * Server settings: one struct with compiled-in defaults, then the config file,
 * then KOOKOOVERIFY_* environment variables, then command-line flags.  Every
 * setting is described once, in the directive table of config.c.
 */
#ifndef KV_CONFIG_H
#define KV_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Most entries in an address list: trusted_proxies, missed_call_sources. */
#define ADDR_LIST_MAX 32
#define TRUSTED_PROXIES_MAX ADDR_LIST_MAX
#define MISSED_CALL_SOURCES_MAX ADDR_LIST_MAX

struct config {
	char listen[64];
	char db[512];
	char secret_file[512];
	int operator_token_epoch;
	char default_country[3];
	char test_numbers[2048];
	char log_level[8];
	char log_format[8];
	char access_log[4];
	int pin_expiry;
	int next_event_wait;
	int code_length;
	int param_min_wait;
	int cancel_min_age;
	int resend_cooldown;
	int resend_max;
	int resend_backoff_base;
	int resend_backoff_max;
	int resend_backoff_quiet;
	int resend_backoff_jitter;
	int verified_ttl;
	int threads;
	int max_connections;
	int per_ip_connections;
	int max_pending_requests;
	int request_timeout;
	char trusted_proxies[256];
	char forwarded_header[16];
	int body_max;
	int connection_timeout;
	int write_batch_max;
	char db_synchronous[8]; /* normal or full (SQLite) */
	char fault_file[512];   /* tests only: faultvfs.h */
	/* Delivery (jobs.c, kookoo.c). */
	char kookoo_base_url[256];
	char kookoo_api_key[128];
	char kookoo_sender_id[16];
	char kookoo_caller_id[32];
	char kookoo_sms_unicode[64];
	char kookoo_dlt_template_param[32];
	char kookoo_dlt_entity_param[32];
	char kookoo_dlt_header_param[32];
	char public_base_url[256];
	char xml_templates[512];
	char sms_templates[512];
	char console_dir[512];
	char call_window[16];
	/* Missed-call verification (verify_missed.c). */
	char missed_call_dids[256];
	char missed_call_path[128];
	char missed_call_sources[256];
	char call_outside_window[8];
	int call_window_utc_offset;
	int kookoo_connect_timeout_ms;
	int kookoo_timeout_ms;
	int send_rate;
	int job_workers;
	int job_lease;
	int retry_base_ms;
	int retry_max_ms;
	int retry_max_attempts;
	/* Status callbacks (callback.c). */
	int callback_workers;
	int callback_timeout_ms;
	int callback_retry_base_ms;
	int callback_retry_max_ms;
	int callback_give_up;
	char callback_allow_private[4];
	/* Abuse limits (0 turns one off). */
	int limit_key_rps;
	int limit_number_max;
	int limit_number_window;
	int limit_prefix_per_hour;
	int limit_prefix_digits;
	int limit_ip_checks_per_min;
	int limit_ip_auth_failures_per_min;
	int limit_ipv6_prefix;
	int limit_pk_rps;
	int limit_pk_ip_requests_per_hour;
	int limit_pk_ip_calls_per_min;
	int limit_pk_junk_cost;
	int limit_table_slots;
	/* Browsers: verification tokens and the demo page. */
	int token_ttl;
	int demo;
	char demo_root[512];
	char demo_key[64];
	char demo_inbox_url[256];
	/* Fraud blocks (fraud.c). */
	int fraud_reports_block;
	int fraud_report_window;
	int fraud_block_seconds;
	int fraud_min_volume;
	int fraud_min_conversion;
	/* Retention (verify_purge.c); 0 keeps a kind of record forever. */
	int retain_verifications;
	int retain_client_addresses;
	int retain_events;
	int purge_interval;
	int purge_batch;
};

/* Fills `c` with the compiled-in defaults. */
void config_init(struct config *c);

/*
 * Sets one directive from text.  Returns 0, KV_ENOTFOUND for an unknown
 * name, KV_EINVAL/KV_ERANGE for a bad value; `err` (size errlen) then says
 * why in a sentence naming the setting.
 */
int config_set(struct config *c, const char *name, const char *value, char *err,
	       size_t errlen);

/* Reads "name = value" lines ('#' comments).  Errors name file and line. */
int config_load_file(struct config *c, const char *path, char *err,
		     size_t errlen);

/* Applies every KOOKOOVERIFY_<NAME> variable present in the environment. */
int config_load_env(struct config *c, char *err, size_t errlen);

/* Cross-field checks (test_numbers syntax, listen address). */
int config_validate(const struct config *c, char *err, size_t errlen);

/*
 * Parses "HH:MM-HH:MM" into minutes after midnight (either may be NULL).
 * An end before the start spans midnight.  0 or KV_EINVAL.
 */
int window_parse(const char *text, int *start_min, int *end_min);

/* Writes one line per directive: name, default and help text. */
void config_print_help(FILE *out);

/*
 * Writes every directive as a config file: its help text as a comment, then
 * "#name = default", or "name = value" uncommented where `c` differs from
 * the default (the installed paths).
 */
void config_write_conf(FILE *out, const struct config *c);

/* Writes every directive as roff paragraphs for the man page's SETTINGS. */
void config_write_man(FILE *out);

#endif
