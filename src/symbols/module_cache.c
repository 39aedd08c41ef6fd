// SPDX-License-Identifier: MIT
#include "symbols/module_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "symbols/untrusted_file.h"

void lt_module_cache_init(struct lt_module_cache *c)
{
	memset(c, 0, sizeof(*c));
	lt_symbol_cache_init(&c->symbols, (uint64_t)LT_SYMBOL_CACHE_DEFAULT_MB << 20);
}

void lt_module_cache_set_limit(struct lt_module_cache *c, uint64_t bytes)
{
	c->symbols.cap_bytes = bytes;
}

void lt_module_cache_stats(const struct lt_module_cache *c, struct lt_symbol_cache_stats *out)
{
	*out = c->symbols.stats;
}

void lt_module_cache_free(struct lt_module_cache *c)
{
	for (size_t b = 0; b < LT_MODULE_BUCKETS; b++) {
		struct lt_module *m = c->buckets[b], *next;

		for (; m; m = next) {
			next = m->next;
			if (m->fd >= 0)
				close(m->fd);
			lt_symbols_put(&c->symbols, m->symbols);
			free(m->path);
			free(m);
		}
	}
	lt_module_cache_init(c);
}

static size_t bucket_of(uint32_t major, uint32_t minor, uint64_t inode)
{
	uint64_t h = (inode ^ ((uint64_t)major << 40) ^ ((uint64_t)minor << 20)) *
		     0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 40) % LT_MODULE_BUCKETS;
}

/* The file open at fd is the one mapped: same device and inode. */
static bool is_mapped_file(int fd, const struct lt_mapping *m)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_ino == m->inode && major(st.st_dev) == m->dev_major &&
	       minor(st.st_dev) == m->dev_minor;
}

static int open_if_mapped_file(const char *path, const struct lt_mapping *m)
{
	int fd = lt_open_untrusted(path);

	if (fd < 0)
		return fd;
	if (!is_mapped_file(fd, m)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int lt_open_mapped_file(pid_t pid, const struct lt_mapping *m)
{
	char path[4200];
	int fd;

	/* map_files works for deleted files and any mount namespace. The PID
	 * may belong to a later process by now: the inode must match. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
		 m->start, m->end);
	fd = open_if_mapped_file(path, m);
	if (fd >= 0)
		return fd;
	if (!m->path || m->path[0] != '/')
		return -ENOENT;
	/* The path as the process sees it, if that is still the mapped file. */
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
	fd = open_if_mapped_file(path, m);
	if (fd >= 0)
		return fd;
	/* A process that lived only milliseconds is gone before we look; the
	 * same path here is good enough when it is the very same inode. */
	return open_if_mapped_file(m->path, m);
}

#define LT_MODULE_MAX_OPEN_ATTEMPTS 8

static void try_open(struct lt_module_cache *c, struct lt_module *mod, pid_t pid,
		     const struct lt_mapping *m)
{
	int fd;

	if (mod->parsed || mod->fd >= 0 || mod->open_attempts >= LT_MODULE_MAX_OPEN_ATTEMPTS)
		return;
	fd = lt_open_mapped_file(pid, m);
	if (fd < 0) {
		/* Gone already: another process mapping the file may do. */
		mod->open_attempts++;
		return;
	}
	mod->fd = fd;
	mod->opened_by = pid;
	if (c->on_open)
		c->on_open(c->on_open_ctx, mod);
}

bool lt_module_settled(const struct lt_module *mod)
{
	return mod->parsed || mod->fd >= 0 || mod->open_attempts >= LT_MODULE_MAX_OPEN_ATTEMPTS;
}

struct lt_elf_file *lt_module_elf(struct lt_module *mod)
{
	if (!mod->parsed) {
		if (mod->fd < 0)
			return NULL;
		/* The entry keeps the file open, to parse it again after eviction. */
		mod->symbols = lt_symbols_get(&mod->cache->symbols, mod->fd, mod->opened_by,
					      mod->path);
		mod->fd = -1;
		mod->parsed = true;
	}
	/* A file we cannot read still names frames by module and offset. */
	if (!mod->symbols)
		return NULL;
	return lt_symbols_load(&mod->cache->symbols, mod->symbols);
}

struct lt_elf_file *lt_module_debug(const struct lt_module *mod)
{
	return mod->symbols ? lt_symbols_debug(mod->symbols) : NULL;
}

const char *lt_module_build_id(const struct lt_module *mod)
{
	return mod->symbols ? lt_symbols_build_id(mod->symbols) : "";
}

struct lt_module *lt_module_for_mapping(struct lt_module_cache *c, pid_t pid,
					const struct lt_mapping *m)
{
	size_t b;
	struct lt_module *mod;
	const char *slash;

	if (!m->path || !m->inode)
		return NULL;
	b = bucket_of(m->dev_major, m->dev_minor, m->inode);
	for (mod = c->buckets[b]; mod; mod = mod->next) {
		if (mod->inode == m->inode && mod->dev_major == m->dev_major &&
		    mod->dev_minor == m->dev_minor) {
			try_open(c, mod, pid, m);
			return mod;
		}
	}

	mod = calloc(1, sizeof(*mod));
	if (!mod)
		return NULL;
	mod->path = strdup(m->path);
	if (!mod->path) {
		free(mod);
		return NULL;
	}
	slash = strrchr(mod->path, '/');
	mod->name = slash ? slash + 1 : mod->path;
	mod->fd = -1;
	mod->cache = c;
	mod->dev_major = m->dev_major;
	mod->dev_minor = m->dev_minor;
	mod->inode = m->inode;
	try_open(c, mod, pid, m);
	mod->next = c->buckets[b];
	c->buckets[b] = mod;
	c->count++;
	return mod;
}

void lt_module_prime(struct lt_module_cache *c, pid_t pid, const struct lt_maps *maps)
{
	for (size_t i = 0; i < maps->n; i++)
		if (maps->v[i].executable)
			lt_module_for_mapping(c, pid, &maps->v[i]);
}
