/* SPDX-License-Identifier: MIT */
/* Command-line options: one struct, defaults beside each field. */
#ifndef LT_OPTIONS_H
#define LT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LT_VERSION "0.1.0"

struct lt_suppressions;

enum lt_format { LT_FORMAT_TEXT, LT_FORMAT_JSON, LT_FORMAT_FOLDED, LT_FORMAT_PPROF, LT_FORMAT_HTML };
enum lt_sort { LT_SORT_BYTES, LT_SORT_COUNT };

/* Bounds on what is tracked, over all processes: ~32-64 bytes per live
 * block and ~0.5-1 KiB per stack (README, Guarantees and limits). */
#define LT_DEFAULT_MAX_ALLOCS (16u << 20)
#define LT_DEFAULT_MAX_STACKS (256u << 10)

/* 8 bytes each: 16 MiB of kernel memory, room for ~60 libc-sized files. */
#define LT_DEFAULT_UNWIND_ROWS (2u << 20)

/* --live: INTERVAL when none is given, and rows per table without -T (the
 * view sorts by growth: a slow leak should not be cut by -T's 10 by bytes). */
#define LT_LIVE_DEFAULT_INTERVAL_S 2.0
#define LT_LIVE_DEFAULT_TOP 50

/* --kernel-cache: longest name, NUL included (the BPF side's buffer). */
#define LT_KCACHE_NAME_MAX 32

struct lt_options {
	pid_t *pids;            /* -p, repeatable */
	size_t npids;
	char *command;          /* -c "CMD ARGS" */
	char *cgroup_path;      /* --cgroup: a cgroup v2 directory, as given */
	char *run_as_user;      /* --user: -c runs as this user, never as root */
	char **objs;            /* -O, repeatable: extra allocator objects */
	size_t nobjs;
	bool trace_mmap;        /* --mmap */
	double interval_s;      /* positional INTERVAL; 0 = only a final report */
	long count;             /* positional COUNT; 0 = unlimited */
	double duration_s;      /* -d; 0 = until signal or target exit */
	long top;               /* -T, default 10; 0 = all */
	uint64_t min_age_ms;    /* -o, default 500 */
	uint64_t min_size;      /* -z, default 0 */
	uint64_t max_size;      /* -Z, default UINT64_MAX */
	enum lt_sort sort;      /* --sort, default bytes */
	enum lt_format format;  /* --format, default text */
	char *output_path;      /* -w; NULL = stdout */
	bool live;              /* --live: a terminal view, redrawn every INTERVAL (default 2 s) */
	char *snapshot_path;    /* --snapshot: the final report's state, for leaktrace diff */
	uint64_t ringbuf_bytes; /* --ringbuf-mb: the ring's ceiling, default 64 MiB */
	uint64_t sample_bytes;  /* --sample-bytes; 0 = every block */
	bool unwind_dwarf;      /* --unwind dwarf (default) or fp */
	bool py_group_lineno;   /* --group lineno: Python objects by allocating line only */
	bool py_gc_only;        /* --python-objects gc: the GC allocation entry points only */
	bool py_native;         /* --native: Python frames in native stacks */
	bool no_fds;            /* --no-fds: descriptors are not traced */
	bool holders;           /* --holders: who holds the growing Python types' objects */
	uint32_t holders_pause_ms; /* --holders-pause MS: each pause at most, default 200 */
	uint32_t holders_samples;  /* --holders-samples N: objects followed per type and line */
	char *holders_dot_path; /* --holders-dot FILE: the chains as a graphviz graph */
	bool kernel;            /* --kernel: kernel memory (kmem tracepoints) instead of heaps */
	char *kernel_cache;     /* --kernel-cache NAME: only this slab cache; NULL: every one */
	bool kernel_pages;      /* --kernel-pages: also page allocations (mm_page_alloc) */
	uint32_t unwind_rows;   /* --unwind-rows, default LT_DEFAULT_UNWIND_ROWS */
	uint64_t symbol_cache_bytes; /* --symbol-cache-mb, default LT_SYMBOL_CACHE_DEFAULT_MB */
	uint32_t trend_window;  /* --trend-window, default LT_TREND_DEFAULT_WINDOW */
	uint32_t consumers;     /* --consumers; 0: one per CPU, a power of two up to 8 */
	uint64_t max_allocs;    /* --max-allocs, default LT_DEFAULT_MAX_ALLOCS */
	uint64_t max_stacks;    /* --max-stacks, default LT_DEFAULT_MAX_STACKS */
	char *serve_host;       /* --serve [HOST:]PORT: numeric address, default 127.0.0.1 */
	uint16_t serve_port;    /* 0: no agent endpoint */
	char *web_config_path;  /* --web-config FILE: TLS and users for --serve */
	int verbose;            /* -v */
	bool self_test;         /* --self-test: show probe placement and exit */
	char **supp_files;      /* --suppressions, repeatable */
	size_t nsupp_files;
	bool no_default_supp;   /* --no-default-suppressions */
	/* Built from the two above once parsing succeeded; NULL when empty. */
	struct lt_suppressions *suppressions;
};

/* Parses argv. Returns 0, 1 when --help/--version was printed, or -EINVAL
 * after printing one line on stderr. */
int lt_options_parse(int argc, char **argv, struct lt_options *o);
void lt_options_free(struct lt_options *o);

#endif
