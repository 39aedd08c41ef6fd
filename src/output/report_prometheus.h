/* SPDX-License-Identifier: MIT */
/*
 * The report as Prometheus metrics, in the text exposition format 0.0.4:
 * global counters, then per process and per container gauges. Label
 * cardinality is bounded: past a limit, processes (containers) are summed
 * into one series labelled pid="other" (container="other").
 */
#ifndef LT_REPORT_PROMETHEUS_H
#define LT_REPORT_PROMETHEUS_H

#include <stddef.h>
#include <stdio.h>

#include "report/report_types.h"

/* Processes, and containers, with series of their own by default. */
#define LT_PROM_DEFAULT_MAX_SERIES 100

struct lt_prom_params {
	const char *version;   /* the version label of leaktrace_build_info */
	size_t max_processes;  /* the largest processes get their own series */
	size_t max_containers; /* the same for containers */
};

void lt_report_write_prometheus(FILE *out, const struct lt_report *r,
				const struct lt_prom_params *params);

/* A label value in double quotes, with \\, \" and \n escaped. */
void lt_prom_put_label_value(FILE *out, const char *s);

/* src as a label value that reads well: bytes that are not valid UTF-8,
 * and control characters, become '?'. dst holds len bytes, NUL included. */
void lt_prom_sanitize(char *dst, size_t len, const char *src);

#endif
