/* SPDX-License-Identifier: MIT */
/*
 * Suppressions: patterns naming stacks a report leaves out, for blocks that
 * are allocated once and kept on purpose. A stack is suppressed when any of
 * its frames matches any rule.
 */
#ifndef LT_SUPPRESSIONS_H
#define LT_SUPPRESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/report_types.h"

/* Past these a file is more likely wrong than meant. */
#define LT_SUPP_MAX_LINE 4096
#define LT_SUPP_MAX_PATTERNS 10000

struct lt_suppressions;

struct lt_suppressions *lt_suppressions_new(void);
void lt_suppressions_free(struct lt_suppressions *s);

/* The built-in rules for glibc and libstdc++ start-up allocations.
 * Returns 0 or -ENOMEM. */
int lt_suppressions_add_defaults(struct lt_suppressions *s);

/*
 * Read rules from f, one per line: leak:, func:, module: or file: then a
 * pattern; blank lines and lines starting with # are skipped. On a bad line
 * err gets "NAME:LINE: reason" and -EINVAL is returned (rules of earlier
 * lines stay). Returns 0, -EINVAL or -ENOMEM.
 */
int lt_suppressions_read(struct lt_suppressions *s, FILE *f, const char *name, char *err,
			 size_t errlen);
/* lt_suppressions_read on the file at path; errors go to stderr as one line. */
int lt_suppressions_load(struct lt_suppressions *s, const char *path);

/* Rules read from files (the built-in ones not included). */
size_t lt_suppressions_count(const struct lt_suppressions *s);
bool lt_suppressions_empty(const struct lt_suppressions *s);

/* One pattern against one string: substring, * any run, ^ and $ anchors. */
bool lt_supp_pattern_match(const char *pattern, const char *text);

/* frames innermost first; NULL s suppresses nothing. */
bool lt_suppressions_match(const struct lt_suppressions *s, const struct lt_report_frame *frames,
			   uint32_t nframes);

#endif
