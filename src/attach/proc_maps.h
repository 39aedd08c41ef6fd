/* SPDX-License-Identifier: MIT */
/* Parsing /proc/PID/maps into a sorted array of mappings. */
#ifndef LT_PROC_MAPS_H
#define LT_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lt_module;

struct lt_mapping {
	uint64_t start;
	uint64_t end; /* exclusive */
	uint64_t file_offset;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint64_t inode;
	bool readable, writable, executable;
	bool deleted; /* path ended in " (deleted)"; the suffix is stripped */
	char *path;   /* NULL for anonymous mappings; "[heap]", "[stack]" kept */
	/* Its file's module (symbols/module_cache.h), kept once settled, so
	 * that frames in it resolve without the module cache; NULL before. */
	struct lt_module *module;
};

struct lt_maps {
	struct lt_mapping *v; /* sorted by start, as the kernel prints them */
	size_t n;
};

/* Parse the text of a maps file. Malformed lines are skipped; returns 0 or -errno. */
int lt_maps_parse(const char *text, size_t len, struct lt_maps *out);
/* Read and parse /proc/PID/maps. Returns 0 or -errno (-ESRCH when gone). */
int lt_maps_read(pid_t pid, struct lt_maps *out);
/* The mapping containing addr, or NULL (binary search). */
const struct lt_mapping *lt_maps_find(const struct lt_maps *maps, uint64_t addr);
/* Do two mappings map the same file (device and inode)? */
bool lt_mapping_same_file(const struct lt_mapping *a, const struct lt_mapping *b);
/* Deep copy (fork children start with their parent's mappings). */
int lt_maps_copy(const struct lt_maps *src, struct lt_maps *dst);
void lt_maps_free(struct lt_maps *maps);

#endif
