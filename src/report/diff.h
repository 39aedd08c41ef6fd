/* SPDX-License-Identifier: MIT */
/*
 * `leaktrace diff OLD NEW`: what grew between two snapshots, as
 * tracemalloc's Snapshot.compare_to does, by stack or by allocating line.
 */
#ifndef LT_DIFF_H
#define LT_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/snapshot.h"

enum lt_diff_by { LT_DIFF_BY_STACK, LT_DIFF_BY_LINE };

/* What a row counts. */
enum lt_diff_kind { LT_DIFF_HEAP, LT_DIFF_PYTHON, LT_DIFF_FDS };

struct lt_diff_row {
	char *key;        /* what matched the two sides; opaque */
	const char *comm; /* points into a snapshot */
	enum lt_diff_kind kind;
	/* Frames shown for the row: NEW's when it has the row, else OLD's. */
	const struct lt_snap_stack *shown;
	uint64_t old_bytes, old_allocs;
	uint64_t new_bytes, new_allocs;
	bool in_old, in_new;
};

struct lt_diff {
	struct lt_diff_row *rows; /* memory rows by bytes growth, largest first, then
				   * descriptor rows by count growth */
	size_t nrows;
};

/* Matches the stacks of old and new (by comm and frames, or by comm and
 * innermost line), sums each side, sorts. Rows point into both snapshots,
 * which must outlive d. Returns 0 or -ENOMEM. */
int lt_diff_compute(const struct lt_snapshot *old, const struct lt_snapshot *new,
		    enum lt_diff_by by, struct lt_diff *d);
void lt_diff_free(struct lt_diff *d);

/* Bytes growth of a row, saturated to the int64_t range. */
int64_t lt_diff_growth(uint64_t new_value, uint64_t old_value);

/* The compare_to table: top rows (0 = all). */
void lt_diff_print(FILE *out, const struct lt_diff *d, enum lt_diff_by by, long top);

/* The subcommand; argv[0] is "diff". Returns the exit status. */
int lt_diff_main(int argc, char **argv);

#endif
