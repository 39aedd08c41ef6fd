/* SPDX-License-Identifier: MIT */
/*
 * Chains of holders as text (one line each, objgraph's order: the object,
 * then who holds it, up to the root), as a JSON object, and as a graphviz
 * DOT graph (what objgraph.show_backrefs draws).
 */
#ifndef LT_HOLDERS_WRITER_H
#define LT_HOLDERS_WRITER_H

#include <stdio.h>

#include "holders/holders.h"

/* Lines indented by indent spaces; pid names the process. */
void lt_holders_write_text(FILE *out, const struct lt_holders *h, int indent);
/* {"ok":..,"pause_ms":[..],...,"chains":[...]} */
void lt_holders_write_json(FILE *out, const struct lt_holders *h);
/* The same, escaped to sit inside a <script> element (the HTML page). */
void lt_holders_write_json_html(FILE *out, const struct lt_holders *h);
/* One digraph; several processes' chains go in one by calling it per
 * process between lt_holders_dot_begin and _end. */
void lt_holders_dot_begin(FILE *out);
void lt_holders_write_dot(FILE *out, const struct lt_holders *h, unsigned pid);
void lt_holders_dot_end(FILE *out);

#endif
