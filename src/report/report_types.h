/* SPDX-License-Identifier: MIT */
/*
 * The aggregated, symbolized view of one report: per process, stacks with
 * outstanding bytes and counts. Every output format is written from these
 * types, and snapshots and diff read and compare them; none of them sees
 * the session, raw events or tables (the builder, report_model.h, does).
 */
#ifndef LT_REPORT_TYPES_H
#define LT_REPORT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "consume/fd_kinds.h"
#include "consume/stats.h"
#include "holders/holders.h"
#include "python/python_gc_state.h"
#include "report/age_histogram.h"
#include "report/trend.h"
#include "symbols/symbol_cache.h"
#include "symbols/symbolized_frame.h"

/* Descriptors of one stack: by kind, and named (a path, an address). */
#define LT_FD_EXAMPLES 3

struct lt_report_fd_example {
	char *text;
	uint64_t count;
};

struct lt_report_fd_detail {
	uint64_t kinds[LT_FD_KIND_MAX];
	struct lt_report_fd_example examples[LT_FD_EXAMPLES]; /* most first */
	size_t nexamples;
	uint64_t others; /* descriptors named otherwise than the examples */
};

struct lt_report_stack {
	uint64_t bytes;          /* with sampling: unbiased estimates */
	uint64_t allocs;
	uint64_t sampled_allocs; /* blocks actually recorded */
	double oldest_age_s;
	struct lt_report_frame *frames; /* innermost first */
	uint32_t nframes;
	uint32_t processes;      /* summary only: processes holding this stack */
	/* Per-process heap stacks only; NONE elsewhere (growth_series.h). */
	enum lt_verdict verdict;
	double growth_bytes_per_s;
	/* The blocks counted above by age, at exit for exited processes; the
	 * buckets add up to bytes and allocs. All zero when ages are unknown. */
	struct lt_age_histogram ages;
	/* Descriptor stacks only (bytes and allocs are then both the count). */
	struct lt_report_fd_detail *fd;
};

struct lt_report_group {
	uint64_t outstanding_bytes;  /* every live block, before the age filter */
	uint64_t outstanding_allocs;
	uint64_t sampled_allocs;     /* blocks actually recorded */
	struct lt_report_stack *stacks; /* filtered, sorted, cut to -T */
	size_t nstacks;
};

struct lt_report_py_type {
	char *name;
	uint64_t objects;
	uint64_t bytes;
	int64_t delta_objects; /* since the previous report (since tracing began, at the first) */
	enum lt_verdict verdict;
	double growth_objects_per_s;
};

/* Live objects of one type made at one place, sampled for --holders and
 * for snapshots (leaktrace holders SNAPSHOT follows them later). */
struct lt_report_py_sample {
	char *type;
	uint64_t type_addr;   /* its type object in the process */
	char *where;          /* file:line of the traceback's innermost frame, or NULL */
	uint64_t *objects;    /* object addresses */
	size_t n;
};

/* The objects of a traced CPython interpreter. */
struct lt_report_python {
	uint32_t minor, micro;
	uint64_t objects;          /* live blocks (objects and buffers) seen created */
	uint64_t bytes;
	bool gc_only;              /* only GC-tracked objects are seen (see lt_py_objects) */
	bool gc_only_by_build;     /* because the build inlines its allocator */
	uint64_t unmatched_frees;  /* objects created before tracing started, then freed */
	bool at_shutdown;          /* counts are from when Py_FinalizeEx began */
	struct lt_report_py_type *types; /* by objects, largest first */
	size_t ntypes;
	struct lt_report_group stacks;   /* Python tracebacks (or lines, --group lineno) */
	struct lt_report_py_sample *samples; /* --holders or --snapshot: of the types growing most */
	size_t nsamples;
	uint64_t start_ticks;            /* the process's start time (clock ticks after boot) */
	struct lt_holders *holders;      /* --holders: who holds the growing types' objects */
	struct lt_py_gc_state *gc;       /* its garbage collector's state; NULL unreadable */
};

struct lt_report_process {
	uint32_t pid;
	char comm[LT_COMM_LEN];
	char *exe;
	char *cgroup;       /* cgroup v2 path; NULL when unknown */
	char *container_id; /* NULL: not in a container */
	bool exited;
	bool left_cgroup; /* --cgroup: moved out, no longer traced (not exited) */
	/* It ran on a libc before that libc's probes were in: an undercount. */
	bool started_before_probes;
	struct lt_report_group heap;
	struct lt_report_group mmap;
	/* Descriptors made while traced and still open, by stack; bytes and
	 * allocs both count them. */
	bool fds_traced;
	struct lt_report_group fds;
	uint64_t fd_kinds[LT_FD_KIND_MAX]; /* of every one of fds, before the age filter */
	uint64_t fds_open_before; /* open when tracing began and still open: not seen made */
	struct lt_report_python *python; /* NULL: not a traced Python process */
};

