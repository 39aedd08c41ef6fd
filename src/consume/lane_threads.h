/* SPDX-License-Identifier: MIT */
/*
 * Consumer lanes on threads of their own, one per ring buffer. A lane waits
 * on its ring and takes its records in with the session's world lock held
 * shared; the main thread takes it alone to fold counters, report, settle
 * or drain, so everything but the lanes' records stays single-threaded.
 */
#ifndef LT_LANE_THREADS_H
#define LT_LANE_THREADS_H

struct lt_session;

/* A thread per lane, each on the ring in s->lanes[i].ring.
 * Signals stay with the calling thread. Returns 0 or -errno (none left running). */
int lt_lane_threads_start(struct lt_session *s);
/* Stops and joins them; the caller must not hold the world lock. */
void lt_lane_threads_stop(struct lt_session *s);
/* A lane's reading error, which ended its thread (0: none). */
int lt_lane_threads_error(const struct lt_session *s);

#endif
