// SPDX-License-Identifier: MIT
#include "process_table.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_info.h"
#include "python_objects.h"

void lt_procs_init(struct lt_process_table *t)
{
	memset(t, 0, sizeof(*t));
}

static void free_python(struct lt_process *p)
{
	if (p->py) {
		lt_py_process_free(p->py);
		free(p->py);
		p->py = NULL;
	}
	p->py_checked_maps = 0;
}

static void process_free(struct lt_process *p)
{
	free_python(p);
	lt_live_free(&p->heap);
	lt_live_free(&p->mmaps);
	lt_stacks_free(&p->stacks);
	lt_maps_free(&p->maps);
	free(p->exe);
	free(p->cgroup);
	free(p->container_id);
	free(p);
}

void lt_procs_free(struct lt_process_table *t)
{
	for (size_t b = 0; b < LT_PROC_BUCKETS; b++) {
		struct lt_process *p = t->buckets[b], *next;

		for (; p; p = next) {
			next = p->next;
			process_free(p);
		}
	}
	lt_procs_init(t);
}

struct lt_process *lt_procs_get(struct lt_process_table *t, uint32_t tgid)
{
	struct lt_process *p;

	if (t->last && t->last->tgid == tgid)
		return t->last;
	for (p = t->buckets[tgid % LT_PROC_BUCKETS]; p; p = p->next)
		if (p->tgid == tgid)
			return t->last = p;
	return NULL;
}

/* A process already gone keeps the cgroup it was last seen in. */
static void refresh_cgroup(struct lt_process *p)
{
	char id[LT_CONTAINER_ID_LEN + 1], *path, *cid = NULL;

	if (lt_cgroup_read(p->tgid, &path))
		return;
	if (lt_cgroup_container_id(path, id, NULL)) {
		cid = strdup(id);
		if (!cid) {
			free(path);
			return;
		}
	}
	free(p->cgroup);
	free(p->container_id);
	p->cgroup = path;
	p->container_id = cid;
}

bool lt_process_refresh_identity(struct lt_process *p)
{
	char path[64], buf[PATH_MAX];
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", p->tgid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(p->comm, sizeof(p->comm), "%.*s", (int)sizeof(p->comm) - 1, buf);
		}
		fclose(f);
	}
	refresh_cgroup(p);
	snprintf(path, sizeof(path), "/proc/%u/exe", p->tgid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	free(p->exe);
	p->exe = strdup(buf);
	return true;
}

struct lt_process *lt_procs_add(struct lt_process_table *t, uint32_t tgid)
{
	struct lt_process *p = calloc(1, sizeof(*p));
	size_t b = tgid % LT_PROC_BUCKETS;

	if (!p)
		return NULL;
	p->tgid = tgid;
	lt_live_init(&p->heap);
	lt_live_init(&p->mmaps);
	lt_stacks_init(&p->stacks);
	lt_process_refresh_identity(p);
	p->next = t->buckets[b];
	t->buckets[b] = p;
	t->count++;
	return t->last = p;
}

void lt_procs_remove(struct lt_process_table *t, uint32_t tgid)
{
	struct lt_process **pp = &t->buckets[tgid % LT_PROC_BUCKETS];

	for (; *pp; pp = &(*pp)->next) {
		struct lt_process *p = *pp;

		if (p->tgid != tgid)
			continue;
		*pp = p->next;
		if (t->last == p)
			t->last = NULL;
		t->count--;
		process_free(p);
		return;
	}
}

void lt_process_reset_image(struct lt_process *p)
{
	free_python(p);
	lt_live_free(&p->heap);
	lt_live_free(&p->mmaps);
	lt_stacks_free(&p->stacks);
	lt_maps_free(&p->maps);
	p->maps_loaded = false;
}

static int by_tgid(const void *a, const void *b)
{
	const struct lt_process *pa = *(struct lt_process *const *)a;
	const struct lt_process *pb = *(struct lt_process *const *)b;

	return (pa->tgid > pb->tgid) - (pa->tgid < pb->tgid);
}

long lt_procs_list(const struct lt_process_table *t, struct lt_process ***out)
{
	struct lt_process **v = calloc(t->count ? t->count : 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t b = 0; b < LT_PROC_BUCKETS; b++)
		for (struct lt_process *p = t->buckets[b]; p; p = p->next)
			v[n++] = p;
	qsort(v, n, sizeof(*v), by_tgid);
	*out = v;
	return (long)n;
}
