/* SPDX-License-Identifier: MIT */
/*
 * CPython line tables: which source line the instruction at a byte offset
 * of a code object's bytecode belongs to. Pure functions over the table's
 * bytes, which come from the traced process and are untrusted: they never
 * read outside [table, table + len) and stop at malformed entries.
 *
 * All take the byte offset PyCode_Addr2Line takes (3.10: 2 * f_lasti; 3.11+:
 * instruction pointer - start of the bytecode). A negative offset (a frame
 * that has not started) gives firstlineno, as in CPython. They return the
 * line, or -1 when the offset has no line (past the table, a "no line" entry,
 * or a malformed table).
 */
#ifndef LT_PYTHON_LINES_H
#define LT_PYTHON_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "python/python_layout.h"

/* 3.8, 3.9: co_lnotab. */
int lt_py_line_lnotab(const uint8_t *table, size_t len, int firstlineno, int64_t offset);
/* 3.10: co_linetable. */
int lt_py_line_310(const uint8_t *table, size_t len, int firstlineno, int64_t offset);
/* 3.11+: the location table in co_linetable. */
int lt_py_line_locations(const uint8_t *table, size_t len, int firstlineno, int64_t offset);
/* The decoder for kind. */
int lt_py_line_decode(enum lt_py_lines_kind kind, const uint8_t *table, size_t len,
		      int firstlineno, int64_t offset);

#endif
