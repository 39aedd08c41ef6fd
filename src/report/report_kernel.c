// SPDX-License-Identifier: MIT
/*
 * --kernel: the report's kernel section from the session's kernel table
 * (report_model.h): objects held by kernel stack, by slab cache, by the
 * process and by the cgroup that made them, with ages and growth verdicts
 * as for heap stacks.
 */
#include "report/report_model.h"
#include "session.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attach/cgroup_info.h"
#include "base/grow_array.h"
#include "consume/sampling.h"
#include "symbols/kallsyms.h"
#include "symbols/symbolizer.h"

/* Weighted sums of one row (a stack, a cache, an origin). */
struct ktotal {
	uint32_t id;
	uint64_t sampled;
	uint64_t oldest_ts_ns;
	double bytes, allocs;
	struct lt_age_sums ages;
	uint64_t rbytes, rallocs; /* rounded */
	struct lt_trend trend;
};

/* A kept stack's objects by origin, for its cache and owners. */
struct origin_sum {
	uint32_t origin;
	double bytes, allocs;
};

struct kept_stack {
	struct origin_sum *v;
	size_t n, cap;
};

struct kbuild {
	struct lt_session *s;
	struct lt_kernel_table *k;
	uint64_t now_ns;
	struct lt_report_pending *pending;
	struct lt_report_kernel *out;
	struct ktotal *stacks, *caches, *origins;
};

static enum lt_sort sort_key;

static int by_key(const void *a, const void *b)
{
	const struct ktotal *x = a, *y = b;
	uint64_t kx = sort_key == LT_SORT_COUNT ? x->rallocs : x->rbytes;
	uint64_t ky = sort_key == LT_SORT_COUNT ? y->rallocs : y->rbytes;

	if (kx != ky)
		return kx < ky ? 1 : -1;
	return (x->id > y->id) - (x->id < y->id);
}

static void add(struct ktotal *t, const struct lt_live_alloc *a, double w, uint64_t now_ns)
{
	if (!t->sampled || a->ts_ns < t->oldest_ts_ns)
		t->oldest_ts_ns = a->ts_ns;
	t->sampled++;
	t->bytes += w * (double)a->size_bytes;
	t->allocs += w;
	lt_age_sums_add(&t->ages, now_ns > a->ts_ns ? now_ns - a->ts_ns : 0, w, a->size_bytes);
}

static void round_totals(struct ktotal *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		v[i].id = (uint32_t)i;
		v[i].rbytes = (uint64_t)llround(v[i].bytes);
		v[i].rallocs = (uint64_t)llround(v[i].allocs);
	}
}

/* Compact the rows that hold something, and order them. */
static size_t used_sorted(struct ktotal *v, size_t n, enum lt_sort key)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i].sampled)
			v[m++] = v[i];
	sort_key = key;
	qsort(v, m, sizeof(*v), by_key);
	return m;
}

static size_t top_of(const struct lt_session *s, size_t n)
{
	return s->opts->top > 0 && (size_t)s->opts->top < n ? (size_t)s->opts->top : n;
}

static double age_s(uint64_t now_ns, uint64_t ts_ns)
{
	return now_ns > ts_ns ? (now_ns - ts_ns) / 1e9 : 0;
}

/* The tracepoint's dispatcher: it and the frames above it (the BPF
 * program's own) are the tracing machinery, not the allocation's stack. */
static bool tracing_frame(const char *func)
{
	return func && (!strncmp(func, "bpf_trace_run", 13) || !strncmp(func, "__bpf_trace_", 12) ||
			!strncmp(func, "__traceiter_", 12));
}

/* Frames looked at for the dispatcher: the program and one or two helpers. */
#define TRACING_FRAMES_MAX 6

static int symbolize(const struct lt_session *s, const struct lt_stack *st,
		     struct lt_report_stack *out)
{
	uint32_t first = 0;

