// SPDX-License-Identifier: MIT
/*
 * stuck_malloc: a program with its own malloc family (a bump allocator over
 * a static arena), traced with "-O stuck_malloc" so the probes sit on these
 * functions, for the test of allocator calls whose return never comes.
 *
 * malloc(STUCK_BYTES) blocks inside malloc, in read() on a pipe nobody
 * writes to. Three such calls are left without returning:
 *   1. the main thread's: SIGALRM comes 100 ms later and its handler
 *      siglongjmp()s out of malloc; the thread lives on;
 *   2. a thread's: SIGUSR2's handler ends that thread alone (SYS_exit)
 *      while it is inside malloc;
 *   3. a thread's: still blocked when main returns (exit_group).
 * None of them returns a block, so none may be counted. What follows must
 * be counted exactly (the numbers are also in tests/e2e/scenarios_faults.py):
 *   - before 1, kept_then_freed takes 5 x 1100 bytes; main frees them after
 *     1, so they are not outstanding at exit;
 *   - after 1, after_jump_same_slot leaks 1 x 1500 (called as the abandoned
 *     call was: its malloc's return address lies in the very stack slot the
 *     abandoned call's did), after_jump_leak 7 x 1300 = 9100;
 *   - after 2, a new thread (given the ended thread's TID through
 *     /proc/sys/kernel/ns_last_pid when that works) leaks 4 x 1700 = 6800
 *     in new_thread_leak.
 * Outstanding at exit: 17400 bytes in 12 blocks, from those three functions
 * only. stdout gets "tid reused" or "tid not reused", then "done".
 *
 * No stdio: besides these only glibc's own start-up and thread bookkeeping
 * call this malloc (through calloc for thread vectors), from ld.so and libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "prog_io.h"

#define NOINLINE __attribute__((noinline))
#define STUCK_BYTES 77777
#define ARENA_BYTES (16u << 20)
#define HEADER_BYTES 16

void *volatile g_sink;
static unsigned char arena[ARENA_BYTES] __attribute__((aligned(16)));
static size_t arena_used;
static int stuck_fd = -1;
static sigjmp_buf jump_back;
static volatile pid_t stuck_tid;
static volatile pid_t new_tid;

static void die(const char *msg)
{
	ssize_t r = write(2, msg, strlen(msg));
	(void)r;
	_exit(3);
}

/* Blocks are never reused: free has nothing to do. The size sits in front. */
static void *bump(size_t n)
{
	size_t need = (n + HEADER_BYTES + 15) & ~(size_t)15;
	size_t at = __atomic_fetch_add(&arena_used, need, __ATOMIC_RELAXED);
	unsigned char *block;

	if (n > ARENA_BYTES || at + need > ARENA_BYTES) {
		errno = ENOMEM;
		return NULL;
	}
	block = arena + at + HEADER_BYTES;
	memcpy(block - sizeof(size_t), &n, sizeof(n));
	return block;
}

void *malloc(size_t n)
{
	char c;

	/* Held here until the caller is taken out some other way. */
	if (n == STUCK_BYTES && stuck_fd >= 0 && read(stuck_fd, &c, 1) != 1)
		return NULL;
	return bump(n);
}

void free(void *p)
{
	(void)p;
}

void *calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(n * size); /* the arena is zero and never reused */
}

void *realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!p)
		return malloc(n);
	if (!n) {
		free(p);
		return NULL;
	}
	q = malloc(n);
	if (q) {
		memcpy(&old, (unsigned char *)p - sizeof(size_t), sizeof(old));
		memcpy(q, p, old < n ? old : n);
	}
	return q;
}

static void jump_out(int sig)
{
	(void)sig;
	siglongjmp(jump_back, 1);
}

static void end_thread(int sig)
{
	(void)sig;
	syscall(SYS_exit, 0);
}

static void *kept[5];

