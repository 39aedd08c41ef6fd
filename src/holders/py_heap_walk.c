// SPDX-License-Identifier: MIT
#include "holders/py_heap_walk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/grow_array.h"

#define MAX_LIST_OBJECTS (1ull << 31)
#define MAX_THREADS 4096
#define MAX_FRAMES 1024
#define MAX_LOCALS 4096
#define DEADLINE_EVERY 1024

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Called at every step (object met, reference added): the clock is read
 * every DEADLINE_EVERY steps, so that one huge container cannot stretch
 * the pause. */
static void check_deadline(struct lt_py_walk *w)
{
	if (!w->deadline_ns || w->deadline_hit || ++w->steps % DEADLINE_EVERY ||
	    now_ns() < w->deadline_ns)
		return;
	w->deadline_hit = true;
	if (w->on_deadline)
		w->on_deadline(w->deadline_arg);
}

void lt_py_walk_free(struct lt_py_walk *w)
{
	lt_heap_graph_free(&w->graph);
	free(w->frames);
	w->frames = NULL;
	w->nframes = w->frames_cap = 0;
}

static int word(struct lt_py_walk *w, uint64_t at, uint64_t *out)
{
	return lt_heap_word(&w->heap->reader, at, out);
}

/* The objects on one of the collector's lists (a circular list of
 * PyGC_Head, the object right after each). */
static int walk_list(struct lt_py_walk *w, uint64_t head)
{
	uint64_t at, count = 0;
	int err;

	if ((err = word(w, head, &at)))
		return err;
	at &= ~3ull; /* low bits flag objects while a collection runs */
	while (at != head) {
		bool made;

		if (++count > MAX_LIST_OBJECTS || !at) {
			w->lists_cut = true;
			return 0;
		}
		if (lt_heap_graph_add(&w->graph, at + LT_PY_GC_HEAD_BYTES, &made) == LT_HEAP_NONE)
			return -ENOMEM;
		/* A node met twice means the list changed under us: stop there. */
		if (!made) {
			w->lists_cut = true;
			return 0;
		}
		w->gc_objects++;
		if (word(w, at, &at)) {
			w->lists_cut = true;
			return 0;
		}
		at &= ~3ull;
		check_deadline(w);
	}
	return 0;
}

int lt_py_frame_local(struct lt_py_heap *h, uint64_t frame, uint32_t i, uint64_t *out)
{
	int err = lt_heap_word(&h->reader, frame + (uint64_t)h->hl->frame_localsplus + i * 8ull, out);

	if (!err && h->hl->localsplus_tagged)
		*out &= ~3ull;
	return err;
}

static int tuple_item(struct lt_py_heap *h, uint64_t tuple, uint64_t i, uint64_t *out, uint64_t *len)
{
	uint64_t n;
	int err;

	*out = 0;
	if (!tuple || (err = lt_heap_word(&h->reader, tuple + LT_PY_VAR_SIZE, &n)))
		return -EINVAL;
	if (len)
		*len = n;
	if (i >= n)
		return -ERANGE;
	return lt_heap_word(&h->reader, tuple + (uint64_t)h->hl->tuple_items + i * 8, out);
}

/* How many fast locals a frame of code has. */
static uint32_t count_locals(struct lt_py_heap *h, uint64_t code)
{
	const struct lt_py_heap_layout *hl = h->hl;
	uint64_t tuple, n, item;
	int32_t count = 0;

	if (hl->co_nlocalsplus >= 0) {
		if (lt_heap_read(&h->reader, code + (uint64_t)hl->co_nlocalsplus, &count, 4))
			return 0;
	} else {
		if (lt_heap_read(&h->reader, code + (uint64_t)hl->co_nlocals, &count, 4))
			return 0;
		if (!lt_heap_word(&h->reader, code + (uint64_t)hl->co_cellvars, &tuple) &&
		    tuple_item(h, tuple, 0, &item, &n) != -EINVAL)
			count += (int32_t)n;
		if (!lt_heap_word(&h->reader, code + (uint64_t)hl->co_freevars, &tuple) &&
		    tuple_item(h, tuple, 0, &item, &n) != -EINVAL)
			count += (int32_t)n;
	}
	return count > 0 && count <= MAX_LOCALS ? (uint32_t)count : 0;
}

