// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "report/growth_series.h"

static const struct lt_trend_params params = {
	.window = 4, .min_abs = 16, .min_rel = 0.05, .z_crit = LT_TREND_Z_CRIT,
};

static void test_ring_keeps_two_windows(void **state)
{
	struct lt_growth_set g;
	struct lt_trend_sample s[2 * LT_TREND_MAX_WINDOW];
	struct lt_trend t;

	(void)state;
	lt_growth_init(&g, &params, 8);
	for (int r = 0; r < 20; r++) {
		lt_growth_begin(&g, r);
		assert_int_equal(lt_growth_record(&g, 7, 1, 1000.0 * r, &t), 0);
		lt_growth_end(&g);
		assert_int_equal(t.verdict, r + 1 < LT_TREND_MIN_SAMPLES ? LT_VERDICT_UNKNOWN :
					    LT_VERDICT_GROWING);
	}
	assert_int_equal(g.n, 1);
	assert_int_equal(lt_growth_samples(&g, &g.v[0], s), 8);
	for (int i = 0; i < 8; i++)
		assert_true(s[i].t_s == 12 + i && s[i].value == 1000.0 * (12 + i));
	lt_growth_free(&g);
}

static void test_unrecorded_series_get_zero(void **state)
{
	struct lt_growth_set g;
	struct lt_trend_sample s[8];
	struct lt_trend t;

	(void)state;
	lt_growth_init(&g, &params, 8);
	lt_growth_begin(&g, 1);
	lt_growth_record(&g, 1, 1, 500, &t);
	lt_growth_end(&g);
	lt_growth_begin(&g, 2);
	lt_growth_end(&g);
	assert_int_equal(lt_growth_samples(&g, &g.v[0], s), 2);
	assert_true(s[1].value == 0 && s[1].t_s == 2);
	lt_growth_free(&g);
}

static void test_tag_change_restarts(void **state)
{
	struct lt_growth_set g;
	struct lt_trend t;

	(void)state;
	lt_growth_init(&g, &params, 8);
	for (int r = 0; r < 6; r++) {
		lt_growth_begin(&g, r);
		lt_growth_record(&g, 3, r < 5 ? 1 : 2, 100.0 * r, &t);
		lt_growth_end(&g);
	}
	assert_int_equal(t.verdict, LT_VERDICT_UNKNOWN);
	assert_int_equal(g.v[0].n, 1);
	lt_growth_free(&g);
}

/* Full: the least recently non-zero series go, those of this report stay. */
static void test_eviction_bounds(void **state)
{
	struct lt_growth_set g;
	struct lt_trend t;
	const size_t cap = 16;

	(void)state;
	lt_growth_init(&g, &params, cap);
	for (uint64_t r = 0; r < 10; r++) {
		lt_growth_begin(&g, (double)r);
		/* Key 1000 every report; ten new keys each report. */
		assert_int_equal(lt_growth_record(&g, 1000, 1, 1, &t), 0);
		for (uint64_t k = 0; k < 10; k++)
			assert_int_equal(lt_growth_record(&g, r * 10 + k, 1, 1, &t), 0);
		lt_growth_end(&g);
		assert_true(g.n <= cap);
	}
	/* The kept key survived every eviction; the newest keys are there. */
	lt_growth_begin(&g, 10);
	lt_growth_record(&g, 1000, 1, 1, &t);
	assert_int_equal(t.verdict, LT_VERDICT_STABLE);
	lt_growth_end(&g);
	for (uint64_t k = 90; k < 100; k++) {
		int found = 0;

		for (size_t i = 0; i < g.n; i++)
			found |= g.v[i].key == k;
		assert_true(found);
	}
	lt_growth_free(&g);
}

static void test_full_of_current_series_untracked(void **state)
{
	struct lt_growth_set g;
	struct lt_trend t;

	(void)state;
	lt_growth_init(&g, &params, 4);
	lt_growth_begin(&g, 0);
	for (uint64_t k = 0; k < 4; k++)
		lt_growth_record(&g, k, 1, 1, &t);
	assert_int_equal(lt_growth_record(&g, 99, 1, 1, &t), 0);
	assert_int_equal(t.verdict, LT_VERDICT_NONE);
	assert_int_equal(g.n, 4);
	lt_growth_end(&g);
	lt_growth_free(&g);
}

/* A peek says what recording would, and records nothing: over a ring that
 * fills and wraps, a series left out of reports, and a tag change. */
static void test_peek_matches_record(void **state)
{
	struct lt_trend_params bytes = lt_growth_params(4, false);
	struct lt_growth_set g;
	uint64_t seed = 12345;

	(void)state;
	lt_growth_init(&g, &bytes, 16);
	for (int report = 1; report <= 40; report++) {
		double now = report * 1.5;

		for (uint64_t key = 1; key <= 3; key++) {
			struct lt_trend peeked, recorded;
			uint64_t tag = key == 3 && report > 25 ? 2 : 1;
			double value;

			/* Key 2 is absent from every third report. */
			if (key == 2 && report % 3 == 0)
				continue;
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			value = key == 1 ? report * 8192.0 : (double)(seed >> 40);
			lt_growth_peek(report == 1 ? NULL : &g, &bytes, now, key, tag, value, &peeked);
			if (key == 1)
				lt_growth_begin(&g, now);
			assert_int_equal(lt_growth_record(&g, key, tag, value, &recorded), 0);
			assert_int_equal(peeked.verdict, recorded.verdict);
			assert_true(peeked.slope == recorded.slope);
			assert_true(peeked.z == recorded.z);
		}
		lt_growth_end(&g);
	}
	lt_growth_free(&g);
}

static void test_table_forgets_absent_processes(void **state)
{
	struct lt_growth_table tb;

	(void)state;
	lt_growth_table_init(&tb, 8);
	lt_growth_table_begin(&tb);
	assert_non_null(lt_growth_table_get(&tb, 30));
	assert_non_null(lt_growth_table_get(&tb, 10));
	assert_non_null(lt_growth_table_get(&tb, 20));
	lt_growth_table_end(&tb);
	assert_int_equal(tb.n, 3);
	assert_true(tb.v[0]->key == 10 && tb.v[1]->key == 20 && tb.v[2]->key == 30);
	lt_growth_table_begin(&tb);
	assert_ptr_equal(lt_growth_table_get(&tb, 20), tb.v[1]);
	lt_growth_table_end(&tb);
	assert_int_equal(tb.n, 1);
	assert_int_equal(tb.v[0]->key, 20);
	assert_int_equal(tb.v[0]->heap.params.window, 8);
	lt_growth_table_free(&tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_keeps_two_windows),
		cmocka_unit_test(test_unrecorded_series_get_zero),
		cmocka_unit_test(test_tag_change_restarts),
		cmocka_unit_test(test_eviction_bounds),
		cmocka_unit_test(test_full_of_current_series_untracked),
		cmocka_unit_test(test_peek_matches_record),
		cmocka_unit_test(test_table_forgets_absent_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
