/* SPDX-License-Identifier: MIT */
/*
 * Another process's memory, read for a walk of its heap: the walk reads
 * millions of small objects, which one process_vm_readv each would make a
 * second per million, so memory is copied in 64 KiB chunks and reads are
 * served from the copies. The copies are the heap as it was when each
 * chunk was read: the caller forgets them once the process has run on.
 */
#ifndef LT_HEAP_READER_H
#define LT_HEAP_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LT_HEAP_CHUNK_BYTES (64u * 1024)

struct lt_heap_chunk {
	uint64_t addr;     /* chunk-aligned; 0: empty slot */
	uint8_t *data;
	uint16_t readable; /* one bit per 4 KiB page */
};

struct lt_heap_reader {
	pid_t pid;
	size_t max_bytes;  /* copies kept at most; past it they are all dropped */
	struct lt_heap_chunk *slots; /* open addressing by chunk address */
	size_t cap, used;
	uint64_t chunks_read;  /* copies made, for the report of the walk's cost */
	uint64_t bytes_copied;
	uint64_t drops;        /* times the copies outgrew max_bytes and were dropped */
	/* Copies live in slabs mapped populated: faulting in a fresh page per
	 * 4 KiB copied costs more than the copy. */
	uint8_t **slabs;
	size_t nslabs, slabs_cap;
	size_t slab_used;      /* chunks given out of the last slab */
};

int lt_heap_reader_init(struct lt_heap_reader *r, pid_t pid, size_t max_bytes);
void lt_heap_reader_free(struct lt_heap_reader *r);
/* Drops every copy: the next reads see the process as it is then. */
void lt_heap_reader_forget(struct lt_heap_reader *r);
/* Exactly len bytes at addr. Returns 0, -EFAULT (some byte unreadable) or
 * -errno of the process (-ESRCH: it is gone), -ENOMEM. */
int lt_heap_read(struct lt_heap_reader *r, uint64_t addr, void *buf, size_t len);
/* The 8-byte word at addr (any alignment). */
int lt_heap_word(struct lt_heap_reader *r, uint64_t addr, uint64_t *out);

#endif
