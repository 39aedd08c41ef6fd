/* SPDX-License-Identifier: MIT */
/*
 * Live allocations of one process, keyed by address: an open-addressing
 * hash table (linear probing, backward-shift deletion, no tombstones) so
 * that millions of entries cost 32 bytes each and churn never degrades it.
 */
#ifndef LT_LIVE_TABLE_H
#define LT_LIVE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lt_live_alloc {
	uint64_t addr; /* 0 marks an empty slot: malloc never returns NULL as a block */
	uint64_t size_bytes;
	uint64_t ts_ns;
	uint32_t stack_id;
	uint32_t pad;
};

struct lt_live_table {
	struct lt_live_alloc *slots;
	size_t capacity; /* power of two, or 0 */
	size_t count;
	uint64_t bytes;
};

void lt_live_init(struct lt_live_table *t);
void lt_live_free(struct lt_live_table *t);
/* Insert or replace (an address seen again was freed behind our back).
 * Returns 0, or -ENOMEM (the table is unchanged). *replaced tells if addr was live. */
int lt_live_put(struct lt_live_table *t, const struct lt_live_alloc *a, bool *replaced);
/* Remove addr; copies the entry to *out when given. Returns false if not live. */
bool lt_live_remove(struct lt_live_table *t, uint64_t addr, struct lt_live_alloc *out);
const struct lt_live_alloc *lt_live_get(const struct lt_live_table *t, uint64_t addr);
/* The same, for callers that update an entry's pad (never its addr). */
struct lt_live_alloc *lt_live_get_mut(struct lt_live_table *t, uint64_t addr);

/* Iterate: for (i = 0; (a = lt_live_next(t, &i)); ) */
const struct lt_live_alloc *lt_live_next(const struct lt_live_table *t, size_t *iter);

#endif
