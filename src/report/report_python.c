// SPDX-License-Identifier: MIT
/*
 * The Python part of a report: live objects by type, with growth since the
 * previous report (objgraph.show_growth from outside), and by the traceback
 * (or line) that created them (tracemalloc's compare_to from outside).
 */
#include "report/report_python.h"
#include "session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "python/python_objects.h"
#include "report/report_holders.h"

struct py_total {
	uint32_t stack_id;
	uint64_t bytes;
	uint64_t objects;
	uint64_t oldest_ts_ns;
	struct lt_age_sums ages;
};

static enum lt_sort py_sort;

static int by_size(const void *a, const void *b)
{
	const struct py_total *x = a, *y = b;
	uint64_t kx = py_sort == LT_SORT_COUNT ? x->objects : x->bytes;
	uint64_t ky = py_sort == LT_SORT_COUNT ? y->objects : y->bytes;

	if (kx != ky)
		return kx < ky ? 1 : -1;
	return (x->stack_id > y->stack_id) - (x->stack_id < y->stack_id);
}

static int by_objects(const void *a, const void *b)
{
	const struct lt_report_py_type *x = a, *y = b;

	if (x->objects != y->objects)
		return x->objects < y->objects ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* A type's series is keyed by its name: FNV-1a, 64 bits, collisions ignored. */
static uint64_t name_key(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ULL;
	return h;
}

static int build_types(const struct lt_py_process *pp, const struct lt_growth_view *growth,
		       struct lt_report_python *out)
{
	uint64_t *objects, *bytes;
	struct lt_live_alloc entry;
	const struct lt_live_alloc *a = &entry;
	uint64_t iter = 0;
	int err = 0;

	objects = calloc(pp->ntypes ? pp->ntypes : 1, sizeof(*objects));
	bytes = calloc(pp->ntypes ? pp->ntypes : 1, sizeof(*bytes));
	out->types = calloc(pp->ntypes ? pp->ntypes : 1, sizeof(*out->types));
	if (!objects || !bytes || !out->types) {
		err = -ENOMEM;
		goto cleanup;
	}
	while (lt_live_next(&pp->objects, &iter, &entry)) {
		if (a->pad < pp->ntypes) {
			objects[a->pad]++;
			bytes[a->pad] += a->size_bytes;
		}
	}
	for (size_t i = 0; i < pp->ntypes; i++) {
		struct lt_py_type *t = &pp->types[i];
		struct lt_report_py_type *rt;
		int64_t delta = (int64_t)objects[i] - (int64_t)(t->reported ? t->last_reported : 0);
		struct lt_trend trend = { .verdict = LT_VERDICT_NONE };
		uint64_t key = name_key(t->name);

		err = lt_growth_view_sample(growth, LT_SAMPLE_PY_TYPE, (uint32_t)i, key, key,
					    (double)objects[i], &trend);
		if (err)
			goto cleanup;
		if (!objects[i] && !delta)
			continue;
		rt = &out->types[out->ntypes];
		rt->name = strdup(t->name);
		if (!rt->name) {
			err = -ENOMEM;
			goto cleanup;
		}
		rt->objects = objects[i];
		rt->bytes = bytes[i];
		rt->delta_objects = delta;
		rt->verdict = trend.verdict;
		rt->growth_objects_per_s = trend.slope;
		out->ntypes++;
	}
	qsort(out->types, out->ntypes, sizeof(*out->types), by_objects);
cleanup:
	free(objects);
	free(bytes);
	return err;
}

/* Frames of a traceback as report frames (only the innermost with lineno). */
static int traceback_frames(const struct lt_py_traceback *tb, bool lineno_only,
			    struct lt_report_stack *st)
{
	uint32_t n = lineno_only && tb->nframes ? 1 : tb->nframes;

	if (!n)
		return 0;
	st->frames = calloc(n, sizeof(*st->frames));
	if (!st->frames)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct lt_report_frame *f = &st->frames[i];

		f->python = true;
		f->func = strdup(tb->frames[i].func);
		f->file = strdup(tb->frames[i].file);
		f->line = tb->frames[i].line;
		f->build_id = "";
		st->nframes++;
		if (!f->func || !f->file)
			return -ENOMEM;
	}
	return 0;
}

static bool same_line(const struct lt_py_traceback *a, const struct lt_py_traceback *b)
{
	if (!a->nframes || !b->nframes)
		return a->nframes == b->nframes;
	return a->frames[0].line == b->frames[0].line &&
	       !strcmp(a->frames[0].file, b->frames[0].file) &&
	       !strcmp(a->frames[0].func, b->frames[0].func);
}

