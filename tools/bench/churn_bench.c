/* churn_bench: free(malloc(64)) pairs through three call frames, on T
 * threads, for a fixed wall time; prints ns per pair per thread and overall.
 *
 * It starts, prints "ready PID" on stdout and waits for SIGUSR1 (so a tracer
 * can attach with -p PID first), then runs and exits.
 *
 *   churn_bench [-t THREADS] [-s SECONDS] [-n]
 *     -t  worker threads (default 1)
 *     -s  measured wall time in seconds (default 2)
 *     -n  do not wait for SIGUSR1, run at once
 *
 * Output (one line each, stdout):
 *   ready PID
 *   thread I pairs N ns_per_pair X
 *   result threads T seconds S pairs N ns_per_pair X throughput_ns_per_pair Y
 * ns_per_pair is the time a thread spends per pair (sum of per-thread wall
 * time / sum of pairs); throughput_ns_per_pair is wall time / all pairs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noipa))
/* An empty asm the compiler must assume reads and changes p: keeps the
 * malloc/free pair from being elided and the calls from becoming tail calls. */
#define OPAQUE(p) __asm__ volatile("" : "+r"(p) : : "memory")

struct worker {
	pthread_t tid;
	unsigned long long pairs;
	double seconds;
};

static atomic_int go_flag;
static atomic_int stop_flag;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

NOINLINE static void churn_alloc(size_t n)
{
	void *p = malloc(n);
	OPAQUE(p);
	free(p);
}

NOINLINE static void churn_middle(size_t n)
{
	churn_alloc(n);
	OPAQUE(n);
}

NOINLINE static void churn_outer(size_t n)
{
	churn_middle(n);
	OPAQUE(n);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned long long pairs = 0;

	/* Warm this thread's arena and tcache before the measurement. */
	churn_outer(64);
	while (!atomic_load_explicit(&go_flag, memory_order_acquire))
		usleep(1000);

	double t0 = now_s();
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		for (int i = 0; i < 16; i++)
			churn_outer(64);
		pairs += 16;
	}
	w->seconds = now_s() - t0;
	w->pairs = pairs;
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: churn_bench [-t THREADS] [-s SECONDS] [-n]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int threads = 1, wait_go = 1, opt;
	double seconds = 2.0;

	while ((opt = getopt(argc, argv, "t:s:n")) != -1) {
		char *end;
		switch (opt) {
		case 't':
			threads = (int)strtol(optarg, &end, 10);
			if (*end || threads < 1 || threads > 256)
				usage();
			break;
		case 's':
			seconds = strtod(optarg, &end);
			if (*end || !(seconds > 0 && seconds < 3600))
				usage();
			break;
		case 'n':
			wait_go = 0;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* SIGUSR1 is blocked in every thread and taken with sigwait. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
		perror("pthread_sigmask");
		return 1;
	}

	struct worker *ws = calloc((size_t)threads, sizeof(*ws));
	if (!ws) {
		perror("calloc");
		return 1;
	}
	for (int i = 0; i < threads; i++) {
		int rc = pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]);
		if (rc != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(rc));
			return 1;
		}
	}

	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (wait_go) {
		int sig;
		while (sigwait(&set, &sig) != 0 || sig != SIGUSR1)
			;
	}

	double t0 = now_s();
	atomic_store_explicit(&go_flag, 1, memory_order_release);
	struct timespec dur = {
		.tv_sec = (time_t)seconds,
		.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9),
	};
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &dur, &dur) == EINTR)
		;
	atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);

	unsigned long long total = 0;
	double busy = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(ws[i].tid, NULL);
		total += ws[i].pairs;
		busy += ws[i].seconds;
	}
	double wall = now_s() - t0;

	for (int i = 0; i < threads; i++)
		printf("thread %d pairs %llu ns_per_pair %.1f\n", i, ws[i].pairs,
		       ws[i].pairs ? ws[i].seconds * 1e9 / (double)ws[i].pairs : 0.0);
	printf("result threads %d seconds %.3f pairs %llu ns_per_pair %.1f throughput_ns_per_pair %.1f\n",
	       threads, wall, total, total ? busy * 1e9 / (double)total : 0.0,
	       total ? wall * 1e9 / (double)total : 0.0);
	free(ws);
	return total ? 0 : 1;
}
