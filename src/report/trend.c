// SPDX-License-Identifier: MIT
#include "report/trend.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#define MAX_PAIRS (LT_TREND_MAX_WINDOW * (LT_TREND_MAX_WINDOW - 1) / 2)

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double theil_sen(const struct lt_trend_sample *w, size_t n)
{
	double slopes[MAX_PAIRS];
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (w[j].t_s > w[i].t_s)
				slopes[m++] = (w[j].value - w[i].value) / (w[j].t_s - w[i].t_s);
	return m ? median(slopes, m) : 0;
}

/* Ties (equal values) shrink the variance: a flat series must not look
 * like a trend because its few changes all point one way. */
static double mann_kendall_z(const struct lt_trend_sample *w, size_t n)
{
	double var = (double)n * (n - 1) * (2 * n + 5);
	long s = 0;
	bool counted[LT_TREND_MAX_WINDOW] = { false };

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			s += (w[j].value > w[i].value) - (w[j].value < w[i].value);
	for (size_t i = 0; i < n; i++) {
		double t = 0;

		if (counted[i])
			continue;
		for (size_t j = i; j < n; j++)
			if (w[j].value == w[i].value) {
				counted[j] = true;
				t++;
			}
		var -= t * (t - 1) * (2 * t + 5);
	}
	var /= 18;
	if (var <= 0 || s == 0)
		return 0;
	/* Continuity correction: S moves in steps of 2. */
	return (s > 0 ? s - 1 : s + 1) / sqrt(var);
}

void lt_trend_assess(const struct lt_trend_sample *s, size_t n,
		     const struct lt_trend_params *p, struct lt_trend *out)
{
	size_t k = p->window < n ? p->window : n, half = k / 2;
	const struct lt_trend_sample *w = s + (n - k);
	double values[LT_TREND_MAX_WINDOW], level, span, need, hi_before = -INFINITY, lo_before = INFINITY;
	double hi_after = -INFINITY, lo_after = INFINITY;

	*out = (struct lt_trend){ .verdict = LT_VERDICT_UNKNOWN };
	if (k < LT_TREND_MIN_SAMPLES || k > LT_TREND_MAX_WINDOW)
		return;
	/* The median, not the mean: one outlier must not raise the bar. */
	for (size_t i = 0; i < k; i++)
		values[i] = w[i].value;
	level = median(values, k);
	out->slope = theil_sen(w, k);
	out->z = mann_kendall_z(w, k);
	out->verdict = LT_VERDICT_STABLE;
	span = w[k - 1].t_s - w[0].t_s;
	need = fmax(p->min_abs, p->min_rel * fabs(level));
	if (fabs(out->z) < p->z_crit || fabs(out->slope) * span < need)
		return;
	/* Sawtooth guard: a cache refilling after eviction rises within the
	 * window, but only a leak keeps setting new highs. */
	for (size_t i = 0; i < n - half; i++) {
		hi_before = fmax(hi_before, s[i].value);
		lo_before = fmin(lo_before, s[i].value);
	}
	for (size_t i = n - half; i < n; i++) {
		hi_after = fmax(hi_after, s[i].value);
		lo_after = fmin(lo_after, s[i].value);
	}
	if (out->z > 0 && out->slope > 0 && hi_after > hi_before)
		out->verdict = LT_VERDICT_GROWING;
	else if (out->z < 0 && out->slope < 0 && lo_after < lo_before)
		out->verdict = LT_VERDICT_SHRINKING;
}

const char *lt_verdict_name(enum lt_verdict v)
{
	switch (v) {
	case LT_VERDICT_STABLE:
		return "stable";
	case LT_VERDICT_GROWING:
		return "growing";
	case LT_VERDICT_SHRINKING:
		return "shrinking";
	default:
		return "unknown";
	}
}
