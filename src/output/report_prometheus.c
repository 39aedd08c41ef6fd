// SPDX-License-Identifier: MIT
/*
 * Prometheus text exposition format 0.0.4 over the report model. Each
 * family's HELP and TYPE lines come once, followed by all its series, as
 * the format requires. Counters are the session's running totals; gauges
 * are the state at the report.
 */
#include "output/report_prometheus.h"
#include "output/json_writer.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

struct family {
	const char *name, *type, *help;
};

static void put_header(FILE *out, const struct family *f)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
}

void lt_prom_put_label_value(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

void lt_prom_sanitize(char *dst, size_t len, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (!len)
		return;
	while (*s) {
		size_t n = (size_t)lt_utf8_decode(s, NULL);

		/* A sequence that does not fit is left out whole, never cut. */
		if (o + (n ? n : 1) >= len)
			break;
		if (n == 1 && (*s < 0x20 || *s == 0x7f)) {
			dst[o++] = '?';
		} else if (n) {
			memcpy(dst + o, s, n);
			o += n;
		} else {
			dst[o++] = '?';
			n = 1;
		}
		s += n;
	}
	dst[o] = '\0';
}

/* One process's values, or the sum of the processes past the limit. */
struct proc_row {
	uint64_t bytes, allocs, growing_stacks, mmap_bytes, mmap_regions, py_objects, py_bytes;
	double growth_bytes_per_s;
	bool python;
};

static void add_process(struct proc_row *row, const struct lt_report_process *p)
{
	row->bytes += p->heap.outstanding_bytes;
	row->allocs += p->heap.outstanding_allocs;
	for (size_t i = 0; i < p->heap.nstacks; i++) {
		const struct lt_report_stack *st = &p->heap.stacks[i];

		if (st->verdict == LT_VERDICT_GROWING) {
			row->growing_stacks++;
			row->growth_bytes_per_s += st->growth_bytes_per_s;
		}
	}
	row->mmap_bytes += p->mmap.outstanding_bytes;
	row->mmap_regions += p->mmap.outstanding_allocs;
	if (p->python) {
		row->python = true;
		row->py_objects += p->python->objects;
		row->py_bytes += p->python->bytes;
	}
}

enum proc_metric {
	PM_BYTES, PM_ALLOCS, PM_GROWING_STACKS, PM_GROWTH, PM_MMAP_BYTES, PM_MMAP_REGIONS,
	PM_PY_OBJECTS, PM_PY_BYTES, PM_COUNT,
};

static const struct family proc_families[PM_COUNT] = {
	[PM_BYTES] = { "leaktrace_process_outstanding_bytes", "gauge",
		       "Heap bytes held in live blocks, every block seen allocated and not freed." },
	[PM_ALLOCS] = { "leaktrace_process_outstanding_allocations", "gauge",
			"Live heap blocks, every block seen allocated and not freed." },
	[PM_GROWING_STACKS] = { "leaktrace_process_growing_stacks", "gauge",
				"Reported heap stacks whose leak verdict is growing." },
	[PM_GROWTH] = { "leaktrace_process_growth_bytes_per_second", "gauge",
			"Sum of the growth rates of the heap stacks whose verdict is growing." },
	[PM_MMAP_BYTES] = { "leaktrace_process_mmap_outstanding_bytes", "gauge",
			    "Bytes in live anonymous mmap regions (--mmap)." },
	[PM_MMAP_REGIONS] = { "leaktrace_process_mmap_outstanding_regions", "gauge",
			      "Live anonymous mmap regions (--mmap)." },
	[PM_PY_OBJECTS] = { "leaktrace_process_python_objects", "gauge",
			    "Live Python allocator blocks (objects and buffers) created since tracing began." },
	[PM_PY_BYTES] = { "leaktrace_process_python_bytes", "gauge",
			  "Bytes of those Python blocks, as asked of the allocator." },
};

static void put_proc_value(FILE *out, enum proc_metric m, const struct proc_row *row)
{
	static const size_t offsets[PM_COUNT] = {
		[PM_BYTES] = offsetof(struct proc_row, bytes),
		[PM_ALLOCS] = offsetof(struct proc_row, allocs),
		[PM_GROWING_STACKS] = offsetof(struct proc_row, growing_stacks),
		[PM_MMAP_BYTES] = offsetof(struct proc_row, mmap_bytes),
		[PM_MMAP_REGIONS] = offsetof(struct proc_row, mmap_regions),
		[PM_PY_OBJECTS] = offsetof(struct proc_row, py_objects),
		[PM_PY_BYTES] = offsetof(struct proc_row, py_bytes),
	};

	if (m == PM_GROWTH) {
		fprintf(out, " %.3f\n", row->growth_bytes_per_s);
		return;
	}
	fprintf(out, " %" PRIu64 "\n", *(const uint64_t *)((const char *)row + offsets[m]));
}

/* The process's labels, the set left open for more. */
static void open_proc_labels(FILE *out, const struct lt_report_process *p)
{
	char comm[4 * LT_COMM_LEN];

	lt_prom_sanitize(comm, sizeof(comm), p->comm);
	fprintf(out, "{pid=\"%u\",comm=", p->pid);
	lt_prom_put_label_value(out, comm);
	fputs(",container=", out);
	lt_prom_put_label_value(out, p->container_id ? p->container_id : "");
}

static void put_proc_labels(FILE *out, const struct lt_report_process *p)
{
	open_proc_labels(out, p);
	fputc('}', out);
}

static void write_processes(FILE *out, const struct lt_report *r, size_t shown)
{
	struct proc_row other = {};
	bool any_python = false;

	for (size_t i = 0; i < r->nprocs; i++) {
		any_python |= r->procs[i].python != NULL;
		if (i >= shown)
			add_process(&other, &r->procs[i]);
	}
	for (int m = 0; m < PM_COUNT; m++) {
		bool python = m == PM_PY_OBJECTS || m == PM_PY_BYTES;

		if ((m == PM_MMAP_BYTES || m == PM_MMAP_REGIONS) && !r->has_mmap)
			continue;
		if (python && !any_python)
			continue;
		put_header(out, &proc_families[m]);
		for (size_t i = 0; i < shown; i++) {
			struct proc_row row = {};

			add_process(&row, &r->procs[i]);
			if (python && !row.python)
				continue;
			fputs(proc_families[m].name, out);
			put_proc_labels(out, &r->procs[i]);
			put_proc_value(out, m, &row);
		}
		if (shown < r->nprocs && (!python || other.python)) {
			fprintf(out, "%s{pid=\"other\",comm=\"other\",container=\"other\"}",
				proc_families[m].name);
			put_proc_value(out, m, &other);
		}
	}
}

static const struct family gc_families[] = {
	{ "leaktrace_python_gc_enabled", "gauge",
	  "1 when the Python process's automatic garbage collection is on (gc.isenabled())." },
	{ "leaktrace_python_gc_debug_flags", "gauge", "gc.get_debug() of the Python process." },
	{ "leaktrace_python_gc_garbage_objects", "gauge",
	  "Objects in the Python process's gc.garbage (uncollectable, or all with DEBUG_SAVEALL)." },
	{ "leaktrace_python_gc_count", "gauge",
	  "gc.get_count(): what each generation counts toward its next collection." },
	{ "leaktrace_python_gc_threshold", "gauge", "gc.get_threshold(), per generation." },
	{ "leaktrace_python_gc_collections_total", "counter",
	  "Collections of each generation (gc.get_stats())." },
	{ "leaktrace_python_gc_collected_total", "counter",
	  "Objects collected by collections of each generation (gc.get_stats())." },
	{ "leaktrace_python_gc_uncollectable_total", "counter",
	  "Objects found uncollectable by collections of each generation (gc.get_stats())." },
	{ "leaktrace_python_gc_garbage_type_objects", "gauge",
	  "Objects of the commonest types in gc.garbage (of the first 100000 read)." },
};

static uint64_t gc_value(const struct lt_py_gc_state *gc, size_t family, unsigned gen)
{
	const struct lt_py_gc_gen *g = &gc->gens[gen];

	switch (family) {
	case 0: return gc->enabled;
	case 1: return gc->debug;
	case 2: return gc->garbage;
	case 3: return g->count;
	case 4: return g->threshold;
	case 5: return g->collections;
	case 6: return g->collected;
	default: return g->uncollectable;
	}
}

/* The garbage collectors of the Python processes shown, as gc.* gives them. */
static void write_python_gc(FILE *out, const struct lt_report *r, size_t shown)
{
	size_t nfam = sizeof(gc_families) / sizeof(gc_families[0]);
	bool any = false;

	for (size_t i = 0; i < shown; i++)
		any |= r->procs[i].python && r->procs[i].python->gc;
	if (!any)
		return;
	for (size_t f = 0; f < nfam; f++) {
		put_header(out, &gc_families[f]);
		for (size_t i = 0; i < shown; i++) {
			const struct lt_report_process *p = &r->procs[i];
			const struct lt_py_gc_state *gc = p->python ? p->python->gc : NULL;

			if (!gc)
				continue;
			if (f == nfam - 1) {
				for (uint32_t t = 0; t < gc->ngarbage_types; t++) {
					char type[4 * sizeof(gc->garbage_types[t].name)];

					lt_prom_sanitize(type, sizeof(type), gc->garbage_types[t].name);
					fputs(gc_families[f].name, out);
					open_proc_labels(out, p);
					fputs(",type=", out);
					lt_prom_put_label_value(out, type);
					fprintf(out, "} %" PRIu64 "\n", gc->garbage_types[t].count);
				}
				continue;
			}
			for (unsigned g = 0; g < (f < 3 ? 1u : LT_PY_GC_GENS); g++) {
				fputs(gc_families[f].name, out);
				open_proc_labels(out, p);
				if (f >= 3)
					fprintf(out, ",generation=\"%u\"", g);
				fprintf(out, "} %" PRIu64 "\n", gc_value(gc, f, g));
			}
		}
	}
}

/* Descriptor rows per process shown as their own series; the rest sum up. */
#define FD_STACKS_SHOWN 5

static const struct family f_open_fds = {
	"leaktrace_open_fds", "gauge",
	"Descriptors made while traced and still open, by process and the stack that made them "
	"(stack: its innermost Python line, else its first frame outside libc; \"other\": the rest)."
};

static bool in_libc(const struct lt_report_frame *f)
{
	const char *m = f->module ? strrchr(f->module, '/') : NULL;

	m = m ? m + 1 : f->module;
	return m && (!strncmp(m, "libc.so", 7) || !strncmp(m, "libc-", 5));
}

/* A stack as one label: where the program made the descriptor. */
static void stack_label(const struct lt_report_stack *st, char *buf, size_t len)
{
	const struct lt_report_frame *pick = NULL;
	char raw[512];

	for (uint32_t i = 0; i < st->nframes && !pick; i++)
		if (st->frames[i].python)
			pick = &st->frames[i];
	for (uint32_t i = 0; i < st->nframes && !pick; i++)
		if (!in_libc(&st->frames[i]))
			pick = &st->frames[i];
	if (!pick && st->nframes)
		pick = &st->frames[0];
	if (!pick)
		snprintf(raw, sizeof(raw), "(no stack)");
	else if (pick->file && pick->line)
		snprintf(raw, sizeof(raw), "%s (%s:%d)", pick->func ? pick->func : "?", pick->file,
			 pick->line);
	else
		snprintf(raw, sizeof(raw), "%s", pick->func ? pick->func : "?");
	lt_prom_sanitize(buf, len, raw);
}

static void put_fd_series(FILE *out, const struct lt_report_process *p, const char *stack,
			  uint64_t n)
{
	char comm[4 * LT_COMM_LEN];

	lt_prom_sanitize(comm, sizeof(comm), p->comm);
	fprintf(out, "%s{pid=\"%u\",comm=", f_open_fds.name, p->pid);
	lt_prom_put_label_value(out, comm);
	fputs(",container=", out);
	lt_prom_put_label_value(out, p->container_id ? p->container_id : "");
	fputs(",stack=", out);
	lt_prom_put_label_value(out, stack);
	fprintf(out, "} %" PRIu64 "\n", n);
}

static void write_fds(FILE *out, const struct lt_report *r, size_t shown)
{
	bool any = false;

	for (size_t i = 0; i < r->nprocs; i++)
		any |= r->procs[i].fds_traced;
	if (!any)
		return;
	put_header(out, &f_open_fds);
	for (size_t i = 0; i < shown; i++) {
		const struct lt_report_process *p = &r->procs[i];
		uint64_t rest = p->fds.outstanding_allocs;
		char label[512];

		if (!p->fds_traced)
			continue;
		for (size_t k = 0; k < p->fds.nstacks && k < FD_STACKS_SHOWN; k++) {
			stack_label(&p->fds.stacks[k], label, sizeof(label));
			put_fd_series(out, p, label, p->fds.stacks[k].allocs);
			rest -= p->fds.stacks[k].allocs < rest ? p->fds.stacks[k].allocs : rest;
		}
		if (rest || !p->fds.nstacks)
			put_fd_series(out, p, "other", rest);
	}
}

static const struct family container_families[] = {
	{ "leaktrace_container_processes", "gauge",
	  "Reported processes per container (container=\"\": the host)." },
	{ "leaktrace_container_outstanding_bytes", "gauge",
	  "Heap bytes in live blocks, summed over the container's reported processes." },
	{ "leaktrace_container_outstanding_allocations", "gauge",
	  "Live heap blocks, summed over the container's reported processes." },
};

static uint64_t container_value(const struct lt_report_container *c, size_t m)
{
	return m == 0 ? c->processes : m == 1 ? c->outstanding_bytes : c->outstanding_allocs;
}

static void write_containers(FILE *out, const struct lt_report *r, size_t shown)
{
	size_t nfam = sizeof(container_families) / sizeof(container_families[0]);

	for (size_t m = 0; m < nfam; m++) {
		uint64_t other = 0;

		put_header(out, &container_families[m]);
		for (size_t i = 0; i < r->ncontainers; i++) {
			const struct lt_report_container *c = &r->containers[i];

			if (i >= shown) {
				other += container_value(c, m);
				continue;
			}
			fprintf(out, "%s{container=", container_families[m].name);
			lt_prom_put_label_value(out, c->container_id ? c->container_id : "");
			fprintf(out, "} %" PRIu64 "\n", container_value(c, m));
		}
		if (shown < r->ncontainers)
			fprintf(out, "%s{container=\"other\"} %" PRIu64 "\n", container_families[m].name,
				other);
	}
}

static const struct family kernel_cache_families[] = {
	{ "leaktrace_kernel_cache_bytes", "gauge",
	  "--kernel: bytes of the objects held, made since tracing began, by slab cache." },
	{ "leaktrace_kernel_cache_objects", "gauge",
	  "--kernel: objects held, made since tracing began, by slab cache." },
};

static const struct family kernel_cgroup_families[] = {
	{ "leaktrace_kernel_cgroup_bytes", "gauge",
	  "--kernel: bytes of the objects held, by the cgroup of the task that made them." },
	{ "leaktrace_kernel_cgroup_objects", "gauge",
	  "--kernel: objects held, by the cgroup of the task that made them." },
};

/* --kernel: the caches the report lists (-T of them), and the largest
 * cgroups (as many as containers are kept), the rest summed as "other". */
static void write_kernel(FILE *out, const struct lt_report *r, size_t shown)
{
	const struct lt_report_kernel *k = r->kernel;

	for (size_t m = 0; m < 2; m++) {
		put_header(out, &kernel_cache_families[m]);
		for (size_t i = 0; i < k->ncaches; i++) {
			fprintf(out, "%s{cache=", kernel_cache_families[m].name);
			lt_prom_put_label_value(out, k->caches[i].name);
			fprintf(out, "} %" PRIu64 "\n", m ? k->caches[i].allocs : k->caches[i].bytes);
		}
	}
	for (size_t m = 0; m < 2; m++) {
		uint64_t other = 0;

		put_header(out, &kernel_cgroup_families[m]);
		for (size_t i = 0; i < k->ncgroups; i++) {
			const struct lt_report_kernel_owner *o = &k->cgroups[i];
			uint64_t v = m ? o->allocs : o->bytes;

			if (i >= shown || !o->cgroup) {
				other += v;
				continue;
			}
			fprintf(out, "%s{cgroup=", kernel_cgroup_families[m].name);
			lt_prom_put_label_value(out, o->cgroup);
			fprintf(out, "} %" PRIu64 "\n", v);
		}
		if (other)
			fprintf(out, "%s{cgroup=\"other\"} %" PRIu64 "\n", kernel_cgroup_families[m].name,
				other);
	}
}

static const struct family
	f_build_info = { "leaktrace_build_info", "gauge", "leaktrace's version, as a label; always 1." },
	f_uptime = { "leaktrace_uptime_seconds", "gauge",
		     "Seconds from the start of tracing to the last report." },
	f_report_time = { "leaktrace_report_timestamp_seconds", "gauge",
			  "Wall-clock time of the last report, in seconds since the epoch." },
	f_events = { "leaktrace_events_total", "counter",
		     "Allocator calls and Python object events recorded, by event." },
	f_lost = { "leaktrace_lost_events_total", "counter",
		   "Events lost in the kernel: ring buffer full, in-flight or sampled table full." },
	f_dropped = { "leaktrace_dropped_events_total", "counter",
		      "Events not recorded, by cause (userspace_oom: no memory to keep them)." },
	f_unmatched = { "leaktrace_unmatched_frees_total", "counter",
			"Frees of blocks not seen allocated: from before tracing, glibc's thread caches flushed at thread exit, or lost." },
	f_replaced = { "leaktrace_replaced_allocations_total", "counter",
		       "Blocks returned by the allocator while still thought live (a free was lost)." },
	f_truncated = { "leaktrace_stacks_truncated_total", "counter",
			"Stacks deeper than the frame limit, cut at their outer end." },
	f_supp_bytes = { "leaktrace_suppressed_bytes", "gauge",
			 "Heap bytes of the stacks hidden by suppressions, over all processes." },
	f_supp_allocs = { "leaktrace_suppressed_allocations", "gauge",
			  "Heap blocks of the stacks hidden by suppressions, over all processes." },
	f_processes = { "leaktrace_processes", "gauge", "Processes in the last report." };

static void put_counter(FILE *out, const char *name, const char *label, const char *value,
			uint64_t v)
{
	fprintf(out, "%s{%s=\"%s\"} %" PRIu64 "\n", name, label, value, v);
}

static void write_globals(FILE *out, const struct lt_report *r, const struct lt_prom_params *params)
{
	const struct lt_stats *st = &r->stats;

	put_header(out, &f_build_info);
	fputs("leaktrace_build_info{version=", out);
	lt_prom_put_label_value(out, params->version ? params->version : "");
	fputs("} 1\n", out);
	put_header(out, &f_uptime);
	fprintf(out, "leaktrace_uptime_seconds %.3f\n", r->elapsed_s);
	put_header(out, &f_report_time);
	fprintf(out, "leaktrace_report_timestamp_seconds %lld.%03ld\n", (long long)r->wall.tv_sec,
		r->wall.tv_nsec / 1000000);

	put_header(out, &f_events);
	put_counter(out, f_events.name, "event", "alloc", st->alloc_events);
	put_counter(out, f_events.name, "event", "free", st->free_events);
	put_counter(out, f_events.name, "event", "mmap", st->mmap_events);
	put_counter(out, f_events.name, "event", "munmap", st->munmap_events);
	put_counter(out, f_events.name, "event", "python_alloc", st->py_alloc_events);
	put_counter(out, f_events.name, "event", "python_free", st->py_free_events);
	put_counter(out, f_events.name, "event", "fd_open", st->fd_open_events);
	put_counter(out, f_events.name, "event", "fd_close", st->fd_close_events);
	put_header(out, &f_lost);
	fprintf(out, "%s %" PRIu64 "\n", f_lost.name, r->lost_events);
	put_header(out, &f_dropped);
	put_counter(out, f_dropped.name, "cause", "ringbuf_alloc", st->drops[LT_DROP_RINGBUF_ALLOC]);
	put_counter(out, f_dropped.name, "cause", "ringbuf_free", st->drops[LT_DROP_RINGBUF_FREE]);
	put_counter(out, f_dropped.name, "cause", "ringbuf_task", st->drops[LT_DROP_RINGBUF_TASK]);
	put_counter(out, f_dropped.name, "cause", "inflight_full", st->drops[LT_DROP_INFLIGHT_FULL]);
	put_counter(out, f_dropped.name, "cause", "sampled_full", st->drops[LT_DROP_SAMPLED_FULL]);
	put_counter(out, f_dropped.name, "cause", "userspace_oom", st->out_of_memory);
	put_header(out, &f_unmatched);
	fprintf(out, "%s %" PRIu64 "\n", f_unmatched.name, st->unmatched_frees);
	put_header(out, &f_replaced);
	fprintf(out, "%s %" PRIu64 "\n", f_replaced.name, st->replaced_allocs);
	put_header(out, &f_truncated);
	fprintf(out, "%s %" PRIu64 "\n", f_truncated.name, st->drops[LT_DROP_STACK_TRUNCATED]);

	put_header(out, &f_supp_bytes);
	fprintf(out, "%s %" PRIu64 "\n", f_supp_bytes.name, r->suppressed_bytes);
	put_header(out, &f_supp_allocs);
	fprintf(out, "%s %" PRIu64 "\n", f_supp_allocs.name, r->suppressed_allocs);
	put_header(out, &f_processes);
	fprintf(out, "%s %zu\n", f_processes.name, r->nprocs);
}

void lt_report_write_prometheus(FILE *out, const struct lt_report *r,
				const struct lt_prom_params *params)
{
	size_t procs = r->nprocs < params->max_processes ? r->nprocs : params->max_processes;
	size_t containers = r->ncontainers < params->max_containers ? r->ncontainers :
				params->max_containers;

	write_globals(out, r, params);
	/* r->procs and r->containers come largest first: the series kept are
	 * the largest ones. */
	write_processes(out, r, procs);
	write_python_gc(out, r, procs);
	write_fds(out, r, procs);
	write_containers(out, r, containers);
	if (r->kernel)
		write_kernel(out, r, params->max_containers);
}
