// SPDX-License-Identifier: MIT
#include "holders/py_referents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Beyond these a container is garbage (or being changed under us): its
 * references are not followed, rather than a wild length read. */
#define MAX_ITEMS (1ll << 26)
#define MAX_DICT_ENTRIES (1ll << 24)
#define MAX_OPAQUE_BYTES 4096
#define ENTRY_GENERAL 24 /* {hash, key, value} */
#define ENTRY_UNICODE 16 /* {key, value}, 3.11+ dicts of str keys */
#define SET_ENTRY 16     /* {key, hash} */

uint64_t lt_py_type_of(struct lt_py_heap *h, uint64_t obj)
{
	uint64_t type;

	return lt_heap_word(&h->reader, obj + LT_PY_OB_TYPE, &type) ? 0 : type;
}

static int word(struct lt_py_heap *h, uint64_t at, uint64_t *out)
{
	return lt_heap_word(&h->reader, at, out);
}

/* Where the slots being read are: in an array the holder points to at
 * base_at (base), or in the holder itself (base_at 0). */
struct base {
	uint64_t at, value;
};

static const struct base in_holder = { 0, 0 };

static int emit(lt_py_ref_fn fn, void *arg, uint64_t to, enum lt_py_how how, uint64_t key,
		uint64_t at, struct base b)
{
	struct lt_py_ref ref = { to, how, key, at, b.at, b.value };

	return to ? fn(arg, &ref) : 0;
}

/* n object pointers from at. */
static int items(struct lt_py_heap *h, uint64_t at, int64_t n, enum lt_py_how how,
		 struct base b, lt_py_ref_fn fn, void *arg)
{
	uint64_t buf[512];
	int err;

	if (n < 0 || n > MAX_ITEMS)
		return -EINVAL;
	for (int64_t i = 0; i < n;) {
		int64_t k = n - i < 512 ? n - i : 512;

		if ((err = lt_heap_read(&h->reader, at + (uint64_t)i * 8, buf, (size_t)k * 8)))
			return err;
		for (int64_t j = 0; j < k; j++)
			if ((err = emit(fn, arg, buf[j], how, (uint64_t)(i + j),
					at + (uint64_t)(i + j) * 8, b)))
				return err;
		i += k;
	}
	return 0;
}

static int seq(struct lt_py_heap *h, uint64_t obj, bool list, lt_py_ref_fn fn, void *arg)
{
	uint64_t n, at = obj + (uint64_t)h->hl->tuple_items;
	struct base b = in_holder;
	int err;

	if ((err = word(h, obj + LT_PY_VAR_SIZE, &n)))
		return err;
	if (list) {
		if ((err = word(h, obj + LT_PY_LIST_ITEMS, &at)))
			return err;
		b = (struct base){ obj + LT_PY_LIST_ITEMS, at };
	}
	return items(h, at, (int64_t)n, LT_PY_HOW_INDEX, b, fn, arg);
}

struct dict_keys {
	uint64_t nentries;
	uint64_t entries;  /* where entry 0 is */
	unsigned entry_bytes;
	unsigned key_at;   /* within an entry */
};

static int read_keys(struct lt_py_heap *h, uint64_t keys, struct dict_keys *k)
{
	const struct lt_py_heap_layout *hl = h->hl;
	uint64_t nentries, size = 0, index_bytes;
	int err;

	if (!keys)
		return -EINVAL;
	if ((err = word(h, keys + (uint64_t)hl->keys_nentries, &nentries)))
		return err;
	if (hl->keys_size >= 0) {
		if ((err = word(h, keys + (uint64_t)hl->keys_size, &size)))
			return err;
		index_bytes = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffull ? 4 : 8;
		index_bytes *= size;
		k->entry_bytes = ENTRY_GENERAL;
	} else {
		uint8_t b[3];

		if ((err = lt_heap_read(&h->reader, keys + (uint64_t)hl->keys_log2_size, b, 3)))
			return err;
		if (b[1] > 40 || b[0] > 40)
			return -EINVAL;
		index_bytes = 1ull << b[1];
		size = 1ull << b[0];
		k->entry_bytes = b[2] ? ENTRY_UNICODE : ENTRY_GENERAL;
	}
	if ((int64_t)nentries < 0 || (int64_t)nentries > MAX_DICT_ENTRIES || nentries > size)
		return -EINVAL;
	k->nentries = nentries;
	k->entries = keys + (uint64_t)hl->keys_indices + index_bytes;
	k->key_at = k->entry_bytes == ENTRY_GENERAL ? 8 : 0;
	return 0;
}

/*
 * A dict's entries. values: a split dict's values array (0: the values are
 * in the entries). attrs: an instance's attributes, named by their keys.
 */
