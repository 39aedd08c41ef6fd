// SPDX-License-Identifier: MIT
/*
 * The consumer's own speed, without BPF: a generated stream of ring-buffer
 * records (mallocs with 8..40-frame stacks drawn from a few thousand call
 * sites, frees of random live blocks, a live set that grows to LIVE blocks)
 * is fed to lt_handle_event as libbpf would hand it over, and only that is
 * timed. The records name a child of ours, paused, so stacks resolve
 * against a real process, as they do when tracing.
 *
 * With one lane, the main thread takes every record, as leaktrace does with
 * --consumers 1. With two, two threads take in two processes' streams
 * through the session's lanes (each process's records are its lane's, as
 * BPF sends them), under the same locks as the tracer's lane threads.
 *
 * Usage: replay_events [EVENTS [LIVE [STACKS]]]: EVENTS records per
 * process; prints events/s with one lane, then with two (medians of
 * ROUNDS turns).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "consume/event_consumer.h"
#include "leaktrace_events.h"
#include "options.h"
#include "session.h"

/* How far past the target live count the alloc/free walk may stray. */
#define LIVE_SLACK 65536
#define ROUNDS 3
#define HEAP_BASE 0x55d0c8a00000ULL

/*
 * Every turn replays the same records: the call sites (whose depths, for
 * the few that make most blocks, weigh on the cost) are the same for
 * every lane, and lane i's records are the same in every turn. One lane's
 * turn then does lane 0's work of a two-lane turn, so the ratio compares
 * like with like rather than streams of different cost.
 */
#define SITES_SEED 0x9e3779b97f4a7c15ULL
#define RECORDS_SEED 0xd1b54a32d192ed03ULL

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

struct stream {
	uint64_t *stacks; /* nstacks x LT_MAX_FRAMES */
	uint16_t *depth;
	uint32_t nstacks;
	uint64_t *live; /* addresses live now, in no order */
	size_t nlive, live_cap, target_live;
	uint64_t next_addr;
	uint64_t ts_ns;
	uint32_t tgid;
};

static int stream_init(struct stream *st, uint32_t lane, uint32_t tgid, uint32_t nstacks,
		       size_t target_live)
{
	/* Return addresses inside our own text, so they symbolize. */
	uint64_t lo = (uint64_t)(uintptr_t)&stream_init & ~0xfffULL, span = 64 << 10;

	memset(st, 0, sizeof(*st));
	st->stacks = calloc((size_t)nstacks * LT_MAX_FRAMES, sizeof(*st->stacks));
	st->depth = calloc(nstacks, sizeof(*st->depth));
	st->live_cap = target_live + LIVE_SLACK;
	st->live = calloc(st->live_cap, sizeof(*st->live));
	if (!st->stacks || !st->depth || !st->live)
		return -ENOMEM;
	/* Call sites share their outer frames, as real programs' do. */
	rng_state = SITES_SEED;
	for (uint32_t i = 0; i < nstacks; i++) {
		uint64_t *f = &st->stacks[(size_t)i * LT_MAX_FRAMES];

		st->depth[i] = (uint16_t)(8 + rng() % 33);
		for (uint16_t k = 0; k < st->depth[i]; k++) {
			uint64_t outer = st->depth[i] - k;

			f[k] = lo + (outer < 6 ? outer * 97 : rng() % span);
		}
	}
	st->nstacks = nstacks;
	st->target_live = target_live;
	st->next_addr = HEAP_BASE;
	/* After the session's start, as BPF's stamps are: blocks pack. */
	st->ts_ns = lt_now_ns() + 60000000000ULL;
	st->tgid = tgid;
	rng_state = RECORDS_SEED * (lane + 1);
	return 0;
}

