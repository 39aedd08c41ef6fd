// SPDX-License-Identifier: MIT
/*
 * Typing blocks from their headers, read through the real
 * process_vm_readv path from this very process: fake type objects and
 * blocks laid out as CPython 3.11 lays them (GC header, managed-dict
 * pre-header) must be told apart from buffers and from pointers that only
 * look like types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "python/python_layout.h"
#include "python/python_objects.h"
#include "python/python_settle.h"

#define READY (1ULL << 12)
#define HAVE_GC (1ULL << 14)
#define MANAGED_DICT (1ULL << 4)
#define TYPE_SUBCLASS (1ULL << 31)

struct fake_type {
	uint64_t words[LT_PY_TP_FLAGS / 8 + 1];
};

static struct fake_type type_type, meta, plain, gc, managed, unready, not_meta, bogus;

static void make_type(struct fake_type *t, const struct fake_type *metatype, const char *name,
		      uint64_t flags, uint64_t basicsize)
{
	memset(t, 0, sizeof(*t));
	t->words[0] = 1;
	t->words[LT_PY_OB_TYPE / 8] = (uint64_t)(uintptr_t)metatype;
	t->words[LT_PY_TP_NAME / 8] = (uint64_t)(uintptr_t)name;
	t->words[LT_PY_TP_BASICSIZE / 8] = basicsize;
	t->words[LT_PY_TP_FLAGS / 8] = flags;
}

/* An object of type t at offset k of block. */
static void put_object(uint64_t *block, size_t k, const struct fake_type *t, uint64_t refcnt)
{
	block[k / 8] = refcnt;
	block[k / 8 + 1] = (uint64_t)(uintptr_t)t;
}

static uint64_t blocks[9][8];

/* ts in ms: packed blocks keep times to about a millisecond. */
static int add_block(struct lt_py_process *pp, uint64_t *block, uint64_t size, uint64_t ts_ms)
{
	struct lt_py_alloc_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = LT_EV_PY_ALLOC;
	e.hdr.ts_ns = ts_ms * 1000000;
	e.addr = (uint64_t)(uintptr_t)block;
	e.size_bytes = size;
	return lt_py_process_add(pp, &e, 0);
}

static const char *type_of(struct lt_py_process *pp, uint64_t *block)
{
	struct lt_live_alloc entry;
	const struct lt_live_alloc *a = &entry;

	assert_true(lt_live_get(&pp->objects, (uint64_t)(uintptr_t)block, &entry));
	if (a->pad == LT_PY_TYPE_UNSETTLED)
		return "unsettled";
	assert_true(a->pad < pp->ntypes);
	return pp->types[a->pad].name;
}

