/* SPDX-License-Identifier: MIT */
/* Applying ring-buffer records to the process and allocation tables. */
#ifndef LT_EVENT_CONSUMER_H
#define LT_EVENT_CONSUMER_H

#include <errno.h>
#include <stddef.h>

/* libbpf ring_buffer callback; ctx is the struct lt_session. A malformed or
 * unusable record is counted, never fatal. Returns LT_CONSUME_YIELD once
 * s->consume_deadline_ns has passed: libbpf keeps consuming while records
 * keep arriving, and the main loop must still see signals and timers. */
#define LT_CONSUME_YIELD (-EAGAIN)
int lt_handle_event(void *ctx, void *data, size_t size);

struct lt_session;
/* Recount the live blocks, objects and stacks kept, over every process,
 * for --max-allocs and --max-stacks (exits and execs drop whole tables). */
void lt_recount_tracked(struct lt_session *s);

struct lt_process;
/* --cgroup: p was moved out of the tree. Its probes are closed and its
 * events stop; it is shown once more with what it held, then forgotten. */
void lt_process_left_cgroup(struct lt_session *s, struct lt_process *p);

#endif
