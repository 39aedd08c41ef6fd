// SPDX-License-Identifier: MIT
/*
 * Call-frame information (unwind_table.h): the input is a whole ELF file,
 * whose .eh_frame_hdr and .eh_frame (read through libdw) are flattened into
 * the rows the BPF unwinder follows, then laid out page by page as
 * unwind_loader.c loads them into the kernel.
 */
#include <stdint.h>

#include "fuzz_common.h"

#include "unwind/unwind_table.h"

/* A corrupt table may claim pages all over the address space. */
#define MAX_PAGES 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_unwind_row rows[64];
	struct lt_unwind_table t;
	uint64_t first, last;
	int fd = fuzz_memfd(data, size);

	if (fd < 0)
		return 0;
	if (!lt_unwind_table_build(fd, &t)) {
		for (size_t i = 1; i < t.nrows; i++)
			if (t.rows[i - 1].file_offset >= t.rows[i].file_offset)
				__builtin_trap(); /* the table promises sorted, distinct rows */
		if (!lt_unwind_table_pages(&t, &first, &last))
			for (uint64_t p = first; p <= last && p - first < MAX_PAGES; p++)
				lt_unwind_page_rows(&t, p, rows, sizeof(rows) / sizeof(rows[0]));
		lt_unwind_table_free(&t);
	}
	close(fd);
	return 0;
}
