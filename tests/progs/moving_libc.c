// SPDX-License-Identifier: MIT
/*
 * Maps a file named like a libc (FILE) executable, deletes it, then keeps
 * moving the mapping to a new address every millisecond (the new one is made
 * before the old one goes). Each /proc/PID/map_files name of the file lasts
 * a millisecond and does not come back for seconds, and the file has no path
 * left, as when ld.so replaces its first whole-file mapping of a library
 * segment by segment while a program starts: leaktrace must attach the file
 * although the name it found is gone a moment later.
 *
 * Protocol: "ready" once started; on "go", maps and deletes the file, says
 * "mapped" and keeps moving it until "exit" (or EOF).
 * Usage: moving_libc [-k] FILE (-k: keep the file, for a later process).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prog_io.h"

/* Distinct addresses before one comes back: 4096 ms of names. */
#define PLACES 4096

static atomic_bool stop;
static int fd;
static size_t len, stride;
static char *area, *mapped;

static void *move(void *arg)
{
	struct timespec ms = { 0, 1000 * 1000 };

	(void)arg;
	for (unsigned k = 1; !atomic_load(&stop); k++) {
		char *want = area + (size_t)(k % PLACES) * stride;
		char *now = mmap(want, len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED_NOREPLACE,
				 fd, 0);

		if (now == MAP_FAILED)
			return NULL;
		munmap(mapped, len);
		mapped = now;
		nanosleep(&ms, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	bool keep = argc == 3 && !strcmp(argv[1], "-k");
	const char *file = argv[argc - 1];
	pthread_t mover;
	struct stat st;

	if (argc != 2 && !keep) {
		say("usage: moving_libc [-k] FILE\n");
		return 2;
	}
	say("ready\n");
	if (read_line())
		return 0;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || (!keep && unlink(file)))
		return 1;
	len = ((size_t)st.st_size + page - 1) & ~(page - 1);
	stride = len + page;
	/* Room for every place, given back at once: only the addresses count. */
	area = mmap(NULL, stride * PLACES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || munmap(area, stride * PLACES))
		return 1;
	mapped = mmap(area, len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
	if (mapped == MAP_FAILED || pthread_create(&mover, NULL, move, NULL))
		return 1;
	say("mapped\n");
	read_line();
	atomic_store(&stop, true);
	pthread_join(mover, NULL);
	return 0;
}
