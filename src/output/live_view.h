/* SPDX-License-Identifier: MIT */
/*
 * --live: the terminal view (ncurses) over the live model, redrawn at each
 * report and at each key. While it is open, leaktrace's stderr goes to a
 * memory file: its last line is shown at the bottom of the screen, and all
 * of it is written to the real stderr when the view closes.
 */
#ifndef LT_LIVE_VIEW_H
#define LT_LIVE_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "report/report_types.h"

struct lt_live_view;

/* Takes over the terminal (stdin and stdout must be one). Returns 0 or a
 * negative errno with err set. */
int lt_live_view_open(struct lt_live_view **out, double interval_s, char *err, size_t len);
/* A report: taken in and drawn, unless the view is frozen. */
void lt_live_view_report(struct lt_live_view *v, const struct lt_report *r);
/* Keys typed since the last call, acted on. Returns true when q was typed. */
bool lt_live_view_keys(struct lt_live_view *v);
/* Gives the terminal back as it was, and replays what went to stderr.
 * NULL is fine. */
void lt_live_view_close(struct lt_live_view *v);

#endif
