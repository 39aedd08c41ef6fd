/* SPDX-License-Identifier: MIT */
/*
 * Building a report (report_types.h) from the session's tables: aggregate
 * live blocks by stack, symbolize, filter, sort, and sum per container.
 */
#ifndef LT_REPORT_MODEL_H
#define LT_REPORT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "report/report_types.h"

struct lt_session;
struct lt_process;
struct lt_growth_set;

/* Python objects of p (report_python.c); types_growth takes each type's
 * count. Returns 0 or -ENOMEM. */
int lt_report_build_python(struct lt_session *s, struct lt_process *p, uint64_t now_ns,
			   struct lt_growth_set *types_growth, struct lt_report_python **out);

/* r->containers from r->procs (report_containers.c). Returns 0 or -ENOMEM;
 * what was made is freed by lt_report_free_containers either way. */
int lt_report_build_containers(struct lt_report *r);

/* A report with only its header (time, options, counters) filled: what
 * lt_report_build starts from, and the agent's first, empty one. */
void lt_report_fill_header(const struct lt_session *s, bool final, uint64_t now_ns,
			   struct lt_report *r);
/* Build from the session's tables. Returns 0 or -ENOMEM. */
int lt_report_build(struct lt_session *s, bool final, struct lt_report *r);

#endif
