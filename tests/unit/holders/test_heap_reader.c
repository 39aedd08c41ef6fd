// SPDX-License-Identifier: MIT
/*
 * The chunked reader of another process's memory, with the process's
 * memory served from local buffers (lt_py_read_images): reads across two
 * chunks, chunks of which only some pages are readable, copies dropped at
 * the bound on their bytes, many chunks (the table and slabs grown), and
 * forgetting (reads then see the memory as it is now).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "holders/heap_reader.h"
#include "python/python_memory.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CHUNK LT_HEAP_CHUNK_BYTES
#define PAGE 4096u
#define BASE 0x10000000ull

/* A byte of the fake memory at addr: differs between neighbours and pages. */
static uint8_t byte_at(uint64_t addr)
{
	return (uint8_t)(addr * 7 + (addr >> 12) * 13 + (addr >> 16));
}

static uint8_t *memory(uint64_t addr, size_t len)
{
	uint8_t *m = malloc(len);

	assert_non_null(m);
	for (size_t i = 0; i < len; i++)
		m[i] = byte_at(addr + i);
	return m;
}

static void assert_bytes(const uint8_t *buf, uint64_t addr, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != byte_at(addr + i)) {
			print_error("byte %zu of 0x%llx: %u, want %u\n", i, (unsigned long long)addr,
				    buf[i], byte_at(addr + i));
			fail();
		}
}

static int teardown(void **state)
{
	(void)state;
	lt_py_read_images(NULL, 0);
	return 0;
}

/* Reads inside a chunk, across two and across three, at any alignment. */
static void test_read_across_chunks(void **state)
{
	size_t len = 3 * CHUNK;
	uint8_t *m = memory(BASE, len), buf[2 * CHUNK + 64];
	struct lt_py_image img = { BASE, m, len };
	struct lt_heap_reader r;
	uint64_t w;

	(void)state;
	lt_py_read_images(&img, 1);
	assert_int_equal(lt_heap_reader_init(&r, 1, 1 << 20), 0);
	assert_int_equal(lt_heap_read(&r, BASE + 100, buf, 32), 0);
	assert_bytes(buf, BASE + 100, 32);
	assert_int_equal(r.chunks_read, 1);
	/* A word straddling the first boundary. */
	assert_int_equal(lt_heap_word(&r, BASE + CHUNK - 3, &w), 0);
	assert_bytes((const uint8_t *)&w, BASE + CHUNK - 3, 8);
	assert_int_equal(r.chunks_read, 2);
	assert_int_equal(r.bytes_copied, 2 * CHUNK);
	/* Served from the copies. */
	assert_int_equal(lt_heap_read(&r, BASE + CHUNK - 16, buf, 32), 0);
	assert_bytes(buf, BASE + CHUNK - 16, 32);
	assert_int_equal(r.chunks_read, 2);
	/* Three chunks in one read. */
	assert_int_equal(lt_heap_read(&r, BASE + CHUNK - 32, buf, CHUNK + 64), 0);
	assert_bytes(buf, BASE + CHUNK - 32, CHUNK + 64);
	assert_int_equal(lt_heap_read(&r, BASE + 8, buf, 2 * CHUNK + 64), 0);
	assert_bytes(buf, BASE + 8, 2 * CHUNK + 64);
	assert_int_equal(r.chunks_read, 3);
	assert_int_equal(r.used, 3);
	/* The last byte there is; past it, nothing (nor any byte of the read). */
	assert_int_equal(lt_heap_read(&r, BASE + len - 1, buf, 1), 0);
	assert_bytes(buf, BASE + len - 1, 1);
	assert_int_equal(lt_heap_read(&r, BASE + len - 4, buf, 8), -EFAULT);
	assert_int_equal(lt_heap_read(&r, BASE + len, buf, 1), -EFAULT);
	assert_int_equal(lt_heap_read(&r, BASE - 1, buf, 2), -EFAULT);
	/* The NULL page and wrapping ranges. */
	assert_int_equal(lt_heap_read(&r, 0, buf, 8), -EFAULT);
	assert_int_equal(lt_heap_read(&r, 4095, buf, 1), -EFAULT);
	assert_int_equal(lt_heap_read(&r, UINT64_MAX - 3, buf, 8), -EFAULT);
	/* Nothing read is nothing asked. */
	assert_int_equal(lt_heap_read(&r, BASE, buf, 0), 0);
	lt_heap_reader_free(&r);
	free(m);
}

/*
 * A chunk of which pages 0-1, 5 and 15 are mapped: reads within them are
 * served, reads touching any other page fail; only the pages read count
 * as copied. The next chunk is not mapped at all.
 */
