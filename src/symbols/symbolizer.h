/* SPDX-License-Identifier: MIT */
/* Naming a resolved frame: function (demangled), offset, file:line, module. */
#ifndef LT_SYMBOLIZER_H
#define LT_SYMBOLIZER_H

#include <stdint.h>

#include "symbols/symbolized_frame.h"
#include "consume/stack_store.h"

struct lt_frame_list {
	struct lt_report_frame *v;
	uint32_t n;
	size_t capacity;
};

/* Append the frames of one return address ip: the functions inlined at it,
 * innermost first (marked inlined), then the function that contains them.
 * Lookups use ip - 1 so the call instruction's line is reported. func and
 * file are malloc'd. Returns 0 or -ENOMEM. */
int lt_symbolize_ip(const struct lt_frame_loc *loc, uint64_t ip, struct lt_frame_list *list);
void lt_report_frame_clear(struct lt_report_frame *f);
/* Drop the names remembered per (module, offset), e.g. before the modules go. */
void lt_symbolizer_forget(void);

#endif
