// SPDX-License-Identifier: MIT
/*
 * leaky: a target program for the leaktrace end-to-end tests.
 *
 * Every leak lives in its own noinline function with a distinctive name and
 * leaks a known number of blocks of a known size through one allocator entry
 * point. The expected numbers are kept in tests/e2e/run_e2e.py (LEAKY_LEAKS);
 * keep both in sync. Each allocation call that leaks carries a
 * "site: <function>" comment; the harness reads this file to check the
 * reported source line.
 *
 * Call structure: main -> do_everything -> run_leaks -> leak_via_* -> allocator.
 *
 * Besides the leaks the program exercises paths that must NOT be reported:
 * a malloc/free churn at several call depths, realloc chains that end freed,
 * realloc(NULL, n) then freed, realloc(p, 0), failing allocations (NULL or
 * an error code), free(NULL).
 *
 * The program makes no other heap allocation of its own: it uses write(2)
 * instead of stdio, so the whole heap picture of the process is known.
 *
 * Usage:
 *   leaky run [CHURN_PAIRS]   do everything, then exit 0
 *   leaky wait [CHURN_PAIRS]  write "ready\n" to stdout, then wait for a line
 *                             on stdin or for SIGUSR1; do everything; write
 *                             "leaked\n"; then wait again: a line "exit" on
 *                             stdin makes it exit 0 (keeping its leaks),
 *                             EOF on stdin makes it exit 0 too, a signal
 *                             kills it.
 *   Exit status 1 when stdin reaches EOF before the trigger (nothing leaked),
 *   2 on a usage error, 3 when an allocator behaved unexpectedly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* Allocation results go here so nothing is optimised away. */
void *volatile g_sink;

/* Sizes read through volatile objects so the compiler cannot see (and warn
 * about) the absurd values. */
static volatile size_t g_too_big = (size_t)PTRDIFF_MAX + 1; /* > PTRDIFF_MAX: malloc family fails */
static volatile size_t g_overflow_n = SIZE_MAX / 8;           /* n * 16 overflows size_t */
static volatile size_t g_bad_align = 24;                      /* not a power of two */
static char g_dummy[16];

static void put_err(const char *msg)
{
	ssize_t r = write(2, msg, strlen(msg));
	(void)r;
}

static void die(const char *msg)
{
	put_err(msg);
	_exit(3);
}

static void put(const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t r = write(1, s, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += r;
		len -= (size_t)r;
	}
}

/* ------------------------------------------------------------------ */
/* Leaks: one function per allocator, distinct count and size each.   */
/* Counts 1..11 are all different, sizes 1000..2000 step 100, totals   */
/* all different; the biggest total (pvalloc) is not the biggest count */
/* (malloc).                                                           */
/* ------------------------------------------------------------------ */

/* 11 x 1000 = 11000 */
NOINLINE void leak_via_malloc(void)
{
	for (int i = 0; i < 11; i++) {
		void *p = malloc(1000); /* site: leak_via_malloc */
		if (!p)
			die("malloc failed\n");
		g_sink = p;
	}
}

/* 3 x calloc(11, 100) = 3 x 1100 = 3300 */
NOINLINE void leak_via_calloc(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = calloc(11, 100); /* site: leak_via_calloc */
		if (!p)
			die("calloc failed\n");
		g_sink = p;
	}
}

/* 7 x realloc(NULL, 1200) = 8400 */
NOINLINE void leak_via_realloc(void)
{
	for (int i = 0; i < 7; i++) {
		void *p = realloc(NULL, 1200); /* site: leak_via_realloc */
		if (!p)
			die("realloc failed\n");
		g_sink = p;
	}
}

/* 2 x (malloc 40 -> realloc 300 -> realloc 1300) = 2 x 1300 = 2600:
 * each block counts once, at its final size. */
NOINLINE void leak_via_realloc_grow(void)
{
	for (int i = 0; i < 2; i++) {
		void *p = malloc(40);
		if (!p)
			die("malloc failed\n");
		void *q = realloc(p, 300);
		if (!q)
			die("realloc failed\n");
		void *r = realloc(q, 1300); /* site: leak_via_realloc_grow */
		if (!r)
			die("realloc failed\n");
		g_sink = r;
	}
}

/* 5 x reallocarray(NULL, 14, 100) = 5 x 1400 = 7000 */
NOINLINE void leak_via_reallocarray(void)
{
	for (int i = 0; i < 5; i++) {
		void *p = reallocarray(NULL, 14, 100); /* site: leak_via_reallocarray */
		if (!p)
			die("reallocarray failed\n");
		g_sink = p;
	}
}