/* --kernel: who made kernel objects still held (a process, or a cgroup
 * when pid is 0), and how much. */
struct lt_report_kernel_owner {
	uint32_t pid;
	char comm[LT_COMM_LEN];
	uint64_t cgroup_id;
	char *cgroup;       /* cgroup v2 path; NULL when the cgroup is gone */
	char *container_id; /* NULL: not in a container */
	uint64_t bytes;
	uint64_t allocs;
};

#define LT_KERNEL_STACK_OWNERS 3

/* A kernel stack's objects: the stack itself, the cache most of them are
 * in, and the processes that made the most. */
struct lt_report_kernel_stack {
	struct lt_report_stack stack;
	char *cache;
	uint32_t ncaches;    /* caches its objects are in */
	uint32_t nprocesses; /* processes that made them */
	struct lt_report_kernel_owner owners[LT_KERNEL_STACK_OWNERS]; /* most bytes first */
	size_t nowners;
};

struct lt_report_kernel_cache {
	char *name;
	uint64_t bytes;
	uint64_t allocs;
	double oldest_age_s;
	struct lt_age_histogram ages;
	enum lt_verdict verdict;
	double growth_bytes_per_s;
};

struct lt_report_kernel {
	char *cgroup_filter;  /* --cgroup, resolved; NULL: every task */
	char *cache_filter;   /* --kernel-cache; NULL: every cache */
	uint64_t outstanding_bytes;  /* every object held, before the age filter */
	uint64_t outstanding_allocs;
	uint64_t sampled_allocs;     /* objects actually recorded */
	uint64_t alloc_events, free_events, unmatched_frees, out_of_memory;
	uint64_t dropped_allocs;     /* lost in BPF: ring full, live table full */
	uint64_t dropped_frees;
	uint64_t missed_runs;        /* program runs the kernel skipped (nested on a CPU) */
	uint64_t symbols;            /* kernel symbols known (0: /proc/kallsyms unreadable) */
	struct lt_report_kernel_stack *stacks; /* -T, by --sort */
	size_t nstacks;
	struct lt_report_kernel_cache *caches; /* -T, by bytes */
	size_t ncaches;
	struct lt_report_kernel_owner *processes; /* -T, by bytes */
	size_t nprocesses;
	struct lt_report_kernel_owner *cgroups;   /* every cgroup, by bytes (pid 0) */
	size_t ncgroups;
};

/* The reported processes of one container, or of the host (no id). */
struct lt_report_container {
	char *container_id;
	char *cgroup;       /* the container's own cgroup; NULL for the host */
	uint32_t processes;
	uint64_t outstanding_bytes;  /* heap, summed over its processes */
	uint64_t outstanding_allocs;
	uint64_t kernel_bytes;       /* --kernel: objects its tasks made, still held */
	uint64_t kernel_allocs;
};

struct lt_report {
	bool final;
	struct timespec wall;
	double elapsed_s;
	struct lt_stats stats;
	uint64_t lost_events;
	bool has_mmap;
	uint64_t min_age_ms;
	long top;              /* -T: rows per table */
	uint64_t sample_bytes; /* 0: exact counts */
	struct lt_symbol_cache_stats symbols; /* after symbolizing this report */
	/* Native stacks left out by suppressions, over every process; the
	 * processes' outstanding totals still include them. */
	uint64_t suppressed_bytes;
	uint64_t suppressed_allocs;
	struct lt_report_process *procs;
	size_t nprocs;
	struct lt_report_container *containers; /* by bytes, largest first */
	size_t ncontainers;
	/* Heap stacks summed over processes: the same frames in the same
	 * modules (whatever the load addresses) are one stack. */
	struct lt_report_group summary;
	struct lt_report_kernel *kernel; /* --kernel; NULL otherwise */
};

/* Each frees what it holds (NULL and empty parts are fine) and zeroes the
 * struct; a report read from a snapshot is freed the same way. */
void lt_report_free_group(struct lt_report_group *g);
void lt_report_free_fd_detail(struct lt_report_fd_detail *d);
void lt_report_free_python(struct lt_report_python *py);
void lt_report_free_process(struct lt_report_process *rp);
void lt_report_free_containers(struct lt_report *r);
void lt_report_free_kernel(struct lt_report_kernel *k);
void lt_report_free(struct lt_report *r);

#endif
