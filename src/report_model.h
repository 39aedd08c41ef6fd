/* SPDX-License-Identifier: MIT */
/*
 * The aggregated, symbolized view of one report: per process, stacks with
 * outstanding bytes and counts. Every output format is written from this
 * model; no reporter looks at raw events or tables.
 */
#ifndef LT_REPORT_MODEL_H
#define LT_REPORT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "session.h"

struct lt_report_frame {
	uint64_t addr;
	char *func;           /* demangled; NULL when unknown */
	uint64_t func_offset; /* from the function start, when func is known */
	char *file;           /* NULL when no line information */
	int line;             /* 0 when unknown */
	const char *module;   /* path of the mapped file; NULL when none */
	uint64_t module_offset; /* ELF address within module, for later symbolization */
	const char *build_id; /* "" when unknown */
	bool inlined;         /* a function inlined into the next frame */
};

struct lt_report_stack {
	uint64_t bytes;          /* with sampling: unbiased estimates */
	uint64_t allocs;
	uint64_t sampled_allocs; /* blocks actually recorded */
	double oldest_age_s;
	struct lt_report_frame *frames; /* innermost first */
	uint32_t nframes;
	uint32_t processes;      /* summary only: processes holding this stack */
};

struct lt_report_group {
	uint64_t outstanding_bytes;  /* every live block, before the age filter */
	uint64_t outstanding_allocs;
	uint64_t sampled_allocs;     /* blocks actually recorded */
	struct lt_report_stack *stacks; /* filtered, sorted, cut to -T */
	size_t nstacks;
};

struct lt_report_process {
	uint32_t pid;
	char comm[LT_PROC_COMM_LEN];
	char *exe;
	bool exited;
	struct lt_report_group heap;
	struct lt_report_group mmap;
};

struct lt_report {
	bool final;
	struct timespec wall;
	double elapsed_s;
	struct lt_stats stats;
	uint64_t lost_events;
	bool has_mmap;
	uint64_t min_age_ms;
	uint64_t sample_bytes; /* 0: exact counts */
	struct lt_symbol_cache_stats symbols; /* after symbolizing this report */
	struct lt_report_process *procs;
	size_t nprocs;
	/* Heap stacks summed over processes: the same frames in the same
	 * modules (whatever the load addresses) are one stack. */
	struct lt_report_group summary;
};

/* Build from the session's tables. Returns 0 or -ENOMEM. */
int lt_report_build(struct lt_session *s, bool final, struct lt_report *r);
void lt_report_free(struct lt_report *r);

#endif
