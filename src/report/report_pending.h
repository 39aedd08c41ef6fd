/* SPDX-License-Identifier: MIT */
/*
 * What building a report reads of the growth series, and the samples it
 * leaves to be kept once the report is out (lt_report_commit), so that the
 * builder and its Python part change nothing in the session.
 */
#ifndef LT_REPORT_PENDING_H
#define LT_REPORT_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/growth_series.h"

struct lt_process;

/*
 * What a report leaves to change in the session once it is out: each
 * growth series' new sample, and each Python type's count (the next
 * report's deltas start from it). Kept apart so that building a report
 * changes nothing a later report depends on.
 */
enum lt_report_sample_kind {
	LT_SAMPLE_PROCESS, /* p is in this report: its series live on */
	LT_SAMPLE_HEAP,    /* a heap stack's bytes */
	LT_SAMPLE_FD,      /* a descriptor stack's count */
	LT_SAMPLE_PY_TYPE, /* a Python type's objects */
	LT_SAMPLE_KERNEL_STACK, /* --kernel: a kernel stack's bytes (p is NULL) */
	LT_SAMPLE_KERNEL_CACHE, /* --kernel: a slab cache's bytes (p is NULL) */
};

struct lt_report_sample {
	struct lt_process *p;
	enum lt_report_sample_kind kind;
	uint32_t type_index; /* PY_TYPE: in p->py->types */
	uint64_t key, tag;
	double value;
};

struct lt_report_pending {
	struct lt_report_sample *v;
	size_t n, cap;
	double now_s;
	bool final;
};

/* Where the builder reads one process's series from, and leaves their new
 * samples. */
struct lt_growth_view {
	const struct lt_growth_set *set; /* NULL: none yet */
	struct lt_trend_params params;
	double now_s;
	struct lt_process *p;
	struct lt_report_pending *pending;
};

/* The trend of a series with this report's value (lt_growth_peek), and
 * the value kept in v->pending. Returns 0 or -ENOMEM. */
int lt_growth_view_sample(const struct lt_growth_view *v, enum lt_report_sample_kind kind,
			  uint32_t type_index, uint64_t key, uint64_t tag, double value,
			  struct lt_trend *out);

/* One more sample at the end of pending. Returns 0 or -ENOMEM. */
int lt_report_pending_add(struct lt_report_pending *pending, struct lt_report_sample sample);
void lt_report_pending_free(struct lt_report_pending *pending);

#endif
