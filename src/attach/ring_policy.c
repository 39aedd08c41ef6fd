// SPDX-License-Identifier: MIT
#include "attach/ring_policy.h"

#define LT_RING_PAGE_BYTES 4096ULL
#define LT_RING_START_BYTES (4ULL << 20)
/* The kernel takes a ring size as a u32: 2 GiB is the largest power of two. */
#define LT_RING_MAX_BYTES (1ULL << 31)

uint64_t lt_ring_round_size(uint64_t bytes)
{
	uint64_t size = LT_RING_PAGE_BYTES;

	while (size < bytes && size < (1ULL << 62))
		size <<= 1;
	return size;
}

void lt_ring_policy_default(struct lt_ring_policy *p, uint64_t max_bytes)
{
	p->max_bytes = lt_ring_round_size(max_bytes);
	if (p->max_bytes > LT_RING_MAX_BYTES)
		p->max_bytes = LT_RING_MAX_BYTES;
	p->min_bytes = p->max_bytes < LT_RING_START_BYTES ? p->max_bytes : LT_RING_START_BYTES;
	p->stall_ns = 500000000ULL;
	p->quiet_ns = 30000000000ULL;
}

/* Bytes the rate fills during a stall of the consumer. */
static uint64_t stall_bytes(const struct lt_ring_policy *p, const struct lt_ring_seen *s)
{
	/* In ms steps: a rate of up to 2^64 / 1000 B/s cannot overflow. */
	return s->rate_bytes_per_s / 1000 * (p->stall_ns / 1000000);
}

bool lt_ring_busy(const struct lt_ring_policy *p, const struct lt_ring_seen *s)
{
	uint64_t eighth = s->size_bytes / 8;

	return s->dropped || s->peak_fill_bytes > eighth || stall_bytes(p, s) > eighth;
}

uint64_t lt_ring_next_size(const struct lt_ring_policy *p, const struct lt_ring_seen *s)
{
	uint64_t half = s->size_bytes / 2;

	if (s->dropped || s->peak_fill_bytes > half || stall_bytes(p, s) > half)
		return s->size_bytes < p->max_bytes ? s->size_bytes * 2 : s->size_bytes;
	/* Both clocks: a ring just grown has not been quiet at its new size. */
	if (s->size_bytes > p->min_bytes && s->since_resize_ns >= p->quiet_ns &&
	    s->since_busy_ns >= p->quiet_ns)
		return s->size_bytes / 2;
	return s->size_bytes;
}
