// SPDX-License-Identifier: MIT
#include "consume/sampling.h"

#include <math.h>

double lt_sample_weight(uint64_t size_bytes, uint64_t mean_bytes)
{
	double p;

	if (!mean_bytes)
		return 1.0;
	/* -expm1(-x) keeps precision for blocks much smaller than the mean. */
	p = -expm1(-(double)size_bytes / (double)mean_bytes);
	return p > 0 ? 1.0 / p : 0.0;
}

void lt_sample_fill_table(uint32_t *table, unsigned n)
{
	double sum = 0, scale;

	for (unsigned i = 0; i < n; i++)
		sum += -log((i + 0.5) / n);
	scale = n / sum;
	for (unsigned i = 0; i < n; i++)
		table[i] = (uint32_t)lround(-log((i + 0.5) / n) * scale * 65536.0);
}
