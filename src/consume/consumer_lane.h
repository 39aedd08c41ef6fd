/* SPDX-License-Identifier: MIT */
/*
 * A consumer lane: one ring buffer's records, taken in by one thread. BPF
 * sends a process's records to the ring of its tgid, so each lane owns the
 * processes whose tgid falls to it, and their tables: its records about
 * them (frees, blocks, and their new stacks when the modules of the
 * mappings they pass through are known) need no lock. Records that reach
 * further (a new process, a new mapping or module, exec, exit,
 * interpreters) are taken one lane at a time, under the session's lock.
 */
#ifndef LT_CONSUMER_LANE_H
#define LT_CONSUMER_LANE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "consume/stats.h"

/* One ring each: BPF has as many slots. */
#define LT_MAX_LANES LT_MAX_RINGS

struct lt_session;
struct lt_ring_sizer;

/* A cache line of its own: lanes write their counters side by side. */
struct lt_lane {
	_Alignas(64) struct lt_session *s;
	uint32_t index;
	/* Where its counters go: the session's own while it is the only
	 * lane; with several, its own, folded in by lt_lanes_fold. */
	struct lt_stats *stats;
	struct lt_stats own;
	/* Live blocks and stacks it kept or let go since it last added them
	 * to the session's shared counts (in batches, to spare the cache line). */
	int64_t allocs_pending, stacks_pending;
	/* It holds the session's lock for the record being taken in: taken
	 * when the record reaches past its processes, maybe halfway through. */
	bool locked;
	uint64_t consume_deadline_ns; /* the ring-buffer callback yields after this */
	uint32_t since_clock_check;
	bool shared; /* other lanes run beside it */
	struct lt_ring_sizer *ring; /* its ring buffer (slot `index` of BPF's rings) */
	pthread_t thread;
	bool running;
	_Atomic bool stop;
	int error;        /* what ended its thread */
	int resize_error; /* its ring could not be resized (said once) */
};

#endif
