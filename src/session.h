/* SPDX-License-Identifier: MIT */
/*
 * Everything one tracing run holds: options, BPF objects, probes, processes,
 * caches, counters and growth series. It gathers every stage's state, so it
 * sits on top with main.c: stage headers name it only as an opaque
 * struct lt_session, never include it.
 */
#ifndef LT_SESSION_H
#define LT_SESSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "attach/cgroup_target.h"
#include "report/growth_series.h"
#include "leaktrace_events.h"
#include "attach/libc_discovery.h"
#include "symbols/module_cache.h"
#include "options.h"
#include "attach/probes.h"
#include "attach/bpf_maps.h"
#include "consume/consumer_lane.h"
#include "consume/process_table.h"
#include "consume/kernel_table.h"
#include "attach/cgroup_ids.h"
#include "consume/stats.h"
#include "base/clock.h"

struct leaktrace_bpf;
struct lt_ring_sizer;
struct lt_unwind_loader;
struct lt_kallsyms;

enum lt_mode {
	LT_MODE_SYSTEM,  /* no target: every libc, probes for all processes */
	LT_MODE_PIDS,    /* -p: probes per process */
	LT_MODE_COMMAND, /* -c: probes for all processes of the libc, filtered in BPF */
	LT_MODE_CGROUP,  /* --cgroup: probes per process, for each process of the cgroup */
	LT_MODE_KERNEL,  /* --kernel: kmem tracepoints only (--cgroup filters them in BPF) */
};

/* -p and --cgroup attach probes for each process, not for every process of a file. */
static inline bool lt_mode_per_process(enum lt_mode m)
{
	return m == LT_MODE_PIDS || m == LT_MODE_CGROUP;
}


struct lt_session {
	const struct lt_options *opts;
	enum lt_mode mode;
	struct leaktrace_bpf *skel;
	struct lt_bpf_maps maps;         /* every map read and write goes through it */
	struct lt_probe_set probes;
	struct lt_object_list attached; /* files attached with pid -1 */
	struct lt_object_list py_files; /* CPython interpreter files attached with pid -1 */
	struct lt_process_table procs;
	struct lt_module_cache modules;
	struct lt_unwind_loader *unwind; /* --unwind dwarf: builds tables for BPF */
	struct lt_stats stats;
	uint64_t start_ns;
	struct timespec start_wall;
	FILE *out;
	pid_t command_pid;       /* -c: the command; 0 otherwise */
	bool command_done;       /* its exit event arrived */
	size_t live_targets;     /* -p: traced PIDs still running */
	struct lt_cgroup_target cgroup; /* --cgroup */
	uint64_t next_cgroup_scan_ns;   /* --cgroup: next look for processes moved in */
	uint64_t lost_reported;  /* lost events already warned about */
	/* Consumer lanes: [0] alone until lt_lanes_share makes them several. */
	struct lt_lane lanes[LT_MAX_LANES];
	uint32_t nlanes;
	pthread_mutex_t slow_lock; /* a lane's records that reach past its processes */
	/* Held shared by lanes while they take records in, alone by the main
	 * thread while it reports, settles, scans or drains. */
	pthread_rwlock_t world;
	/* With several lanes: live blocks and stacks kept, as the bounds
	 * see them (each lane adds its pending counts in batches). */
	_Atomic int64_t tracked_allocs_now, tracked_stacks_now;
	struct lt_growth_table growth; /* leak verdicts; set up by the first report */
	/* --kernel: objects held, and their stacks' and caches' growth series. */
	struct lt_kernel_table kernel;
	struct lt_growth_set kernel_stacks_growth, kernel_caches_growth;
	bool kernel_growth_ready;
	struct lt_kallsyms *ksyms;         /* NULL: /proc/kallsyms unreadable */
	struct lt_cgroup_ids kernel_cgroups; /* cgroup ids of kernel objects, named */
	/* Call sites BPF leaves out, [lo, hi): BPF's own allocator (main.c). */
	uint64_t kernel_skip_lo[LT_KSKIP_SITES], kernel_skip_hi[LT_KSKIP_SITES];
};


/* A session for opts (which it keeps a pointer to) before anything is
 * loaded: empty tables, the mode the options name, output on stdout. */
void lt_session_init(struct lt_session *s, const struct lt_options *o);
/* s->stats.drops from BPF's counters, and the ring's size and resizes,
 * as a report shows them. */
void lt_session_read_drops(struct lt_session *s);
/* Frees its tables and caches; the tracer is stopped first (lt_tracer_stop). */
void lt_session_free(struct lt_session *s);

#endif
