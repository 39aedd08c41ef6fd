// SPDX-License-Identifier: MIT
#include "report/report_model.h"
#include "report/report_fds.h"
#include "report/report_python.h"
#include "session.h"
#include "base/grow_array.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "leaktrace.skel.h"
#include "symbols/module_cache.h"
#include "consume/sampling.h"
#include "report/suppressions.h"
#include "python/python_objects.h"
#include "symbols/symbolizer.h"

struct stack_total {
	uint32_t stack_id;
	uint32_t py_id;  /* --native: Python traceback id + 1; 0 none */
	uint64_t bytes;  /* estimates when sampling, else exact */
	uint64_t allocs;
	uint64_t sampled; /* blocks actually recorded */
	uint64_t oldest_ts_ns;
	double est_bytes;  /* blocks passing the age filter */
	double est_allocs;
	double all_bytes;  /* every block of the stack */
	double all_allocs;
	struct lt_age_sums ages; /* blocks passing the age filter, by age */
	struct lt_trend trend;
};

static enum lt_sort sort_key;

/* One process's stack, on its way into the cross-process summary. */
struct summary_item {
	uint64_t key;
	struct lt_process *proc;
	struct stack_total total;
	uint64_t ref_ns; /* ages are measured at exit for exited processes */
};

struct summary_builder {
	struct summary_item *v;
	size_t n;
	size_t capacity;
};

/* A frame's identity across processes: module file and address in it;
 * frames outside any module keep their raw address. */
static void frame_id(const struct lt_stack *st, uint32_t i, uint64_t id[2])
{
	const struct lt_frame_loc *loc = st->locs ? &st->locs[i] : NULL;

	if (loc && loc->module) {
		id[0] = loc->module->inode ^ ((uint64_t)loc->module->dev_major << 52) ^
			((uint64_t)loc->module->dev_minor << 32);
		id[1] = loc->file_offset;
	} else {
		id[0] = 0;
		id[1] = st->ips[i];
	}
}

