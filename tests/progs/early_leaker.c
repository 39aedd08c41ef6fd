// SPDX-License-Identifier: MIT
/*
 * Leaks from its first instruction on: 1,000 blocks in a constructor, which
 * runs before main and within a millisecond of exec, then 10 in main, and
 * exits. Run with its own libc (ld.so --library-path), everything it leaks
 * must still be counted: the libc is probed before it starts.
 */
#include <stdlib.h>

#define EARLY_BLOCKS 1000
#define EARLY_SIZE 48
#define MAIN_BLOCKS 10
#define MAIN_SIZE 4000

static void *volatile sink;

__attribute__((noinline)) static void leak_before_main(void)
{
	for (int i = 0; i < EARLY_BLOCKS; i++)
		sink = malloc(EARLY_SIZE);
}

__attribute__((constructor)) static void first_thing(void)
{
	leak_before_main();
}

__attribute__((noinline)) static void leak_in_main(void)
{
	for (int i = 0; i < MAIN_BLOCKS; i++)
		sink = malloc(MAIN_SIZE);
}

int main(void)
{
	leak_in_main();
	return 0;
}
