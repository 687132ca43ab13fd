/*
 * Private to metrics.c and metrics_render.c: how a metric family is
 * described (name, help, type, labels, histogram bounds) and where its
 * cells are.
 */
#ifndef KV_METRICS_FAMILY_H
#define KV_METRICS_FAMILY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

typedef atomic_uint_least64_t metric_cell;

/* Histogram sums are kept in millionths (seconds: microseconds). */
#define METRICS_SUM_UNIT 1000000.0

enum metric_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

/* Most labels a family has. */
#define METRIC_LABELS_MAX 3

/* A label and its closed list of values (n of them; the key label: NULL). */
struct metric_label {
	const char *name;
	const char *const *values;
	unsigned n;
};

/*
 * A family's cells: one per combination of label values, row-major in
 * label order; a histogram's combination has nbounds + 1 bucket counts
 * (not cumulative; the last is +Inf) and then its sum.
 */
struct metric_family {
	const char *name;
	const char *help;
	const double *bounds;
	metric_cell *cells;
	size_t ncells;
	const struct metric_label *labels[METRIC_LABELS_MAX];
	enum metric_id id;
	enum metric_type type;
	unsigned nlabels;
	unsigned nbounds;
	int sparse; /* leave out combinations that counted nothing */
};

extern const struct metric_family metric_families[M_COUNT];

/* The `key` label's value of slot i, NULL when the slot is free. */
const char *metrics_key_label(unsigned slot, char *tmp, size_t tmplen);

#endif
