// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "attach/ring_policy.h"

#define MiB (1ULL << 20)
#define SEC 1000000000ULL

static struct lt_ring_policy policy(void)
{
	struct lt_ring_policy p;

	lt_ring_policy_default(&p, 64 * MiB);
	return p;
}

/* A ring of size bytes, resized long ago, idle all along. */
static struct lt_ring_seen idle(uint64_t size)
{
	return (struct lt_ring_seen){ .size_bytes = size, .since_resize_ns = 3600 * SEC,
				      .since_busy_ns = 3600 * SEC };
}

static void test_round_size(void **state)
{
	(void)state;
	assert_int_equal(lt_ring_round_size(0), 4096);
	assert_int_equal(lt_ring_round_size(4096), 4096);
	assert_int_equal(lt_ring_round_size(4097), 8192);
	assert_int_equal(lt_ring_round_size(3 * MiB), 4 * MiB);
	assert_int_equal(lt_ring_round_size(64 * MiB), 64 * MiB);
}

static void test_default_bounds(void **state)
{
	struct lt_ring_policy p = policy();

	(void)state;
	assert_int_equal(p.min_bytes, 4 * MiB);
	assert_int_equal(p.max_bytes, 64 * MiB);
	/* A ceiling under the start size is the only size. */
	lt_ring_policy_default(&p, 1 * MiB);
	assert_int_equal(p.min_bytes, 1 * MiB);
	assert_int_equal(p.max_bytes, 1 * MiB);
	/* --ringbuf-mb 3 cannot be a ring: the next power of two is. */
	lt_ring_policy_default(&p, 3 * MiB);
	assert_int_equal(p.min_bytes, 4 * MiB);
	assert_int_equal(p.max_bytes, 4 * MiB);
	/* --ringbuf-mb 4096 does not fit a ring's u32 size. */
	lt_ring_policy_default(&p, 4096 * MiB);
	assert_int_equal(p.max_bytes, 2048 * MiB);
}

static void test_grows_when_half_full(void **state)
{
	struct lt_ring_policy p = policy();
	struct lt_ring_seen s = idle(4 * MiB);

	(void)state;
	s.since_resize_ns = 0; /* no wait for a grow */
	s.since_busy_ns = 0;
	s.peak_fill_bytes = 2 * MiB; /* exactly half: not yet */
	assert_int_equal(lt_ring_next_size(&p, &s), 4 * MiB);
	s.peak_fill_bytes = 2 * MiB + 1;
	assert_int_equal(lt_ring_next_size(&p, &s), 8 * MiB);
}

static void test_grows_on_drop(void **state)
{
	struct lt_ring_policy p = policy();
	struct lt_ring_seen s = idle(16 * MiB);

	(void)state;
	s.dropped = true;
	assert_int_equal(lt_ring_next_size(&p, &s), 32 * MiB);
	assert_true(lt_ring_busy(&p, &s));
}

static void test_grows_for_rate(void **state)
{
	struct lt_ring_policy p = policy();
	struct lt_ring_seen s = idle(4 * MiB);

	(void)state;
	/* Half a second at 4 MiB/s is half the ring: not over it. */
	s.rate_bytes_per_s = 4 * MiB;
	assert_int_equal(lt_ring_next_size(&p, &s), 4 * MiB);
	s.rate_bytes_per_s = 5 * MiB;
	assert_int_equal(lt_ring_next_size(&p, &s), 8 * MiB);
}

static void test_stops_at_ceiling(void **state)
{
	struct lt_ring_policy p = policy();
	struct lt_ring_seen s = idle(64 * MiB);

	(void)state;
	s.dropped = true;
	s.peak_fill_bytes = 64 * MiB;
	assert_int_equal(lt_ring_next_size(&p, &s), 64 * MiB);
}

static void test_shrinks_after_quiet(void **state)
{
	struct lt_ring_policy p = policy();
	struct lt_ring_seen s = idle(32 * MiB);

	(void)state;
	s.peak_fill_bytes = 4 * MiB; /* 1/8 exactly: still quiet */
	assert_false(lt_ring_busy(&p, &s));
	assert_int_equal(lt_ring_next_size(&p, &s), 16 * MiB);
	/* Over 1/8 is use, though not enough to grow. */
	s.peak_fill_bytes = 4 * MiB + 1;
	assert_true(lt_ring_busy(&p, &s));
}

static void test_no_shrink_before_quiet_period(void **state)
{
	struct lt_ring_policy p = policy();
	struct lt_ring_seen s = idle(32 * MiB);

	(void)state;
	s.since_busy_ns = 29 * SEC;
	assert_int_equal(lt_ring_next_size(&p, &s), 32 * MiB);
	s.since_busy_ns = 30 * SEC;
	s.since_resize_ns = 29 * SEC;
	assert_int_equal(lt_ring_next_size(&p, &s), 32 * MiB);
	s.since_resize_ns = 30 * SEC;
	assert_int_equal(lt_ring_next_size(&p, &s), 16 * MiB);
}

static void test_no_shrink_below_start(void **state)
{
	struct lt_ring_policy p = policy();
	struct lt_ring_seen s = idle(4 * MiB);

	(void)state;
	assert_int_equal(lt_ring_next_size(&p, &s), 4 * MiB);
	s = idle(8 * MiB);
	assert_int_equal(lt_ring_next_size(&p, &s), 4 * MiB);
}

/* A rate that made a ring grow does not make the grown one shrink back:
 * no back and forth at a steady rate. */
static void test_steady_rate_settles(void **state)
{
	struct lt_ring_policy p = policy();
	struct lt_ring_seen s = idle(4 * MiB);
	uint64_t sizes[8];

	(void)state;
	s.rate_bytes_per_s = 20 * MiB; /* 10 MiB per stall */
	for (int i = 0; i < 8; i++) {
		s.size_bytes = lt_ring_next_size(&p, &s);
		if (lt_ring_busy(&p, &s))
			s.since_busy_ns = 0;
		sizes[i] = s.size_bytes;
	}
	assert_int_equal(sizes[0], 8 * MiB);
	assert_int_equal(sizes[1], 16 * MiB);
	assert_int_equal(sizes[2], 32 * MiB);
	for (int i = 3; i < 8; i++)
		assert_int_equal(sizes[i], 32 * MiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_size),
		cmocka_unit_test(test_default_bounds),
		cmocka_unit_test(test_grows_when_half_full),
		cmocka_unit_test(test_grows_on_drop),
		cmocka_unit_test(test_grows_for_rate),
		cmocka_unit_test(test_stops_at_ceiling),
		cmocka_unit_test(test_shrinks_after_quiet),
		cmocka_unit_test(test_no_shrink_before_quiet_period),
		cmocka_unit_test(test_no_shrink_below_start),
		cmocka_unit_test(test_steady_rate_settles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
