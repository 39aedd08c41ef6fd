// SPDX-License-Identifier: MIT
/*
 * The consumer's own speed, without BPF: a generated stream of ring-buffer
 * records (mallocs with 8..40-frame stacks drawn from a few thousand call
 * sites, frees of random live blocks, a live set that grows to LIVE blocks)
 * is fed to lt_handle_event as libbpf would hand it over, and only that is
 * timed. The records name a child of ours, paused, so stacks resolve
 * against a real process, as they do when tracing.
 *
 * Usage: replay_events [EVENTS [LIVE [STACKS]]]; prints events/s.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "consume/event_consumer.h"
#include "leaktrace_events.h"
#include "options.h"
#include "session.h"

#define CHUNK_EVENTS 65536
#define HEAP_BASE 0x55d0c8a00000ULL

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

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

static int stream_init(struct stream *st, uint32_t tgid, uint32_t nstacks, size_t target_live)
{
	/* Return addresses inside our own text, so they symbolize. */
	uint64_t lo = (uint64_t)(uintptr_t)&stream_init & ~0xfffULL, span = 64 << 10;

	memset(st, 0, sizeof(*st));
	st->stacks = calloc((size_t)nstacks * LT_MAX_FRAMES, sizeof(*st->stacks));
	st->depth = calloc(nstacks, sizeof(*st->depth));
	st->live_cap = target_live + CHUNK_EVENTS;
	st->live = calloc(st->live_cap, sizeof(*st->live));
	if (!st->stacks || !st->depth || !st->live)
		return -ENOMEM;
	/* Call sites share their outer frames, as real programs' do. */
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
	st->ts_ns = lt_now_ns();
	st->tgid = tgid;
	return 0;
}

/* Writes one record into buf; returns its size. */
static size_t next_record(struct stream *st, unsigned char *buf)
{
	bool alloc = st->nlive < st->target_live ? rng() % 100 < 80 : rng() % 2;

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

int main(int argc, char **argv)
{
	size_t events = argc > 1 ? strtoull(argv[1], NULL, 0) : 4000000;
	size_t live = argc > 2 ? strtoull(argv[2], NULL, 0) : 1000000;
	uint32_t nstacks = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 4096;
	static unsigned char buf[(size_t)CHUNK_EVENTS * 384];
	static uint32_t off[CHUNK_EVENTS], len[CHUNK_EVENTS];
	struct lt_options opts;
	struct lt_session s;
	struct stream st;
	char pidarg[16];
	char *args[] = { "leaktrace", "-p", pidarg, "--no-fds", "--max-allocs", "100000000", NULL };
	double busy_s = 0;
	size_t done = 0;
	pid_t child;
	int ret = 1;

	child = fork();
	if (child < 0)
		return 1;
	if (!child) {
		pause();
		_exit(0);
	}
	snprintf(pidarg, sizeof(pidarg), "%d", child);
	if (lt_options_parse(6, args, &opts) || stream_init(&st, (uint32_t)child, nstacks, live)) {
		fprintf(stderr, "replay_events: cannot set up\n");
		goto out;
	}
	lt_session_init(&s, &opts);
	/* No maps: nothing is loaded (s.maps.ops stays NULL). */
	s.consume_deadline_ns = UINT64_MAX;
	while (done < events) {
		size_t n = events - done < CHUNK_EVENTS ? events - done : CHUNK_EVENTS, at = 0;
		uint64_t t0;

		for (size_t i = 0; i < n; i++) {
			off[i] = (uint32_t)at;
			len[i] = (uint32_t)next_record(&st, buf + at);
			at += (len[i] + 7) & ~7u;
		}
		t0 = lt_now_ns();
		for (size_t i = 0; i < n; i++)
			lt_handle_event(&s, buf + off[i], len[i]);
		busy_s += (lt_now_ns() - t0) / 1e9;
		done += n;
	}
	printf("replay: %zu events, %zu live at the end, %u call sites: %.3f s, %.0f events/s\n",
	       done, st.nlive, nstacks, busy_s, done / busy_s);
	if (s.stats.out_of_memory || s.stats.unmatched_frees)
		printf("replay: %llu out of memory, %llu unmatched frees\n",
		       (unsigned long long)s.stats.out_of_memory,
		       (unsigned long long)s.stats.unmatched_frees);
	lt_session_free(&s);
	ret = 0;
out:
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return ret;
}
