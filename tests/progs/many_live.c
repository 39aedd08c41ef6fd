// SPDX-License-Identifier: MIT
/*
 * many_live: holds as many live blocks, or as many distinct stacks, as it
 * is told, for the --max-allocs/--max-stacks tests and the RSS benchmark.
 *
 * Writes "ready", then reads commands, one per line, on stdin, and
 * answers each with "done":
 *   live N      N more blocks of 16 bytes, all from alloc_block (one stack)
 *   free        frees every block of "live"
 *   stacks N    one 24-byte block from each of N distinct stacks
 *               (recursion depths 1..N of alloc_deep)
 *   freestacks  frees the blocks of "stacks"
 *   exit        exits without freeing
 * No stdio and no allocation besides these: the pointer arrays are mmap'd.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog_io.h"

#define NOINLINE __attribute__((noinline))
#define MAX_BLOCKS (64u << 20)
#define MAX_DEPTH 4096

static void **blocks;
static size_t nblocks;
static void *deep[MAX_DEPTH];
static size_t ndeep;

NOINLINE void *alloc_block(void)
{
	return malloc(16); /* site: alloc_block */
}

/* Each depth is its own stack: the return addresses differ in number. */
NOINLINE void *alloc_deep(unsigned depth)
{
	void *p;

	if (depth > 1) {
		p = alloc_deep(depth - 1);
		__asm__ volatile("" ::: "memory"); /* not a tail call */
		return p;
	}
	return malloc(24); /* site: alloc_deep */
}

static int read_command(char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		char c;
		ssize_t r = read(0, &c, 1);

		if (r <= 0)
			return n ? 0 : -1;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
}

int main(void)
{
	char line[128];

	blocks = mmap(NULL, MAX_BLOCKS * sizeof(void *), PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (blocks == MAP_FAILED)
		return 3;
	say("ready\n");
	while (!read_command(line, sizeof(line))) {
		if (!strncmp(line, "live ", 5)) {
			size_t n = strtoul(line + 5, NULL, 10);

			for (size_t i = 0; i < n && nblocks < MAX_BLOCKS; i++)
				blocks[nblocks++] = alloc_block();
		} else if (!strcmp(line, "free")) {
			while (nblocks)
				free(blocks[--nblocks]);
		} else if (!strncmp(line, "stacks ", 7)) {
			size_t n = strtoul(line + 7, NULL, 10);

			for (size_t d = 1; d <= n && ndeep < MAX_DEPTH; d++)
				deep[ndeep++] = alloc_deep((unsigned)d);
		} else if (!strcmp(line, "freestacks")) {
			while (ndeep)
				free(deep[--ndeep]);
		} else if (!strcmp(line, "exit")) {
			return 0;
		}
		say("done\n");
	}
	return 0;
}
