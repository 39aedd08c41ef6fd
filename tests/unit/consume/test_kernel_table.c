// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "consume/kernel_table.h"

static struct lt_kalloc_event event(uint32_t tgid, uint64_t addr, uint16_t func, const char *cache,
				    uint64_t ip)
{
	struct lt_kalloc_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = LT_EV_KALLOC;
	e.hdr.tgid = tgid;
	e.hdr.ts_ns = 1000;
	e.func = func;
	e.kclass = LT_KCLASS_SLAB;
	e.addr = addr;
	e.size_bytes = 64;
	e.cgroup_id = 7;
	strcpy(e.comm, "holder");
	if (cache)
		strcpy(e.cache, cache);
	e.nframes = 2;
	e.frames[0] = ip;
	e.frames[1] = 0xffffffff81000000ULL;
	return e;
}

static void free_of(struct lt_kernel_table *k, uint64_t addr)
{
	struct lt_kfree_event f = { .hdr = { .kind = LT_EV_KFREE }, .addr = addr };

	lt_kernel_on_free(k, &f, sizeof(f));
}

static void objects_origins_and_stacks(void **state)
{
	struct lt_kernel_table k;
	struct lt_kalloc_event e;

	(void)state;
	lt_kernel_init(&k);
	e = event(10, 0xffff888000001000ULL, LT_KFUNC_CACHE_ALLOC, "filp", 0xffffffff81100000ULL);
	lt_kernel_on_alloc(&k, &e, LT_KALLOC_EVENT_HDR_BYTES + 2 * sizeof(e.frames[0]));
	e = event(10, 0xffff888000002000ULL, LT_KFUNC_CACHE_ALLOC, "filp", 0xffffffff81100000ULL);
	lt_kernel_on_alloc(&k, &e, LT_KALLOC_EVENT_HDR_BYTES + 2 * sizeof(e.frames[0]));
	/* kmalloc: its cache named from kind and size. */
	e = event(11, 0xffff888000003000ULL, LT_KFUNC_KMALLOC, NULL, 0xffffffff81200000ULL);
	e.kmalloc_type = LT_KMALLOC_CG;
	lt_kernel_on_alloc(&k, &e, sizeof(e));
	assert_int_equal(k.live[LT_KCLASS_SLAB].count, 3);
	assert_int_equal(k.stacks.live, 2);
	assert_int_equal(k.norigins, 2);
	assert_int_equal(k.ncaches, 2);
	assert_string_equal(k.caches[0], "filp");
	assert_string_equal(k.caches[1], "kmalloc-cg-64");
	/* A record cut short keeps the frames it has. */
	e = event(12, 0xffff888000004000ULL, LT_KFUNC_CACHE_ALLOC, "dentry", 0xffffffff81300000ULL);
	lt_kernel_on_alloc(&k, &e, LT_KALLOC_EVENT_HDR_BYTES + sizeof(e.frames[0]));
	assert_int_equal(k.live[LT_KCLASS_SLAB].count, 4);
	/* Frees release objects and, with the last one, their stack. */
	free_of(&k, 0xffff888000003000ULL);
	free_of(&k, 0xffff888000004000ULL);
	assert_int_equal(k.stacks.live, 1);
	free_of(&k, 0xffff888000001000ULL);
	assert_int_equal(k.stacks.live, 1);
	free_of(&k, 0xffff888000002000ULL);
	assert_int_equal(k.stacks.live, 0);
	assert_int_equal(k.live[LT_KCLASS_SLAB].count, 0);
	free_of(&k, 0xffff888000002000ULL);
	assert_int_equal(k.unmatched_frees, 1);
	assert_int_equal(k.alloc_events, 4);
	assert_int_equal(k.free_events, 5);
	lt_kernel_free(&k);
}

static void replaced_and_bad_records(void **state)
{
	struct lt_kernel_table k;
	struct lt_kalloc_event e;

	(void)state;
	lt_kernel_init(&k);
	e = event(10, 0xffff888000001000ULL, LT_KFUNC_CACHE_ALLOC, "filp", 0xffffffff81100000ULL);
	lt_kernel_on_alloc(&k, &e, sizeof(e));
	/* The same address again, its free unseen: replaced, counted once. */
	e.frames[0] = 0xffffffff81400000ULL;
	lt_kernel_on_alloc(&k, &e, sizeof(e));
	assert_int_equal(k.replaced, 1);
	assert_int_equal(k.live[LT_KCLASS_SLAB].count, 1);
	assert_int_equal(k.stacks.live, 1);
	/* Too short, or a class out of range: ignored. */
	lt_kernel_on_alloc(&k, &e, 8);
	e.kclass = LT_KCLASS_MAX;
	lt_kernel_on_alloc(&k, &e, sizeof(e));
	assert_int_equal(k.live[LT_KCLASS_SLAB].count, 1);
	lt_kernel_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(objects_origins_and_stacks),
		cmocka_unit_test(replaced_and_bad_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
