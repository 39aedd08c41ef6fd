// SPDX-License-Identifier: MIT
#include "output/report_writers.h"

#include <inttypes.h>

#include "output/json_writer.h"
#include "output/gc_state_writer.h"
#include "output/holders_writer.h"

static void write_frames(FILE *out, const struct lt_report_stack *st)
{
	fputs("\"frames\":[", out);
	for (uint32_t i = 0; i < st->nframes; i++) {
		const struct lt_report_frame *f = &st->frames[i];

		if (f->python) {
			fputs(i ? ",{\"lang\":\"python\",\"func\":" : "{\"lang\":\"python\",\"func\":",
			      out);
			lt_json_string(out, f->func);
			fputs(",\"file\":", out);
			lt_json_string(out, f->file);
			if (f->line)
				fprintf(out, ",\"line\":%d}", f->line);
			else
				fputs(",\"line\":null}", out);
			continue;
		}
		fputs(i ? ",{\"func\":" : "{\"func\":", out);
		lt_json_string(out, f->func);
		fputs(",\"file\":", out);
		lt_json_string(out, f->file);
		if (f->line)
			fprintf(out, ",\"line\":%d", f->line);
		else
			fputs(",\"line\":null", out);
		fputs(",\"module\":", out);
		lt_json_string(out, f->module);
		fprintf(out, ",\"addr\":\"0x%" PRIx64 "\"", f->addr);
		if (f->module)
			fprintf(out, ",\"module_offset\":\"0x%" PRIx64 "\"", f->module_offset);
		if (f->build_id[0])
			fprintf(out, ",\"build_id\":\"%s\"", f->build_id);
		fprintf(out, ",\"inlined\":%s,\"lang\":\"native\"}", f->inlined ? "true" : "false");
	}
	fputc(']', out);
}

/* ,"KEY":slope,"verdict":"..." where tracked; the slope is null while unknown. */
static void write_verdict(FILE *out, const char *key, enum lt_verdict v, double slope)
{
	if (v == LT_VERDICT_NONE)
		return;
	fprintf(out, ",\"%s\":", key);
	if (v == LT_VERDICT_UNKNOWN)
		fputs("null", out);
	else
		lt_json_double(out, slope);
	fprintf(out, ",\"verdict\":\"%s\"", lt_verdict_name(v));
}

static void write_counts(FILE *out, const char *key, const uint64_t *v)
{
	fprintf(out, ",\"%s\":[", key);
	for (unsigned i = 0; i < LT_AGE_BUCKETS; i++)
		fprintf(out, "%s%" PRIu64, i ? "," : "", v[i]);
	fputc(']', out);
}

/* Bounds with each stack, so one stack read alone says what its buckets
 * are; null is the last bucket's missing upper bound. counts_only:
 * descriptors, counted per bucket as "count". */
static void write_ages(FILE *out, const struct lt_age_histogram *h, bool counts_only)
{
	fputs(",\"age_histogram\":{\"le_s\":[", out);
	for (unsigned i = 0; i < LT_AGE_BUCKETS; i++) {
		uint32_t le = lt_age_bucket_le_s(i);

		if (i)
			fputc(',', out);
		if (le)
			fprintf(out, "%u", le);
		else
			fputs("null", out);
	}
	fputc(']', out);
	if (counts_only) {
		write_counts(out, "count", h->allocs);
	} else {
		write_counts(out, "allocs", h->allocs);
		write_counts(out, "bytes", h->bytes);
	}
	fputc('}', out);
}

static void write_stacks(FILE *out, const struct lt_report_group *g)
{
	fputs("\"stacks\":[", out);
	for (size_t i = 0; i < g->nstacks; i++) {
		const struct lt_report_stack *st = &g->stacks[i];

		fprintf(out, "%s{\"bytes\":%" PRIu64 ",\"allocs\":%" PRIu64
			",\"sampled_allocs\":%" PRIu64 ",",
			i ? "," : "", st->bytes, st->allocs, st->sampled_allocs);
		if (st->processes)
			fprintf(out, "\"processes\":%u,", st->processes);
		fputs("\"oldest_age_s\":", out);
		lt_json_double(out, st->oldest_age_s);
		write_ages(out, &st->ages, false);
		write_verdict(out, "growth_bytes_per_s", st->verdict, st->growth_bytes_per_s);
		fputc(',', out);
		write_frames(out, st);
		fputc('}', out);
	}
	fputc(']', out);
}

