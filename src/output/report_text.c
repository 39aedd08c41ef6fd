// SPDX-License-Identifier: MIT
#include "output/report_writers.h"
#include "output/gc_state_writer.h"
#include "output/holders_writer.h"

#include <inttypes.h>
#include <string.h>

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

static void write_frame(FILE *out, const struct lt_report_frame *f)
{
	fprintf(out, "        ");
	if (f->python) {
		fprintf(out, "%s (%s:%d) [python]\n", f->func ? f->func : "?", f->file ? f->file : "?",
			f->line);
		return;
	}
	if (f->func && f->inlined) {
		/* An inlined function has no address of its own. */
		fprintf(out, "%s (inlined)", f->func);
		if (f->file)
			fprintf(out, " (%s:%d)", f->file, f->line);
		if (f->module)
			fprintf(out, " [%s]", base_name(f->module));
	} else if (f->func) {
		fprintf(out, "%s+0x%" PRIx64, f->func, f->func_offset);
		if (f->file)
			fprintf(out, " (%s:%d)", f->file, f->line);
		if (f->module)
			fprintf(out, " [%s]", base_name(f->module));
	} else if (f->module) {
		/* Enough to symbolize later: module, address in it, build-id. */
		fprintf(out, "[%s+0x%" PRIx64 "]", base_name(f->module), f->module_offset);
		if (f->build_id[0])
			fprintf(out, " build-id %s", f->build_id);
	} else {
		fprintf(out, "0x%" PRIx64, f->addr);
	}
	fputc('\n', out);
}

/* Only a known verdict is shown, so early reports read as they always did. */
static void write_verdict(FILE *out, enum lt_verdict v, double slope)
{
	if (v == LT_VERDICT_STABLE)
		fputs(", stable", out);
	else if (v == LT_VERDICT_GROWING || v == LT_VERDICT_SHRINKING)
		fprintf(out, ", %s %+.0f B/s", lt_verdict_name(v), slope);
}

/* One line under a stack's header: only the buckets that hold something, so
 * a stack whose blocks all have one age reads as one entry. counts_only:
 * descriptors, whose "bytes" are their count again. */
static void write_ages(FILE *out, const struct lt_age_histogram *h, bool counts_only)
{
	bool any = false;

	for (unsigned i = 0; i < LT_AGE_BUCKETS; i++) {
		if (!h->allocs[i] && !h->bytes[i])
			continue;
		fprintf(out, "%s%s %" PRIu64, any ? " | " : "      ages: ", lt_age_bucket_label(i),
			h->allocs[i]);
		if (!counts_only)
			fprintf(out, " (%" PRIu64 " B)", h->bytes[i]);
		any = true;
	}
	if (any)
		fputc('\n', out);
}

static void write_frames(FILE *out, const struct lt_report_stack *st)
{
	if (!st->nframes)
		fprintf(out, "        (no stack)\n");
	for (uint32_t f = 0; f < st->nframes; f++)
		write_frame(out, &st->frames[f]);
}

/* when: "" for a live process, else when its figures were taken. */
static void write_group(FILE *out, const char *what, const struct lt_report_group *g,
			const char *when, uint64_t min_age_ms)
{
	for (size_t i = 0; i < g->nstacks; i++) {
		const struct lt_report_stack *st = &g->stacks[i];

		fprintf(out, "    %" PRIu64 " bytes in %" PRIu64 " %s%s, oldest %.1f s%s", st->bytes,
			st->allocs, what, st->allocs == 1 ? "" : "s", st->oldest_age_s, when);
		write_verdict(out, st->verdict, st->growth_bytes_per_s);
		fputs(":\n", out);
		write_ages(out, &st->ages, false);
		write_frames(out, st);
	}
	if (!g->nstacks && g->outstanding_allocs && !when[0])
		fprintf(out, "    (none older than %" PRIu64 " ms)\n", min_age_ms);
}