static void test_partly_readable_chunk(void **state)
{
	const uint64_t chunk = BASE + 4 * CHUNK;
	uint8_t *p01 = memory(chunk, 2 * PAGE), *p5 = memory(chunk + 5 * PAGE, PAGE);
	uint8_t *p15 = memory(chunk + 15 * PAGE, PAGE);
	struct lt_py_image imgs[] = {
		{ chunk + 5 * PAGE, p5, PAGE },
		{ chunk, p01, 2 * PAGE },
		{ chunk + 15 * PAGE, p15, PAGE },
	};
	struct lt_heap_reader r;
	uint8_t buf[3 * PAGE];
	uint64_t w;

	(void)state;
	lt_py_read_images(imgs, N(imgs));
	assert_int_equal(lt_heap_reader_init(&r, 1, 1 << 20), 0);
	assert_int_equal(lt_heap_read(&r, chunk + 8, buf, 16), 0);
	assert_bytes(buf, chunk + 8, 16);
	assert_int_equal(r.chunks_read, 1);
	assert_int_equal(r.bytes_copied, 4 * PAGE);
	/* Across the boundary of two mapped pages. */
	assert_int_equal(lt_heap_word(&r, chunk + PAGE - 4, &w), 0);
	assert_bytes((const uint8_t *)&w, chunk + PAGE - 4, 8);
	assert_int_equal(lt_heap_read(&r, chunk, buf, 2 * PAGE), 0);
	assert_bytes(buf, chunk, 2 * PAGE);
	/* Into page 2, not mapped. */
	assert_int_equal(lt_heap_word(&r, chunk + 2 * PAGE - 4, &w), -EFAULT);
	assert_int_equal(lt_heap_read(&r, chunk, buf, 2 * PAGE + 1), -EFAULT);
	assert_int_equal(lt_heap_read(&r, chunk + 3 * PAGE + 100, buf, 8), -EFAULT);
	/* Page 5 alone, whole, and its neighbours. */
	assert_int_equal(lt_heap_read(&r, chunk + 5 * PAGE, buf, PAGE), 0);
	assert_bytes(buf, chunk + 5 * PAGE, PAGE);
	assert_int_equal(lt_heap_read(&r, chunk + 5 * PAGE - 1, buf, 2), -EFAULT);
	assert_int_equal(lt_heap_read(&r, chunk + 6 * PAGE - 1, buf, 2), -EFAULT);
	/* The last page, and past it the next chunk, which nothing maps. */
	assert_int_equal(lt_heap_word(&r, chunk + CHUNK - 8, &w), 0);
	assert_bytes((const uint8_t *)&w, chunk + CHUNK - 8, 8);
	assert_int_equal(lt_heap_read(&r, chunk + CHUNK - 8, buf, 16), -EFAULT);
	assert_int_equal(r.chunks_read, 2);
	assert_int_equal(lt_heap_word(&r, chunk + CHUNK, &w), -EFAULT);
	/* Still one copy each: failures are remembered, not read again. */
	assert_int_equal(r.chunks_read, 2);
	assert_int_equal(r.bytes_copied, 4 * PAGE);
	lt_heap_reader_free(&r);
	free(p01);
	free(p5);
	free(p15);
}

/*
 * Copies kept at most max_bytes: a read that needs one more drops them
 * all (drops counted), and what was dropped is read again when asked.
 */
static void test_bound_drops(void **state)
{
	size_t len = 4 * CHUNK;
	uint8_t *m = memory(BASE, len), buf[64];
	struct lt_py_image img = { BASE, m, len };
	struct lt_heap_reader r;

	(void)state;
	lt_py_read_images(&img, 1);
	assert_int_equal(lt_heap_reader_init(&r, 1, 2 * CHUNK), 0);
	assert_int_equal(lt_heap_read(&r, BASE, buf, 8), 0);
	assert_int_equal(lt_heap_read(&r, BASE + CHUNK, buf, 8), 0);
	assert_int_equal(r.drops, 0);
	assert_int_equal(r.used, 2);
	assert_int_equal(lt_heap_read(&r, BASE + 2 * CHUNK + 40, buf, 8), 0);
	assert_bytes(buf, BASE + 2 * CHUNK + 40, 8);
	assert_int_equal(r.drops, 1);
	assert_int_equal(r.used, 1);
	assert_int_equal(r.chunks_read, 3);
	/* Chunk 0 was dropped: read again, and right. */
	assert_int_equal(lt_heap_read(&r, BASE + 16, buf, 8), 0);
	assert_bytes(buf, BASE + 16, 8);
	assert_int_equal(r.chunks_read, 4);
	assert_int_equal(r.drops, 1);
	assert_int_equal(r.used, 2);
	/* A read across chunks 0 (copied) and 1 (not) when one more copy
	 * does not fit: chunk 1's copy drops chunk 0's mid-read, and the
	 * bytes are right. */
	assert_int_equal(lt_heap_read(&r, BASE + CHUNK - 16, buf, 32), 0);
	assert_bytes(buf, BASE + CHUNK - 16, 32);
	assert_int_equal(r.drops, 2);
	assert_int_equal(r.used, 1);
	assert_int_equal(r.chunks_read, 5);
	assert_int_equal(r.bytes_copied, r.chunks_read * CHUNK);
	lt_heap_reader_free(&r);

	/* A bound under one chunk is one chunk: every new chunk drops. */
	assert_int_equal(lt_heap_reader_init(&r, 1, 100), 0);
	assert_int_equal(r.max_bytes, CHUNK);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(lt_heap_read(&r, BASE + i * CHUNK + 8, buf, 8), 0);
		assert_bytes(buf, BASE + i * CHUNK + 8, 8);
		assert_int_equal(r.drops, i);
		assert_int_equal(r.used, 1);
	}
	lt_heap_reader_free(&r);
	free(m);
}

