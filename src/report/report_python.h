/* SPDX-License-Identifier: MIT */
/* The Python part of a report: objects by type and by traceback. */
#ifndef LT_REPORT_PYTHON_H
#define LT_REPORT_PYTHON_H

#include <stdint.h>

#include "report/report_pending.h"
#include "report/report_types.h"

struct lt_session;
struct lt_process;

/* Python objects of p (report_python.c); types gives each type's trend.
 * Returns 0 or -ENOMEM. */
int lt_report_build_python(struct lt_session *s, struct lt_process *p, uint64_t now_ns,
			   const struct lt_growth_view *types, struct lt_report_python **out);

#endif