static int dict_entries(struct lt_py_heap *h, uint64_t keys, uint64_t values, bool attrs,
			struct base keys_base, struct base values_base, lt_py_ref_fn fn, void *arg)
{
	struct dict_keys k;
	uint8_t buf[ENTRY_GENERAL * 256];
	uint64_t vals[256];
	int err;

	if ((err = read_keys(h, keys, &k)))
		return err;
	for (uint64_t i = 0; i < k.nentries;) {
		uint64_t n = k.nentries - i < 256 ? k.nentries - i : 256;

		if ((err = lt_heap_read(&h->reader, k.entries + i * k.entry_bytes, buf,
					(size_t)n * k.entry_bytes)))
			return err;
		if (values && (err = lt_heap_read(&h->reader, values + i * 8, vals, (size_t)n * 8)))
			return err;
		for (uint64_t j = 0; j < n; j++) {
			uint64_t key, value;

			memcpy(&key, buf + j * k.entry_bytes + k.key_at, 8);
			if (values)
				value = vals[j];
			else
				memcpy(&value, buf + j * k.entry_bytes + k.key_at + 8, 8);
			if (!key || !value)
				continue;
			uint64_t entry = k.entries + (i + j) * k.entry_bytes + k.key_at;

			if (!attrs && (err = emit(fn, arg, key, LT_PY_HOW_DICT_KEY, key, entry, keys_base)))
				return err;
			err = emit(fn, arg, value, attrs ? LT_PY_HOW_ATTR : LT_PY_HOW_DICT_VALUE, key,
				   values ? values + (i + j) * 8 : entry + 8, values ? values_base : keys_base);
			if (err)
				return err;
		}
		i += n;
	}
	return 0;
}

static int dict(struct lt_py_heap *h, uint64_t obj, bool attrs, lt_py_ref_fn fn, void *arg)
{
	uint64_t keys, values;
	int err;

	uint64_t raw_values;

	if ((err = word(h, obj + (uint64_t)h->hl->dict_keys, &keys)) ||
	    (err = word(h, obj + (uint64_t)h->hl->dict_values, &values)))
		return err;
	raw_values = values;
	if (values)
		values += (uint64_t)h->hl->values_array;
	return dict_entries(h, keys, values, attrs,
			    (struct base){ obj + (uint64_t)h->hl->dict_keys, keys },
			    (struct base){ obj + (uint64_t)h->hl->dict_values, raw_values }, fn, arg);
}

/* An instance's __dict__, wherever this version keeps it. */
static int instance_dict(struct lt_py_heap *h, uint64_t obj, const struct lt_py_heap_type *t,
			 lt_py_ref_fn fn, void *arg)
{
	uint64_t d = 0, values = 0;
	struct base vb = in_holder;
	int err;

	if (h->minor >= 11 && (t->flags & LT_PY_TPFLAGS_MANAGED_DICT)) {
		if ((err = word(h, obj + (uint64_t)(int64_t)h->hl->managed_dict, &d)))
			return err;
		if (h->minor == 11 && !d) {
			if ((err = word(h, obj + (uint64_t)(int64_t)h->hl->managed_values, &values)))
				return err;
			vb = (struct base){ obj + (uint64_t)(int64_t)h->hl->managed_values, values };
		}
		/* 3.12 stores the values' address minus one, to tag it. */
		if (h->minor == 12 && (d & 1)) {
			vb = (struct base){ obj + (uint64_t)(int64_t)h->hl->managed_dict, d };
			values = d + 1;
			d = 0;
		}
		if (h->minor >= 13 && !d && (t->flags & LT_PY_TPFLAGS_INLINE_VALUES)) {
			uint8_t valid;

			values = obj + (uint64_t)t->basicsize;
			/* Inline values hold only while no dict replaced them. */
			vb = (struct base){ obj + (uint64_t)(int64_t)h->hl->managed_dict, 0 };
			if ((err = lt_heap_read(&h->reader, values + 3, &valid, 1)))
				return err;
			if (!valid)
				values = 0;
		}
		if (values && !d) {
			if (!t->cached_keys)
				return 0;
			return dict_entries(h, t->cached_keys, values + (uint64_t)h->hl->values_array,
					    true, in_holder, vb, fn, arg);
		}
	} else if (t->dictoffset > 0) {
		if ((err = word(h, obj + (uint64_t)t->dictoffset, &d)))
			return err;
	} else if (t->dictoffset < 0) {
		int64_t n, size;

		if ((err = word(h, obj + LT_PY_VAR_SIZE, (uint64_t *)&n)))
			return err;
		/* Sizes from the process: bounded before any arithmetic (the
		 * type's itemsize is bounded when it is read). */
		if (n < -MAX_ITEMS || n > MAX_ITEMS)
			return -EINVAL;
		if (n < 0)
			n = -n;
		size = (t->basicsize + n * t->itemsize + 7) & ~7ll;
		if ((err = word(h, obj + (uint64_t)(size + t->dictoffset), &d)))
			return err;
	}
	if (!d)
		return 0;
	return dict(h, d, true, fn, arg);
}

