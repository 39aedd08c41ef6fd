// SPDX-License-Identifier: MIT
#include "report/report_types.h"

#include <stdlib.h>
#include <string.h>

#include "symbols/symbolizer.h"

void lt_report_free_group(struct lt_report_group *g)
{
	for (size_t i = 0; i < g->nstacks; i++) {
		for (uint32_t f = 0; f < g->stacks[i].nframes; f++)
			lt_report_frame_clear(&g->stacks[i].frames[f]);
		free(g->stacks[i].frames);
		lt_report_free_fd_detail(g->stacks[i].fd);
	}
	free(g->stacks);
}

void lt_report_free_fd_detail(struct lt_report_fd_detail *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nexamples; i++)
		free(d->examples[i].text);
	free(d);
}

void lt_report_free_python(struct lt_report_python *py)
{
	if (!py)
		return;
	for (size_t i = 0; i < py->ntypes; i++)
		free(py->types[i].name);
	free(py->types);
	lt_report_free_group(&py->stacks);
	for (size_t i = 0; i < py->nsamples; i++) {
		free(py->samples[i].type);
		free(py->samples[i].where);
		free(py->samples[i].objects);
	}
	free(py->samples);
	if (py->holders)
		lt_holders_free(py->holders);
	free(py->gc);
	free(py->holders);
	free(py);
}

void lt_report_free_process(struct lt_report_process *rp)
{
	free(rp->exe);
	free(rp->cgroup);
	free(rp->container_id);
	lt_report_free_group(&rp->heap);
	lt_report_free_group(&rp->mmap);
	lt_report_free_group(&rp->fds);
	lt_report_free_python(rp->python);
	memset(rp, 0, sizeof(*rp));
}

void lt_report_free_containers(struct lt_report *r)
{
	for (size_t i = 0; i < r->ncontainers; i++) {
		free(r->containers[i].container_id);
		free(r->containers[i].cgroup);
	}
	free(r->containers);
	r->containers = NULL;
	r->ncontainers = 0;
}

static void free_owner(struct lt_report_kernel_owner *o)
{
	free(o->cgroup);
	free(o->container_id);
}

void lt_report_free_kernel(struct lt_report_kernel *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nstacks; i++) {
		struct lt_report_kernel_stack *st = &k->stacks[i];

		for (uint32_t f = 0; f < st->stack.nframes; f++)
			lt_report_frame_clear(&st->stack.frames[f]);
		free(st->stack.frames);
		free(st->cache);
		for (size_t o = 0; o < st->nowners; o++)
			free_owner(&st->owners[o]);
	}
	for (size_t i = 0; i < k->ncaches; i++)
		free(k->caches[i].name);
	for (size_t i = 0; i < k->nprocesses; i++)
		free_owner(&k->processes[i]);
	for (size_t i = 0; i < k->ncgroups; i++)
		free_owner(&k->cgroups[i]);
	free(k->stacks);
	free(k->caches);
	free(k->processes);
	free(k->cgroups);
	free(k->cgroup_filter);
	free(k->cache_filter);
	free(k);
}

void lt_report_free(struct lt_report *r)
{
	lt_report_free_kernel(r->kernel);
	for (size_t i = 0; i < r->nprocs; i++)
		lt_report_free_process(&r->procs[i]);
	lt_report_free_group(&r->summary);
	lt_report_free_containers(r);
	free(r->procs);
	memset(r, 0, sizeof(*r));
}
