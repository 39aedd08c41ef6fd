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

#include "report/growth_series.h"

struct lt_session;
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
	LT_SAMPLE_PY_TYPE, /* a Python type's objects */
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

/* Python objects of p (report_python.c); types gives each type's trend.
 * Returns 0 or -ENOMEM. */
int lt_report_build_python(struct lt_session *s, struct lt_process *p, uint64_t now_ns,
			   const struct lt_growth_view *types, struct lt_report_python **out);

/* r->containers from r->procs (report_containers.c). Returns 0 or -ENOMEM;
 * what was made is freed by lt_report_free_containers either way. */
int lt_report_build_containers(struct lt_report *r);

/* A report with only its header (time, options, counters) filled: what
 * lt_report_build starts from, and the agent's first, empty one. */
void lt_report_fill_header(const struct lt_session *s, bool final, uint64_t now_ns,
			   struct lt_report *r);
/*
 * Build from the session's tables, and the samples the report leaves in
 * pending (given empty). Nothing a later report reads changes; caches of
 * symbols fill as names are looked up. The BPF drop counters are as last
 * read (lt_session_read_drops). Returns 0 or -ENOMEM; on error r and
 * pending are freed.
 */
int lt_report_build(struct lt_session *s, bool final, struct lt_report *r,
		    struct lt_report_pending *pending);
/*
 * The report is out: keep its samples in the session's growth series and
 * Python type counts. Call it before more records are consumed (samples
 * point at processes). Frees pending. Returns 0 or -ENOMEM (the series
 * may then miss this report).
 */
int lt_report_commit(struct lt_session *s, struct lt_report_pending *pending);
void lt_report_pending_free(struct lt_report_pending *pending);

#endif
