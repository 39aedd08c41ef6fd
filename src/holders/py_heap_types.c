// SPDX-License-Identifier: MIT
#include "holders/py_heap_types.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "python/python_layout.h"

/* Bases followed up to the builtin one at most: deeper hierarchies exist
 * but their slots are on the way and the builtin base decides the kind. */
#define MAX_BASES 32
#define MAX_MEMBERS 256
#define TYPE_HEAD_BYTES 416

static size_t slot_of(uint64_t addr, size_t cap)
{
	return (size_t)((addr >> 3) * 0x9e3779b97f4a7c15ULL >> 21) & (cap - 1);
}

static struct lt_py_heap_type *find(struct lt_py_type_cache *c, uint64_t addr)
{
	for (size_t i = slot_of(addr, c->cap);; i = (i + 1) & (c->cap - 1))
		if (c->slots[i].addr == addr || !c->slots[i].addr)
			return &c->slots[i];
}

static int grow(struct lt_py_type_cache *c)
{
	struct lt_py_heap_type *old = c->slots;
	size_t ocap = c->cap, ncap = ocap ? ocap * 2 : 256;

	c->slots = calloc(ncap, sizeof(*c->slots));
	if (!c->slots) {
		c->slots = old;
		return -ENOMEM;
	}
	c->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].addr)
			*find(c, old[i].addr) = old[i];
	free(old);
	return 0;
}

void lt_py_type_cache_free(struct lt_py_type_cache *c)
{
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

static void read_name(struct lt_heap_reader *r, uint64_t at, char *out, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		char ch;

		if (lt_heap_read(r, at + i, &ch, 1) || !ch)
			break;
		out[i] = (ch < 0x20 || ch == 0x7f) ? '?' : ch;
	}
	out[i] = '\0';
	if (!i)
		strcpy(out, "?");
}

/* The kind a builtin (static) type gives its instances and subclasses'. */
static enum lt_py_kind builtin_kind(const char *name)
{
	static const struct {
		const char *name;
		enum lt_py_kind kind;
	} known[] = {
		{ "set", LT_PY_KIND_SET },           { "frozenset", LT_PY_KIND_SET },
		{ "cell", LT_PY_KIND_CELL },         { "function", LT_PY_KIND_FUNCTION },
		{ "method", LT_PY_KIND_METHOD },     { "module", LT_PY_KIND_MODULE },
		{ "collections.deque", LT_PY_KIND_DEQUE },
		{ "object", LT_PY_KIND_PLAIN },      { "float", LT_PY_KIND_ATOM },
		{ "complex", LT_PY_KIND_ATOM },      { "bytearray", LT_PY_KIND_ATOM },
		{ "NoneType", LT_PY_KIND_ATOM },     { "range", LT_PY_KIND_ATOM },
		{ "decimal.Decimal", LT_PY_KIND_ATOM }, { "Exception", LT_PY_KIND_PLAIN },
		{ "BaseException", LT_PY_KIND_PLAIN },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(name, known[i].name))
			return known[i].kind;
	return LT_PY_KIND_OPAQUE;
}

/* The object members (__slots__) a heap type declares. */
static void add_slots(struct lt_heap_reader *r, uint64_t members, struct lt_py_heap_type *t)
{
	for (unsigned i = 0; members && i < MAX_MEMBERS && t->nslots < LT_PY_SLOTS_MAX; i++) {
		uint8_t m[LT_PY_MEMBER_DEF_BYTES];
		uint64_t name, offset;
		int32_t type;

		if (lt_heap_read(r, members + (uint64_t)i * sizeof(m), m, sizeof(m)))
			return;
		memcpy(&name, m, 8);
		memcpy(&type, m + 8, 4);
		memcpy(&offset, m + 16, 8);
		if (!name)
			return;
		if ((type == LT_PY_MEMBER_T_OBJECT_EX || type == LT_PY_MEMBER_T_OBJECT) &&
		    offset >= 16 && offset < (1u << 20))
			t->slots[t->nslots++] = (struct lt_py_slot){ (int32_t)offset, name };
	}
}

static void classify(struct lt_heap_reader *r, const struct lt_py_heap_layout *hl,
		     struct lt_py_heap_type *t)
{
	uint8_t head[TYPE_HEAD_BYTES];
	uint64_t name, base = t->addr, members;

