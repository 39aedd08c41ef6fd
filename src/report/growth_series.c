// SPDX-License-Identifier: MIT
#include "report/growth_series.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"

static size_t ring_cap(const struct lt_growth_set *g)
{
	return 2 * g->params.window;
}

static size_t slot_of(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

static int rebuild_index(struct lt_growth_set *g, size_t want)
{
	size_t cap = g->index_cap ? g->index_cap : 64;
	uint32_t *index;

	while (cap < 2 * want)
		cap *= 2;
	index = calloc(cap, sizeof(*index));
	if (!index)
		return -ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		size_t h = slot_of(g->v[i].key, cap);

		while (index[h])
			h = (h + 1) & (cap - 1);
		index[h] = (uint32_t)i + 1;
	}
	free(g->index);
	g->index = index;
	g->index_cap = cap;
	return 0;
}

static struct lt_growth_series *find(const struct lt_growth_set *g, uint64_t key)
{
	if (!g->index_cap)
		return NULL;
	for (size_t h = slot_of(key, g->index_cap); g->index[h]; h = (h + 1) & (g->index_cap - 1))
		if (g->v[g->index[h] - 1].key == key)
			return &g->v[g->index[h] - 1];
	return NULL;
}

void lt_growth_init(struct lt_growth_set *g, const struct lt_trend_params *p, size_t max_series)
{
	memset(g, 0, sizeof(*g));
	g->params = *p;
	g->max_series = max_series;
}

void lt_growth_free(struct lt_growth_set *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i].ring);
	free(g->v);
	free(g->index);
	memset(g, 0, sizeof(*g));
}

void lt_growth_begin(struct lt_growth_set *g, double now_s)
{
	g->report++;
	g->now_s = now_s;
}

static void push(struct lt_growth_set *g, struct lt_growth_series *s, double value)
{
	size_t cap = ring_cap(g);

	/* Twice in one report: the later value stands. */
	if (s->n && s->sampled == g->report) {
		s->ring[(s->head + cap - 1) % cap].value = value;
	} else {
		s->ring[s->head] = (struct lt_trend_sample){ g->now_s, value };
		s->head = (uint32_t)((s->head + 1) % cap);
		if (s->n < cap)
			s->n++;
	}
	s->sampled = g->report;
	if (value != 0)
		s->last_seen = g->report;
}

size_t lt_growth_samples(const struct lt_growth_set *g, const struct lt_growth_series *s,
			 struct lt_trend_sample *out)
{
	size_t cap = ring_cap(g);

	for (size_t i = 0; i < s->n; i++)
		out[i] = s->ring[(s->head + cap - s->n + i) % cap];
	return s->n;
}

struct age {
	uint64_t last_seen;
	size_t slot;
};

static int by_age(const void *a, const void *b)
{
	const struct age *x = a, *y = b;

	if (x->last_seen != y->last_seen)
		return x->last_seen < y->last_seen ? -1 : 1;
	return (x->slot > y->slot) - (x->slot < y->slot);
}

/*
 * An eighth of the set goes at once (fewer if fewer are stale), so a process
 * with many more stacks than the cap sorts once per max_series / 8 new
 * stacks rather than once per stack. Series recorded in this report stay.
 */
static int evict(struct lt_growth_set *g)
{
	struct age *ages = malloc(g->n * sizeof(*ages));
	size_t nages = 0, batch = g->max_series / 8 ? g->max_series / 8 : 1, j = 0;
	int err = 0;

	if (!ages)
		return -ENOMEM;
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].sampled != g->report)
			ages[nages++] = (struct age){ g->v[i].last_seen, i };
	if (!nages)
		goto cleanup;
	qsort(ages, nages, sizeof(*ages), by_age);
	if (batch > nages)
		batch = nages;
	for (size_t i = 0; i < batch; i++) {
		free(g->v[ages[i].slot].ring);
		g->v[ages[i].slot].ring = NULL;
	}
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].ring)
			g->v[j++] = g->v[i];
	g->n = j;
	err = rebuild_index(g, g->n);
cleanup:
	free(ages);
	return err;
}

static int add(struct lt_growth_set *g, uint64_t key, uint64_t tag,
	       struct lt_growth_series **out)
{
	struct lt_growth_series *grown, *s;
	size_t h;
	int err;

