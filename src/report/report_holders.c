// SPDX-License-Identifier: MIT
#include "report/report_holders.h"
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach/proc_start.h"
#include "holders/holders_find.h"
#include "python/python_memory.h"
#include "python/python_objects.h"

/* Copies of the heap kept at most during a walk: a heap bigger than this
 * is read more than once where the walk comes back to a part of it. */
#define CACHE_BYTES (1ull << 30)
/* Where an object may start in its block: after a GC header, after a
 * GC header and the managed dict and weakref words (3.11+). */
static const unsigned object_offsets[] = { 0, 16, 32 };

struct place {
	uint32_t type;      /* index into pp->types */
	uint32_t stack_id;
	uint64_t count;     /* live objects of it */
	uint64_t seen;
	uint64_t *objects;  /* block addresses, then object addresses */
	size_t n;
};

/* The object in a block: where its type pointer names the type. */
static uint64_t object_of(pid_t pid, uint64_t block, uint64_t type)
{
	uint64_t head[6];

	if (lt_py_read(pid, block, head, sizeof(head)))
		return 0;
	for (size_t i = 0; i < sizeof(object_offsets) / sizeof(object_offsets[0]); i++)
		if (head[object_offsets[i] / 8 + 1] == type)
			return block + object_offsets[i];
	return 0;
}

static int by_delta(const void *a, const void *b)
{
	const struct lt_report_py_type *x = *(const struct lt_report_py_type *const *)a;
	const struct lt_report_py_type *y = *(const struct lt_report_py_type *const *)b;

	if (x->delta_objects != y->delta_objects)
		return x->delta_objects < y->delta_objects ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* A name of real types: buffers and blocks not read have names too. */
static bool is_type(const struct lt_py_process *pp, const char *name)
{
	for (size_t i = 0; i < pp->ntypes; i++)
		if (pp->types[i].type > LT_PY_TYPE_UNREAD && !strcmp(pp->types[i].name, name))
			return true;
	return false;
}

/* The types chosen: growing most since the previous report. */
static int choose_types(const struct lt_py_process *pp, const struct lt_report_python *py,
			uint32_t *chosen, size_t max, size_t *nchosen)
{
	const struct lt_report_py_type **growing = calloc(py->ntypes ? py->ntypes : 1,
							   sizeof(*growing));
	size_t n = 0, out = 0;

	if (!growing)
		return -ENOMEM;
	for (size_t i = 0; i < py->ntypes; i++)
		if (py->types[i].delta_objects > 0 && is_type(pp, py->types[i].name))
			growing[n++] = &py->types[i];
	qsort(growing, n, sizeof(*growing), by_delta);
	if (n > LT_HOLDERS_TYPES)
		n = LT_HOLDERS_TYPES;
	/* Names to the process's types (classes of one name are all taken). */
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < pp->ntypes && out < max; i++)
			if (pp->types[i].type > LT_PY_TYPE_UNREAD &&
			    !strcmp(pp->types[i].name, growing[k]->name))
				chosen[out++] = (uint32_t)i;
	free(growing);
	*nchosen = out;
	return 0;
}

static int cmp_count(const void *a, const void *b)
{
	const struct place *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return (x->stack_id > y->stack_id) - (x->stack_id < y->stack_id);
}

static char *where_of(const struct lt_py_process *pp, uint32_t stack_id)
{
	const struct lt_py_traceback *tb;
	char *s = NULL;

	if (stack_id >= pp->ntracebacks)
		return NULL;
	tb = &pp->tracebacks[stack_id];
	if (!tb->nframes || asprintf(&s, "%s:%d", tb->frames[0].file, tb->frames[0].line) < 0)
		return NULL;
	return s;
}

/* The places (type, traceback) to sample: per chosen type its
 * LT_HOLDERS_PLACES tracebacks with the most live objects. */
static int choose_places(const struct lt_py_process *pp, const uint32_t *types, size_t ntypes,
			 struct place **placesp, size_t *nplaces)
{
	size_t nstacks = pp->ntracebacks, n = 0;
	uint64_t *counts = calloc(ntypes * (nstacks ? nstacks : 1), sizeof(*counts));
	struct place *places = calloc(ntypes * LT_HOLDERS_PLACES, sizeof(*places));
	struct lt_live_alloc a;
	uint64_t iter = 0;

