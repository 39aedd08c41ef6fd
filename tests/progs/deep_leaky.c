// SPDX-License-Identifier: MIT
/* deep_leaky DEPTH: leaks one 4242-byte block DEPTH calls deep, so its
 * stack is longer than leaktrace keeps (127 frames). */
#include <stdlib.h>
#include <unistd.h>

void *volatile g_sink;

__attribute__((noinline)) void descend(int depth)
{
	if (depth > 0) {
		descend(depth - 1);
		__asm__ volatile("" ::: "memory"); /* no tail call */
		return;
	}
	g_sink = malloc(4242);
}

int main(int argc, char **argv)
{
	descend(argc > 1 ? atoi(argv[1]) : 200);
	/* Live a moment: this target tests truncation, not the (documented)
	 * race with processes that exit within a millisecond of starting. */
	usleep(100000);
	return 0;
}
