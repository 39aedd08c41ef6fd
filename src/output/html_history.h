/* SPDX-License-Identifier: MIT */
/*
 * The reports an HTML page charts over time (--format html with INTERVAL,
 * and the agent's page), each kept as the page's JSON for that report.
 * Bounded in count and bytes: when either is reached, every other report
 * but the newest is let go, so the page still spans the whole run, more
 * coarsely in its past, and says how many were let go.
 */
#ifndef LT_HTML_HISTORY_H
#define LT_HTML_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "report/report_types.h"

#define LT_HTML_HISTORY_REPORTS 120
/* What a written page may carry; the agent keeps less (agent.h). */
#define LT_HTML_HISTORY_MAX_BYTES (64u << 20)

struct lt_html_history {
	char **data;
	size_t *len;
	size_t n;
	size_t bytes, max_bytes; /* max_bytes: set by the owner, 0 for no bound */
	uint64_t thinned;        /* reports let go */
};

/* Renders r into the history. Returns 0 or -ENOMEM (the history is then
 * as it was). */
int lt_html_history_add(struct lt_html_history *h, const struct lt_report *r);
/* The same with the data already rendered; takes data. */
int lt_html_history_add_data(struct lt_html_history *h, char *data, size_t len);
void lt_html_history_free(struct lt_html_history *h);

#endif
