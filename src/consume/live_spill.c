// SPDX-License-Identifier: MIT
#include "consume/live_spill.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SPILL_MIN_CAPACITY 16

static inline size_t slot_of(uint64_t addr, size_t mask)
{
	uint64_t h = addr * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h ^ (h >> 29)) & mask;
}

void lt_spill_free(struct lt_live_spill *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static void place(struct lt_live_alloc *slots, size_t mask, const struct lt_live_alloc *a)
{
	size_t i = slot_of(a->addr, mask);

	while (slots[i].addr)
		i = (i + 1) & mask;
	slots[i] = *a;
}

static int grow(struct lt_live_spill *t)
{
	size_t cap = t->capacity ? t->capacity * 2 : SPILL_MIN_CAPACITY;
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

struct lt_live_alloc *lt_spill_find(const struct lt_live_spill *t, uint64_t addr)
{
	size_t mask, i;

	if (!t->count)
		return NULL;
	mask = t->capacity - 1;
	for (i = slot_of(addr, mask); t->slots[i].addr; i = (i + 1) & mask)
		if (t->slots[i].addr == addr)
			return &t->slots[i];
	return NULL;
}

int lt_spill_add(struct lt_live_spill *t, const struct lt_live_alloc *a)
{
	/* A load under 3/4 keeps probe sequences short. */
	if ((t->count + 1) * 4 > t->capacity * 3) {
		int err = grow(t);

		if (err)
			return err;
	}
	place(t->slots, t->capacity - 1, a);
	t->count++;
	return 0;
}

bool lt_spill_remove(struct lt_live_spill *t, uint64_t addr, struct lt_live_alloc *out)
{
	struct lt_live_alloc *hole = lt_spill_find(t, addr);
	size_t mask, i, j, home;

	if (!hole)
		return false;
	if (out)
		*out = *hole;
	t->count--;
	mask = t->capacity - 1;
	i = (size_t)(hole - t->slots);
	/* Pull later entries of the cluster into the hole when their home
	 * slot does not lie cyclically in (i, j]. */
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

size_t lt_spill_bytes(const struct lt_live_spill *t)
{
	return t->capacity * sizeof(*t->slots);
}
