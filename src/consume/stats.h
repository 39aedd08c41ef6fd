/* SPDX-License-Identifier: MIT */
/*
 * The counters of one tracing run: what the consumer took in, kept, could
 * not keep, and what BPF dropped. Reports carry a copy, so that what was
 * lost is always said next to what is shown.
 */
#ifndef LT_STATS_H
#define LT_STATS_H

#include <stdint.h>

#include "leaktrace_events.h"

struct lt_stats {
	uint64_t alloc_events;
	uint64_t free_events;
	uint64_t mmap_events;
	uint64_t munmap_events;
	uint64_t unmatched_frees;  /* frees of blocks not seen allocated */
	uint64_t replaced_allocs;  /* a block returned while we thought it live */
	uint64_t out_of_memory;    /* records we could not keep (userspace ENOMEM) */
	uint64_t py_alloc_events;  /* Python objects created */
	uint64_t py_free_events;   /* Python objects released */
	uint64_t fd_open_events;   /* descriptors made */
	uint64_t fd_close_events;  /* close and close_range calls */
	/* New blocks and objects not kept because --max-allocs or --max-stacks
	 * was reached; their frees then count as unmatched. */
	uint64_t untracked_allocs;
	uint64_t untracked_bytes;
	uint64_t tracked_allocs;   /* live blocks and objects kept, at the last count */
	uint64_t tracked_stacks;   /* native stacks kept, at the last count */
	uint64_t max_allocs;       /* the bounds in force (--max-allocs, --max-stacks) */
	uint64_t max_stacks;
	uint64_t drops[LT_DROP_MAX]; /* read from the BPF counters at report time */
	/* --kernel: runs of the kmem programs the kernel skipped because one
	 * was already running on that CPU (an interrupt in it): objects or
	 * frees possibly not seen. Read at report time. */
	uint64_t kernel_missed_runs;
	uint64_t ringbuf_bytes;    /* the ring buffer's size then (it follows the rate) */
	uint64_t ringbuf_resizes;  /* how often it was resized so far */
};

#endif
