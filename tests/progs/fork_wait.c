// SPDX-License-Identifier: MIT
/*
 * fork_wait: a parent that forks children that leak, for the test of a -p
 * target with children (they are not traced).
 *
 *   Writes "ready", waits for a line on stdin, then forks 20 children that
 *   each leak 2 x 2500 bytes in child_leak and exit at once, and one that
 *   leaks 4 x 2600 bytes in waiting_child_leak, writes "child PID" and
 *   lives until the parent exits. The parent then leaks 3 x 2400 = 7200
 *   bytes in parent_leak, reaps the 20, writes "leaked", waits for another
 *   line (or EOF) and exits 0.
 * The numbers are also in tests/e2e/scenarios_faults.py. No stdio, so
 * nothing else is allocated.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog_io.h"

#define NOINLINE __attribute__((noinline))
#define SHORT_CHILDREN 20

void *volatile g_sink;

NOINLINE void child_leak(void)
{
	for (int i = 0; i < 2; i++)
		g_sink = malloc(2500); /* site: child_leak */
}

NOINLINE void waiting_child_leak(void)
{
	for (int i = 0; i < 4; i++)
		g_sink = malloc(2600); /* site: waiting_child_leak */
}

NOINLINE void parent_leak(void)
{
	for (int i = 0; i < 3; i++)
		g_sink = malloc(2400); /* site: parent_leak */
}

int main(void)
{
	pid_t kids[SHORT_CHILDREN];
	char line[64], c;
	int alive[2];
	pid_t waiting;

	say("ready\n");
	if (read_line() || pipe(alive))
		return 1;
	for (int i = 0; i < SHORT_CHILDREN; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			child_leak();
			_exit(0);
		}
	}
	waiting = fork();
	if (waiting == 0) {
		close(alive[1]);
		waiting_child_leak();
		snprintf(line, sizeof(line), "child %d\n", (int)getpid());
		say(line);
		/* EOF once the parent is gone. */
		while (read(alive[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(alive[0]);
	parent_leak();
	for (int i = 0; i < SHORT_CHILDREN; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	say("leaked\n");
	read_line();
	return 0;
}
