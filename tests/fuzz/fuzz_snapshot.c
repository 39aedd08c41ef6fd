// SPDX-License-Identifier: MIT
/*
 * Snapshot files (snapshot.h) as `leaktrace diff` reads them: the input is
 * a file. One that parses is then diffed against itself and against an
 * empty snapshot, by stack and by line, and printed.
 */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_common.h"

#include "report/diff.h"
#include "report/snapshot.h"

static FILE *devnull;

static void diff(const struct lt_snapshot *old, const struct lt_snapshot *new)
{
	for (int by = LT_DIFF_BY_STACK; by <= LT_DIFF_BY_LINE; by++) {
		struct lt_diff d = {};

		if (!lt_diff_compute(old, new, (enum lt_diff_by)by, &d))
			lt_diff_print(devnull, &d, (enum lt_diff_by)by, 0);
		lt_diff_free(&d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_snapshot snap, empty = {};
	char err[512] = "";
	FILE *in;

	if (!devnull)
		devnull = fopen("/dev/null", "we");
	if (!devnull || !size)
		return 0; /* fmemopen refuses an empty buffer */
	in = fmemopen((void *)data, size, "r");
	if (!in)
		return 0;
	if (!lt_snapshot_parse(in, "fuzz", &snap, err, sizeof(err))) {
		diff(&snap, &snap);
		diff(&empty, &snap);
		diff(&snap, &empty);
		lt_snapshot_free(&snap);
	} else if (!err[0] || !memchr(err, '\0', sizeof(err))) {
		__builtin_trap(); /* a refusal always says why */
	}
	fclose(in);
	return 0;
}