	out->frames = calloc(st->nframes ? st->nframes : 1, sizeof(*out->frames));
	if (!out->frames)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->nframes; i++) {
		struct lt_report_frame *f = &out->frames[out->nframes];

		if (lt_kallsyms_frame(s->ksyms, st->ips[i], f))
			return -ENOMEM;
		out->nframes++;
		if (i < TRACING_FRAMES_MAX && tracing_frame(f->func))
			first = out->nframes;
	}
	for (uint32_t i = 0; i < first; i++)
		lt_report_frame_clear(&out->frames[i]);
	memmove(out->frames, out->frames + first, (out->nframes - first) * sizeof(*out->frames));
	out->nframes -= first;
	return 0;
}

/* Fill an owner from an origin (or, pid 0, a cgroup alone). */
static int fill_owner(struct kbuild *b, const struct lt_kernel_origin *o, bool with_process,
		      uint64_t bytes, uint64_t allocs, struct lt_report_kernel_owner *w)
{
	char id[LT_CONTAINER_ID_LEN + 1];
	const char *path = lt_cgroup_ids_path(&b->s->kernel_cgroups, o->cgroup_id);

	memset(w, 0, sizeof(*w));
	if (with_process) {
		w->pid = o->tgid;
		memcpy(w->comm, o->comm, sizeof(w->comm));
	}
	w->cgroup_id = o->cgroup_id;
	w->bytes = bytes;
	w->allocs = allocs;
	if (path) {
		w->cgroup = strdup(path);
		if (!w->cgroup)
			return -ENOMEM;
		if (lt_cgroup_container_id(path, id, NULL)) {
			w->container_id = strdup(id);
			if (!w->container_id)
				return -ENOMEM;
		}
	}
	return 0;
}

static int by_owner_bytes(const void *a, const void *b)
{
	const struct lt_report_kernel_owner *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->cgroup_id > y->cgroup_id) - (x->cgroup_id < y->cgroup_id);
}

/* Same process (tgid and name) or, for cgroups, same cgroup. */
static bool same_owner(const struct lt_kernel_origin *a, const struct lt_kernel_origin *b,
		       bool by_process)
{
	if (a->cgroup_id != b->cgroup_id)
		return false;
	return !by_process || (a->tgid == b->tgid && !strncmp(a->comm, b->comm, sizeof(a->comm)));
}

/*
 * Origins summed by process (or cgroup) into owners, most bytes first.
 * sums[i] belongs to origin ids[i]. Returns how many, or -ENOMEM.
 */
static long owners_of(struct kbuild *b, const uint32_t *ids, const double *bytes,
		      const double *allocs, size_t n, bool by_process,
		      struct lt_report_kernel_owner **out)
{
	struct lt_report_kernel_owner *v = calloc(n ? n : 1, sizeof(*v));
	uint32_t *rep = calloc(n ? n : 1, sizeof(*rep));
	double *ob = calloc(n ? n : 1, sizeof(*ob)), *oa = calloc(n ? n : 1, sizeof(*oa));
	size_t m = 0;
	long ret = 0;

	if (!v || !rep || !ob || !oa) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		const struct lt_kernel_origin *o = &b->k->origins[ids[i]];
		size_t j;

		for (j = 0; j < m; j++)
			if (same_owner(&b->k->origins[rep[j]], o, by_process))
				break;
		if (j == m)
			rep[m++] = ids[i];
		ob[j] += bytes[i];
		oa[j] += allocs[i];
	}
	for (size_t j = 0; j < m && !ret; j++)
		ret = fill_owner(b, &b->k->origins[rep[j]], by_process, (uint64_t)llround(ob[j]),
				 (uint64_t)llround(oa[j]), &v[j]);
	if (ret) {
		/* calloc'd: the owners not filled free nothing. */
		for (size_t j = 0; j < m; j++) {
			free(v[j].cgroup);
			free(v[j].container_id);
		}
		goto cleanup;
	}
	qsort(v, m, sizeof(*v), by_owner_bytes);
	*out = v;
	v = NULL;
	ret = (long)m;
cleanup:
	free(v);
	free(rep);
	free(ob);
	free(oa);
	return ret;
}

