// SPDX-License-Identifier: MIT
#include "attach/cgroup_ids.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>

#include "attach/cgroup_target.h"
#include "base/clock.h"
#include "base/grow_array.h"

#define REWALK_NS 1000000000ULL

/* nftw has no context argument: the walk in progress. */
static struct lt_cgroup_ids *walking;
static int walk_error;

static void forget(struct lt_cgroup_ids *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->paths[i]);
	c->n = 0;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct lt_cgroup_ids *c = walking;
	size_t mlen = strlen(c->mount);
	uint64_t *ids;
	char **paths;

	(void)ftw;
	if (type != FTW_D)
		return 0;
	ids = lt_grow(c->ids, &c->cap, c->n + 1, sizeof(*ids));
	if (ids)
		c->ids = ids;
	/* Both arrays share cap: the second grows to the first's new size. */
	paths = ids ? realloc(c->paths, c->cap * sizeof(*paths)) : NULL;
	if (!paths) {
		walk_error = -ENOMEM;
		return 1;
	}
	c->paths = paths;
	c->paths[c->n] = strdup(path[mlen] ? path + mlen : "/");
	if (!c->paths[c->n]) {
		walk_error = -ENOMEM;
		return 1;
	}
	c->ids[c->n++] = st->st_ino;
	return 0;
}

static int walk(struct lt_cgroup_ids *c)
{
	if (!c->mount && lt_cgroup2_mount("/proc/self/mountinfo", &c->mount))
		return -ENOENT;
	forget(c);
	walking = c;
	walk_error = 0;
	/* Cgroups come and go during the walk: vanished ones are skipped. */
	nftw(c->mount, visit, 16, FTW_PHYS | FTW_MOUNT);
	walking = NULL;
	c->walked_ns = lt_now_ns();
	return walk_error;
}

const char *lt_cgroup_ids_path(struct lt_cgroup_ids *c, uint64_t id)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c->n; i++)
			if (c->ids[i] == id)
				return c->paths[i];
		if (pass || (c->walked_ns && lt_now_ns() - c->walked_ns < REWALK_NS) || walk(c))
			break;
	}
	return NULL;
}

void lt_cgroup_ids_free(struct lt_cgroup_ids *c)
{
	forget(c);
	free(c->ids);
	free(c->paths);
	free(c->mount);
	memset(c, 0, sizeof(*c));
}
