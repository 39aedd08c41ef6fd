// SPDX-License-Identifier: MIT
/*
 * Pointing an allocator table at the aliases in a real process, and back.
 *
 * The process is a forked child whose threads spin, counting, until told
 * to stop; the tables live in memory shared with it, at the same address
 * in both, so the test sees every word the child would read. Checked:
 * - every thread is held while the table is written (no count moves), and
 *   runs again afterwards;
 * - a table found through a hook's ctx (as tracemalloc installs it) is the
 *   one written, the hook itself is left alone;
 * - a hook that does not lead to the default functions is refused and
 *   nothing is written;
 * - write-back restores only what still holds the aliases;
 * - a process another tracer holds is refused with -EPERM, left running;
 * - the reference tracer pointer: at the no-op when unset, else at the
 *   padding before the tracer or past its endbr64; written only if it still
 *   holds what was read, and back only if it still holds what was written.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "python/python_redirect.h"
#include "attach/thread_pause.h"

#define THREADS 3

struct shared {
	volatile uint64_t counts[THREADS + 1];
	volatile int quit;
	uint64_t table[5];  /* ctx, malloc, calloc, realloc, free */
	uint64_t hook[5];   /* a hook's table: ctx -> the table it replaced */
	uint64_t mem[5];
	uint64_t tracer[2]; /* tracer_func, tracer_data */
	/* Code as it sits before and at tracer functions (only read). */
	uint8_t padded[32], endbr[32], bare[32];
};

static struct shared *sh;
static pid_t child;

static const uint64_t fns[4] = { 0x4fb450, 0x506400, 0x510c00, 0x500fe0 };
static const uint64_t aliases[4] = { 0x4fb447, 0x5063fe, 0x510bff, 0x500fde };

static void *spin(void *arg)
{
	volatile uint64_t *count = arg;

	while (!sh->quit)
		(*count)++;
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	memset((void *)sh, 0, sizeof(*sh));
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pthread_t t[THREADS];

		for (int i = 0; i < THREADS; i++)
			pthread_create(&t[i], NULL, spin, (void *)&sh->counts[i + 1]);
		spin((void *)&sh->counts[0]);
		_exit(0);
	}
	/* Until every thread has counted. */
	for (int i = 0; i <= THREADS; i++)
		while (!sh->counts[i])
			usleep(1000);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sh->quit = 1;
	waitpid(child, NULL, 0);
	munmap((void *)sh, sizeof(*sh));
	return 0;
}

static void fill(uint64_t *t, uint64_t ctx, const uint64_t *f)
{
	t[0] = ctx;
	memcpy(t + 1, f, 4 * sizeof(*f));
}

static struct lt_py_redirect plan(void)
{
	struct lt_py_redirect p = { .tables = { (uint64_t)(uintptr_t)sh->table,
						(uint64_t)(uintptr_t)sh->mem } };

	memcpy(p.fn, fns, sizeof(fns));
	memcpy(p.alias, aliases, sizeof(aliases));
	return p;
}

static void test_pause_holds_every_thread(void **state)
{
	uint64_t before[THREADS + 1];
	struct lt_paused paused;
	char err[256] = "";

	(void)state;
	assert_int_equal(lt_pause_threads(child, true, &paused, err, sizeof(err)), 0);
	assert_int_equal(paused.n, THREADS + 1);
	memcpy(before, (void *)sh->counts, sizeof(before));
	usleep(50000);
	assert_memory_equal(before, (void *)sh->counts, sizeof(before));
	lt_resume_threads(&paused);
	assert_int_equal(paused.n, 0);
	usleep(50000);
	for (int i = 0; i <= THREADS; i++)
		assert_true(sh->counts[i] != before[i]);
}