	if (lt_heap_read(r, t->addr, head, sizeof(head))) {
		t->bad = true;
		strcpy(t->name, "?");
		return;
	}
	memcpy(&name, head + LT_PY_TP_NAME, 8);
	memcpy(&t->basicsize, head + LT_PY_TP_BASICSIZE, 8);
	memcpy(&t->itemsize, head + LT_PY_TP_ITEMSIZE, 8);
	memcpy(&t->flags, head + LT_PY_TP_FLAGS, 8);
	memcpy(&t->dictoffset, head + hl->tp_dictoffset, 8);
	read_name(r, name, t->name, sizeof(t->name));
	t->gc = t->flags & LT_PY_TPFLAGS_HAVE_GC;
	if (t->basicsize < 16 || t->basicsize > (1 << 20) || t->itemsize < 0 ||
	    t->itemsize > (1 << 20)) {
		t->bad = true;
		return;
	}
	if (t->flags & LT_PY_TPFLAGS_HEAPTYPE && hl->ht_cached_keys >= 0 &&
	    lt_heap_word(r, t->addr + (uint64_t)hl->ht_cached_keys, &t->cached_keys))
		t->cached_keys = 0;
	if (t->flags & LT_PY_TPFLAGS_LIST_SUBCLASS)
		t->kind = LT_PY_KIND_LIST;
	else if (t->flags & LT_PY_TPFLAGS_TUPLE_SUBCLASS)
		t->kind = LT_PY_KIND_TUPLE;
	else if (t->flags & LT_PY_TPFLAGS_DICT_SUBCLASS)
		t->kind = LT_PY_KIND_DICT;
	else if (t->flags & LT_PY_TPFLAGS_TYPE_SUBCLASS)
		t->kind = LT_PY_KIND_TYPE;
	else if (t->flags & (LT_PY_TPFLAGS_LONG_SUBCLASS | LT_PY_TPFLAGS_BYTES_SUBCLASS |
			     LT_PY_TPFLAGS_UNICODE_SUBCLASS))
		t->kind = LT_PY_KIND_ATOM;
	else
		t->kind = LT_PY_KIND_OPAQUE;
	/* Heap types up to the first builtin: their slots, and whether
	 * instances carry a __dict__; the builtin names the kind. */
	for (unsigned depth = 0; base && depth < MAX_BASES; depth++) {
		uint64_t flags, next;
		char bname[LT_PY_TYPE_NAME_MAX];

		if (lt_heap_word(r, base + LT_PY_TP_FLAGS, &flags) ||
		    lt_heap_word(r, base + (uint64_t)hl->tp_base, &next))
			break;
		if (!(flags & LT_PY_TPFLAGS_HEAPTYPE)) {
			if (t->kind == LT_PY_KIND_OPAQUE) {
				uint64_t bn;

				if (lt_heap_word(r, base + LT_PY_TP_NAME, &bn))
					break;
				read_name(r, bn, bname, sizeof(bname));
				t->kind = builtin_kind(bname);
			}
			break;
		}
		/* Extension modules' types are heap types from 3.12 or 3.13 on
		 * (collections.deque): a dotted name is a module's, never a
		 * class statement's. */
		if (t->kind == LT_PY_KIND_OPAQUE) {
			uint64_t bn;
			enum lt_py_kind k;

			if (lt_heap_word(r, base + LT_PY_TP_NAME, &bn))
				break;
			read_name(r, bn, bname, sizeof(bname));
			k = strchr(bname, '.') ? builtin_kind(bname) : LT_PY_KIND_OPAQUE;
			if (k != LT_PY_KIND_OPAQUE) {
				t->kind = k;
				break;
			}
		}
		t->attrs = true;
		if (!lt_heap_word(r, base + (uint64_t)hl->tp_members, &members))
			add_slots(r, members, t);
		base = next;
	}
}

const struct lt_py_heap_type *lt_py_type_get(struct lt_py_type_cache *c, struct lt_heap_reader *r,
					     const struct lt_py_heap_layout *hl, uint64_t addr)
{
	struct lt_py_heap_type *t;

	/* A hit never grows the table: callers keep what it returned while
	 * asking for the same type again. */
	if (c->cap) {
		t = find(c, addr);
		if (t->addr)
			return t;
	}
	if ((c->used + 1) * 2 > c->cap && grow(c))
		return NULL;
	t = find(c, addr);
	memset(t, 0, sizeof(*t));
	t->addr = addr;
	c->used++;
	classify(r, hl, t);
	return t;
}
