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

#include "python_allocator.h"

/* Runtime addresses in one process. */
struct lt_py_redirect {
	uint64_t tables[2]; /* the object domain's table, the memory domain's (or 0) */
	uint64_t fn[LT_PY_ALLOC_COUNT];
	uint64_t alias[LT_PY_ALLOC_COUNT];
};

/* How many hooks deep a table is looked for. */
#define LT_PY_REDIRECT_DEPTH 4

/* Tables now pointing at the aliases, to point back. */
struct lt_py_redirected {
	uint64_t tables[2];
	size_t n;
};

/*
 * Points the tables of plan, or the ones hooks on top of them call, at the
 * aliases. own_child: pid is our -c child. Returns 0 with at least the
 * object domain's table pointed, or -errno and a one-line reason in err
 * (then nothing is left changed).
 */
int lt_py_redirect_apply(pid_t pid, bool own_child, const struct lt_py_redirect *plan,
			 struct lt_py_redirected *done, char *err, size_t errlen);
/* Points them back where they still hold the aliases. Returns 0 or -errno. */
int lt_py_redirect_restore(pid_t pid, bool own_child, const struct lt_py_redirect *plan,
			   struct lt_py_redirected *done, char *err, size_t errlen);

#endif
