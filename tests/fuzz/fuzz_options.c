// SPDX-License-Identifier: MIT
/*
 * The command line (options.h, and `leaktrace diff`'s in diff.h): the
 * input is the arguments after the program name, each ended by a NUL.
 * --suppressions and the diff's snapshot files name real files, which
 * are read: the corpus names only missing ones and /dev/null.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "fuzz_common.h"

#include "report/diff.h"
#include "options.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2], *copy = malloc(size + 1), *p, *end;
	struct lt_options o;
	int argc = 0, ret;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = "leaktrace";
	for (p = copy, end = copy + size; p < end && argc <= MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	if (argc > 1 && !strcmp(argv[1], "diff")) {
		lt_diff_main(argc - 1, argv + 1);
	} else {
		ret = lt_options_parse(argc, argv, &o);
		if (ret != 0 && ret != 1 && ret != -EINVAL && ret != -ENOMEM)
			__builtin_trap();
		lt_options_free(&o);
	}
	free(copy);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_stdin();
	return 0;
}
