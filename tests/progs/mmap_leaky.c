// SPDX-License-Identifier: MIT
/*
 * mmap_leaky: a target program for the leaktrace --mmap end-to-end test.
 *
 * Expected (P = page size), kept in tests/e2e/run_e2e.py (MMAP_LEAKS):
 *   leak_mmap_small     3 anonymous regions of 3 P each               (mmap)
 *   leak_mmap_large     2 anonymous regions of 16 P each              (mmap)
 *   leak_mmap_partial   1 region of 8 P, its last 3 P unmapped -> 5 P (mmap)
 *   leak_big_malloc     1 malloc(1 MiB): glibc serves it with mmap internally,
 *                       but it is a heap allocation of 1048576 bytes and must
 *                       not show up as an mmap region
 * Not reported:
 *   nocount_mmap_unmapped     4 regions of 5 P, each unmapped
 *   nocount_file_mmap         a private read-only mapping of a file (not anonymous)
 *   nocount_big_malloc_freed  malloc(2 MiB) then free (glibc mmap + munmap inside)
 *
 * Call structure: main -> run_all -> <function> -> mmap/malloc.
 * No stdio, so no other heap allocation. Usage: mmap_leaky [run]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

void *volatile g_sink;
static size_t g_page;

static void die(const char *msg)
{
	ssize_t r = write(2, msg, strlen(msg));
	(void)r;
	_exit(3);
}

NOINLINE void *anon_map(size_t len)
{
	void *p = mmap(NULL, len, RW, ANON, -1, 0);
	if (p == MAP_FAILED)
		die("mmap failed\n");
	return p;
}

NOINLINE void leak_mmap_small(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = mmap(NULL, 3 * g_page, RW, ANON, -1, 0); /* site: leak_mmap_small */
		if (p == MAP_FAILED)
			die("mmap failed\n");
		((char *)p)[0] = 1;
		g_sink = p;
	}
}

NOINLINE void leak_mmap_large(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = mmap(NULL, 16 * g_page, RW, ANON, -1, 0); /* site: leak_mmap_large */
		if (p == MAP_FAILED)
			die("mmap failed\n");
		g_sink = p;
	}
}

NOINLINE void leak_mmap_partial(void)
{
	char *p = mmap(NULL, 8 * g_page, RW, ANON, -1, 0); /* site: leak_mmap_partial */
	if (p == MAP_FAILED)
		die("mmap failed\n");
	if (munmap(p + 5 * g_page, 3 * g_page) != 0)
		die("munmap failed\n");
	g_sink = p;
}

NOINLINE void nocount_mmap_unmapped(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = mmap(NULL, 5 * g_page, RW, ANON, -1, 0);
		if (p == MAP_FAILED)
			die("mmap failed\n");
		g_sink = p;
		if (munmap(p, 5 * g_page) != 0)
			die("munmap failed\n");
	}
	/* also through the helper, to get a different call stack */
	void *q = anon_map(7 * g_page);
	if (munmap(q, 7 * g_page) != 0)
		die("munmap failed\n");
}

NOINLINE void nocount_file_mmap(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open /proc/self/exe failed\n");
	void *p = mmap(NULL, g_page, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("file mmap failed\n");
	close(fd);
	g_sink = p; /* left mapped on purpose: file-backed, not reported */
}

NOINLINE void leak_big_malloc(void)
{
	void *p = malloc(1024 * 1024); /* site: leak_big_malloc */
	if (!p)
		die("malloc failed\n");
	g_sink = p;
}

NOINLINE void nocount_big_malloc_freed(void)
{
	void *p = malloc(2 * 1024 * 1024);
	if (!p)
		die("malloc failed\n");
	g_sink = p;
	free(p);
}

NOINLINE void run_all(void)
{
	/* leak_big_malloc first: freeing an mmapped chunk raises glibc's
	 * dynamic mmap threshold, after which 1 MiB would come from the brk heap. */
	leak_big_malloc();
	leak_mmap_small();
	leak_mmap_large();
	leak_mmap_partial();
	nocount_mmap_unmapped();
	nocount_file_mmap();
	nocount_big_malloc_freed();
}

int main(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "run") != 0)) {
		ssize_t r = write(2, "usage: mmap_leaky [run]\n", 24);
		(void)r;
		return 2;
	}
	g_page = (size_t)sysconf(_SC_PAGESIZE);
	run_all();
	return 0;
}
