/* SPDX-License-Identifier: MIT */
/* A process's cgroup v2 path, and the container id that path names. */
#ifndef LT_CGROUP_INFO_H
#define LT_CGROUP_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Container ids are 64 lowercase hex digits (a sha256) in every runtime. */
#define LT_CONTAINER_ID_LEN 64
/* /proc/PID/cgroup is read up to this size: a few v1 lines and one v2 line. */
#define LT_CGROUP_FILE_MAX 65536

/*
 * The path of the "0::/path" line of a /proc/PID/cgroup text of len bytes
 * (v1 lines are skipped), malloc'd in *out. " (deleted)", which the kernel
 * appends for a removed cgroup, is dropped. Returns 0, -ENOENT when there is
 * no complete v2 line (v1-only host, truncated text), -ENOMEM.
 */
int lt_cgroup_parse(const char *text, size_t len, char **out);

/* The same, read from /proc/<pid>/cgroup. Returns 0 or -errno. */
int lt_cgroup_read(uint32_t pid, char **out);

/*
 * The id of the innermost container named in a cgroup path, written with
 * its NUL to id. A path component names one when it is, in full:
 *   <id>                          docker and containerd (cgroupfs driver), kubepods
 *   docker-<id>[.scope]           docker (systemd driver)
 *   cri-containerd-<id>[.scope]   containerd CRI
 *   crio-<id>[.scope]             cri-o
 *   libpod-<id>[.scope]           podman
 * where <id> is exactly 64 lowercase hex digits. crio-conmon-<id> and
 * libpod-conmon-<id> hold the runtime's monitor, which runs outside the
 * container: they name none. False (id empty) when no component matches.
 * scope_len, when not NULL, gets the length of the path up to the end of
 * that component: the container's own cgroup, whatever it made below it.
 */
bool lt_cgroup_container_id(const char *path, char id[LT_CONTAINER_ID_LEN + 1],
			    size_t *scope_len);

#endif
