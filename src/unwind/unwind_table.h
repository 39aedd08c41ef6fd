/* SPDX-License-Identifier: MIT */
/*
 * A file's call-frame information (.eh_frame, found through .eh_frame_hdr)
 * flattened into the compact rules the BPF unwinder follows: for x86-64, the
 * CFA as rsp/rbp plus an offset (or the PLT formula), and where rbp was saved.
 * Rows are keyed by file offset, so one table serves every process that maps
 * the file, wherever it is loaded.
 */
#ifndef LT_UNWIND_TABLE_H
#define LT_UNWIND_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include "leaktrace_events.h"

struct lt_unwind_file_row {
	uint64_t file_offset; /* applies from here to the next row */
	uint8_t cfa_rule;     /* enum lt_cfa_rule */
	uint8_t rbp_rule;     /* enum lt_rbp_rule */
	int16_t cfa_offset;
	int16_t aux;
};

struct lt_unwind_table {
	struct lt_unwind_file_row *rows; /* sorted by file_offset, no two alike in a row */
	size_t nrows;
};

/* A file has more rows than this only if it is hostile or broken. */
#define LT_UNWIND_MAX_FILE_ROWS (8u << 20)

/* Build the table of the ELF file open at fd (fd stays open and unchanged).
 * Returns 0, -ENOENT when the file has no usable .eh_frame_hdr, -ENOEXEC
 * for a file that is not a valid x86-64 ELF (or whose call-frame programs
 * no compiler would write: cfi_check.h), -E2BIG past
 * LT_UNWIND_MAX_FILE_ROWS, or -ENOMEM. */
int lt_unwind_table_build(int fd, struct lt_unwind_table *out);
void lt_unwind_table_free(struct lt_unwind_table *t);

/* The rows of page number page (file offset >> LT_UNWIND_PAGE_SHIFT) in BPF
 * layout, the first at page_offset 0 carrying the rule in effect where the
 * page starts. Writes at most max rows to out; returns how many the page
 * has (0 when the table says nothing about the page). */
size_t lt_unwind_page_rows(const struct lt_unwind_table *t, uint64_t page,
			   struct lt_unwind_row *out, size_t max);

/* Pages the table covers: [*first_page, *last_page]. Returns -ENOENT if empty. */
int lt_unwind_table_pages(const struct lt_unwind_table *t, uint64_t *first_page,
			  uint64_t *last_page);

#endif
