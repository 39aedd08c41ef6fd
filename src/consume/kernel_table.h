/* SPDX-License-Identifier: MIT */
/*
 * --kernel: the kernel objects recorded and still held, system-wide. One
 * table, not one per process: an object made in one task's syscall is
 * often freed from another task, a worker or an interrupt. Each object
 * keeps its kernel stack (exactly deduplicated, see stack_store.h) and its
 * origin: the task's process and cgroup when it was made, and its cache.
 */
#ifndef LT_KERNEL_TABLE_H
#define LT_KERNEL_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "consume/live_table.h"
#include "consume/stack_store.h"
#include "leaktrace_events.h"

/* Who made objects, and in which cache: a live object's tag. */
struct lt_kernel_origin {
	uint32_t tgid;
	uint32_t cache;      /* index in lt_kernel_table.caches */
	uint64_t cgroup_id;  /* cgroup v2 id of the task then */
	char comm[LT_COMM_LEN];
};

struct lt_kernel_table {
	struct lt_live_table live[LT_KCLASS_MAX]; /* tag: origin id */
	struct lt_stack_store stacks;             /* referenced by live objects */
	char **caches;
	size_t ncaches, caches_cap;
	struct lt_kernel_origin *origins;
	size_t norigins, origins_cap;
	uint32_t *origin_index; /* open addressing: origin id + 1; 0 empty */
	size_t index_cap;
	uint64_t alloc_events, free_events;
	uint64_t unmatched_frees; /* a free BPF sent for an object not here (never expected) */
	uint64_t replaced;        /* an address made again before its free was seen */
	uint64_t out_of_memory;
};

void lt_kernel_init(struct lt_kernel_table *k);
void lt_kernel_free(struct lt_kernel_table *k);
/* A record of LT_EV_KALLOC or LT_EV_KFREE (size checked here). */
void lt_kernel_on_alloc(struct lt_kernel_table *k, const struct lt_kalloc_event *e, size_t size);
void lt_kernel_on_free(struct lt_kernel_table *k, const struct lt_kfree_event *e, size_t size);

#endif