/* objgraph.show_growth's table, then where the objects were created. */
static void write_python(FILE *out, const struct lt_report_python *py, const char *when,
			 uint64_t min_age_ms, long top)
{
	size_t ntypes = top > 0 && (size_t)top < py->ntypes ? (size_t)top : py->ntypes;

	fprintf(out, "  Python 3.%u%s%.0u: %" PRIu64 " %s, %" PRIu64
		" bytes created since tracing began and still alive%s\n",
		py->minor, py->micro ? "." : "", py->micro, py->objects,
		py->gc_only ? "GC-tracked objects" : "blocks", py->bytes,
		py->at_shutdown ? " when the interpreter began to shut down" : when);
	if (py->gc_only)
		fprintf(out, "    (%s:\n"
			"    objects the GC does not track, such as str, bytes, int and float, are not counted)\n",
			py->gc_only_by_build ? "this build inlines its object allocator into its callers" :
					       "--python-objects gc");
	if (ntypes)
		fprintf(out, "    %-32s %10s %12s %10s\n", "type", "objects", "bytes", "+delta");
	for (size_t i = 0; i < ntypes; i++) {
		const struct lt_report_py_type *t = &py->types[i];

		fprintf(out, "    %-32s %10" PRIu64 " %12" PRIu64 " %+10" PRId64, t->name,
			t->objects, t->bytes, t->delta_objects);
		/* As for stacks: only a known verdict, in objects. */
		if (t->verdict == LT_VERDICT_STABLE)
			fputs("  stable", out);
		else if (t->verdict == LT_VERDICT_GROWING || t->verdict == LT_VERDICT_SHRINKING)
			fprintf(out, "  %s %+.0f/s", lt_verdict_name(t->verdict),
				t->growth_objects_per_s);
		fputc('\n', out);
	}
	if (py->gc)
		lt_gc_state_write_text(out, py->gc, 4);
	write_group(out, py->gc_only ? "object" : "block", &py->stacks, when, min_age_ms);
	if (py->holders)
		lt_holders_write_text(out, py->holders, 2);
}

static void write_kinds(FILE *out, const uint64_t *kinds)
{
	bool any = false;

	for (unsigned k = 0; k < LT_FD_KIND_MAX; k++) {
		if (!kinds[k])
			continue;
		fprintf(out, "%s%s %" PRIu64, any ? ", " : "", lt_fd_kind_name(k), kinds[k]);
		any = true;
	}
}

/* Descriptors left open, by the stack that made them: what they are, a few
 * by name, and their ages. */
static void write_fds(FILE *out, const struct lt_report_process *p, const char *when,
		      uint64_t min_age_ms)
{
	const struct lt_report_group *g = &p->fds;

	if (!g->outstanding_allocs && !p->fds_open_before)
		return;
	fprintf(out, "  descriptors: %" PRIu64 " made since tracing began and still open%s",
		g->outstanding_allocs, when);
	if (g->outstanding_allocs) {
		fputs(" (", out);
		write_kinds(out, p->fd_kinds);
		fputc(')', out);
	}
	fprintf(out, "; %" PRIu64 " open before, not seen made\n", p->fds_open_before);
	for (size_t i = 0; i < g->nstacks; i++) {
		const struct lt_report_stack *st = &g->stacks[i];

		fprintf(out, "    %" PRIu64 " descriptor%s", st->allocs, st->allocs == 1 ? "" : "s");
		if (st->fd) {
			fputs(" (", out);
			write_kinds(out, st->fd->kinds);
			fputc(')', out);
		}
		fprintf(out, ", oldest %.1f s%s", st->oldest_age_s, when);
		if (st->verdict == LT_VERDICT_STABLE)
			fputs(", stable", out);
		else if (st->verdict == LT_VERDICT_GROWING || st->verdict == LT_VERDICT_SHRINKING)
			fprintf(out, ", %s %+.1f/s", lt_verdict_name(st->verdict), st->growth_bytes_per_s);
		fputs(":\n", out);
		for (size_t e = 0; st->fd && e < st->fd->nexamples; e++) {
			fprintf(out, "      %s", st->fd->examples[e].text);
			if (st->fd->examples[e].count > 1)
				fprintf(out, " (x%" PRIu64 ")", st->fd->examples[e].count);
			fputc('\n', out);
		}
		if (st->fd && st->fd->others)
			fprintf(out, "      and %" PRIu64 " more\n", st->fd->others);
		write_ages(out, &st->ages, true);
		write_frames(out, st);
	}
	if (!g->nstacks && g->outstanding_allocs && !when[0])
		fprintf(out, "    (none older than %" PRIu64 " ms)\n", min_age_ms);
}

