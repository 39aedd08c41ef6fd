// SPDX-License-Identifier: MIT
#include "unwind/unwind_loader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "leaktrace_events.h"
#include "unwind/unwind_table.h"
#include "symbols/untrusted_file.h"

struct request {
	int fd;
	uint32_t kdev;
	uint64_t ino;
	struct request *next;
};

struct file_id {
	uint64_t ino; /* 0: empty slot (no file has inode 0) */
	uint32_t kdev;
};

struct lt_unwind_loader {
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t work;  /* a request was queued, or stop */
	pthread_cond_t idle;  /* the queue ran empty */
	struct request *head, *tail;
	bool busy;            /* the worker holds a request */
	bool stopping;
	struct file_id *seen; /* open addressing, power-of-two size */
	size_t seen_cap, seen_count;
	struct lt_bpf_maps maps;
	uint32_t pages_cap, rows_cap;
	volatile uint32_t *generation;
	struct lt_unwind_stats stats; /* under lock */
	bool warned_full;
};

static size_t id_hash(uint32_t kdev, uint64_t ino)
{
	uint64_t h = (ino ^ ((uint64_t)kdev << 32)) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 17);
}

/* Adds (kdev, ino) to the seen set; 1 if it was new, 0 if known, -ENOMEM. */
static int mark_seen(struct lt_unwind_loader *l, uint32_t kdev, uint64_t ino)
{
	size_t i;

	if ((l->seen_count + 1) * 2 > l->seen_cap) {
		size_t cap = l->seen_cap ? l->seen_cap * 2 : 256;
		struct file_id *seen = calloc(cap, sizeof(*seen));

		if (!seen)
			return -ENOMEM;
		for (size_t j = 0; j < l->seen_cap; j++) {
			if (!l->seen[j].ino)
				continue;
			for (i = id_hash(l->seen[j].kdev, l->seen[j].ino) & (cap - 1); seen[i].ino;
			     i = (i + 1) & (cap - 1))
				;
			seen[i] = l->seen[j];
		}
		free(l->seen);
		l->seen = seen;
		l->seen_cap = cap;
	}
	for (i = id_hash(kdev, ino) & (l->seen_cap - 1); l->seen[i].ino; i = (i + 1) & (l->seen_cap - 1))
		if (l->seen[i].ino == ino && l->seen[i].kdev == kdev)
			return 0;
	l->seen[i].ino = ino;
	l->seen[i].kdev = kdev;
	l->seen_count++;
	return 1;
}

/* Writes t's rows, then its pages (so BPF never sees a page before its rows). */
static int load_table(struct lt_unwind_loader *l, const struct lt_unwind_table *t, uint32_t kdev,
		      uint64_t ino)
{
	struct lt_unwind_page_key *page_keys = NULL;
	struct lt_unwind_page *pages = NULL;
	struct lt_unwind_row *rows = NULL;
	uint32_t *row_keys = NULL;
	uint64_t first_page, last_page, npages = 0, nrows = 0;
	uint32_t base;
	int err;

	if (lt_unwind_table_pages(t, &first_page, &last_page))
		return -ENOENT;
	for (uint64_t p = first_page; p <= last_page; p++) {
		size_t n = lt_unwind_page_rows(t, p, NULL, 0);

		if (n) {
			npages++;
			nrows += n;
		}
	}
	pthread_mutex_lock(&l->lock);
	base = (uint32_t)l->stats.rows_used;
	if (nrows > l->rows_cap - l->stats.rows_used ||
	    npages > l->pages_cap - l->stats.pages_used) {
		pthread_mutex_unlock(&l->lock);
		return -ENOSPC;
	}
	/* Reserved now; a failed write below wastes the space, never reuses it. */
	l->stats.rows_used += nrows;
	l->stats.pages_used += npages;
	pthread_mutex_unlock(&l->lock);

	err = -ENOMEM;
	rows = calloc(nrows ? nrows : 1, sizeof(*rows));
	row_keys = calloc(nrows ? nrows : 1, sizeof(*row_keys));
	pages = calloc(npages ? npages : 1, sizeof(*pages));
	page_keys = calloc(npages ? npages : 1, sizeof(*page_keys));
	if (!rows || !row_keys || !pages || !page_keys)
		goto cleanup;
	nrows = npages = 0;
	for (uint64_t p = first_page; p <= last_page; p++) {
		size_t n = lt_unwind_page_rows(t, p, rows + nrows, SIZE_MAX);

		if (!n)
			continue;
		page_keys[npages].ino = ino;
		page_keys[npages].dev = kdev;
		page_keys[npages].page = (uint32_t)p;
		pages[npages].first_row = base + (uint32_t)nrows;
		pages[npages].nrows = (uint32_t)n;
		npages++;
		nrows += n;
	}
	for (uint64_t i = 0; i < nrows; i++)
		row_keys[i] = base + (uint32_t)i;
	err = lt_map_update_batch(&l->maps, LT_MAP_UNWIND_ROWS, row_keys, sizeof(*row_keys), rows,
				  sizeof(*rows), (uint32_t)nrows);
	if (!err)
		err = lt_map_update_batch(&l->maps, LT_MAP_UNWIND_PAGES, page_keys,
					  sizeof(*page_keys), pages, sizeof(*pages),
					  (uint32_t)npages);
cleanup:
	free(rows);
	free(row_keys);
	free(pages);
	free(page_keys);
	return err;
}