static void write_kinds(FILE *out, const uint64_t *kinds)
{
	bool first = true;

	fputs("\"kinds\":{", out);
	for (unsigned k = 0; k < LT_FD_KIND_MAX; k++) {
		if (!kinds[k])
			continue;
		fprintf(out, "%s\"%s\":%" PRIu64, first ? "" : ",", lt_fd_kind_name(k), kinds[k]);
		first = false;
	}
	fputc('}', out);
}

/* Descriptors: a count per stack, what they are, and a few by name. */
static void write_fds(FILE *out, const struct lt_report_process *p)
{
	const struct lt_report_group *g = &p->fds;

	fprintf(out, ",\"fds\":{\"open\":%" PRIu64 ",\"open_before\":%" PRIu64 ",",
		g->outstanding_allocs, p->fds_open_before);
	write_kinds(out, p->fd_kinds);
	fputs(",\"stacks\":[", out);
	for (size_t i = 0; i < g->nstacks; i++) {
		const struct lt_report_stack *st = &g->stacks[i];

		fprintf(out, "%s{\"count\":%" PRIu64 ",\"oldest_age_s\":", i ? "," : "", st->allocs);
		lt_json_double(out, st->oldest_age_s);
		write_ages(out, &st->ages, true);
		write_verdict(out, "growth_per_s", st->verdict, st->growth_bytes_per_s);
		fputc(',', out);
		if (st->fd) {
			write_kinds(out, st->fd->kinds);
			fputs(",\"names\":[", out);
			for (size_t e = 0; e < st->fd->nexamples; e++) {
				fputs(e ? ",{\"name\":" : "{\"name\":", out);
				lt_json_string(out, st->fd->examples[e].text);
				fprintf(out, ",\"count\":%" PRIu64 "}", st->fd->examples[e].count);
			}
			fprintf(out, "],\"other_names\":%" PRIu64 ",", st->fd->others);
		}
		write_frames(out, st);
		fputc('}', out);
	}
	fputs("]}", out);
}

static void write_python(FILE *out, const struct lt_report_python *py)
{
	fputs(",\"types\":[", out);
	for (size_t i = 0; i < py->ntypes; i++) {
		fputs(i ? ",{\"type\":" : "{\"type\":", out);
		lt_json_string(out, py->types[i].name);
		fprintf(out, ",\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"delta_objects\":%" PRId64,
			py->types[i].objects, py->types[i].bytes, py->types[i].delta_objects);
		write_verdict(out, "growth_objects_per_s", py->types[i].verdict,
			      py->types[i].growth_objects_per_s);
		fputc('}', out);
	}
	fprintf(out, "],\"python\":{\"version\":\"3.%u%s%.0u\",\"counted\":\"%s\",\"objects\":%" PRIu64
		",\"bytes\":%" PRIu64 ",\"unmatched_frees\":%" PRIu64 ",\"at_shutdown\":%s,",
		py->minor, py->micro ? "." : "", py->micro, py->gc_only ? "gc" : "all", py->objects,
		py->bytes, py->unmatched_frees, py->at_shutdown ? "true" : "false");
	write_stacks(out, &py->stacks);
	fputs(",\"gc\":", out);
	lt_gc_state_write_json(out, py->gc);
	if (py->holders) {
		fputs(",\"holders\":", out);
		lt_holders_write_json(out, py->holders);
	}
	fputc('}', out);
}

static void write_owner(FILE *out, const struct lt_report_kernel_owner *o, bool with_process)
{
	fputc('{', out);
	if (with_process) {
		fprintf(out, "\"pid\":%u,\"comm\":", o->pid);
		lt_json_string(out, o->comm);
		fputc(',', out);
	}
	fprintf(out, "\"cgroup_id\":%" PRIu64 ",\"cgroup\":", o->cgroup_id);
	lt_json_string(out, o->cgroup);
	fputs(",\"container\":", out);
	lt_json_string(out, o->container_id);
	fprintf(out, ",\"bytes\":%" PRIu64 ",\"allocs\":%" PRIu64 "}", o->bytes, o->allocs);
}

static void write_owners(FILE *out, const char *key, const struct lt_report_kernel_owner *v,
			 size_t n, bool with_process)
{
	fprintf(out, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		write_owner(out, &v[i], with_process);
	}
	fputc(']', out);
}

/* --kernel: the same stacks, ages and verdicts as heap stacks, plus each
 * stack's cache and makers, and the caches, processes and cgroups. */
