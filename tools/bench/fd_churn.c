/* fd_churn: open("/dev/null") and close() pairs for a fixed wall time;
 * prints ns per pair.
 *
 * It starts, prints "ready PID" on stdout and waits for SIGUSR1 (so a
 * tracer can attach with -p PID first), then runs and exits.
 *
 *   fd_churn [-s SECONDS] [-n]
 *     -s  measured wall time in seconds (default 2)
 *     -n  do not wait for SIGUSR1, run at once
 *
 * Output: "ready PID", then
 *   result seconds S pairs N ns_per_pair X
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	double seconds = 2, t0, t;
	unsigned long long pairs = 0;
	int wait = 1, opt;
	sigset_t block, old;

	while ((opt = getopt(argc, argv, "s:n")) != -1) {
		if (opt == 's')
			seconds = atof(optarg);
		else if (opt == 'n')
			wait = 0;
		else
			return 2;
	}
	/* Blocked until sigsuspend: a SIGUSR1 sent right after "ready" waits. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGUSR1, on_usr1);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (wait && !go)
		sigsuspend(&old);
	t0 = now_s();
	do {
		for (int i = 0; i < 1000; i++) {
			int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

			if (fd < 0 || close(fd)) {
				perror("fd_churn");
				return 1;
			}
		}
		pairs += 1000;
		t = now_s();
	} while (t - t0 < seconds);
	printf("result seconds %.3f pairs %llu ns_per_pair %.1f\n", t - t0, pairs,
	       (t - t0) * 1e9 / (double)pairs);
	return 0;
}
