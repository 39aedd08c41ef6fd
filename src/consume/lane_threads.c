// SPDX-License-Identifier: MIT
#include "consume/lane_threads.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "attach/ring_sizer.h"
#include "base/clock.h"
#include "consume/event_consumer.h"
#include "session.h"

/* A lane holds the world lock while it waits, so the main thread waits at
 * most this long (or a consume deadline) for its turn. */
#define LANE_WAIT_MS 10
#define LANE_CONSUME_NS 50000000ULL

static void *lane_main(void *arg)
{
	struct lt_lane *l = arg;
	struct lt_session *s = l->s;
	int err = 0;

	while (!atomic_load(&l->stop)) {
		pthread_rwlock_rdlock(&s->world);
		err = lt_ring_sizer_wait(l->ring, LANE_WAIT_MS);
		if (err >= 0 || err == -EINTR) {
			l->consume_deadline_ns = lt_now_ns() + LANE_CONSUME_NS;
			err = lt_ring_sizer_consume(l->ring);
		}
		/* The ring follows the rate; one that cannot be resized keeps its size. */
		if (err >= 0 || err == -EINTR || err == LT_CONSUME_YIELD) {
			int rerr = lt_ring_sizer_adjust(l->ring, lt_now_ns());

			if (rerr)
				l->resize_error = rerr;
		}
		pthread_rwlock_unlock(&s->world);
		if (err < 0 && err != -EINTR && err != LT_CONSUME_YIELD) {
			l->error = err;
			break;
		}
	}
	return NULL;
}

int lt_lane_threads_start(struct lt_session *s)
{
	sigset_t all, old;
	int err = 0;
	uint32_t i;

	/* Signals are the main thread's: its sleep is what they interrupt. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < s->nlanes; i++) {
		atomic_store(&s->lanes[i].stop, false);
		err = -pthread_create(&s->lanes[i].thread, NULL, lane_main, &s->lanes[i]);
		if (err)
			break;
		s->lanes[i].running = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		lt_lane_threads_stop(s);
	return err;
}

void lt_lane_threads_stop(struct lt_session *s)
{
	for (uint32_t i = 0; i < s->nlanes; i++)
		atomic_store(&s->lanes[i].stop, true);
	for (uint32_t i = 0; i < s->nlanes; i++) {
		if (!s->lanes[i].running)
			continue;
		pthread_join(s->lanes[i].thread, NULL);
		s->lanes[i].running = false;
	}
}

int lt_lane_threads_error(const struct lt_session *s)
{
	for (uint32_t i = 0; i < s->nlanes; i++)
		if (s->lanes[i].error)
			return s->lanes[i].error;
	return 0;
}
