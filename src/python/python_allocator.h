/* SPDX-License-Identifier: MIT */
/*
 * CPython's object allocator, found in an interpreter file: the functions
 * its table (PyMemAllocatorEx: ctx, malloc, calloc, realloc, free) points
 * to by default. Every object, GC-tracked or not, and every object-domain
 * buffer (list items, dict keys, bytearray storage) is allocated and freed
 * through them, unless the build copied their bodies into each caller
 * behind a check of the table (profile-guided speculative devirtualization,
 * as in Debian's python3.11): then most calls never reach them.
 */
#ifndef LT_PYTHON_ALLOCATOR_H
#define LT_PYTHON_ALLOCATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "symbols/elf_file.h"

enum lt_py_alloc_fn {
	LT_PY_ALLOC_MALLOC, /* (ctx, size) */
	LT_PY_ALLOC_CALLOC, /* (ctx, nelem, elsize) */
	LT_PY_ALLOC_REALLOC, /* (ctx, ptr, size) */
	LT_PY_ALLOC_FREE,   /* (ctx, ptr) */
	LT_PY_ALLOC_COUNT,
};

struct lt_py_allocator {
	uint64_t table;                   /* ELF vaddr of the table's ctx slot */
	/* PyMem_Malloc's table (list items, ...) when it starts out with the
	 * same functions, as with pymalloc (the default); else 0. */
	uint64_t mem_table;
	uint64_t fn[LT_PY_ALLOC_COUNT];   /* ELF vaddrs of the default functions */
	/* An address a few bytes before fn[i] from which only no-ops run into
	 * it: the same function to a caller, at an address the inlined copies'
	 * check does not know. 0 when the padding before fn[i] is no no-op. */
	uint64_t alias[LT_PY_ALLOC_COUNT];
	bool inlined; /* callers compare the table with fn[] and run a copy of it */
};

/*
 * Reads PyObject_Malloc's code to find the table, and the table's initial
 * contents (relocations included) to find the functions. runtime is
 * _PyRuntime's ELF vaddr (3.12+ keep the table in it), 0 if unknown.
 * Returns 0, or -ENOENT when the table or its functions cannot be found.
 */
int lt_py_find_allocator(const struct lt_elf_file *ef, uint64_t runtime,
			 struct lt_py_allocator *out);

#endif
