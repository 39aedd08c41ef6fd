// SPDX-License-Identifier: MIT
/*
 * fork_leaky: a forked child that leaks, for the --cgroup test of a child
 * that never execs (its probes must be attached for it after the fork).
 *
 * The parent forks once and waits for the child. The child writes
 * "child PID\n" on stdout, waits for SIGUSR1, leaks 5 x malloc(3100) =
 * 15500 bytes in fork_child_leak, writes "leaked\n", then exits when its
 * stdin reaches end of file. Nothing else allocates: no stdio.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog_io.h"

#define NOINLINE __attribute__((noinline))

void *volatile g_sink;
static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

NOINLINE void fork_child_leak(void)
{
	for (int i = 0; i < 5; i++) {
		void *p = malloc(3100); /* site: fork_child_leak */
		g_sink = p;
	}
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t block, old;
	char buf[64];
	pid_t child;
	int status;

	/* Blocked before the fork: a SIGUSR1 sent early is not lost. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGUSR1, &sa, NULL);
	child = fork();
	if (child < 0)
		return 3;
	if (child > 0) {
		while (waitpid(child, &status, 0) < 0)
			;
		return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	}
	snprintf(buf, sizeof(buf), "child %d\n", (int)getpid());
	say(buf);
	while (!go)
		sigsuspend(&old);
	fork_child_leak();
	say("leaked\n");
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
