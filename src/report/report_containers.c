// SPDX-License-Identifier: MIT
/* The report's processes summed per container (report_model.h). */
#include "report/report_model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "attach/cgroup_info.h"

static bool same_container(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static uint64_t container_bytes(const struct lt_report_container *c);

static int by_bytes(const void *a, const void *b)
{
	const struct lt_report_container *x = a, *y = b;

	if (container_bytes(x) != container_bytes(y))
		return container_bytes(x) < container_bytes(y) ? 1 : -1;
	/* Host last among equals, then by id: the same order every report. */
	if (!x->container_id || !y->container_id)
		return !x->container_id - !y->container_id;
	return strcmp(x->container_id, y->container_id);
}

/* The container's own cgroup, above whatever cgroups it made inside. */
static char *container_cgroup(const char *path)
{
	char id[LT_CONTAINER_ID_LEN + 1];
	size_t len;

	if (!lt_cgroup_container_id(path, id, &len))
		return strdup(path);
	return strndup(path, len);
}

/* --kernel: objects each container's tasks made (the host's: outside any). */
static int add_kernel(struct lt_report *r, struct lt_report_container *v, size_t *n)
{
	for (size_t i = 0; r->kernel && i < r->kernel->ncgroups; i++) {
		const struct lt_report_kernel_owner *o = &r->kernel->cgroups[i];
		struct lt_report_container *c = NULL;

		for (size_t j = 0; j < *n && !c; j++)
			if (same_container(v[j].container_id, o->container_id))
				c = &v[j];
		if (!c) {
			c = &v[(*n)++];
			r->ncontainers = *n;
			if (o->container_id) {
				c->container_id = strdup(o->container_id);
				c->cgroup = o->cgroup ? container_cgroup(o->cgroup) : NULL;
				if (!c->container_id || (o->cgroup && !c->cgroup))
					return -ENOMEM;
			}
		}
		c->kernel_bytes += o->bytes;
		c->kernel_allocs += o->allocs;
	}
	return 0;
}

static uint64_t container_bytes(const struct lt_report_container *c)
{
	return c->outstanding_bytes + c->kernel_bytes;
}

int lt_report_build_containers(struct lt_report *r)
{
	size_t room = r->nprocs + (r->kernel ? r->kernel->ncgroups : 0);
	struct lt_report_container *v = calloc(room ? room : 1, sizeof(*v));
	size_t n = 0;
	int err;

	if (!v)
		return -ENOMEM;
	r->containers = v;
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct lt_report_process *p = &r->procs[i];
		struct lt_report_container *c = NULL;

		for (size_t j = 0; j < n && !c; j++)
			if (same_container(v[j].container_id, p->container_id))
				c = &v[j];
		if (!c) {
			c = &v[n++];
			r->ncontainers = n;
			/* Host processes sit in many cgroups: theirs is none. */
			if (p->container_id) {
				c->container_id = strdup(p->container_id);
				c->cgroup = p->cgroup ? container_cgroup(p->cgroup) : NULL;
				if (!c->container_id || (p->cgroup && !c->cgroup))
					return -ENOMEM;
			}
		}
		c->processes++;
		c->outstanding_bytes += p->heap.outstanding_bytes;
		c->outstanding_allocs += p->heap.outstanding_allocs;
	}
	err = add_kernel(r, v, &n);
	if (err)
		return err;
	qsort(v, n, sizeof(*v), by_bytes);
	return 0;
}