/* The kept stacks' objects by origin: their caches and owners. */
static int stack_details(struct kbuild *b, struct ktotal *rows, size_t nkept)
{
	struct kept_stack *kept = calloc(nkept ? nkept : 1, sizeof(*kept));
	int32_t *slot = malloc((b->k->stacks.count ? b->k->stacks.count : 1) * sizeof(*slot));
	uint64_t min_age_ns = b->s->opts->min_age_ms * 1000000ULL;
	uint64_t mean = b->s->opts->sample_bytes;
	int err = 0;

	if (!kept || !slot) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < b->k->stacks.count; i++)
		slot[i] = -1;
	for (size_t i = 0; i < nkept; i++)
		slot[rows[i].id] = (int32_t)i;
	for (int c = 0; c < LT_KCLASS_MAX; c++) {
		struct lt_live_alloc a;
		uint64_t iter = 0;

		while (lt_live_next(&b->k->live[c], &iter, &a)) {
			double w = mean ? lt_sample_weight(a.size_bytes, mean) : 1.0;
			struct kept_stack *ks;
			size_t j;

			if (a.stack_id >= b->k->stacks.count || slot[a.stack_id] < 0 ||
			    a.ts_ns > b->now_ns || b->now_ns - a.ts_ns < min_age_ns)
				continue;
			ks = &kept[slot[a.stack_id]];
			for (j = 0; j < ks->n && ks->v[j].origin != a.pad; j++)
				;
			if (j == ks->n) {
				struct origin_sum *grown = lt_grow(ks->v, &ks->cap, ks->n + 1, sizeof(*grown));

				if (!grown) {
					err = -ENOMEM;
					goto cleanup;
				}
				ks->v = grown;
				ks->v[ks->n++] = (struct origin_sum){ a.pad, 0, 0 };
			}
			ks->v[j].bytes += w * (double)a.size_bytes;
			ks->v[j].allocs += w;
		}
	}
	for (size_t i = 0; i < nkept && !err; i++) {
		struct lt_report_kernel_stack *rs = &b->out->stacks[i];
		struct kept_stack *ks = &kept[i];
		uint32_t *ids = calloc(ks->n ? ks->n : 1, sizeof(*ids));
		double *by = calloc(ks->n ? ks->n : 1, sizeof(*by));
		double *al = calloc(ks->n ? ks->n : 1, sizeof(*al));
		double *cache_bytes = calloc(b->k->ncaches ? b->k->ncaches : 1, sizeof(*cache_bytes));
		struct lt_report_kernel_owner *owners = NULL;
		long nowners = 0;
		size_t best = 0;

		if (!ids || !by || !al || !cache_bytes) {
			err = -ENOMEM;
		} else {
			for (size_t j = 0; j < ks->n; j++) {
				uint32_t cache = b->k->origins[ks->v[j].origin].cache;

				ids[j] = ks->v[j].origin;
				by[j] = ks->v[j].bytes;
				al[j] = ks->v[j].allocs;
				if (cache_bytes[cache] == 0)
					rs->ncaches++;
				cache_bytes[cache] += ks->v[j].bytes;
				if (cache_bytes[cache] > cache_bytes[best])
					best = cache;
			}
			if (ks->n && !(rs->cache = strdup(b->k->caches[best])))
				err = -ENOMEM;
			nowners = err ? 0 : owners_of(b, ids, by, al, ks->n, true, &owners);
			if (nowners < 0)
				err = (int)nowners;
		}
		for (long j = 0; j < nowners; j++) {
			if ((size_t)j < LT_KERNEL_STACK_OWNERS)
				rs->owners[rs->nowners++] = owners[j];
			else
				free(owners[j].cgroup), free(owners[j].container_id);
		}
		rs->nprocesses = nowners > 0 ? (uint32_t)nowners : 0;
		free(owners);
		free(ids);
		free(by);
		free(al);
		free(cache_bytes);
	}
cleanup:
	for (size_t i = 0; kept && i < nkept; i++)
		free(kept[i].v);
	free(kept);
	free(slot);
	return err;
}

