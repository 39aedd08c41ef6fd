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
#include "consume/live_table.h"
#include "python/python_code.h"
#include "python/python_target.h"
#include "consume/stack_store.h"

struct lt_py_frame_loc {
	char *func;
	char *file;
	int line; /* 0 when unknown */
};

struct lt_py_traceback {
	struct lt_py_frame_loc *frames; /* innermost first, shims left out */
	uint32_t nframes;
};

/* How many freed blocks are remembered (see lt_py_process_freed_recently). */
#define LT_PY_RECENT_FREES 16

/* The pad of a live block whose type has not been read yet. */
#define LT_PY_TYPE_UNSETTLED LT_LIVE_PAD_UNSET

/* Pseudo type addresses: blocks that hold no object, and blocks that could
 * not be read (the process was gone). */
#define LT_PY_TYPE_BUFFER 1
#define LT_PY_TYPE_UNREAD 2

/* What is known of an address seen where an object's type pointer sits. */
struct lt_py_type_seen {
	uint64_t addr;  /* 0: empty slot */
	int32_t index;  /* into lt_py_process.types; -1: not a type object */
	uint64_t flags; /* its tp_flags */
	uint64_t exact_size; /* its instances' block size past the object's offset, or 0
			      * when it varies (tp_itemsize, or str's compact forms) */
	uint32_t pass;  /* the settle pass that found it no type: memory can become
			 * one later (a class made there, a type made ready) */
};

struct lt_py_type {
	uint64_t type;          /* PyTypeObject address in the process (or LT_PY_TYPE_*) */
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
	uint64_t unsettled;       /* live blocks whose type is still to be read */
	uint64_t *pending;        /* their addresses (and of some freed since) */
	uint64_t recent_frees[LT_PY_RECENT_FREES]; /* the last blocks freed, by address */
	uint32_t recent_next;
	size_t npending, pending_cap;
	struct lt_py_type_seen *seen; /* open addressing by addr */
	size_t seen_cap, nseen;
	uint32_t settle_pass;
	bool finalizing;          /* Py_FinalizeEx began: the tables are what it held */
	struct lt_py_redirected redirected; /* its allocator tables we pointed */
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
/* An object at e->addr was taken from a free list: the block holding it
 * is charged to e's traceback, from now. Returns 0 or -ENOMEM. */
int lt_py_process_reuse(struct lt_py_process *pp, const struct lt_py_alloc_event *e, uint32_t npy);
/* A code object BPF copied as it ran: it names frames even once freed.
 * Returns 0 or -ENOMEM (a copy that is not a code object is ignored). */
int lt_py_process_code_copy(struct lt_py_process *pp, const struct lt_py_code_event *e);
/* Was addr one of the last blocks the object allocator freed? */
bool lt_py_process_freed_recently(const struct lt_py_process *pp, uint64_t addr);
/* Index of type in pp->types, added (its name read now) if new; type may
 * be a LT_PY_TYPE_* pseudo address. Returns it or -ENOMEM. */
long lt_py_process_type(struct lt_py_process *pp, uint64_t type);

#endif
