// SPDX-License-Identifier: MIT
#include "python/python_objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"

int lt_py_process_init(struct lt_py_process *pp, pid_t pid, const struct lt_py_interp *interp)
{
	int err;

	memset(pp, 0, sizeof(*pp));
	pp->interp = *interp;
	lt_live_init(&pp->objects);
	lt_stacks_init(&pp->stacks);
	err = lt_py_reader_init_info(&pp->reader, pid, &pp->interp.info, interp->code_type);
	/* GC-only probes never see a code object freed. */
	pp->reader.frees_reported = interp->objects == LT_PY_OBJECTS_ALL;
	return err;
}

static void free_traceback(struct lt_py_traceback *tb)
{
	for (uint32_t i = 0; i < tb->nframes; i++) {
		free(tb->frames[i].func);
		free(tb->frames[i].file);
	}
	free(tb->frames);
}

void lt_py_process_free(struct lt_py_process *pp)
{
	for (size_t i = 0; i < pp->ntracebacks; i++)
		free_traceback(&pp->tracebacks[i]);
	free(pp->tracebacks);
	for (size_t i = 0; i < pp->ntypes; i++)
		free(pp->types[i].name);
	free(pp->types);
	free(pp->seen);
	free(pp->pending);
	lt_live_free(&pp->objects);
	lt_stacks_free(&pp->stacks);
	lt_py_reader_free(&pp->reader);
	memset(pp, 0, sizeof(*pp));
}

static const char *pseudo_name(uint64_t type)
{
	switch (type) {
	case LT_PY_TYPE_BUFFER: return "(buffer)";
	case LT_PY_TYPE_UNREAD: return "(unread)";
	}
	return NULL;
}

