// SPDX-License-Identifier: MIT
/* Placeholder until the flame-graph page lands. */
#include <errno.h>

#include "report_writers.h"

int lt_report_write_html(FILE *out, const struct lt_report *r)
{
	(void)out;
	(void)r;
	return -ENOSYS;
}
