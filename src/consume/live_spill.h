/* SPDX-License-Identifier: MIT */
/*
 * The live table's spill: entries whose fields do not fit a 16-byte slot
 * (a block over 64 KiB, an unaligned key, a large stack id...) are kept
 * whole here, 32 bytes each. Open addressing, linear probing, backward-
 * shift deletion: churn never leaves tombstones behind.
 */
#ifndef LT_LIVE_SPILL_H
#define LT_LIVE_SPILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consume/live_alloc.h"

struct lt_live_spill {
	struct lt_live_alloc *slots; /* addr 0 marks an empty slot */
	size_t capacity;             /* power of two, or 0 */
	size_t count;
};

void lt_spill_free(struct lt_live_spill *t);
struct lt_live_alloc *lt_spill_find(const struct lt_live_spill *t, uint64_t addr);
/* a->addr must not be in t. Returns 0 or -ENOMEM (t unchanged). */
int lt_spill_add(struct lt_live_spill *t, const struct lt_live_alloc *a);
bool lt_spill_remove(struct lt_live_spill *t, uint64_t addr, struct lt_live_alloc *out);
size_t lt_spill_bytes(const struct lt_live_spill *t);

#endif
