// SPDX-License-Identifier: MIT
/*
 * exec_leaky: leaks, then replaces its image with another program, for the
 * test of a -p target that execs.
 *
 * Usage: exec_leaky [-t] PROGRAM [ARGS...]
 *   Writes "ready", waits for a line on stdin, leaks 3 x 2100 = 6300 bytes
 *   in old_image_leak, writes "leaked", waits for another line, then execs
 *   PROGRAM ARGS: same PID, same stdin (the test runs "leaky wait"). The
 *   old image's blocks go with its address space. With -t a second thread
 *   calls execv (the kernel then makes it the leader). Exit status 127 when
 *   the exec fails, 1 on EOF before it.
 * The numbers are also in tests/e2e/scenarios_faults.py. No stdio, so
 * nothing else is allocated.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prog_io.h"

#define NOINLINE __attribute__((noinline))

void *volatile g_sink;

NOINLINE void old_image_leak(void)
{
	for (int i = 0; i < 3; i++)
		g_sink = malloc(2100); /* site: old_image_leak */
}

static char **next_argv;

static void *exec_next(void *arg)
{
	(void)arg;
	execv(next_argv[0], next_argv);
	_exit(127);
}

int main(int argc, char **argv)
{
	int from_thread = argc > 1 && !strcmp(argv[1], "-t");
	pthread_t t;

	next_argv = argv + 1 + from_thread;
	if (argc < 2 + from_thread) {
		say("usage: exec_leaky [-t] PROGRAM [ARGS...]\n");
		return 2;
	}
	say("ready\n");
	if (read_line())
		return 1;
	old_image_leak();
	say("leaked\n");
	if (read_line())
		return 1;
	if (from_thread) {
		if (pthread_create(&t, NULL, exec_next, NULL))
			return 127;
		pthread_join(t, NULL); /* only a failed exec returns */
	}
	execv(next_argv[0], next_argv);
	return 127;
}
