// SPDX-License-Identifier: MIT
#include "attach/bpf_maps.h"

#include <errno.h>
#include <stdlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "leaktrace.skel.h"

struct skel_maps {
	struct bpf_map *v[LT_MAP_COUNT];
	uint64_t *per_cpu; /* one counter per possible CPU */
	int ncpu;
};

static int skel_update(void *ctx, enum lt_map_id m, const void *key, size_t key_size,
		       const void *value, size_t value_size)
{
	struct skel_maps *sm = ctx;

	return bpf_map__update_elem(sm->v[m], key, key_size, value, value_size, BPF_ANY);
}

static int skel_update_batch(void *ctx, enum lt_map_id m, const void *keys, size_t key_size,
			     const void *values, size_t value_size, uint32_t count)
{
	struct skel_maps *sm = ctx;
	int fd = bpf_map__fd(sm->v[m]);
	uint32_t n = count;

	if (!count || !bpf_map_update_batch(fd, keys, values, &n, NULL))
		return 0;
	/* Older kernels lack batch updates for some map types. */
	for (uint32_t i = 0; i < count; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * key_size,
					(const char *)values + i * value_size, BPF_ANY))
			return -errno;
	return 0;
}

static int skel_remove(void *ctx, enum lt_map_id m, const void *key, size_t key_size)
{
	struct skel_maps *sm = ctx;

	return bpf_map__delete_elem(sm->v[m], key, key_size, 0);
}

static int skel_next_key(void *ctx, enum lt_map_id m, const void *key, void *next,
			 size_t key_size)
{
	struct skel_maps *sm = ctx;

	return bpf_map__get_next_key(sm->v[m], key, next, key_size);
}

static int skel_read_counter(void *ctx, enum lt_map_id m, uint32_t key, uint64_t *sum)
{
	struct skel_maps *sm = ctx;
	int err;

	*sum = 0;
	err = bpf_map__lookup_elem(sm->v[m], &key, sizeof(key), sm->per_cpu,
				   (size_t)sm->ncpu * sizeof(*sm->per_cpu), 0);
	if (err)
		return err;
	for (int c = 0; c < sm->ncpu; c++)
		*sum += sm->per_cpu[c];
	return 0;
}

static const struct lt_bpf_maps_ops skel_ops = {
	.update = skel_update,
	.update_batch = skel_update_batch,
	.remove = skel_remove,
	.next_key = skel_next_key,
	.read_counter = skel_read_counter,
};

int lt_bpf_maps_open(struct leaktrace_bpf *skel, struct lt_bpf_maps *out)
{
	struct skel_maps *sm;
	int ncpu = libbpf_num_possible_cpus();

	*out = (struct lt_bpf_maps){ 0 };
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	sm = calloc(1, sizeof(*sm));
	if (!sm)
		return -ENOMEM;
	sm->per_cpu = calloc((size_t)ncpu, sizeof(*sm->per_cpu));
	if (!sm->per_cpu) {
		free(sm);
		return -ENOMEM;
	}
	sm->ncpu = ncpu;
	sm->v[LT_MAP_TRACED_TGIDS] = skel->maps.traced_tgids;
	sm->v[LT_MAP_IGNORED_TGIDS] = skel->maps.ignored_tgids;
	sm->v[LT_MAP_KNOWN_FILES] = skel->maps.known_files;
	sm->v[LT_MAP_SAMPLED_BLOCKS] = skel->maps.sampled_blocks;
	sm->v[LT_MAP_PY_LAYOUTS] = skel->maps.py_layouts;
	sm->v[LT_MAP_DROPS] = skel->maps.drops;
	sm->v[LT_MAP_UNWIND_PAGES] = skel->maps.unwind_pages;
	sm->v[LT_MAP_UNWIND_ROWS] = skel->maps.unwind_rows;
	out->ops = &skel_ops;
	out->ctx = sm;
	return 0;
}

void lt_bpf_maps_close(struct lt_bpf_maps *m)
{
	struct skel_maps *sm = m->ctx;

	if (sm)
		free(sm->per_cpu);
	free(sm);
	*m = (struct lt_bpf_maps){ 0 };
}
