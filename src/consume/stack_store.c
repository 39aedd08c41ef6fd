// SPDX-License-Identifier: MIT
#include "consume/stack_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"

void lt_stacks_init(struct lt_stack_store *s)
{
	memset(s, 0, sizeof(*s));
}

void lt_stacks_free(struct lt_stack_store *s)
{
	for (size_t i = 0; i < s->count; i++) {
		free(s->stacks[i].ips);
		free(s->stacks[i].locs);
	}
	free(s->stacks);
	free(s->index);
	free(s->free_ids);
	lt_stacks_init(s);
}

uint64_t lt_stack_hash(const uint64_t *ips, uint32_t nframes)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ nframes;

	for (uint32_t i = 0; i < nframes; i++) {
		h ^= ips[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 31;
		h *= 0x9e3779b97f4a7c15ULL;
	}
	return h ^ (h >> 29);
}

static bool same_stack(const struct lt_stack *st, uint64_t hash, const uint64_t *ips,
		       uint32_t nframes)
{
	return st->hash == hash && st->nframes == nframes &&
	       (nframes == 0 || memcmp(st->ips, ips, nframes * sizeof(*ips)) == 0);
}

/* An index entry: the id + 1 (0: empty) under the hash's top half, so a
 * probe that is not the stack rarely has to look at the stack itself. */
static inline uint64_t index_entry(uint64_t hash, uint32_t id)
{
	return (hash & 0xffffffff00000000ULL) | ((uint64_t)id + 1);
}

static inline uint32_t entry_id(uint64_t entry)
{
	return (uint32_t)entry - 1;
}

static void index_place(uint64_t *index, size_t mask, uint64_t hash, uint32_t id)
{
	size_t i = (size_t)hash & mask;

	while (index[i])
		i = (i + 1) & mask;
	index[i] = index_entry(hash, id);
}

static int index_grow(struct lt_stack_store *s)
{
	size_t cap = s->index_capacity ? s->index_capacity * 2 : 64;
	uint64_t *index = calloc(cap, sizeof(*index));

	if (!index)
		return -ENOMEM;
	for (size_t id = 0; id < s->count; id++)
		if (!s->stacks[id].released)
			index_place(index, cap - 1, s->stacks[id].hash, (uint32_t)id);
	free(s->index);
	s->index = index;
	s->index_capacity = cap;
	return 0;
}

static int fill(struct lt_stack *st, uint64_t hash, const uint64_t *ips, uint32_t nframes)
{
	memset(st, 0, sizeof(*st));
	st->hash = hash;
	st->nframes = nframes;
	if (nframes) {
		st->ips = malloc(nframes * sizeof(*ips));
		if (!st->ips) {
			st->nframes = 0;
			return -ENOMEM;
		}
		memcpy(st->ips, ips, nframes * sizeof(*ips));
	}
	return 0;
}

static int append(struct lt_stack_store *s, uint64_t hash, const uint64_t *ips, uint32_t nframes)
{
	struct lt_stack *grown = lt_grow(s->stacks, &s->capacity, s->count + 1, sizeof(*grown));
	struct lt_stack *st;

	if (!grown)
		return -ENOMEM;
	s->stacks = grown;
	st = &s->stacks[s->count];
	if (fill(st, hash, ips, nframes))
		return -ENOMEM;
	s->count++;
	return 0;
}

/* A released id if there is one, else a new one at the end. */
static int add(struct lt_stack_store *s, uint64_t hash, const uint64_t *ips, uint32_t nframes,
	       uint32_t *id)
{
	int err;

	if (s->nfree) {
		uint32_t reuse = s->free_ids[s->nfree - 1];

		err = fill(&s->stacks[reuse], hash, ips, nframes);
		if (err) {
			s->stacks[reuse].released = true;
			return err;
		}
		s->nfree--;
		s->live++;
		*id = reuse;
		return 0;
	}
	err = append(s, hash, ips, nframes);
	if (err)
		return err;
	s->live++;
	*id = (uint32_t)(s->count - 1);
	return 0;
}

static bool find(const struct lt_stack_store *s, uint64_t hash, const uint64_t *ips,
		 uint32_t nframes, uint32_t *id)
{
	size_t mask, i;

	if (!s->index_capacity)
		return false;
	mask = s->index_capacity - 1;
	for (i = (size_t)hash & mask; s->index[i]; i = (i + 1) & mask) {
		uint32_t cand = entry_id(s->index[i]);

		if ((s->index[i] ^ hash) >> 32)
			continue;
		if (same_stack(&s->stacks[cand], hash, ips, nframes)) {
			*id = cand;
			return true;
		}
	}
	return false;
}

bool lt_stacks_find(const struct lt_stack_store *s, const uint64_t *ips, uint32_t nframes,
		    uint32_t *id)
{
	return find(s, lt_stack_hash(ips, nframes), ips, nframes, id);
}

int lt_stacks_intern(struct lt_stack_store *s, const uint64_t *ips, uint32_t nframes,
		     uint32_t *id, bool *is_new)
{
	uint64_t hash = lt_stack_hash(ips, nframes);
	int err;

	if (find(s, hash, ips, nframes, id)) {
		*is_new = false;
		return 0;
	}
	if ((s->count + 1) * 2 > s->index_capacity) {
		err = index_grow(s);
		if (err)
			return err;
	}
	err = add(s, hash, ips, nframes, id);
	if (err)
		return err;
	index_place(s->index, s->index_capacity - 1, hash, *id);
	*is_new = true;
	return 0;
}

struct lt_stack *lt_stacks_get(const struct lt_stack_store *s, uint32_t id)
{
	return id < s->count ? &s->stacks[id] : NULL;
}

void lt_stacks_ref(struct lt_stack_store *s, uint32_t id)
{
	if (id < s->count && !s->stacks[id].released)
		s->stacks[id].refs++;
}

/* Linear probing without tombstones: entries after the hole that could
 * have sat in it move back, so every probe sequence stays unbroken. */
static void index_remove(struct lt_stack_store *s, uint32_t id)
{
	size_t mask = s->index_capacity - 1, hole, j;

	for (hole = (size_t)s->stacks[id].hash & mask; (uint32_t)s->index[hole] != id + 1;
	     hole = (hole + 1) & mask)
		if (!s->index[hole])
			return; /* not indexed: cannot happen */
	for (j = (hole + 1) & mask; s->index[j]; j = (j + 1) & mask) {
		size_t home = (size_t)s->stacks[entry_id(s->index[j])].hash & mask;

		/* Stays if its home lies cyclically in (hole, j]. */
		if (hole < j ? (home > hole && home <= j) : (home > hole || home <= j))
			continue;
		s->index[hole] = s->index[j];
		hole = j;
	}
	s->index[hole] = 0;
}

bool lt_stacks_unref(struct lt_stack_store *s, uint32_t id)
{
	struct lt_stack *st = lt_stacks_get(s, id);
	uint32_t *grown;

	if (!st || st->released || !st->refs || --st->refs)
		return false;
	grown = lt_grow(s->free_ids, &s->free_capacity, s->nfree + 1, sizeof(*grown));
	if (!grown)
		return false; /* kept: correct, only not reclaimed */
	s->free_ids = grown;
	index_remove(s, id);
	free(st->ips);
	free(st->locs);
	memset(st, 0, sizeof(*st));
	st->released = true;
	s->free_ids[s->nfree++] = id;
	s->live--;
	return true;
}
