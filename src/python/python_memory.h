/* SPDX-License-Identifier: MIT */
/*
 * Reading objects of a (traced) Python process with process_vm_readv. The
 * process is untrusted and keeps running: any pointer may be stale or
 * hostile, so every read is bounded and every failure is an error code,
 * never a fault in leaktrace.
 */
#ifndef LT_PYTHON_MEMORY_H
#define LT_PYTHON_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "python/python_layout.h"

/* Characters read of a name (code points * bytes per code point); longer
 * names are cut and end in "...". */
#define LT_PY_NAME_MAX 1024
/* Longest line table read. */
#define LT_PY_TABLE_MAX (1024 * 1024)

/* A copy of the process's memory at addr. */
struct lt_py_image {
	uint64_t addr;
	const void *data;
	size_t len;
};

/* Until called again with n = 0, this thread's reads are served from these
 * copies only (a read they do not cover fails with -EFAULT). */
void lt_py_read_images(const struct lt_py_image *images, size_t n);

/* Exactly len bytes at addr of pid. Returns 0, -EFAULT (unmapped, NULL or
 * partly readable) or -errno (-ESRCH: gone, -EPERM). */
int lt_py_read(pid_t pid, uint64_t addr, void *buf, size_t len);
/* A str object as a NUL-terminated UTF-8 string (malloc'd; NULs and invalid
 * code points become '?' / U+FFFD). Only compact strings, the kind every
 * code object name is. Returns 0, -EINVAL (not a string we understand) or
 * a read error. */
int lt_py_read_str(pid_t pid, const struct lt_py_version_info *info, uint64_t str, char **out);
/* A bytes object's contents (malloc'd, at least 1 byte allocated). Returns
 * 0, -E2BIG when longer than max, -EINVAL or a read error. */
int lt_py_read_bytes(pid_t pid, uint64_t bytes, size_t max, uint8_t **out, size_t *len);
/* A C string at addr (malloc'd), cut at max bytes; bytes below 0x20 become
 * '?'. Returns 0 or a read error. */
int lt_py_read_cstr(pid_t pid, uint64_t addr, size_t max, char **out);

#endif