static void write_owner(FILE *out, const struct lt_report_kernel_owner *o)
{
	if (o->pid)
		fprintf(out, "pid %u (%s) ", o->pid, o->comm);
	fprintf(out, "cgroup %s", o->cgroup ? o->cgroup : "(gone)");
	if (o->container_id)
		fprintf(out, " container %.12s", o->container_id);
	fprintf(out, ": %" PRIu64 " bytes in %" PRIu64 " object%s\n", o->bytes, o->allocs,
		o->allocs == 1 ? "" : "s");
}

/* The containers' share, by the cgroup of the task that made them: not
 * worth a table when everything is the root cgroup's. */
static bool cgroups_worth_showing(const struct lt_report_kernel *k)
{
	return k->ncgroups > 1 ||
	       (k->ncgroups == 1 && k->cgroups[0].cgroup && strcmp(k->cgroups[0].cgroup, "/"));
}

/* --kernel: slab objects held, by cache, by the process and cgroup that
 * made them, and by kernel stack. */
static void write_kernel(FILE *out, const struct lt_report *r)
{
	const struct lt_report_kernel *k = r->kernel;

	fprintf(out, "\nkernel: %" PRIu64 " bytes outstanding in %" PRIu64 " object%s", k->outstanding_bytes,
		k->outstanding_allocs, k->outstanding_allocs == 1 ? "" : "s");
	if (k->cgroup_filter)
		fprintf(out, " made in cgroup %s", k->cgroup_filter);
	if (k->cache_filter)
		fprintf(out, " of cache %s", k->cache_filter);
	fprintf(out, " (%" PRIu64 " made, %" PRIu64 " freed since tracing began",
		k->alloc_events, k->free_events);
	if (k->dropped_allocs || k->dropped_frees)
		fprintf(out, "; lost in BPF: %" PRIu64 " made, %" PRIu64 " freed", k->dropped_allocs,
			k->dropped_frees);
	/* Mostly BPF's own work nested in the programs, but some may be ours. */
	if (k->missed_runs)
		fprintf(out, "; %" PRIu64 " nested runs skipped by the kernel", k->missed_runs);
	fputs(")\n", out);
	if (!k->symbols)
		fputs("  (no kernel symbols: /proc/kallsyms unreadable)\n", out);
	if (k->ncaches)
		fprintf(out, "  %-24s %12s %10s %10s\n", "cache", "bytes", "objects", "oldest");
	for (size_t i = 0; i < k->ncaches; i++) {
		const struct lt_report_kernel_cache *c = &k->caches[i];

		fprintf(out, "  %-24s %12" PRIu64 " %10" PRIu64 " %9.1fs", c->name, c->bytes, c->allocs,
			c->oldest_age_s);
		write_verdict(out, c->verdict, c->growth_bytes_per_s);
		fputc('\n', out);
	}
	if (k->nprocesses)
		fputs("  made by:\n", out);
	for (size_t i = 0; i < k->nprocesses; i++) {
		fputs("    ", out);
		write_owner(out, &k->processes[i]);
	}
	if (cgroups_worth_showing(k))
		fputs("  by cgroup:\n", out);
	for (size_t i = 0; cgroups_worth_showing(k) && i < k->ncgroups &&
			   (r->top <= 0 || i < (size_t)r->top); i++) {
		fputs("    ", out);
		write_owner(out, &k->cgroups[i]);
	}
	for (size_t i = 0; i < k->nstacks; i++) {
		const struct lt_report_kernel_stack *ks = &k->stacks[i];
		const struct lt_report_stack *st = &ks->stack;

		fprintf(out, "    %" PRIu64 " bytes in %" PRIu64 " object%s of %s%s, oldest %.1f s",
			st->bytes, st->allocs, st->allocs == 1 ? "" : "s", ks->cache ? ks->cache : "?",
			ks->ncaches > 1 ? " (and other caches)" : "", st->oldest_age_s);
		write_verdict(out, st->verdict, st->growth_bytes_per_s);
		fputs(":\n", out);
		write_ages(out, &st->ages, false);
		for (size_t o = 0; o < ks->nowners; o++) {
			fputs("      by ", out);
			write_owner(out, &ks->owners[o]);
		}
		if (ks->nprocesses > ks->nowners)
			fprintf(out, "      and %zu more process%s\n", ks->nprocesses - ks->nowners,
				ks->nprocesses - ks->nowners == 1 ? "" : "es");
		write_frames(out, st);
	}
	if (!k->nstacks && k->outstanding_allocs)
		fprintf(out, "    (none older than %" PRIu64 " ms)\n", r->min_age_ms);
}

