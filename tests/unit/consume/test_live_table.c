// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consume/live_table.h"

#define HEAP_BASE 0x55d0c8a00000ULL

static struct lt_live_alloc mk(uint64_t addr, uint64_t size, uint32_t stack_id)
{
	struct lt_live_alloc a = {
		.addr = addr,
		.size_bytes = size,
		.ts_ns = addr ^ 0x1234,
		.stack_id = stack_id,
	};

	return a;
}

/* Deterministic PRNG (xorshift64*) so every run does the same operations. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* The table's own slot function, copied to build colliding keys on purpose.
 * If it ever changes, the collision tests still check correctness, only
 * with less targeted clusters. */
static size_t home_slot(uint64_t addr, size_t mask)
{
	uint64_t h = addr * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h ^ (h >> 29)) & mask;
}

static void test_empty_table(void **state)
{
	struct lt_live_table t;
	size_t it = 0;
	(void)state;

	lt_live_init(&t);
	assert_int_equal(t.count, 0);
	assert_int_equal(t.bytes, 0);
	assert_null(lt_live_get(&t, 0x1000));
	assert_false(lt_live_remove(&t, 0x1000, NULL));
	assert_null(lt_live_next(&t, &it));
	lt_live_free(&t);
	assert_null(t.slots);
	assert_int_equal(t.capacity, 0);
}

static void test_put_get_remove(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc a = mk(HEAP_BASE + 0x10, 100, 7), out;
	const struct lt_live_alloc *g;
	bool replaced = true;
	(void)state;

	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &a, &replaced), 0);
	assert_false(replaced);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.bytes, 100);

	g = lt_live_get(&t, a.addr);
	assert_non_null(g);
	assert_int_equal(g->addr, a.addr);
	assert_int_equal(g->size_bytes, 100);
	assert_int_equal(g->ts_ns, a.ts_ns);
	assert_int_equal(g->stack_id, 7);
	assert_null(lt_live_get(&t, a.addr + 16));

	memset(&out, 0xaa, sizeof(out));
	assert_true(lt_live_remove(&t, a.addr, &out));
	assert_int_equal(out.addr, a.addr);
	assert_int_equal(out.size_bytes, 100);
	assert_int_equal(out.ts_ns, a.ts_ns);
	assert_int_equal(out.stack_id, 7);
	assert_int_equal(t.count, 0);
	assert_int_equal(t.bytes, 0);
	assert_null(lt_live_get(&t, a.addr));
	assert_false(lt_live_remove(&t, a.addr, &out));
	lt_live_free(&t);
}

static void test_put_without_replaced_flag(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc a = mk(HEAP_BASE, 8, 1);
	(void)state;

	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	a.size_bytes = 9;
	assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.bytes, 9);
	assert_true(lt_live_remove(&t, a.addr, NULL));
	assert_int_equal(t.bytes, 0);
	lt_live_free(&t);
}

static void test_replace_updates_entry_and_bytes(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc a = mk(HEAP_BASE + 0x40, 100, 1);
	struct lt_live_alloc b = mk(HEAP_BASE + 0x80, 30, 2);
	const struct lt_live_alloc *g;
	bool replaced;
	(void)state;

	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &a, &replaced), 0);
	assert_false(replaced);
	assert_int_equal(lt_live_put(&t, &b, &replaced), 0);
	assert_false(replaced);
	assert_int_equal(t.bytes, 130);

	a.size_bytes = 250;
	a.ts_ns = 99;
	a.stack_id = 42;
	assert_int_equal(lt_live_put(&t, &a, &replaced), 0);
	assert_true(replaced);
	assert_int_equal(t.count, 2);
	assert_int_equal(t.bytes, 280);
	g = lt_live_get(&t, a.addr);
	assert_non_null(g);
	assert_int_equal(g->size_bytes, 250);
	assert_int_equal(g->ts_ns, 99);
	assert_int_equal(g->stack_id, 42);

	/* Shrinking replacement. */
	a.size_bytes = 1;
	assert_int_equal(lt_live_put(&t, &a, &replaced), 0);
	assert_true(replaced);
	assert_int_equal(t.count, 2);
	assert_int_equal(t.bytes, 31);
	lt_live_free(&t);
}

static void test_addr_zero_rejected(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc z = mk(0, 64, 1), a = mk(HEAP_BASE, 16, 1);
	(void)state;

	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &z, NULL), -EINVAL);
	assert_int_equal(t.count, 0);
	assert_int_equal(t.bytes, 0);
	assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	assert_int_equal(lt_live_put(&t, &z, NULL), -EINVAL);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.bytes, 16);
	assert_null(lt_live_get(&t, 0));
	assert_false(lt_live_remove(&t, 0, NULL));
	assert_int_equal(t.count, 1);
	lt_live_free(&t);
}

