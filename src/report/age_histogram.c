// SPDX-License-Identifier: MIT
#include "report/age_histogram.h"

#include <math.h>

/*
 * Roughly a factor of ten apart, on the units people think in. The first
 * bound sits just above the default -o (500 ms), so with defaults the first
 * bucket holds what only just became reportable; 10 s and 1 min separate
 * request-scoped memory that merely outlived -o from memory kept across
 * requests; 10 min and 1 h tell caches with a TTL from state kept for the
 * process's life; 6 h and beyond is what a long-running service has held
 * since it started, where leaks of a day or a week pile up. More buckets
 * would make every stack's line longer without telling these apart better.
 */
static const uint32_t le_s[LT_AGE_BUCKETS - 1] = { 1, 10, 60, 600, 3600, 21600 };
static const char *const labels[LT_AGE_BUCKETS] = {
	"0-1s", "1-10s", "10s-1m", "1-10m", "10m-1h", "1-6h", ">6h",
};

uint32_t lt_age_bucket_le_s(unsigned i)
{
	return i < LT_AGE_BUCKETS - 1 ? le_s[i] : 0;
}

const char *lt_age_bucket_label(unsigned i)
{
	return i < LT_AGE_BUCKETS ? labels[i] : "?";
}

unsigned lt_age_bucket(uint64_t age_ns)
{
	unsigned i = 0;

	while (i < LT_AGE_BUCKETS - 1 && age_ns > (uint64_t)le_s[i] * 1000000000ULL)
		i++;
	return i;
}

void lt_age_sums_add(struct lt_age_sums *s, uint64_t age_ns, double weight, uint64_t size_bytes)
{
	unsigned i = lt_age_bucket(age_ns);

	s->allocs[i] += weight;
	s->bytes[i] += weight * (double)size_bytes;
}

void lt_age_sums_merge(struct lt_age_sums *dst, const struct lt_age_sums *src)
{
	for (unsigned i = 0; i < LT_AGE_BUCKETS; i++) {
		dst->allocs[i] += src->allocs[i];
		dst->bytes[i] += src->bytes[i];
	}
}

/* Largest remainder: see the header. */
static void round_to_total(const double *x, uint64_t total, uint64_t *out)
{
	double frac[LT_AGE_BUCKETS];
	unsigned order[LT_AGE_BUCKETS], largest = 0;
	int64_t left = (int64_t)total;

	for (unsigned i = 0, j; i < LT_AGE_BUCKETS; i++) {
		double v = x[i] > 0 ? floor(x[i]) : 0;

		out[i] = (uint64_t)v;
		frac[i] = x[i] > 0 ? x[i] - v : 0;
		left -= (int64_t)out[i];
		/* By remainder, largest first; ties keep the younger bucket first. */
		for (j = i; j > 0 && frac[order[j - 1]] < frac[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
		if (out[i] > out[largest])
			largest = i;
	}
	/* With the totals rounded from these sums, what is left is at most the
	 * number of buckets with a remainder. */
	for (unsigned k = 0; left > 0 && k < LT_AGE_BUCKETS && frac[order[k]] > 0; k++, left--)
		out[order[k]]++;
	for (unsigned k = LT_AGE_BUCKETS; left < 0 && k-- > 0;) {
		if (out[order[k]]) {
			out[order[k]]--;
			left++;
		}
	}
	/* Only totals that are not the rounded sums get this far. */
	if (left > 0)
		out[largest] += (uint64_t)left;
	for (unsigned i = 0; left < 0 && i < LT_AGE_BUCKETS; i++) {
		uint64_t take = out[i] < (uint64_t)-left ? out[i] : (uint64_t)-left;

		out[i] -= take;
		left += (int64_t)take;
	}
}

void lt_age_sums_round(const struct lt_age_sums *s, uint64_t total_allocs, uint64_t total_bytes,
		       struct lt_age_histogram *out)
{
	round_to_total(s->allocs, total_allocs, out->allocs);
	round_to_total(s->bytes, total_bytes, out->bytes);
}

void lt_age_histogram_merge(struct lt_age_histogram *dst, const struct lt_age_histogram *src)
{
	for (unsigned i = 0; i < LT_AGE_BUCKETS; i++) {
		dst->allocs[i] += src->allocs[i];
		dst->bytes[i] += src->bytes[i];
	}
}
