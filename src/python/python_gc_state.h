/* SPDX-License-Identifier: MIT */
/*
 * The garbage collector's state of a CPython process, read from outside:
 * what gc.isenabled(), gc.get_debug(), gc.get_count(), gc.get_threshold(),
 * gc.get_stats() and len(gc.garbage) would say in it, and which types
 * fill gc.garbage (where uncollectable cycles, and with DEBUG_SAVEALL every
 * collected object, end up: a leak of its own).
 *
 * The process keeps running: the fields are read one after the other, not
 * under its lock, so a collection in between can leave them a collection
 * apart from each other.
 */
#ifndef LT_PYTHON_GC_STATE_H
#define LT_PYTHON_GC_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LT_PY_GC_GENS 3
#define LT_PY_GC_TYPES_MAX 8
/* Items of gc.garbage whose types are counted; the rest are only counted. */
#define LT_PY_GC_GARBAGE_READ_MAX 100000

struct lt_py_gc_gen {
	uint64_t count;        /* what gc.get_count() gives for this generation */
	uint64_t threshold;    /* gc.get_threshold() */
	uint64_t collections, collected, uncollectable; /* gc.get_stats() */
};

struct lt_py_gc_type_count {
	char name[96]; /* tp_name: NUL-terminated, control characters as '?' */
	uint64_t count;
};

struct lt_py_gc_state {
	bool enabled;          /* gc.isenabled() */
	uint32_t debug;        /* gc.get_debug() flags */
	struct lt_py_gc_gen gens[LT_PY_GC_GENS];
	uint64_t garbage;      /* len(gc.garbage) */
	/* most common types in gc.garbage, count desc, then name */
	struct lt_py_gc_type_count garbage_types[LT_PY_GC_TYPES_MAX];
	uint32_t ngarbage_types;
	/* how many gc.garbage items were read for the types (the first
	 * LT_PY_GC_GARBAGE_READ_MAX at most) */
	uint64_t garbage_types_read;
};

/* Reads it from pid (CPython 3.minor, _PyRuntime at runtime). Returns 0,
 * -ENOTSUP (no layout for minor), -EINVAL (what is read does not check out:
 * e.g. enabled not 0/1, thresholds absurd, garbage not a list), or a read error
 * (-ESRCH gone, -EFAULT, -EPERM). */
int lt_py_gc_state_read(pid_t pid, uint32_t minor, uint64_t runtime, struct lt_py_gc_state *out);

#endif
