// SPDX-License-Identifier: MIT
#include "symbols/frame_resolver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"
#include "symbols/elf_file.h"

static bool overlaps_any(const struct lt_maps *maps, const struct lt_mapping *m)
{
	for (size_t i = 0; i < maps->n; i++)
		if (maps->v[i].start < m->end && m->start < maps->v[i].end)
			return true;
	return false;
}

/*
 * A process that is exiting shows fewer and fewer mappings, a zombie none:
 * a fresh read must not make us forget mappings its older records need.
 * Fresh mappings win; old ones they do not overlap are kept.
 */
static int merge_old(struct lt_maps *fresh, const struct lt_maps *old)
{
	/* lt_maps keeps no capacity: its count is all that is known to fit. */
	size_t cap = fresh->n;

	for (size_t i = 0; i < old->n; i++) {
		struct lt_mapping *grown, *m;

		if (overlaps_any(fresh, &old->v[i]))
			continue;
		grown = lt_grow(fresh->v, &cap, fresh->n + 1, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		fresh->v = grown;
		m = &fresh->v[fresh->n];
		*m = old->v[i];
		m->path = old->v[i].path ? strdup(old->v[i].path) : NULL;
		if (old->v[i].path && !m->path)
			return -ENOMEM;
		fresh->n++;
	}
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct lt_mapping *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

void lt_reload_maps(struct lt_process *p, struct lt_module_cache *modules)
{
	struct lt_maps fresh = {};

	/* A PID taken by a later process shows that one's mappings. */
	if (p->exited || !lt_process_is_current(p) || lt_maps_read((pid_t)p->tgid, &fresh))
		return;
	if (merge_old(&fresh, &p->maps)) {
		lt_maps_free(&fresh);
		return;
	}
	qsort(fresh.v, fresh.n, sizeof(*fresh.v), by_start);
	lt_maps_free(&p->maps);
	p->maps = fresh;
	p->maps_loaded = p->maps.n > 0;
	lt_module_prime(modules, (pid_t)p->tgid, &p->maps);
}

static bool all_covered(const struct lt_process *p, const struct lt_stack *st)
{
	for (uint32_t i = 0; i < st->nframes; i++)
		if (!lt_maps_find(&p->maps, st->ips[i]))
			return false;
	return true;
}

/* The module of p's mapping m, from the cache; kept in the mapping once
 * settled (a module still to be opened is asked for again next time). */
static struct lt_module *module_of(struct lt_process *p, const struct lt_mapping *found,
				   struct lt_module_cache *modules)
{
	struct lt_mapping *m = &p->maps.v[found - p->maps.v];
	struct lt_module *mod;

	if (m->module)
		return m->module;
	mod = lt_module_for_mapping(modules, (pid_t)p->tgid, m);
	if (mod && lt_module_settled(mod))
		m->module = mod;
	return mod;
}

bool lt_resolve_stack_known(struct lt_process *p, struct lt_stack *st)
{
	if (st->resolved)
		return true;
	if (!p->maps_loaded)
		return false;
	if (st->nframes && !st->locs) {
		st->locs = calloc(st->nframes, sizeof(*st->locs));
		if (!st->locs)
			return false; /* lt_resolve_stack says so */
	}
	for (uint32_t i = 0; i < st->nframes; i++) {
		const struct lt_mapping *m = lt_maps_find(&p->maps, st->ips[i]);

		if (!m)
			return false;
		/* Anonymous: no module, as lt_module_for_mapping() would say. */
		if (!m->path || !m->inode)
			continue;
		if (!m->module)
			return false;
		st->locs[i].module = m->module;
		st->locs[i].file_offset = st->ips[i] - m->start + m->file_offset;
	}
	st->resolved = true;
	return true;
}

int lt_resolve_stack(struct lt_process *p, struct lt_stack *st, struct lt_module_cache *modules)
{
	bool complete = true;

	if (st->resolved)
		return 0;
	/* Libraries loaded since the last read (dlopen) show up as misses. */
	if (!p->maps_loaded || !all_covered(p, st))
		lt_reload_maps(p, modules);
	if (st->nframes && !st->locs) {
		st->locs = calloc(st->nframes, sizeof(*st->locs));
		if (!st->locs)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < st->nframes; i++) {
		const struct lt_mapping *m;
		struct lt_module *mod;

		if (st->locs[i].module)
			continue;
		m = lt_maps_find(&p->maps, st->ips[i]);
		if (!m) {
			/* Retried when the exit snapshot of the mappings comes. */
			complete = false;
			continue;
		}
		mod = module_of(p, m, modules);
		if (!mod)
			continue;
		st->locs[i].module = mod;
		/* Turned into an ELF address, and named, at report time. */
		st->locs[i].file_offset = st->ips[i] - m->start + m->file_offset;
	}
	st->resolved = complete;
	return 0;
}

int lt_apply_exit_maps(struct lt_process *p, struct lt_maps *snapshot,
		       struct lt_module_cache *modules)
{
	int err = merge_old(&p->maps, snapshot);

	if (err)
		return err;
	qsort(p->maps.v, p->maps.n, sizeof(*p->maps.v), by_start);
	p->maps_loaded = p->maps.n > 0;
	lt_module_prime(modules, (pid_t)p->tgid, &p->maps);
	for (uint32_t id = 0; id < p->stacks.count; id++) {
		if (p->stacks.stacks[id].released)
			continue;
		err = lt_resolve_stack(p, lt_stacks_get(&p->stacks, id), modules);
		if (err)
			return err;
	}
	return 0;
}
