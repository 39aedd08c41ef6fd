/* SPDX-License-Identifier: MIT */
/* Output formats over the report model. */
#ifndef LT_REPORT_WRITERS_H
#define LT_REPORT_WRITERS_H

#include <stdio.h>

#include "report_model.h"

/* Human-readable text: per process, stacks by outstanding bytes. */
void lt_report_write_text(FILE *out, const struct lt_report *r);
/* One JSON object on one line (schema leaktrace/report/v1). */
void lt_report_write_json(FILE *out, const struct lt_report *r);

#endif