long lt_py_process_type(struct lt_py_process *pp, uint64_t type)
{
	struct lt_py_type *grown;
	const char *name;

	/* Few types per process, and the last one seen usually comes again. */
	for (size_t i = pp->ntypes; i-- > 0;)
		if (pp->types[i].type == type)
			return (long)i;
	grown = lt_grow(pp->types, &pp->types_cap, pp->ntypes + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pp->types = grown;
	name = pseudo_name(type);
	if (!name)
		name = lt_py_type_name(&pp->reader, type);
	memset(&pp->types[pp->ntypes], 0, sizeof(pp->types[0]));
	pp->types[pp->ntypes].type = type;
	pp->types[pp->ntypes].name = strdup(name ? name : "?");
	if (!pp->types[pp->ntypes].name)
		return -ENOMEM;
	return (long)pp->ntypes++;
}

/* Reads the code objects now: they can be freed once the frames return. */
static int resolve_traceback(struct lt_py_process *pp, uint32_t id, const struct lt_py_frame *fr,
			     uint32_t n)
{
	struct lt_py_traceback *tb;

	/* By stack id, with gaps: readers walk all ntracebacks slots, so new ones are zeroed. */
	if (id >= pp->ntracebacks) {
		size_t had = pp->ntracebacks;
		struct lt_py_traceback *grown = lt_grow(pp->tracebacks, &pp->ntracebacks,
							(size_t)id + 1, sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		memset(grown + had, 0, (pp->ntracebacks - had) * sizeof(*grown));
		pp->tracebacks = grown;
	}
	tb = &pp->tracebacks[id];
	tb->frames = calloc(n ? n : 1, sizeof(*tb->frames));
	if (!tb->frames)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct lt_py_location loc;
		struct lt_py_frame_loc *out = &tb->frames[tb->nframes];

		if (lt_py_resolve_frame(&pp->reader, fr[i].code, fr[i].pos, &loc)) {
			loc.func = "?";
			loc.file = "?";
			loc.line = 0;
			loc.drop = false;
		}
		if (loc.drop)
			continue;
		out->func = strdup(loc.func);
		out->file = strdup(loc.file);
		out->line = loc.line;
		tb->nframes++;
		if (!out->func || !out->file)
			return -ENOMEM;
	}
	return 0;
}

int lt_py_process_traceback(struct lt_py_process *pp, const struct lt_py_frame *frames,
			    uint32_t npy, uint32_t *id)
{
	bool is_new;
	int err;

	/* (code, pos) pairs are two words each: the stack store dedups them exactly. */
	err = lt_stacks_intern(&pp->stacks, (const uint64_t *)frames, npy * 2, id, &is_new);
	if (err || !is_new)
		return err;
	return resolve_traceback(pp, *id, frames, npy);
}

int lt_py_process_add(struct lt_py_process *pp, const struct lt_py_alloc_event *e, uint32_t npy)
{
	struct lt_live_alloc a = { 0 }, old;
	bool was_unsettled;
	long t;
	int err;

	pp->alloc_events++;
	/* A block from the allocator functions: its type is read later, once
	 * its creator has filled in the header. */
	t = e->type ? lt_py_process_type(pp, e->type) : LT_PY_TYPE_UNSETTLED;
	if (t < 0)
		return (int)t;
	err = lt_py_process_traceback(pp, e->frames, npy, &a.stack_id);
	if (err)
		return err;
	a.addr = e->addr;
	a.size_bytes = e->size_bytes;
	a.ts_ns = e->hdr.ts_ns;
	a.pad = (uint32_t)t;
	if (a.pad == LT_PY_TYPE_UNSETTLED) {
		uint64_t *grown = lt_grow(pp->pending, &pp->pending_cap, pp->npending + 1,
					  sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		pp->pending = grown;
	}
	err = lt_live_put(&pp->objects, &a, &old);
	if (err < 0)
		return err;
	was_unsettled = err == 1 && old.pad == LT_PY_TYPE_UNSETTLED;
	pp->unsettled += (a.pad == LT_PY_TYPE_UNSETTLED) - was_unsettled;
	/* An address already pending stays listed once. */
	if (a.pad == LT_PY_TYPE_UNSETTLED && !was_unsettled)
		pp->pending[pp->npending++] = e->addr;
	return 0;
}

bool lt_py_process_remove(struct lt_py_process *pp, uint64_t addr)
{
	struct lt_live_alloc gone;

	pp->free_events++;
	pp->recent_frees[pp->recent_next++ % LT_PY_RECENT_FREES] = addr;
	if (lt_live_remove(&pp->objects, addr, &gone)) {
		if (gone.pad == LT_PY_TYPE_UNSETTLED)
			pp->unsettled--;
		return true;
	}
	pp->unmatched_frees++;
	return false;
}

bool lt_py_process_freed_recently(const struct lt_py_process *pp, uint64_t addr)
{
	for (size_t i = 0; i < LT_PY_RECENT_FREES; i++)
		if (pp->recent_frees[i] == addr)
			return true;
	return false;
}

int lt_py_process_reuse(struct lt_py_process *pp, const struct lt_py_alloc_event *e, uint32_t npy)
{
	struct lt_live_alloc a;
	bool found = false;
	uint32_t id;
	int err;

	/* The object sits at the block's start, or after a GC header and a
	 * pre-header; an object from before tracing began has no block here. */
	for (uint64_t k = 0; k <= 32 && !found && k <= e->addr; k += 16)
		found = lt_live_get(&pp->objects, e->addr - k, &a) && a.size_bytes > k;
	if (!found)
		return 0;
	err = lt_py_process_traceback(pp, e->frames, npy, &id);
	if (err)
		return err;
	a.stack_id = id;
	a.ts_ns = e->hdr.ts_ns;
	err = lt_live_put(&pp->objects, &a, NULL);
	return err < 0 ? err : 0;
}

int lt_py_process_code_copy(struct lt_py_process *pp, const struct lt_py_code_event *e)
{
	const struct lt_py_image images[] = {
		{ e->code, e->head, e->head_len < sizeof(e->head) ? e->head_len : sizeof(e->head) },
		{ e->file_addr, e->file, e->file_len < sizeof(e->file) ? e->file_len : sizeof(e->file) },
		{ e->name_addr, e->name, e->name_len < sizeof(e->name) ? e->name_len : sizeof(e->name) },
		{ e->table_addr, e->table,
		  e->table_len < sizeof(e->table) ? e->table_len : sizeof(e->table) },
	};
	int err = lt_py_reader_add_copy(&pp->reader, e->code, images,
					sizeof(images) / sizeof(images[0]));

	return err == -ENOMEM ? err : 0;
}