	if (!counts || !places) {
		free(counts);
		free(places);
		return -ENOMEM;
	}
	while (lt_live_next(&pp->objects, &iter, &a))
		for (size_t k = 0; k < ntypes; k++)
			if (a.pad == types[k] && a.stack_id < nstacks)
				counts[k * nstacks + a.stack_id]++;
	for (size_t k = 0; k < ntypes; k++) {
		struct place best[LT_HOLDERS_PLACES] = { 0 };
		size_t nb = 0;

		for (size_t st = 0; st < nstacks; st++) {
			struct place p = { .type = types[k], .stack_id = (uint32_t)st,
					   .count = counts[k * nstacks + st] };

			if (!p.count)
				continue;
			if (nb < LT_HOLDERS_PLACES)
				best[nb++] = p;
			else if (p.count > best[nb - 1].count)
				best[nb - 1] = p;
			qsort(best, nb, sizeof(*best), cmp_count);
		}
		for (size_t b = 0; b < nb; b++)
			places[n++] = best[b];
	}
	free(counts);
	*placesp = places;
	*nplaces = n;
	return 0;
}

/* Every k-th live object of each place, k = its count / samples. */
static int sample_places(const struct lt_py_process *pp, struct place *places, size_t n,
			 uint32_t samples)
{
	struct lt_live_alloc a;
	uint64_t iter = 0;

	for (size_t i = 0; i < n; i++) {
		places[i].objects = calloc(samples, sizeof(*places[i].objects));
		if (!places[i].objects)
			return -ENOMEM;
	}
	while (lt_live_next(&pp->objects, &iter, &a)) {
		for (size_t i = 0; i < n; i++) {
			struct place *p = &places[i];
			uint64_t step = p->count > samples ? p->count / samples : 1;

			if (a.pad != p->type || a.stack_id != p->stack_id)
				continue;
			if (p->seen++ % step == 0 && p->n < samples)
				p->objects[p->n++] = a.addr;
		}
	}
	return 0;
}

int lt_report_build_py_samples(struct lt_session *s, struct lt_process *p,
			       struct lt_report_python *py)
{
	struct lt_py_process *pp = p->py;
	uint32_t types[LT_HOLDERS_TYPES * 4];
	struct place *places = NULL;
	size_t ntypes, nplaces = 0;
	int err;

	if (p->exited || pp->finalizing)
		return 0;
	py->start_ticks = lt_proc_start_ticks((pid_t)p->tgid);
	if ((err = choose_types(pp, py, types, sizeof(types) / sizeof(types[0]), &ntypes)) ||
	    (err = choose_places(pp, types, ntypes, &places, &nplaces)) ||
	    (err = sample_places(pp, places, nplaces, s->opts->holders_samples)))
		goto cleanup;
	py->samples = calloc(nplaces ? nplaces : 1, sizeof(*py->samples));
	if (!py->samples) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < nplaces; i++) {
		struct place *pl = &places[i];
		const struct lt_py_type *t = &pp->types[pl->type];
		struct lt_report_py_sample *out = &py->samples[py->nsamples++];
		size_t kept = 0;

		for (size_t k = 0; k < pl->n; k++) {
			uint64_t obj = object_of((pid_t)p->tgid, pl->objects[k], t->type);

			if (obj)
				pl->objects[kept++] = obj;
		}
		out->type = strdup(t->name);
		out->type_addr = t->type;
		out->where = where_of(pp, pl->stack_id);
		out->objects = pl->objects;
		out->n = kept;
		pl->objects = NULL;
		if (!out->type) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
cleanup:
	for (size_t i = 0; i < nplaces; i++)
		free(places[i].objects);
	free(places);
	return err;
}

int lt_report_build_holders(struct lt_session *s, struct lt_process *p,
			    struct lt_report_python *py)
{
	struct lt_py_process *pp = p->py;
	struct lt_holders_sample *samples;
	int err;

	py->holders = calloc(1, sizeof(*py->holders));
	if (!py->holders)
		return -ENOMEM;
	if (p->exited || pp->finalizing) {
		py->holders->error = strdup(p->exited ? "the process exited" :
					    "the interpreter is shutting down");
		return py->holders->error ? 0 : -ENOMEM;
	}
	samples = calloc(py->nsamples ? py->nsamples : 1, sizeof(*samples));
	if (!samples)
		return -ENOMEM;
	for (size_t i = 0; i < py->nsamples; i++)
		samples[i] = (struct lt_holders_sample){
			.type_name = py->samples[i].type, .type = py->samples[i].type_addr,
			.where = py->samples[i].where, .objects = py->samples[i].objects,
			.n = py->samples[i].n,
		};
	{
		struct lt_holders_request req = {
			.pid = (pid_t)p->tgid,
			.own_child = s->mode == LT_MODE_COMMAND && (pid_t)p->tgid == s->command_pid,
			.minor = pp->interp.minor, .runtime = pp->interp.layout.runtime,
			.info = &pp->interp.info, .frames = &pp->interp.layout,
			.pause_ms = s->opts->holders_pause_ms, .cache_bytes = CACHE_BYTES,
			.samples = samples, .nsamples = py->nsamples,
		};

		err = lt_holders_find(&req, py->holders);
	}
	free(samples);
	return err;
}
