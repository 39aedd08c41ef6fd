/* SPDX-License-Identifier: MIT */
/* --cgroup: the cgroup v2 directory whose processes (and descendants') are traced. */
#ifndef LT_CGROUP_TARGET_H
#define LT_CGROUP_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Deeper trees are not walked: no real hierarchy comes near it. */
#define LT_CGROUP_MAX_DEPTH 32

struct lt_cgroup_target {
	char *path;   /* the directory, absolute */
	uint64_t id;  /* the kernel's cgroup id (kernfs node id = inode number) */
	uint32_t level; /* its depth below the cgroup2 root (the root is 0) */
	int dir_fd;
};

/*
 * Resolve arg (an absolute directory, or a path relative to the cgroup2
 * mount named in mountinfo_path, normally /proc/self/mountinfo) and check
 * it is a cgroup v2 directory. Returns 0, or -errno with one line in err.
 */
int lt_cgroup_target_open(const char *arg, const char *mountinfo_path,
			  struct lt_cgroup_target *t, char *err, size_t errlen);
void lt_cgroup_target_close(struct lt_cgroup_target *t);

/*
 * The processes of the cgroup and its descendants, from each directory's
 * cgroup.procs, into a malloc'd array (*pids, NULL when none). A directory
 * removed while being read is skipped. Returns the count, or -errno.
 */
long lt_cgroup_target_pids(const struct lt_cgroup_target *t, pid_t **pids);

/* The cgroup2 mount point in a mountinfo text, malloc'd in *out (octal
 * escapes such as \040 decoded). Returns 0, -ENOENT or -ENOMEM. */
int lt_cgroup2_mount_point(const char *mountinfo, size_t len, char **out);

/* The same, read from mountinfo_path (normally /proc/self/mountinfo). */
int lt_cgroup2_mount(const char *mountinfo_path, char **out);

#endif
