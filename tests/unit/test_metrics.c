/*
 * Unit tests of the metrics registry and its exposition: HELP and TYPE
 * lines, label escaping, histograms cumulative with +Inf equal to the
 * count, the bounded key table, and a writer transaction's additions that
 * count only once committed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

/* The exposition as one NUL-terminated string; the caller frees it. */
static char *render(void)
{
	struct buf b;

	buf_init(&b, 16u << 20);
	assert_int_equal(metrics_render(&b), 0);
	assert_non_null(b.data);
	return b.data;
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static int setup(void **state)
{
	static const char *const routes[] = {"/verify/json", "/metrics"};

	metrics_reset();
	metrics_routes_set(routes, 2);
	return 0;
}

static void test_help_and_type_lines(void **state)
{
	char *t = render();

	assert_true(has_line(t, "# HELP kookooverify_http_requests_total HTTP "
				"requests answered, by route, dialect and "
				"status."));
	assert_true(
		has_line(t, "# TYPE kookooverify_http_requests_total counter"));
	assert_true(has_line(t, "# TYPE kookooverify_http_request_duration_"
				"seconds histogram"));
	assert_true(has_line(t, "# TYPE kookooverify_jobs_due gauge"));
	assert_true(has_line(t, "# TYPE kookooverify_kookoo_request_duration_"
				"seconds histogram"));
	assert_true(
		has_line(t, "# TYPE kookooverify_kookoo_errors_total counter"));
	/* Small closed families show their zeros, so rate() has a start. */
	assert_true(has_line(
		t,
		"kookooverify_kookoo_errors_total{api=\"sms\",class=\"timeout\"} "
		"0"));
	assert_true(has_line(t, "kookooverify_fraud_reports_total 0"));
	/* Sparse ones show nothing until they count. */
	assert_null(strstr(t, "kookooverify_http_requests_total{"));
	free(t);
}

static void test_counter_lines(void **state)
{
	char *t;

	metrics_inc(M_HTTP_REQUESTS, 0, MD_VONAGE, metrics_status(200));
	metrics_add(M_HTTP_REQUESTS, 0, MD_VONAGE, metrics_status(200), 2);
	metrics_inc(M_HTTP_REQUESTS, 1, MD_MISC, metrics_status(401));
	metrics_inc(M_HTTP_REQUESTS, METRICS_ROUTES, MD_MISC,
		    metrics_status(599));
	t = render();
	assert_true(has_line(t, "kookooverify_http_requests_total{route=\"/"
				"verify/json\",dialect=\"vonage\",status="
				"\"200\"} 3"));
	assert_true(has_line(t,
			     "kookooverify_http_requests_total{route=\"/"
			     "metrics\",dialect=\"misc\",status=\"401\"} 1"));
	assert_true(has_line(t, "kookooverify_http_requests_total{route="
				"\"other\",dialect=\"misc\",status=\"other\"} "
				"1"));
	free(t);
}

static void test_histogram_is_cumulative(void **state)
{
	const double seen[] = {0.0004, 0.003, 0.003, 0.7, 42};
	char *t;

	for (size_t i = 0; i < ARRAY_LEN(seen); i++)
		metrics_observe(M_HTTP_DURATION, 0, MD_SEED, seen[i]);
	t = render();
#define H "kookooverify_http_request_duration_seconds"
#define L "route=\"/verify/json\",dialect=\"seed\""
	assert_true(has_line(t, H "_bucket{" L ",le=\"0.0005\"} 1"));
	assert_true(has_line(t, H "_bucket{" L ",le=\"0.001\"} 1"));
	assert_true(has_line(t, H "_bucket{" L ",le=\"0.005\"} 3"));
	assert_true(has_line(t, H "_bucket{" L ",le=\"0.5\"} 3"));
	assert_true(has_line(t, H "_bucket{" L ",le=\"1\"} 4"));
	assert_true(has_line(t, H "_bucket{" L ",le=\"10\"} 4"));
	assert_true(has_line(t, H "_bucket{" L ",le=\"+Inf\"} 5"));
	assert_true(has_line(t, H "_count{" L "} 5"));
	assert_true(has_line(t, H "_sum{" L "} 42.706400"));
#undef H
#undef L
	free(t);
}

static void test_label_escaping(void **state)
{
	struct buf b;

	buf_init(&b, 1024);
	assert_int_equal(metrics_escape_label(&b, "a\\b\"c\nd"), 0);
	assert_string_equal(b.data, "a\\\\b\\\"c\\nd");
	buf_release(&b);
}

static void test_key_label_is_the_public_id(void **state)
{
	char *t;

	metrics_key_name(7, "0123456789abcdef");
	metrics_key_name(7, "ffffffffffffffff"); /* named once */
	metrics_inc(M_VF_STARTED, metrics_key(7), metrics_workflow(6), 0);
	metrics_inc(M_VF_STARTED, metrics_key(8), metrics_workflow(42), 0);
	t = render();
	assert_true(has_line(t, "kookooverify_verifications_started_total{key="
				"\"0123456789abcdef\",workflow=\"6\"} 1"));
	/* A key this node never saw named: its row id, never a secret. */
	assert_true(has_line(t, "kookooverify_verifications_started_total{key="
				"\"#8\",workflow=\"other\"} 1"));
	assert_null(strstr(t, "ffffffffffffffff"));
	free(t);
}

static void test_key_table_is_bounded(void **state)
{
	unsigned other = 0;
	char *t;

	for (int64_t id = 1; id <= METRICS_KEYS + 100; id++) {
		unsigned slot = metrics_key(id);

		assert_int_equal(metrics_key(id), slot); /* stable */
		other += slot == METRICS_KEYS;
		metrics_inc(M_VF_STARTED, slot, 0, 0);
	}
	assert_int_equal(other, 100);
	t = render();
	assert_true(has_line(t, "kookooverify_verifications_started_total{key="
				"\"other\",workflow=\"0\"} 100"));
	free(t);
}

static void test_a_transaction_counts_once_committed(void **state)
{
	char *t;

	metrics_tx_begin();
	metrics_inc(M_FRAUD_REPORTS, 0, 0, 0);
	metrics_tx_end(0); /* rolled back: replayed alone next */
	metrics_tx_begin();
	metrics_inc(M_FRAUD_REPORTS, 0, 0, 0);
	metrics_observe(M_TIME_TO_VERIFY, MCH_KEYPAD, 0, 12);
	metrics_tx_end(1);
	t = render();
	assert_true(has_line(t, "kookooverify_fraud_reports_total 1"));
	assert_true(has_line(t, "kookooverify_time_to_verify_seconds_count{"
				"channel=\"keypad\"} 1"));
	free(t);
}

static void test_absent_gauge_is_left_out(void **state)
{
	char *t;

	metrics_set(M_STORE_WAL_BYTES, 0, 0, 0, METRICS_ABSENT);
	metrics_set(M_STORE_DB_BYTES, 0, 0, 0, 4096);
	t = render();
	assert_true(has_line(t, "kookooverify_store_database_bytes 4096"));
	assert_true(has_line(t, "# TYPE kookooverify_store_wal_bytes gauge"));
	assert_null(strstr(t, "\nkookooverify_store_wal_bytes "));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_help_and_type_lines, setup),
		cmocka_unit_test_setup(test_counter_lines, setup),
		cmocka_unit_test_setup(test_histogram_is_cumulative, setup),
		cmocka_unit_test_setup(test_label_escaping, setup),
		cmocka_unit_test_setup(test_key_label_is_the_public_id, setup),
		cmocka_unit_test_setup(test_key_table_is_bounded, setup),
		cmocka_unit_test_setup(test_a_transaction_counts_once_committed,
				       setup),
		cmocka_unit_test_setup(test_absent_gauge_is_left_out, setup),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
