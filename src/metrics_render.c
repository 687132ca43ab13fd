/*
 * The text exposition format 0.0.4 of the metrics registry: `# HELP` and
 * `# TYPE` per family, one line per combination of label values, and a
 * histogram's cumulative `_bucket{le=...}` lines, `_sum` and `_count`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "metrics.h"
#include "metrics_family.h"

int metrics_escape_label(struct buf *out, const char *v)
{
	int rc = 0;

	if (!v)
		return 0;
	for (const char *p = v; *p && rc == 0; p++) {
		if (*p == '\\')
			rc = buf_append(out, "\\\\", 2);
		else if (*p == '"')
			rc = buf_append(out, "\\\"", 2);
		else if (*p == '\n')
			rc = buf_append(out, "\\n", 2);
		else
			rc = buf_append(out, p, 1);
	}
	return rc;
}

static int appendf(struct buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int appendf(struct buf *out, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return KV_ETOOBIG;
	return buf_append(out, line, (size_t)n);
}

/*
 * The label values of combination `at` of family f, into vals; 0 when the
 * combination names nothing (a free key slot, a route never named).
 */
static int combo_values(const struct metric_family *f, size_t at,
			const char *vals[3], char tmp[24])
{
	unsigned n = f->nlabels < METRIC_LABELS_MAX ? f->nlabels
						    : METRIC_LABELS_MAX;

	for (unsigned i = n; i-- > 0;) {
		const struct metric_label *l = f->labels[i];
		unsigned v = (unsigned)(at % l->n);

		at /= l->n;
		vals[i] = l->values ? l->values[v]
				    : metrics_key_label(v, tmp, 24);
		if (!vals[i])
			return 0;
	}
	return 1;
}

/* `{a="x",b="y"` plus `extra` (e.g. `le="0.5"`), then `}`; none: "". */
static int labels_put(struct buf *out, const struct metric_family *f,
		      const char *const vals[3], const char *extra)
{
	int rc = 0;

	if (f->nlabels == 0 && !extra)
		return 0;
	rc = buf_append(out, "{", 1);
	for (unsigned i = 0; i < f->nlabels && i < METRIC_LABELS_MAX && rc == 0;
	     i++) {
		rc = appendf(out, "%s%s=\"", i ? "," : "", f->labels[i]->name);
		if (rc == 0)
			rc = metrics_escape_label(out, vals[i]);
		if (rc == 0)
			rc = buf_append(out, "\"", 1);
	}
	if (rc == 0 && extra)
		rc = appendf(out, "%s%s", f->nlabels ? "," : "", extra);
	if (rc == 0)
		rc = buf_append(out, "}", 1);
	return rc;
}

static int histogram_put(struct buf *out, const struct metric_family *f,
			 const char *const vals[3], const metric_cell *cell)
{
	uint64_t cum = 0;
	char le[48];
	int rc = 0;

	for (unsigned b = 0; b <= f->nbounds && rc == 0; b++) {
		cum += atomic_load_explicit(&cell[b], memory_order_relaxed);
		if (b < f->nbounds)
			snprintf(le, sizeof(le), "le=\"%g\"", f->bounds[b]);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		rc = appendf(out, "%s_bucket", f->name);
		if (rc == 0)
			rc = labels_put(out, f, vals, le);
		if (rc == 0)
			rc = appendf(out, " %llu\n", (unsigned long long)cum);
	}
	if (rc == 0)
		rc = appendf(out, "%s_sum", f->name);
	if (rc == 0)
		rc = labels_put(out, f, vals, NULL);
	if (rc == 0)
		rc = appendf(
			out, " %.6f\n",
			(double)atomic_load_explicit(&cell[f->nbounds + 1],
						     memory_order_relaxed) /
				METRICS_SUM_UNIT);
	if (rc == 0)
		rc = appendf(out, "%s_count", f->name);
	if (rc == 0)
		rc = labels_put(out, f, vals, NULL);
	if (rc == 0)
		rc = appendf(out, " %llu\n", (unsigned long long)cum);
	return rc;
}

static int combo_empty(const struct metric_family *f, const metric_cell *cell)
{
	unsigned n = f->type == MT_HISTOGRAM ? f->nbounds + 1 : 1;

	for (unsigned i = 0; i < n; i++)
		if (atomic_load_explicit(&cell[i], memory_order_relaxed))
			return 0;
	return 1;
}

static int family_put(struct buf *out, const struct metric_family *f)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	size_t stride = f->type == MT_HISTOGRAM ? f->nbounds + 2 : 1;
	int rc = appendf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
			 f->name, types[f->type]);

	for (size_t at = 0; rc == 0 && at * stride < f->ncells; at++) {
		const metric_cell *cell = &f->cells[at * stride];
		const char *vals[3] = {NULL, NULL, NULL};
		char tmp[24];

		if (!combo_values(f, at, vals, tmp) ||
		    (f->sparse && combo_empty(f, cell)) ||
		    (f->type == MT_GAUGE &&
		     atomic_load(cell) == METRICS_ABSENT))
			continue;
		if (f->type == MT_HISTOGRAM) {
			rc = histogram_put(out, f, vals, cell);
			continue;
		}
		rc = buf_append_str(out, f->name);
		if (rc == 0)
			rc = labels_put(out, f, vals, NULL);
		if (rc == 0)
			rc = appendf(out, " %llu\n",
				     (unsigned long long)atomic_load_explicit(
					     cell, memory_order_relaxed));
	}
	return rc;
}

int metrics_render(struct buf *out)
{
	int rc = 0;

	for (unsigned i = 0; i < M_COUNT && rc == 0; i++)
		rc = family_put(out, &metric_families[i]);
	return rc;
}
