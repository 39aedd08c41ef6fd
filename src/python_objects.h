/* SPDX-License-Identifier: MIT */
/*
 * The Python objects of one traced interpreter: live GC-tracked objects by
 * address (with type and creating traceback), tracebacks deduplicated
 * exactly and resolved to function/file/line while the process lives, and
 * type names with the count last reported (for growth between reports).
 */
#ifndef LT_PYTHON_OBJECTS_H
#define LT_PYTHON_OBJECTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "leaktrace_events.h"
#include "live_table.h"
#include "python_code.h"
#include "python_target.h"
#include "stack_store.h"

struct lt_py_frame_loc {
	char *func;
	char *file;
	int line; /* 0 when unknown */
};

struct lt_py_traceback {
	struct lt_py_frame_loc *frames; /* innermost first, shims left out */
	uint32_t nframes;
};

struct lt_py_type {
	uint64_t type;          /* PyTypeObject address in the process */
	char *name;             /* tp_name; "?" when unreadable */
	uint64_t last_reported; /* live objects at the previous report */
	bool reported;          /* there was a previous report with this type */
};

struct lt_py_process {
	struct lt_py_interp interp;
	struct lt_py_reader reader;
	struct lt_live_table objects;  /* pad holds the index into types */
	struct lt_stack_store stacks;  /* (code, pos) pairs as two words per frame */
	struct lt_py_traceback *tracebacks; /* by stack id */
	size_t ntracebacks;
	struct lt_py_type *types;
	size_t ntypes, types_cap;
	uint64_t alloc_events;
	uint64_t free_events;
	uint64_t unmatched_frees; /* objects created before tracing started */
	bool finalizing;          /* Py_FinalizeEx began: the tables are what it held */
};

/* Returns 0, -ENOTSUP (unknown version) or -ENOMEM. */
int lt_py_process_init(struct lt_py_process *pp, pid_t pid, const struct lt_py_interp *interp);
void lt_py_process_free(struct lt_py_process *pp);
/* A new object (npy frames of e are valid). Returns 0 or -ENOMEM. */
int lt_py_process_add(struct lt_py_process *pp, const struct lt_py_alloc_event *e, uint32_t npy);
/* The id of the traceback of frames (resolved now if new), for native
 * allocations made under Python code (--native). Returns 0 or -ENOMEM. */
int lt_py_process_traceback(struct lt_py_process *pp, const struct lt_py_frame *frames,
			    uint32_t npy, uint32_t *id);
/* An object's memory was released. */
bool lt_py_process_remove(struct lt_py_process *pp, uint64_t addr);

#endif
