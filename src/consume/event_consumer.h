/* SPDX-License-Identifier: MIT */
/*
 * Decoding ring-buffer records and applying them to the tables: blocks,
 * regions and Python objects in and out, within --max-allocs and
 * --max-stacks. What a process's life changes (probes, unwind tables,
 * interpreters) is handed to traced_processes.h.
 */
#ifndef LT_EVENT_CONSUMER_H
#define LT_EVENT_CONSUMER_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* libbpf ring_buffer callback; ctx is the struct lt_lane whose ring it is.
 * A malformed or unusable record is counted, never fatal. Returns
 * LT_CONSUME_YIELD once the lane's consume_deadline_ns has passed: libbpf
 * keeps consuming while records keep arriving, and the loop must still see
 * signals and timers. */
#define LT_CONSUME_YIELD (-EAGAIN)
int lt_handle_event(void *ctx, void *data, size_t size);

struct lt_session;
/* Recount the live blocks, objects and stacks kept, over every process,
 * for --max-allocs and --max-stacks (exits and execs drop whole tables). */
void lt_recount_tracked(struct lt_session *s);

/* nlanes lanes will take records in, each on its own thread (1: the main
 * thread alone, counting straight into the session's stats). */
void lt_lanes_share(struct lt_session *s, uint32_t nlanes);
/* The lanes' counters into the session's stats, and the tracked counts made
 * exact: by the main thread, while the lanes wait (the world lock held). */
void lt_lanes_fold(struct lt_session *s);

#endif