static void write_kernel(FILE *out, const struct lt_report_kernel *k)
{
	fputs(",\"kernel\":{\"cgroup_filter\":", out);
	lt_json_string(out, k->cgroup_filter);
	fputs(",\"cache_filter\":", out);
	lt_json_string(out, k->cache_filter);
	fprintf(out, ",\"outstanding_bytes\":%" PRIu64 ",\"outstanding_allocs\":%" PRIu64
		",\"sampled_allocs\":%" PRIu64 ",\"alloc_events\":%" PRIu64 ",\"free_events\":%" PRIu64
		",\"unmatched_frees\":%" PRIu64 ",\"userspace_oom\":%" PRIu64
		",\"dropped\":{\"allocs\":%" PRIu64 ",\"frees\":%" PRIu64
		",\"missed_runs\":%" PRIu64 "},\"symbols\":%" PRIu64,
		k->outstanding_bytes, k->outstanding_allocs, k->sampled_allocs, k->alloc_events,
		k->free_events, k->unmatched_frees, k->out_of_memory, k->dropped_allocs,
		k->dropped_frees, k->missed_runs, k->symbols);
	fputs(",\"caches\":[", out);
	for (size_t i = 0; i < k->ncaches; i++) {
		const struct lt_report_kernel_cache *c = &k->caches[i];

		fputs(i ? ",{\"cache\":" : "{\"cache\":", out);
		lt_json_string(out, c->name);
		fprintf(out, ",\"bytes\":%" PRIu64 ",\"allocs\":%" PRIu64 ",\"oldest_age_s\":",
			c->bytes, c->allocs);
		lt_json_double(out, c->oldest_age_s);
		write_ages(out, &c->ages, false);
		write_verdict(out, "growth_bytes_per_s", c->verdict, c->growth_bytes_per_s);
		fputc('}', out);
	}
	fputc(']', out);
	write_owners(out, "processes", k->processes, k->nprocesses, true);
	write_owners(out, "cgroups", k->cgroups, k->ncgroups, false);
	fputs(",\"stacks\":[", out);
	for (size_t i = 0; i < k->nstacks; i++) {
		const struct lt_report_kernel_stack *ks = &k->stacks[i];
		const struct lt_report_stack *st = &ks->stack;

		fprintf(out, "%s{\"bytes\":%" PRIu64 ",\"allocs\":%" PRIu64
			",\"sampled_allocs\":%" PRIu64 ",\"cache\":",
			i ? "," : "", st->bytes, st->allocs, st->sampled_allocs);
		lt_json_string(out, ks->cache);
		fprintf(out, ",\"caches\":%u,\"processes\":%u,\"oldest_age_s\":", ks->ncaches,
			ks->nprocesses);
		lt_json_double(out, st->oldest_age_s);
		write_ages(out, &st->ages, false);
		write_verdict(out, "growth_bytes_per_s", st->verdict, st->growth_bytes_per_s);
		write_owners(out, "made_by", ks->owners, ks->nowners, true);
		fputc(',', out);
		write_frames(out, st);
		fputc('}', out);
	}
	fputs("]}", out);
}

static void write_containers(FILE *out, const struct lt_report *r)
{
	fputs(",\"containers\":[", out);
	for (size_t i = 0; i < r->ncontainers; i++) {
		const struct lt_report_container *c = &r->containers[i];

		fputs(i ? ",{\"container\":" : "{\"container\":", out);
		lt_json_string(out, c->container_id);
		fputs(",\"cgroup\":", out);
		lt_json_string(out, c->cgroup);
		fprintf(out, ",\"processes\":%u,\"outstanding_bytes\":%" PRIu64
			",\"outstanding_allocs\":%" PRIu64,
			c->processes, c->outstanding_bytes, c->outstanding_allocs);
		if (r->kernel)
			fprintf(out, ",\"kernel_bytes\":%" PRIu64 ",\"kernel_allocs\":%" PRIu64,
				c->kernel_bytes, c->kernel_allocs);
		fputc('}', out);
	}
	fputc(']', out);
}

