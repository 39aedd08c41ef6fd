// SPDX-License-Identifier: MIT
/*
 * kernel_hold: makes the kernel hold memory on its behalf, for the --kernel
 * end-to-end tests (tests/e2e/scenarios_kernel.py).
 *
 *   kernel_hold KIND N [DIR]
 *
 * waits for a line on stdin, then makes N objects of KIND and keeps their
 * descriptors open:
 *   eventfd  N eventfds (an eventfd_ctx from kmalloc, a file, a dentry)
 *   pipe     N pipes (a pipe_inode_info, its buffer array, two files...)
 *   epoll    N epoll instances
 *   files    N files DIR/f-I created (a dentry and an inode each, kept by
 *            the open descriptor)
 *   pages    N anonymous pages mapped and touched (no huge pages), then
 *            unmapped
 *   grow     N eventfds every 0.5 s until stdin says so (or 40 times),
 *            printing "grew" each time
 * says "ready", waits for a line, closes them all (files: unlinks too),
 * says "released", and exits at the next line or EOF.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "prog_io.h"

static int *fds;
static long nfds;
static char *pages;
static long npages;

static int keep(int fd)
{
	if (fd < 0) {
		fprintf(stderr, "kernel_hold: %s\n", strerror(errno));
		return -1;
	}
	fds[nfds++] = fd;
	return 0;
}

static int make(const char *kind, long n, const char *dir)
{
	char path[4096];

	for (long i = 0; i < n; i++) {
		int p[2];

		if (!strcmp(kind, "eventfd") || !strcmp(kind, "grow")) {
			if (keep(eventfd(0, EFD_CLOEXEC)))
				return -1;
		} else if (!strcmp(kind, "epoll")) {
			if (keep(epoll_create1(EPOLL_CLOEXEC)))
				return -1;
		} else if (!strcmp(kind, "pipe")) {
			if (pipe2(p, O_CLOEXEC) || keep(p[0]) || keep(p[1]))
				return -1;
		} else if (!strcmp(kind, "pages")) {
			if (!pages) {
				pages = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (pages == MAP_FAILED || madvise(pages, (size_t)n * 4096, MADV_NOHUGEPAGE)) {
					perror("kernel_hold: mmap");
					return -1;
				}
				npages = n;
			}
			pages[i * 4096] = 1;
		} else if (!strcmp(kind, "files") && dir) {
			snprintf(path, sizeof(path), "%s/f-%ld", dir, nfds);
			if (keep(open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600)))
				return -1;
		} else {
			fprintf(stderr, "kernel_hold: unknown kind %s\n", kind);
			return -1;
		}
	}
	return 0;
}

/* Has stdin a line (or EOF) waiting, within ms? */
static int stdin_ready(int ms)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };

	return poll(&pfd, 1, ms) > 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 3 ? argv[3] : NULL;
	long n = argc > 2 ? atol(argv[2]) : 0, room;
	struct rlimit rl;
	char path[4096];

	if (argc < 3 || n <= 0) {
		fprintf(stderr, "usage: kernel_hold eventfd|pipe|epoll|files|pages|grow N [DIR]\n");
		return 2;
	}
	/* grow keeps making until told to stop: room for a minute of it. */
	room = !strcmp(argv[1], "grow") ? n * 40 : !strcmp(argv[1], "pipe") ? 2 * n : n;
	/* Up to the hard limit: raising it needs CAP_SYS_RESOURCE. */
	if (getrlimit(RLIMIT_NOFILE, &rl) || (rlim_t)room + 64 > rl.rlim_max) {
		fprintf(stderr, "kernel_hold: %ld descriptors are more than the hard limit\n", room);
		return 1;
	}
	rl.rlim_cur = (rlim_t)room + 64;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		perror("kernel_hold: setrlimit");
		return 1;
	}
	fds = calloc((size_t)room, sizeof(*fds));
	if (!fds)
		return 1;
	if (read_line())
		return 0;
	if (!strcmp(argv[1], "grow")) {
		while (!stdin_ready(500) && nfds + n <= room) {
			if (make(argv[1], n, dir))
				return 1;
			say("grew\n");
		}
		/* The line that stopped it. */
		if (read_line())
			return 0;
	} else if (make(argv[1], n, dir)) {
		return 1;
	}
	say("ready\n");
	if (read_line())
		return 0;
	for (long i = 0; i < nfds; i++) {
		close(fds[i]);
		if (!strcmp(argv[1], "files")) {
			snprintf(path, sizeof(path), "%s/f-%ld", dir, i);
			unlink(path);
		}
	}
	if (pages)
		munmap(pages, (size_t)npages * 4096);
	say("released\n");
	read_line();
	return 0;
}
