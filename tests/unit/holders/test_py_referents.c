// SPDX-License-Identifier: MIT
/*
 * The references of Python objects decoded without a process: a fake
 * process's memory (one buffer served by lt_py_read_images at 0x10000000)
 * holds type objects laid out as CPython's (tp_name, tp_flags,
 * tp_basicsize, tp_base, tp_members, tp_dictoffset, ht_cached_keys at the
 * version's offsets; builtin types told by name, as the real ones are) and
 * objects of them, for 3.8, 3.11, 3.12, 3.13 and 3.14. Each test checks the
 * exact sequence of (to, how, key) lt_py_referents gives. Garbage (absurd
 * sizes, unreadable pointers, counts past their tables) gives an error
 * and never a read outside the fake memory (run under ASan).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "holders/heap_reader.h"
#include "holders/py_heap_types.h"
#include "holders/py_referents.h"
#include "python/python_heap_layout.h"
#include "python/python_layout.h"
#include "python/python_memory.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define BASE 0x10000000ull
#define MEM_BYTES (2u << 20)
#define NOWHERE 0x900000000ull /* never mapped */
#define TYPE_BYTES 1024
#define MAX_REFS 1024

struct fake {
	uint32_t minor;
	const struct lt_py_heap_layout *hl;
	uint8_t *mem;
	size_t used;
	struct lt_py_image img;
	struct lt_py_heap h;
	/* The builtin (static) types. */
	uint64_t t_type, t_object, t_list, t_tuple, t_dict, t_str, t_int, t_set, t_deque, t_cell,
		t_function, t_method, t_module, t_opaque;
};

struct rec {
	struct fake *f;
	struct lt_py_ref refs[MAX_REFS];
	size_t n;
	size_t stop_at; /* stop after this many (0: never) */
	int stop_with;
};

static uint8_t *at(struct fake *f, uint64_t addr, size_t len)
{
	assert_true(addr >= BASE && addr + len <= BASE + MEM_BYTES);
	return f->mem + (addr - BASE);
}

static void put(struct fake *f, uint64_t addr, uint64_t v)
{
	memcpy(at(f, addr, 8), &v, 8);
}

static void put8(struct fake *f, uint64_t addr, uint8_t v)
{
	*at(f, addr, 1) = v;
}

static void put32(struct fake *f, uint64_t addr, int32_t v)
{
	memcpy(at(f, addr, 4), &v, 4);
}

/* n zeroed bytes, 16-aligned. */
static uint64_t alloc(struct fake *f, size_t n)
{
	uint64_t a = BASE + f->used;

	f->used += (n + 15) & ~(size_t)15;
	assert_true(f->used <= MEM_BYTES);
	return a;
}

static uint64_t cstr(struct fake *f, const char *s)
{
	uint64_t a = alloc(f, strlen(s) + 1);

	memcpy(at(f, a, strlen(s) + 1), s, strlen(s) + 1);
	return a;
}

/* An object of type (size bytes), with room for the pre-header (managed
 * dict and values) before it. */
static uint64_t obj(struct fake *f, uint64_t type, size_t size)
{
	uint64_t o = alloc(f, 32 + size) + 32;

	put(f, o + LT_PY_OB_REFCNT, 1);
	put(f, o + LT_PY_OB_TYPE, type);
	return o;
}

static uint64_t type(struct fake *f, const char *name, uint64_t flags, int64_t basicsize,
		     uint64_t base)
{
	uint64_t t = obj(f, f->t_type, TYPE_BYTES);

	if (!f->t_type)
		put(f, t + LT_PY_OB_TYPE, t);
	put(f, t + LT_PY_TP_NAME, cstr(f, name));
	put(f, t + LT_PY_TP_BASICSIZE, (uint64_t)basicsize);
	put(f, t + LT_PY_TP_FLAGS, flags);
	put(f, t + (uint64_t)f->hl->tp_base, base);
	return t;
}

static void set_itemsize(struct fake *f, uint64_t t, int64_t itemsize)
{
	put(f, t + LT_PY_TP_ITEMSIZE, (uint64_t)itemsize);
}

/* A fake process of 3.minor with its builtin types. */
static struct fake *fake_new(uint32_t minor)
{
	struct fake *f = calloc(1, sizeof(*f));
	uint64_t gc = LT_PY_TPFLAGS_HAVE_GC;

	assert_non_null(f);
	f->minor = minor;
	f->hl = lt_py_heap_layout(minor);
	assert_non_null(f->hl);
	f->mem = calloc(1, MEM_BYTES);
	assert_non_null(f->mem);
	f->used = 4096; /* nothing at BASE itself */
	f->t_type = type(f, "type", LT_PY_TPFLAGS_TYPE_SUBCLASS | gc, 880, 0);
	f->t_object = type(f, "object", 0, 16, 0);
	put(f, f->t_type + (uint64_t)f->hl->tp_base, f->t_object);
	f->t_list = type(f, "list", LT_PY_TPFLAGS_LIST_SUBCLASS | gc, 40, f->t_object);
	f->t_tuple = type(f, "tuple", LT_PY_TPFLAGS_TUPLE_SUBCLASS | gc, f->hl->tuple_items,
			  f->t_object);
	set_itemsize(f, f->t_tuple, 8);
	f->t_dict = type(f, "dict", LT_PY_TPFLAGS_DICT_SUBCLASS | gc, 48, f->t_object);
	f->t_str = type(f, "str", LT_PY_TPFLAGS_UNICODE_SUBCLASS, 64, f->t_object);
	f->t_int = type(f, "int", LT_PY_TPFLAGS_LONG_SUBCLASS, 24, f->t_object);
	f->t_set = type(f, "set", gc, 200, f->t_object);
	f->t_deque = type(f, "collections.deque", gc, 632, f->t_object);
	f->t_cell = type(f, "cell", gc, 24, f->t_object);
	f->t_function = type(f, "function", gc, 160, f->t_object);
	f->t_method = type(f, "method", gc, 48, f->t_object);
	f->t_module = type(f, "module", gc, 48, f->t_object);
	f->t_opaque = type(f, "_thread.lock", gc, 48, f->t_object);
	f->h.pid = 1;
	f->h.minor = minor;
	f->h.hl = f->hl;
	f->img = (struct lt_py_image){ BASE, f->mem, MEM_BYTES };
	lt_py_read_images(&f->img, 1);
	assert_int_equal(lt_heap_reader_init(&f->h.reader, 1, 64u << 20), 0);
	return f;
}

static void fake_free(struct fake *f)
{
	lt_py_read_images(NULL, 0);
	lt_heap_reader_free(&f->h.reader);
	lt_py_type_cache_free(&f->h.types);
	free(f->mem);
	free(f);
}

/* The memory as it is now: nothing cached from before. */
static void fresh(struct fake *f)
{
	lt_heap_reader_forget(&f->h.reader);
	lt_py_type_cache_free(&f->h.types);
}

static const struct lt_py_heap_type *type_of(struct fake *f, uint64_t o)
{
	const struct lt_py_heap_type *t;
	uint64_t ty;

	fresh(f);
	ty = lt_py_type_of(&f->h, o);
	assert_int_not_equal(ty, 0);
	t = lt_py_type_get(&f->h.types, &f->h.reader, f->hl, ty);
	assert_non_null(t);
	return t;
}

/* The word of the fake memory at addr (which must be in it). */
static uint64_t word_at(struct fake *f, uint64_t addr)
{
	uint64_t v;

	memcpy(&v, at(f, addr, 8), 8);
	return v;
}

/*
 * Every reference says where it was read: the word at ref->at is ref->to,
 * and the holder's word at base_at (when not 0) is base, the array's
 * address (or 0 for inline values no dict has replaced).
 */