static int build_stacks(struct kbuild *b, size_t nrows)
{
	struct lt_growth_view view = { b->s->kernel_growth_ready ? &b->s->kernel_stacks_growth : NULL,
				       lt_growth_params(b->s->opts->trend_window ?
								b->s->opts->trend_window :
								LT_TREND_DEFAULT_WINDOW, false),
				       b->pending->now_s, NULL, b->pending };
	size_t keep;
	int err;

	/* Every stack, not only those shown: a series needs every report. */
	for (size_t i = 0; i < nrows; i++) {
		const struct lt_stack *st = lt_stacks_get(&b->k->stacks, b->stacks[i].id);

		err = lt_growth_view_sample(&view, LT_SAMPLE_KERNEL_STACK, 0, b->stacks[i].id,
					    st ? st->hash : 0, (double)b->stacks[i].rbytes,
					    &b->stacks[i].trend);
		if (err)
			return err;
	}
	keep = top_of(b->s, nrows);
	b->out->stacks = calloc(keep ? keep : 1, sizeof(*b->out->stacks));
	if (!b->out->stacks)
		return -ENOMEM;
	for (size_t i = 0; i < keep; i++) {
		const struct ktotal *t = &b->stacks[i];
		struct lt_report_stack *rs = &b->out->stacks[i].stack;
		const struct lt_stack *st = lt_stacks_get(&b->k->stacks, t->id);

		b->out->nstacks++;
		rs->bytes = t->rbytes;
		rs->allocs = t->rallocs;
		rs->sampled_allocs = t->sampled;
		rs->oldest_age_s = age_s(b->now_ns, t->oldest_ts_ns);
		rs->verdict = t->trend.verdict;
		rs->growth_bytes_per_s = t->trend.slope;
		lt_age_sums_round(&t->ages, t->rallocs, t->rbytes, &rs->ages);
		if (st) {
			err = symbolize(b->s, st, rs);
			if (err)
				return err;
		}
	}
	return stack_details(b, b->stacks, keep);
}

static int build_caches(struct kbuild *b, size_t nrows)
{
	struct lt_growth_view view = { b->s->kernel_growth_ready ? &b->s->kernel_caches_growth : NULL,
				       lt_growth_params(b->s->opts->trend_window ?
								b->s->opts->trend_window :
								LT_TREND_DEFAULT_WINDOW, false),
				       b->pending->now_s, NULL, b->pending };
	size_t keep = top_of(b->s, nrows);
	int err;

	for (size_t i = 0; i < nrows; i++) {
		err = lt_growth_view_sample(&view, LT_SAMPLE_KERNEL_CACHE, 0, b->caches[i].id, 0,
					    (double)b->caches[i].rbytes, &b->caches[i].trend);
		if (err)
			return err;
	}
	b->out->caches = calloc(keep ? keep : 1, sizeof(*b->out->caches));
	if (!b->out->caches)
		return -ENOMEM;
	for (size_t i = 0; i < keep; i++) {
		const struct ktotal *t = &b->caches[i];
		struct lt_report_kernel_cache *c = &b->out->caches[i];

		c->name = strdup(b->k->caches[t->id]);
		if (!c->name)
			return -ENOMEM;
		b->out->ncaches++;
		c->bytes = t->rbytes;
		c->allocs = t->rallocs;
		c->oldest_age_s = age_s(b->now_ns, t->oldest_ts_ns);
		c->verdict = t->trend.verdict;
		c->growth_bytes_per_s = t->trend.slope;
		lt_age_sums_round(&t->ages, t->rallocs, t->rbytes, &c->ages);
	}
	return 0;
}

/* Processes (top -T) and cgroups (all) from the origins' sums. */
static int build_owners(struct kbuild *b)
{
	size_t n = b->k->norigins, m = 0;
	uint32_t *ids = calloc(n ? n : 1, sizeof(*ids));
	double *by = calloc(n ? n : 1, sizeof(*by)), *al = calloc(n ? n : 1, sizeof(*al));
	long np, ng;
	int err = 0;

	if (!ids || !by || !al) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		if (!b->origins[i].sampled)
			continue;
		ids[m] = (uint32_t)i;
		by[m] = b->origins[i].bytes;
		al[m++] = b->origins[i].allocs;
	}
	np = owners_of(b, ids, by, al, m, true, &b->out->processes);
	if (np < 0) {
		err = (int)np;
		goto cleanup;
	}
	b->out->nprocesses = (size_t)np;
	/* Beyond -T they are freed; the cgroups below still count them. */
	for (size_t i = top_of(b->s, (size_t)np); i < (size_t)np; i++) {
		free(b->out->processes[i].cgroup);
		free(b->out->processes[i].container_id);
		b->out->nprocesses--;
	}
	ng = owners_of(b, ids, by, al, m, false, &b->out->cgroups);
	if (ng < 0)
		err = (int)ng;
	else
		b->out->ncgroups = (size_t)ng;
