// SPDX-License-Identifier: MIT
#include "frame_resolver.h"

#include <errno.h>
#include <stdlib.h>

#include "elf_file.h"

void lt_reload_maps(struct lt_process *p, struct lt_module_cache *modules)
{
	struct lt_maps fresh = {};

	if (p->exited || lt_maps_read((pid_t)p->tgid, &fresh))
		return;
	/* A zombie has no mappings left: keep what we knew. */
	if (!fresh.n) {
		lt_maps_free(&fresh);
		return;
	}
	lt_maps_free(&p->maps);
	p->maps = fresh;
	p->maps_loaded = true;
	lt_module_prime(modules, (pid_t)p->tgid, &p->maps);
}

static bool all_covered(const struct lt_process *p, const struct lt_stack *st)
{
	for (uint32_t i = 0; i < st->nframes; i++)
		if (!lt_maps_find(&p->maps, st->ips[i]))
			return false;
	return true;
}

int lt_resolve_stack(struct lt_process *p, struct lt_stack *st, struct lt_module_cache *modules)
{
	if (st->resolved)
		return 0;
	/* Libraries loaded since the last read (dlopen) show up as misses. */
	if (!p->maps_loaded || !all_covered(p, st))
		lt_reload_maps(p, modules);
	if (st->nframes) {
		st->locs = calloc(st->nframes, sizeof(*st->locs));
		if (!st->locs)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < st->nframes; i++) {
		const struct lt_mapping *m = lt_maps_find(&p->maps, st->ips[i]);
		const struct lt_module *mod;
		uint64_t vaddr;

		if (!m)
			continue;
		mod = lt_module_for_mapping(modules, (pid_t)p->tgid, m);
		if (!mod)
			continue;
		st->locs[i].module = mod;
		/* Without a readable ELF, the file offset still locates the frame. */
		st->locs[i].elf_vaddr = st->ips[i] - m->start + m->file_offset;
		if (mod->elf && !lt_elf_offset_to_vaddr(mod->elf, st->locs[i].elf_vaddr, &vaddr))
			st->locs[i].elf_vaddr = vaddr;
	}
	st->resolved = true;
	return 0;
}