static void handle(struct lt_unwind_loader *l, struct request *r)
{
	struct lt_unwind_table t;
	int err;

	err = lt_unwind_table_build(r->fd, &t);
	if (!err) {
		err = load_table(l, &t, r->kdev, r->ino);
		lt_unwind_table_free(&t);
	}
	if (!err && l->generation)
		__atomic_add_fetch(l->generation, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&l->lock);
	if (!err) {
		l->stats.files_loaded++;
	} else if (err == -ENOENT) {
		l->stats.files_without_cfi++;
	} else {
		l->stats.files_skipped++;
		if (err == -ENOSPC && !l->warned_full) {
			l->warned_full = true;
			fprintf(stderr,
				"leaktrace: unwind tables are full (%u rows, %u pages); stacks "
				"through further files follow frame pointers only (see --unwind-rows)\n",
				l->rows_cap, l->pages_cap);
		}
	}
	pthread_mutex_unlock(&l->lock);
}

static void *worker(void *arg)
{
	struct lt_unwind_loader *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		struct request *r;

		while (!l->head && !l->stopping)
			pthread_cond_wait(&l->work, &l->lock);
		if (l->stopping)
			break;
		r = l->head;
		l->head = r->next;
		if (!l->head)
			l->tail = NULL;
		l->busy = true;
		pthread_mutex_unlock(&l->lock);

		handle(l, r);
		close(r->fd);
		free(r);

		pthread_mutex_lock(&l->lock);
		l->busy = false;
		if (!l->head)
			pthread_cond_broadcast(&l->idle);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int lt_unwind_loader_start(const struct lt_bpf_maps *maps, uint32_t pages_capacity,
			   uint32_t rows_capacity, volatile uint32_t *generation,
			   struct lt_unwind_loader **out)
{
	struct lt_unwind_loader *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->work, NULL);
	pthread_cond_init(&l->idle, NULL);
	l->maps = *maps;
	l->pages_cap = pages_capacity;
	l->rows_cap = rows_capacity;
	l->generation = generation;
	l->stats.rows_capacity = rows_capacity;
	err = -pthread_create(&l->thread, NULL, worker, l);
	if (err) {
		lt_unwind_loader_stop(l);
		return err;
	}
	l->thread_started = true;
	*out = l;
	return 0;
}

void lt_unwind_loader_stop(struct lt_unwind_loader *l)
{
	struct request *r, *next;

	if (!l)
		return;
	if (l->thread_started) {
		pthread_mutex_lock(&l->lock);
		l->stopping = true;
		pthread_cond_broadcast(&l->work);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thread, NULL);
	}
	for (r = l->head; r; r = next) {
		next = r->next;
		close(r->fd);
		free(r);
	}
	free(l->seen);
	pthread_cond_destroy(&l->work);
	pthread_cond_destroy(&l->idle);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int lt_unwind_loader_request(struct lt_unwind_loader *l, int fd, uint32_t kdev, uint64_t ino)
{
	struct request *r;
	int fresh;

	if (!ino)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	fresh = mark_seen(l, kdev, ino);
	pthread_mutex_unlock(&l->lock);
	if (fresh <= 0)
		return fresh;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (r->fd < 0) {
		free(r);
		return -errno;
	}
	r->kdev = kdev;
	r->ino = ino;
	pthread_mutex_lock(&l->lock);
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	pthread_cond_signal(&l->work);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

int lt_unwind_loader_request_path(struct lt_unwind_loader *l, const char *path)
{
	struct stat st;
	int fd, err;

	/* A program a traced process exec'd, or a library it names. */
	fd = lt_open_untrusted(path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		err = -errno;
	} else {
		/* The kernel's dev_t layout, as BPF reads it from the superblock. */
		uint32_t kdev = (major(st.st_dev) << 20) | minor(st.st_dev);

		err = lt_unwind_loader_request(l, fd, kdev, st.st_ino);
	}
	close(fd);
	return err;
}

void lt_unwind_loader_wait(struct lt_unwind_loader *l)
{
	pthread_mutex_lock(&l->lock);
	while (l->head || l->busy)
		pthread_cond_wait(&l->idle, &l->lock);
	pthread_mutex_unlock(&l->lock);
}

void lt_unwind_loader_stats(struct lt_unwind_loader *l, struct lt_unwind_stats *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->stats;
	pthread_mutex_unlock(&l->lock);
}
