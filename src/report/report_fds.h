/* SPDX-License-Identifier: MIT */
/*
 * The descriptor part of a report: what the descriptors of one stack are,
 * and a process's totals (by kind, and those open before tracing began).
 */
#ifndef LT_REPORT_FDS_H
#define LT_REPORT_FDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/report_types.h"

struct lt_process;
struct lt_py_process;

/* Which entries of a process's descriptor table make one report row. */
struct lt_fd_row {
	uint32_t stack_id;
	uint32_t py_id;           /* Python traceback id + 1, or 0 */
	const uint32_t *line_reps; /* --group lineno: traceback -> first one at its line */
	size_t nreps;
	bool match_py;            /* rows are split by Python traceback */
	uint64_t min_age_ns;      /* live processes: younger ones are left out */
	uint64_t now_ns;
};

/* For each traceback of pp, the first one ending at the same line
 * (malloc'd, pp->ntracebacks entries). Returns 0 or -ENOMEM. */
int lt_report_line_reps(const struct lt_py_process *pp, uint32_t **out);
/* The kinds and names of the row's descriptors. Returns 0 or -ENOMEM. */
int lt_report_fd_detail(const struct lt_process *p, const struct lt_fd_row *row,
			struct lt_report_fd_detail **out);
/* rp->fd_kinds and rp->fds_open_before from p. */
void lt_report_fd_totals(const struct lt_process *p, struct lt_report_process *rp);

#endif
