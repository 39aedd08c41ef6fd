/* SPDX-License-Identifier: MIT */
/*
 * Live allocations of one process, keyed by address. A host can hold tens
 * of millions, so the common block is packed into 16 bytes: its address
 * (16-byte aligned, under 2^47) over 16, a stack id under 2^21, a size under
 * 64 KiB, a tag under 0xffff (or UINT32_MAX) and its time in units of 2^20 ns
 * (about 1 ms) since the epoch, for 52 days. A block that does not fit is
 * kept whole, in the spill (32 bytes). Both give back the same struct.
 *
 * The packed slots sit in shards found by the hash's top bits (extendible
 * hashing): a shard grows by 5/4 up to 64 Ki slots, then splits in two, so
 * the load stays between 0.64 and 0.8 and a growing table never holds more
 * than one shard twice.
 */
#ifndef LT_LIVE_TABLE_H
#define LT_LIVE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consume/live_alloc.h"
#include "consume/live_spill.h"

/* The tag value the packed form keeps apart: a Python object not yet typed. */
#define LT_LIVE_PAD_UNSET UINT32_MAX
/* Time resolution of a packed block: ts_ns comes back rounded down to it. */
#define LT_LIVE_TIME_SHIFT 20

struct lt_live_slot {
	uint64_t key_stack;     /* addr >> 4 (43 bits), stack id << 43; 0: empty */
	uint64_t size_pad_time; /* size (16 bits), tag << 16, time << 32 */
};

struct lt_live_shard {
	struct lt_live_slot *slots;
	uint32_t capacity;
	uint32_t count;
	uint8_t depth; /* its keys share this many top hash bits */
};

struct lt_live_table {
	struct lt_live_shard **dir;    /* 1 << depth entries; NULL while empty */
	struct lt_live_shard **shards; /* each shard once, for iteration */
	uint32_t nshards;
	uint8_t depth;
	struct lt_live_spill spill;
	size_t count;
	uint64_t bytes;
};

/* CLOCK_MONOTONIC at the start of tracing: packed times count from it. */
void lt_live_set_epoch(uint64_t ns);

void lt_live_init(struct lt_live_table *t);
void lt_live_free(struct lt_live_table *t);
/* Insert or replace (an address seen again was freed behind our back).
 * Returns 0 (new), 1 (replaced: the old entry in *old when given),
 * -EINVAL (addr 0) or -ENOMEM (the table is unchanged). */
int lt_live_put(struct lt_live_table *t, const struct lt_live_alloc *a, struct lt_live_alloc *old);
/* Remove addr; copies the entry to *out when given. False if not live. */
bool lt_live_remove(struct lt_live_table *t, uint64_t addr, struct lt_live_alloc *out);
/* Is addr live? Its entry in *out when given. */
bool lt_live_get(const struct lt_live_table *t, uint64_t addr, struct lt_live_alloc *out);
/* Change a live entry's tag. Returns 0, -ENOENT or -ENOMEM (unchanged). */
int lt_live_set_pad(struct lt_live_table *t, uint64_t addr, uint32_t pad);

/* Iterate: for (i = 0; lt_live_next(t, &i, &a); ). A change to the table
 * ends an iteration (start again from 0). */
bool lt_live_next(const struct lt_live_table *t, uint64_t *iter, struct lt_live_alloc *out);

/* Heap the table holds, in bytes (slots, shards and directory). */
size_t lt_live_mem_bytes(const struct lt_live_table *t);

#endif
