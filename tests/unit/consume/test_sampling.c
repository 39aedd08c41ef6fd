// SPDX-License-Identifier: MIT
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "leaktrace_events.h"
#include "consume/sampling.h"

static void test_weight_is_inverse_probability(void **state)
{
	(void)state;
	/* p = 1 - e^-1 for a block the size of the mean. */
	assert_true(fabs(lt_sample_weight(65536, 65536) - 1.0 / (1.0 - exp(-1.0))) < 1e-12);
	/* Small blocks: p ~ s / mean, so the weight ~ mean / s (+ 1/2). */
	assert_true(fabs(lt_sample_weight(1, 1 << 20) - ((1 << 20) + 0.5)) < 1e-3);
	/* Huge blocks are always sampled: weight 1. */
	assert_true(fabs(lt_sample_weight(100ULL << 20, 65536) - 1.0) < 1e-12);
	/* A zero-size block can never be sampled. */
	assert_true(lt_sample_weight(0, 65536) == 0.0);
	/* No sampling: every block counts once. */
	assert_true(lt_sample_weight(123, 0) == 1.0);
}

static void test_gap_table_is_exponential_with_mean_one(void **state)
{
	static uint32_t table[LT_EXP_TABLE_SIZE];
	double sum = 0;
	unsigned above_ln2 = 0;
	(void)state;

	lt_sample_fill_table(table, LT_EXP_TABLE_SIZE);
	for (unsigned i = 0; i < LT_EXP_TABLE_SIZE; i++) {
		sum += table[i] / 65536.0;
		above_ln2 += table[i] / 65536.0 > log(2.0);
		if (i)
			assert_true(table[i] <= table[i - 1]); /* decreasing in i */
	}
	assert_true(fabs(sum / LT_EXP_TABLE_SIZE - 1.0) < 1e-4);
	/* The median of Exp(1) is ln 2. */
	assert_true(abs((int)above_ln2 - LT_EXP_TABLE_SIZE / 2) <= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weight_is_inverse_probability),
		cmocka_unit_test(test_gap_table_is_exponential_with_mean_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