static void test_growth_200k(void **state)
{
	const size_t n = 200000;
	struct lt_live_table t;
	uint64_t bytes = 0;
	(void)state;

	lt_live_init(&t);
	for (size_t i = 0; i < n; i++) {
		struct lt_live_alloc a = mk(HEAP_BASE + i * 16, i % 1000 + 1, (uint32_t)(i % 97));
		bool replaced = true;

		assert_int_equal(lt_live_put(&t, &a, &replaced), 0);
		assert_false(replaced);
		bytes += a.size_bytes;
	}
	assert_int_equal(t.count, n);
	assert_int_equal(t.bytes, bytes);
	/* Power of two and under the 3/4 load factor. */
	assert_int_equal(t.capacity & (t.capacity - 1), 0);
	assert_true(t.count * 4 <= t.capacity * 3);

	for (size_t i = 0; i < n; i++) {
		const struct lt_live_alloc *g = lt_live_get(&t, HEAP_BASE + i * 16);

		assert_non_null(g);
		assert_int_equal(g->size_bytes, i % 1000 + 1);
		assert_int_equal(g->stack_id, i % 97);
	}
	assert_null(lt_live_get(&t, HEAP_BASE + n * 16));
	assert_null(lt_live_get(&t, HEAP_BASE + 8));

	for (size_t i = 0; i < n; i += 2)
		assert_true(lt_live_remove(&t, HEAP_BASE + i * 16, NULL));
	assert_int_equal(t.count, n / 2);
	for (size_t i = 0; i < n; i++) {
		const struct lt_live_alloc *g = lt_live_get(&t, HEAP_BASE + i * 16);

		if (i % 2)
			assert_non_null(g);
		else
			assert_null(g);
	}
	lt_live_free(&t);
}

/* Keys whose home slot in a 64-slot table is `home`. */
static size_t keys_with_home(size_t home, uint64_t *out, size_t want, uint64_t *cursor)
{
	size_t n = 0;

	while (n < want) {
		uint64_t k = HEAP_BASE + (*cursor)++ * 16;

		if (home_slot(k, 63) == home)
			out[n++] = k;
	}
	return n;
}

static void check_present(const struct lt_live_table *t, const uint64_t *keys, size_t n,
			  const bool *live)
{
	for (size_t i = 0; i < n; i++) {
		const struct lt_live_alloc *g = lt_live_get(t, keys[i]);

		if (live[i]) {
			assert_non_null(g);
			assert_int_equal(g->addr, keys[i]);
			assert_int_equal(g->size_bytes, i + 1);
		} else {
			assert_null(g);
		}
	}
}

static void run_cluster_removals(size_t first_home)
{
	/* Three interleaved clusters starting at first_home, first_home+1 and
	 * first_home+3 (mod 64): removing from the front must shift later
	 * entries back only when their home allows it. */
	uint64_t keys[24], cursor = 1;
	bool live[24];
	struct lt_live_table t;
	uint64_t bytes = 0;
	size_t order[24];

	keys_with_home(first_home, keys, 8, &cursor);
	keys_with_home((first_home + 1) & 63, keys + 8, 8, &cursor);
	keys_with_home((first_home + 3) & 63, keys + 16, 8, &cursor);
	/* Interleave insertions so the clusters overlap. */
	for (size_t i = 0; i < 8; i++) {
		order[3 * i] = i;
		order[3 * i + 1] = 8 + i;
		order[3 * i + 2] = 16 + i;
	}

	lt_live_init(&t);
	for (size_t i = 0; i < 24; i++) {
		struct lt_live_alloc a = mk(keys[order[i]], order[i] + 1, 0);

		assert_int_equal(lt_live_put(&t, &a, NULL), 0);
		live[order[i]] = true;
		bytes += order[i] + 1;
	}
	assert_int_equal(t.capacity, 64); /* still the first table: clusters really collide */
	check_present(&t, keys, 24, live);

	/* Remove in an order that hits heads, middles and tails of clusters. */
	static const size_t removals[] = { 0, 9, 17, 4, 8, 23, 1, 2, 16, 12, 3, 20 };
	for (size_t r = 0; r < sizeof(removals) / sizeof(removals[0]); r++) {
		size_t k = removals[r];
		struct lt_live_alloc out;

		assert_true(lt_live_remove(&t, keys[k], &out));
		assert_int_equal(out.addr, keys[k]);
		assert_int_equal(out.size_bytes, k + 1);
		live[k] = false;
		bytes -= k + 1;
		assert_int_equal(t.bytes, bytes);
		check_present(&t, keys, 24, live);
	}
	assert_int_equal(t.count, 12);

	/* Reinsert what was removed: the table must not hold duplicates. */
	for (size_t k = 0; k < 24; k++) {
		struct lt_live_alloc a = mk(keys[k], k + 1, 0);
		bool replaced;

		assert_int_equal(lt_live_put(&t, &a, &replaced), 0);
		assert_int_equal(replaced, live[k]);
		live[k] = true;
	}
	assert_int_equal(t.count, 24);
	check_present(&t, keys, 24, live);
	lt_live_free(&t);
}

static void test_collision_cluster_removal(void **state)
{
	(void)state;
	run_cluster_removals(10);
}

static void test_collision_cluster_removal_wraps(void **state)
{
	(void)state;
	/* Clusters that run past the last slot into slot 0. */
	run_cluster_removals(61);
}