static int slots(struct lt_py_heap *h, uint64_t obj, const struct lt_py_heap_type *t,
		 lt_py_ref_fn fn, void *arg)
{
	for (unsigned i = 0; i < t->nslots; i++) {
		uint64_t v;
		int err;

		if ((err = word(h, obj + (uint64_t)t->slots[i].offset, &v)))
			return err;
		if ((err = emit(fn, arg, v, LT_PY_HOW_SLOT, t->slots[i].name,
				obj + (uint64_t)t->slots[i].offset, in_holder)))
			return err;
	}
	return 0;
}

static int set(struct lt_py_heap *h, uint64_t obj, lt_py_ref_fn fn, void *arg)
{
	uint64_t mask, table;
	uint8_t buf[SET_ENTRY * 256];
	int err;

	if ((err = word(h, obj + (uint64_t)h->hl->set_mask, &mask)) ||
	    (err = word(h, obj + (uint64_t)h->hl->set_table, &table)))
		return err;
	if (mask >= (uint64_t)MAX_ITEMS)
		return -EINVAL;
	for (uint64_t i = 0; i <= mask;) {
		uint64_t n = mask + 1 - i < 256 ? mask + 1 - i : 256;

		if ((err = lt_heap_read(&h->reader, table + i * SET_ENTRY, buf, (size_t)n * SET_ENTRY)))
			return err;
		for (uint64_t j = 0; j < n; j++) {
			uint64_t key;
			int64_t hash;

			memcpy(&key, buf + j * SET_ENTRY, 8);
			memcpy(&hash, buf + j * SET_ENTRY + 8, 8);
			/* hash -1 marks a deleted slot's dummy: no object hashes to -1 */
			if (key && hash != -1 &&
			    (err = emit(fn, arg, key, LT_PY_HOW_SET, 0, table + (i + j) * SET_ENTRY,
					(struct base){ obj + (uint64_t)h->hl->set_table, table })))
				return err;
		}
		i += n;
	}
	return 0;
}

static int deque(struct lt_py_heap *h, uint64_t obj, lt_py_ref_fn fn, void *arg)
{
	const struct lt_py_heap_layout *hl = h->hl;
	uint64_t block, last, first_i, last_i, n, index = 0;
	int err;

	if ((err = word(h, obj + LT_PY_VAR_SIZE, &n)) ||
	    (err = word(h, obj + (uint64_t)hl->deque_leftblock, &block)) ||
	    (err = word(h, obj + (uint64_t)hl->deque_rightblock, &last)) ||
	    (err = word(h, obj + (uint64_t)hl->deque_leftindex, &first_i)) ||
	    (err = word(h, obj + (uint64_t)hl->deque_rightindex, &last_i)))
		return err;
	if ((int64_t)n < 0 || (int64_t)n > MAX_ITEMS || first_i >= LT_PY_DEQUE_BLOCKLEN)
		return -EINVAL;
	while (index < n) {
		uint64_t end = block == last ? last_i + 1 : LT_PY_DEQUE_BLOCKLEN;

		if (end > LT_PY_DEQUE_BLOCKLEN || end < first_i)
			return -EINVAL;
		if (end - first_i > n - index)
			end = first_i + (n - index);
		for (uint64_t i = first_i; i < end; i++, index++) {
			uint64_t v;

			if ((err = word(h, block + (uint64_t)hl->block_data + i * 8, &v)))
				return err;
			/* A block freed goes to the deque's own free list: its
			 * slot is checked in place. */
			if ((err = emit(fn, arg, v, LT_PY_HOW_INDEX, index,
					block + (uint64_t)hl->block_data + i * 8, in_holder)))
				return err;
		}
		if (block == last)
			break;
		if ((err = word(h, block + (uint64_t)hl->block_rightlink, &block)))
			return err;
		first_i = 0;
	}
	return 0;
}

