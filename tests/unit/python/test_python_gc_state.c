// SPDX-License-Identifier: MIT
/*
 * The collector's state read from a fake process: a runtime, an
 * interpreter, the state with its generations and stats (the 3.15 rings
 * among them), a gc.garbage list and the objects and types in it, each a
 * buffer served by lt_py_read_images() at an address of its own. Every
 * value is distinct, so that a field read from its neighbour's offset
 * shows, and the 3.15 rings hold other records around the current one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "python/python_gc_state.h"
#include "python/python_heap_layout.h"
#include "python/python_layout.h"
#include "python/python_memory.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define RUNTIME_ADDR 0x100000ull
#define INTERP_ADDR 0x200000ull
#define STATS_ADDR 0x300000ull
#define LIST_ADDR 0x400000ull
#define ITEMS_ADDR 0x410000ull
#define OBJS_ADDR 0x500000ull
#define TYPES_ADDR 0x600000ull
#define NAMES_ADDR 0x700000ull
#define NOWHERE_ADDR 0x900000ull

#define TYPE_BYTES 256
#define NAME_BYTES 128
#define NTYPES 12
#define NOBJS 64

/* The 3.15 struct gc_stats as its header lays it out: rings of 64-byte
 * records (11, 3, 3), an int8_t index after each; the stats pointer at
 * 104 in the state. Written from these numbers, not from the table. */
#define V315_STATS_PTR 104
#define V315_RECORD 64
static const int v315_ring[3] = { 0, 712, 912 };
static const int v315_len[3] = { 11, 3, 3 };
static const int v315_index_at[3] = { 704, 904, 1104 };
static const int8_t v315_index[3] = { 5, 2, 0 };

static const uint64_t thresholds[3] = { 500, 7, 9 };
static const uint64_t counts[3] = { 11, 2, 3 };

struct fake {
	uint32_t minor;
	const struct lt_py_heap_layout *hl;
	uint8_t runtime[2048];
	uint8_t interp[8192];
	uint8_t stats[1200];
	uint64_t list[4];
	uint64_t items[NOBJS];
	uint64_t objs[NOBJS][2];
	uint8_t types[NTYPES][TYPE_BYTES];
	char names[NTYPES][NAME_BYTES];
	struct lt_py_image images[8];
	size_t nimages;
	size_t ntypes, nobjs;
};

