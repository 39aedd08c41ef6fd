// SPDX-License-Identifier: MIT
/*
 * soak_target: churn from several threads plus one slow, exact leak, for
 * `make soak`.
 *
 *   soak_target THREADS LEAK_MS
 * THREADS threads allocate and free blocks of varied sizes (16 B .. 64 KiB)
 * from 32 distinct stacks, keeping up to 256 blocks each alive at a time,
 * forever. One more thread leaks one 4096-byte block from slow_leak every
 * LEAK_MS milliseconds, from the line "start" on stdin (the churn runs
 * from the beginning). Writes "ready" once started. On "stop" the leak
 * thread stops and "leaked N" gives the exact number of blocks it leaked;
 * on end of file the process exits.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog_io.h"

#define NOINLINE __attribute__((noinline))
#define KEEP 256

static atomic_bool leak_start, leak_stop;
static atomic_long leaked;
static long leak_ms;
void *volatile g_sink;

/* depth 1..32 gives 32 call stacks. */
NOINLINE void *churn_alloc(unsigned depth, size_t size)
{
	void *p;

	if (depth > 1) {
		p = churn_alloc(depth - 1, size);
		__asm__ volatile("" ::: "memory");
		return p;
	}
	return malloc(size);
}

static void *churn(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
	void *keep[KEEP] = { 0 };

	for (;;) {
		unsigned i = rand_r(&seed) % KEEP;
		size_t size = (size_t)16 << (rand_r(&seed) % 13);

		free(keep[i]);
		keep[i] = churn_alloc(1 + rand_r(&seed) % 32, size);
		if (keep[i])
			memset(keep[i], 0, 16);
	}
	return NULL;
}

NOINLINE void slow_leak(void)
{
	g_sink = malloc(4096); /* site: slow_leak */
}

static void *leak(void *arg)
{
	struct timespec ts = { leak_ms / 1000, (leak_ms % 1000) * 1000000L };

	(void)arg;
	while (!atomic_load(&leak_start) && !atomic_load(&leak_stop))
		nanosleep(&ts, NULL);
	while (!atomic_load(&leak_stop)) {
		slow_leak();
		atomic_fetch_add(&leaked, 1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long nthreads = argc > 1 ? atol(argv[1]) : 2;
	pthread_t t, lt;
	char buf[64];

	leak_ms = argc > 2 ? atol(argv[2]) : 100;
	if (nthreads < 0 || nthreads > 64 || leak_ms <= 0)
		return 2;
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&t, NULL, churn, (void *)(uintptr_t)(i + 1)))
			return 3;
	if (pthread_create(&lt, NULL, leak, NULL))
		return 3;
	say("ready\n");
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf) - 1);

		if (n <= 0)
			break;
		buf[n] = '\0';
		if (!strncmp(buf, "start", 5))
			atomic_store(&leak_start, true);
		if (!strncmp(buf, "stop", 4)) {
			atomic_store(&leak_stop, true);
			pthread_join(lt, NULL);
			snprintf(buf, sizeof(buf), "leaked %ld\n", atomic_load(&leaked));
			say(buf);
		}
	}
	_exit(0);
}
