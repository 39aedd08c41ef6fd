// SPDX-License-Identifier: MIT
/*
 * forker: a target program for the leaktrace "-c follows children" test.
 *
 *   1. forks child A, which leaks 4 x malloc(2300) = 9200 bytes in
 *      forker_child_leak and exits (status 0) without freeing them;
 *   2. forks child B, which execs "LEAKY run" (all of leaky's leaks);
 *   3. the parent then leaks 3 x malloc(2200) = 6600 bytes in
 *      forker_parent_leak, waits for both children and exits.
 * The parent allocates nothing before the forks, so the children inherit no
 * heap blocks. Expected numbers are kept in tests/e2e/run_e2e.py.
 *
 * Usage: forker [LEAKY [PIDFILE]]
 *   LEAKY defaults to "leaky" next to this executable. When PIDFILE is given
 *   the parent writes one line to it at the end:
 *     "parent=P childA=A childB=B statusA=S statusB=S\n"
 *   (S = raw wait status). Exit status 0 when both children exited 0.
 * No stdio, so no heap allocation besides the leaks.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

void *volatile g_sink;

static void die(const char *msg)
{
	ssize_t r = write(2, msg, strlen(msg));
	(void)r;
	_exit(3);
}

/* 4 x 2300 = 9200, in child A */
NOINLINE void forker_child_leak(void)
{
	for (int i = 0; i < 4; i++) {
		void *p = malloc(2300); /* site: forker_child_leak */
		if (!p)
			die("malloc failed\n");
		g_sink = p;
	}
}

/* 3 x 2200 = 6600, in the parent after the forks */
NOINLINE void forker_parent_leak(void)
{
	for (int i = 0; i < 3; i++) {
		void *p = malloc(2200); /* site: forker_parent_leak */
		if (!p)
			die("malloc failed\n");
		g_sink = p;
	}
}

static char *append(char *dst, const char *end, const char *s)
{
	while (*s && dst < end)
		*dst++ = *s++;
	return dst;
}

static char *append_num(char *dst, const char *end, long v)
{
	char tmp[24];
	int n = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0 && dst < end)
		*dst++ = '-';
	while (n > 0 && dst < end)
		*dst++ = tmp[--n];
	return dst;
}

int main(int argc, char **argv)
{
	char leaky_buf[PATH_MAX];
	const char *leaky = argc > 1 ? argv[1] : NULL;
	const char *pidfile = argc > 2 ? argv[2] : NULL;

	if (argc > 3)
		die("usage: forker [LEAKY [PIDFILE]]\n");
	if (!leaky) {
		ssize_t n = readlink("/proc/self/exe", leaky_buf, sizeof(leaky_buf) - 8);
		if (n <= 0)
			die("readlink /proc/self/exe failed\n");
		leaky_buf[n] = '\0';
		char *slash = strrchr(leaky_buf, '/');
		strcpy(slash ? slash + 1 : leaky_buf, "leaky");
		leaky = leaky_buf;
	}

	pid_t a = fork();
	if (a < 0)
		die("fork failed\n");
	if (a == 0) {
		forker_child_leak();
		_exit(0);
	}

	pid_t b = fork();
	if (b < 0)
		die("fork failed\n");
	if (b == 0) {
		execl(leaky, "leaky", "run", (char *)NULL);
		die("exec of leaky failed\n");
	}

	forker_parent_leak();

	int sa = -1, sb = -1;
	if (waitpid(a, &sa, 0) != a || waitpid(b, &sb, 0) != b)
		die("waitpid failed\n");

	if (pidfile) {
		char line[256], *p = line;
		const char *end = line + sizeof(line) - 1;
		p = append(p, end, "parent=");
		p = append_num(p, end, (long)getpid());
		p = append(p, end, " childA=");
		p = append_num(p, end, (long)a);
		p = append(p, end, " childB=");
		p = append_num(p, end, (long)b);
		p = append(p, end, " statusA=");
		p = append_num(p, end, sa);
		p = append(p, end, " statusB=");
		p = append_num(p, end, sb);
		p = append(p, end, "\n");
		int fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			die("cannot open pidfile\n");
		if (write(fd, line, (size_t)(p - line)) != p - line)
			die("cannot write pidfile\n");
		close(fd);
	}
	return (WIFEXITED(sa) && WEXITSTATUS(sa) == 0 && WIFEXITED(sb) && WEXITSTATUS(sb) == 0) ? 0 : 1;
}