cleanup:
	free(ids);
	free(by);
	free(al);
	return err;
}

int lt_report_build_kernel(struct lt_session *s, uint64_t now_ns, struct lt_report_pending *pending,
			   struct lt_report *r)
{
	struct lt_kernel_table *k = &s->kernel;
	uint64_t min_age_ns = s->opts->min_age_ms * 1000000ULL, mean = s->opts->sample_bytes;
	struct kbuild b = { s, k, now_ns, pending, NULL, NULL, NULL, NULL };
	double all_bytes = 0, all_allocs = 0;
	size_t nstacks, ncaches;
	int err = -ENOMEM;

	if (!s->opts->kernel)
		return 0;
	b.out = r->kernel = calloc(1, sizeof(*r->kernel));
	b.stacks = calloc(k->stacks.count ? k->stacks.count : 1, sizeof(*b.stacks));
	b.caches = calloc(k->ncaches ? k->ncaches : 1, sizeof(*b.caches));
	b.origins = calloc(k->norigins ? k->norigins : 1, sizeof(*b.origins));
	if (!b.out || !b.stacks || !b.caches || !b.origins)
		goto cleanup;
	if ((s->cgroup.path && !(b.out->cgroup_filter = strdup(s->cgroup.path))) ||
	    (s->opts->kernel_cache && !(b.out->cache_filter = strdup(s->opts->kernel_cache))))
		goto cleanup;
	b.out->alloc_events = k->alloc_events;
	b.out->free_events = k->free_events;
	b.out->unmatched_frees = k->unmatched_frees;
	b.out->out_of_memory = k->out_of_memory;
	b.out->dropped_allocs = r->stats.drops[LT_DROP_RINGBUF_ALLOC] +
				r->stats.drops[LT_DROP_KERNEL_LIVE_FULL];
	b.out->dropped_frees = r->stats.drops[LT_DROP_RINGBUF_FREE];
	b.out->missed_runs = r->stats.kernel_missed_runs;
	b.out->symbols = lt_kallsyms_count(s->ksyms);
	for (int c = 0; c < LT_KCLASS_MAX; c++) {
		struct lt_live_alloc a;
		uint64_t iter = 0;

		while (lt_live_next(&k->live[c], &iter, &a)) {
			double w = mean ? lt_sample_weight(a.size_bytes, mean) : 1.0;

			all_bytes += w * (double)a.size_bytes;
			all_allocs += w;
			b.out->sampled_allocs++;
			if (a.ts_ns > now_ns || now_ns - a.ts_ns < min_age_ns)
				continue;
			if (a.stack_id < k->stacks.count)
				add(&b.stacks[a.stack_id], &a, w, now_ns);
			if (a.pad < k->norigins) {
				add(&b.origins[a.pad], &a, w, now_ns);
				add(&b.caches[k->origins[a.pad].cache], &a, w, now_ns);
			}
		}
	}
	b.out->outstanding_bytes = (uint64_t)llround(all_bytes);
	b.out->outstanding_allocs = (uint64_t)llround(all_allocs);
	round_totals(b.stacks, k->stacks.count);
	round_totals(b.caches, k->ncaches);
	round_totals(b.origins, k->norigins);
	nstacks = used_sorted(b.stacks, k->stacks.count, s->opts->sort);
	ncaches = used_sorted(b.caches, k->ncaches, LT_SORT_BYTES);
	err = build_stacks(&b, nstacks);
	if (!err)
		err = build_caches(&b, ncaches);
	if (!err)
		err = build_owners(&b);
cleanup:
	free(b.stacks);
	free(b.caches);
	free(b.origins);
	return err;
}
