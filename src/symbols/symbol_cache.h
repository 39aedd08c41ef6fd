/* SPDX-License-Identifier: MIT */
/*
 * Parsed ELF files with their debug companions, for the module cache. Files
 * with the same build-id and size are one binary (the same library in many
 * container images), parsed once however many inodes map it; the size keeps
 * a stripped copy, which keeps its build-id, from standing in for the full
 * file. Parsed data stays within a memory budget: the least recently used
 * entries are unloaded and, when needed again, parsed again from the file
 * descriptor each entry keeps, since the process that mapped the file may
 * be gone by then.
 */
#ifndef LT_SYMBOL_CACHE_H
#define LT_SYMBOL_CACHE_H

#include <stdint.h>
#include <sys/types.h>

#define LT_SYMBOL_CACHE_DEFAULT_MB 512
#define LT_SYMBOL_CACHE_BUCKETS 256

struct lt_elf_file;
struct lt_symbols;

struct lt_symbol_cache_stats {
	uint64_t parses;    /* files parsed, including parses again after eviction */
	uint64_t reparses;  /* of those, parses again after eviction */
	uint64_t shared;    /* files that reused another file's entry by build-id */
	uint64_t evictions; /* entries unloaded to stay within the budget */
	uint64_t bytes;     /* estimated memory of the loaded entries */
	uint64_t loaded;    /* entries loaded now */
};

struct lt_symbol_cache {
	struct lt_symbols *buckets[LT_SYMBOL_CACHE_BUCKETS]; /* entries with a build-id */
	struct lt_symbols *lru_first, *lru_last; /* loaded entries, most recent first */
	uint64_t cap_bytes;
	struct lt_symbol_cache_stats stats;
};

void lt_symbol_cache_init(struct lt_symbol_cache *c, uint64_t cap_bytes);

/* A reference to the entry of the file open at fd, which it takes over
 * (also on failure): the entry of an earlier file with the same non-empty
 * build-id and size, or a new one, parsed on first load. opened_by and path
 * (copied) say where its debug file is looked for. NULL when out of memory. */
struct lt_symbols *lt_symbols_get(struct lt_symbol_cache *c, int fd, pid_t opened_by,
				  const char *path);
/* Drop a reference; the last one frees the entry. */
void lt_symbols_put(struct lt_symbol_cache *c, struct lt_symbols *s);

/* The entry's ELF, parsed now (with its debug file) if it is not loaded;
 * NULL when the file is not ELF. s becomes the most recently used entry
 * and older ones are unloaded past the budget, never s: its ELF and debug
 * file stay valid until the next lt_symbols_load() on c. */
struct lt_elf_file *lt_symbols_load(struct lt_symbol_cache *c, struct lt_symbols *s);
/* The debug file of s while loaded, or NULL; no parse, no eviction. */
struct lt_elf_file *lt_symbols_debug(const struct lt_symbols *s);
/* Build-id as lowercase hex, "" if none or not parsed yet; valid as long
 * as the entry, whether loaded or not. */
const char *lt_symbols_build_id(const struct lt_symbols *s);

#endif
