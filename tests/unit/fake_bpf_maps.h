/* SPDX-License-Identifier: MIT */
/*
 * The BPF maps as tables in memory, behind the same interface the tracer
 * gives the loaded object (attach/bpf_maps.h): tests fill them, run the
 * consumer or the report builder, and look at what was written and removed.
 */
#ifndef LT_FAKE_BPF_MAPS_H
#define LT_FAKE_BPF_MAPS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "attach/bpf_maps.h"

#define FAKE_MAP_ENTRIES 64
#define FAKE_KEY_BYTES 32
#define FAKE_VALUE_BYTES 512

struct fake_entry {
	unsigned char key[FAKE_KEY_BYTES];
	unsigned char value[FAKE_VALUE_BYTES];
	size_t key_size, value_size;
};

struct fake_map {
	struct fake_entry v[FAKE_MAP_ENTRIES];
	size_t n;
	unsigned updates, removes; /* calls, whether or not they found the key */
	uint64_t counters[16];     /* a per-CPU array's sums, by key */
};

struct fake_maps {
	struct fake_map m[LT_MAP_COUNT];
};

static inline long fake_find(const struct fake_map *fm, const void *key, size_t key_size)
{
	for (size_t i = 0; i < fm->n; i++)
		if (fm->v[i].key_size == key_size && !memcmp(fm->v[i].key, key, key_size))
			return (long)i;
	return -1;
}

static inline int fake_update(void *ctx, enum lt_map_id m, const void *key, size_t key_size,
		       const void *value, size_t value_size)
{
	struct fake_map *fm = &((struct fake_maps *)ctx)->m[m];
	long i = fake_find(fm, key, key_size);

	fm->updates++;
	if (key_size > FAKE_KEY_BYTES || value_size > FAKE_VALUE_BYTES)
		return -E2BIG;
	if (i < 0) {
		if (fm->n == FAKE_MAP_ENTRIES)
			return -E2BIG;
		i = (long)fm->n++;
	}
	memcpy(fm->v[i].key, key, key_size);
	memcpy(fm->v[i].value, value, value_size);
	fm->v[i].key_size = key_size;
	fm->v[i].value_size = value_size;
	return 0;
}

static inline int fake_update_batch(void *ctx, enum lt_map_id m, const void *keys, size_t key_size,
			     const void *values, size_t value_size, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		int err = fake_update(ctx, m, (const char *)keys + i * key_size, key_size,
				      (const char *)values + i * value_size, value_size);
		if (err)
			return err;
	}
	return 0;
}

static inline int fake_remove(void *ctx, enum lt_map_id m, const void *key, size_t key_size)
{
	struct fake_map *fm = &((struct fake_maps *)ctx)->m[m];
	long i = fake_find(fm, key, key_size);

	fm->removes++;
	if (i < 0)
		return -ENOENT;
	/* The others keep their order, as in a kernel hash map's buckets: a
	 * walk that took the next key before removing goes on from it. */
	memmove(&fm->v[i], &fm->v[i + 1], (fm->n - (size_t)i - 1) * sizeof(fm->v[0]));
	fm->n--;
	return 0;
}

/* Like the kernel's hash maps: after a key not there, the walk restarts. */
static inline int fake_next_key(void *ctx, enum lt_map_id m, const void *key, void *next,
			 size_t key_size)
{
	struct fake_map *fm = &((struct fake_maps *)ctx)->m[m];
	long i = key ? fake_find(fm, key, key_size) : -1;
	size_t at = (size_t)(i + 1);

	if (at >= fm->n)
		return -ENOENT;
	memcpy(next, fm->v[at].key, key_size);
	return 0;
}

static inline int fake_read_counter(void *ctx, enum lt_map_id m, uint32_t key, uint64_t *sum)
{
	struct fake_map *fm = &((struct fake_maps *)ctx)->m[m];

	if (key >= sizeof(fm->counters) / sizeof(fm->counters[0]))
		return -ENOENT;
	*sum = fm->counters[key];
	return 0;
}

static const struct lt_bpf_maps_ops fake_maps_ops = {
	.update = fake_update,
	.update_batch = fake_update_batch,
	.remove = fake_remove,
	.next_key = fake_next_key,
	.read_counter = fake_read_counter,
};

static inline struct lt_bpf_maps fake_maps_of(struct fake_maps *f)
{
	memset(f, 0, sizeof(*f));
	return (struct lt_bpf_maps){ .ops = &fake_maps_ops, .ctx = f };
}

static inline bool fake_has(const struct fake_maps *f, enum lt_map_id m, const void *key,
			    size_t key_size)
{
	return fake_find(&f->m[m], key, key_size) >= 0;
}

#endif