/* Only when some process is in a container: a host alone needs no table. */
static void write_containers(FILE *out, const struct lt_report *r)
{
	if (r->ncontainers < 2 && (!r->ncontainers || !r->containers[0].container_id))
		return;
	fprintf(out, "\nby container:\n");
	for (size_t i = 0; i < r->ncontainers; i++) {
		const struct lt_report_container *c = &r->containers[i];

		fprintf(out, "    %.12s: %" PRIu64 " bytes in %" PRIu64 " allocation%s in %u process%s",
			c->container_id ? c->container_id : "host", c->outstanding_bytes,
			c->outstanding_allocs, c->outstanding_allocs == 1 ? "" : "s", c->processes,
			c->processes == 1 ? "" : "es");
		if (r->kernel)
			fprintf(out, "; kernel: %" PRIu64 " bytes in %" PRIu64 " object%s",
				c->kernel_bytes, c->kernel_allocs, c->kernel_allocs == 1 ? "" : "s");
		fputc('\n', out);
	}
}

void lt_report_write_text(FILE *out, const struct lt_report *r)
{
	char when[64];
	struct tm tm;

	gmtime_r(&r->wall.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(out, "=== leaktrace %sreport at %s (%.1f s traced) ===\n", r->final ? "final " : "",
		when, r->elapsed_s);
	fprintf(out, "events: %" PRIu64 " allocs, %" PRIu64 " frees, %" PRIu64
		" frees of blocks not seen allocated, %" PRIu64 " lost",
		r->stats.alloc_events, r->stats.free_events, r->stats.unmatched_frees,
		r->lost_events);
	/* Never silent: what was lost, by cause, in every report. */
	if (r->lost_events)
		fprintf(out, " (ringbuf_alloc %" PRIu64 ", ringbuf_free %" PRIu64
			", ringbuf_task %" PRIu64 ", inflight_full %" PRIu64 ", sampled_full %" PRIu64
			")", r->stats.drops[LT_DROP_RINGBUF_ALLOC], r->stats.drops[LT_DROP_RINGBUF_FREE],
			r->stats.drops[LT_DROP_RINGBUF_TASK], r->stats.drops[LT_DROP_INFLIGHT_FULL],
			r->stats.drops[LT_DROP_SAMPLED_FULL]);
	fputc('\n', out);
	/* Said once it moved: the size follows the rate, up to --ringbuf-mb. */
	if (r->stats.ringbuf_resizes)
		fprintf(out, "ring buffer: %" PRIu64 " MiB now, resized %" PRIu64 " time%s\n",
			r->stats.ringbuf_bytes >> 20, r->stats.ringbuf_resizes,
			r->stats.ringbuf_resizes == 1 ? "" : "s");
	if (r->suppressed_bytes || r->suppressed_allocs)
		fprintf(out, "%" PRIu64 " bytes in %" PRIu64 " allocation%s hidden by suppressions\n",
			r->suppressed_bytes, r->suppressed_allocs, r->suppressed_allocs == 1 ? "" : "s");
	if (r->stats.untracked_allocs)
		fprintf(out, "%" PRIu64 " bytes in %" PRIu64 " allocation%s not tracked: --max-allocs %"
			PRIu64 " or --max-stacks %" PRIu64 " reached\n",
			r->stats.untracked_bytes, r->stats.untracked_allocs,
			r->stats.untracked_allocs == 1 ? "" : "s", r->stats.max_allocs,
			r->stats.max_stacks);
	if (r->sample_bytes)
		fprintf(out, "sampling one block per %" PRIu64 " bytes on average: "
			"bytes and counts are estimates\n", r->sample_bytes);
	if (!r->nprocs && !r->kernel)
		fprintf(out, "no outstanding allocations\n");
	if (r->kernel)
		write_kernel(out, r);
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct lt_report_process *p = &r->procs[i];
		const char *when = p->left_cgroup ? " when it left the cgroup" :
				   p->exited ? " at exit" : "";

		fprintf(out, "\npid %u (%s)%s%s%s%s%s%.12s: %" PRIu64 " bytes outstanding in %" PRIu64
			" allocation%s%s\n",
			p->pid, p->comm, p->exe ? " " : "", p->exe ? p->exe : "",
			p->cgroup ? " cgroup " : "", p->cgroup ? p->cgroup : "",
			p->container_id ? " container " : "", p->container_id ? p->container_id : "",
			p->heap.outstanding_bytes, p->heap.outstanding_allocs,
			p->heap.outstanding_allocs == 1 ? "" : "s",
			p->left_cgroup ? ", held when it left the cgroup (no longer traced)" :
			p->exited ? ", held at exit" : "");
		if (p->started_before_probes)
			fprintf(out, "  it ran on a libc before that libc's probes were in (tens of ms): "
				"what it allocated meanwhile is not counted\n");
		write_group(out, "allocation", &p->heap, when, r->min_age_ms);
		if (r->has_mmap) {
			fprintf(out, "  anonymous mmap: %" PRIu64 " bytes in %" PRIu64 " region%s\n",
				p->mmap.outstanding_bytes, p->mmap.outstanding_allocs,
				p->mmap.outstanding_allocs == 1 ? "" : "s");
			write_group(out, "region", &p->mmap, when, r->min_age_ms);
		}
		if (p->python)
			write_python(out, p->python, when, r->min_age_ms, r->top);
		if (p->fds_traced)
			write_fds(out, p, when, r->min_age_ms);
	}
	if (r->nprocs > 1 && r->summary.nstacks) {
		fprintf(out, "\nacross processes (same stacks in the same files summed):\n");
		for (size_t i = 0; i < r->summary.nstacks; i++) {
			const struct lt_report_stack *st = &r->summary.stacks[i];

			fprintf(out, "    %" PRIu64 " bytes in %" PRIu64 " allocation%s in %u process%s, oldest %.1f s:\n",
				st->bytes, st->allocs, st->allocs == 1 ? "" : "s", st->processes,
				st->processes == 1 ? "" : "es", st->oldest_age_s);
			write_ages(out, &st->ages, false);
			for (uint32_t f = 0; f < st->nframes; f++)
				write_frame(out, &st->frames[f]);
		}
	}
	write_containers(out, r);
	if (r->lost_events)
		fprintf(out, "\nwarning: %" PRIu64 " events were lost (ring buffer full): counts may be off\n",
			r->lost_events);
	fputc('\n', out);
	fflush(out);
}
