/* SPDX-License-Identifier: MIT */
/* Finding the allocator objects (libc files) that processes map. */
#ifndef LT_LIBC_DISCOVERY_H
#define LT_LIBC_DISCOVERY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lt_object_ref {
	char path[PATH_MAX]; /* openable from here, in any mount namespace */
	uint32_t kdev;       /* kernel dev_t: major << 20 | minor */
	uint64_t ino;
	uint64_t attached_ns; /* in a list of attached files: when its probes went in */
};

struct lt_object_list {
	struct lt_object_ref *v;
	size_t n;
};

/* glibc libc.so.6 / libc-2.x.so, musl ld-musl-*.so.1 (must match the BPF side). */
bool lt_is_libc_name(const char *basename);
uint32_t lt_kernel_dev(uint32_t major, uint32_t minor);
/* The file at path, by its device and inode now. Returns 0 or -errno. */
int lt_object_ref_of_path(const char *path, struct lt_object_ref *out);

/* Add pid's executable libc mappings to list (deduplicated by file). When it
 * maps none and its executable defines malloc (a static binary), add that.
 * Returns the number added or -errno (-ESRCH: no such process). */
int lt_find_process_libcs(pid_t pid, struct lt_object_list *list);
/* Every libc mapped by any process now, deduplicated. Returns count or -errno. */
int lt_find_all_libcs(struct lt_object_list *list);
/* The mapping of pid whose file has this kernel dev and inode. Returns 0 or -errno. */
int lt_find_mapped_file(pid_t pid, uint32_t kdev, uint64_t ino, struct lt_object_ref *out);
bool lt_object_list_has(const struct lt_object_list *list, uint32_t kdev, uint64_t ino);
/* The entry for that file, or NULL. */
const struct lt_object_ref *lt_object_list_find(const struct lt_object_list *list, uint32_t kdev,
						uint64_t ino);
int lt_object_list_add(struct lt_object_list *list, const struct lt_object_ref *ref);
void lt_object_list_free(struct lt_object_list *list);

#endif
