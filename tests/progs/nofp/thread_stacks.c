// SPDX-License-Identifier: MIT
/*
 * Stacks at the edges, built without frame pointers (Debian's flags), so
 * only .eh_frame rules can unwind them: 100 threads started at once, each
 * leaking one block (the mmap lock is busy the whole time, with the threads'
 * stacks being mapped), and a coroutine run by swapcontext leaking one
 * block (its function returns to __start_context, which makecontext pushed:
 * nothing beyond it is a caller).
 */
#include <pthread.h>
#include <stdlib.h>
#include <ucontext.h>

#define THREADS 100

static void *volatile sink;
static ucontext_t main_context, co_context;
static char co_stack[64 * 1024];

__attribute__((noinline)) static void leak_in_thread(void)
{
	sink = malloc(100);
}

__attribute__((noinline)) static void *thread_main(void *arg)
{
	(void)arg;
	leak_in_thread();
	return NULL;
}

__attribute__((noinline)) static void leak_in_coroutine(void)
{
	sink = malloc(200);
}

__attribute__((noinline)) static void coroutine(void)
{
	leak_in_coroutine();
	/* Not a tail call: coroutine stays on the stack. */
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, thread_main, NULL))
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	if (getcontext(&co_context))
		return 1;
	co_context.uc_stack.ss_sp = co_stack;
	co_context.uc_stack.ss_size = sizeof(co_stack);
	co_context.uc_link = &main_context;
	makecontext(&co_context, coroutine, 0);
	return swapcontext(&main_context, &co_context) ? 1 : 0;
}
