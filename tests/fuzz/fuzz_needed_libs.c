// SPDX-License-Identifier: MIT
/*
 * DT_NEEDED, DT_RPATH/DT_RUNPATH and PT_INTERP (needed_libs.h): the input
 * is a program file, written to a private directory ($ORIGIN) and resolved
 * with the host's library directories, as for the program of -c or of an
 * exec seen while tracing.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "fuzz_common.h"

#include "attach/needed_libs.h"

static char dir[] = "/tmp/lt-fuzz-needed.XXXXXX";
static char path[sizeof(dir) + 16];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_stdin();
	if (!mkdtemp(dir)) {
		perror("fuzz_needed_libs: mkdtemp");
		abort();
	}
	snprintf(path, sizeof(path), "%s/prog", dir);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_path_list libs;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	close(fd);
	if (lt_needed_libs(path, &libs))
		return 0;
	if (!libs.n)
		__builtin_trap(); /* the program itself comes first */
	for (size_t i = 0; i < libs.n; i++)
		fuzz_touch(libs.v[i]);
	lt_path_list_free(&libs);
	return 0;
}