static void put_u64(uint8_t *p, int32_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put_i32(uint8_t *p, int32_t off, int32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static uint8_t *gc_state(struct fake *f)
{
	return (f->hl->gc_in_runtime ? f->runtime : f->interp) + f->hl->gc_state;
}

static uint64_t type_addr(size_t t)
{
	return TYPES_ADDR + t * TYPE_BYTES;
}

/* A type object named name; type 0 is list. */
static size_t add_type(struct fake *f, const char *name, uint64_t flags)
{
	size_t t = f->ntypes++;

	assert_true(t < NTYPES && strlen(name) < NAME_BYTES);
	strcpy(f->names[t], name);
	put_u64(f->types[t], LT_PY_TP_NAME, NAMES_ADDR + t * NAME_BYTES);
	put_u64(f->types[t], LT_PY_TP_FLAGS, flags);
	return t;
}

/* n more objects of type t in gc.garbage. */
static void add_garbage(struct fake *f, size_t t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t o = f->nobjs++;

		assert_true(o < NOBJS);
		f->objs[o][0] = 1;
		f->objs[o][1] = type_addr(t);
		f->items[o] = OBJS_ADDR + o * sizeof(f->objs[0]);
	}
	f->list[LT_PY_VAR_SIZE / 8] = f->nobjs;
}

static void add_image(struct fake *f, uint64_t addr, const void *data, size_t len)
{
	assert_true(f->nimages < N(f->images));
	f->images[f->nimages++] = (struct lt_py_image){ addr, data, len };
}

static void serve(struct fake *f)
{
	f->nimages = 0;
	add_image(f, RUNTIME_ADDR, f->runtime, sizeof(f->runtime));
	add_image(f, INTERP_ADDR, f->interp, sizeof(f->interp));
	add_image(f, STATS_ADDR, f->stats, sizeof(f->stats));
	add_image(f, LIST_ADDR, f->list, sizeof(f->list));
	add_image(f, ITEMS_ADDR, f->items, sizeof(f->items));
	add_image(f, OBJS_ADDR, f->objs, sizeof(f->objs));
	add_image(f, TYPES_ADDR, f->types, sizeof(f->types));
	add_image(f, NAMES_ADDR, f->names, sizeof(f->names));
	lt_py_read_images(f->images, f->nimages);
}

/* 3.15: every record of every ring filled, the current one with the totals. */
static void put_rings(struct fake *f)
{
	for (int g = 0; g < 3; g++) {
		for (int r = 0; r < v315_len[g]; r++) {
			uint8_t *rec = f->stats + v315_ring[g] + r * V315_RECORD;
			bool now = r == v315_index[g];

			put_u64(rec, 0, 7777);   /* ts_start */
			put_u64(rec, 8, 8888);   /* ts_stop */
			put_u64(rec, 16, now ? 100 + g : 9000 + r);
			put_u64(rec, 24, now ? 200 + g : 9100 + r);
			put_u64(rec, 32, now ? 300 + g : 9200 + r);
			put_u64(rec, 40, 9999);  /* candidates */
		}
		f->stats[v315_index_at[g]] = (uint8_t)v315_index[g];
	}
}

/*
 * A process of 3.minor with the collector disabled, DEBUG_SAVEALL and
 * DEBUG_UNCOLLECTABLE on, the thresholds and counts above, stats
 * 100 + g, 200 + g, 300 + g, and an empty gc.garbage.
 */
static struct fake *fake_new(uint32_t minor)
{
	struct fake *f = calloc(1, sizeof(*f));
	const struct lt_py_heap_layout *hl;
	uint8_t *st;

	assert_non_null(f);
	hl = f->hl = lt_py_heap_layout(minor);
	assert_non_null(hl);
	f->minor = minor;
	if (!hl->gc_in_runtime)
		put_u64(f->runtime, hl->rt_interp_head, INTERP_ADDR);
	st = gc_state(f);
	put_i32(st, hl->gc_enabled, 0);
	put_i32(st, hl->gc_debug, 0x24);
	for (int g = 0; g < 3; g++) {
		put_i32(st, hl->gc_lists[g] + hl->gc_gen_threshold, (int32_t)thresholds[g]);
		put_i32(st, hl->gc_lists[g] + hl->gc_gen_count, (int32_t)counts[g]);
	}
	if (minor >= 15) {
		put_u64(st, V315_STATS_PTR, STATS_ADDR);
		put_rings(f);
	} else {
		for (int g = 0; g < 3; g++) {
			uint8_t *rec = st + hl->gc_stats + g * (int32_t)hl->gc_stats_bytes;

			put_u64(rec, hl->gc_stat_collections, 100 + g);
			put_u64(rec, hl->gc_stat_collected, 200 + g);
			put_u64(rec, hl->gc_stat_uncollectable, 300 + g);
		}
	}
	put_u64(st, hl->gc_garbage, LIST_ADDR);
	add_type(f, "list", LT_PY_TPFLAGS_LIST_SUBCLASS | LT_PY_TPFLAGS_HAVE_GC);
	f->list[0] = 1;
	f->list[LT_PY_OB_TYPE / 8] = type_addr(0);
	f->list[LT_PY_LIST_ITEMS / 8] = ITEMS_ADDR;
	serve(f);
	return f;
}

static void fake_free(struct fake *f)
{
	lt_py_read_images(NULL, 0);
	free(f);
}

static int read_fake(struct fake *f, struct lt_py_gc_state *out)
{
	serve(f);
	return lt_py_gc_state_read(1234, f->minor, RUNTIME_ADDR, out);
}

static void check_scalars(const struct lt_py_gc_state *s)
{
	assert_false(s->enabled);
	assert_int_equal(s->debug, 0x24);
	for (int g = 0; g < 3; g++) {
		assert_int_equal(s->gens[g].threshold, thresholds[g]);
		assert_int_equal(s->gens[g].count, counts[g]);
		assert_int_equal(s->gens[g].collections, 100 + g);
		assert_int_equal(s->gens[g].collected, 200 + g);
		assert_int_equal(s->gens[g].uncollectable, 300 + g);
	}
}

static void check_type(const struct lt_py_gc_state *s, uint32_t i, const char *name, uint64_t count)
{
	assert_true(i < s->ngarbage_types);
	assert_string_equal(s->garbage_types[i].name, name);
	assert_int_equal(s->garbage_types[i].count, count);
}

/*
 * Garbage of four type objects, two of them named Node (classes of two
 * modules), one with control characters in its name, ties broken by name.
 */
static void check_version(uint32_t minor)
{
	struct fake *f = fake_new(minor);
	struct lt_py_gc_state s;
	size_t node = add_type(f, "Node", LT_PY_TPFLAGS_HEAPTYPE | LT_PY_TPFLAGS_HAVE_GC);
	size_t dict = add_type(f, "dict", LT_PY_TPFLAGS_DICT_SUBCLASS | LT_PY_TPFLAGS_HAVE_GC);
	size_t node2 = add_type(f, "Node", LT_PY_TPFLAGS_HEAPTYPE | LT_PY_TPFLAGS_HAVE_GC);
	size_t odd = add_type(f, "a\x01" "b\x7f", LT_PY_TPFLAGS_HEAPTYPE);

	add_garbage(f, node, 3);
	add_garbage(f, dict, 2);
	add_garbage(f, odd, 2);
	add_garbage(f, node2, 1);
	add_garbage(f, 0, 1);

	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(read_fake(f, &s), 0);
	check_scalars(&s);
	assert_int_equal(s.garbage, 9);
	assert_int_equal(s.garbage_types_read, 9);
	assert_int_equal(s.ngarbage_types, 4);
	check_type(&s, 0, "Node", 4);
	check_type(&s, 1, "a?b?", 2);
	check_type(&s, 2, "dict", 2);
	check_type(&s, 3, "list", 1);
	for (uint32_t i = s.ngarbage_types; i < LT_PY_GC_TYPES_MAX; i++) {
		assert_string_equal(s.garbage_types[i].name, "");
		assert_int_equal(s.garbage_types[i].count, 0);
	}

	/* Turned back on, nothing else changed. */
	put_i32(gc_state(f), f->hl->gc_enabled, 1);
	assert_int_equal(read_fake(f, &s), 0);
	assert_true(s.enabled);
	fake_free(f);
}

/* The collector in _PyRuntime. */
static void test_38(void **state)
{
	(void)state;
	check_version(8);
}

static void test_312(void **state)
{
	(void)state;
	check_version(12);
}

/* _Py_DebugOffsets in front of everything, the state 7400 bytes in. */
static void test_313(void **state)
{
	(void)state;
	check_version(13);
}

/* The rings behind a pointer. */
static void test_315(void **state)
{
	(void)state;
	check_version(15);
}

static void test_every_version(void **state)
{
	(void)state;
	for (uint32_t m = LT_PY_MINOR_MIN; m <= LT_PY_MINOR_MAX; m++)
		check_version(m);
}

/* The table's 3.15 row is what the header says (the fake above uses it too). */
static void test_315_row(void **state)
{
	const struct lt_py_heap_layout *hl = lt_py_heap_layout(15);

	(void)state;
	assert_int_equal(hl->gc_stats_ptr, V315_STATS_PTR);
	assert_int_equal(hl->gc_stats_bytes, V315_RECORD);
	for (int g = 0; g < 3; g++) {
		assert_int_equal(hl->gc_ring[g], v315_ring[g]);
		assert_int_equal(hl->gc_ring_len[g], v315_len[g]);
		assert_int_equal(hl->gc_ring_index[g], v315_index_at[g]);
	}
	for (uint32_t m = LT_PY_MINOR_MIN; m < 15; m++)
		assert_int_equal(lt_py_heap_layout(m)->gc_stats_ptr, -1);
}

/* Each ring's own index picks its record: move them and the totals follow. */
static void test_315_ring_index_moves(void **state)
{
	struct fake *f = fake_new(15);
	struct lt_py_gc_state s;

	(void)state;
	f->stats[v315_index_at[0]] = 10;
	f->stats[v315_index_at[2]] = 1;
	assert_int_equal(read_fake(f, &s), 0);
	assert_int_equal(s.gens[0].collections, 9010);
	assert_int_equal(s.gens[0].collected, 9110);
	assert_int_equal(s.gens[0].uncollectable, 9210);
	assert_int_equal(s.gens[1].collections, 101);
	assert_int_equal(s.gens[2].collections, 9001);
	assert_int_equal(s.gens[2].uncollectable, 9201);

	/* Past the ring: not a state. */
	f->stats[v315_index_at[1]] = 3;
	assert_int_equal(read_fake(f, &s), -EINVAL);
	f->stats[v315_index_at[1]] = (uint8_t)-1;
	assert_int_equal(read_fake(f, &s), -EINVAL);
	f->stats[v315_index_at[1]] = 2;
	assert_int_equal(read_fake(f, &s), 0);

	/* No stats yet. */
	put_u64(gc_state(f), V315_STATS_PTR, 0);
	assert_int_equal(read_fake(f, &s), -EINVAL);
	put_u64(gc_state(f), V315_STATS_PTR, NOWHERE_ADDR);
	assert_int_equal(read_fake(f, &s), -EFAULT);
	fake_free(f);
}

/* More than eight types: the eight most common, count then name. */
static void test_top_eight(void **state)
{
	static const char *names[] = { "k", "j", "i", "h", "g", "f", "e", "d", "c", "b" };
	struct fake *f = fake_new(12);
	struct lt_py_gc_state s;

	(void)state;
	for (size_t i = 0; i < N(names); i++)
		add_garbage(f, add_type(f, names[i], 0), i < 5 ? 5 - i : 1);
	assert_int_equal(read_fake(f, &s), 0);
	assert_int_equal(s.garbage, 5 + 4 + 3 + 2 + 1 + 5);
	assert_int_equal(s.garbage_types_read, s.garbage);
	assert_int_equal(s.ngarbage_types, LT_PY_GC_TYPES_MAX);
	check_type(&s, 0, "k", 5);
	check_type(&s, 1, "j", 4);
	check_type(&s, 2, "i", 3);
	check_type(&s, 3, "h", 2);
	/* Six at one: b, c, d, e, f, g; the first four by name. */
	check_type(&s, 4, "b", 1);
	check_type(&s, 5, "c", 1);
	check_type(&s, 6, "d", 1);
	check_type(&s, 7, "e", 1);
	fake_free(f);
}

/* A name longer than the field is cut, not inside a character. */
static void test_long_name(void **state)
{
	struct fake *f = fake_new(14);
	struct lt_py_gc_state s;
	char name[NAME_BYTES];

	(void)state;
	memset(name, 'x', 94);
	strcpy(name + 94, "\xc3\xa9tail"); /* U+00E9 across the cut at 95 */
	add_garbage(f, add_type(f, name, 0), 1);
	assert_int_equal(read_fake(f, &s), 0);
	assert_int_equal(s.ngarbage_types, 1);
	assert_int_equal(strlen(s.garbage_types[0].name), 94);
	assert_int_equal(strspn(s.garbage_types[0].name, "x"), 94);

	/* Whole characters stay. */
	strcpy(f->names[1] + 93, "\xc3\xa9tail");
	assert_int_equal(read_fake(f, &s), 0);
	assert_int_equal(strlen(s.garbage_types[0].name), 95);
	assert_memory_equal(s.garbage_types[0].name + 93, "\xc3\xa9", 2);
	fake_free(f);
}

/* Only the first LT_PY_GC_GARBAGE_READ_MAX items are read for types. */
static void test_garbage_bound(void **state)
{
	struct fake *f = fake_new(11);
	size_t n = LT_PY_GC_GARBAGE_READ_MAX;
	uint64_t *items = malloc(n * sizeof(*items));
	struct lt_py_gc_state s;
	uint64_t obj[2] = { 1, type_addr(1) };

	(void)state;
	assert_non_null(items);
	add_type(f, "Leaf", 0);
	for (size_t i = 0; i < n; i++)
		items[i] = OBJS_ADDR;
	f->list[LT_PY_VAR_SIZE / 8] = n + 5;
	f->list[LT_PY_LIST_ITEMS / 8] = 0x10000000;
	serve(f);
	/* The items array holds exactly n: a read past it fails. */
	f->images[4] = (struct lt_py_image){ 0x10000000, items, n * sizeof(*items) };
	f->images[5] = (struct lt_py_image){ OBJS_ADDR, obj, sizeof(obj) };
	lt_py_read_images(f->images, f->nimages);
	assert_int_equal(lt_py_gc_state_read(1, 11, RUNTIME_ADDR, &s), 0);
	assert_int_equal(s.garbage, n + 5);
	assert_int_equal(s.garbage_types_read, n);
	assert_int_equal(s.ngarbage_types, 1);
	check_type(&s, 0, "Leaf", n);
	fake_free(f);
	free(items);
}

/* No gc.garbage (not set up yet, or torn down) is an empty one. */
static void test_no_garbage_list(void **state)
{
	struct fake *f = fake_new(10);
	struct lt_py_gc_state s;

	(void)state;
	add_garbage(f, 0, 2);
	put_u64(gc_state(f), f->hl->gc_garbage, 0);
	assert_int_equal(read_fake(f, &s), 0);
	check_scalars(&s);
	assert_int_equal(s.garbage, 0);
	assert_int_equal(s.ngarbage_types, 0);
	assert_int_equal(s.garbage_types_read, 0);
	fake_free(f);
}

/* Each failure leaves nothing half-read in out. */
static void expect_error(struct fake *f, int want)
{
	struct lt_py_gc_state s, zero;

	memset(&s, 0xa5, sizeof(s));
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(read_fake(f, &s), want);
	assert_memory_equal(&s, &zero, sizeof(s));
}

static void test_bad_scalars(void **state)
{
	uint32_t minors[] = { 8, 12, 15 };

	(void)state;
	for (size_t i = 0; i < N(minors); i++) {
		struct fake *f = fake_new(minors[i]);
		const struct lt_py_heap_layout *hl = f->hl;
		uint8_t *st = gc_state(f);

		put_i32(st, hl->gc_enabled, 7);
		expect_error(f, -EINVAL);
		put_i32(st, hl->gc_enabled, -1);
		expect_error(f, -EINVAL);
		put_i32(st, hl->gc_enabled, 1);

		put_i32(st, hl->gc_lists[2] + hl->gc_gen_threshold, -5);
		expect_error(f, -EINVAL);
		put_i32(st, hl->gc_lists[2] + hl->gc_gen_threshold, INT32_MIN);
		expect_error(f, -EINVAL);
		put_i32(st, hl->gc_lists[2] + hl->gc_gen_threshold, 9);
		put_i32(st, hl->gc_lists[1] + hl->gc_gen_count, -1);
		expect_error(f, -EINVAL);
		put_i32(st, hl->gc_lists[1] + hl->gc_gen_count, 2);
		fake_free(f);
	}
}

static void test_bad_stats(void **state)
{
	struct fake *f = fake_new(9);
	const struct lt_py_heap_layout *hl = f->hl;

	(void)state;
	put_u64(gc_state(f), hl->gc_stats + (int32_t)hl->gc_stats_bytes + hl->gc_stat_collected,
		(uint64_t)-3);
	expect_error(f, -EINVAL);
	fake_free(f);
}

static void test_bad_garbage(void **state)
{
	uint32_t minors[] = { 8, 12, 15 };

	(void)state;
	for (size_t i = 0; i < N(minors); i++) {
		struct fake *f = fake_new(minors[i]);
		uint8_t *st = gc_state(f);
		struct lt_py_gc_state s;
		size_t dict = add_type(f, "dict", LT_PY_TPFLAGS_DICT_SUBCLASS);

		add_garbage(f, dict, 2);

		/* The list itself out of reach. */
		put_u64(st, f->hl->gc_garbage, NOWHERE_ADDR);
		expect_error(f, -EFAULT);
		put_u64(st, f->hl->gc_garbage, LIST_ADDR);

		/* Not a list. */
		f->list[LT_PY_OB_TYPE / 8] = type_addr(dict);
		expect_error(f, -EINVAL);
		f->list[LT_PY_OB_TYPE / 8] = 0;
		expect_error(f, -EINVAL);
		f->list[LT_PY_OB_TYPE / 8] = NOWHERE_ADDR;
		expect_error(f, -EFAULT);
		f->list[LT_PY_OB_TYPE / 8] = type_addr(0);

		/* A size no list has, or items that are not there. */
		f->list[LT_PY_VAR_SIZE / 8] = (uint64_t)-1;
		expect_error(f, -EINVAL);
		f->list[LT_PY_VAR_SIZE / 8] = 2;
		f->list[LT_PY_LIST_ITEMS / 8] = 0;
		expect_error(f, -EINVAL);
		f->list[LT_PY_LIST_ITEMS / 8] = NOWHERE_ADDR;
		expect_error(f, -EFAULT);
		f->list[LT_PY_LIST_ITEMS / 8] = ITEMS_ADDR;

		/* An item that is NULL, out of reach, typeless, or its type's name. */
		f->items[1] = 0;
		expect_error(f, -EINVAL);
		f->items[1] = NOWHERE_ADDR;
		expect_error(f, -EFAULT);
		f->items[1] = OBJS_ADDR + sizeof(f->objs[0]);
		f->objs[1][1] = 0;
		expect_error(f, -EINVAL);
		f->objs[1][1] = type_addr(dict);
		put_u64(f->types[dict], LT_PY_TP_NAME, NOWHERE_ADDR);
		expect_error(f, -EFAULT);
		put_u64(f->types[dict], LT_PY_TP_NAME, 0);
		expect_error(f, -EINVAL);
		put_u64(f->types[dict], LT_PY_TP_NAME, NAMES_ADDR + dict * NAME_BYTES);

		/* All put back. */
		assert_int_equal(read_fake(f, &s), 0);
		check_type(&s, 0, "dict", 2);
		fake_free(f);
	}
}

static void test_bad_process(void **state)
{
	struct lt_py_gc_state s;
	struct fake *f;

	(void)state;
	/* The runtime out of reach. */
	f = fake_new(12);
	serve(f);
	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(lt_py_gc_state_read(1, 12, NOWHERE_ADDR, &s), -EFAULT);
	assert_false(s.enabled);
	assert_int_equal(s.garbage, 0);
	/* 3.8 reads the state from the runtime itself. */
	fake_free(f);
	f = fake_new(8);
	serve(f);
	assert_int_equal(lt_py_gc_state_read(1, 8, NOWHERE_ADDR, &s), -EFAULT);
	assert_int_equal(lt_py_gc_state_read(1, 8, RUNTIME_ADDR, &s), 0);

	/* No interpreter, or one out of reach. */
	fake_free(f);
	f = fake_new(13);
	put_u64(f->runtime, f->hl->rt_interp_head, 0);
	expect_error(f, -EINVAL);
	put_u64(f->runtime, f->hl->rt_interp_head, NOWHERE_ADDR);
	expect_error(f, -EFAULT);
	fake_free(f);

	/* Versions without a layout. */
	assert_int_equal(lt_py_gc_state_read(1, 7, RUNTIME_ADDR, &s), -ENOTSUP);
	assert_int_equal(lt_py_gc_state_read(1, 16, RUNTIME_ADDR, &s), -ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_38),
		cmocka_unit_test(test_312),
		cmocka_unit_test(test_313),
		cmocka_unit_test(test_315),
		cmocka_unit_test(test_every_version),
		cmocka_unit_test(test_315_row),
		cmocka_unit_test(test_315_ring_index_moves),
		cmocka_unit_test(test_top_eight),
		cmocka_unit_test(test_long_name),
		cmocka_unit_test(test_garbage_bound),
		cmocka_unit_test(test_no_garbage_list),
		cmocka_unit_test(test_bad_scalars),
		cmocka_unit_test(test_bad_stats),
		cmocka_unit_test(test_bad_garbage),
		cmocka_unit_test(test_bad_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