uint64_t lt_py_local_name(struct lt_py_heap *h, uint64_t code, uint32_t i)
{
	const struct lt_py_heap_layout *hl = h->hl;
	uint64_t tuple, name = 0, n = 0;
	int32_t nlocals;

	if (hl->co_localsplusnames >= 0) {
		if (!lt_heap_word(&h->reader, code + (uint64_t)hl->co_localsplusnames, &tuple))
			tuple_item(h, tuple, i, &name, NULL);
		return name;
	}
	if (lt_heap_read(&h->reader, code + (uint64_t)hl->co_nlocals, &nlocals, 4) || nlocals < 0)
		return 0;
	if (i < (uint32_t)nlocals) {
		if (!lt_heap_word(&h->reader, code + (uint64_t)hl->co_varnames, &tuple))
			tuple_item(h, tuple, i, &name, NULL);
		return name;
	}
	i -= (uint32_t)nlocals;
	if (!lt_heap_word(&h->reader, code + (uint64_t)hl->co_cellvars, &tuple) &&
	    tuple_item(h, tuple, i, &name, &n) != -ERANGE)
		return name;
	i -= (uint32_t)n;
	if (!lt_heap_word(&h->reader, code + (uint64_t)hl->co_freevars, &tuple))
		tuple_item(h, tuple, i, &name, NULL);
	return name;
}

static int add_frame(struct lt_py_walk *w, uint64_t frame, uint64_t code, uint32_t tid)
{
	struct lt_py_heap *h = w->heap;
	uint32_t nlocals = count_locals(h, code), node;
	struct lt_py_frame_root *frames;
	bool made;
	int err;

	if (!nlocals)
		return 0;
	frames = lt_grow(w->frames, &w->frames_cap, w->nframes + 1, sizeof(*w->frames));
	if (!frames)
		return -ENOMEM;
	w->frames = frames;
	node = lt_heap_graph_add(&w->graph, lt_py_frame_node_addr(frame), &made);
	if (node == LT_HEAP_NONE)
		return -ENOMEM;
	if (!made)
		return 0;
	w->frames[w->nframes] = (struct lt_py_frame_root){ frame, code, tid, nlocals };
	w->graph.nodes[node].root = LT_HEAP_ROOT_FRAME;
	w->graph.nodes[node].owner = (uint32_t)w->nframes++;
	w->graph.nodes[node].decoded = 1;
	lt_heap_graph_begin(&w->graph, node, false);
	for (uint32_t i = 0; i < nlocals; i++) {
		uint64_t v;
		uint32_t to;

		if (lt_py_frame_local(h, frame, i, &v) || !v)
			continue;
		to = lt_heap_graph_add(&w->graph, v, &made);
		if (to == LT_HEAP_NONE)
			return -ENOMEM;
		if ((err = lt_heap_graph_edge(&w->graph, node, to, false)))
			return err;
	}
	return 0;
}

/* The Python frames running on one thread, innermost first. */
static int walk_frames(struct lt_py_walk *w, uint64_t tstate)
{
	struct lt_py_heap *h = w->heap;
	const struct lt_py_layout *fl = h->frames;
	uint64_t frame, tid = 0;
	int err;

	if (h->hl->tstate_native_id >= 0 &&
	    lt_heap_word(&h->reader, tstate + (uint64_t)h->hl->tstate_native_id, &tid))
		tid = 0;
	if (word(w, tstate + fl->tstate_frame, &frame))
		return 0;
	if (fl->cframe_frame >= 0 && frame && word(w, frame + (uint64_t)fl->cframe_frame, &frame))
		return 0;
	for (unsigned depth = 0; frame && depth < MAX_FRAMES; depth++) {
		uint64_t code;
		uint8_t owner = 0;

		if (word(w, frame + fl->frame_code, &code))
			return 0;
		if (h->hl->localsplus_tagged)
			code &= ~3ull;
		if (fl->frame_owner >= 0 &&
		    lt_heap_read(&h->reader, frame + (uint64_t)fl->frame_owner, &owner, 1))
			return 0;
		if ((fl->frame_owner < 0 || owner < fl->owner_skip) && code &&
		    (err = add_frame(w, frame, code, (uint32_t)tid)))
			return err;
		if (word(w, frame + fl->frame_back, &frame))
			return 0;
	}
	return 0;
}

static int walk_threads(struct lt_py_walk *w, uint64_t interp)
{
	uint64_t tstate;
	int err;

	if (word(w, interp + (uint64_t)w->heap->hl->interp_threads, &tstate))
		return 0;
	for (unsigned n = 0; tstate && n < MAX_THREADS; n++) {
		if ((err = walk_frames(w, tstate)))
			return err;
		if (word(w, tstate + (uint64_t)w->heap->hl->tstate_next, &tstate))
			return 0;
	}
	return 0;
}

struct decode_arg {
	struct lt_py_walk *w;
	uint32_t holder;
	enum lt_py_kind kind;
	bool conservative;
};

