// SPDX-License-Identifier: MIT
/*
 * CPython line tables (python_lines.h), read from traced processes: the
 * input is a 1-byte format, a 4-byte co_firstlineno, an 8-byte offset and
 * then the table. Each decoder sees the table at that offset and a few
 * others, and none may read past its end.
 */
#include <stdint.h>

#include "fuzz_common.h"

#include "python/python_lines.h"

#define HEADER 13

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *table = data + HEADER;
	size_t len;
	int32_t first;
	int64_t offset;
	enum lt_py_lines_kind kind;

	if (size < HEADER)
		return 0;
	kind = (enum lt_py_lines_kind)(LT_PY_LINES_LNOTAB + data[0] % 3);
	memcpy(&first, data + 1, sizeof(first));
	memcpy(&offset, data + 5, sizeof(offset));
	len = size - HEADER;
	/* The table ends where the input does: ASan sees any read beyond. */
	lt_py_line_decode(kind, table, len, first, offset);
	lt_py_line_lnotab(table, len, first, offset);
	lt_py_line_310(table, len, first, offset);
	lt_py_line_locations(table, len, first, offset);
	/* Offsets over the whole table, up to 64 of them: each decode walks it. */
	for (int64_t o = -2, step = 2 + 2 * (int64_t)len / 64; o < 2 * (int64_t)len + 2; o += step)
		lt_py_line_decode(kind, table, len, first, o);
	lt_py_line_decode(kind, len ? table : NULL, 0, first, offset);
	return 0;
}
