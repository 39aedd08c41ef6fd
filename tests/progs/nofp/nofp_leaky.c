// SPDX-License-Identifier: MIT
/*
 * nofp_leaky: a leaky program built with Debian's default flags (-O2 -g, no
 * frame pointers), linked with a C++ library built the same way. Stacks
 * through it reach main only when unwound with .eh_frame.
 *
 * Leaks (kept in sync with NOFP_LEAKS in tests/e2e/run_e2e.py):
 *   leak_direct:  7 x malloc(48)
 *   leak_strdup:  5 x strdup of a 23-character string (24 bytes)
 *   libnofp:      3 x new nofp::Record (40 bytes)
 * Call structure: main -> run_leaks -> via_* -> leak_* / nofp_lib_make_record.
 * Each call that leaks has a "site: <function>" comment (the reported line).
 *
 * Usage: nofp_leaky run | wait  (the protocol of leaky: "ready", a line on
 * stdin, "leaked", then EOF or "exit"). No stdio: the heap holds only the
 * leaks, libc's and libstdc++'s own start-up blocks.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nofp_lib.h"

#define NOINLINE __attribute__((noinline))

void *volatile g_sink[32];
static unsigned g_kept;

static NOINLINE void keep(void *p)
{
	g_sink[g_kept++ % 32] = p;
}

static void say(const char *s)
{
	ssize_t r = write(1, s, strlen(s));
	(void)r;
}

static int wait_line(void)
{
	char c;

	while (read(0, &c, 1) == 1)
		if (c == '\n')
			return 0;
	return -1;
}

NOINLINE void *leak_direct(size_t n)
{
	void *p = malloc(n); /* site: leak_direct */
	keep(p);
	return p;
}

NOINLINE char *leak_strdup(const char *s)
{
	char *p = strdup(s); /* site: leak_strdup */
	keep(p);
	return p;
}

/* Each via_* counts what it got back, so its calls are not tail calls. */
NOINLINE int via_direct(int n)
{
	int got = 0;

	for (int i = 0; i < n; i++)
		got += leak_direct(48) != NULL; /* site: via_direct */
	return got;
}

NOINLINE int via_strdup(int n)
{
	int got = 0;

	for (int i = 0; i < n; i++)
		got += leak_strdup("leaked by strdup, no fp") != NULL; /* site: via_strdup */
	return got;
}

NOINLINE int via_cxx(int n)
{
	int got = 0;

	for (int i = 0; i < n; i++)
		got += nofp_lib_make_record(i + 1) != NULL; /* site: via_cxx */
	return got;
}

NOINLINE int run_leaks(void)
{
	int got = via_direct(7); /* site: run_leaks_direct */

	got += via_strdup(5); /* site: run_leaks_strdup */
	got += via_cxx(3);    /* site: run_leaks_cxx */
	return got;
}

int main(int argc, char **argv)
{
	int got;

	if (argc != 2 || (strcmp(argv[1], "run") && strcmp(argv[1], "wait"))) {
		say("usage: nofp_leaky run|wait\n");
		return 2;
	}
	if (!strcmp(argv[1], "wait")) {
		say("ready\n");
		if (wait_line())
			return 1;
	}
	got = run_leaks(); /* site: main */
	if (!strcmp(argv[1], "wait")) {
		say("leaked\n");
		wait_line();
	}
	return got == 15 ? 0 : 3;
}
