/* SPDX-License-Identifier: MIT */
/* Output formats over the report model. */
#ifndef LT_REPORT_WRITERS_H
#define LT_REPORT_WRITERS_H

#include <stdio.h>

#include "report/report_types.h"

/* Human-readable text: per process, stacks by outstanding bytes. */
void lt_report_write_text(FILE *out, const struct lt_report *r);
/* One JSON object on one line (schema leaktrace/report/v1). */
void lt_report_write_json(FILE *out, const struct lt_report *r);
/* Folded stacks for flame graphs: "comm (pid);root;...;leaf BYTES" per stack. */
void lt_report_write_folded(FILE *out, const struct lt_report *r);

/* One self-contained HTML page (no network) drawing the report as a flame
 * graph. Returns 0 or a negative errno. */
int lt_report_write_html(FILE *out, const struct lt_report *r);

/* The page's data for r alone, malloc'd (for a history of reports).
 * Returns 0 or -ENOMEM. */
int lt_report_html_data(const struct lt_report *r, char **out, size_t *len);

struct lt_html_history;
/* The page over several reports: the last drawn, all of them charted, a
 * slider back through them and growth between two. Returns 0 or -errno. */
int lt_report_write_html_history(FILE *out, const struct lt_html_history *h);

struct lt_pb_buf;
/* pprof's profile.proto, uncompressed, appended to out. Returns 0 or -ENOMEM. */
int lt_report_encode_pprof(const struct lt_report *r, struct lt_pb_buf *out);
/* The same, gzip-compressed as `go tool pprof` reads it, appended to out.
 * Returns 0, -ENOMEM or -EIO. */
int lt_report_gzip_pprof(const struct lt_report *r, struct lt_pb_buf *out);
/* The gzip-compressed profile written to out. Returns 0, -ENOMEM or -EIO. */
int lt_report_write_pprof(FILE *out, const struct lt_report *r);

#endif