static int record(void *arg, const struct lt_py_ref *ref)
{
	struct rec *r = arg;

	assert_true(r->n < MAX_REFS);
	assert_int_not_equal(ref->to, 0);
	if (word_at(r->f, ref->at) != ref->to)
		fail_msg("ref %zu to 0x%llx: the word at 0x%llx is 0x%llx", r->n,
			 (unsigned long long)ref->to, (unsigned long long)ref->at,
			 (unsigned long long)word_at(r->f, ref->at));
	if (ref->base_at && word_at(r->f, ref->base_at) != ref->base)
		fail_msg("ref %zu to 0x%llx: base 0x%llx, the word at 0x%llx is 0x%llx", r->n,
			 (unsigned long long)ref->to, (unsigned long long)ref->base,
			 (unsigned long long)ref->base_at,
			 (unsigned long long)word_at(r->f, ref->base_at));
	if (!ref->base_at)
		assert_int_equal(ref->base, 0);
	r->refs[r->n++] = *ref;
	return r->stop_at && r->n == r->stop_at ? r->stop_with : 0;
}

/* The references of o, decoded afresh; returns lt_py_referents's result. */
static int decode(struct fake *f, uint64_t o, bool opaque, struct rec *r)
{
	const struct lt_py_heap_type *t = type_of(f, o);

	r->n = 0;
	r->f = f;
	return lt_py_referents(&f->h, o, t, opaque, record, r);
}

static void assert_refs(const struct rec *r, const struct lt_py_ref *want, size_t n)
{
	for (size_t i = 0; i < r->n || i < n; i++) {
		if (i < r->n && i < n && r->refs[i].to == want[i].to && r->refs[i].how == want[i].how &&
		    r->refs[i].key == want[i].key)
			continue;
		for (size_t j = 0; j < r->n; j++)
			print_error("got  %zu: to 0x%llx how %d key 0x%llx\n", j,
				    (unsigned long long)r->refs[j].to, r->refs[j].how,
				    (unsigned long long)r->refs[j].key);
		for (size_t j = 0; j < n; j++)
			print_error("want %zu: to 0x%llx how %d key 0x%llx\n", j,
				    (unsigned long long)want[j].to, want[j].how,
				    (unsigned long long)want[j].key);
		fail_msg("references differ at %zu", i);
	}
}

#define REF(to, how, key) { (to), LT_PY_HOW_##how, (uint64_t)(key), 0, 0, 0 }
#define ASSERT_REFS(r, ...)                                                             \
	do {                                                                             \
		const struct lt_py_ref want_[] = { __VA_ARGS__ };                        \
		assert_refs(r, want_, N(want_));                                         \
	} while (0)
#define ASSERT_NO_REFS(r) assert_int_equal((r)->n, 0)

/* Distinct objects to be referred to: plain objects. */
static uint64_t thing(struct fake *f)
{
	return obj(f, f->t_object, 16);
}

static uint64_t str(struct fake *f)
{
	return obj(f, f->t_str, 64);
}

/* ---- builders ---- */

static uint64_t list(struct fake *f, int64_t n, const uint64_t *items)
{
	uint64_t l = obj(f, f->t_list, 40), it = alloc(f, (size_t)(n ? n : 1) * 8);

	put(f, l + LT_PY_VAR_SIZE, (uint64_t)n);
	put(f, l + LT_PY_LIST_ITEMS, it);
	put(f, l + 32, (uint64_t)n); /* allocated */
	for (int64_t i = 0; i < n; i++)
		put(f, it + (uint64_t)i * 8, items[i]);
	return l;
}

static uint64_t tuple(struct fake *f, int64_t n, const uint64_t *items)
{
	uint64_t t = obj(f, f->t_tuple, (size_t)f->hl->tuple_items + (size_t)n * 8);

	put(f, t + LT_PY_VAR_SIZE, (uint64_t)n);
	if (f->hl->tuple_items > 24)
		put(f, t + 24, 0xdeadbeef0); /* 3.14's cached hash: not an item */
	for (int64_t i = 0; i < n; i++)
		put(f, t + (uint64_t)f->hl->tuple_items + (uint64_t)i * 8, items[i]);
	return t;
}

enum { KEYS_GENERAL = 0, KEYS_UNICODE = 1, KEYS_SPLIT = 2 };

/*
 * Dict keys of 2^log2 slots and n entries {hash, key, value} (values
 * ignored for split keys), laid out as this version does: the index table
 * (filled with 0xee, which is no pointer) then the entries.
 */
static uint64_t keys(struct fake *f, int kind, unsigned log2, size_t n, const uint64_t (*e)[2])
{
	uint64_t size = 1ull << log2, ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
	uint64_t index_bytes = ix * size, k, entries;
	bool unicode = f->minor >= 11 && kind != KEYS_GENERAL;
	unsigned eb = unicode ? 16 : 24;

	k = alloc(f, 64 + index_bytes + size * eb);
	put(f, k, 1);
	if (f->minor < 11) {
		put(f, k + 8, size);
		put(f, k + 24, size - n);
		put(f, k + 32, n);
		entries = k + 40 + index_bytes;
		memset(at(f, k + 40, index_bytes), 0xee, index_bytes);
	} else {
		unsigned lix = 0;

		while ((1ull << lix) < index_bytes)
			lix++;
		put8(f, k + 8, (uint8_t)log2);
		put8(f, k + 9, (uint8_t)lix);
		put8(f, k + 10, (uint8_t)kind);
		put(f, k + 16, size - n);
		put(f, k + 24, n);
		entries = k + 32 + index_bytes;
		memset(at(f, k + 32, index_bytes), 0xee, index_bytes);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t en = entries + i * eb;

		if (unicode) {
			put(f, en, e[i][0]);
			put(f, en + 8, kind == KEYS_SPLIT ? 0 : e[i][1]);
		} else {
			put(f, en, 0x1234 + i); /* hash */
			put(f, en + 8, e[i][0]);
			put(f, en + 16, kind == KEYS_SPLIT ? 0 : e[i][1]);
		}
	}
	return k;
}

/* Split values of n entries: the address a dict's ma_values holds. */
static uint64_t values(struct fake *f, size_t n, const uint64_t (*e)[2])
{
	uint64_t v = alloc(f, 16 + n * 8 + 16) + 16;

	if (f->hl->values_array) {
		put8(f, v, (uint8_t)(n + 2)); /* capacity */
		put8(f, v + 1, (uint8_t)n);   /* size */
		put8(f, v + 3, 1);            /* valid */
	}
	for (size_t i = 0; i < n; i++)
		put(f, v + (uint64_t)f->hl->values_array + i * 8, e[i][1]);
	return v;
}

static uint64_t dict(struct fake *f, uint64_t k, uint64_t vals, uint64_t used)
{
	uint64_t d = obj(f, f->t_dict, 48);

	put(f, d + (uint64_t)f->hl->dict_used, used);
	put(f, d + (uint64_t)f->hl->dict_keys, k);
	put(f, d + (uint64_t)f->hl->dict_values, vals);
	return d;
}

/* ---- tests ---- */

static const uint32_t all_minors[] = { 8, 11, 12, 13, 14 };

static void test_list(void **state)
{
	(void)state;
	for (size_t m = 0; m < N(all_minors); m++) {
		struct fake *f = fake_new(all_minors[m]);
		struct rec r = { 0 };
		uint64_t a = thing(f), b = thing(f), items[] = { a, 0, b, a };
		uint64_t l = list(f, 4, items), e = list(f, 0, items);

		assert_int_equal(type_of(f, l)->kind, LT_PY_KIND_LIST);
		assert_int_equal(decode(f, l, false, &r), 0);
		ASSERT_REFS(&r, REF(a, INDEX, 0), REF(b, INDEX, 2), REF(a, INDEX, 3));
		assert_int_equal(decode(f, e, true, &r), 0);
		ASSERT_NO_REFS(&r);
		/* Stopped by the callback, which the decoding then returns. */
		r.stop_at = 2;
		r.stop_with = 7;
		assert_int_equal(decode(f, l, false, &r), 7);
		ASSERT_REFS(&r, REF(a, INDEX, 0), REF(b, INDEX, 2));
		fake_free(f);
	}
}

