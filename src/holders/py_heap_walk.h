/* SPDX-License-Identifier: MIT */
/*
 * A walk of a Python process's heap from outside, into a graph
 * (heap_graph.h): every object the garbage collector tracks (its
 * generation lists), sys.modules, the frames running on each thread, and,
 * from each of them, every object their decoded references reach (which
 * takes in the containers the collector does not track, such as a dict of
 * strings). Modules' and classes' dicts and frames are marked as roots.
 */
#ifndef LT_PY_HEAP_WALK_H
#define LT_PY_HEAP_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "holders/heap_graph.h"
#include "holders/py_referents.h"

/* A frame running when the heap was walked: a root, its locals held. */
struct lt_py_frame_root {
	uint64_t frame;    /* the frame (3.11+: _PyInterpreterFrame, before: PyFrameObject) */
	uint64_t code;
	uint32_t tid;      /* the thread's id (3.11+; else 0) */
	uint32_t nlocals;
};

struct lt_py_walk {
	struct lt_py_heap *heap;
	struct lt_heap_graph graph;
	struct lt_py_frame_root *frames;
	size_t nframes, frames_cap;
	uint64_t gc_objects;   /* met on the collector's lists */
	uint64_t unreadable;   /* references that led nowhere readable */
	bool lists_cut;        /* a list ended before its head (changed under us) */
	/* Called once, when the walk has run for past deadline_ns (monotonic):
	 * where the caller lets the process go on; 0 = no deadline. */
	uint64_t deadline_ns;
	void (*on_deadline)(void *arg);
	void *deadline_arg;
	bool deadline_hit;
	uint64_t steps;
};

/* Walks h's process into w->graph (w->heap set, the rest zeroed), then
 * seals it. Returns 0 or -errno (-ESRCH: gone, -EINVAL: the interpreter's
 * state does not read as this version's). */
int lt_py_walk_heap(struct lt_py_walk *w);
void lt_py_walk_free(struct lt_py_walk *w);

/* The frame node's pseudo address: frames are not objects, and an odd
 * address is never one. */
static inline uint64_t lt_py_frame_node_addr(uint64_t frame)
{
	return frame | 1;
}

/* The fast local i of a frame (tags cleared), 0 if none. */
int lt_py_frame_local(struct lt_py_heap *h, uint64_t frame, uint32_t i, uint64_t *out);
/* The name of local i of code (a str object), 0 when unknown. */
uint64_t lt_py_local_name(struct lt_py_heap *h, uint64_t code, uint32_t i);

#endif
