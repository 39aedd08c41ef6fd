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

static int by_bytes(const void *a, const void *b)
{
	const struct lt_report_container *x = a, *y = b;

	if (x->outstanding_bytes != y->outstanding_bytes)
		return x->outstanding_bytes < y->outstanding_bytes ? 1 : -1;
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

int lt_report_build_containers(struct lt_report *r)
{
	struct lt_report_container *v = calloc(r->nprocs ? r->nprocs : 1, sizeof(*v));
	size_t n = 0;

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
	qsort(v, n, sizeof(*v), by_bytes);
	return 0;
}