static void test_points_and_restores(void **state)
{
	struct lt_py_redirect p = plan();
	struct lt_py_redirected done;
	char err[256] = "";

	(void)state;
	fill(sh->table, 0, fns);
	fill(sh->mem, 0, fns);
	assert_int_equal(lt_py_redirect_apply(child, true, &p, 0, 0, &done, err, sizeof(err)), 0);
	assert_int_equal(done.n, 2);
	assert_memory_equal(sh->table + 1, aliases, sizeof(aliases));
	assert_memory_equal(sh->mem + 1, aliases, sizeof(aliases));
	/* The process has since replaced one table: that one stays. */
	sh->mem[1] = 0x1234;
	assert_int_equal(lt_py_redirect_restore(child, true, &p, &done, err, sizeof(err)), 0);
	assert_memory_equal(sh->table + 1, fns, sizeof(fns));
	assert_int_equal(sh->mem[1], 0x1234);
	assert_int_equal(done.n, 0);
}

static void test_follows_a_hook(void **state)
{
	struct lt_py_redirect p = plan();
	struct lt_py_redirected done;
	const uint64_t hooks[4] = { 0x7000, 0x7100, 0x7200, 0x7300 };
	char err[256] = "";

	(void)state;
	/* tracemalloc: the table holds its hooks, their ctx the old table. */
	fill(sh->hook, 0, fns);
	fill(sh->table, (uint64_t)(uintptr_t)sh->hook, hooks);
	fill(sh->mem, 0, fns);
	assert_int_equal(lt_py_redirect_apply(child, true, &p, 0, 0, &done, err, sizeof(err)), 0);
	assert_memory_equal(sh->table + 1, hooks, sizeof(hooks));
	assert_memory_equal(sh->hook + 1, aliases, sizeof(aliases));
	assert_memory_equal(sh->mem + 1, aliases, sizeof(aliases));
	assert_int_equal(lt_py_redirect_restore(child, true, &p, &done, err, sizeof(err)), 0);
	assert_memory_equal(sh->hook + 1, fns, sizeof(fns));
	assert_memory_equal(sh->mem + 1, fns, sizeof(fns));
}

static void test_refuses_a_foreign_hook(void **state)
{
	struct lt_py_redirect p = plan();
	struct lt_py_redirected done;
	const uint64_t hooks[4] = { 0x7000, 0x7100, 0x7200, 0x7300 };
	char err[256] = "";

	(void)state;
	fill(sh->table, 0, hooks);
	fill(sh->mem, 0, fns);
	assert_int_equal(lt_py_redirect_apply(child, true, &p, 0, 0, &done, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "replaced by a hook"));
	assert_int_equal(done.n, 0);
	/* All or nothing: the memory domain's table is as it was. */
	assert_memory_equal(sh->mem + 1, fns, sizeof(fns));
	assert_memory_equal(sh->table + 1, hooks, sizeof(hooks));
}

static void test_refuses_a_traced_process(void **state)
{
	struct lt_py_redirect p = plan();
	struct lt_py_redirected done;
	uint64_t before;
	char err[256] = "";
	int go[2], status;
	pid_t tracer;

	(void)state;
	fill(sh->table, 0, fns);
	assert_int_equal(pipe(go), 0);
	tracer = fork();
	assert_true(tracer >= 0);
	if (tracer == 0) {
		ptrace(PTRACE_SEIZE, child, NULL, NULL);
		close(go[0]);
		if (write(go[1], "x", 1) != 1)
			_exit(1);
		/* Killed when done; gone by itself should a check fail first. */
		sleep(30);
		_exit(0);
	}
	close(go[1]);
	assert_int_equal(read(go[0], &(char){ 0 }, 1), 1);
	close(go[0]);
	assert_int_equal(lt_py_redirect_apply(child, true, &p, 0, 0, &done, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "cannot hold thread"));
	assert_memory_equal(sh->table + 1, fns, sizeof(fns));
	/* It runs on: its counter moves (within 2 s, however busy the machine). */
	before = sh->counts[0];
	for (int i = 0; i < 200 && sh->counts[0] == before; i++)
		usleep(10000);
	kill(tracer, SIGKILL);
	waitpid(tracer, &status, 0);
	assert_true(sh->counts[0] != before);
}

