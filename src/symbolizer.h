/* SPDX-License-Identifier: MIT */
/* Naming a resolved frame: function (demangled), offset, file:line, module. */
#ifndef LT_SYMBOLIZER_H
#define LT_SYMBOLIZER_H

#include <stdint.h>

#include "report_model.h"
#include "stack_store.h"

/* Fills out (func and file are malloc'd). ip is a return address: lookups use
 * ip - 1 so the call instruction's line is reported. Returns 0 or -ENOMEM. */
int lt_symbolize_frame(const struct lt_frame_loc *loc, uint64_t ip, struct lt_report_frame *out);
void lt_report_frame_clear(struct lt_report_frame *f);

#endif