/* 700 items: read in batches of 512, the index carried over. */
static void test_long_list(void **state)
{
	struct fake *f = fake_new(11);
	struct rec r = { 0 };
	uint64_t items[700], a = thing(f), l;

	(void)state;
	for (size_t i = 0; i < N(items); i++)
		items[i] = a + 16 * (i % 3 == 0);
	l = list(f, N(items), items);
	assert_int_equal(decode(f, l, false, &r), 0);
	assert_int_equal(r.n, N(items));
	for (size_t i = 0; i < N(items); i++) {
		assert_int_equal(r.refs[i].to, items[i]);
		assert_int_equal(r.refs[i].key, i);
	}
	fake_free(f);
}

/* Tuples: items at 24, at 32 from 3.14 (after the cached hash). */
static void test_tuple(void **state)
{
	(void)state;
	for (size_t m = 0; m < N(all_minors); m++) {
		struct fake *f = fake_new(all_minors[m]);
		struct rec r = { 0 };
		uint64_t a = thing(f), b = thing(f), items[] = { a, b, 0 };
		uint64_t t = tuple(f, 3, items);

		assert_int_equal(f->hl->tuple_items, all_minors[m] >= 14 ? 32 : 24);
		assert_int_equal(type_of(f, t)->kind, LT_PY_KIND_TUPLE);
		assert_int_equal(decode(f, t, false, &r), 0);
		ASSERT_REFS(&r, REF(a, INDEX, 0), REF(b, INDEX, 1));
		fake_free(f);
	}
}

/* A dict of general keys, an entry deleted (NULL key and value): key, then value. */
static void test_dict_general(void **state)
{
	(void)state;
	for (size_t m = 0; m < N(all_minors); m++) {
		struct fake *f = fake_new(all_minors[m]);
		struct rec r = { 0 };
		uint64_t k0 = obj(f, f->t_int, 32), k2 = str(f), v0 = thing(f), v2 = thing(f);
		uint64_t k3 = str(f);
		const uint64_t e[][2] = { { k0, v0 }, { 0, 0 }, { k2, v2 }, { k3, 0 } };
		uint64_t d = dict(f, keys(f, KEYS_GENERAL, 3, 4, e), 0, 2);

		assert_int_equal(type_of(f, d)->kind, LT_PY_KIND_DICT);
		assert_int_equal(decode(f, d, false, &r), 0);
		/* k3 has no value (being deleted): neither is given. */
		ASSERT_REFS(&r, REF(k0, DICT_KEY, k0), REF(v0, DICT_VALUE, k0),
			    REF(k2, DICT_KEY, k2), REF(v2, DICT_VALUE, k2));
		/* The callback stops it at a key. */
		r.stop_at = 3;
		r.stop_with = -42;
		assert_int_equal(decode(f, d, false, &r), -42);
		assert_int_equal(r.n, 3);
		fake_free(f);
	}
}

/* 256 slots: the index table is of 2-byte entries (512 bytes) before
 * the entries; 300 entries are read in two batches. */
static void test_dict_large(void **state)
{
	static const uint32_t minors[] = { 8, 13 };

	(void)state;
	for (size_t m = 0; m < N(minors); m++) {
		struct fake *f = fake_new(minors[m]);
		struct rec r = { 0 };
		static uint64_t e[300][2];
		uint64_t d, s = str(f);

		for (size_t i = 0; i < N(e); i++) {
			e[i][0] = s + 16 * i;
			e[i][1] = s + 16 * i + 8 * 1024;
		}
		d = dict(f, keys(f, KEYS_GENERAL, 9, N(e), e), 0, N(e));
		assert_int_equal(decode(f, d, false, &r), 0);
		assert_int_equal(r.n, 2 * N(e));
		for (size_t i = 0; i < N(e); i++) {
			assert_int_equal(r.refs[2 * i].to, e[i][0]);
			assert_int_equal(r.refs[2 * i].how, LT_PY_HOW_DICT_KEY);
			assert_int_equal(r.refs[2 * i + 1].to, e[i][1]);
			assert_int_equal(r.refs[2 * i + 1].how, LT_PY_HOW_DICT_VALUE);
			assert_int_equal(r.refs[2 * i + 1].key, e[i][0]);
		}
		fake_free(f);
	}
}

/* 3.11+: a dict of str keys has {key, value} entries of 16 bytes. */
static void test_dict_unicode(void **state)
{
	static const uint32_t minors[] = { 11, 12, 13, 14 };

	(void)state;
	for (size_t m = 0; m < N(minors); m++) {
		struct fake *f = fake_new(minors[m]);
		struct rec r = { 0 };
		uint64_t k0 = str(f), k1 = str(f), k2 = str(f), v0 = thing(f), v2 = thing(f);
		const uint64_t e[][2] = { { k0, v0 }, { k1, 0 }, { k2, v2 } };
		uint64_t d = dict(f, keys(f, KEYS_UNICODE, 3, 3, e), 0, 2);

		assert_int_equal(decode(f, d, false, &r), 0);
		ASSERT_REFS(&r, REF(k0, DICT_KEY, k0), REF(v0, DICT_VALUE, k0),
			    REF(k2, DICT_KEY, k2), REF(v2, DICT_VALUE, k2));
		fake_free(f);
	}
}

/* A split dict: the keys shared, the values in ma_values (past 3.13's
 * header of capacity, size, embedded and valid bytes). */
static void test_dict_split(void **state)
{
	(void)state;
	for (size_t m = 0; m < N(all_minors); m++) {
		struct fake *f = fake_new(all_minors[m]);
		struct rec r = { 0 };
		uint64_t k0 = str(f), k1 = str(f), k2 = str(f), v0 = thing(f), v1 = thing(f);
		const uint64_t e[][2] = { { k0, v0 }, { k1, v1 }, { k2, 0 } };
		uint64_t d = dict(f, keys(f, KEYS_SPLIT, 3, 3, e), values(f, 3, e), 2);

		assert_int_equal(decode(f, d, false, &r), 0);
		ASSERT_REFS(&r, REF(k0, DICT_KEY, k0), REF(v0, DICT_VALUE, k0),
			    REF(k1, DICT_KEY, k1), REF(v1, DICT_VALUE, k1));
		fake_free(f);
	}
}

/* A set's table: empty slots, a dummy (hash -1) and live keys. */
static void test_set(void **state)
{
	static const uint32_t minors[] = { 8, 11, 13 };

	(void)state;
	for (size_t m = 0; m < N(minors); m++) {
		struct fake *f = fake_new(minors[m]);
		struct rec r = { 0 };
		uint64_t a = thing(f), b = thing(f), dummy = thing(f);
		uint64_t s = obj(f, f->t_set, 200), table = alloc(f, 8 * 16);

		put(f, s + 16, 3);
		put(f, s + 24, 2);
		put(f, s + (uint64_t)f->hl->set_mask, 7);
		put(f, s + (uint64_t)f->hl->set_table, table);
		put(f, table + 1 * 16, a);
		put(f, table + 1 * 16 + 8, 0x55);
		put(f, table + 4 * 16, dummy);
		put(f, table + 4 * 16 + 8, UINT64_MAX); /* -1 */
		put(f, table + 7 * 16, b);
		put(f, table + 7 * 16 + 8, (uint64_t)-2);
		assert_int_equal(type_of(f, s)->kind, LT_PY_KIND_SET);
		assert_int_equal(decode(f, s, false, &r), 0);
		ASSERT_REFS(&r, REF(a, SET, 0), REF(b, SET, 0));
		fake_free(f);
	}
}

/* A deque of 5 items: the last 3 slots of its left block, the first 2 of
 * its right one. */