/* 9 x posix_memalign(64, 1500) = 13500 */
NOINLINE void leak_via_posix_memalign(void)
{
	for (int i = 0; i < 9; i++) {
		void *p = NULL;
		int rc = posix_memalign(&p, 64, 1500); /* site: leak_via_posix_memalign */
		if (rc != 0 || !p)
			die("posix_memalign failed\n");
		g_sink = p;
	}
}

/* 4 x aligned_alloc(64, 1600) = 6400 */
NOINLINE void leak_via_aligned_alloc(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = aligned_alloc(64, 1600); /* site: leak_via_aligned_alloc */
		if (!p)
			die("aligned_alloc failed\n");
		g_sink = p;
	}
}

/* 6 x memalign(32, 1700) = 10200 */
NOINLINE void leak_via_memalign(void)
{
	for (int i = 0; i < 6; i++) {
		void *p = memalign(32, 1700); /* site: leak_via_memalign */
		if (!p)
			die("memalign failed\n");
		g_sink = p;
	}
}

/* 8 x valloc(1800) = 14400 (requested size; glibc uses a page-aligned chunk) */
NOINLINE void leak_via_valloc(void)
{
	for (int i = 0; i < 8; i++) {
		void *p = valloc(1800); /* site: leak_via_valloc */
		if (!p)
			die("valloc failed\n");
		g_sink = p;
	}
}

/* 10 x pvalloc(1900) = 19000 (requested size; glibc rounds the chunk up to a page) */
NOINLINE void leak_via_pvalloc(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = pvalloc(1900); /* site: leak_via_pvalloc */
		if (!p)
			die("pvalloc failed\n");
		g_sink = p;
	}
}

/* 1 x malloc(2000) = 2000: a realloc that fails must not release the old block. */
NOINLINE void leak_via_failed_realloc(void)
{
	void *p = malloc(2000); /* site: leak_via_failed_realloc */
	if (!p)
		die("malloc failed\n");
	g_sink = p; /* stored before the call: gcc cannot know p survives the failed realloc */
	void *q = realloc(p, g_too_big);
	if (q)
		die("huge realloc succeeded\n");
}

NOINLINE void run_leaks(void)
{
	leak_via_malloc();
	leak_via_calloc();
	leak_via_realloc();
	leak_via_realloc_grow();
	leak_via_reallocarray();
	leak_via_posix_memalign();
	leak_via_aligned_alloc();
	leak_via_memalign();
	leak_via_valloc();
	leak_via_pvalloc();
	leak_via_failed_realloc();
}

/* ------------------------------------------------------------------ */
/* Churn: many malloc/free pairs, nothing outstanding afterwards.      */
/* ------------------------------------------------------------------ */

NOINLINE void churn_flat(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = malloc(24 + (size_t)(i % 8) * 8);
		if (!p)
			die("malloc failed\n");
		g_sink = p;
		free(p);
	}
}

NOINLINE void churn_inner(long n)
{
	for (long i = 0; i < n; i++) {
		void *p;
		if (i % 4 == 0)
			p = calloc(1, 64);
		else
			p = malloc(200);
		if (!p)
			die("malloc failed\n");
		g_sink = p;
		free(p);
	}
}

NOINLINE void churn_middle(long n)
{
	churn_inner(n);
}

NOINLINE void churn_outer(long n)
{
	churn_middle(n);
}

NOINLINE void run_churn(long pairs)
{
	churn_flat(pairs / 2);
	churn_outer(pairs - pairs / 2);
}

/* ------------------------------------------------------------------ */
/* Paths that must leave nothing outstanding.                          */
/* ------------------------------------------------------------------ */

/* malloc 16 -> realloc 1450 -> realloc 60000 -> realloc 24 -> free */
NOINLINE void nocount_realloc_chain(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = malloc(16);
		if (!p)
			die("malloc failed\n");
		void *q = realloc(p, 1450);
		if (!q)
			die("realloc failed\n");
		void *r = realloc(q, 60000);
		if (!r)
			die("realloc failed\n");
		void *s = realloc(r, 24);
		if (!s)
			die("realloc failed\n");
		g_sink = s;
		free(s);
	}
}

/* realloc(NULL, n) and reallocarray(NULL, ...) are allocations; freed here. */
NOINLINE void nocount_realloc_null(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = realloc(NULL, 900);
		if (!p)
			die("realloc failed\n");
		g_sink = p;
		free(p);
		void *q = reallocarray(NULL, 9, 100);
		if (!q)
			die("reallocarray failed\n");
		g_sink = q;
		free(q);
	}
}

