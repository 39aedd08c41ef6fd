// SPDX-License-Identifier: MIT
/*
 * tree_leaky: one block from each of 2^DEPTH distinct call stacks, so that a
 * report has thousands of stacks to name, for the test of a target killed
 * while leaktrace is reporting.
 *
 *   Writes "ready", waits for a line on stdin, then walks a binary call tree
 *   of depth 11: tree_step calls itself from one of two call sites per level
 *   (the path's bits choose), and tree_leaf mallocs 40 bytes at each of the
 *   2048 leaves: 2048 stacks of one block, 81920 bytes. Writes "leaked",
 *   then waits for EOF on stdin (or to be killed) and exits 0.
 * The numbers are also in tests/e2e/scenarios_faults.py. No stdio, so
 * nothing else is allocated; the block pointers live in a static array.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prog_io.h"

#define NOINLINE __attribute__((noinline))
#define DEPTH 11
#define LEAVES (1u << DEPTH)

static void *blocks[LEAVES];

NOINLINE void tree_leaf(unsigned path)
{
	blocks[path] = malloc(40); /* site: tree_leaf */
}

NOINLINE void tree_step(unsigned depth, unsigned path)
{
	if (!depth) {
		tree_leaf(path);
		return;
	}
	/* Two call sites: two return addresses, so each path is its own stack. */
	if ((path >> (depth - 1)) & 1)
		tree_step(depth - 1, path);
	else
		tree_step(depth - 1, path);
}

int main(void)
{
	char c;

	say("ready\n");
	if (read(0, &c, 1) != 1)
		return 1;
	while (c != '\n' && read(0, &c, 1) == 1)
		;
	for (unsigned path = 0; path < LEAVES; path++)
		tree_step(DEPTH, path);
	say("leaked\n");
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