static uint64_t deque(struct fake *f, const uint64_t *items, uint64_t *left, uint64_t *right)
{
	const struct lt_py_heap_layout *hl = f->hl;
	uint64_t d = obj(f, f->t_deque, 632);

	*left = alloc(f, 528);
	*right = alloc(f, 528);
	put(f, d + LT_PY_VAR_SIZE, 5);
	put(f, d + (uint64_t)hl->deque_leftblock, *left);
	put(f, d + (uint64_t)hl->deque_rightblock, *right);
	put(f, d + (uint64_t)hl->deque_leftindex, 61);
	put(f, d + (uint64_t)hl->deque_rightindex, 1);
	put(f, *left + (uint64_t)hl->block_rightlink, *right);
	put(f, *right, *left); /* leftlink */
	for (int i = 0; i < 3; i++)
		put(f, *left + (uint64_t)hl->block_data + (uint64_t)(61 + i) * 8, items[i]);
	for (int i = 0; i < 2; i++)
		put(f, *right + (uint64_t)hl->block_data + (uint64_t)i * 8, items[3 + i]);
	/* Stale slots around them, not items. */
	put(f, *left + (uint64_t)hl->block_data + 60 * 8, items[0]);
	put(f, *right + (uint64_t)hl->block_data + 2 * 8, items[0]);
	return d;
}

static void test_deque(void **state)
{
	static const uint32_t minors[] = { 8, 11, 13 };

	(void)state;
	for (size_t m = 0; m < N(minors); m++) {
		struct fake *f = fake_new(minors[m]);
		struct rec r = { 0 };
		uint64_t it[5], left, right, d;

		for (int i = 0; i < 5; i++)
			it[i] = thing(f);
		d = deque(f, it, &left, &right);
		assert_int_equal(type_of(f, d)->kind, LT_PY_KIND_DEQUE);
		assert_int_equal(decode(f, d, false, &r), 0);
		ASSERT_REFS(&r, REF(it[0], INDEX, 0), REF(it[1], INDEX, 1), REF(it[2], INDEX, 2),
			    REF(it[3], INDEX, 3), REF(it[4], INDEX, 4));
		/* One block: leftindex 10 to rightindex 11. */
		put(f, d + LT_PY_VAR_SIZE, 2);
		put(f, d + (uint64_t)f->hl->deque_rightblock, left);
		put(f, d + (uint64_t)f->hl->deque_leftindex, 60);
		put(f, d + (uint64_t)f->hl->deque_rightindex, 61);
		assert_int_equal(decode(f, d, false, &r), 0);
		ASSERT_REFS(&r, REF(it[0], INDEX, 0), REF(it[0], INDEX, 1));
		/* Empty, as CPython leaves it (leftindex past rightindex). */
		put(f, d + LT_PY_VAR_SIZE, 0);
		put(f, d + (uint64_t)f->hl->deque_leftindex, 32);
		put(f, d + (uint64_t)f->hl->deque_rightindex, 31);
		assert_int_equal(decode(f, d, false, &r), 0);
		ASSERT_NO_REFS(&r);
		fake_free(f);
	}
}

static void test_cell_method_module(void **state)
{
	static const uint32_t minors[] = { 8, 11, 13 };

	(void)state;
	for (size_t m = 0; m < N(minors); m++) {
		struct fake *f = fake_new(minors[m]);
		struct rec r = { 0 };
		uint64_t a = thing(f), fn = thing(f), md = thing(f);
		uint64_t c = obj(f, f->t_cell, 24), e = obj(f, f->t_cell, 24);
		uint64_t me = obj(f, f->t_method, 48), mo = obj(f, f->t_module, 48);

		put(f, c + LT_PY_CELL_REF, a);
		put(f, me + LT_PY_METHOD_FUNC, fn);
		put(f, me + LT_PY_METHOD_SELF, a);
		put(f, me + 32, md); /* im_weakreflist: not a reference */
		put(f, mo + LT_PY_MODULE_DICT, md);
		put(f, mo + 24, a); /* md_def: not one either */
		assert_int_equal(type_of(f, c)->kind, LT_PY_KIND_CELL);
		assert_int_equal(decode(f, c, false, &r), 0);
		ASSERT_REFS(&r, REF(a, CELL, 0));
		assert_int_equal(decode(f, e, false, &r), 0);
		ASSERT_NO_REFS(&r);
		assert_int_equal(type_of(f, me)->kind, LT_PY_KIND_METHOD);
		assert_int_equal(decode(f, me, true, &r), 0);
		ASSERT_REFS(&r, REF(a, SELF, 0), REF(fn, FUNC, 0));
		assert_int_equal(type_of(f, mo)->kind, LT_PY_KIND_MODULE);
		assert_int_equal(decode(f, mo, true, &r), 0);
		ASSERT_REFS(&r, REF(md, MODULE_DICT, 0));
		fake_free(f);
	}
}

/* A function: its closure's two cells (past the tuple), then globals,
 * defaults (NULL here), kwdefaults and __dict__; nothing else it holds. */
static void test_function(void **state)
{
	(void)state;
	for (size_t m = 0; m < N(all_minors); m++) {
		struct fake *f = fake_new(all_minors[m]);
		const struct lt_py_heap_layout *hl = f->hl;
		struct rec r = { 0 };
		uint64_t c0 = obj(f, f->t_cell, 24), c1 = obj(f, f->t_cell, 24), cells[] = { c0, c1 };
		uint64_t clo = tuple(f, 2, cells), g = thing(f), kw = thing(f), fd = thing(f);
		uint64_t code = thing(f), name = str(f), fn = obj(f, f->t_function, 160);

		put(f, fn + (uint64_t)hl->func_closure, clo);
		put(f, fn + (uint64_t)hl->func_globals, g);
		put(f, fn + (uint64_t)hl->func_kwdefaults, kw);
		put(f, fn + (uint64_t)hl->func_dict, fd);
		put(f, fn + (uint64_t)hl->func_code, code);
		put(f, fn + (uint64_t)hl->func_name, name);
		put(f, fn + (uint64_t)hl->func_qualname, name);
		assert_int_equal(type_of(f, fn)->kind, LT_PY_KIND_FUNCTION);
		assert_int_equal(decode(f, fn, false, &r), 0);
		ASSERT_REFS(&r, REF(c0, CLOSURE, 0), REF(c1, CLOSURE, 1), REF(g, GLOBALS, 0),
			    REF(kw, KWDEFAULTS, 0), REF(fd, FUNC_DICT, 0));
		/* No closure, defaults set. */
		put(f, fn + (uint64_t)hl->func_closure, 0);
		put(f, fn + (uint64_t)hl->func_defaults, clo);
		assert_int_equal(decode(f, fn, false, &r), 0);
		ASSERT_REFS(&r, REF(g, GLOBALS, 0), REF(clo, DEFAULTS, 0), REF(kw, KWDEFAULTS, 0),
			    REF(fd, FUNC_DICT, 0));
		/* A closure too long to be one, and one that cannot be read. */
		put(f, fn + (uint64_t)hl->func_closure, clo);
		put(f, clo + LT_PY_VAR_SIZE, 1ull << 40);
		assert_int_equal(decode(f, fn, false, &r), -EINVAL);
		ASSERT_NO_REFS(&r);
		put(f, fn + (uint64_t)hl->func_closure, NOWHERE);
		assert_int_equal(decode(f, fn, false, &r), -EFAULT);
		ASSERT_NO_REFS(&r);
		fake_free(f);
	}
}

/* A class (an object of type type): its tp_dict. */
static void test_class(void **state)
{
	static const uint32_t minors[] = { 8, 13 };

	(void)state;
	for (size_t m = 0; m < N(minors); m++) {
		struct fake *f = fake_new(minors[m]);
		struct rec r = { 0 };
		uint64_t td = thing(f);
		uint64_t c = type(f, "C", LT_PY_TPFLAGS_HEAPTYPE | LT_PY_TPFLAGS_HAVE_GC, 32,
				  f->t_object);
		const struct lt_py_heap_type *t;

		put(f, c + (uint64_t)f->hl->tp_dict, td);
		t = type_of(f, c);
		assert_int_equal(t->kind, LT_PY_KIND_TYPE);
		assert_string_equal(t->name, "type");
		assert_false(t->attrs);
		assert_int_equal(decode(f, c, false, &r), 0);
		ASSERT_REFS(&r, REF(td, TYPE_DICT, 0));
		fake_free(f);
	}
}

