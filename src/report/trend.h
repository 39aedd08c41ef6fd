/* SPDX-License-Identifier: MIT */
/*
 * Leak verdicts: is a series of (time, value) samples growing, stable or
 * shrinking? A pure function, so the method can be tested on made-up series.
 *
 * Method (README, "Leak verdicts"): over the last `window` samples,
 *  - slope: Theil-Sen (median of the pairwise slopes), robust to outliers;
 *  - significance: Mann-Kendall S with its tie-corrected variance, normal
 *    approximation with continuity correction, one-sided |Z| >= z_crit;
 *  - magnitude: slope * window span must reach max(min_abs, min_rel * median);
 *  - sawtooth guard: growing needs the window's second half to reach a new
 *    high above everything before it (first half and up to `window` older
 *    samples); shrinking, a new low.
 */
#ifndef LT_TREND_H
#define LT_TREND_H

#include <stddef.h>

enum lt_verdict {
	LT_VERDICT_NONE,      /* not tracked: nothing is written */
	LT_VERDICT_UNKNOWN,   /* fewer than LT_TREND_MIN_SAMPLES */
	LT_VERDICT_STABLE,
	LT_VERDICT_GROWING,
	LT_VERDICT_SHRINKING,
};

/* With the default z_crit, a strictly monotone series of 3 samples has
 * Z = 1.05: no verdict but "stable" would be possible, so it is unknown. */
#define LT_TREND_MIN_SAMPLES 4
#define LT_TREND_MAX_WINDOW 64
#define LT_TREND_DEFAULT_WINDOW 8
#define LT_TREND_Z_CRIT 1.645 /* one-sided 5 % per direction */
#define LT_TREND_MIN_REL 0.05
#define LT_TREND_MIN_BYTES 4096.0
#define LT_TREND_MIN_OBJECTS 16.0

struct lt_trend_sample {
	double t_s;
	double value;
};

struct lt_trend_params {
	size_t window;  /* samples tested, LT_TREND_MIN_SAMPLES..LT_TREND_MAX_WINDOW */
	double min_abs; /* smallest growth over the window worth a verdict */
	double min_rel; /* ... as a fraction of the window's median */
	double z_crit;
};

struct lt_trend {
	enum lt_verdict verdict;
	double slope;   /* Theil-Sen, value units per second; 0 when unknown */
	double z;       /* Mann-Kendall Z */
};

/*
 * s: samples oldest first, strictly increasing times; up to 2 * window of
 * them (the older ones only feed the sawtooth guard).
 */
void lt_trend_assess(const struct lt_trend_sample *s, size_t n,
		     const struct lt_trend_params *p, struct lt_trend *out);
const char *lt_verdict_name(enum lt_verdict v);

#endif
