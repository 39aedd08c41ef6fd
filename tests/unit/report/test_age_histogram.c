// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "report/age_histogram.h"

#define S 1000000000ULL

static void test_bounds(void **state)
{
	static const uint32_t want[LT_AGE_BUCKETS] = { 1, 10, 60, 600, 3600, 21600, 0 };

	(void)state;
	for (unsigned i = 0; i < LT_AGE_BUCKETS; i++)
		assert_int_equal(lt_age_bucket_le_s(i), want[i]);
	assert_int_equal(lt_age_bucket_le_s(LT_AGE_BUCKETS), 0);
	assert_string_equal(lt_age_bucket_label(0), "0-1s");
	assert_string_equal(lt_age_bucket_label(2), "10s-1m");
	assert_string_equal(lt_age_bucket_label(LT_AGE_BUCKETS - 1), ">6h");
	assert_string_equal(lt_age_bucket_label(LT_AGE_BUCKETS), "?");
}

/* Upper bounds are inclusive: exactly 1 s is still "0-1s", 1 ns more is not. */
static void test_edges(void **state)
{
	static const uint64_t le_ns[] = { 1 * S, 10 * S, 60 * S, 600 * S, 3600 * S, 21600 * S };

	(void)state;
	assert_int_equal(lt_age_bucket(0), 0);
	for (unsigned i = 0; i < sizeof(le_ns) / sizeof(le_ns[0]); i++) {
		assert_int_equal(lt_age_bucket(le_ns[i] - 1), i);
		assert_int_equal(lt_age_bucket(le_ns[i]), i);
		assert_int_equal(lt_age_bucket(le_ns[i] + 1), i + 1);
	}
	assert_int_equal(lt_age_bucket(7 * 86400 * S), LT_AGE_BUCKETS - 1);
	assert_int_equal(lt_age_bucket(UINT64_MAX), LT_AGE_BUCKETS - 1);
}

static void test_exact_counts(void **state)
{
	struct lt_age_sums s = {};
	struct lt_age_histogram h;

	(void)state;
	lt_age_sums_add(&s, S / 2, 1.0, 100);
	lt_age_sums_add(&s, 2 * S, 1.0, 1000);
	lt_age_sums_add(&s, 2 * S, 1.0, 24);
	lt_age_sums_add(&s, 7 * 3600 * S, 1.0, 8);
	lt_age_sums_round(&s, 4, 1132, &h);
	assert_int_equal(h.allocs[0], 1);
	assert_int_equal(h.bytes[0], 100);
	assert_int_equal(h.allocs[1], 2);
	assert_int_equal(h.bytes[1], 1024);
	assert_int_equal(h.allocs[6], 1);
	assert_int_equal(h.bytes[6], 8);
	for (unsigned i = 2; i < 6; i++)
		assert_true(!h.allocs[i] && !h.bytes[i]);
}

static uint64_t sum(const uint64_t *v)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < LT_AGE_BUCKETS; i++)
		t += v[i];
	return t;
}

/* Sampled weights: the buckets are rounded so they add up to the stack's
 * own rounded totals, the units going to the largest remainders. */
static void test_weighted_rounding(void **state)
{
	struct lt_age_sums s = {};
	struct lt_age_histogram h;

	(void)state;
	/* allocs 1.4 + 1.4 + 1.2 = 4.0; bytes 140.4 + 140.6 + 120.0 = 401 */
	s.allocs[0] = 1.4;
	s.allocs[1] = 1.4;
	s.allocs[2] = 1.2;
	s.bytes[0] = 140.4;
	s.bytes[1] = 140.6;
	s.bytes[2] = 120.0;
	lt_age_sums_round(&s, 4, 401, &h);
	assert_int_equal(sum(h.allocs), 4);
	assert_int_equal(sum(h.bytes), 401);
	/* Ties go to the younger bucket. */
	assert_int_equal(h.allocs[0], 2);
	assert_int_equal(h.allocs[1], 1);
	assert_int_equal(h.allocs[2], 1);
	assert_int_equal(h.bytes[0], 140);
	assert_int_equal(h.bytes[1], 141);
	assert_int_equal(h.bytes[2], 120);
}

/* A total rounded below the floors (float noise) is taken back from the
 * smallest remainders, never below zero. */
static void test_total_below_floors(void **state)
{
	struct lt_age_sums s = {};
	struct lt_age_histogram h;

	(void)state;
	s.allocs[0] = 2.9;
	s.allocs[3] = 1.0;
	s.allocs[5] = 0.05;
	lt_age_sums_round(&s, 2, 0, &h);
	assert_int_equal(sum(h.allocs), 2);
	assert_int_equal(h.allocs[0], 2);
	assert_int_equal(h.allocs[3], 0);
	assert_int_equal(sum(h.bytes), 0);
}

/* Totals far from the sums still add up, without looping per unit. */
static void test_far_totals(void **state)
{
	struct lt_age_sums s = {};
	struct lt_age_histogram h;

	(void)state;
	s.allocs[1] = 3;
	s.bytes[1] = 30;
	lt_age_sums_round(&s, 1000000000000ULL, 5, &h);
	assert_int_equal(sum(h.allocs), 1000000000000ULL);
	assert_int_equal(h.allocs[1] + h.allocs[0], sum(h.allocs));
	assert_int_equal(sum(h.bytes), 5);
	memset(&s, 0, sizeof(s));
	lt_age_sums_round(&s, 0, 0, &h);
	assert_int_equal(sum(h.allocs) + sum(h.bytes), 0);
}

static void test_merge(void **state)
{
	struct lt_age_sums a = {}, b = {};
	struct lt_age_histogram x = {}, y = {};

	(void)state;
	lt_age_sums_add(&a, 3 * S, 1.0, 10);
	lt_age_sums_add(&b, 3 * S, 2.0, 10);
	lt_age_sums_add(&b, 100 * S, 1.0, 5);
	lt_age_sums_merge(&a, &b);
	assert_true(a.allocs[1] == 3.0 && a.bytes[1] == 30.0);
	assert_true(a.allocs[3] == 1.0 && a.bytes[3] == 5.0);
	x.allocs[1] = 2;
	x.bytes[1] = 20;
	y.allocs[1] = 1;
	y.bytes[6] = 7;
	lt_age_histogram_merge(&x, &y);
	assert_int_equal(x.allocs[1], 3);
	assert_int_equal(x.bytes[1], 20);
	assert_int_equal(x.bytes[6], 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_exact_counts),
		cmocka_unit_test(test_weighted_rounding),
		cmocka_unit_test(test_total_below_floors),
		cmocka_unit_test(test_far_totals),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