/* Copies are of the memory when read; forget makes reads see it anew. */
static void test_forget(void **state)
{
	size_t len = 2 * CHUNK;
	uint8_t *m = memory(BASE, len);
	struct lt_py_image img = { BASE, m, len }, other = { BASE + 16 * CHUNK, m, PAGE };
	struct lt_heap_reader r;
	uint64_t w, v = 0x1122334455667788ull;

	(void)state;
	lt_py_read_images(&img, 1);
	assert_int_equal(lt_heap_reader_init(&r, 1, 1 << 20), 0);
	assert_int_equal(lt_heap_word(&r, BASE + 64, &w), 0);
	assert_bytes((const uint8_t *)&w, BASE + 64, 8);
	memcpy(m + 64, &v, 8);
	/* Still the copy. */
	assert_int_equal(lt_heap_word(&r, BASE + 64, &w), 0);
	assert_bytes((const uint8_t *)&w, BASE + 64, 8);
	lt_heap_reader_forget(&r);
	assert_int_equal(r.used, 0);
	assert_int_equal(r.nslabs, 0);
	assert_int_equal(lt_heap_word(&r, BASE + 64, &w), 0);
	assert_int_equal(w, v);
	assert_int_equal(r.chunks_read, 2);
	/* Forgetting is not dropping. */
	assert_int_equal(r.drops, 0);
	/* A chunk unreadable before (only some other memory served: no
	 * images at all would read a real process) and readable now. */
	lt_py_read_images(&other, 1);
	lt_heap_reader_forget(&r);
	assert_int_equal(lt_heap_word(&r, BASE + CHUNK, &w), -EFAULT);
	lt_py_read_images(&img, 1);
	assert_int_equal(lt_heap_word(&r, BASE + CHUNK, &w), -EFAULT);
	lt_heap_reader_forget(&r);
	assert_int_equal(lt_heap_word(&r, BASE + CHUNK, &w), 0);
	assert_bytes((const uint8_t *)&w, BASE + CHUNK, 8);
	lt_heap_reader_free(&r);
	/* Free twice, forget after free: nothing happens. */
	lt_heap_reader_free(&r);
	free(m);
}

/*
 * 1500 chunks (an image mapped but never written, all zero but a marker
 * at each chunk's start): the table of copies grows past its 1024 slots
 * and the copies past one slab of 32, and every copy stays right.
 */
static void test_many_chunks(void **state)
{
	const size_t nchunks = 1500, len = nchunks * CHUNK;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct lt_py_image img;
	struct lt_heap_reader r;
	uint64_t w;

	(void)state;
	assert_true(m != MAP_FAILED);
	for (size_t i = 0; i < nchunks; i++) {
		uint64_t v = i * 1000 + 7;

		memcpy(m + i * CHUNK, &v, 8);
		memcpy(m + i * CHUNK + CHUNK - 8, &v, 8);
	}
	img = (struct lt_py_image){ BASE, m, len };
	lt_py_read_images(&img, 1);
	assert_int_equal(lt_heap_reader_init(&r, 1, len), 0);
	for (size_t i = 0; i < nchunks; i++) {
		assert_int_equal(lt_heap_word(&r, BASE + i * CHUNK, &w), 0);
		assert_int_equal(w, i * 1000 + 7);
	}
	assert_true(r.cap >= 2 * nchunks);
	assert_true(r.nslabs >= nchunks / 32);
	assert_int_equal(r.used, nchunks);
	/* Backwards, from the copies: nothing read again. */
	for (size_t i = nchunks; i-- > 0;) {
		assert_int_equal(lt_heap_word(&r, BASE + i * CHUNK + CHUNK - 8, &w), 0);
		assert_int_equal(w, i * 1000 + 7);
	}
	assert_int_equal(r.chunks_read, nchunks);
	assert_int_equal(r.drops, 0);
	lt_heap_reader_free(&r);
	munmap(m, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_read_across_chunks, teardown),
		cmocka_unit_test_teardown(test_partly_readable_chunk, teardown),
		cmocka_unit_test_teardown(test_bound_drops, teardown),
		cmocka_unit_test_teardown(test_forget, teardown),
		cmocka_unit_test_teardown(test_many_chunks, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