/* Writes one record into buf; returns its size. */
static size_t next_record(struct stream *st, unsigned char *buf)
{
	bool alloc = st->nlive < st->target_live ? rng() % 100 < 80 : rng() % 2;

	if (st->nlive == st->live_cap)
		alloc = false; /* a walk that strayed this far comes back */

	st->ts_ns += 1000;
	if (alloc || !st->nlive) {
		struct lt_alloc_event *e = (struct lt_alloc_event *)buf;
		/* Skewed: a few call sites make most blocks. */
		uint64_t r = rng();
		uint32_t s = (uint32_t)((r % st->nstacks) * ((r >> 32) % st->nstacks) / st->nstacks);

		memset(e, 0, LT_ALLOC_EVENT_HDR_BYTES);
		e->hdr.kind = LT_EV_ALLOC;
		e->hdr.tgid = st->tgid;
		e->hdr.ts_ns = st->ts_ns;
		e->tid = st->tgid;
		e->func = LT_FUNC_MALLOC;
		e->nframes = st->depth[s];
		e->addr = st->next_addr;
		e->size_bytes = 16 + (r >> 48) % 1024;
		st->next_addr += 16 * (1 + (e->size_bytes + 15) / 16);
		memcpy(e->frames, &st->stacks[(size_t)s * LT_MAX_FRAMES],
		       e->nframes * sizeof(e->frames[0]));
		st->live[st->nlive++] = e->addr;
		return LT_ALLOC_EVENT_HDR_BYTES + e->nframes * sizeof(e->frames[0]);
	}
	struct lt_free_event *f = (struct lt_free_event *)buf;
	size_t i = rng() % st->nlive;

	memset(f, 0, sizeof(*f));
	f->hdr.kind = LT_EV_FREE;
	f->hdr.tgid = st->tgid;
	f->hdr.ts_ns = st->ts_ns;
	f->func = LT_FUNC_FREE;
	f->addr = st->live[i];
	st->live[i] = st->live[--st->nlive];
	return sizeof(*f);
}

struct recorded {
	unsigned char *buf;
	uint32_t *off, *len;
	size_t n;
};

/* The whole stream up front, so that only the consumer is timed. */
static int record(struct stream *st, size_t events, struct recorded *r)
{
	size_t cap = events * 96, at = 0;

	r->buf = malloc(cap);
	r->off = calloc(events, sizeof(*r->off));
	r->len = calloc(events, sizeof(*r->len));
	if (!r->buf || !r->off || !r->len)
		return -ENOMEM;
	for (r->n = 0; r->n < events; r->n++) {
		if (at + sizeof(struct lt_alloc_event) > cap) {
			unsigned char *grown = realloc(r->buf, cap * 2);

			if (!grown)
				return -ENOMEM;
			r->buf = grown;
			cap *= 2;
		}
		r->off[r->n] = (uint32_t)at;
		r->len[r->n] = (uint32_t)next_record(st, r->buf + at);
		at += (r->len[r->n] + 7) & ~7u;
	}
	return 0;
}

static void recorded_free(struct recorded *r)
{
	free(r->buf);
	free(r->off);
	free(r->len);
}

struct lane_run {
	struct lt_session *s;
	uint32_t lane;
	const struct recorded *r;
	pthread_barrier_t *go;
};

/* As a lane thread does: the world lock shared over a batch of records. */
static void *feed_lane(void *arg)
{
	struct lane_run *run = arg;
	struct lt_lane *l = &run->s->lanes[run->lane];

	pthread_barrier_wait(run->go);
	l->consume_deadline_ns = UINT64_MAX;
	for (size_t i = 0; i < run->r->n;) {
		size_t end = i + 4096 < run->r->n ? i + 4096 : run->r->n;

		pthread_rwlock_rdlock(&run->s->world);
		for (; i < end; i++)
			lt_handle_event(l, run->r->buf + run->r->off[i], run->r->len[i]);
		pthread_rwlock_unlock(&run->s->world);
	}
	return NULL;
}

/*
 * Children to name in the records, paused: one per lane (tgid % lanes).
 * Forked once, before the streams and sessions are made: pages shared
 * with a child are copied on their first write, and with two lanes
 * running each such copy stops the other CPU to flush its TLB, a cost of
 * this bench's forks that the tracer does not have.
 */
static int spawn_children(pid_t *child, uint32_t lanes)
{
	pid_t extra[64], self = getpid();
	size_t nextra = 0;
	uint32_t have = 0;

	while (have != (1u << lanes) - 1 && nextra < 64) {
		pid_t c = fork();

		if (c < 0)
			break;
		if (!c) {
			/* Not left paused behind a bench killed midway (a closed pipe). */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == self)
				pause();
			_exit(0);
		}
		if (have & (1u << (c % lanes))) {
			extra[nextra++] = c;
			continue;
		}
		child[c % lanes] = c;
		have |= 1u << (c % lanes);
	}
	for (size_t i = 0; i < nextra; i++) {
		kill(extra[i], SIGKILL);
		waitpid(extra[i], NULL, 0);
	}
	return have == (1u << lanes) - 1 ? 0 : -EAGAIN;
}

