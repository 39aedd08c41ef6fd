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
#define EPOCH_NS 5000000000000ULL
#define TICK_NS (1ULL << LT_LIVE_TIME_SHIFT)

/* A block that packs: aligned, small, its time on a tick. */
static struct lt_live_alloc mk(uint64_t addr, uint64_t size, uint32_t stack_id)
{
	struct lt_live_alloc a = {
		.addr = addr,
		.size_bytes = size,
		.ts_ns = EPOCH_NS + ((addr >> 4) % 100000) * TICK_NS,
		.stack_id = stack_id,
		.pad = stack_id % 7,
	};

	return a;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static int setup(void **state)
{
	(void)state;
	lt_live_set_epoch(EPOCH_NS);
	return 0;
}

static void assert_same(const struct lt_live_alloc *g, const struct lt_live_alloc *want)
{
	assert_int_equal(g->addr, want->addr);
	assert_int_equal(g->size_bytes, want->size_bytes);
	assert_int_equal(g->ts_ns, want->ts_ns);
	assert_int_equal(g->stack_id, want->stack_id);
	assert_int_equal(g->pad, want->pad);
}

static void test_empty_table(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc out;
	uint64_t it = 0;
	(void)state;

	lt_live_init(&t);
	assert_false(lt_live_get(&t, 0x1000, NULL));
	assert_false(lt_live_remove(&t, 0x1000, NULL));
	assert_false(lt_live_next(&t, &it, &out));
	assert_int_equal(lt_live_set_pad(&t, 0x1000, 1), -ENOENT);
	assert_int_equal(lt_live_mem_bytes(&t), 0);
	lt_live_free(&t);
	assert_null(t.dir);
}

static void test_put_get_remove(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc a = mk(HEAP_BASE + 0x10, 100, 7), out;
	(void)state;

	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.bytes, 100);
	assert_int_equal(t.spill.count, 0); /* packed */
	assert_true(lt_live_get(&t, a.addr, &out));
	assert_same(&out, &a);
	assert_false(lt_live_get(&t, a.addr + 16, NULL));
	assert_true(lt_live_remove(&t, a.addr, &out));
	assert_same(&out, &a);
	assert_int_equal(t.count, 0);
	assert_int_equal(t.bytes, 0);
	assert_false(lt_live_remove(&t, a.addr, &out));
	lt_live_free(&t);
}

static void test_time_rounds_down_to_a_tick(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc a = mk(HEAP_BASE, 8, 1), out;
	(void)state;

	a.ts_ns = EPOCH_NS + 3 * TICK_NS + TICK_NS - 1;
	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	assert_true(lt_live_get(&t, a.addr, &out));
	assert_int_equal(out.ts_ns, EPOCH_NS + 3 * TICK_NS);
	assert_int_equal(t.spill.count, 0);
	lt_live_free(&t);
}

static void test_replace_returns_old_entry(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc a = mk(HEAP_BASE + 0x40, 100, 1), b = mk(HEAP_BASE + 0x40, 250, 2), old;
	(void)state;

	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &a, &old), 0);
	assert_int_equal(lt_live_put(&t, &b, &old), 1);
	assert_same(&old, &a);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.bytes, 250);
	lt_live_free(&t);
}

static void test_addr_zero_rejected(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc z = mk(0, 8, 1);
	(void)state;

	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &z, NULL), -EINVAL);
	assert_int_equal(t.count, 0);
	lt_live_free(&t);
}

/* Each field out of the packed range sends the block, exact, to the spill;
 * replacing it with one that fits brings it back. */