/*
 * Instances of class C (a heap type, base object) with attributes x and y
 * (y unset in the values, z not in the shared keys), kept wherever the
 * version keeps them. cached_keys: the class's shared keys.
 */
struct inst {
	uint64_t cls, o, kx, ky, kz, vx, vy, vz, keys;
};

static void inst_new(struct fake *f, struct inst *in, uint64_t flags, int64_t basicsize,
		     int64_t dictoffset)
{
	in->kx = str(f);
	in->ky = str(f);
	in->kz = str(f);
	in->vx = thing(f);
	in->vy = thing(f);
	in->vz = thing(f);
	in->cls = type(f, "C", LT_PY_TPFLAGS_HEAPTYPE | LT_PY_TPFLAGS_HAVE_GC | flags, basicsize,
		       f->t_object);
	put(f, in->cls + (uint64_t)f->hl->tp_dictoffset, (uint64_t)dictoffset);
	{
		const uint64_t e[][2] = { { in->kx, 0 }, { in->ky, 0 } };

		in->keys = keys(f, KEYS_SPLIT, 3, 2, e);
	}
	put(f, in->cls + (uint64_t)f->hl->ht_cached_keys, in->keys);
	in->o = obj(f, in->cls, (size_t)basicsize + 64);
}

/* A combined dict of x and z, as a __dict__ made of the instance's. */
static uint64_t inst_dict(struct fake *f, const struct inst *in)
{
	const uint64_t e[][2] = { { in->kx, in->vx }, { in->kz, in->vz } };

	return dict(f, keys(f, KEYS_UNICODE, 3, 2, e), 0, 2);
}

static void assert_inst_dict(const struct rec *r, const struct inst *in)
{
	ASSERT_REFS(r, REF(in->vx, ATTR, in->kx), REF(in->vz, ATTR, in->kz));
}

/* 3.8: the __dict__ at tp_dictoffset, a split dict of the shared keys. */
static void test_instance_38(void **state)
{
	struct fake *f = fake_new(8);
	struct rec r = { 0 };
	struct inst in;
	const struct lt_py_heap_type *t;
	uint64_t d;

	(void)state;
	inst_new(f, &in, 0, 32, 16);
	{
		const uint64_t e[][2] = { { in.kx, in.vx }, { in.ky, in.vy } };

		d = dict(f, in.keys, values(f, 2, e), 2);
	}
	put(f, in.o + 16, d);
	t = type_of(f, in.o);
	assert_int_equal(t->kind, LT_PY_KIND_PLAIN);
	assert_true(t->attrs);
	assert_int_equal(t->cached_keys, in.keys);
	assert_int_equal(t->dictoffset, 16);
	assert_int_equal(decode(f, in.o, false, &r), 0);
	ASSERT_REFS(&r, REF(in.vx, ATTR, in.kx), REF(in.vy, ATTR, in.ky));
	/* A combined one. */
	put(f, in.o + 16, inst_dict(f, &in));
	assert_int_equal(decode(f, in.o, false, &r), 0);
	assert_inst_dict(&r, &in);
	/* None yet. */
	put(f, in.o + 16, 0);
	assert_int_equal(decode(f, in.o, false, &r), 0);
	ASSERT_NO_REFS(&r);
	fake_free(f);
}

/* 3.8: a negative tp_dictoffset counts from the end of a var-sized
 * object: basicsize 32 + 3 items of 4 is 44, aligned to 48; the dict at 40. */
static void test_instance_negative_dictoffset(void **state)
{
	struct fake *f = fake_new(8);
	struct rec r = { 0 };
	struct inst in;

	(void)state;
	inst_new(f, &in, 0, 32, -8);
	set_itemsize(f, in.cls, 4);
	put(f, in.o + LT_PY_VAR_SIZE, 3);
	put(f, in.o + 40, inst_dict(f, &in));
	put(f, in.o + 32, NOWHERE); /* where a size not aligned would look (36) */
	assert_int_equal(decode(f, in.o, false, &r), 0);
	assert_inst_dict(&r, &in);
	/* A negative size (as int's sign) counts as its absolute value. */
	put(f, in.o + LT_PY_VAR_SIZE, (uint64_t)-3);
	assert_int_equal(decode(f, in.o, false, &r), 0);
	assert_inst_dict(&r, &in);
	/* An absurd size: an error, no wild read. */
	put(f, in.o + LT_PY_VAR_SIZE, 1ull << 40);
	assert_int_equal(decode(f, in.o, false, &r), -EINVAL);
	fake_free(f);
}

/* 3.11: the dict at -24, else the values at -32 with the class's keys. */
static void test_instance_311(void **state)
{
	struct fake *f = fake_new(11);
	struct rec r = { 0 };
	struct inst in;
	const uint64_t e[][2] = { { 0, 0 }, { 0, 0 } };
	uint64_t v;

	(void)state;
	inst_new(f, &in, LT_PY_TPFLAGS_MANAGED_DICT, 16, -1);
	v = values(f, 2, e);
	put(f, v, in.vx);
	put(f, in.o - 32, v);
	assert_int_equal(decode(f, in.o, false, &r), 0);
	ASSERT_REFS(&r, REF(in.vx, ATTR, in.kx));
	put(f, v + 8, in.vy);
	assert_int_equal(decode(f, in.o, false, &r), 0);
	ASSERT_REFS(&r, REF(in.vx, ATTR, in.kx), REF(in.vy, ATTR, in.ky));
	/* The dict, once made, wins over the values. */
	put(f, in.o - 24, inst_dict(f, &in));
	assert_int_equal(decode(f, in.o, false, &r), 0);
	assert_inst_dict(&r, &in);
	/* Neither. */
	put(f, in.o - 24, 0);
	put(f, in.o - 32, 0);
	assert_int_equal(decode(f, in.o, false, &r), 0);
	ASSERT_NO_REFS(&r);
	/* Values but no cached keys: nothing to name them by. */
	put(f, in.o - 32, v);
	put(f, in.cls + (uint64_t)f->hl->ht_cached_keys, 0);
	assert_int_equal(decode(f, in.o, false, &r), 0);
	ASSERT_NO_REFS(&r);
	fake_free(f);
}

/* 3.12: the word at -24 is the dict, or the values' address minus one. */
static void test_instance_312(void **state)
{
	struct fake *f = fake_new(12);
	struct rec r = { 0 };
	struct inst in;
	const uint64_t e[][2] = { { 0, 0 }, { 0, 0 } };
	uint64_t v;

	(void)state;
	inst_new(f, &in, LT_PY_TPFLAGS_MANAGED_DICT, 16, -1);
	v = values(f, 2, e);
	put(f, v, in.vx);
	put(f, v + 8, in.vy);
	put(f, in.o - 24, v - 1);
	put(f, in.o - 32, NOWHERE); /* 3.11's place for values: not read */
	assert_int_equal(decode(f, in.o, false, &r), 0);
	ASSERT_REFS(&r, REF(in.vx, ATTR, in.kx), REF(in.vy, ATTR, in.ky));
	put(f, in.o - 24, inst_dict(f, &in));
	assert_int_equal(decode(f, in.o, false, &r), 0);
	assert_inst_dict(&r, &in);
	fake_free(f);
}

/* 3.13+: values inline at object + tp_basicsize (valid byte at +3,
 * values at +8), unless the dict at -24 was made. */