static int on_ref(void *arg, const struct lt_py_ref *ref)
{
	struct decode_arg *a = arg;
	struct lt_heap_graph *g = &a->w->graph;
	uint32_t to;
	bool made;

	if (a->conservative) {
		/* A word of an object not decoded counts only where it is the
		 * address of an object already met. */
		to = lt_heap_graph_find(g, ref->to);
		if (to == LT_HEAP_NONE || to == a->holder)
			return 0;
		return lt_heap_graph_edge(g, a->holder, to, true);
	}
	check_deadline(a->w);
	to = lt_heap_graph_add(g, ref->to, &made);
	if (to == LT_HEAP_NONE)
		return -ENOMEM;
	if (ref->how == LT_PY_HOW_MODULE_DICT || ref->how == LT_PY_HOW_TYPE_DICT) {
		struct lt_heap_node *d = &g->nodes[to];

		d->root = ref->how == LT_PY_HOW_MODULE_DICT ? LT_HEAP_ROOT_MODULE : LT_HEAP_ROOT_CLASS;
		d->owner = a->holder;
	}
	return lt_heap_graph_edge(g, a->holder, to, false);
}

/* Every node met so far, in the order met, decoded: nodes met meanwhile
 * are decoded in turn. */
static int decode_all(struct lt_py_walk *w)
{
	struct lt_heap_graph *g = &w->graph;

	for (size_t i = 0; i < g->n; i++) {
		struct lt_heap_node *nd = &g->nodes[i];
		const struct lt_py_heap_type *t;
		struct decode_arg a = { w, (uint32_t)i, 0, false };
		uint64_t addr = nd->addr;
		int err;

		if (nd->decoded)
			continue;
		nd->decoded = 1;
		check_deadline(w);
		if ((addr & 7) || !(nd->type = lt_py_type_of(w->heap, addr))) {
			w->unreadable++;
			continue;
		}
		t = lt_py_type_get(&w->heap->types, &w->heap->reader, w->heap->hl, nd->type);
		if (!t)
			return -ENOMEM;
		if (t->bad) {
			w->unreadable++;
			continue;
		}
		lt_heap_graph_begin(g, (uint32_t)i, false);
		err = lt_py_referents(w->heap, addr, t, false, on_ref, &a);
		if (err == -ENOMEM || err == -E2BIG || err == -ESRCH)
			return err;
	}
	return 0;
}

/* References of objects whose layout is not decoded, guessed from their
 * words: only to objects met, and kept apart (chains through them are
 * named as such). */
static int decode_opaque(struct lt_py_walk *w)
{
	struct lt_heap_graph *g = &w->graph;
	size_t n = g->n;

	for (size_t i = 0; i < n; i++) {
		struct lt_heap_node *nd = &g->nodes[i];
		const struct lt_py_heap_type *t;
		struct decode_arg a = { w, (uint32_t)i, 0, true };
		int err;

		if (!nd->type || nd->root == LT_HEAP_ROOT_FRAME)
			continue;
		t = lt_py_type_get(&w->heap->types, &w->heap->reader, w->heap->hl, nd->type);
		if (!t)
			return -ENOMEM;
		if (t->bad || t->kind != LT_PY_KIND_OPAQUE || !t->gc)
			continue;
		lt_heap_graph_begin(g, (uint32_t)i, true);
		err = lt_py_referents(w->heap, nd->addr, t, true, on_ref, &a);
		if (err == -ENOMEM || err == -E2BIG || err == -ESRCH)
			return err;
	}
	return 0;
}

int lt_py_walk_heap(struct lt_py_walk *w)
{
	struct lt_py_heap *h = w->heap;
	const struct lt_py_heap_layout *hl = h->hl;
	uint64_t interp, state, modules;
	bool made;
	int err;

	if ((err = word(w, h->runtime + (uint64_t)hl->rt_interp_head, &interp)))
		return err == -EFAULT ? -EINVAL : err;
	if (!interp)
		return -EINVAL;
	state = (hl->gc_in_runtime ? h->runtime : interp) + (uint64_t)hl->gc_state;
	for (size_t l = 0; l < sizeof(hl->gc_lists) / sizeof(hl->gc_lists[0]); l++) {
		if (hl->gc_lists[l] < 0)
			break;
		if ((err = walk_list(w, state + (uint64_t)hl->gc_lists[l])))
			return err == -EFAULT ? -EINVAL : err;
	}
	if (!word(w, interp + (uint64_t)hl->interp_modules, &modules) && modules &&
	    lt_heap_graph_add(&w->graph, modules, &made) == LT_HEAP_NONE)
		return -ENOMEM;
	if ((err = walk_threads(w, interp)))
		return err;
	if ((err = decode_all(w)) || (err = decode_opaque(w)))
		return err;
	return lt_heap_graph_seal(&w->graph);
}
