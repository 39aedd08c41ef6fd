// SPDX-License-Identifier: MIT
/*
 * inline_leaky: a leak through two inlined functions, built with -O2 (see
 * the Makefile), so the report must show make_buffer and make_record as
 * inlined frames above store_records.
 */
#include <stdlib.h>
#include <unistd.h>

void *volatile g_sink[16];

static inline __attribute__((always_inline)) void *make_buffer(size_t n)
{
	return malloc(n); /* line 14: the allocation */
}

static inline __attribute__((always_inline)) void *make_record(void)
{
	return make_buffer(777); /* line 19: make_buffer inlined here */
}

__attribute__((noinline)) void store_records(int n)
{
	for (int i = 0; i < n; i++)
		g_sink[i] = make_record(); /* line 25: make_record inlined here */
}

int main(void)
{
	store_records(9);
	usleep(100000);
	return 0;
}
