/* SPDX-License-Identifier: MIT */
/*
 * Builds unwind tables (unwind_table.c) for files the traced processes
 * map and writes them into the BPF maps the unwinder reads. A worker thread
 * does it, so a big binary (~40 ms for python3.11) never stalls the event
 * stream; callers that need tables before code runs wait for the queue.
 */
#ifndef LT_UNWIND_LOADER_H
#define LT_UNWIND_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "attach/bpf_maps.h"

struct lt_unwind_loader;

struct lt_unwind_stats {
	uint64_t files_loaded;
	uint64_t files_without_cfi; /* no .eh_frame_hdr: frame pointers there */
	uint64_t files_skipped;     /* tables full, or the file unreadable */
	uint64_t rows_used;
	uint64_t rows_capacity;
	uint64_t pages_used;
};

/* pages_fd, rows_fd: the unwind_pages and unwind_rows maps; their sizes.
 * generation: the BPF side's unwind_tables_gen (in its mmapped .bss), bumped
 * after each file is loaded so rules cached as "none" are looked up again. */
int lt_unwind_loader_start(const struct lt_bpf_maps *maps, uint32_t pages_capacity,
			   uint32_t rows_capacity, volatile uint32_t *generation,
			   struct lt_unwind_loader **out);
/* Stops the worker (abandoning queued files) and frees everything. */
void lt_unwind_loader_stop(struct lt_unwind_loader *l);

/* Queue the ELF file open at fd (duplicated; the caller keeps fd), which the
 * kernel knows as (kdev, ino), kdev being major << 20 | minor. Files already
 * queued or loaded are ignored. Returns 0 or -errno. */
int lt_unwind_loader_request(struct lt_unwind_loader *l, int fd, uint32_t kdev, uint64_t ino);
/* Queue a file by path (for binaries about to be run). */
int lt_unwind_loader_request_path(struct lt_unwind_loader *l, const char *path);
/* Block until every queued file is loaded or given up. */
void lt_unwind_loader_wait(struct lt_unwind_loader *l);
void lt_unwind_loader_stats(struct lt_unwind_loader *l, struct lt_unwind_stats *out);

#endif
