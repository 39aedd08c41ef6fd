/* SPDX-License-Identifier: MIT */
/*
 * The references one Python object holds, decoded from its type's layout
 * in the version at hand: what a container's slots point to, and how (the
 * index, the key, the attribute), so that a link of a chain can be named
 * and checked again later by decoding its holder once more.
 */
#ifndef LT_PY_REFERENTS_H
#define LT_PY_REFERENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "holders/heap_reader.h"
#include "holders/py_heap_types.h"
#include "python/python_heap_layout.h"
#include "python/python_layout.h"

enum lt_py_how {
	LT_PY_HOW_INDEX = 1,   /* list, tuple, deque: key = index */
	LT_PY_HOW_DICT_VALUE,  /* key = the key object */
	LT_PY_HOW_DICT_KEY,    /* key = the key object (the referent itself) */
	LT_PY_HOW_ATTR,        /* an instance's __dict__ entry: key = the name (str) */
	LT_PY_HOW_SLOT,        /* an instance's __slots__ member: key = char * name */
	LT_PY_HOW_SET,         /* an element of a set */
	LT_PY_HOW_CELL,        /* cell_contents */
	LT_PY_HOW_CLOSURE,     /* a function's __closure__[key] */
	LT_PY_HOW_GLOBALS,     /* a function's __globals__ */
	LT_PY_HOW_DEFAULTS,    /* __defaults__ */
	LT_PY_HOW_KWDEFAULTS,  /* __kwdefaults__ */
	LT_PY_HOW_FUNC_DICT,   /* a function's __dict__ */
	LT_PY_HOW_SELF,        /* a bound method's __self__ */
	LT_PY_HOW_FUNC,        /* a bound method's __func__ */
	LT_PY_HOW_MODULE_DICT, /* a module's __dict__ */
	LT_PY_HOW_TYPE_DICT,   /* a class's __dict__ */
	LT_PY_HOW_LOCAL,       /* a frame's local: key = index into its code's names */
	LT_PY_HOW_OPAQUE,      /* a word of an object not decoded: key = its offset */
};

struct lt_py_ref {
	uint64_t to;
	enum lt_py_how how;
	uint64_t key;
	/* Where it was read, so that it can be checked again with two reads:
	 * the word at `at` still to, and the holder's word at base_at (its
	 * pointer to the array at holds a slot of; 0: at is in the holder
	 * itself) still base, so that an array since moved is not trusted. */
	uint64_t at, base_at, base;
};

/* What the decoding reads with. */
struct lt_py_heap {
	pid_t pid;
	uint32_t minor;
	const struct lt_py_heap_layout *hl;
	const struct lt_py_version_info *info;
	const struct lt_py_layout *frames;
	uint64_t runtime;
	struct lt_heap_reader reader;
	struct lt_py_type_cache types;
};

/* Returns nonzero to stop the decoding, which then returns that value. */
typedef int (*lt_py_ref_fn)(void *arg, const struct lt_py_ref *ref);

/*
 * Calls fn for each reference obj (of type t) holds, in slot order.
 * opaque: also every aligned word inside an object whose type is not
 * decoded (LT_PY_HOW_OPAQUE), which the caller keeps only where it is the
 * address of an object it knows. Returns 0, what fn returned, or -errno
 * when obj cannot be read (its references are then partly given).
 */
int lt_py_referents(struct lt_py_heap *h, uint64_t obj, const struct lt_py_heap_type *t,
		    bool opaque, lt_py_ref_fn fn, void *arg);

/* ob_type of obj, 0 if unreadable. */
uint64_t lt_py_type_of(struct lt_py_heap *h, uint64_t obj);

#endif
