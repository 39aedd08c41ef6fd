/* SPDX-License-Identifier: MIT */
/*
 * Every distinct mapped file (by device and inode) opened once, through the
 * process that maps it (/proc/PID/map_files, /proc/PID/root), so files of
 * other mount namespaces and deleted files are read, not their host namesakes.
 * Opening is cheap and done while events are handled (the process may not
 * live long); parsing ELF, debug files and DWARF waits for first use, at
 * report time, so it never delays the event stream. Parsed files are shared
 * by build-id and kept within a memory budget (symbol_cache.h).
 */
#ifndef LT_MODULE_CACHE_H
#define LT_MODULE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attach/proc_maps.h"
#include "symbols/symbol_cache.h"

struct lt_elf_file;
struct lt_module_cache;

struct lt_module {
	uint32_t dev_major;
	uint32_t dev_minor;
	uint64_t inode;
	char *path;                 /* as the owning process names it */
	const char *name;           /* basename of path */
	int fd;                     /* opened, not parsed yet; -1 otherwise */
	pid_t opened_by;            /* whose root to search for debug files */
	bool parsed;                /* fd was handed to the symbol cache */
	struct lt_symbols *symbols; /* its parsed ELF, maybe shared; NULL if none */
	struct lt_module_cache *cache;
	uint32_t open_attempts;     /* failed opens; retried through other processes */
	struct lt_module *next;     /* hash chain */
};

#define LT_MODULE_BUCKETS 1024

struct lt_module_cache {
	struct lt_module *buckets[LT_MODULE_BUCKETS];
	size_t count;
	/* Called once a module's file is open (mod->fd valid), e.g. to build
	 * its unwind table while the file can still be read. */
	void (*on_open)(void *ctx, struct lt_module *mod);
	void *on_open_ctx;
	struct lt_symbol_cache symbols;
};

/* Parsed files are held within LT_SYMBOL_CACHE_DEFAULT_MB until told otherwise. */
void lt_module_cache_init(struct lt_module_cache *c);
void lt_module_cache_free(struct lt_module_cache *c);
/* The budget for parsed files (estimated bytes); applies from the next parse. */
void lt_module_cache_set_limit(struct lt_module_cache *c, uint64_t bytes);
/* Parses, parses again after eviction, sharing and evictions so far. */
void lt_module_cache_stats(const struct lt_module_cache *c, struct lt_symbol_cache_stats *out);
/* The module of a file-backed mapping of pid, opened on first use (and
 * again, a few times, if that failed: the process may have been gone);
 * NULL for anonymous mappings or on allocation failure. */
struct lt_module *lt_module_for_mapping(struct lt_module_cache *c, pid_t pid,
					const struct lt_mapping *m);
/* Will lt_module_for_mapping() never again change mod (its file is open or
 * parsed, or given up on)? Then a mapping may keep it and be resolved
 * without the cache. */
bool lt_module_settled(const struct lt_module *mod);
/* The module's ELF, parsed (with its debug companion) on first call, or
 * parsed again if it was evicted since; NULL when the file could not be
 * opened or is not ELF. It and lt_module_debug(mod) stay valid until
 * lt_module_elf() is called for a module of another file. */
struct lt_elf_file *lt_module_elf(struct lt_module *mod);
/* Its separate debug file (when the ELF has no DWARF) after lt_module_elf(),
 * or NULL. */
struct lt_elf_file *lt_module_debug(const struct lt_module *mod);
/* Build-id as lowercase hex, "" if none or not parsed; valid until
 * lt_module_cache_free(). */
const char *lt_module_build_id(const struct lt_module *mod);
/* Open the modules of pid's executable file mappings now, while it lives. */
void lt_module_prime(struct lt_module_cache *c, pid_t pid, const struct lt_maps *maps);
/* Open the file of mapping m as pid sees it; returns an fd or -errno. */
int lt_open_mapped_file(pid_t pid, const struct lt_mapping *m);

#endif