NOINLINE void kept_then_freed(void)
{
	for (int i = 0; i < 5; i++)
		kept[i] = malloc(1100); /* site: kept_then_freed */
}

/* The two take the same frame, so their mallocs run at one stack depth. */
NOINLINE void stuck_call(void)
{
	g_sink = malloc(STUCK_BYTES);
}

NOINLINE void after_jump_same_slot(void)
{
	g_sink = malloc(1500); /* site: after_jump_same_slot */
}

NOINLINE void after_jump_leak(void)
{
	for (int i = 0; i < 7; i++)
		g_sink = malloc(1300); /* site: after_jump_leak */
}

NOINLINE void new_thread_leak(void)
{
	for (int i = 0; i < 4; i++)
		g_sink = malloc(1700); /* site: new_thread_leak */
}

static void *stuck_thread(void *arg)
{
	(void)arg;
	stuck_tid = (pid_t)syscall(SYS_gettid);
	stuck_call();
	return NULL;
}

static void *leaking_thread(void *arg)
{
	(void)arg;
	new_tid = (pid_t)syscall(SYS_gettid);
	new_thread_leak();
	return NULL;
}

/* Is thread tid blocked in read(2)? Its syscall file starts with "0 ". */
static int in_read(pid_t tid)
{
	char path[64], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 2 && buf[0] == '0' && buf[1] == ' ';
}

static pthread_t start_stuck_thread(void)
{
	pthread_t t;

	stuck_tid = 0;
	if (pthread_create(&t, NULL, stuck_thread, NULL))
		die("pthread_create failed\n");
	for (int i = 0; i < 5000 && !(stuck_tid && in_read(stuck_tid)); i++)
		usleep(1000);
	if (!stuck_tid || !in_read(stuck_tid))
		die("the thread did not block in malloc\n");
	return t;
}

/* The next thread gets tid if nothing takes it first (root, init pid
 * namespace). pthread_join returns when the kernel clears the thread's tid
 * word, and /proc forgets the thread, a moment before the tid is free. */
static void offer_tid(pid_t tid)
{
	char num[32];
	int fd;

	snprintf(num, sizeof(num), "/proc/self/task/%d", (int)tid);
	for (int i = 0; i < 1000 && access(num, F_OK) == 0; i++)
		usleep(1000);
	usleep(20000);
	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	snprintf(num, sizeof(num), "%d", (int)tid - 1);
	if (write(fd, num, strlen(num)) < 0)
		(void)0; /* no reuse then; the test says so */
	close(fd);
}

int main(void)
{
	struct sigaction sa = { 0 };
	struct itimerval tick = { .it_value = { .tv_usec = 100000 } };
	int fds[2];
	pthread_t t;
	pid_t ended;

	if (pipe(fds))
		die("pipe failed\n");
	stuck_fd = fds[0];
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = jump_out;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = end_thread;
	sigaction(SIGUSR2, &sa, NULL);

	/* 1: the main thread leaves malloc by siglongjmp. */
	kept_then_freed();
	if (!sigsetjmp(jump_back, 1)) {
		setitimer(ITIMER_REAL, &tick, NULL);
		stuck_call();
		die("malloc returned from a blocked read\n");
	}
	for (int i = 0; i < 5; i++)
		free(kept[i]);
	after_jump_same_slot();
	after_jump_leak();

	/* 2: a thread ends inside malloc; a new one, maybe with its TID, leaks. */
	t = start_stuck_thread();
	ended = stuck_tid;
	pthread_kill(t, SIGUSR2);
	pthread_join(t, NULL);
	offer_tid(ended);
	if (pthread_create(&t, NULL, leaking_thread, NULL))
		die("pthread_create failed\n");
	pthread_join(t, NULL);
	say(new_tid == ended ? "tid reused\n" : "tid not reused\n");

	/* 3: the process exits while a thread is inside malloc. */
	start_stuck_thread();
	say("done\n");
	return 0;
}