static uint64_t stack_key(const struct lt_stack *st)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ st->nframes, id[2];

	for (uint32_t i = 0; i < st->nframes; i++) {
		frame_id(st, i, id);
		h = (h ^ id[0]) * 0x100000001b3ULL;
		h = (h ^ id[1]) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

static bool same_frames(const struct lt_stack *a, const struct lt_stack *b)
{
	uint64_t x[2], y[2];

	if (a->nframes != b->nframes)
		return false;
	for (uint32_t i = 0; i < a->nframes; i++) {
		frame_id(a, i, x);
		frame_id(b, i, y);
		if (x[0] != y[0] || x[1] != y[1])
			return false;
	}
	return true;
}

static int summary_add(struct summary_builder *b, struct lt_process *p,
		       const struct stack_total *t, uint64_t ref_ns)
{
	const struct lt_stack *st = lt_stacks_get(&p->stacks, t->stack_id);

	if (!st)
		return 0;
	struct summary_item *grown = lt_grow(b->v, &b->capacity, b->n + 1, sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	b->v = grown;
	b->v[b->n++] = (struct summary_item){ stack_key(st), p, *t, ref_ns };
	return 0;
}

static int by_sort_key(const void *a, const void *b)
{
	const struct stack_total *x = a, *y = b;
	uint64_t kx = sort_key == LT_SORT_COUNT ? x->allocs : x->bytes;
	uint64_t ky = sort_key == LT_SORT_COUNT ? y->allocs : y->bytes;
	uint64_t tx = sort_key == LT_SORT_COUNT ? x->bytes : x->allocs;
	uint64_t ty = sort_key == LT_SORT_COUNT ? y->bytes : y->allocs;

	if (kx != ky)
		return kx < ky ? 1 : -1;
	if (tx != ty)
		return tx < ty ? 1 : -1;
	if (x->stack_id != y->stack_id)
		return (x->stack_id > y->stack_id) - (x->stack_id < y->stack_id);
	return (x->py_id > y->py_id) - (x->py_id < y->py_id);
}

/* The interpreter's eval loop: where Python frames go in a native stack. */
static bool is_eval_loop(const struct lt_report_frame *f)
{
	return f->func && (!strncmp(f->func, "_PyEval_EvalFrame", 17) ||
			   !strcmp(f->func, "PyEval_EvalFrameEx"));
}

/*
 * Where the eval loop is when no frame names it: stripped LTO builds
 * (Debian's 3.14 and 3.15 executables) run a local copy of it, and their
 * opcode handlers, all unnamed. The innermost named frame after an unnamed
 * run of the same file is the C function that entered evaluation
 * (PyEval_EvalCode, a call API); list->n when there is none.
 */
static uint32_t after_unnamed_loop(const struct lt_frame_list *list)
{
	for (uint32_t i = 0; i < list->n; i++) {
		const char *module = list->v[i].module;

		if (list->v[i].func || !module)
			continue;
		for (uint32_t j = i + 1; j < list->n; j++) {
			if (!list->v[j].module || strcmp(list->v[j].module, module))
				break;
			if (list->v[j].func)
				return j;
		}
		break;
	}
	return list->n;
}

/*
 * --native: the Python frames that were running go where the native stack
 * enters the eval loop, innermost eval frame first (all of them there: which
 * C-level eval call ran which Python frames is not recorded).
 */
static int splice_python(struct lt_process *p, uint32_t py_id, struct lt_frame_list *list)
{
	const struct lt_py_traceback *tb;
	struct lt_report_frame *grown;
	uint32_t at = list->n;

	if (!p->py || !py_id || py_id - 1 >= p->py->ntracebacks)
		return 0;
	tb = &p->py->tracebacks[py_id - 1];
	if (!tb->nframes)
		return 0;
	for (uint32_t i = 0; i < list->n; i++) {
		if (is_eval_loop(&list->v[i])) {
			at = i;
			break;
		}
	}
	if (at == list->n)
		at = after_unnamed_loop(list);
	grown = lt_grow(list->v, &list->capacity, (size_t)list->n + tb->nframes, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	list->v = grown;
	memmove(&list->v[at + tb->nframes], &list->v[at], (list->n - at) * sizeof(*grown));
	memset(&list->v[at], 0, tb->nframes * sizeof(*grown));
	list->n += tb->nframes;
	for (uint32_t i = 0; i < tb->nframes; i++) {
		struct lt_report_frame *f = &list->v[at + i];

		f->python = true;
		f->build_id = "";
		f->line = tb->frames[i].line;
		f->func = strdup(tb->frames[i].func);
		f->file = strdup(tb->frames[i].file);
		if (!f->func || !f->file)
			return -ENOMEM;
	}
	return 0;
}

static int symbolize_stack(struct lt_process *p, const struct stack_total *t, uint64_t now_ns,
			   struct lt_report_stack *out)
{
	const struct lt_stack *st = lt_stacks_get(&p->stacks, t->stack_id);
	int err = 0;

	out->bytes = t->bytes;
	out->allocs = t->allocs;
	out->sampled_allocs = t->sampled;
	out->oldest_age_s = now_ns > t->oldest_ts_ns ? (now_ns - t->oldest_ts_ns) / 1e9 : 0;
	out->verdict = t->trend.verdict;
	out->growth_bytes_per_s = t->trend.slope;
	struct lt_frame_list list = {};

	/* --group lineno descriptors: the Python line alone. */
	if (!st && t->py_id) {
		err = splice_python(p, t->py_id, &list);
		while (list.n > 1)
			lt_report_frame_clear(&list.v[--list.n]);
		out->frames = list.v;
		out->nframes = list.n;
		return err;
	}
	if (!st || !st->nframes)
		return 0;
	for (uint32_t i = 0; i < st->nframes; i++) {
		err = lt_symbolize_ip(st->locs ? &st->locs[i] : NULL, st->ips[i], &list);
		if (err)
			break;
	}
	if (!err)
		err = splice_python(p, t->py_id, &list);
	/* Handed over even on error, so the report's cleanup frees them. */
	out->frames = list.v;
	out->nframes = list.n;
	return err;
}

/*
 * Whether a suppression hides t's stack. Names come from the symbolizer's
 * memo, so looking at every stack costs little more than the top ones; the
 * frames are made again for the stacks shown.
 */
static int stack_suppressed(const struct lt_session *s, struct lt_process *p,
			    const struct stack_total *t, bool *hidden)
{
	struct lt_report_stack tmp = {};
	int err = symbolize_stack(p, t, 0, &tmp);

	*hidden = !err && lt_suppressions_match(s->opts->suppressions, tmp.frames, tmp.nframes);
	for (uint32_t f = 0; f < tmp.nframes; f++)
		lt_report_frame_clear(&tmp.frames[f]);
	free(tmp.frames);
	return err;
}

/* Drop the suppressed stacks from totals[0..*n), before the summary and the
 * -T cut see them, counting them in r. */
static int drop_suppressed(const struct lt_session *s, struct lt_process *p,
			   struct stack_total *totals, size_t *n, struct lt_report *r)
{
	size_t kept = 0;

	if (lt_suppressions_empty(s->opts->suppressions))
		return 0;
	for (size_t i = 0; i < *n; i++) {
		bool hidden;
		int err = stack_suppressed(s, p, &totals[i], &hidden);

		if (err)
			return err;
		if (hidden) {
			r->suppressed_bytes += totals[i].bytes;
			r->suppressed_allocs += totals[i].allocs;
			continue;
		}
		totals[kept++] = totals[i];
	}
	*n = kept;
	return 0;
}

/*
 * Sum live blocks per stack. Exited processes keep all they held at exit
 * (leaked at exit); live ones only blocks older than -o.
 */
/*
 * --native: blocks whose native stack is the same but whose Python
 * traceback differs are different stacks. Those (stack, traceback) pairs
 * get slots after the plain stacks, found through this index.
 */
struct mixed_index {
	uint64_t *keys; /* (stack_id << 32 | py_id); 0 = empty (py_id is never 0 here) */
	uint32_t *slots;
	size_t cap, n;
};

static long mixed_slot(struct mixed_index *m, uint32_t stack_id, uint32_t py_id, bool add)
{
	uint64_t key = ((uint64_t)stack_id << 32) | py_id;
	size_t i;

	if (add && (m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		uint64_t *keys = calloc(cap, sizeof(*keys));
		uint32_t *slots = calloc(cap, sizeof(*slots));

		if (!keys || !slots) {
			free(keys);
			free(slots);
			return -ENOMEM;
		}
		for (size_t j = 0; j < m->cap; j++) {
			if (!m->keys[j])
				continue;
			for (i = (m->keys[j] * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1); keys[i];
			     i = (i + 1) & (cap - 1))
				;
			keys[i] = m->keys[j];
			slots[i] = m->slots[j];
		}
		free(m->keys);
		free(m->slots);
		m->keys = keys;
		m->slots = slots;
		m->cap = cap;
	}
	if (!m->cap)
		return -ENOENT;
	for (i = (key * 0x9e3779b97f4a7c15ULL >> 20) & (m->cap - 1); m->keys[i];
	     i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return m->slots[i];
	if (!add)
		return -ENOENT;
	m->keys[i] = key;
	m->slots[i] = (uint32_t)m->n;
	return (long)m->n++;
}

/*
 * A stack's series is keyed by its id in the process's stack store (and its
 * Python traceback with --native); the tag, the stack's hash, restarts the
 * series when exec or a reused pid gives the id to another stack.
 */
static int record_growth(const struct lt_growth_view *growth, enum lt_report_sample_kind kind,
			 struct lt_process *p, struct stack_total *t)
{
	const struct lt_stack *st = lt_stacks_get(&p->stacks, t->stack_id);
	uint64_t key = ((uint64_t)t->stack_id << 32) | t->py_id, tag = st ? st->hash : 0;

	if (!growth || (!st && !t->py_id))
		return 0;
	/* --group lineno descriptors: the line is the whole stack. */
	if (!st)
		tag = t->py_id;
	return lt_growth_view_sample(growth, kind, 0, key, tag, (double)t->bytes, &t->trend);
}

/* An entry's row: its native stack and Python traceback (id + 1; 0 none),
 * or with line_reps (--group lineno descriptors) the first traceback ending
 * at its line, and no native stack (stack_id nstacks). */
struct entry_key {
	uint32_t stack_id;
	uint32_t py_id;
};

static struct entry_key key_of(const struct lt_live_alloc *a, const uint32_t *line_reps,
			       size_t nreps, size_t nstacks)
{
	if (!a->pad)
		return (struct entry_key){ a->stack_id, 0 };
	if (!line_reps || a->pad - 1 >= nreps)
		return (struct entry_key){ a->stack_id, a->pad };
	return (struct entry_key){ (uint32_t)nstacks, line_reps[a->pad - 1] + 1 };
}

/* What a table holds, for build_group. */
struct group_spec {
	bool sampled;  /* --sample-bytes applies (heap blocks) */
	bool with_py;  /* entries keep a Python traceback id + 1 in pad */
	bool fds;      /* descriptors: counted, described */
	enum lt_report_sample_kind series;
};

static const struct group_spec heap_spec = { true, true, false, LT_SAMPLE_HEAP };
static const struct group_spec mmap_spec = { false, false, false, LT_SAMPLE_HEAP };
static const struct group_spec fd_spec = { false, true, true, LT_SAMPLE_FD };

static int build_group(struct lt_session *s, struct lt_process *p, struct lt_live_table *table,
		       const struct group_spec *spec, uint64_t now_ns, struct lt_report_group *g,
		       struct summary_builder *summary, const struct lt_growth_view *growth,
		       struct lt_report *r)
{
	struct mixed_index mix = { 0 };
	size_t nstacks = p->stacks.count, nslots, nused = 0, keep;
	uint64_t iter = 0;
	uint64_t min_age_ns = s->opts->min_age_ms * 1000000ULL;
	uint64_t mean = spec->sampled ? s->opts->sample_bytes : 0;
	/* --group lineno: descriptors made from Python, by their line alone. */
	bool by_line = spec->fds && s->opts->py_group_lineno && p->py;
	uint32_t *reps = NULL;
	size_t nreps = by_line ? p->py->ntracebacks : 0;
	/* Ages at exit for exited processes, as oldest_age_s. */
	uint64_t ref_ns = p->exited ? p->exit_ns : now_ns;
	struct stack_total *totals;
	struct lt_live_alloc entry;
	const struct lt_live_alloc *a = &entry;
	int err = 0;

	g->outstanding_bytes = table->bytes;
	g->outstanding_allocs = table->count;
	g->sampled_allocs = table->count;
	if (!table->count)
		return 0;
	if (by_line && lt_report_line_reps(p->py, &reps))
		return -ENOMEM;
	/* Native heap entries keep a Python traceback id + 1 in pad (--native). */
	while (p->py && spec->with_py && lt_live_next(table, &iter, &entry)) {
		struct entry_key k = key_of(a, reps, nreps, nstacks);

		if (k.py_id && k.stack_id <= nstacks && mixed_slot(&mix, k.stack_id, k.py_id, true) < 0) {
			err = -ENOMEM;
			goto cleanup_mix;
		}
	}
	iter = 0;
	nslots = nstacks + mix.n;
	totals = calloc(nslots ? nslots : 1, sizeof(*totals));
	if (!totals) {
		err = -ENOMEM;
		goto cleanup_mix;
	}
	while (lt_live_next(table, &iter, &entry)) {
		double w = mean ? lt_sample_weight(a->size_bytes, mean) : 1.0;
		struct entry_key k = mix.n ? key_of(a, reps, nreps, nstacks) :
					     (struct entry_key){ a->stack_id, 0 };
		struct stack_total *t;
		size_t slot = k.stack_id;

		if (k.py_id) {
			long m = mixed_slot(&mix, k.stack_id, k.py_id, false);

			if (m < 0)
				continue;
			slot = nstacks + (size_t)m;
		} else if (k.stack_id >= nstacks) {
			continue;
		}
		totals[slot].all_bytes += w * (double)a->size_bytes;
		totals[slot].all_allocs += w;
		if (!p->exited && (a->ts_ns > now_ns || now_ns - a->ts_ns < min_age_ns))
			continue;
		t = &totals[slot];
		if (!t->sampled) {
			t->oldest_ts_ns = a->ts_ns;
			nused++;
		}
		t->py_id = k.py_id;
		t->stack_id = k.stack_id;
		t->sampled++;
		t->est_bytes += w * (double)a->size_bytes;
		t->est_allocs += w;
		lt_age_sums_add(&t->ages, ref_ns > a->ts_ns ? ref_ns - a->ts_ns : 0, w, a->size_bytes);
		if (a->ts_ns < t->oldest_ts_ns)
			t->oldest_ts_ns = a->ts_ns;
	}
	/* Totals are sums of rounded per-stack estimates, so the stacks shown
	 * never add up to more than their process (exact without sampling). */
	if (mean)
		g->outstanding_bytes = g->outstanding_allocs = 0;
	for (size_t i = 0; i < nslots; i++) {
		totals[i].bytes = (uint64_t)llround(totals[i].est_bytes);
		totals[i].allocs = (uint64_t)llround(totals[i].est_allocs);
		if (mean) {
			g->outstanding_bytes += (uint64_t)llround(totals[i].all_bytes);
			g->outstanding_allocs += (uint64_t)llround(totals[i].all_allocs);
		}
	}
	/* Compact the used entries, then order them. */
	for (size_t i = 0, j = 0; i < nslots; i++)
		if (totals[i].sampled)
			totals[j++] = totals[i];
	/* Every stack, not only the -T shown: a series needs every report. */
	for (size_t i = 0; i < nused; i++) {
		err = record_growth(growth, spec->series, p, &totals[i]);
		if (err)
			goto cleanup;
	}
	/* Suppressions name heap blocks; their counts are bytes. */
	err = spec->fds ? 0 : drop_suppressed(s, p, totals, &nused, r);
	if (err)
		goto cleanup;
	for (size_t i = 0; summary && i < nused; i++) {
		err = summary_add(summary, p, &totals[i], p->exited ? p->exit_ns : now_ns);
		if (err)
			goto cleanup;
	}
	sort_key = s->opts->sort;
	qsort(totals, nused, sizeof(*totals), by_sort_key);
	keep = s->opts->top > 0 && (size_t)s->opts->top < nused ? (size_t)s->opts->top : nused;
	if (keep) {
		g->stacks = calloc(keep, sizeof(*g->stacks));
		if (!g->stacks) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	for (size_t i = 0; i < keep; i++) {
		g->nstacks++;
		err = symbolize_stack(p, &totals[i], ref_ns, &g->stacks[i]);
		lt_age_sums_round(&totals[i].ages, totals[i].allocs, totals[i].bytes, &g->stacks[i].ages);
		if (!err && spec->fds)
			err = lt_report_fd_detail(p, &(struct lt_fd_row){ totals[i].stack_id,
						  totals[i].py_id, reps, nreps, mix.n != 0,
						  p->exited ? 0 : min_age_ns, now_ns }, &g->stacks[i].fd);
		if (err)
			goto cleanup;
	}
cleanup:
	free(totals);
cleanup_mix:
	free(reps);
	free(mix.keys);
	free(mix.slots);
	return err;
}

static bool worth_reporting(const struct lt_process *p)
{
	return p->target || p->heap.count || p->mmaps.count || p->fds.open.count || p->py;
}

/* Named targets always appear; others only when a stack passed the filters. */
static bool has_content(const struct lt_process *p, const struct lt_report_process *rp)
{
	return p->target || rp->heap.nstacks || rp->mmap.nstacks || rp->fds.nstacks || rp->python;
}

static int by_outstanding(const void *a, const void *b)
{
	const struct lt_report_process *x = a, *y = b;

	if (x->heap.outstanding_bytes != y->heap.outstanding_bytes)
		return x->heap.outstanding_bytes < y->heap.outstanding_bytes ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int by_key(const void *a, const void *b)
{
	const struct summary_item *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

struct summary_group {
	struct summary_item *first; /* its frames stand for the group */
	struct stack_total total;
	uint32_t processes;
	double oldest_age_s;
	struct lt_age_histogram ages; /* sum of its stacks' rounded buckets */
};

static int by_group_sort_key(const void *a, const void *b)
{
	return by_sort_key(&((const struct summary_group *)a)->total,
			   &((const struct summary_group *)b)->total);
}

/* Merge equal stacks (sorted by key, then compared frame by frame), order
 * them like per-process stacks and symbolize the top ones. */
static int build_summary(struct lt_session *s, struct summary_builder *b,
			 struct lt_report_group *g)
{
	struct summary_group *groups;
	size_t ngroups = 0, keep;
	int err = 0;

	if (!b->n)
		return 0;
	groups = calloc(b->n, sizeof(*groups));
	if (!groups)
		return -ENOMEM;
	qsort(b->v, b->n, sizeof(*b->v), by_key);
	for (size_t i = 0; i < b->n; i++) {
		struct summary_item *it = &b->v[i];
		struct summary_group *grp = ngroups ? &groups[ngroups - 1] : NULL;
		struct lt_age_histogram ages;
		double age = it->ref_ns > it->total.oldest_ts_ns ?
				     (it->ref_ns - it->total.oldest_ts_ns) / 1e9 : 0;

		if (!grp || grp->first->key != it->key ||
		    !same_frames(lt_stacks_get(&grp->first->proc->stacks, grp->first->total.stack_id),
				 lt_stacks_get(&it->proc->stacks, it->total.stack_id))) {
			grp = &groups[ngroups++];
			grp->first = it;
			grp->total.stack_id = (uint32_t)i;
		}
		grp->total.bytes += it->total.bytes;
		grp->total.allocs += it->total.allocs;
		grp->total.sampled += it->total.sampled;
		lt_age_sums_round(&it->total.ages, it->total.allocs, it->total.bytes, &ages);
		lt_age_histogram_merge(&grp->ages, &ages);
		grp->processes++;
		if (age > grp->oldest_age_s)
			grp->oldest_age_s = age;
		g->outstanding_bytes += it->total.bytes;
		g->outstanding_allocs += it->total.allocs;
		g->sampled_allocs += it->total.sampled;
	}
	sort_key = s->opts->sort;
	qsort(groups, ngroups, sizeof(*groups), by_group_sort_key);
	keep = s->opts->top > 0 && (size_t)s->opts->top < ngroups ? (size_t)s->opts->top : ngroups;
	g->stacks = calloc(keep ? keep : 1, sizeof(*g->stacks));
	if (!g->stacks) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < keep; i++) {
		struct stack_total t = groups[i].first->total;

		g->nstacks++;
		t.bytes = groups[i].total.bytes;
		t.allocs = groups[i].total.allocs;
		t.sampled = groups[i].total.sampled;
		t.trend = (struct lt_trend){ .verdict = LT_VERDICT_NONE };
		err = symbolize_stack(groups[i].first->proc, &t, 0, &g->stacks[i]);
		g->stacks[i].oldest_age_s = groups[i].oldest_age_s;
		g->stacks[i].processes = groups[i].processes;
		g->stacks[i].ages = groups[i].ages;
		if (err)
			break;
	}
cleanup:
	free(groups);
	return err;
}

void lt_report_fill_header(const struct lt_session *s, bool final, uint64_t now_ns,
			   struct lt_report *r)
{
	memset(r, 0, sizeof(*r));
	r->final = final;
	clock_gettime(CLOCK_REALTIME, &r->wall);
	r->elapsed_s = (now_ns - s->start_ns) / 1e9;
	r->has_mmap = s->opts->trace_mmap;
	r->min_age_ms = s->opts->min_age_ms;
	r->top = s->opts->top;
	r->sample_bytes = s->opts->sample_bytes;
	r->stats = s->stats;
	for (int k = 0; k < LT_DROP_MAX; k++)
		if (k != LT_DROP_STACK_TRUNCATED)
			r->lost_events += r->stats.drops[k];
}

static uint32_t trend_window(const struct lt_session *s)
{
	return s->opts->trend_window ? s->opts->trend_window : LT_TREND_DEFAULT_WINDOW;
}

int lt_report_build(struct lt_session *s, bool final, struct lt_report *r,
		    struct lt_report_pending *pending)
{
	struct summary_builder summary = {};
	struct lt_process **procs = NULL;
	uint64_t now_ns = lt_now_ns();
	long n;
	int err = 0;

	lt_report_fill_header(s, final, now_ns, r);
	memset(pending, 0, sizeof(*pending));
	pending->now_s = r->elapsed_s;
	pending->final = final;
	n = lt_procs_list(&s->procs, &procs);
	if (n < 0)
		return (int)n;
	r->procs = calloc(n ? (size_t)n : 1, sizeof(*r->procs));
	if (!r->procs) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (long i = 0; i < n; i++) {
		struct lt_process *p = procs[i];
		const struct lt_growth_proc *gp = lt_growth_table_find(&s->growth, p->serial);
		struct lt_growth_view heap = { gp ? &gp->heap : NULL,
					       lt_growth_params(trend_window(s), false), r->elapsed_s,
					       p, pending };
		struct lt_growth_view py_types = { gp ? &gp->py_types : NULL,
						   lt_growth_params(trend_window(s), true),
						   r->elapsed_s, p, pending };
		struct lt_growth_view fds = { gp ? &gp->fds : NULL,
					      lt_growth_params(trend_window(s), true), r->elapsed_s,
					      p, pending };
		struct lt_report_process *rp;

		if (!worth_reporting(p))
			continue;
		err = lt_report_pending_add(pending, (struct lt_report_sample){ .p = p, .kind = LT_SAMPLE_PROCESS });
		if (err)
			goto cleanup;
		rp = &r->procs[r->nprocs++];
		rp->pid = p->tgid;
		memcpy(rp->comm, p->comm, sizeof(rp->comm));
		rp->exe = p->exe ? strdup(p->exe) : NULL;
		rp->cgroup = p->cgroup ? strdup(p->cgroup) : NULL;
		rp->container_id = p->container_id ? strdup(p->container_id) : NULL;
		if ((p->cgroup && !rp->cgroup) || (p->container_id && !rp->container_id)) {
			err = -ENOMEM;
			goto cleanup;
		}
		rp->exited = p->exited && !p->left_cgroup;
		rp->left_cgroup = p->left_cgroup;
		rp->started_before_probes = p->ran_before_probes;
		/* mmap regions are never sampled. */
		err = build_group(s, p, &p->heap, &heap_spec, now_ns, &rp->heap, &summary, &heap, r);
		if (!err)
			err = build_group(s, p, &p->mmaps, &mmap_spec, now_ns, &rp->mmap, NULL, NULL, r);
		rp->fds_traced = !s->opts->no_fds;
		if (!err && rp->fds_traced) {
			err = build_group(s, p, &p->fds.open, &fd_spec, now_ns, &rp->fds, NULL, &fds, r);
			lt_report_fd_totals(p, rp);
		}
		if (!err && p->py)
			err = lt_report_build_python(s, p, now_ns, &py_types, &rp->python);
		if (err)
			goto cleanup;
		if (!has_content(p, rp)) {
			lt_report_free_process(rp);
			r->nprocs--;
		}
	}
	qsort(r->procs, r->nprocs, sizeof(*r->procs), by_outstanding);
	err = build_summary(s, &summary, &r->summary);
	if (!err)
		err = lt_report_build_kernel(s, now_ns, pending, r);
	if (!err)
		err = lt_report_build_containers(r);
	lt_module_cache_stats(&s->modules, &r->symbols);
cleanup:
	free(summary.v);
	free(procs);
	if (err) {
		lt_report_free(r);
		lt_report_pending_free(pending);
	}
	return err;
}

static void end_process(struct lt_growth_proc *gp, bool py)
{
	if (!gp)
		return;
	lt_growth_end(&gp->heap);
	lt_growth_end(&gp->fds);
	if (py)
		lt_growth_end(&gp->py_types);
}

int lt_report_commit(struct lt_session *s, struct lt_report_pending *pd)
{
	struct lt_growth_proc *gp = NULL;
	struct lt_trend unused;
	bool py = false;
	int err = 0;

	if (!s->growth.window)
		lt_growth_table_init(&s->growth, trend_window(s));
	if (s->opts->kernel && !s->kernel_growth_ready) {
		struct lt_trend_params params = lt_growth_params(trend_window(s), false);

		lt_growth_init(&s->kernel_stacks_growth, &params, LT_GROWTH_MAX_SERIES);
		lt_growth_init(&s->kernel_caches_growth, &params, LT_GROWTH_MAX_SERIES);
		s->kernel_growth_ready = true;
	}
	if (s->kernel_growth_ready) {
		lt_growth_begin(&s->kernel_stacks_growth, pd->now_s);
		lt_growth_begin(&s->kernel_caches_growth, pd->now_s);
	}
	lt_growth_table_begin(&s->growth);
	for (size_t i = 0; i < pd->n && !err; i++) {
		const struct lt_report_sample *v = &pd->v[i];

		switch (v->kind) {
		case LT_SAMPLE_PROCESS:
			end_process(gp, py);
			gp = lt_growth_table_get(&s->growth, v->p->serial);
			if (!gp) {
				err = -ENOMEM;
				break;
			}
			py = v->p->py != NULL;
			lt_growth_begin(&gp->heap, pd->now_s);
			lt_growth_begin(&gp->fds, pd->now_s);
			if (py)
				lt_growth_begin(&gp->py_types, pd->now_s);
			break;
		case LT_SAMPLE_HEAP:
			err = lt_growth_record(&gp->heap, v->key, v->tag, v->value, &unused);
			break;
		case LT_SAMPLE_FD:
			err = lt_growth_record(&gp->fds, v->key, v->tag, v->value, &unused);
			break;
		case LT_SAMPLE_PY_TYPE:
			err = lt_growth_record(&gp->py_types, v->key, v->tag, v->value, &unused);
			v->p->py->types[v->type_index].last_reported = (uint64_t)v->value;
			v->p->py->types[v->type_index].reported = true;
			break;
		case LT_SAMPLE_KERNEL_STACK:
			err = lt_growth_record(&s->kernel_stacks_growth, v->key, v->tag, v->value, &unused);
			break;
		case LT_SAMPLE_KERNEL_CACHE:
			err = lt_growth_record(&s->kernel_caches_growth, v->key, v->tag, v->value, &unused);
			break;
		}
	}
	end_process(gp, py);
	if (s->kernel_growth_ready) {
		lt_growth_end(&s->kernel_stacks_growth);
		lt_growth_end(&s->kernel_caches_growth);
	}
	lt_growth_table_end(&s->growth);
	/* No report follows the final one. */
	if (pd->final)
		lt_growth_table_free(&s->growth);
	lt_report_pending_free(pd);
	return err;
}
