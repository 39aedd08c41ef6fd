/* SPDX-License-Identifier: MIT */
/*
 * Call stacks of one process, deduplicated exactly: a 64-bit hash finds the
 * candidates and the frames are compared, so two stacks are never merged and
 * none is ever dropped (unlike a BPF STACK_TRACE map, whose collisions lose
 * stacks once it fills).
 */
#ifndef LT_STACK_STORE_H
#define LT_STACK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lt_module;

/* Where a frame lives, resolved while the process is alive. */
struct lt_frame_loc {
	struct lt_module *module; /* NULL: no file-backed mapping covered it */
	uint64_t file_offset;     /* of the address in the module's file */
};

struct lt_stack {
	uint64_t hash;
	uint32_t nframes;
	uint32_t refs;             /* live blocks on it, for stores that count them */
	bool resolved;
	bool released;             /* a free slot, for reuse by a new stack */
	uint64_t *ips;             /* innermost first; return addresses */
	struct lt_frame_loc *locs; /* nframes entries once resolved */
};

struct lt_stack_store {
	struct lt_stack *stacks;
	size_t count;    /* ids handed out, released ones included */
	size_t capacity;
	size_t live;     /* count minus released */
	uint32_t *free_ids;
	size_t nfree, free_capacity;
	uint64_t *index; /* open addressing: hash's top half | stack id + 1; 0 = empty */
	size_t index_capacity;
};

void lt_stacks_init(struct lt_stack_store *s);
void lt_stacks_free(struct lt_stack_store *s);
uint64_t lt_stack_hash(const uint64_t *ips, uint32_t nframes);
/* Find or add the stack; returns 0 or -ENOMEM. *is_new tells if it was added. */
int lt_stacks_intern(struct lt_stack_store *s, const uint64_t *ips, uint32_t nframes,
		     uint32_t *id, bool *is_new);
struct lt_stack *lt_stacks_get(const struct lt_stack_store *s, uint32_t id);
/* Is the stack there already? Its id in *id when it is. */
bool lt_stacks_find(const struct lt_stack_store *s, const uint64_t *ips, uint32_t nframes,
		    uint32_t *id);
/*
 * Reference counting by live blocks, for a store whose stacks should not
 * outlive them (a long-running process sees ever new call paths). unref
 * of the last reference releases the stack: its id is reused by a later
 * new stack. Returns true when it was released.
 */
void lt_stacks_ref(struct lt_stack_store *s, uint32_t id);
bool lt_stacks_unref(struct lt_stack_store *s, uint32_t id);

#endif
