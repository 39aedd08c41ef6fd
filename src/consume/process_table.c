// SPDX-License-Identifier: MIT
#include "consume/process_table.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach/cgroup_info.h"
#include "python/python_objects.h"

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
	lt_fd_table_free(&p->fds);
	lt_live_free(&p->mmaps);
	lt_stacks_free(&p->stacks);
	lt_maps_free(&p->maps);
	free(p->exe);
	free(p->cgroup);
	free(p->container_id);
	free(p->probed_files);
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

	/* Lanes look up their own processes at once: no cache to write here. */
	for (p = t->buckets[tgid % LT_PROC_BUCKETS]; p; p = p->next)
		if (p->tgid == tgid && !p->superseded)
			return p;
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

/* Start time of /proc/PID's process in ns of CLOCK_BOOTTIME, rounded down
 * to a clock tick (field 22 of its stat file); 0 if unknown. */
static uint64_t proc_start_boot_ns(uint32_t tgid)
{
	char path[64], buf[1024], *paren, *field;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", tgid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n <= 0 || hz <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields follow the last ')'. */
	paren = strrchr(buf, ')');
	if (!paren)
		return 0;
	field = paren + 1;
	for (int i = 3; i < 22 && field; i++)
		field = strchr(field + 1, ' ');
	if (!field || sscanf(field, " %llu", &ticks) != 1)
		return 0;
	return ticks * (1000000000ULL / (uint64_t)hz);
}

bool lt_process_is_current(const struct lt_process *p)
{
	struct timespec mono, boot;
	uint64_t start_ns, seen_boot_ns;

	if (!p->seen_ns)
		return true;
	start_ns = proc_start_boot_ns(p->tgid);
	if (!start_ns)
		return true; /* gone, or unreadable: nothing to mistake it for */
	/* Monotonic first: an offset read a little late only makes the test
	 * more lenient. */
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	seen_boot_ns = p->seen_ns + (uint64_t)(boot.tv_sec - mono.tv_sec) * 1000000000ULL +
		       (uint64_t)(boot.tv_nsec - mono.tv_nsec);
	/* Started after an event of p's: a later process with p's PID. */
	return start_ns <= seen_boot_ns;
}

bool lt_process_refresh_identity(struct lt_process *p)
{
	char path[64], buf[PATH_MAX];
	ssize_t n;
	FILE *f;

	if (!lt_process_is_current(p))
		return false;
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
	return lt_procs_add_seen(t, tgid, 0);
}

struct lt_process *lt_procs_add_seen(struct lt_process_table *t, uint32_t tgid,
				     uint64_t seen_ns)
{
	struct lt_process *p = calloc(1, sizeof(*p));
	size_t b = tgid % LT_PROC_BUCKETS;

	if (!p)
		return NULL;
	p->tgid = tgid;
	p->serial = ++t->serials;
	p->seen_ns = seen_ns;
	lt_live_init(&p->heap);
	lt_fd_table_init(&p->fds);
	lt_live_init(&p->mmaps);
	lt_stacks_init(&p->stacks);
	lt_process_refresh_identity(p);
	p->next = t->buckets[b];
	t->buckets[b] = p;
	t->count++;
	return p;
}

static void unlink_record(struct lt_process_table *t, struct lt_process **pp)
{
	struct lt_process *p = *pp;

	*pp = p->next;
	t->count--;
	process_free(p);
}

void lt_procs_remove(struct lt_process_table *t, uint32_t tgid)
{
	struct lt_process **pp, **current = NULL, **oldest_superseded = NULL;

	/* Records are added at the head: the oldest comes last. */
	for (pp = &t->buckets[tgid % LT_PROC_BUCKETS]; *pp; pp = &(*pp)->next) {
		if ((*pp)->tgid != tgid)
			continue;
		if ((*pp)->superseded)
			oldest_superseded = pp;
		else if (!current)
			current = pp;
	}
	if (oldest_superseded)
		unlink_record(t, oldest_superseded);
	else if (current)
		unlink_record(t, current);
}

void lt_procs_retire(struct lt_process_table *t, uint32_t tgid)
{
	struct lt_process *p = lt_procs_get(t, tgid);

	if (!p)
		return;
	if (!p->target || !p->exited) {
		lt_procs_remove(t, tgid);
		return;
	}
	p->superseded = true;
}

bool lt_process_probed(const struct lt_process *p, uint32_t kdev, uint64_t ino)
{
	for (size_t i = 0; i < p->nprobed_files; i++)
		if (p->probed_files[i].kdev == kdev && p->probed_files[i].ino == ino)
			return true;
	return false;
}

int lt_process_add_probed(struct lt_process *p, uint32_t kdev, uint64_t ino)
{
	struct lt_file_id *grown;

	if (lt_process_probed(p, kdev, ino))
		return 0;
	grown = realloc(p->probed_files, (p->nprobed_files + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	grown[p->nprobed_files++] = (struct lt_file_id){ .kdev = kdev, .ino = ino };
	p->probed_files = grown;
	return 0;
}

void lt_process_reset_image(struct lt_process *p)
{
	free_python(p);
	lt_live_free(&p->heap);
	lt_fd_table_forget_made(&p->fds);
	lt_live_free(&p->mmaps);
	lt_stacks_free(&p->stacks);
	lt_maps_free(&p->maps);
	p->maps_loaded = false;
	p->ran_before_probes = false;
}

static int by_tgid(const void *a, const void *b)
{
	const struct lt_process *pa = *(struct lt_process *const *)a;
	const struct lt_process *pb = *(struct lt_process *const *)b;

	if (pa->tgid != pb->tgid)
		return (pa->tgid > pb->tgid) - (pa->tgid < pb->tgid);
	/* One PID, two processes: the earlier one first. */
	return (int)pb->superseded - (int)pa->superseded;
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