void lt_report_write_json(FILE *out, const struct lt_report *r)
{
	char when[64];
	struct tm tm;

	gmtime_r(&r->wall.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "{\"schema\":\"leaktrace/report/v1\",\"final\":%s,\"time\":\"%s.%03ldZ\",\"elapsed_s\":",
		r->final ? "true" : "false", when, r->wall.tv_nsec / 1000000);
	lt_json_double(out, r->elapsed_s);
	fprintf(out, ",\"stats\":{\"alloc_events\":%" PRIu64 ",\"free_events\":%" PRIu64
		",\"lost_events\":%" PRIu64 ",\"unmatched_frees\":%" PRIu64
		",\"mmap_events\":%" PRIu64 ",\"munmap_events\":%" PRIu64
		",\"replaced_allocs\":%" PRIu64 ",\"stacks_truncated\":%" PRIu64
		",\"py_alloc_events\":%" PRIu64 ",\"py_free_events\":%" PRIu64
		",\"fd_open_events\":%" PRIu64 ",\"fd_close_events\":%" PRIu64
		",\"dropped\":{\"ringbuf_alloc\":%" PRIu64 ",\"ringbuf_free\":%" PRIu64
		",\"ringbuf_task\":%" PRIu64 ",\"inflight_full\":%" PRIu64
		",\"sampled_full\":%" PRIu64 ",\"userspace_oom\":%" PRIu64 "}",
		r->stats.alloc_events, r->stats.free_events, r->lost_events,
		r->stats.unmatched_frees, r->stats.mmap_events, r->stats.munmap_events,
		r->stats.replaced_allocs, r->stats.drops[LT_DROP_STACK_TRUNCATED],
		r->stats.py_alloc_events, r->stats.py_free_events,
		r->stats.fd_open_events, r->stats.fd_close_events,
		r->stats.drops[LT_DROP_RINGBUF_ALLOC], r->stats.drops[LT_DROP_RINGBUF_FREE],
		r->stats.drops[LT_DROP_RINGBUF_TASK], r->stats.drops[LT_DROP_INFLIGHT_FULL],
		r->stats.drops[LT_DROP_SAMPLED_FULL], r->stats.out_of_memory);
	fprintf(out, ",\"suppressed_bytes\":%" PRIu64 ",\"suppressed_allocs\":%" PRIu64,
		r->suppressed_bytes, r->suppressed_allocs);
	fprintf(out, ",\"untracked_allocs\":%" PRIu64 ",\"untracked_bytes\":%" PRIu64
		",\"tracked_allocs\":%" PRIu64 ",\"tracked_stacks\":%" PRIu64
		",\"max_allocs\":%" PRIu64 ",\"max_stacks\":%" PRIu64,
		r->stats.untracked_allocs, r->stats.untracked_bytes, r->stats.tracked_allocs,
		r->stats.tracked_stacks, r->stats.max_allocs, r->stats.max_stacks);
	fprintf(out, ",\"ringbuf_bytes\":%" PRIu64 ",\"ringbuf_resizes\":%" PRIu64,
		r->stats.ringbuf_bytes, r->stats.ringbuf_resizes);
	fprintf(out, ",\"symbol_cache\":{\"parses\":%" PRIu64 ",\"reparses\":%" PRIu64
		",\"shared\":%" PRIu64 ",\"evictions\":%" PRIu64 ",\"bytes\":%" PRIu64 "}}",
		r->symbols.parses, r->symbols.reparses, r->symbols.shared, r->symbols.evictions,
		r->symbols.bytes);
	if (r->sample_bytes)
		fprintf(out, ",\"sampling\":{\"mean_bytes\":%" PRIu64 "}", r->sample_bytes);
	fputs(",\"processes\":[", out);
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct lt_report_process *p = &r->procs[i];

		fprintf(out, "%s{\"pid\":%u,\"comm\":", i ? "," : "", p->pid);
		lt_json_string(out, p->comm);
		fputs(",\"exe\":", out);
		lt_json_string(out, p->exe);
		fputs(",\"cgroup\":", out);
		lt_json_string(out, p->cgroup);
		fputs(",\"container\":", out);
		lt_json_string(out, p->container_id);
		fprintf(out, ",\"exited\":%s,\"left_cgroup\":%s,\"started_before_probes\":%s"
			",\"outstanding_bytes\":%" PRIu64 ",\"outstanding_allocs\":%" PRIu64 ",",
			p->exited ? "true" : "false", p->left_cgroup ? "true" : "false",
			p->started_before_probes ? "true" : "false",
			p->heap.outstanding_bytes,
			p->heap.outstanding_allocs);
		write_stacks(out, &p->heap);
		if (r->has_mmap) {
			fprintf(out, ",\"mmap\":{\"outstanding_bytes\":%" PRIu64
				",\"outstanding_regions\":%" PRIu64 ",",
				p->mmap.outstanding_bytes, p->mmap.outstanding_allocs);
			write_stacks(out, &p->mmap);
			fputc('}', out);
		}
		if (p->python)
			write_python(out, p->python);
		if (p->fds_traced)
			write_fds(out, p);
		fputc('}', out);
	}
	fprintf(out, "],\"summary\":{\"outstanding_bytes\":%" PRIu64 ",\"outstanding_allocs\":%" PRIu64 ",",
		r->summary.outstanding_bytes, r->summary.outstanding_allocs);
	write_stacks(out, &r->summary);
	fputc('}', out);
	if (r->kernel)
		write_kernel(out, r->kernel);
	write_containers(out, r);
	fputs("}\n", out);
	fflush(out);
}
