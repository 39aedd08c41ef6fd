// SPDX-License-Identifier: MIT
#include "consume/kernel_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/kernel_caches.h"
#include "base/grow_array.h"

/* Kernel addresses have their top 17 bits set; the live table packs keys
 * under 2^47. The classes have tables of their own, so the bits dropped
 * tell nothing apart. */
#define KADDR_MASK ((1ULL << 47) - 1)

void lt_kernel_init(struct lt_kernel_table *k)
{
	memset(k, 0, sizeof(*k));
	for (int i = 0; i < LT_KCLASS_MAX; i++)
		lt_live_init(&k->live[i]);
	lt_stacks_init(&k->stacks);
}

void lt_kernel_free(struct lt_kernel_table *k)
{
	for (int i = 0; i < LT_KCLASS_MAX; i++)
		lt_live_free(&k->live[i]);
	lt_stacks_free(&k->stacks);
	for (size_t i = 0; i < k->ncaches; i++)
		free(k->caches[i]);
	free(k->caches);
	free(k->origins);
	free(k->origin_index);
	memset(k, 0, sizeof(*k));
}

/* Caches are few (a few hundred on a host): a linear search is enough. */
static long cache_id(struct lt_kernel_table *k, const char *name)
{
	char **grown;

	for (size_t i = 0; i < k->ncaches; i++)
		if (!strcmp(k->caches[i], name))
			return (long)i;
	grown = lt_grow(k->caches, &k->caches_cap, k->ncaches + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	k->caches = grown;
	k->caches[k->ncaches] = strdup(name);
	if (!k->caches[k->ncaches])
		return -ENOMEM;
	return (long)k->ncaches++;
}

static uint64_t origin_hash(const struct lt_kernel_origin *o)
{
	uint64_t h = (o->cgroup_id ^ ((uint64_t)o->tgid << 32) ^ o->cache) * 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < sizeof(o->comm) && o->comm[i]; i++)
		h = (h ^ (uint8_t)o->comm[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static bool same_origin(const struct lt_kernel_origin *a, const struct lt_kernel_origin *b)
{
	return a->tgid == b->tgid && a->cache == b->cache && a->cgroup_id == b->cgroup_id &&
	       !strncmp(a->comm, b->comm, sizeof(a->comm));
}

static int grow_index(struct lt_kernel_table *k)
{
	size_t cap = k->index_cap ? k->index_cap * 2 : 1024;
	uint32_t *index = calloc(cap, sizeof(*index));

	if (!index)
		return -ENOMEM;
	for (size_t id = 0; id < k->norigins; id++) {
		size_t i = origin_hash(&k->origins[id]) & (cap - 1);

		while (index[i])
			i = (i + 1) & (cap - 1);
		index[i] = (uint32_t)id + 1;
	}
	free(k->origin_index);
	k->origin_index = index;
	k->index_cap = cap;
	return 0;
}

/* Origins are never forgotten: a host makes a few per process and cache. */
static long origin_id(struct lt_kernel_table *k, const struct lt_kernel_origin *o)
{
	struct lt_kernel_origin *grown;
	size_t i;

	if ((k->norigins + 1) * 2 > k->index_cap && grow_index(k))
		return -ENOMEM;
	for (i = origin_hash(o) & (k->index_cap - 1); k->origin_index[i];
	     i = (i + 1) & (k->index_cap - 1))
		if (same_origin(&k->origins[k->origin_index[i] - 1], o))
			return k->origin_index[i] - 1;
	grown = lt_grow(k->origins, &k->origins_cap, k->norigins + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	k->origins = grown;
	k->origins[k->norigins] = *o;
	k->origin_index[i] = (uint32_t)k->norigins + 1;
	return (long)k->norigins++;
}

static long origin_of(struct lt_kernel_table *k, const struct lt_kalloc_event *e)
{
	struct lt_kernel_origin o = { .tgid = e->hdr.tgid, .cgroup_id = e->cgroup_id };
	char name[LT_KCACHE_NAME_LEN + 1];
	long cache;

	if (e->func == LT_KFUNC_KMALLOC)
		lt_kmalloc_cache_name(e->kmalloc_type, e->size_bytes, name, sizeof(name));
	else if (e->func == LT_KFUNC_PAGE_ALLOC)
		snprintf(name, sizeof(name), "page-order-%u", e->kmalloc_type);
	else if (e->func == LT_KFUNC_PERCPU_ALLOC)
		strcpy(name, "percpu");
	else {
		memcpy(name, e->cache, LT_KCACHE_NAME_LEN);
		name[LT_KCACHE_NAME_LEN] = '\0';
		if (!name[0])
			strcpy(name, "?");
	}
	cache = cache_id(k, name);
	if (cache < 0)
		return cache;
	o.cache = (uint32_t)cache;
	memcpy(o.comm, e->comm, sizeof(o.comm));
	o.comm[sizeof(o.comm) - 1] = '\0';
	return origin_id(k, &o);
}

void lt_kernel_on_alloc(struct lt_kernel_table *k, const struct lt_kalloc_event *e, size_t size)
{
	struct lt_live_alloc a = { 0 }, old;
	uint32_t nframes, stack_id;
	long origin;
	bool is_new;
	int ret;

	if (size < LT_KALLOC_EVENT_HDR_BYTES || e->kclass >= LT_KCLASS_MAX)
		return;
	k->alloc_events++;
	nframes = e->nframes < LT_KSTACK_MAX ? e->nframes : LT_KSTACK_MAX;
	if (LT_KALLOC_EVENT_HDR_BYTES + nframes * sizeof(e->frames[0]) > size)
		nframes = (uint32_t)((size - LT_KALLOC_EVENT_HDR_BYTES) / sizeof(e->frames[0]));
	if (!(e->addr & KADDR_MASK))
		return;
	origin = origin_of(k, e);
	if (origin < 0 || lt_stacks_intern(&k->stacks, (const uint64_t *)e->frames, nframes, &stack_id, &is_new)) {
		k->out_of_memory++;
		return;
	}
	a.addr = e->addr & KADDR_MASK;
	a.size_bytes = e->size_bytes;
	a.ts_ns = e->hdr.ts_ns;
	a.stack_id = stack_id;
	a.pad = (uint32_t)origin;
	lt_stacks_ref(&k->stacks, stack_id);
	ret = lt_live_put(&k->live[e->kclass], &a, &old);
	if (ret < 0) {
		k->out_of_memory++;
		lt_stacks_unref(&k->stacks, stack_id);
		return;
	}
	if (ret == 1) {
		k->replaced++;
		lt_stacks_unref(&k->stacks, old.stack_id);
	}
}

void lt_kernel_on_free(struct lt_kernel_table *k, const struct lt_kfree_event *e, size_t size)
{
	struct lt_live_alloc old;

	if (size < sizeof(*e) || e->kclass >= LT_KCLASS_MAX)
		return;
	k->free_events++;
	if (!lt_live_remove(&k->live[e->kclass], e->addr & KADDR_MASK, &old)) {
		k->unmatched_frees++;
		return;
	}
	lt_stacks_unref(&k->stacks, old.stack_id);
}
