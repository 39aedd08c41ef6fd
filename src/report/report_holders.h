/* SPDX-License-Identifier: MIT */
/*
 * --holders in a report: samples of the live objects of the Python types
 * growing most, by the lines that made them, and who holds them.
 */
#ifndef LT_REPORT_HOLDERS_H
#define LT_REPORT_HOLDERS_H

#include "report/report_types.h"

struct lt_session;
struct lt_process;

/* Types followed at most, and places (tracebacks) per type. */
#define LT_HOLDERS_TYPES 5
#define LT_HOLDERS_PLACES 2

/* py->samples of p: every k-th live object of the types growing most
 * (from py->types, built), at the LT_HOLDERS_PLACES tracebacks holding
 * most of each. Returns 0 or -ENOMEM. */
int lt_report_build_py_samples(struct lt_session *s, struct lt_process *p,
			       struct lt_report_python *py);
/* py->holders for p, from py->samples. Returns 0 or -ENOMEM; a process
 * whose heap cannot be walked gets holders saying why. */
int lt_report_build_holders(struct lt_session *s, struct lt_process *p,
			    struct lt_report_python *py);

#endif