/* realloc(p, 0) frees p (glibc returns NULL). */
NOINLINE void nocount_realloc_zero(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = malloc(777);
		if (!p)
			die("malloc failed\n");
		g_sink = p;
		void *r = realloc(p, 0);
		if (r) /* not glibc's behaviour; keep the program leak-free anyway */
			free(r);
	}
}

/* Failing calls: NULL results and error codes are not allocations. */
NOINLINE void nocount_failed_allocs(void)
{
	void *p;
	int rc;

	/* invalid alignment: EINVAL, *memptr untouched */
	p = g_dummy;
	rc = posix_memalign(&p, g_bad_align, 512);
	if (rc != EINVAL || p != g_dummy)
		die("posix_memalign(24) did not fail with EINVAL\n");
	/* huge size: ENOMEM, *memptr untouched (still a non-NULL, bogus pointer) */
	p = g_dummy;
	rc = posix_memalign(&p, 64, g_too_big);
	if (rc != ENOMEM || p != g_dummy)
		die("huge posix_memalign did not fail with ENOMEM\n");
	if (calloc(g_overflow_n, 16))
		die("overflowing calloc succeeded\n");
	if (malloc(g_too_big))
		die("huge malloc succeeded\n");
	if (realloc(NULL, g_too_big))
		die("huge realloc succeeded\n");
	if (reallocarray(NULL, g_overflow_n, 16))
		die("overflowing reallocarray succeeded\n");
	if (memalign(64, g_too_big))
		die("huge memalign succeeded\n");
	if (aligned_alloc(64, g_too_big))
		die("huge aligned_alloc succeeded\n");
	if (valloc(g_too_big))
		die("huge valloc succeeded\n");
	if (pvalloc(g_too_big))
		die("huge pvalloc succeeded\n");
}

NOINLINE void nocount_free_null(void)
{
	for (int i = 0; i < 3; i++)
		free(NULL);
}

NOINLINE void run_nocount(void)
{
	nocount_realloc_chain();
	nocount_realloc_null();
	nocount_realloc_zero();
	nocount_failed_allocs();
	nocount_free_null();
}

NOINLINE void do_everything(long churn_pairs)
{
	run_churn(churn_pairs);
	run_nocount();
	run_leaks();
}

/* ------------------------------------------------------------------ */
/* Trigger handling for "wait" mode.                                   */
/* ------------------------------------------------------------------ */

static volatile sig_atomic_t g_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	g_usr1 = 1;
}

/* Wait for a line on stdin (returned in buf, without the newline) or, when
 * allow_signal, for SIGUSR1. Returns 1 on a line, 2 on SIGUSR1, 0 on EOF. */
static int wait_line(char *buf, size_t cap, int allow_signal, const sigset_t *waitmask)
{
	size_t len = 0;

	for (;;) {
		if (allow_signal && g_usr1) {
			g_usr1 = 0;
			return 2;
		}
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		int n = ppoll(&pfd, 1, NULL, waitmask); /* SIGUSR1 only delivered in here */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		char c;
		ssize_t r = read(0, &c, 1);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return 0;
		}
		if (c == '\n') {
			buf[len] = '\0';
			return 1;
		}
		if (len + 1 < cap)
			buf[len++] = c;
	}
}

static int wait_mode(long churn_pairs)
{
	sigset_t block, waitmask;
	struct sigaction sa;
	char line[64];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGUSR1);

	put("ready\n");
	if (wait_line(line, sizeof(line), 1, &waitmask) == 0)
		return 1; /* EOF before the trigger: the harness went away */

	do_everything(churn_pairs);
	put("leaked\n");

	for (;;) {
		int r = wait_line(line, sizeof(line), 0, &waitmask);
		if (r == 0 || strcmp(line, "exit") == 0)
			return 0;
	}
}

int main(int argc, char **argv)
{
	long churn_pairs = 200000;

	if (argc < 2 || argc > 3)
		goto usage;
	if (argc == 3) {
		char *end;
		churn_pairs = strtol(argv[2], &end, 10);
		if (end == argv[2] || *end || churn_pairs < 0)
			goto usage;
	}
	if (strcmp(argv[1], "run") == 0) {
		do_everything(churn_pairs);
		return 0;
	}
	if (strcmp(argv[1], "wait") == 0)
		return wait_mode(churn_pairs);
usage:
	put_err("usage: leaky run|wait [CHURN_PAIRS]\n");
	return 2;
}
