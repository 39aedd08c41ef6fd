/* SPDX-License-Identifier: MIT */
/* Loading the BPF programs and attaching them for the session's targets. */
#ifndef LT_TRACER_H
#define LT_TRACER_H

#include <stddef.h>

#include "session.h"

/* Load, attach probes for the mode's targets and open the ring buffer.
 * Returns 0 or -errno with a one-line reason in err. On error nothing stays attached. */
int lt_tracer_start(struct lt_session *s, char *err, size_t errlen);
/* Detach everything and free BPF objects (safe on a partly started session). */
void lt_tracer_stop(struct lt_session *s);
/* Check -O objects and -p PIDs before anything is loaded. */
int lt_tracer_validate_targets(const struct lt_options *o, char *err, size_t errlen);

#endif