static void test_unpackable_blocks_spill_exactly(void **state)
{
	struct lt_live_alloc cases[8];
	size_t n = 0;
	(void)state;

	cases[n] = mk(HEAP_BASE + 0x100, 1 << 16, 1);
	cases[n++].size_bytes = 1 << 16;
	cases[n++] = mk(HEAP_BASE + 0x208, 8, 1);         /* 8-byte aligned */
	cases[n++] = mk(1ULL << 47, 8, 1);                /* above 47 bits */
	cases[n++] = mk(HEAP_BASE + 0x300, 8, 1u << 21);  /* large stack id */
	cases[n] = mk(HEAP_BASE + 0x400, 8, 1);
	cases[n++].pad = 0xffff;                          /* the packed "unset" */
	cases[n] = mk(HEAP_BASE + 0x500, 8, 1);
	cases[n++].ts_ns = EPOCH_NS - 1;                  /* before the epoch */
	cases[n] = mk(HEAP_BASE + 0x600, 8, 1);
	cases[n++].ts_ns = EPOCH_NS + (1ULL << 32) * TICK_NS; /* 52 days on */
	cases[n] = mk(HEAP_BASE + 0x700, 8, 1);
	cases[n++].ts_ns = EPOCH_NS + 12345;              /* not on a tick: packs */

	for (size_t i = 0; i < n; i++) {
		struct lt_live_table t;
		struct lt_live_alloc out, fits = mk(cases[i].addr & ~15ULL, 40, 3);
		bool spills = i < 7;

		lt_live_init(&t);
		assert_int_equal(lt_live_put(&t, &cases[i], NULL), 0);
		assert_int_equal(t.spill.count, spills);
		assert_true(lt_live_get(&t, cases[i].addr, &out));
		if (spills)
			assert_same(&out, &cases[i]);
		/* Back to packed when what replaces it fits (same key). */
		if (fits.addr == cases[i].addr && fits.addr < (1ULL << 47)) {
			assert_int_equal(lt_live_put(&t, &fits, &out), 1);
			assert_int_equal(t.spill.count, 0);
			assert_int_equal(t.count, 1);
			assert_int_equal(t.bytes, 40);
			/* And out again. */
			assert_int_equal(lt_live_put(&t, &cases[i], &out), 1);
			assert_same(&out, &fits);
			assert_int_equal(t.spill.count, spills);
			assert_int_equal(t.count, 1);
		}
		assert_true(lt_live_remove(&t, cases[i].addr, &out));
		assert_int_equal(t.count, 0);
		assert_int_equal(t.bytes, 0);
		lt_live_free(&t);
	}
}

static void test_set_pad(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc a = mk(HEAP_BASE + 0x80, 64, 9), out;
	(void)state;

	a.pad = LT_LIVE_PAD_UNSET;
	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	assert_int_equal(t.spill.count, 0); /* "unset" packs */
	assert_true(lt_live_get(&t, a.addr, &out));
	assert_int_equal(out.pad, LT_LIVE_PAD_UNSET);
	assert_int_equal(lt_live_set_pad(&t, a.addr, 12), 0);
	assert_true(lt_live_get(&t, a.addr, &out));
	assert_int_equal(out.pad, 12);
	assert_int_equal(out.stack_id, 9);
	assert_int_equal(lt_live_set_pad(&t, a.addr, 70000), 0); /* spills */
	assert_int_equal(t.spill.count, 1);
	assert_true(lt_live_get(&t, a.addr, &out));
	assert_int_equal(out.pad, 70000);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.bytes, 64);
	lt_live_free(&t);
}

struct ref_entry {
	bool live;
	struct lt_live_alloc a;
};

/* Random puts, replaces and removes over 300k keys (shards split), a tenth
 * of them unpackable, checked against a plain array. */
