// SPDX-License-Identifier: MIT
#include "output/live_model.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALLERS_SHOWN 4

void lt_live_model_init(struct lt_live_model *m, size_t max_series)
{
	memset(m, 0, sizeof(*m));
	m->max_series = max_series ? max_series : LT_LIVE_MAX_SERIES;
}

static void free_rows(struct lt_live_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].label);
		free(rows[i].callers);
	}
	free(rows);
}

void lt_live_model_free(struct lt_live_model *m)
{
	for (int k = 0; k < LT_LIVE_KINDS; k++)
		free_rows(m->rows[k], m->nrows[k]);
	free(m->procs);
	free(m->series);
	memset(m, 0, sizeof(*m));
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

void lt_live_frame_name(const struct lt_report_frame *f, char *buf, size_t len)
{
	if (f->func && f->file)
		snprintf(buf, len, "%s (%s:%d)", f->func, base_name(f->file), f->line);
	else if (f->func)
		snprintf(buf, len, "%s", f->func);
	else if (f->module)
		snprintf(buf, len, "[%s+0x%" PRIx64 "]", base_name(f->module), f->module_offset);
	else
		snprintf(buf, len, "0x%" PRIx64, f->addr);
}

/* FNV-1a: a stable hash, the same from one run of the program to the next. */
static uint64_t mix(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	return mix(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t key_start(enum lt_live_kind kind, uint32_t pid)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint32_t k = (uint32_t)kind;

	h = mix(h, &k, sizeof(k));
	return mix(h, &pid, sizeof(pid));
}

/* What a frame is, not where it was loaded: a process that maps a library
 * elsewhere after a restart is another pid anyway, but within a process
 * the module and offset are what the report's own stack identity rests on. */
uint64_t lt_live_stack_key(enum lt_live_kind kind, uint32_t pid, const struct lt_report_stack *st)
{
	uint64_t h = key_start(kind, pid);

	for (uint32_t i = 0; i < st->nframes; i++) {
		const struct lt_report_frame *f = &st->frames[i];
		int line = f->line;

		if (f->python || f->inlined) {
			h = mix_str(h, f->func);
			h = mix_str(h, f->file);
			h = mix(h, &line, sizeof(line));
		} else if (f->module) {
			h = mix_str(h, f->module);
			h = mix(h, &f->module_offset, sizeof(f->module_offset));
		} else {
			h = mix(h, &f->addr, sizeof(f->addr));
		}
	}
	return mix(h, &st->nframes, sizeof(st->nframes));
}

static uint64_t type_key(uint32_t pid, const char *name)
{
	return mix_str(key_start(LT_LIVE_PY_TYPES, pid), name);
}

/* Rows under construction, per kind. */
struct row_buf {
	struct lt_live_row *v[LT_LIVE_KINDS];
	size_t n[LT_LIVE_KINDS], cap[LT_LIVE_KINDS];
};

static struct lt_live_row *new_row(struct row_buf *b, enum lt_live_kind kind,
				   const struct lt_report_process *p)
{
	struct lt_live_row *row;

	if (b->n[kind] == b->cap[kind]) {
		size_t cap = b->cap[kind] ? 2 * b->cap[kind] : 32;
		struct lt_live_row *grown = realloc(b->v[kind], cap * sizeof(*grown));

		if (!grown)
			return NULL;
		b->v[kind] = grown;
		b->cap[kind] = cap;
	}
	row = &b->v[kind][b->n[kind]++];
	memset(row, 0, sizeof(*row));
	row->pid = p->pid;
	memcpy(row->comm, p->comm, sizeof(row->comm));
	row->comm[sizeof(row->comm) - 1] = '\0';
	row->rate = NAN;
	return row;
}

/* The innermost frame names the row; a few callers follow it. */
static int name_stack(struct lt_live_row *row, const struct lt_report_stack *st)
{
	char name[512], callers[1024] = "";
	size_t used = 0;

	if (st->nframes)
		lt_live_frame_name(&st->frames[0], name, sizeof(name));
	else
		snprintf(name, sizeof(name), "(no stack)");
	for (uint32_t i = 1; i < st->nframes && i <= CALLERS_SHOWN; i++) {
		char frame[512];
		const struct lt_report_frame *f = &st->frames[i];

		if (f->func)
			snprintf(frame, sizeof(frame), "%s", f->func);
		else
			lt_live_frame_name(f, frame, sizeof(frame));
		used += (size_t)snprintf(callers + used, used < sizeof(callers) ? sizeof(callers) - used : 0,
					 "%s%s", i > 1 ? " < " : "", frame);
		if (used >= sizeof(callers))
			break;
	}
	row->label = strdup(name);
	row->callers = strdup(callers);
	return row->label && row->callers ? 0 : -ENOMEM;
}

static int add_stacks(struct row_buf *b, enum lt_live_kind kind, const struct lt_report_process *p,
		      const struct lt_report_group *g)
{
	for (size_t i = 0; i < g->nstacks; i++) {
		const struct lt_report_stack *st = &g->stacks[i];
		struct lt_live_row *row = new_row(b, kind, p);

		if (!row || name_stack(row, st))
			return -ENOMEM;
		row->key = lt_live_stack_key(kind, p->pid, st);
		row->bytes = st->bytes;
		row->count = st->allocs;
		row->verdict = st->verdict;
		row->slope = st->growth_bytes_per_s;
	}
	return 0;
}

static int add_types(struct row_buf *b, const struct lt_report_process *p,
		     const struct lt_report_python *py)
{
	for (size_t i = 0; i < py->ntypes; i++) {
		const struct lt_report_py_type *t = &py->types[i];
		struct lt_live_row *row = new_row(b, LT_LIVE_PY_TYPES, p);

		if (!row)
			return -ENOMEM;
		row->label = strdup(t->name ? t->name : "?");
		row->callers = strdup("");
		if (!row->label || !row->callers)
			return -ENOMEM;
		row->key = type_key(p->pid, t->name);
		row->bytes = t->bytes;
		row->count = t->objects;
		row->verdict = t->verdict;
		row->slope = t->growth_objects_per_s;
	}
	return 0;
}

static int by_key(const void *a, const void *b)
{
	uint64_t x = ((const struct lt_live_series *)a)->key, y = ((const struct lt_live_series *)b)->key;

	return (x > y) - (x < y);
}

const struct lt_live_series *lt_live_model_series(const struct lt_live_model *m, uint64_t key)
{
	struct lt_live_series probe = { .key = key };

	if (!m->nseries)
		return NULL;
	return bsearch(&probe, m->series, m->nseries, sizeof(*m->series), by_key);
}

/* Series not reported in the last LT_LIVE_HISTORY reports have nothing
 * left to draw: they go. */
static void drop_stale(struct lt_live_model *m)
{
	size_t kept = 0;

	for (size_t i = 0; i < m->nseries; i++)
		if (m->series[i].last + LT_LIVE_HISTORY > m->reports)
			m->series[kept++] = m->series[i];
	m->nseries = kept;
}

/* Room for one more series: the least recently reported one before this
 * report goes. false: every series is in this report already. */
static bool make_room(struct lt_live_model *m)
{
	size_t victim = m->nseries;

	for (size_t i = 0; i < m->nseries; i++)
		if (m->series[i].last < m->reports &&
		    (victim == m->nseries || m->series[i].last < m->series[victim].last))
			victim = i;
	if (victim == m->nseries)
		return false;
	memmove(&m->series[victim], &m->series[victim + 1],
		(m->nseries - victim - 1) * sizeof(*m->series));
	m->nseries--;
	return true;
}

static void sample(struct lt_live_series *s, uint64_t report, double value)
{
	/* The reports it missed since its last sample show as gaps. */
	uint64_t from = s->last + 1;

	if (report >= LT_LIVE_HISTORY && from < report - LT_LIVE_HISTORY + 1)
		from = report - LT_LIVE_HISTORY + 1;
	for (uint64_t r = from; r < report; r++)
		s->v[r % LT_LIVE_HISTORY] = NAN;
	s->v[report % LT_LIVE_HISTORY] = value;
	s->last = report;
}

static double value_of(enum lt_live_kind kind, const struct lt_live_row *row)
{
	/* What the verdicts follow: bytes for stacks and kernel caches, counts
	 * for types and descriptors. */
	return kind == LT_LIVE_NATIVE || kind == LT_LIVE_PY_LINES || kind == LT_LIVE_KERNEL ||
			       kind == LT_LIVE_KCACHES ? (double)row->bytes : (double)row->count;
}

/* Each row's value into its series (new ones made, kept sorted), and the
 * row's rate since the previous report. */
static int record(struct lt_live_model *m, struct row_buf *b)
{
	for (int k = 0; k < LT_LIVE_KINDS; k++) {
		for (size_t i = 0; i < b->n[k]; i++) {
			struct lt_live_row *row = &b->v[k][i];
			struct lt_live_series *s = (struct lt_live_series *)lt_live_model_series(m, row->key);
			double prev;

			if (!s) {
				if (m->nseries == m->max_series && !make_room(m))
					continue; /* no history for it: gaps only */
				if (!m->series) {
					m->series = calloc(m->max_series, sizeof(*m->series));
					if (!m->series)
						return -ENOMEM;
				}
				size_t at = 0;

				while (at < m->nseries && m->series[at].key < row->key)
					at++;
				memmove(&m->series[at + 1], &m->series[at],
					(m->nseries - at) * sizeof(*m->series));
				m->nseries++;
				s = &m->series[at];
				memset(s, 0, sizeof(*s));
				s->key = row->key;
				for (int j = 0; j < LT_LIVE_HISTORY; j++)
					s->v[j] = NAN;
			}
			if (s->last == m->reports)
				continue; /* the same key twice in one report: the first counts */
			prev = s->last + 1 == m->reports ? s->v[s->last % LT_LIVE_HISTORY] : NAN;
			sample(s, m->reports, value_of((enum lt_live_kind)k, row));
			if (!isnan(prev) && m->reports > 1) {
				double dt = m->t_s[m->reports % LT_LIVE_HISTORY] -
					    m->t_s[(m->reports - 1) % LT_LIVE_HISTORY];

				if (dt > 0)
					row->rate = (value_of((enum lt_live_kind)k, row) - prev) / dt;
			}
		}
	}
	return 0;
}

static int take_procs(struct lt_live_model *m, const struct lt_report *r)
{
	struct lt_live_proc *procs = r->nprocs ? calloc(r->nprocs, sizeof(*procs)) : NULL;

	if (r->nprocs && !procs)
		return -ENOMEM;
	for (size_t i = 0; i < r->nprocs; i++) {
		procs[i].pid = r->procs[i].pid;
		memcpy(procs[i].comm, r->procs[i].comm, sizeof(procs[i].comm));
		procs[i].comm[sizeof(procs[i].comm) - 1] = '\0';
		procs[i].bytes = r->procs[i].heap.outstanding_bytes;
		procs[i].exited = r->procs[i].exited;
	}
	free(m->procs);
	m->procs = procs;
	m->nprocs = r->nprocs;
	return 0;
}

/* Kernel frames are kallsyms' (function, offset in it): the addresses,
 * fixed for the boot, are what tells stacks apart. */
static uint64_t kernel_stack_key(const struct lt_report_stack *st)
{
	uint64_t h = key_start(LT_LIVE_KERNEL, 0);

	for (uint32_t i = 0; i < st->nframes; i++)
		h = mix(h, &st->frames[i].addr, sizeof(st->frames[i].addr));
	return mix(h, &st->nframes, sizeof(st->nframes));
}

/* --kernel: rows of no process (pid 0). A stack's COMM column is the cache
 * most of its objects are in, the caches' "[kernel]". */
static int add_kernel(struct row_buf *b, const struct lt_report_kernel *k)
{
	struct lt_report_process kp;
	struct lt_live_row *row;

	memset(&kp, 0, sizeof(kp));
	for (size_t i = 0; i < k->nstacks; i++) {
		const struct lt_report_kernel_stack *ks = &k->stacks[i];

		snprintf(kp.comm, sizeof(kp.comm), "%s", ks->cache ? ks->cache : "?");
		row = new_row(b, LT_LIVE_KERNEL, &kp);
		if (!row || name_stack(row, &ks->stack))
			return -ENOMEM;
		row->key = kernel_stack_key(&ks->stack);
		row->bytes = ks->stack.bytes;
		row->count = ks->stack.allocs;
		row->verdict = ks->stack.verdict;
		row->slope = ks->stack.growth_bytes_per_s;
	}
	snprintf(kp.comm, sizeof(kp.comm), "[kernel]");
	for (size_t i = 0; i < k->ncaches; i++) {
		const struct lt_report_kernel_cache *c = &k->caches[i];

		row = new_row(b, LT_LIVE_KCACHES, &kp);
		if (!row)
			return -ENOMEM;
		row->label = strdup(c->name ? c->name : "?");
		row->callers = strdup("");
		if (!row->label || !row->callers)
			return -ENOMEM;
		row->key = mix_str(key_start(LT_LIVE_KCACHES, 0), c->name);
		row->bytes = c->bytes;
		row->count = c->allocs;
		row->verdict = c->verdict;
		row->slope = c->growth_bytes_per_s;
	}
	return 0;
}

int lt_live_model_take(struct lt_live_model *m, const struct lt_report *r)
{
	struct row_buf b = { 0 };
	double saved_t;
	int err = 0;

	for (size_t i = 0; !err && i < r->nprocs; i++) {
		const struct lt_report_process *p = &r->procs[i];

		err = add_stacks(&b, LT_LIVE_NATIVE, p, &p->heap);
		if (!err && p->python)
			err = add_types(&b, p, p->python);
		if (!err && p->python)
			err = add_stacks(&b, LT_LIVE_PY_LINES, p, &p->python->stacks);
		if (!err && p->fds_traced)
			err = add_stacks(&b, LT_LIVE_FDS, p, &p->fds);
	}
	if (!err && r->kernel)
		err = add_kernel(&b, r->kernel);
	if (err)
		goto fail;
	m->reports++;
	saved_t = m->t_s[m->reports % LT_LIVE_HISTORY];
	m->t_s[m->reports % LT_LIVE_HISTORY] = r->elapsed_s;
	err = record(m, &b);
	if (!err)
		err = take_procs(m, r);
	if (err) {
		m->t_s[m->reports % LT_LIVE_HISTORY] = saved_t;
		m->reports--;
		goto fail;
	}
	drop_stale(m);
	for (int k = 0; k < LT_LIVE_KINDS; k++) {
		free_rows(m->rows[k], m->nrows[k]);
		m->rows[k] = b.v[k];
		m->nrows[k] = b.n[k];
	}
	m->elapsed_s = r->elapsed_s;
	m->wall = r->wall;
	m->stats = r->stats;
	m->lost_events = r->lost_events;
	return 0;
fail:
	for (int k = 0; k < LT_LIVE_KINDS; k++)
		free_rows(b.v[k], b.n[k]);
	return err;
}

double lt_live_row_growth(const struct lt_live_row *row)
{
	if (row->verdict >= LT_VERDICT_STABLE)
		return row->slope;
	return isnan(row->rate) ? 0 : row->rate;
}

static int cmp_u64(uint64_t x, uint64_t y)
{
	return (x < y) - (x > y); /* largest first */
}

static int by_order(const void *a, const void *b, void *arg)
{
	const struct lt_live_row *x = *(const struct lt_live_row *const *)a;
	const struct lt_live_row *y = *(const struct lt_live_row *const *)b;
	enum lt_live_sort sort_by = *(const enum lt_live_sort *)arg;
	int c = 0;

	if (sort_by == LT_LIVE_BY_GROWTH) {
		double gx = lt_live_row_growth(x), gy = lt_live_row_growth(y);

		c = (gx < gy) - (gx > gy);
	} else if (sort_by == LT_LIVE_BY_COUNT) {
		c = cmp_u64(x->count, y->count);
	}
	if (!c)
		c = cmp_u64(x->bytes, y->bytes);
	if (!c)
		c = (x->pid > y->pid) - (x->pid < y->pid);
	if (!c)
		c = strcmp(x->label, y->label);
	if (!c)
		c = strcmp(x->callers, y->callers);
	return c;
}

size_t lt_live_model_rows(const struct lt_live_model *m, enum lt_live_kind kind, uint32_t pid,
			  enum lt_live_sort sort, const struct lt_live_row **out)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nrows[kind]; i++)
		if (!pid || m->rows[kind][i].pid == pid)
			out[n++] = &m->rows[kind][i];
	qsort_r(out, n, sizeof(*out), by_order, &sort);
	return n;
}

size_t lt_live_model_sparkline(const struct lt_live_model *m, const struct lt_live_row *row,
			       int *levels, size_t n)
{
	const struct lt_live_series *s = lt_live_model_series(m, row->key);
	double lo = INFINITY, hi = -INFINITY, v[LT_LIVE_HISTORY];

	if (n > LT_LIVE_HISTORY)
		n = LT_LIVE_HISTORY;
	for (size_t i = 0; i < n; i++) {
		/* Oldest first: report m->reports - (n - 1 - i). */
		uint64_t rep = m->reports >= n - 1 - i ? m->reports - (n - 1 - i) : 0;

		v[i] = NAN;
		if (s && rep && rep <= s->last && rep + LT_LIVE_HISTORY > s->last)
			v[i] = s->v[rep % LT_LIVE_HISTORY];
		if (!isnan(v[i])) {
			lo = v[i] < lo ? v[i] : lo;
			hi = v[i] > hi ? v[i] : hi;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (isnan(v[i]))
			levels[i] = LT_LIVE_NO_POINT;
		else if (hi <= lo)
			levels[i] = 0;
		else
			levels[i] = (int)lround((v[i] - lo) * (LT_LIVE_LEVELS - 1) / (hi - lo));
	}
	return n;
}
