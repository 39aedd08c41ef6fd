/* SPDX-License-Identifier: MIT */
/*
 * A Python process's garbage-collector state (python_gc_state.h) as text
 * lines and as a JSON object: what gc.isenabled(), get_debug(),
 * get_count(), get_threshold(), get_stats() and gc.garbage would say.
 */
#ifndef LT_GC_STATE_WRITER_H
#define LT_GC_STATE_WRITER_H

#include <stdio.h>

#include "python/python_gc_state.h"

/* Lines indented by indent spaces. */
void lt_gc_state_write_text(FILE *out, const struct lt_py_gc_state *gc, int indent);
/* An object, or null when gc is NULL (the state did not read). */
void lt_gc_state_write_json(FILE *out, const struct lt_py_gc_state *gc);

#endif
