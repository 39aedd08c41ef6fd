/* SPDX-License-Identifier: MIT */
/*
 * --sample-bytes: Poisson sampling over allocated bytes. A block of s bytes
 * is sampled with probability p(s) = 1 - exp(-s / mean); weighting each
 * sampled block by 1 / p(s) (Horvitz-Thompson) gives unbiased estimates of
 * bytes (s / p) and blocks (1 / p).
 */
#ifndef LT_SAMPLING_H
#define LT_SAMPLING_H

#include <stdint.h>

/* 1 / p(size): the number of blocks one sampled block stands for. */
double lt_sample_weight(uint64_t size_bytes, uint64_t mean_bytes);
/* Fill the BPF gap table: -ln((i + 0.5) / n) in 16.16 fixed point, scaled so
 * the table's mean is exactly 1 (the mean gap is then exactly mean_bytes). */
void lt_sample_fill_table(uint32_t *table, unsigned n);

#endif
