// SPDX-License-Identifier: MIT
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "report/trend.h"

#define N 16

static const struct lt_trend_params bytes_params = {
	.window = 8, .min_abs = LT_TREND_MIN_BYTES, .min_rel = LT_TREND_MIN_REL,
	.z_crit = LT_TREND_Z_CRIT,
};

/* Reports every 0.5 s; values from f(i). */
static size_t series(struct lt_trend_sample *s, size_t n, double (*f)(size_t))
{
	for (size_t i = 0; i < n; i++)
		s[i] = (struct lt_trend_sample){ 0.5 * (double)i, f(i) };
	return n;
}

static struct lt_trend assess(double (*f)(size_t), size_t n, const struct lt_trend_params *p)
{
	struct lt_trend_sample s[N];
	struct lt_trend out;

	lt_trend_assess(s, series(s, n, f), p, &out);
	return out;
}

static double linear(size_t i) { return 100000 + 20480 * (double)i; }
static double constant(size_t i) { (void)i; return 32768; }
static double decreasing(size_t i) { return 1000000 - 20480 * (double)i; }

static void test_linear_growth(void **state)
{
	struct lt_trend t = assess(linear, N, &bytes_params);

	(void)state;
	assert_int_equal(t.verdict, LT_VERDICT_GROWING);
	assert_true(fabs(t.slope - 40960) < 1e-6);
	assert_true(t.z >= LT_TREND_Z_CRIT);
}

static void test_constant_is_stable(void **state)
{
	struct lt_trend t = assess(constant, N, &bytes_params);

	(void)state;
	assert_int_equal(t.verdict, LT_VERDICT_STABLE);
	assert_true(t.slope == 0 && t.z == 0);
}

static void test_decreasing_is_shrinking(void **state)
{
	struct lt_trend t = assess(decreasing, N, &bytes_params);

	(void)state;
	assert_int_equal(t.verdict, LT_VERDICT_SHRINKING);
	assert_true(fabs(t.slope + 40960) < 1e-6);
}

static void test_short_series_unknown(void **state)
{
	(void)state;
	for (size_t n = 0; n < LT_TREND_MIN_SAMPLES; n++)
		assert_int_equal(assess(linear, n, &bytes_params).verdict, LT_VERDICT_UNKNOWN);
	assert_int_equal(assess(linear, LT_TREND_MIN_SAMPLES, &bytes_params).verdict,
			 LT_VERDICT_GROWING);
}

/* Fill 16 KiB a report for 4 reports, evict everything: flat peaks. */
static double sawtooth(size_t i) { return 16384 * (double)(i % 4 + 1); }

/* From two cycles on: a first fill alone cannot be told from a leak. */
static void test_sawtooth_flat_peaks_stable(void **state)
{
	(void)state;
	for (size_t n = 8; n <= N; n++)
		assert_int_equal(assess(sawtooth, n, &bytes_params).verdict, LT_VERDICT_STABLE);
}

/* A slow cache: the window ends in a long fill after an eviction, a rise
 * Mann-Kendall finds significant; the older peak keeps it stable. */
static double slow_fill(size_t i) { return 8192 * (double)(i % 8 + 1); }

static void test_slow_refill_after_peak_stable(void **state)
{
	struct lt_trend_params p = bytes_params;
	struct lt_trend t;

	(void)state;
	p.window = 8;
	t = assess(slow_fill, 16, &p);
	assert_true(t.z >= LT_TREND_Z_CRIT); /* the test alone would say growing */
	assert_int_equal(t.verdict, LT_VERDICT_STABLE);
}

/* The same sawtooth, but each eviction keeps 8 KiB more: peaks rise. */
static double rising_sawtooth(size_t i) { return 8192 * (double)(i / 4) * 2 + sawtooth(i); }

static void test_sawtooth_rising_peaks_growing(void **state)
{
	struct lt_trend_params p = bytes_params;
	struct lt_trend t;

	(void)state;
	p.window = 16;
	t = assess(rising_sawtooth, 16, &p);
	assert_int_equal(t.verdict, LT_VERDICT_GROWING);
	assert_true(t.slope > 0);
}

/* Deterministic noise of +-2 % around 1 MiB. */
static double noisy(size_t i)
{
	static const double e[N] = { .3, -.9, .1, .8, -.4, -1, .6, .2,
				     -.7, .9, -.2, .5, -.6, 0, .4, -.3 };

	return 1048576 * (1 + 0.02 * e[i]);
}

static void test_noise_is_stable(void **state)
{
	(void)state;
	for (size_t n = LT_TREND_MIN_SAMPLES; n <= N; n++)
		assert_int_equal(assess(noisy, n, &bytes_params).verdict, LT_VERDICT_STABLE);
}

/* Significant but tiny: 100 bytes a report on 1 MiB is below 4 KiB per window. */
static double tiny(size_t i) { return 1048576 + 100 * (double)i; }

static void test_tiny_growth_is_stable(void **state)
{
	struct lt_trend t = assess(tiny, N, &bytes_params);

	(void)state;
	assert_true(t.z >= LT_TREND_Z_CRIT);
	assert_int_equal(t.verdict, LT_VERDICT_STABLE);
}

static void test_outlier_does_not_move_slope(void **state)
{
	struct lt_trend_sample s[8];
	struct lt_trend t;

	(void)state;
	series(s, 8, linear);
	s[5].value = 1e9;
	lt_trend_assess(s, 8, &bytes_params, &t);
	assert_int_equal(t.verdict, LT_VERDICT_GROWING);
	assert_true(fabs(t.slope - 40960) / 40960 < 0.25);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(lt_verdict_name(LT_VERDICT_GROWING), "growing");
	assert_string_equal(lt_verdict_name(LT_VERDICT_STABLE), "stable");
	assert_string_equal(lt_verdict_name(LT_VERDICT_SHRINKING), "shrinking");
	assert_string_equal(lt_verdict_name(LT_VERDICT_UNKNOWN), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linear_growth),
		cmocka_unit_test(test_constant_is_stable),
		cmocka_unit_test(test_decreasing_is_shrinking),
		cmocka_unit_test(test_short_series_unknown),
		cmocka_unit_test(test_sawtooth_flat_peaks_stable),
		cmocka_unit_test(test_slow_refill_after_peak_stable),
		cmocka_unit_test(test_sawtooth_rising_peaks_growing),
		cmocka_unit_test(test_noise_is_stable),
		cmocka_unit_test(test_tiny_growth_is_stable),
		cmocka_unit_test(test_outlier_does_not_move_slope),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
