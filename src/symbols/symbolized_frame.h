/* SPDX-License-Identifier: MIT */
/*
 * One frame of a stack as the symbolizer names it and every report shows it:
 * the symbolizer fills it, reports, writers and suppressions read it.
 */
#ifndef LT_SYMBOLIZED_FRAME_H
#define LT_SYMBOLIZED_FRAME_H

#include <stdbool.h>
#include <stdint.h>

struct lt_report_frame {
	uint64_t addr;
	char *func;           /* demangled; NULL when unknown */
	uint64_t func_offset; /* from the function start, when func is known */
	char *file;           /* NULL when no line information */
	int line;             /* 0 when unknown */
	const char *module;   /* path of the mapped file; NULL when none */
	uint64_t module_offset; /* ELF address within module, for later symbolization */
	const char *build_id; /* "" when unknown */
	bool inlined;         /* a function inlined into the next frame */
	bool python;          /* a Python frame: func, file and line only */
};

#endif