static void test_instance_313(void **state)
{
	static const uint32_t minors[] = { 13, 14 };

	(void)state;
	for (size_t m = 0; m < N(minors); m++) {
		struct fake *f = fake_new(minors[m]);
		struct rec r = { 0 };
		struct inst in;
		uint64_t iv;

		inst_new(f, &in, LT_PY_TPFLAGS_MANAGED_DICT | LT_PY_TPFLAGS_INLINE_VALUES, 24, -1);
		iv = in.o + 24;
		put8(f, iv, 4);
		put8(f, iv + 1, 2);
		put8(f, iv + 2, 1);
		put8(f, iv + 3, 1);
		put(f, iv + 8, in.vx);
		put(f, iv + 16, in.vy);
		put(f, in.o + 16, in.vz); /* inside basicsize: not a value */
		assert_int_equal(decode(f, in.o, false, &r), 0);
		ASSERT_REFS(&r, REF(in.vx, ATTR, in.kx), REF(in.vy, ATTR, in.ky));
		/* Values no longer valid (the dict took them over). */
		put8(f, iv + 3, 0);
		assert_int_equal(decode(f, in.o, false, &r), 0);
		ASSERT_NO_REFS(&r);
		put(f, in.o - 24, inst_dict(f, &in));
		assert_int_equal(decode(f, in.o, false, &r), 0);
		assert_inst_dict(&r, &in);
		put8(f, iv + 3, 1);
		assert_int_equal(decode(f, in.o, false, &r), 0);
		assert_inst_dict(&r, &in);
		fake_free(f);
	}
}

/*
 * __slots__: class S (a, b objects, n an int member) and its subclass S2
 * (c): a subclass's own slots first, then its bases'; members of other
 * types are not references.
 */
static uint64_t members(struct fake *f, const char *const *names, const int32_t *types,
			const int64_t *offsets, size_t n)
{
	uint64_t m = alloc(f, (n + 1) * LT_PY_MEMBER_DEF_BYTES);

	for (size_t i = 0; i < n; i++) {
		uint64_t d = m + i * LT_PY_MEMBER_DEF_BYTES;

		put(f, d, cstr(f, names[i]));
		put32(f, d + 8, types[i]);
		put(f, d + 16, (uint64_t)offsets[i]);
	}
	return m;
}

static void test_slots(void **state)
{
	static const uint32_t minors[] = { 8, 11, 13 };

	(void)state;
	for (size_t m = 0; m < N(minors); m++) {
		struct fake *f = fake_new(minors[m]);
		struct rec r = { 0 };
		static const char *const sn[] = { "a", "b", "n" }, *const s2n[] = { "c" };
		static const int32_t st[] = { LT_PY_MEMBER_T_OBJECT_EX, LT_PY_MEMBER_T_OBJECT, 1 };
		static const int32_t s2t[] = { LT_PY_MEMBER_T_OBJECT_EX };
		static const int64_t so[] = { 16, 24, 32 }, s2o[] = { 40 };
		uint64_t flags = LT_PY_TPFLAGS_HEAPTYPE | LT_PY_TPFLAGS_HAVE_GC;
		uint64_t s = type(f, "S", flags, 40, f->t_object);
		uint64_t s2 = type(f, "S2", flags, 48, s);
		uint64_t sm = members(f, sn, st, so, 3), s2m = members(f, s2n, s2t, s2o, 1);
		uint64_t a = thing(f), b = thing(f), c = thing(f), o1 = obj(f, s, 40);
		uint64_t o2 = obj(f, s2, 48);
		const struct lt_py_heap_type *t;

		put(f, s + (uint64_t)f->hl->tp_members, sm);
		put(f, s2 + (uint64_t)f->hl->tp_members, s2m);
		put(f, o1 + 16, a);
		put(f, o1 + 24, b);
		put(f, o1 + 32, c); /* the int member's bytes */
		put(f, o2 + 16, 0); /* a unset */
		put(f, o2 + 24, b);
		put(f, o2 + 32, a);
		put(f, o2 + 40, c);
		t = type_of(f, o2);
		assert_int_equal(t->kind, LT_PY_KIND_PLAIN);
		assert_int_equal(t->nslots, 3);
		assert_string_equal(t->name, "S2");
		{
			uint64_t na, nb, nc;

			memcpy(&na, at(f, sm, 8), 8);
			memcpy(&nb, at(f, sm + LT_PY_MEMBER_DEF_BYTES, 8), 8);
			memcpy(&nc, at(f, s2m, 8), 8);
			assert_int_equal(t->slots[0].offset, 40);
			assert_int_equal(t->slots[0].name, nc);
			assert_int_equal(decode(f, o1, false, &r), 0);
			ASSERT_REFS(&r, REF(a, SLOT, na), REF(b, SLOT, nb));
			assert_int_equal(decode(f, o2, false, &r), 0);
			ASSERT_REFS(&r, REF(c, SLOT, nc), REF(b, SLOT, nb));
		}
		fake_free(f);
	}
}

/* Where the arrays were: the holder's pointer to them, checked by record()
 * for every reference; here, that it is named at all. */
