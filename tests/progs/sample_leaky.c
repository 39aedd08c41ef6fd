// SPDX-License-Identifier: MIT
/*
 * sample_leaky: a known workload for --sample-bytes. Usage:
 *   sample_leaky SMALL_COUNT SMALL_SIZE BIG_COUNT BIG_SIZE CHURN
 * leaks SMALL_COUNT blocks of SMALL_SIZE in leak_small(), BIG_COUNT blocks of
 * BIG_SIZE in leak_big(), and frees CHURN blocks of 64 bytes in churn().
 */
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

void *volatile g_sink;

static NOINLINE void leak_small(long n, size_t size)
{
	for (long i = 0; i < n; i++) {
		g_sink = malloc(size);
		memset(g_sink, 1, 1);
	}
}

static NOINLINE void leak_big(long n, size_t size)
{
	for (long i = 0; i < n; i++) {
		g_sink = malloc(size);
		memset(g_sink, 1, 1);
	}
}

static NOINLINE void churn(long n)
{
	for (long i = 0; i < n; i++) {
		g_sink = malloc(64);
		free(g_sink);
	}
}

int main(int argc, char **argv)
{
	if (argc != 6)
		return 2;
	churn(atol(argv[5]) / 2);
	leak_small(atol(argv[1]), (size_t)atol(argv[2]));
	leak_big(atol(argv[3]), (size_t)atol(argv[4]));
	churn(atol(argv[5]) / 2);
	return 0;
}
