/* SPDX-License-Identifier: MIT */
/*
 * The types met in a walk of a Python heap, read once each: what kind of
 * references their instances hold (a container whose layout is decoded, an
 * instance with a __dict__ or __slots__, an object holding none, or one
 * whose references cannot be decoded), and their names.
 */
#ifndef LT_PY_HEAP_TYPES_H
#define LT_PY_HEAP_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "holders/heap_reader.h"
#include "python/python_heap_layout.h"

enum lt_py_kind {
	LT_PY_KIND_OPAQUE = 0, /* holds references that are not decoded */
	LT_PY_KIND_ATOM,       /* holds none: str, bytes, int, float, ... */
	LT_PY_KIND_PLAIN,      /* object: only what its dict and slots hold */
	LT_PY_KIND_LIST,
	LT_PY_KIND_TUPLE,
	LT_PY_KIND_DICT,
	LT_PY_KIND_SET,
	LT_PY_KIND_CELL,
	LT_PY_KIND_FUNCTION,
	LT_PY_KIND_METHOD,
	LT_PY_KIND_MODULE,
	LT_PY_KIND_DEQUE,
	LT_PY_KIND_TYPE,
};

#define LT_PY_TYPE_NAME_MAX 96
#define LT_PY_SLOTS_MAX 64

struct lt_py_slot {
	int32_t offset;  /* from the object */
	uint64_t name;   /* char * in the process */
};

struct lt_py_heap_type {
	uint64_t addr;         /* 0: empty slot */
	uint64_t flags;
	int64_t basicsize, itemsize, dictoffset;
	uint64_t cached_keys;  /* ht_cached_keys of a heap type, else 0 */
	enum lt_py_kind kind;
	bool attrs;            /* instances may have a __dict__ or __slots__ (a class's) */
	bool gc;
	bool bad;              /* not readable as a type */
	uint8_t nslots;
	struct lt_py_slot slots[LT_PY_SLOTS_MAX]; /* object members of it and its bases */
	char name[LT_PY_TYPE_NAME_MAX];
};

struct lt_py_type_cache {
	struct lt_py_heap_type *slots;
	size_t cap, used;
};

void lt_py_type_cache_free(struct lt_py_type_cache *c);
/* The type at addr, read (through r) the first time it is asked for.
 * NULL only when out of memory; a type that cannot be read has bad set. */
const struct lt_py_heap_type *lt_py_type_get(struct lt_py_type_cache *c, struct lt_heap_reader *r,
					     const struct lt_py_heap_layout *hl, uint64_t addr);

#endif
