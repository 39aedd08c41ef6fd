/* SPDX-License-Identifier: MIT */
/*
 * How old a stack's live blocks are: a fixed set of log-spaced age buckets,
 * with the blocks and bytes in each. A leak keeps its oldest blocks while
 * adding new ones, so it spreads over every bucket up to its age; a cache
 * or a pool sits in the buckets of its lifetime.
 */
#ifndef LT_AGE_HISTOGRAM_H
#define LT_AGE_HISTOGRAM_H

#include <stdint.h>

/* 0-1 s, 1-10 s, 10 s-1 min, 1-10 min, 10 min-1 h, 1-6 h, over 6 h. */
#define LT_AGE_BUCKETS 7

/* Blocks and bytes per bucket; with sampling, unbiased estimates. */
struct lt_age_histogram {
	uint64_t allocs[LT_AGE_BUCKETS];
	uint64_t bytes[LT_AGE_BUCKETS];
};

/* Weighted sums on the way to a histogram (weights are 1 without sampling). */
struct lt_age_sums {
	double allocs[LT_AGE_BUCKETS];
	double bytes[LT_AGE_BUCKETS];
};

/* Bucket i holds ages up to and including lt_age_bucket_le_s(i) seconds and
 * above the previous bound; the last bucket has no bound (returns 0). */
uint32_t lt_age_bucket_le_s(unsigned i);
/* "0-1s", "1-10s", "10s-1m", "1-10m", "10m-1h", "1-6h", ">6h". */
const char *lt_age_bucket_label(unsigned i);
unsigned lt_age_bucket(uint64_t age_ns);

/* A block of size_bytes, age_ns old, counted weight times. */
void lt_age_sums_add(struct lt_age_sums *s, uint64_t age_ns, double weight, uint64_t size_bytes);
void lt_age_sums_merge(struct lt_age_sums *dst, const struct lt_age_sums *src);
/*
 * Integers adding up exactly to the stack's own (rounded) totals, so the
 * buckets never disagree with the counts beside them: each bucket is rounded
 * down, then the units left go to the largest remainders (taken back from
 * the smallest, in the rare case the totals were rounded down).
 */
void lt_age_sums_round(const struct lt_age_sums *s, uint64_t total_allocs, uint64_t total_bytes,
		       struct lt_age_histogram *out);
void lt_age_histogram_merge(struct lt_age_histogram *dst, const struct lt_age_histogram *src);

#endif
