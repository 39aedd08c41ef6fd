/* SPDX-License-Identifier: MIT */
/*
 * CPython 3.13+'s reference tracer: one function pointer in _PyRuntime
 * (PyRefTracer_SetTracer) that is told of every object made, fresh or
 * taken from a free list, and of every object deallocated.
 *
 * Objects taken from a free list never reach the allocator, so only the
 * code that initialises them tells which line took them. In most builds
 * that is the function _Py_NewReference, which is probed. LTO builds
 * (Debian's 3.14 and 3.15) copy it into its callers (hundreds of copies);
 * every copy still calls the tracer pointer when it is set. Pointed at the
 * no-ops just before a function that returns at once (PyCriticalSection_End
 * in builds with the GIL), or, when a tracer is installed (tracemalloc),
 * before that tracer, the pointer changes nothing the process does, and a
 * probe on those no-ops sees each object made.
 */
#ifndef LT_PYTHON_REFTRACER_H
#define LT_PYTHON_REFTRACER_H

#include <stdint.h>

#include "symbols/elf_file.h"

struct lt_py_reftracer {
	uint64_t slot;       /* ELF vaddr of the tracer pointer (its data follows) */
	uint64_t noop_alias; /* ELF vaddr: no-ops running into a function that just returns */
};

/* runtime, runtime_size: _PyRuntime's ELF vaddr and size. Reads
 * PyRefTracer_GetTracer and PyCriticalSection_End. Returns 0, or -ENOENT
 * when the build has no tracer, or either is not found. */
int lt_py_find_reftracer(const struct lt_elf_file *ef, uint64_t runtime, uint64_t runtime_size,
			 struct lt_py_reftracer *out);

#endif
