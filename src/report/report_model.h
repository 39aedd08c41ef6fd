/* SPDX-License-Identifier: MIT */
/*
 * Building a report (report_types.h) from the session's tables: aggregate
 * live blocks by stack, symbolize, filter, sort, and sum per container.
 */
#ifndef LT_REPORT_MODEL_H
#define LT_REPORT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "report/report_pending.h"
#include "report/report_types.h"


struct lt_session;
struct lt_process;

/* r->containers from r->procs (report_containers.c). Returns 0 or -ENOMEM;
 * what was made is freed by lt_report_free_containers either way. */
int lt_report_build_containers(struct lt_report *r);

/* --kernel: r->kernel from the session's kernel table, its growth
 * samples left in pending; nothing without --kernel. 0 or -ENOMEM (what
 * was made is freed with r). */
int lt_report_build_kernel(struct lt_session *s, uint64_t now_ns,
			   struct lt_report_pending *pending, struct lt_report *r);

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

#endif
