// SPDX-License-Identifier: MIT
#include "consume/live_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LT_LIVE_MIN_CAPACITY 64

static inline size_t slot_of(uint64_t addr, size_t mask)
{
	/* Heap addresses share high bits and low alignment bits: mix them all. */
	uint64_t h = addr * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h ^ (h >> 29)) & mask;
}

void lt_live_init(struct lt_live_table *t)
{
	memset(t, 0, sizeof(*t));
}

void lt_live_free(struct lt_live_table *t)
{
	free(t->slots);
	lt_live_init(t);
}

static void place(struct lt_live_alloc *slots, size_t mask, const struct lt_live_alloc *a)
{
	size_t i = slot_of(a->addr, mask);

	while (slots[i].addr)
		i = (i + 1) & mask;
	slots[i] = *a;
}

static int grow(struct lt_live_table *t)
{
	size_t cap = t->capacity ? t->capacity * 2 : LT_LIVE_MIN_CAPACITY;
	struct lt_live_alloc *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->capacity; i++)
		if (t->slots[i].addr)
			place(slots, cap - 1, &t->slots[i]);
	free(t->slots);
	t->slots = slots;
	t->capacity = cap;
	return 0;
}

static struct lt_live_alloc *find(const struct lt_live_table *t, uint64_t addr)
{
	size_t mask, i;

	if (!t->capacity)
		return NULL;
	mask = t->capacity - 1;
	for (i = slot_of(addr, mask); t->slots[i].addr; i = (i + 1) & mask)
		if (t->slots[i].addr == addr)
			return &t->slots[i];
	return NULL;
}

const struct lt_live_alloc *lt_live_get(const struct lt_live_table *t, uint64_t addr)
{
	return find(t, addr);
}

struct lt_live_alloc *lt_live_get_mut(struct lt_live_table *t, uint64_t addr)
{
	return find(t, addr);
}

int lt_live_put(struct lt_live_table *t, const struct lt_live_alloc *a, bool *replaced)
{
	struct lt_live_alloc *old = find(t, a->addr);
	int err;

	if (!a->addr)
		return -EINVAL;
	if (old) {
		t->bytes -= old->size_bytes;
		*old = *a;
		t->bytes += a->size_bytes;
		if (replaced)
			*replaced = true;
		return 0;
	}
	/* Keep the load factor under 3/4 so probe sequences stay short. */
	if ((t->count + 1) * 4 > t->capacity * 3) {
		err = grow(t);
		if (err)
			return err;
	}
	place(t->slots, t->capacity - 1, a);
	t->count++;
	t->bytes += a->size_bytes;
	if (replaced)
		*replaced = false;
	return 0;
}

bool lt_live_remove(struct lt_live_table *t, uint64_t addr, struct lt_live_alloc *out)
{
	struct lt_live_alloc *hole = find(t, addr);
	size_t mask, i, j, home;

	if (!hole)
		return false;
	if (out)
		*out = *hole;
	t->count--;
	t->bytes -= hole->size_bytes;
	mask = t->capacity - 1;
	i = (size_t)(hole - t->slots);
	/* Backward-shift: pull later entries of the cluster into the hole when
	 * their home slot does not lie cyclically in (i, j]. */
	for (j = (i + 1) & mask; t->slots[j].addr; j = (j + 1) & mask) {
		home = slot_of(t->slots[j].addr, mask);
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	return true;
}

const struct lt_live_alloc *lt_live_next(const struct lt_live_table *t, size_t *iter)
{
	while (*iter < t->capacity) {
		const struct lt_live_alloc *a = &t->slots[(*iter)++];

		if (a->addr)
			return a;
	}
	return NULL;
}