static void test_settle_311(void **state)
{
	struct lt_py_interp interp;
	struct lt_py_process pp;

	(void)state;
	make_type(&type_type, &type_type, "type", READY | TYPE_SUBCLASS | HAVE_GC, 880);
	make_type(&meta, &type_type, "ABCMeta", READY | TYPE_SUBCLASS | HAVE_GC, 880);
	/* Buffer bytes that look like a type of a metatype: the "metatype" has
	 * the flags, but its own metatype is not `type`. */
	make_type(&not_meta, &plain, "not a metatype", READY | TYPE_SUBCLASS, 880);
	make_type(&bogus, &not_meta, "Bogus", READY, 16);
	/* str's compact forms are smaller than its tp_basicsize. */
	make_type(&plain, &type_type, "str", READY, 80);
	make_type(&gc, &meta, "Listener", READY | HAVE_GC, 16);
	make_type(&managed, &type_type, "Managed", READY | HAVE_GC | MANAGED_DICT, 16);
	make_type(&unready, &type_type, "Unready", 0, 16);
	memset(blocks, 0, sizeof(blocks));
	put_object(blocks[0], 0, &plain, 1);          /* str at the block's start */
	blocks[1][0] = (uint64_t)(uintptr_t)blocks[7]; /* GC header: gc_next, gc_prev */
	blocks[1][1] = 0;
	put_object(blocks[1], 16, &gc, 3);           /* through a metaclass */
	blocks[2][0] = blocks[2][1] = 0;              /* pre-header */
	put_object(blocks[2], 32, &managed, 2);
	/* A list's item array: pointers, the second of them to a type. */
	blocks[3][0] = (uint64_t)(uintptr_t)blocks[0];
	blocks[3][1] = (uint64_t)(uintptr_t)&plain;
	put_object(blocks[4], 16, &plain, 1);         /* a non-GC type after a GC header */
	put_object(blocks[5], 0, &unready, 1);        /* not a ready type */
	put_object(blocks[6], 0, &plain, 0);          /* no references: freed */
	blocks[7][0] = (uint64_t)(uintptr_t)blocks[1];
	put_object(blocks[7], 16, &gc, 1);           /* fixed size, but not this block's */
	put_object(blocks[8], 0, &bogus, 1);         /* a "type" no metatype made */

	memset(&interp, 0, sizeof(interp));
	interp.minor = 11;
	interp.type_type = (uint64_t)(uintptr_t)&type_type;
	interp.str_type = (uint64_t)(uintptr_t)&plain;
	interp.objects = LT_PY_OBJECTS_ALL;
	assert_int_equal(lt_py_process_init(&pp, getpid(), &interp), 0);
	assert_int_equal(add_block(&pp, blocks[0], 40, 100), 0);
	assert_int_equal(add_block(&pp, blocks[1], 32, 100), 0);
	assert_int_equal(add_block(&pp, blocks[2], 48, 100), 0);
	for (int i = 3; i < 9; i++)
		assert_int_equal(add_block(&pp, blocks[i], 64, i == 6 ? 990 : 100), 0);
	assert_int_equal(pp.unsettled, 9);
	/* Too young at 1000 ms with 20 ms to wait: blocks[6] stays. */
	assert_int_equal(lt_py_settle_types(&pp, 1000000000, 20000000), 8);
	assert_int_equal(pp.unsettled, 1);
	assert_string_equal(type_of(&pp, blocks[0]), "str");
	assert_string_equal(type_of(&pp, blocks[1]), "Listener");
	assert_string_equal(type_of(&pp, blocks[2]), "Managed");
	assert_string_equal(type_of(&pp, blocks[3]), "(buffer)");
	assert_string_equal(type_of(&pp, blocks[4]), "(buffer)");
	assert_string_equal(type_of(&pp, blocks[5]), "(buffer)");
	assert_string_equal(type_of(&pp, blocks[6]), "unsettled");
	assert_string_equal(type_of(&pp, blocks[7]), "(buffer)");
	assert_string_equal(type_of(&pp, blocks[8]), "(buffer)");
	/* Freed and made again before it was read: listed twice, typed once. */
	assert_true(lt_py_process_remove(&pp, (uint64_t)(uintptr_t)blocks[6]));
	put_object(blocks[6], 0, &plain, 1);
	assert_int_equal(add_block(&pp, blocks[6], 64, 995), 0);
	assert_int_equal(lt_py_settle_types(&pp, 2000000000, 0), 1);
	assert_string_equal(type_of(&pp, blocks[6]), "str");
	assert_int_equal(pp.unsettled, 0);
	assert_int_equal(pp.npending, 0);
	/* A type made ready after a pass found it none counts from then on. */
	unready.words[LT_PY_TP_FLAGS / 8] |= READY;
	assert_true(lt_py_process_remove(&pp, (uint64_t)(uintptr_t)blocks[5]));
	assert_int_equal(add_block(&pp, blocks[5], 16, 1500), 0);
	assert_int_equal(lt_py_settle_types(&pp, 3000000000ULL, 0), 1);
	assert_string_equal(type_of(&pp, blocks[5]), "Unready");
	lt_py_process_free(&pp);
}

static void test_settle_310_has_no_preheader(void **state)
{
	struct lt_py_interp interp;
	struct lt_py_process pp;

	(void)state;
	make_type(&type_type, &type_type, "type", READY | TYPE_SUBCLASS | HAVE_GC, 880);
	make_type(&managed, &type_type, "Managed", READY | HAVE_GC | MANAGED_DICT, 16);
	memset(blocks, 0, sizeof(blocks));
	put_object(blocks[0], 16, &managed, 1); /* bit 4 means nothing before 3.11 */
	put_object(blocks[1], 32, &managed, 1);
	memset(&interp, 0, sizeof(interp));
	interp.minor = 10;
	interp.type_type = (uint64_t)(uintptr_t)&type_type;
	assert_int_equal(lt_py_process_init(&pp, getpid(), &interp), 0);
	assert_int_equal(add_block(&pp, blocks[0], 32, 1), 0); /* GC header + 16 */
	assert_int_equal(add_block(&pp, blocks[1], 48, 1), 0);
	assert_int_equal(lt_py_settle_types(&pp, 10000000, 0), 2);
	assert_string_equal(type_of(&pp, blocks[0]), "Managed");
	assert_string_equal(type_of(&pp, blocks[1]), "(buffer)");
	lt_py_process_free(&pp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settle_311),
		cmocka_unit_test(test_settle_310_has_no_preheader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