/* events/s with `lanes` lanes, each fed `events` records of its own
 * process (child[i] for lane i, i < lanes). */
static double replay(const pid_t *child, uint32_t lanes, size_t events, size_t live,
		     uint32_t nstacks, size_t *left)
{
	struct recorded r[2] = { 0 };
	struct lane_run run[2];
	pthread_t tid[2];
	pthread_barrier_t go;
	struct lt_options opts;
	struct lt_session s;
	char pidarg[2][16];
	char *args[] = { "leaktrace", "-p", pidarg[0], "-p", pidarg[1], "--no-fds",
			 "--max-allocs", "100000000", NULL };
	double rate = -1;
	uint64_t t0;

	for (uint32_t i = 0; i < 2; i++)
		snprintf(pidarg[i], sizeof(pidarg[i]), "%d", child[i % lanes]);
	if (lt_options_parse(8, args, &opts))
		goto out;
	for (uint32_t i = 0; i < lanes; i++) {
		struct stream st;

		if (stream_init(&st, i, (uint32_t)child[i], nstacks, live) ||
		    record(&st, events, &r[i]))
			goto out_opts;
		free(st.stacks);
		free(st.depth);
		free(st.live);
	}
	lt_session_init(&s, &opts);
	lt_lanes_share(&s, lanes);
	pthread_barrier_init(&go, NULL, lanes + 1);
	for (uint32_t i = 0; i < lanes; i++) {
		run[i] = (struct lane_run){ &s, i, &r[i], &go };
		pthread_create(&tid[i], NULL, feed_lane, &run[i]);
	}
	t0 = lt_now_ns();
	pthread_barrier_wait(&go);
	for (uint32_t i = 0; i < lanes; i++)
		pthread_join(tid[i], NULL);
	rate = (double)events * lanes / ((lt_now_ns() - t0) / 1e9);
	lt_lanes_fold(&s);
	*left = s.stats.tracked_allocs;
	if (s.stats.out_of_memory || s.stats.unmatched_frees)
		fprintf(stderr, "replay: %llu out of memory, %llu unmatched frees\n",
			(unsigned long long)s.stats.out_of_memory,
			(unsigned long long)s.stats.unmatched_frees);
	pthread_barrier_destroy(&go);
	lt_session_free(&s);
out_opts:
	lt_options_free(&opts);
out:
	for (uint32_t i = 0; i < 2; i++)
		recorded_free(&r[i]);
	return rate;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	size_t events = argc > 1 ? strtoull(argv[1], NULL, 0) : 4000000;
	size_t live = argc > 2 ? strtoull(argv[2], NULL, 0) : 1000000;
	uint32_t nstacks = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 4096;
	double one[ROUNDS], two[ROUNDS];
	size_t left1 = 0, left2 = 0;
	pid_t child[2] = { 0, 0 };
	int ret = 1;

	if (spawn_children(child, 2))
		goto out;
	/* Turns, and the medians: this VM's timings drift between runs. */
	for (int r = 0; r < ROUNDS; r++) {
		one[r] = replay(child, 1, events, live, nstacks, &left1);
		two[r] = replay(child, 2, events, live, nstacks, &left2);
		if (one[r] <= 0 || two[r] <= 0)
			goto out;
	}
	qsort(one, ROUNDS, sizeof(one[0]), by_value);
	qsort(two, ROUNDS, sizeof(two[0]), by_value);
	printf("replay: %zu records per process, %u call sites, %zu live per process, "
	       "median of %d rounds\n", events, nstacks, live, ROUNDS);
	printf("replay: 1 lane:  %.0f events/s (%zu live at the end)\n", one[ROUNDS / 2], left1);
	printf("replay: 2 lanes: %.0f events/s (%zu live at the end), %.2fx\n", two[ROUNDS / 2],
	       left2, two[ROUNDS / 2] / one[ROUNDS / 2]);
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "replay_events: cannot set up\n");
	for (uint32_t i = 0; i < 2; i++) {
		if (child[i] > 0) {
			kill(child[i], SIGKILL);
			waitpid(child[i], NULL, 0);
		}
	}
	return ret;
}
