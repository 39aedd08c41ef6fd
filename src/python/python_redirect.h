/* SPDX-License-Identifier: MIT */
/*
 * Making a build that inlines CPython's object allocator call it again.
 *
 * Such a build (Debian's python3.11: profile-guided devirtualization) runs
 * its own copy of pymalloc wherever the allocator table still holds the
 * default function, and calls through the table otherwise. Pointing the
 * table at the no-op padding just before each default function (struct
 * lt_py_allocator's alias) sends every call through the table into the
 * same function: nothing the process does changes but the path, and the
 * probes sit on those no-ops. A hook installed on top (tracemalloc keeps
 * the table it replaced in its ctx) is followed, and the table it calls is
 * the one pointed.
 *
 * The table is written with every thread of the process held still
 * (thread_pause.h), and written back the same way when tracing ends. A
 * process left pointed (leaktrace killed) keeps working unchanged.
 */
#ifndef LT_PYTHON_REDIRECT_H
#define LT_PYTHON_REDIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "python/python_allocator.h"

/* Runtime addresses in one process. */
struct lt_py_redirect {
	uint64_t tables[2]; /* the object domain's table, the memory domain's (or 0) */
	uint64_t fn[LT_PY_ALLOC_COUNT];
	uint64_t alias[LT_PY_ALLOC_COUNT];
	/* The reference tracer pointer and the no-ops it is pointed at when
	 * no tracer is installed (python_reftracer.h); 0: not used. */
	uint64_t tracer_slot, tracer_noop;
};

/* How many hooks deep a table is looked for. */
#define LT_PY_REDIRECT_DEPTH 4

/* Tables now pointing at the aliases, to point back. */
struct lt_py_redirected {
	uint64_t tables[2];
	size_t n;
	/* The tracer pointer: what it held, what it was pointed at (0: not). */
	uint64_t tracer_was, tracer_now;
};

/*
 * Where the reference tracer pointer of plan would be pointed: the no-ops
 * before the tracer installed (*was), or past its endbr64, at an address
 * the callers' inlined check for tracemalloc's tracer does not know; plan's
 * no-op when none is installed.
 * Read without stopping the process, so that the probe can be there first;
 * lt_py_redirect_apply points it only if it still holds *was. Returns 0, or
 * -ENOENT when the installed tracer has no such entry.
 */
int lt_py_reftracer_target(pid_t pid, const struct lt_py_redirect *plan, uint64_t *target,
			   uint64_t *was);

/*
 * Points the tables of plan, or the ones hooks on top of them call, at the
 * aliases, and, when tracer_target is not 0, the tracer pointer at it if it
 * still holds tracer_was. own_child: pid is our -c child. Returns 0 with at
 * least the object domain's table pointed, or -errno and a one-line reason
 * in err (then nothing is left changed).
 */
int lt_py_redirect_apply(pid_t pid, bool own_child, const struct lt_py_redirect *plan,
			 uint64_t tracer_target, uint64_t tracer_was,
			 struct lt_py_redirected *done, char *err, size_t errlen);
/* Points them (and the tracer pointer) back where they still hold what was
 * written. Returns 0 or -errno. */
int lt_py_redirect_restore(pid_t pid, bool own_child, const struct lt_py_redirect *plan,
			   struct lt_py_redirected *done, char *err, size_t errlen);

#endif
