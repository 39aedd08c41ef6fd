// SPDX-License-Identifier: MIT
/*
 * grower: a target for the leak-verdict end-to-end test. After a line on
 * stdin ("go"), every 100 ms:
 *   grow_leak       leaks 4 KiB (40960 B/s: "growing")
 *   cache_refill    adds 8 KiB to a cache; at 64 KiB it frees all of it
 *                   first (a sawtooth with flat peaks: "stable")
 * and once, at the start:
 *   fixed_state     32 KiB of long-lived state ("stable")
 * It runs until stdin reaches EOF (or a line "exit"), then exits 0.
 * Writes "ready\n" when it waits for "go", "going\n" once started.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog_io.h"

#define TICK_MS 100
#define LEAK_BYTES 4096
#define CACHE_BLOCK 8192
#define CACHE_BLOCKS 8
#define FIXED_BYTES 32768

static void *volatile sink;
static void *cache[CACHE_BLOCKS];
static int cached;

static __attribute__((noinline)) void grow_leak(void)
{
	sink = malloc(LEAK_BYTES);
	if (sink)
		memset(sink, 1, LEAK_BYTES);
}

static __attribute__((noinline)) void cache_refill(void)
{
	if (cached == CACHE_BLOCKS) {
		for (int i = 0; i < CACHE_BLOCKS; i++)
			free(cache[i]);
		cached = 0;
	}
	cache[cached] = malloc(CACHE_BLOCK);
	if (cache[cached])
		memset(cache[cached], 2, CACHE_BLOCK);
	cached++;
}

static __attribute__((noinline)) void *fixed_state(void)
{
	void *p = malloc(FIXED_BYTES);

	if (p)
		memset(p, 3, FIXED_BYTES);
	return p;
}

/* 0: keep going; 1: "exit" or EOF. Waits up to ms for input. */
static int stdin_says_stop(int ms)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	char buf[64];
	ssize_t n;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	n = read(0, buf, sizeof(buf));
	return n <= 0 || !strncmp(buf, "exit", 4);
}

int main(void)
{
	struct timespec next;
	char buf[64];
	void *state;

	say("ready\n");
	if (read(0, buf, sizeof(buf)) <= 0)
		return 1;
	state = fixed_state();
	say("going\n");
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		struct timespec now;
		long ms;

		grow_leak();
		cache_refill();
		/* Absolute ticks: the rate stays 10 per second however long a tick takes. */
		next.tv_nsec += TICK_MS * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (next.tv_sec - now.tv_sec) * 1000 + (next.tv_nsec - now.tv_nsec) / 1000000;
		if (stdin_says_stop(ms > 0 ? (int)ms : 0))
			break;
	}
	free(state);
	return 0;
}
