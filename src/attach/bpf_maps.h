/* SPDX-License-Identifier: MIT */
/*
 * Every userspace read and write of a BPF map goes through this small
 * interface. The tracer backs it with the loaded object's maps; unit tests
 * back it with tables in memory, so that the consumer and the report
 * builder run, and are checked, without a kernel.
 */
#ifndef LT_BPF_MAPS_H
#define LT_BPF_MAPS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

struct leaktrace_bpf;

enum lt_map_id {
	LT_MAP_TRACED_TGIDS,   /* -c, --cgroup: the processes BPF sends events of */
	LT_MAP_IGNORED_TGIDS,  /* another leaktrace, never traced */
	LT_MAP_KNOWN_FILES,    /* files whose mapping a process has reported */
	LT_MAP_SAMPLED_BLOCKS, /* --sample-bytes: the blocks whose frees are sent */
	LT_MAP_PY_LAYOUTS,     /* per traced CPython process */
	LT_MAP_DROPS,          /* per-CPU counts of records BPF could not send */
	LT_MAP_UNWIND_PAGES,   /* --unwind dwarf: rules by page, then rows */
	LT_MAP_UNWIND_ROWS,
	LT_MAP_COUNT
};

/* Each returns 0 or -errno. */
struct lt_bpf_maps_ops {
	int (*update)(void *ctx, enum lt_map_id m, const void *key, size_t key_size,
		      const void *value, size_t value_size);
	/* Many entries at once where the kernel can, one by one where not. */
	int (*update_batch)(void *ctx, enum lt_map_id m, const void *keys, size_t key_size,
			    const void *values, size_t value_size, uint32_t count);
	int (*remove)(void *ctx, enum lt_map_id m, const void *key, size_t key_size);
	/* The key after key (NULL: the first); -ENOENT after the last. */
	int (*next_key)(void *ctx, enum lt_map_id m, const void *key, void *next,
			size_t key_size);
	/* A per-CPU array's counter, summed over the CPUs. */
	int (*read_counter)(void *ctx, enum lt_map_id m, uint32_t key, uint64_t *sum);
};

struct lt_bpf_maps {
	const struct lt_bpf_maps_ops *ops; /* NULL: no maps (nothing loaded yet) */
	void *ctx;
};

static inline int lt_map_update(const struct lt_bpf_maps *m, enum lt_map_id id, const void *key,
				size_t key_size, const void *value, size_t value_size)
{
	return m->ops ? m->ops->update(m->ctx, id, key, key_size, value, value_size) : -ENODEV;
}

static inline int lt_map_update_batch(const struct lt_bpf_maps *m, enum lt_map_id id,
				      const void *keys, size_t key_size, const void *values,
				      size_t value_size, uint32_t count)
{
	return m->ops ? m->ops->update_batch(m->ctx, id, keys, key_size, values, value_size, count)
		      : -ENODEV;
}

static inline int lt_map_remove(const struct lt_bpf_maps *m, enum lt_map_id id, const void *key,
				size_t key_size)
{
	return m->ops ? m->ops->remove(m->ctx, id, key, key_size) : -ENODEV;
}

static inline int lt_map_next_key(const struct lt_bpf_maps *m, enum lt_map_id id, const void *key,
				  void *next, size_t key_size)
{
	return m->ops ? m->ops->next_key(m->ctx, id, key, next, key_size) : -ENODEV;
}

static inline int lt_map_read_counter(const struct lt_bpf_maps *m, enum lt_map_id id, uint32_t key,
				      uint64_t *sum)
{
	*sum = 0;
	return m->ops ? m->ops->read_counter(m->ctx, id, key, sum) : -ENODEV;
}

/* The maps of a loaded skeleton. Returns 0 or -ENOMEM; *out is usable
 * until lt_bpf_maps_close, which the skeleton must outlive. */
int lt_bpf_maps_open(struct leaktrace_bpf *skel, struct lt_bpf_maps *out);
void lt_bpf_maps_close(struct lt_bpf_maps *m);

#endif
