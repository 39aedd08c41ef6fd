/* SPDX-License-Identifier: MIT */
/*
 * How big the ring buffer should be, from what the consumer saw of it.
 * A pure function of what it is given, so the rule is checked without a
 * kernel; ring_sizer.h measures and applies it.
 */
#ifndef LT_RING_POLICY_H
#define LT_RING_POLICY_H

#include <stdbool.h>
#include <stdint.h>

struct lt_ring_policy {
	uint64_t min_bytes; /* the first size, and the smallest after shrinking */
	uint64_t max_bytes; /* the ceiling (--ringbuf-mb) */
	/* The consumer can stop reading this long (a report being built):
	 * half the ring should hold that much of the rate seen. */
	uint64_t stall_ns;
	/* Shrink only after this long without a resize and without use over 1/8. */
	uint64_t quiet_ns;
};

/* What one window of watching the ring saw. */
struct lt_ring_seen {
	uint64_t size_bytes;       /* the ring now */
	uint64_t peak_fill_bytes;  /* the most seen waiting at once */
	uint64_t rate_bytes_per_s; /* written into it */
	uint64_t since_resize_ns;
	uint64_t since_busy_ns;    /* since lt_ring_busy() was last true */
	bool dropped;              /* a ring-full drop counter moved */
};

/* The smallest start size of one of several lanes' rings. */
#define LT_RING_MIN_LANE_BYTES (1ULL << 20)

/* Ring sizes the kernel takes: a power of two, at least a page (4 KiB). */
uint64_t lt_ring_round_size(uint64_t bytes);
/* The policy for a ceiling of max_bytes: start at 4 MiB (or the ceiling,
 * if smaller), stall 0.5 s, quiet 30 s; sizes rounded as above, the
 * ceiling at most 2 GiB (a ring's size is a u32). */
void lt_ring_policy_default(struct lt_ring_policy *p, uint64_t max_bytes);
/* The ring was used over 1/8 of its size (fill, or the rate for a stall). */
bool lt_ring_busy(const struct lt_ring_policy *p, const struct lt_ring_seen *s);
/* The size to have next: twice the size (up to max_bytes) after a drop or
 * when over half full; half (down to min_bytes) after a quiet period;
 * otherwise the size it is. */
uint64_t lt_ring_next_size(const struct lt_ring_policy *p, const struct lt_ring_seen *s);

#endif