static void test_reference_tracer(void **state)
{
	static const uint8_t nopl[] = { 0x0f, 0x1f, 0x40, 0x00 };
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	struct lt_py_redirect p = plan();
	struct lt_py_redirected done;
	uint64_t target, was, fn;
	char err[256] = "";

	(void)state;
	fill(sh->table, 0, fns);
	fill(sh->mem, 0, fns);
	p.tracer_slot = (uint64_t)(uintptr_t)sh->tracer;
	p.tracer_noop = 0x600ff8;

	/* None installed: the no-op; written, and written back. */
	sh->tracer[0] = 0;
	assert_int_equal(lt_py_reftracer_target(child, &p, &target, &was), 0);
	assert_int_equal(target, p.tracer_noop);
	assert_int_equal(was, 0);
	assert_int_equal(lt_py_redirect_apply(child, true, &p, target, was, &done, err, sizeof(err)), 0);
	assert_int_equal(sh->tracer[0], p.tracer_noop);
	assert_int_equal(lt_py_redirect_restore(child, true, &p, &done, err, sizeof(err)), 0);
	assert_int_equal(sh->tracer[0], 0);

	/* A tracer with padding before it: entered through the padding. */
	memset(sh->padded, 0xcc, sizeof(sh->padded));
	memcpy(sh->padded + 12, nopl, sizeof(nopl));
	fn = (uint64_t)(uintptr_t)(sh->padded + 16);
	sh->tracer[0] = fn;
	assert_int_equal(lt_py_reftracer_target(child, &p, &target, &was), 0);
	assert_int_equal(target, fn - 4);
	assert_int_equal(lt_py_redirect_apply(child, true, &p, target, was, &done, err, sizeof(err)), 0);
	assert_int_equal(sh->tracer[0], fn - 4);
	/* The process set its own meanwhile: that one stays. */
	sh->tracer[0] = 0x1234;
	assert_int_equal(lt_py_redirect_restore(child, true, &p, &done, err, sizeof(err)), 0);
	assert_int_equal(sh->tracer[0], 0x1234);

	/* No padding, an endbr64: past it. */
	memset(sh->endbr, 0xcc, sizeof(sh->endbr));
	memcpy(sh->endbr + 16, endbr64, sizeof(endbr64));
	fn = (uint64_t)(uintptr_t)(sh->endbr + 16);
	sh->tracer[0] = fn;
	assert_int_equal(lt_py_reftracer_target(child, &p, &target, &was), 0);
	assert_int_equal(target, fn + 4);
	/* Changed between the read and the write: not written. */
	sh->tracer[0] = 0x5678;
	assert_int_equal(lt_py_redirect_apply(child, true, &p, target, was, &done, err, sizeof(err)), 0);
	assert_int_equal(sh->tracer[0], 0x5678);
	assert_int_equal(done.tracer_now, 0);
	assert_int_equal(lt_py_redirect_restore(child, true, &p, &done, err, sizeof(err)), 0);

	/* Neither: cannot be followed. */
	memset(sh->bare, 0xcc, sizeof(sh->bare));
	sh->tracer[0] = (uint64_t)(uintptr_t)(sh->bare + 16);
	assert_int_equal(lt_py_reftracer_target(child, &p, &target, &was), -ENOENT);
	assert_int_equal(target, 0);
	sh->tracer[0] = 0;
}

static void test_gone(void **state)
{
	struct lt_paused paused;
	char err[256] = "";
	pid_t dead = fork();

	(void)state;
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	assert_int_equal(lt_pause_threads(dead, false, &paused, err, sizeof(err)), -ESRCH);
	assert_int_equal(paused.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_holds_every_thread),
		cmocka_unit_test(test_points_and_restores),
		cmocka_unit_test(test_follows_a_hook),
		cmocka_unit_test(test_refuses_a_foreign_hook),
		cmocka_unit_test(test_refuses_a_traced_process),
		cmocka_unit_test(test_reference_tracer),
		cmocka_unit_test(test_gone),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