static int function(struct lt_py_heap *h, uint64_t obj, lt_py_ref_fn fn, void *arg)
{
	const struct lt_py_heap_layout *hl = h->hl;
	static const enum lt_py_how hows[] = { LT_PY_HOW_GLOBALS, LT_PY_HOW_DEFAULTS,
					       LT_PY_HOW_KWDEFAULTS, LT_PY_HOW_FUNC_DICT };
	int32_t at[] = { hl->func_globals, hl->func_defaults, hl->func_kwdefaults, hl->func_dict };
	uint64_t closure, v, n;
	int err;

	if ((err = word(h, obj + (uint64_t)hl->func_closure, &closure)))
		return err;
	/* The cells themselves, past the tuple that only lines them up. */
	if (closure) {
		if ((err = word(h, closure + LT_PY_VAR_SIZE, &n)))
			return err;
		if ((err = items(h, closure + (uint64_t)h->hl->tuple_items, (int64_t)n, LT_PY_HOW_CLOSURE,
				 (struct base){ obj + (uint64_t)hl->func_closure, closure }, fn, arg)))
			return err;
	}
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		if (at[i] < 0)
			continue;
		if ((err = word(h, obj + (uint64_t)at[i], &v)))
			return err;
		if ((err = emit(fn, arg, v, hows[i], 0, obj + (uint64_t)at[i], in_holder)))
			return err;
	}
	return 0;
}

static int two(struct lt_py_heap *h, uint64_t a, enum lt_py_how ha, uint64_t b,
	       enum lt_py_how hb, lt_py_ref_fn fn, void *arg)
{
	uint64_t v;
	int err;

	if ((err = word(h, a, &v)) || (err = emit(fn, arg, v, ha, 0, a, in_holder)))
		return err;
	if (!b)
		return 0;
	if ((err = word(h, b, &v)))
		return err;
	return emit(fn, arg, v, hb, 0, b, in_holder);
}

static int opaque_words(struct lt_py_heap *h, uint64_t obj, const struct lt_py_heap_type *t,
			lt_py_ref_fn fn, void *arg)
{
	uint64_t buf[MAX_OPAQUE_BYTES / 8];
	int64_t size = t->basicsize, n = 0;
	int err;

	if (t->itemsize && !word(h, obj + LT_PY_VAR_SIZE, (uint64_t *)&n) &&
	    n > -MAX_OPAQUE_BYTES && n < MAX_OPAQUE_BYTES)
		size += (n < 0 ? -n : n) * t->itemsize;
	if (size > MAX_OPAQUE_BYTES)
		size = MAX_OPAQUE_BYTES;
	size &= ~7ll;
	if (size <= 16 || (err = lt_heap_read(&h->reader, obj, buf, (size_t)size)))
		return 0;
	for (int64_t i = 2; i < size / 8; i++)
		if (!(buf[i] & 7) &&
		    (err = emit(fn, arg, buf[i], LT_PY_HOW_OPAQUE, (uint64_t)i * 8, obj + (uint64_t)i * 8,
				in_holder)))
			return err;
	return 0;
}

int lt_py_referents(struct lt_py_heap *h, uint64_t obj, const struct lt_py_heap_type *t,
		    bool opaque, lt_py_ref_fn fn, void *arg)
{
	const struct lt_py_heap_layout *hl = h->hl;
	int err = 0;

	if (t->bad)
		return 0;
	switch (t->kind) {
	case LT_PY_KIND_LIST:
		err = seq(h, obj, true, fn, arg);
		break;
	case LT_PY_KIND_TUPLE:
		err = seq(h, obj, false, fn, arg);
		break;
	case LT_PY_KIND_DICT:
		err = dict(h, obj, false, fn, arg);
		break;
	case LT_PY_KIND_SET:
		err = set(h, obj, fn, arg);
		break;
	case LT_PY_KIND_DEQUE:
		err = deque(h, obj, fn, arg);
		break;
	case LT_PY_KIND_CELL:
		err = two(h, obj + LT_PY_CELL_REF, LT_PY_HOW_CELL, 0, 0, fn, arg);
		break;
	case LT_PY_KIND_METHOD:
		err = two(h, obj + LT_PY_METHOD_SELF, LT_PY_HOW_SELF, obj + LT_PY_METHOD_FUNC,
			  LT_PY_HOW_FUNC, fn, arg);
		break;
	case LT_PY_KIND_MODULE:
		err = two(h, obj + LT_PY_MODULE_DICT, LT_PY_HOW_MODULE_DICT, 0, 0, fn, arg);
		break;
	case LT_PY_KIND_TYPE:
		/* 3.12+ builtin types keep their dict elsewhere: tp_dict is NULL. */
		err = two(h, obj + (uint64_t)hl->tp_dict, LT_PY_HOW_TYPE_DICT, 0, 0, fn, arg);
		break;
	case LT_PY_KIND_FUNCTION:
		err = function(h, obj, fn, arg);
		break;
	case LT_PY_KIND_OPAQUE:
		if (opaque)
			err = opaque_words(h, obj, t, fn, arg);
		break;
	case LT_PY_KIND_ATOM:
	case LT_PY_KIND_PLAIN:
		break;
	}
	if (err || !t->attrs)
		return err;
	if ((err = slots(h, obj, t, fn, arg)))
		return err;
	return instance_dict(h, obj, t, fn, arg);
}
