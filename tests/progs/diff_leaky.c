// SPDX-License-Identifier: MIT
/*
 * diff_leaky: a target for the snapshot diff end-to-end test.
 *   diff_leaky N   leak_scaled leaks N blocks of 100 bytes and leak_fixed
 *                  5 blocks of 100 bytes, whatever N; then exit 0.
 * Two runs with different N differ only in leak_scaled's stack.
 */
#include <stdlib.h>
#include <string.h>

#define BLOCK 100
#define FIXED_BLOCKS 5

static void *volatile sink;

static __attribute__((noinline)) void leak_scaled(long n)
{
	for (long i = 0; i < n; i++) {
		sink = malloc(BLOCK); /* site: leak_scaled */
		if (sink)
			memset(sink, 1, BLOCK);
	}
}

static __attribute__((noinline)) void leak_fixed(void)
{
	for (int i = 0; i < FIXED_BLOCKS; i++) {
		sink = malloc(BLOCK); /* site: leak_fixed */
		if (sink)
			memset(sink, 2, BLOCK);
	}
}

int main(int argc, char **argv)
{
	char *end;
	long n;

	if (argc != 2)
		return 2;
	n = strtol(argv[1], &end, 10);
	if (*end || n < 0 || n > 1000000)
		return 2;
	leak_scaled(n);
	leak_fixed();
	return 0;
}
