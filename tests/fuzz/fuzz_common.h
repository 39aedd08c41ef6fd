/* SPDX-License-Identifier: MIT */
/* Helpers the libFuzzer harnesses share: turning an input into a file or a
 * string the parser under test takes. */
#ifndef LT_FUZZ_COMMON_H
#define LT_FUZZ_COMMON_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memory file holding exactly the input, offset 0; -1 if it cannot be
 * made (the harness then skips the input). */
static inline int fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("leaktrace-fuzz", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	return fd;
}

/* The input as a NUL-terminated string (cut at its first NUL), malloc'd. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Reads a string the parser handed back, so ASan checks all of it (a plain
 * strlen whose result is unused may be optimized away). */
static volatile size_t fuzz_sink;
static inline void fuzz_touch(const char *s)
{
	if (s)
		fuzz_sink += strlen(s);
}

static inline void fuzz_touch_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += b[i];
	fuzz_sink += sum;
}

/* Parsers that open files named in their input (suppressions, snapshots)
 * must never wait on a terminal: stdin is /dev/null for every harness. */
static inline void fuzz_quiet_stdin(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
}

#endif
