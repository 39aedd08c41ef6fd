// SPDX-License-Identifier: MIT
#include "holders/heap_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/grow_array.h"

#include "python/python_memory.h"

#define PAGE_BYTES 4096u
#define PAGES_PER_CHUNK (LT_HEAP_CHUNK_BYTES / PAGE_BYTES)
#define MIN_SLOTS 1024u
#define SLAB_CHUNKS 32u

int lt_heap_reader_init(struct lt_heap_reader *r, pid_t pid, size_t max_bytes)
{
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->max_bytes = max_bytes < LT_HEAP_CHUNK_BYTES ? LT_HEAP_CHUNK_BYTES : max_bytes;
	r->slots = calloc(MIN_SLOTS, sizeof(*r->slots));
	if (!r->slots)
		return -ENOMEM;
	r->cap = MIN_SLOTS;
	return 0;
}

void lt_heap_reader_forget(struct lt_heap_reader *r)
{
	for (size_t i = 0; i < r->cap; i++)
		r->slots[i] = (struct lt_heap_chunk){ 0 };
	r->used = 0;
	for (size_t i = 0; i < r->nslabs; i++)
		munmap(r->slabs[i], (size_t)SLAB_CHUNKS * LT_HEAP_CHUNK_BYTES);
	r->nslabs = 0;
	r->slab_used = 0;
}

static uint8_t *chunk_memory(struct lt_heap_reader *r)
{
	uint8_t **slabs, *slab;

	if (r->nslabs && r->slab_used < SLAB_CHUNKS)
		return r->slabs[r->nslabs - 1] + LT_HEAP_CHUNK_BYTES * r->slab_used++;
	slabs = lt_grow(r->slabs, &r->slabs_cap, r->nslabs + 1, sizeof(*slabs));
	if (!slabs)
		return NULL;
	r->slabs = slabs;
	slab = mmap(NULL, (size_t)SLAB_CHUNKS * LT_HEAP_CHUNK_BYTES, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (slab == MAP_FAILED)
		return NULL;
	r->slabs[r->nslabs++] = slab;
	r->slab_used = 1;
	return slab;
}

void lt_heap_reader_free(struct lt_heap_reader *r)
{
	if (r->slots)
		lt_heap_reader_forget(r);
	free(r->slots);
	free(r->slabs);
	r->slots = NULL;
	r->slabs = NULL;
	r->cap = 0;
}

static size_t slot_of(uint64_t chunk, size_t cap)
{
	return (size_t)((chunk >> 16) * 0x9e3779b97f4a7c15ULL >> 17) & (cap - 1);
}

static struct lt_heap_chunk *find(struct lt_heap_reader *r, uint64_t chunk)
{
	for (size_t i = slot_of(chunk, r->cap);; i = (i + 1) & (r->cap - 1)) {
		if (r->slots[i].addr == chunk || !r->slots[i].addr)
			return &r->slots[i];
	}
}

static int grow(struct lt_heap_reader *r)
{
	struct lt_heap_chunk *old = r->slots;
	size_t ocap = r->cap;

	r->slots = calloc(ocap * 2, sizeof(*r->slots));
	if (!r->slots) {
		r->slots = old;
		return -ENOMEM;
	}
	r->cap = ocap * 2;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].addr)
			*find(r, old[i].addr) = old[i];
	free(old);
	return 0;
}

/* A chunk's copy: read whole, or page by page when part of it is unmapped. */
static int copy_chunk(struct lt_heap_reader *r, uint64_t chunk, struct lt_heap_chunk **out)
{
	struct lt_heap_chunk *c;
	int err;

	if ((r->used + 1) * LT_HEAP_CHUNK_BYTES > r->max_bytes) {
		lt_heap_reader_forget(r);
		r->drops++;
	}
	if ((r->used + 1) * 2 > r->cap && (err = grow(r)))
		return err;
	c = find(r, chunk);
	c->data = chunk_memory(r);
	if (!c->data)
		return -ENOMEM;
	c->addr = chunk;
	c->readable = 0;
	r->used++;
	r->chunks_read++;
	err = lt_py_read(r->pid, chunk, c->data, LT_HEAP_CHUNK_BYTES);
	if (!err) {
		c->readable = (uint16_t)((1u << PAGES_PER_CHUNK) - 1);
		r->bytes_copied += LT_HEAP_CHUNK_BYTES;
	} else if (err == -EFAULT) {
		for (unsigned p = 0; p < PAGES_PER_CHUNK; p++) {
			err = lt_py_read(r->pid, chunk + p * PAGE_BYTES, c->data + p * PAGE_BYTES,
					 PAGE_BYTES);
			if (!err) {
				c->readable |= (uint16_t)(1u << p);
				r->bytes_copied += PAGE_BYTES;
			} else if (err != -EFAULT) {
				return err;
			}
		}
	} else {
		return err;
	}
	*out = c;
	return 0;
}

int lt_heap_read(struct lt_heap_reader *r, uint64_t addr, void *buf, size_t len)
{
	uint8_t *dst = buf;

	if (addr < PAGE_BYTES || addr + len < addr)
		return -EFAULT;
	while (len) {
		uint64_t chunk = addr & ~(uint64_t)(LT_HEAP_CHUNK_BYTES - 1);
		size_t off = (size_t)(addr - chunk), n = LT_HEAP_CHUNK_BYTES - off;
		struct lt_heap_chunk *c = find(r, chunk);
		int err;

		if (n > len)
			n = len;
		if (!c->addr && (err = copy_chunk(r, chunk, &c)))
			return err;
		for (size_t p = off / PAGE_BYTES; p <= (off + n - 1) / PAGE_BYTES; p++)
			if (!(c->readable & (1u << p)))
				return -EFAULT;
		memcpy(dst, c->data + off, n);
		dst += n;
		addr += n;
		len -= n;
	}
	return 0;
}

int lt_heap_word(struct lt_heap_reader *r, uint64_t addr, uint64_t *out)
{
	return lt_heap_read(r, addr, out, sizeof(*out));
}