/* --group lineno: tracebacks ending at the same line become one. */
static size_t merge_by_line(struct lt_py_process *pp, struct py_total *t, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < out; j++)
			if (same_line(&pp->tracebacks[t[j].stack_id], &pp->tracebacks[t[i].stack_id]))
				break;
		if (j == out) {
			t[out++] = t[i];
			continue;
		}
		t[j].bytes += t[i].bytes;
		t[j].objects += t[i].objects;
		lt_age_sums_merge(&t[j].ages, &t[i].ages);
		if (t[i].oldest_ts_ns < t[j].oldest_ts_ns)
			t[j].oldest_ts_ns = t[i].oldest_ts_ns;
	}
	return out;
}

static int build_stacks(struct lt_session *s, struct lt_process *p, uint64_t now_ns,
			struct lt_report_group *g)
{
	struct lt_py_process *pp = p->py;
	uint64_t min_age_ns = s->opts->min_age_ms * 1000000ULL;
	uint64_t end_ns = p->exited ? p->exit_ns : now_ns;
	size_t n = pp->stacks.count, used = 0, keep;
	uint64_t iter = 0;
	struct lt_live_alloc entry;
	const struct lt_live_alloc *a = &entry;
	struct py_total *t;
	int err = 0;

	g->outstanding_bytes = pp->objects.bytes;
	g->outstanding_allocs = g->sampled_allocs = pp->objects.count;
	if (!pp->objects.count)
		return 0;
	t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	while (lt_live_next(&pp->objects, &iter, &entry)) {
		if (a->stack_id >= n || a->stack_id >= pp->ntracebacks)
			continue;
		if (!p->exited && (a->ts_ns > now_ns || now_ns - a->ts_ns < min_age_ns))
			continue;
		if (!t[a->stack_id].objects)
			t[a->stack_id].oldest_ts_ns = a->ts_ns;
		t[a->stack_id].stack_id = a->stack_id;
		t[a->stack_id].objects++;
		t[a->stack_id].bytes += a->size_bytes;
		lt_age_sums_add(&t[a->stack_id].ages, end_ns > a->ts_ns ? end_ns - a->ts_ns : 0, 1.0,
				a->size_bytes);
		if (a->ts_ns < t[a->stack_id].oldest_ts_ns)
			t[a->stack_id].oldest_ts_ns = a->ts_ns;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i].objects)
			t[used++] = t[i];
	if (s->opts->py_group_lineno)
		used = merge_by_line(pp, t, used);
	py_sort = s->opts->sort;
	qsort(t, used, sizeof(*t), by_size);
	keep = s->opts->top > 0 && (size_t)s->opts->top < used ? (size_t)s->opts->top : used;
	g->stacks = calloc(keep ? keep : 1, sizeof(*g->stacks));
	if (!g->stacks) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < keep; i++) {
		struct lt_report_stack *st = &g->stacks[g->nstacks++];

		st->bytes = t[i].bytes;
		st->allocs = st->sampled_allocs = t[i].objects;
		st->oldest_age_s = end_ns > t[i].oldest_ts_ns ? (end_ns - t[i].oldest_ts_ns) / 1e9 : 0;
		lt_age_sums_round(&t[i].ages, st->allocs, st->bytes, &st->ages);
		err = traceback_frames(&pp->tracebacks[t[i].stack_id], s->opts->py_group_lineno, st);
		if (err)
			goto cleanup;
	}
cleanup:
	free(t);
	return err;
}

int lt_report_build_python(struct lt_session *s, struct lt_process *p, uint64_t now_ns,
			   const struct lt_growth_view *types, struct lt_report_python **out)
{
	struct lt_report_python *py = calloc(1, sizeof(*py));
	int err;

	*out = py;
	if (!py)
		return -ENOMEM;
	py->minor = p->py->interp.minor;
	py->micro = p->py->interp.micro;
	py->objects = p->py->objects.count;
	py->bytes = p->py->objects.bytes;
	py->unmatched_frees = p->py->unmatched_frees;
	py->at_shutdown = p->py->finalizing;
	py->gc_only = p->py->interp.objects == LT_PY_OBJECTS_GC;
	py->gc_only_by_build = py->gc_only && p->py->interp.allocator_inlined;
	/* Read while it runs: a state the process is changing reads as
	 * unreadable, and the report goes without it. */
	if (!p->exited && !p->py->finalizing) {
		py->gc = calloc(1, sizeof(*py->gc));
		if (!py->gc)
			return -ENOMEM;
		if (lt_py_gc_state_read((pid_t)p->tgid, p->py->interp.minor, p->py->interp.layout.runtime,
					py->gc)) {
			free(py->gc);
			py->gc = NULL;
		}
	}
	err = build_types(p->py, types, py);
	if (!err)
		err = build_stacks(s, p, now_ns, &py->stacks);
	if (!err && (s->opts->holders || s->opts->snapshot_path))
		err = lt_report_build_py_samples(s, p, py);
	if (!err && s->opts->holders)
		err = lt_report_build_holders(s, p, py);
	return err;
}