static void test_bases(void **state)
{
	struct fake *f = fake_new(13);
	struct rec r = { 0 };
	uint64_t a = thing(f), items[] = { a }, l = list(f, 1, items), t = tuple(f, 1, items);
	uint64_t k = str(f);
	const uint64_t e[][2] = { { k, a } };
	uint64_t d = dict(f, keys(f, KEYS_SPLIT, 3, 1, e), values(f, 1, e), 1);

	(void)state;
	assert_int_equal(decode(f, l, false, &r), 0);
	assert_int_equal(r.refs[0].base_at, l + LT_PY_LIST_ITEMS);
	assert_int_equal(r.refs[0].at, word_at(f, l + LT_PY_LIST_ITEMS));
	/* A tuple's items are in it. */
	assert_int_equal(decode(f, t, false, &r), 0);
	assert_int_equal(r.refs[0].base_at, 0);
	assert_int_equal(r.refs[0].at, t + (uint64_t)f->hl->tuple_items);
	/* A split dict's key in its keys, its value in its values. */
	assert_int_equal(decode(f, d, false, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.refs[0].base_at, d + (uint64_t)f->hl->dict_keys);
	assert_int_equal(r.refs[1].base_at, d + (uint64_t)f->hl->dict_values);
	assert_int_equal(r.refs[1].at, word_at(f, d + (uint64_t)f->hl->dict_values) + 8);
	fake_free(f);
}

/* An object of a type not decoded: with opaque, its aligned non-zero words
 * past the header, keyed by offset (the var-sized part too). */
static void test_opaque(void **state)
{
	struct fake *f = fake_new(11);
	struct rec r = { 0 };
	uint64_t a = thing(f), b = thing(f), o = obj(f, f->t_opaque, 48);
	uint64_t vt = type(f, "_thread.RLock", LT_PY_TPFLAGS_HAVE_GC, 24, f->t_object);
	uint64_t v = obj(f, vt, 64);
	const struct lt_py_heap_type *t;

	(void)state;
	put(f, o + 16, a);
	put(f, o + 24, a + 3); /* not aligned */
	put(f, o + 40, b);
	t = type_of(f, o);
	assert_int_equal(t->kind, LT_PY_KIND_OPAQUE);
	assert_false(t->attrs);
	assert_int_equal(decode(f, o, false, &r), 0);
	ASSERT_NO_REFS(&r);
	assert_int_equal(decode(f, o, true, &r), 0);
	ASSERT_REFS(&r, REF(a, OPAQUE, 16), REF(b, OPAQUE, 40));
	/* basicsize 24 and 2 items of 16: 56 bytes looked at. */
	set_itemsize(f, vt, 16);
	put(f, v + LT_PY_VAR_SIZE, 2);
	put(f, v + 48, a);
	put(f, v + 56, b); /* past the object */
	assert_int_equal(decode(f, v, true, &r), 0);
	ASSERT_REFS(&r, REF(a, OPAQUE, 48));
	/* A negative size counts as its absolute value, as int's does. */
	put(f, v + LT_PY_VAR_SIZE, (uint64_t)-2);
	assert_int_equal(decode(f, v, true, &r), 0);
	ASSERT_REFS(&r, REF(a, OPAQUE, 48));
	/* An ob_size that looks like a pointer is a word like any other. */
	put(f, v + LT_PY_VAR_SIZE, 8);
	assert_int_equal(decode(f, v, true, &r), 0);
	ASSERT_REFS(&r, REF(8, OPAQUE, 16), REF(a, OPAQUE, 48), REF(b, OPAQUE, 56));
	fake_free(f);
}

/* What a type's flags and builtin base make of its instances. */
static void test_types(void **state)
{
	struct fake *f = fake_new(11);
	uint64_t heap = LT_PY_TPFLAGS_HEAPTYPE | LT_PY_TPFLAGS_HAVE_GC;
	uint64_t mylist = type(f, "MyList", heap | LT_PY_TPFLAGS_LIST_SUBCLASS, 40, f->t_list);
	uint64_t mid = type(f, "Mid", heap, 24, f->t_set);
	uint64_t sub = type(f, "Sub", heap, 24, mid);
	uint64_t orphan = type(f, "Orphan", heap, 24, 0);
	uint64_t ctl = type(f, "bad\nname\x7f", 0, 24, 0);
	uint64_t tiny = type(f, "tiny", 0, 8, 0);
	uint64_t huge = type(f, "huge", 0, 1 << 21, 0);
	const struct lt_py_heap_type *t;

	(void)state;
	put(f, f->t_str + LT_PY_TP_BASICSIZE, 64);
	fresh(f);
#define GET(a) lt_py_type_get(&f->h.types, &f->h.reader, f->hl, (a))
	t = GET(mylist);
	assert_int_equal(t->kind, LT_PY_KIND_LIST);
	assert_true(t->attrs);
	assert_true(t->gc);
	t = GET(sub);
	assert_int_equal(t->kind, LT_PY_KIND_SET);
	assert_true(t->attrs);
	assert_string_equal(t->name, "Sub");
	t = GET(orphan);
	assert_int_equal(t->kind, LT_PY_KIND_OPAQUE);
	assert_true(t->attrs);
	assert_int_equal(GET(f->t_str)->kind, LT_PY_KIND_ATOM);
	assert_int_equal(GET(f->t_int)->kind, LT_PY_KIND_ATOM);
	assert_int_equal(GET(f->t_object)->kind, LT_PY_KIND_PLAIN);
	assert_false(GET(f->t_object)->attrs);
	assert_string_equal(GET(ctl)->name, "bad?name?");
	assert_true(GET(tiny)->bad);
	assert_true(GET(huge)->bad);
	t = GET(NOWHERE);
	assert_true(t->bad);
	assert_string_equal(t->name, "?");
	/* Cached: the same entry. */
	assert_ptr_equal(GET(sub), GET(sub));
#undef GET
	fake_free(f);
}

/* A type that cannot be read, or is not one: no references, no error. */
static void test_bad_type(void **state)
{
	struct fake *f = fake_new(8);
	struct rec r = { 0 };
	uint64_t a = thing(f), items[] = { a }, l = list(f, 1, items);

	(void)state;
	put(f, f->t_list + LT_PY_TP_BASICSIZE, 0);
	assert_true(type_of(f, l)->bad);
	assert_int_equal(decode(f, l, true, &r), 0);
	ASSERT_NO_REFS(&r);
	/* Too large to be a type's: not read as an opaque object's words. */
	put(f, f->t_list + LT_PY_TP_BASICSIZE, 1 << 21);
	assert_true(type_of(f, l)->bad);
	assert_int_equal(decode(f, l, true, &r), 0);
	ASSERT_NO_REFS(&r);
	fake_free(f);
}

/* Garbage in containers: an error, no references, no read outside. */
static void test_garbage_sequences(void **state)
{
	static const uint32_t minors[] = { 8, 11, 14 };

	(void)state;
	for (size_t m = 0; m < N(minors); m++) {
		struct fake *f = fake_new(minors[m]);
		struct rec r = { 0 };
		uint64_t a = thing(f), items[] = { a, a, a }, l = list(f, 3, items);
		uint64_t t = tuple(f, 3, items), it = word_at(f, l + LT_PY_LIST_ITEMS);

		put(f, l + LT_PY_VAR_SIZE, 1ull << 40);
		assert_int_equal(decode(f, l, false, &r), -EINVAL);
		ASSERT_NO_REFS(&r);
		put(f, l + LT_PY_VAR_SIZE, (uint64_t)-1);
		assert_int_equal(decode(f, l, false, &r), -EINVAL);
		put(f, l + LT_PY_VAR_SIZE, (uint64_t)INT64_MIN);
		assert_int_equal(decode(f, l, false, &r), -EINVAL);
		put(f, l + LT_PY_VAR_SIZE, 3);
		put(f, l + LT_PY_LIST_ITEMS, NOWHERE);
		assert_int_equal(decode(f, l, false, &r), -EFAULT);
		ASSERT_NO_REFS(&r);
		/* Items running off the end of the memory. */
		put(f, l + LT_PY_LIST_ITEMS, BASE + MEM_BYTES - 16);
		assert_int_equal(decode(f, l, false, &r), -EFAULT);
		/* 2^26 items: not absurd, so read, until the memory ends. */
		put(f, l + LT_PY_LIST_ITEMS, it);
		put(f, l + LT_PY_VAR_SIZE, 1ull << 26);
		assert_int_equal(decode(f, l, false, &r), -EFAULT);
		put(f, t + LT_PY_VAR_SIZE, (1ull << 26) + 1);
		assert_int_equal(decode(f, t, false, &r), -EINVAL);
		ASSERT_NO_REFS(&r);
		/* The object itself unreadable. */
		r.n = 0;
		r.f = f;
		assert_int_equal(lt_py_referents(&f->h, NOWHERE, type_of(f, l), false, record, &r),
				 -EFAULT);
		assert_int_equal(lt_py_type_of(&f->h, NOWHERE), 0);
		fake_free(f);
	}
}

static void test_garbage_dicts(void **state)
{
	static const uint32_t minors[] = { 8, 11, 13 };

	(void)state;
	for (size_t m = 0; m < N(minors); m++) {
		struct fake *f = fake_new(minors[m]);
		struct rec r = { 0 };
		uint64_t k0 = str(f), v0 = thing(f);
		const uint64_t e[][2] = { { k0, v0 } };
		uint64_t k = keys(f, KEYS_GENERAL, 3, 1, e), d = dict(f, k, 0, 1);
		uint64_t nent = k + (uint64_t)f->hl->keys_nentries;

		assert_int_equal(decode(f, d, false, &r), 0);
		assert_int_equal(r.n, 2);
		/* More entries than slots. */
		put(f, nent, 9);
		assert_int_equal(decode(f, d, false, &r), -EINVAL);
		ASSERT_NO_REFS(&r);
		put(f, nent, (uint64_t)-1);
		assert_int_equal(decode(f, d, false, &r), -EINVAL);
		put(f, nent, 1);
		if (minors[m] >= 11) {
			put8(f, k + 8, 41); /* log2 size */
			assert_int_equal(decode(f, d, false, &r), -EINVAL);
			put8(f, k + 8, 3);
			put8(f, k + 9, 200); /* log2 index bytes */
			assert_int_equal(decode(f, d, false, &r), -EINVAL);
			put8(f, k + 9, 3);
		} else {
			/* 2^40 slots: index table and entries far past the memory. */
			put(f, k + 8, 1ull << 40);
			assert_int_equal(decode(f, d, false, &r), -EFAULT);
			ASSERT_NO_REFS(&r);
			put(f, k + 8, 8);
		}
		/* No keys, keys nowhere, values nowhere. */
		put(f, d + (uint64_t)f->hl->dict_keys, 0);
		assert_int_equal(decode(f, d, false, &r), -EINVAL);
		put(f, d + (uint64_t)f->hl->dict_keys, NOWHERE);
		assert_int_equal(decode(f, d, false, &r), -EFAULT);
		put(f, d + (uint64_t)f->hl->dict_keys, k);
		put(f, d + (uint64_t)f->hl->dict_values, NOWHERE);
		assert_int_equal(decode(f, d, false, &r), -EFAULT);
		ASSERT_NO_REFS(&r);
		put(f, d + (uint64_t)f->hl->dict_values, 0);
		assert_int_equal(decode(f, d, false, &r), 0);
		assert_int_equal(r.n, 2);
		fake_free(f);
	}
}

static void test_garbage_set_deque(void **state)
{
	struct fake *f = fake_new(11);
	const struct lt_py_heap_layout *hl = f->hl;
	struct rec r = { 0 };
	uint64_t it[5], left, right, d, s = obj(f, f->t_set, 200);

	(void)state;
	for (int i = 0; i < 5; i++)
		it[i] = thing(f);
	d = deque(f, it, &left, &right);
	put(f, s + (uint64_t)hl->set_mask, 1ull << 40);
	put(f, s + (uint64_t)hl->set_table, alloc(f, 64));
	assert_int_equal(decode(f, s, false, &r), -EINVAL);
	put(f, s + (uint64_t)hl->set_mask, 1023);
	assert_int_equal(decode(f, s, false, &r), 0);
	put(f, s + (uint64_t)hl->set_table, NOWHERE);
	assert_int_equal(decode(f, s, false, &r), -EFAULT);

	/* Indexes past a block. */
	put(f, d + (uint64_t)hl->deque_leftindex, 64);
	assert_int_equal(decode(f, d, false, &r), -EINVAL);
	ASSERT_NO_REFS(&r);
	put(f, d + (uint64_t)hl->deque_leftindex, 61);
	put(f, d + (uint64_t)hl->deque_rightindex, 64);
	assert_int_equal(decode(f, d, false, &r), -EINVAL);
	/* -1: the right block empty, short of the size: the items there
	 * are, and no error or one. */
	put(f, d + (uint64_t)hl->deque_rightindex, (uint64_t)-1);
	{
		int err = decode(f, d, false, &r);

		assert_true(err == 0 || err == -EINVAL);
		assert_true(r.n <= 3);
		for (size_t i = 0; i < r.n; i++)
			assert_int_equal(r.refs[i].to, it[i]);
	}
	put(f, d + (uint64_t)hl->deque_rightindex, 1);
	/* A size past what it holds: read on until the right block. */
	put(f, d + LT_PY_VAR_SIZE, 1ull << 40);
	assert_int_equal(decode(f, d, false, &r), -EINVAL);
	put(f, d + LT_PY_VAR_SIZE, 1000);
	assert_int_equal(decode(f, d, false, &r), 0);
	assert_int_equal(r.n, 5);
	put(f, d + LT_PY_VAR_SIZE, 5);
	/* The left block's link to nowhere: its items, then the error. */
	put(f, left + (uint64_t)hl->block_rightlink, NOWHERE);
	assert_int_equal(decode(f, d, false, &r), -EFAULT);
	ASSERT_REFS(&r, REF(it[0], INDEX, 0), REF(it[1], INDEX, 1), REF(it[2], INDEX, 2));
	/* A block linked to itself, the right block never met: the size ends it. */
	put(f, left + (uint64_t)hl->block_rightlink, left);
	put(f, d + LT_PY_VAR_SIZE, 200);
	assert_int_equal(decode(f, d, false, &r), 0);
	/* 3 from its first pass (slots 61-63), then slots 60-63 (the rest
	 * are empty) of three more whole passes, the 200th item ending it. */
	assert_int_equal(r.n, 15);
	assert_int_equal(r.refs[2].key, 2);
	assert_int_equal(r.refs[3].key, 3 + 60);
	assert_int_equal(r.refs[14].key, 3 + 64 * 2 + 63);
	fake_free(f);
}

/*
 * Garbage sizes in the arithmetic of an instance's dict place (negative
 * tp_dictoffset) and of an opaque object's extent: INT64_MIN as ob_size
 * and an absurd tp_itemsize. An error or nothing, never undefined
 * behaviour (UBSan).
 * (ob_size INT64_MIN must not be negated, nor an itemsize multiplied
 * past int64: a type with an absurd itemsize is not a type at all).
 */

static void garbage_size(uint64_t ob_size, int64_t itemsize, bool opaque)
{
	struct fake *f = fake_new(8);
	struct rec r = { 0 };
	struct inst in;
	uint64_t vt = type(f, "_thread.RLock", LT_PY_TPFLAGS_HAVE_GC, 24, f->t_object);
	uint64_t v = obj(f, vt, 64);
	int err;

	inst_new(f, &in, 0, 32, -8);
	if (opaque) {
		set_itemsize(f, vt, itemsize);
		put(f, v + LT_PY_VAR_SIZE, ob_size);
		/* Its words (ob_size among them), up to 4096 bytes at most. */
		assert_int_equal(decode(f, v, true, &r), 0);
		r.n = 0;
	} else {
		set_itemsize(f, in.cls, itemsize);
		put(f, in.o + LT_PY_VAR_SIZE, ob_size);
		/* An error, or nothing from a type whose itemsize is no type's. */
		err = decode(f, in.o, false, &r);
		assert_true(err == -EINVAL || err == -EFAULT || (err == 0 && itemsize > (1 << 20)));
	}
	ASSERT_NO_REFS(&r);
	fake_free(f);
}

static void test_garbage_dictoffset_size_min(void **state)
{
	(void)state;
	garbage_size((uint64_t)INT64_MIN, 8, false);
}

static void test_garbage_dictoffset_itemsize(void **state)
{
	(void)state;
	garbage_size(3, INT64_MAX / 2, false);
}

static void test_garbage_opaque_size_min(void **state)
{
	(void)state;
	garbage_size((uint64_t)INT64_MIN, 8, true);
}

static void test_garbage_opaque_itemsize(void **state)
{
	(void)state;
	garbage_size(3, INT64_MAX / 2, true);
}

/*
 * Asking again for a type already cached must not move the entries:
 * holder_labels.c's key_repr() keeps one while lt_holder_str() asks for
 * the same type again.
 */
static void test_type_cache_hit_keeps_entries(void **state)
{
	struct fake *f;
	const struct lt_py_heap_type *t, *again;
	uint64_t types[200];

	(void)state;
	f = fake_new(11);
	for (size_t i = 0; i < N(types); i++)
		types[i] = type(f, "T", 0, 16, f->t_object);
	fresh(f);
	t = lt_py_type_get(&f->h.types, &f->h.reader, f->hl, types[0]);
	/* Up to the table's threshold (half of 256 slots), with hits only after. */
	for (size_t i = 1; f->h.types.used < f->h.types.cap / 2; i++)
		assert_non_null(lt_py_type_get(&f->h.types, &f->h.reader, f->hl, types[i]));
	again = lt_py_type_get(&f->h.types, &f->h.reader, f->hl, types[0]);
	assert_ptr_equal(again, t);
	fake_free(f);
}

int main(int argc, char **argv)
{
	/* One test by name (or a glob), for the known bugs one at a time. */
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_long_list),
		cmocka_unit_test(test_tuple),
		cmocka_unit_test(test_dict_general),
		cmocka_unit_test(test_dict_large),
		cmocka_unit_test(test_dict_unicode),
		cmocka_unit_test(test_dict_split),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_deque),
		cmocka_unit_test(test_cell_method_module),
		cmocka_unit_test(test_function),
		cmocka_unit_test(test_class),
		cmocka_unit_test(test_instance_38),
		cmocka_unit_test(test_instance_negative_dictoffset),
		cmocka_unit_test(test_instance_311),
		cmocka_unit_test(test_instance_312),
		cmocka_unit_test(test_instance_313),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_bases),
		cmocka_unit_test(test_opaque),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_bad_type),
		cmocka_unit_test(test_garbage_sequences),
		cmocka_unit_test(test_garbage_dicts),
		cmocka_unit_test(test_garbage_set_deque),
		cmocka_unit_test(test_type_cache_hit_keeps_entries),
		cmocka_unit_test(test_garbage_dictoffset_size_min),
		cmocka_unit_test(test_garbage_dictoffset_itemsize),
		cmocka_unit_test(test_garbage_opaque_size_min),
		cmocka_unit_test(test_garbage_opaque_itemsize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