	*out = NULL;
	if (g->n >= g->max_series) {
		err = evict(g);
		if (err || g->n >= g->max_series)
			return err;
	}
	grown = lt_grow(g->v, &g->capacity, g->n + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	g->v = grown;
	if (2 * (g->n + 1) > g->index_cap) {
		err = rebuild_index(g, g->n + 1);
		if (err)
			return err;
	}
	s = &g->v[g->n];
	memset(s, 0, sizeof(*s));
	s->ring = calloc(ring_cap(g), sizeof(*s->ring));
	if (!s->ring)
		return -ENOMEM;
	s->key = key;
	s->tag = tag;
	for (h = slot_of(key, g->index_cap); g->index[h]; h = (h + 1) & (g->index_cap - 1))
		;
	g->index[h] = (uint32_t)++g->n;
	*out = s;
	return 0;
}

int lt_growth_record(struct lt_growth_set *g, uint64_t key, uint64_t tag, double value,
		     struct lt_trend *out)
{
	struct lt_trend_sample samples[2 * LT_TREND_MAX_WINDOW];
	struct lt_growth_series *s = find(g, key);
	int err;

	*out = (struct lt_trend){ .verdict = LT_VERDICT_NONE };
	if (!s) {
		err = add(g, key, tag, &s);
		if (err || !s)
			return err;
	}
	if (s->tag != tag) {
		s->tag = tag;
		s->n = s->head = 0;
	}
	push(g, s, value);
	lt_trend_assess(samples, lt_growth_samples(g, s, samples), &g->params, out);
	return 0;
}

void lt_growth_peek(const struct lt_growth_set *g, const struct lt_trend_params *params,
		    double now_s, uint64_t key, uint64_t tag, double value, struct lt_trend *out)
{
	struct lt_trend_sample samples[2 * LT_TREND_MAX_WINDOW + 1];
	const struct lt_growth_series *s = g ? find(g, key) : NULL;
	size_t n = 0;

	if (s && s->tag == tag) {
		n = lt_growth_samples(g, s, samples);
		/* The ring is full: the new sample would push the oldest out. */
		if (n == ring_cap(g))
			memmove(samples, samples + 1, --n * sizeof(samples[0]));
	}
	samples[n++] = (struct lt_trend_sample){ now_s, value };
	lt_trend_assess(samples, n, params, out);
}

struct lt_trend_params lt_growth_params(uint32_t window, bool py_types)
{
	return (struct lt_trend_params){ window, py_types ? LT_TREND_MIN_OBJECTS : LT_TREND_MIN_BYTES,
					 LT_TREND_MIN_REL, LT_TREND_Z_CRIT };
}

void lt_growth_end(struct lt_growth_set *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].sampled != g->report)
			push(g, &g->v[i], 0);
}

void lt_growth_table_init(struct lt_growth_table *t, uint32_t window)
{
	memset(t, 0, sizeof(*t));
	t->window = window;
}

static void free_proc(struct lt_growth_proc *p)
{
	lt_growth_free(&p->heap);
	lt_growth_free(&p->py_types);
	lt_growth_free(&p->fds);
	free(p);
}

void lt_growth_table_free(struct lt_growth_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free_proc(t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

void lt_growth_table_begin(struct lt_growth_table *t)
{
	t->generation++;
}

struct lt_growth_proc *lt_growth_table_get(struct lt_growth_table *t, uint64_t key)
{
	size_t lo = 0, hi = t->n;
	struct lt_growth_proc *p, **grown;
	struct lt_trend_params heap, py_types;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid]->key == key) {
			t->v[mid]->seen = t->generation;
			return t->v[mid];
		}
		if (t->v[mid]->key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	p = calloc(1, sizeof(*p));
	grown = realloc(t->v, (t->n + 1) * sizeof(*grown));
	if (!p || !grown) {
		free(p);
		if (grown)
			t->v = grown;
		return NULL;
	}
	t->v = grown;
	p->key = key;
	p->seen = t->generation;
	heap = lt_growth_params(t->window, false);
	py_types = lt_growth_params(t->window, true);
	lt_growth_init(&p->heap, &heap, LT_GROWTH_MAX_SERIES);
	lt_growth_init(&p->py_types, &py_types, LT_GROWTH_MAX_SERIES);
	/* Descriptors are counted, as objects are. */
	lt_growth_init(&p->fds, &py_types, LT_GROWTH_MAX_SERIES);
	memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof(*t->v));
	t->v[lo] = p;
	t->n++;
	return p;
}

const struct lt_growth_proc *lt_growth_table_find(const struct lt_growth_table *t, uint64_t key)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid]->key == key)
			return t->v[mid];
		if (t->v[mid]->key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Processes gone from the report (exited and forgotten) take their series with them. */
void lt_growth_table_end(struct lt_growth_table *t)
{
	size_t j = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i]->seen == t->generation)
			t->v[j++] = t->v[i];
		else
			free_proc(t->v[i]);
	}
	t->n = j;
}
