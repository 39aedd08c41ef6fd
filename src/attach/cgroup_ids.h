/* SPDX-License-Identifier: MIT */
/*
 * cgroup v2 ids (what BPF reads of a task) back to paths: the cgroup2
 * tree is walked, and walked again when an id is not found, at most once
 * a second (a cgroup made since; a removed one is never found again).
 */
#ifndef LT_CGROUP_IDS_H
#define LT_CGROUP_IDS_H

#include <stddef.h>
#include <stdint.h>

struct lt_cgroup_ids {
	char *mount;     /* the cgroup2 mount point; NULL until the first walk */
	uint64_t *ids;
	char **paths;    /* relative to the mount, "/" for the root */
	size_t n, cap;
	uint64_t walked_ns; /* CLOCK_MONOTONIC of the last walk */
};

/* The path of the cgroup with this id, or NULL (unknown, gone, or out of
 * memory). The string lives until the next walk: copy it. */
const char *lt_cgroup_ids_path(struct lt_cgroup_ids *c, uint64_t id);
void lt_cgroup_ids_free(struct lt_cgroup_ids *c);

#endif