struct ref_entry {
	bool live;
	uint64_t size;
	uint32_t stack;
};

static void test_random_ops_against_reference(void **state)
{
	const size_t nkeys = 50000, nops = 1000000;
	struct ref_entry *ref = calloc(nkeys, sizeof(*ref));
	struct lt_live_table t;
	size_t ref_count = 0;
	uint64_t ref_bytes = 0;
	(void)state;

	assert_non_null(ref);
	rng_state = 0x9e3779b97f4a7c15ULL;
	lt_live_init(&t);
	for (size_t op = 0; op < nops; op++) {
		uint64_t r = rng();
		size_t k = (size_t)(r % nkeys);
		uint64_t addr = HEAP_BASE + (uint64_t)k * 16;

		/* Slightly more puts than removes keeps the table busy. */
		if ((r >> 32) % 100 < 55) {
			struct lt_live_alloc a = mk(addr, (r >> 40) % 4096 + 1, (uint32_t)op);
			bool replaced;

			assert_int_equal(lt_live_put(&t, &a, &replaced), 0);
			assert_int_equal(replaced, ref[k].live);
			if (ref[k].live)
				ref_bytes -= ref[k].size;
			else
				ref_count++;
			ref[k].live = true;
			ref[k].size = a.size_bytes;
			ref[k].stack = a.stack_id;
			ref_bytes += a.size_bytes;
		} else {
			struct lt_live_alloc out;
			bool removed = lt_live_remove(&t, addr, &out);

			assert_int_equal(removed, ref[k].live);
			if (removed) {
				assert_int_equal(out.size_bytes, ref[k].size);
				assert_int_equal(out.stack_id, ref[k].stack);
				ref[k].live = false;
				ref_count--;
				ref_bytes -= ref[k].size;
			}
		}
		if (op % 100000 == 0) {
			assert_int_equal(t.count, ref_count);
			assert_int_equal(t.bytes, ref_bytes);
		}
	}
	assert_int_equal(t.count, ref_count);
	assert_int_equal(t.bytes, ref_bytes);
	for (size_t k = 0; k < nkeys; k++) {
		const struct lt_live_alloc *g = lt_live_get(&t, HEAP_BASE + (uint64_t)k * 16);

		if (ref[k].live) {
			assert_non_null(g);
			assert_int_equal(g->size_bytes, ref[k].size);
			assert_int_equal(g->stack_id, ref[k].stack);
		} else {
			assert_null(g);
		}
	}
	lt_live_free(&t);
	free(ref);
}

static void test_iteration_visits_each_once(void **state)
{
	const size_t n = 5000;
	unsigned char *seen = calloc(n, 1);
	struct lt_live_table t;
	const struct lt_live_alloc *a;
	size_t it = 0, visited = 0;
	uint64_t bytes = 0;
	(void)state;

	assert_non_null(seen);
	lt_live_init(&t);
	for (size_t i = 0; i < n; i++) {
		struct lt_live_alloc e = mk(HEAP_BASE + i * 32, i + 1, 0);

		assert_int_equal(lt_live_put(&t, &e, NULL), 0);
	}
	/* Remove every third so iteration must skip holes left by deletion. */
	for (size_t i = 0; i < n; i += 3)
		assert_true(lt_live_remove(&t, HEAP_BASE + i * 32, NULL));

	while ((a = lt_live_next(&t, &it))) {
		size_t i;

		assert_true(a->addr >= HEAP_BASE);
		assert_int_equal((a->addr - HEAP_BASE) % 32, 0);
		i = (size_t)((a->addr - HEAP_BASE) / 32);
		assert_true(i < n);
		assert_true(i % 3 != 0);
		assert_int_equal(seen[i], 0);
		seen[i] = 1;
		assert_int_equal(a->size_bytes, i + 1);
		bytes += a->size_bytes;
		visited++;
	}
	assert_int_equal(visited, t.count);
	assert_int_equal(visited, n - (n + 2) / 3);
	assert_int_equal(bytes, t.bytes);
	/* Exhausted iterators stay exhausted. */
	assert_null(lt_live_next(&t, &it));
	lt_live_free(&t);
	free(seen);
}

static void test_free_then_reuse(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc a = mk(HEAP_BASE, 5, 0);
	(void)state;

	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	lt_live_free(&t);
	assert_int_equal(t.count, 0);
	assert_int_equal(t.bytes, 0);
	assert_null(lt_live_get(&t, a.addr));
	assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	assert_int_equal(t.count, 1);
	assert_non_null(lt_live_get(&t, a.addr));
	lt_live_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_put_get_remove),
		cmocka_unit_test(test_put_without_replaced_flag),
		cmocka_unit_test(test_replace_updates_entry_and_bytes),
		cmocka_unit_test(test_addr_zero_rejected),
		cmocka_unit_test(test_growth_200k),
		cmocka_unit_test(test_collision_cluster_removal),
		cmocka_unit_test(test_collision_cluster_removal_wraps),
		cmocka_unit_test(test_random_ops_against_reference),
		cmocka_unit_test(test_iteration_visits_each_once),
		cmocka_unit_test(test_free_then_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