static void test_random_ops_against_reference(void **state)
{
	const size_t nkeys = 300000, nops = 3000000;
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

		if ((r >> 32) % 100 < 60) {
			struct lt_live_alloc a = mk(addr, (r >> 40) % 4096 + 1, (uint32_t)(op % 1000));
			struct lt_live_alloc old;
			int ret;

			if ((r >> 20) % 10 == 0)
				a.size_bytes = 100000 + op % 7;
			ret = lt_live_put(&t, &a, &old);
			assert_int_equal(ret, ref[k].live);
			if (ref[k].live) {
				assert_same(&old, &ref[k].a);
				ref_bytes -= ref[k].a.size_bytes;
			} else {
				ref_count++;
			}
			ref[k].live = true;
			ref[k].a = a;
			ref_bytes += a.size_bytes;
		} else {
			struct lt_live_alloc out;
			bool removed = lt_live_remove(&t, addr, &out);

			assert_int_equal(removed, ref[k].live);
			if (removed) {
				assert_same(&out, &ref[k].a);
				ref[k].live = false;
				ref_count--;
				ref_bytes -= ref[k].a.size_bytes;
			}
		}
		if (op % 100000 == 0) {
			assert_int_equal(t.count, ref_count);
			assert_int_equal(t.bytes, ref_bytes);
		}
	}
	assert_true(t.nshards > 1);
	assert_int_equal(t.count, ref_count);
	assert_int_equal(t.bytes, ref_bytes);
	for (size_t k = 0; k < nkeys; k++) {
		struct lt_live_alloc g;
		bool live = lt_live_get(&t, HEAP_BASE + (uint64_t)k * 16, &g);

		assert_int_equal(live, ref[k].live);
		if (live)
			assert_same(&g, &ref[k].a);
	}
	lt_live_free(&t);
	free(ref);
}

/* 16 bytes a slot at a load of 0.64..0.8, and no shard over 64 Ki slots:
 * a growing table never holds more than one shard's worth twice. */
static void test_memory_per_block(void **state)
{
	const size_t counts[] = { 100000, 1000000, 2500000 };
	struct lt_live_table t;
	size_t n = 0;
	(void)state;

	lt_live_init(&t);
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		for (; n < counts[c]; n++) {
			struct lt_live_alloc a = mk(HEAP_BASE + n * 32, 16, 1);

			assert_int_equal(lt_live_put(&t, &a, NULL), 0);
		}
		double per = (double)lt_live_mem_bytes(&t) / (double)n;

		assert_true(per >= 16.0 && per <= 26.0);
		for (uint32_t i = 0; i < t.nshards; i++)
			assert_true(t.shards[i]->capacity <= (64u << 10));
	}
	assert_int_equal(t.spill.count, 0);
	lt_live_free(&t);
}

static void test_iteration_visits_each_once(void **state)
{
	const size_t n = 150000;
	uint8_t *seen = calloc(n, 1);
	struct lt_live_table t;
	struct lt_live_alloc a;
	uint64_t it = 0;
	size_t visits = 0;
	(void)state;

	assert_non_null(seen);
	lt_live_init(&t);
	for (size_t i = 0; i < n; i++) {
		a = mk(HEAP_BASE + i * 16, i % 3 ? 24 : 200000, 5); /* a third spill */
		assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	}
	while (lt_live_next(&t, &it, &a)) {
		size_t i = (a.addr - HEAP_BASE) / 16;

		assert_true(i < n);
		assert_int_equal(seen[i], 0);
		assert_int_equal(a.size_bytes, i % 3 ? 24 : 200000);
		seen[i] = 1;
		visits++;
	}
	assert_int_equal(visits, n);
	assert_false(lt_live_next(&t, &it, &a));
	lt_live_free(&t);
	free(seen);
}

static void test_free_then_reuse(void **state)
{
	struct lt_live_table t;
	struct lt_live_alloc a = mk(HEAP_BASE, 8, 1);
	(void)state;

	lt_live_init(&t);
	assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	lt_live_free(&t);
	assert_false(lt_live_get(&t, a.addr, NULL));
	assert_int_equal(t.count, 0);
	assert_int_equal(lt_live_put(&t, &a, NULL), 0);
	assert_true(lt_live_get(&t, a.addr, NULL));
	lt_live_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_put_get_remove),
		cmocka_unit_test(test_time_rounds_down_to_a_tick),
		cmocka_unit_test(test_replace_returns_old_entry),
		cmocka_unit_test(test_addr_zero_rejected),
		cmocka_unit_test(test_unpackable_blocks_spill_exactly),
		cmocka_unit_test(test_set_pad),
		cmocka_unit_test(test_random_ops_against_reference),
		cmocka_unit_test(test_memory_per_block),
		cmocka_unit_test(test_iteration_visits_each_once),
		cmocka_unit_test(test_free_then_reuse),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
