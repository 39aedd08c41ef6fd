// SPDX-License-Identifier: MIT
#include "symbols/symbol_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols/debug_file.h"
#include "symbols/elf_file.h"

struct lt_symbols {
	char build_id[LT_ELF_BUILD_ID_LEN]; /* "" when none: then never shared */
	uint64_t file_size;
	int fd;               /* the file, parsed through dups; -1 once it proved not ELF */
	int debug_fd;         /* the debug file while unloaded; -1 if none kept */
	bool find_debug;      /* look the debug file up when parsing */
	bool hashed;          /* in c->buckets */
	bool evicted;         /* parsed before: the next parse is a re-parse */
	pid_t opened_by;
	char *path;
	struct lt_elf_file *elf;   /* NULL while not loaded */
	struct lt_elf_file *debug;
	uint64_t cost;             /* estimated bytes while loaded */
	unsigned int refs;
	struct lt_symbols *lru_prev, *lru_next;
	struct lt_symbols *chain;  /* hash chain */
};

void lt_symbol_cache_init(struct lt_symbol_cache *c, uint64_t cap_bytes)
{
	memset(c, 0, sizeof(*c));
	c->cap_bytes = cap_bytes;
}

static size_t bucket_of(const char *build_id, uint64_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ size;

	for (; *build_id; build_id++)
		h = (h ^ (unsigned char)*build_id) * 0x100000001b3ULL;
	return (size_t)(h % LT_SYMBOL_CACHE_BUCKETS);
}

static struct lt_symbols *find_shared(struct lt_symbol_cache *c, const char *build_id,
				      uint64_t size)
{
	struct lt_symbols *s = c->buckets[bucket_of(build_id, size)];

	for (; s; s = s->chain)
		if (s->file_size == size && !strcmp(s->build_id, build_id))
			return s;
	return NULL;
}

struct lt_symbols *lt_symbols_get(struct lt_symbol_cache *c, int fd, pid_t opened_by,
				  const char *path)
{
	char build_id[LT_ELF_BUILD_ID_LEN];
	struct lt_symbols *s;
	struct stat st;
	size_t b;

	/* Unreadable here means unshared; parsing will tell the rest. */
	if (fstat(fd, &st) || lt_elf_read_build_id(fd, build_id))
		build_id[0] = '\0';
	if (build_id[0]) {
		s = find_shared(c, build_id, (uint64_t)st.st_size);
		if (s) {
			close(fd);
			s->refs++;
			c->stats.shared++;
			return s;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->path = path ? strdup(path) : NULL;
	if (path && !s->path)
		goto fail;
	s->fd = fd;
	s->debug_fd = -1;
	s->find_debug = true;
	s->opened_by = opened_by;
	s->refs = 1;
	if (build_id[0]) {
		memcpy(s->build_id, build_id, sizeof(build_id));
		s->file_size = (uint64_t)st.st_size;
		b = bucket_of(build_id, s->file_size);
		s->chain = c->buckets[b];
		c->buckets[b] = s;
		s->hashed = true;
	}
	return s;
fail:
	if (s)
		free(s->path);
	free(s);
	close(fd);
	return NULL;
}

static void lru_unlink(struct lt_symbol_cache *c, struct lt_symbols *s)
{
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		c->lru_first = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		c->lru_last = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void lru_push_first(struct lt_symbol_cache *c, struct lt_symbols *s)
{
	s->lru_next = c->lru_first;
	if (c->lru_first)
		c->lru_first->lru_prev = s;
	else
		c->lru_last = s;
	c->lru_first = s;
}

/* Keep how to reopen the debug file, so a parse again after eviction
 * finds the same one even once the process (its root) is gone. */
static void keep_debug_fd(struct lt_symbols *s)
{
	struct stat st;
	int fd;

	s->find_debug = false;
	if (!s->debug || s->debug_fd >= 0)
		return;
	fd = lt_elf_dup_fd(s->debug);
	/* An anonymous file (decompressed MiniDebugInfo) would stay in memory;
	 * the ELF file itself holds what rebuilds it. */
	if (fd >= 0 && (fstat(fd, &st) || st.st_nlink == 0)) {
		close(fd);
		fd = -1;
	}
	s->debug_fd = fd;
	s->find_debug = fd < 0;
}

static void unload(struct lt_symbol_cache *c, struct lt_symbols *s)
{
	if (!s->elf)
		return;
	keep_debug_fd(s);
	lru_unlink(c, s);
	lt_elf_close(s->debug);
	lt_elf_close(s->elf);
	s->elf = s->debug = NULL;
	c->stats.bytes -= s->cost;
	c->stats.loaded--;
	s->cost = 0;
	s->evicted = true;
}

void lt_symbols_put(struct lt_symbol_cache *c, struct lt_symbols *s)
{
	struct lt_symbols **p;

	if (!s || --s->refs)
		return;
	unload(c, s);
	if (s->hashed) {
		for (p = &c->buckets[bucket_of(s->build_id, s->file_size)]; *p != s; p = &(*p)->chain)
			;
		*p = s->chain;
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->debug_fd >= 0)
		close(s->debug_fd);
	free(s->path);
	free(s);
}

static struct lt_elf_file *open_debug(struct lt_symbols *s)
{
	struct lt_elf_file *debug;
	int fd;

	if (lt_elf_has_debug_info(s->elf))
		return NULL;
	if (s->debug_fd >= 0) {
		fd = fcntl(s->debug_fd, F_DUPFD_CLOEXEC, 0);
		return fd >= 0 && !lt_elf_open_fd(fd, &debug) ? debug : NULL;
	}
	if (!s->find_debug)
		return NULL;
	return lt_debug_file_find(s->opened_by, s->path, s->elf);
}

static void parse(struct lt_symbol_cache *c, struct lt_symbols *s)
{
	/* The ELF reader owns what it is given; s->fd must outlive it. */
	int fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0), err;

	if (fd < 0)
		return; /* out of descriptors for now: a later load may do */
	err = lt_elf_open_fd(fd, &s->elf);
	if (err) {
		s->elf = NULL;
		/* Not ELF, or unreadable: as before caching, never tried again.
		 * A parse again after eviction may meet a passing shortage. */
		if (!s->evicted && err != -ENOMEM) {
			close(s->fd);
			s->fd = -1;
		}
		return;
	}
	c->stats.parses++;
	if (s->evicted)
		c->stats.reparses++;
	if (!s->build_id[0])
		memcpy(s->build_id, lt_elf_build_id(s->elf), sizeof(s->build_id));
	s->debug = open_debug(s);
	s->cost = lt_elf_memory_estimate(s->elf);
	if (s->debug)
		s->cost += lt_elf_memory_estimate(s->debug);
	c->stats.bytes += s->cost;
	c->stats.loaded++;
	lru_push_first(c, s);
}

struct lt_elf_file *lt_symbols_load(struct lt_symbol_cache *c, struct lt_symbols *s)
{
	if (!s->elf && s->fd >= 0)
		parse(c, s);
	if (!s->elf)
		return NULL;
	if (c->lru_first != s) {
		lru_unlink(c, s);
		lru_push_first(c, s);
	}
	while (c->stats.bytes > c->cap_bytes && c->lru_last != s) {
		unload(c, c->lru_last);
		c->stats.evictions++;
	}
	return s->elf;
}

struct lt_elf_file *lt_symbols_debug(const struct lt_symbols *s)
{
	return s->debug;
}

const char *lt_symbols_build_id(const struct lt_symbols *s)
{
	return s->build_id;
}
