// SPDX-License-Identifier: MIT
/*
 * pid_reuse: two children, one after the other, with one PID, for the test
 * that nothing of the first is shown as the second's (or lost with it).
 *
 * Usage: pid_reuse [--a-execs] PROGRAM [ARGS...]
 *   Reads a line on stdin, then forks child A, which leaks 3 x 2700 = 8100
 *   bytes in first_child_leak, writes "A PID", reads a line on stdin and
 *   exits 0 (with --a-execs, A writes "A PID" and execs PROGRAM ARGS too,
 *   and B is forked 0.5 s after A is reaped). Once A is reaped the parent offers A's PID to the next fork
 *   (/proc/sys/kernel/ns_last_pid: root, initial PID namespace) and forks
 *   child B, which writes "B PID" and execs PROGRAM ARGS (the test runs
 *   "leaky wait", reading the same stdin). The parent allocates nothing,
 *   waits for B and exits with its status (7 when B was not started).
 * The numbers are also in tests/e2e/scenarios_faults.py. No stdio, so A
 * allocates nothing else.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog_io.h"

#define NOINLINE __attribute__((noinline))

void *volatile g_sink;

static void say_pid(const char *who, pid_t pid)
{
	char line[64];

	snprintf(line, sizeof(line), "%s %d\n", who, (int)pid);
	say(line);
}

NOINLINE void first_child_leak(void)
{
	for (int i = 0; i < 3; i++)
		g_sink = malloc(2700); /* site: first_child_leak */
}

static void offer_pid(pid_t pid)
{
	char num[32];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	snprintf(num, sizeof(num), "%d", (int)pid - 1);
	if (write(fd, num, strlen(num)) < 0)
		(void)0; /* B gets another PID; the test sees it and skips */
	close(fd);
}

int main(int argc, char **argv)
{
	bool a_execs = argc > 1 && !strcmp(argv[1], "--a-execs");
	pid_t a, b;
	int status;

	if (a_execs) {
		argv++;
		argc--;
	}
	if (argc < 2) {
		say("usage: pid_reuse [--a-execs] PROGRAM [ARGS...]\n");
		return 2;
	}
	read_line();
	a = fork();
	if (a == 0) {
		if (a_execs) {
			say_pid("A", getpid());
			execv(argv[1], argv + 1);
			_exit(127);
		}
		first_child_leak();
		say_pid("A", getpid());
		read_line();
		_exit(0);
	}
	if (a < 0 || waitpid(a, &status, 0) != a)
		return 7;
	/* A traced with its own probes (--cgroup): a tracer closing them starts
	 * threads, and one started between the offer and the fork would take
	 * the PID. Let it start them first. */
	if (a_execs)
		usleep(500 * 1000);
	offer_pid(a);
	b = fork();
	if (b == 0) {
		say_pid("B", getpid());
		execv(argv[1], argv + 1);
		_exit(127);
	}
	if (b < 0 || waitpid(b, &status, 0) != b)
		return 7;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 7;
}
