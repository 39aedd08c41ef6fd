// SPDX-License-Identifier: MIT
#include "attach/ring_sizer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "base/clock.h"
#include "leaktrace_events.h"

/* A replaced ring is read at least this long after the swap: a BPF
 * program that looked it up just before may still be writing to it (they
 * run for microseconds; this is the margin for one preempted meanwhile). */
#define LT_RING_GRACE_NS 100000000ULL
/* The rate and the drop counters are judged over windows this long. */
#define LT_RING_WINDOW_NS 250000000ULL
/* The end of a run waits this many times 1 ms for a replaced ring's last
 * record to be committed. */
#define LT_RING_DRAIN_TRIES 100

struct lt_ring {
	int map_fd; /* -1: none */
	struct ring_buffer *rb;
	/* The consumer and producer position pages, read-only: libbpf 1.1
	 * does not say how full its rings are. */
	const uint8_t *pos;
	size_t pos_len;
	uint64_t size_bytes;
};

struct lt_ring_sizer {
	int rings_fd;
	uint32_t slot;
	struct lt_ring_policy policy;
	struct lt_bpf_maps maps;
	lt_ring_record_fn on_record;
	void *ctx;
	struct lt_ring cur;      /* the ring in the slot */
	struct lt_ring old;      /* the one it replaced, until read to its end */
	uint64_t old_until_ns;   /* ... and at least until then */
	uint64_t resizes;
	uint64_t resized_ns;     /* the last resize (or the start) */
	uint64_t busy_ns;        /* the last window with use over 1/8 */
	uint64_t drops_seen;     /* ring-full drops counted by then */
	/* The window being watched. */
	uint64_t window_start_ns;
	uint64_t window_prod;    /* the producer position at its start */
	uint64_t peak_fill;      /* the most seen waiting in it */
};

static uint64_t ring_cons(const struct lt_ring *r)
{
	return __atomic_load_n((const uint64_t *)r->pos, __ATOMIC_ACQUIRE);
}

static uint64_t ring_prod(const struct lt_ring *r)
{
	return __atomic_load_n((const uint64_t *)(r->pos + r->pos_len / 2), __ATOMIC_ACQUIRE);
}

static uint64_t ring_fill(const struct lt_ring *r)
{
	return ring_prod(r) - ring_cons(r);
}

static void ring_close(struct lt_ring *r)
{
	ring_buffer__free(r->rb);
	if (r->pos)
		munmap((void *)r->pos, r->pos_len);
	if (r->map_fd >= 0)
		close(r->map_fd);
	*r = (struct lt_ring){ .map_fd = -1 };
}

static int ring_open(const struct lt_ring_sizer *rs, uint64_t size_bytes, struct lt_ring *r)
{
	long page = sysconf(_SC_PAGESIZE);
	void *pos;
	int err;

	*r = (struct lt_ring){ .map_fd = -1 };
	r->map_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "lt_ring", 0, 0, (uint32_t)size_bytes,
				   NULL);
	if (r->map_fd < 0) {
		err = -errno;
		r->map_fd = -1;
		goto fail;
	}
	r->rb = ring_buffer__new(r->map_fd, (ring_buffer_sample_fn)rs->on_record, rs->ctx, NULL);
	if (!r->rb) {
		err = -errno;
		goto fail;
	}
	r->pos_len = 2 * (size_t)page;
	pos = mmap(NULL, r->pos_len, PROT_READ, MAP_SHARED, r->map_fd, 0);
	if (pos == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	r->pos = pos;
	r->size_bytes = size_bytes;
	return 0;
fail:
	ring_close(r);
	return err;
}

/* Records BPF could not put in the ring, so far. */
static uint64_t ring_drops(const struct lt_ring_sizer *rs)
{
	static const uint32_t keys[] = { LT_DROP_RINGBUF_ALLOC, LT_DROP_RINGBUF_FREE,
					 LT_DROP_RINGBUF_TASK };
	uint64_t sum = 0, n;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!lt_map_read_counter(&rs->maps, LT_MAP_DROPS, keys[i], &n))
			sum += n;
	return sum;
}

static void start_window(struct lt_ring_sizer *rs, uint64_t now_ns)
{
	rs->window_start_ns = now_ns;
	rs->window_prod = ring_prod(&rs->cur);
	rs->peak_fill = 0;
}

static int put_in_slot(const struct lt_ring_sizer *rs, const struct lt_ring *r)
{
	return bpf_map_update_elem(rs->rings_fd, &rs->slot, &r->map_fd, BPF_ANY) ? -errno : 0;
}

int lt_ring_sizer_new(int rings_fd, uint32_t slot, const struct lt_ring_policy *p,
		      const struct lt_bpf_maps *maps, lt_ring_record_fn on_record, void *ctx,
		      struct lt_ring_sizer **out)
{
	struct lt_ring_sizer *rs = calloc(1, sizeof(*rs));
	uint64_t now;
	int err;

	*out = NULL;
	if (!rs)
		return -ENOMEM;
	rs->rings_fd = rings_fd;
	rs->slot = slot;
	rs->policy = *p;
	rs->maps = *maps;
	rs->on_record = on_record;
	rs->ctx = ctx;
	rs->cur.map_fd = rs->old.map_fd = -1;
	err = ring_open(rs, p->min_bytes, &rs->cur);
	if (!err)
		err = put_in_slot(rs, &rs->cur);
	if (err)
		goto fail;
	now = lt_now_ns();
	rs->resized_ns = rs->busy_ns = now;
	rs->drops_seen = ring_drops(rs);
	start_window(rs, now);
	*out = rs;
	return 0;
fail:
	lt_ring_sizer_free(rs);
	return err;
}

void lt_ring_sizer_free(struct lt_ring_sizer *rs)
{
	if (!rs)
		return;
	ring_close(&rs->old);
	ring_close(&rs->cur);
	free(rs);
}

int lt_ring_sizer_wait(struct lt_ring_sizer *rs, int timeout_ms)
{
	struct ring_buffer *rb = rs->cur.rb;
	struct epoll_event ev;

	/* Until the replaced ring is done, only its records are read: wait
	 * for those, or for its grace to end. */
	if (rs->old.rb) {
		uint64_t now = lt_now_ns();
		int left_ms = now < rs->old_until_ns ?
				      (int)((rs->old_until_ns - now) / 1000000) + 1 : 0;

		if (left_ms < timeout_ms)
			timeout_ms = left_ms;
		rb = rs->old.rb;
	}
	if (epoll_wait(ring_buffer__epoll_fd(rb), &ev, 1, timeout_ms) < 0)
		return -errno;
	return 0;
}

int lt_ring_sizer_consume(struct lt_ring_sizer *rs)
{
	uint64_t fill;
	int n = 0, ret;

	if (rs->old.rb) {
		n = ring_buffer__consume(rs->old.rb);
		if (n < 0)
			return n;
		/* A record still being written, or a writer that may still
		 * come: the new ring's records wait, they are later ones. */
		if (ring_fill(&rs->old) || lt_now_ns() < rs->old_until_ns)
			return n;
		ring_close(&rs->old);
	}
	fill = ring_fill(&rs->cur);
	if (fill > rs->peak_fill)
		rs->peak_fill = fill;
	ret = ring_buffer__consume(rs->cur.rb);
	return ret < 0 ? ret : n + ret;
}

int lt_ring_sizer_drain(struct lt_ring_sizer *rs)
{
	struct timespec ms = { 0, 1000000 };
	uint64_t now = lt_now_ns();
	int n = 0, ret;

	if (rs->old.rb && now < rs->old_until_ns) {
		uint64_t left_ns = rs->old_until_ns - now;
		struct timespec grace = { (time_t)(left_ns / 1000000000ULL),
					  (long)(left_ns % 1000000000ULL) };

		nanosleep(&grace, NULL);
	}
	ret = lt_ring_sizer_consume(rs);
	for (int i = 0; ret >= 0 && rs->old.rb && i < LT_RING_DRAIN_TRIES; i++) {
		n += ret;
		nanosleep(&ms, NULL);
		ret = lt_ring_sizer_consume(rs);
	}
	return ret < 0 ? ret : n + ret;
}

static int resize(struct lt_ring_sizer *rs, uint64_t size_bytes, uint64_t now_ns)
{
	struct lt_ring next;
	int err = ring_open(rs, size_bytes, &next);

	if (!err)
		err = put_in_slot(rs, &next);
	if (err) {
		ring_close(&next);
		return err;
	}
	rs->old = rs->cur;
	rs->cur = next;
	/* The real clock: the grace is for writers running now. */
	rs->old_until_ns = lt_now_ns() + LT_RING_GRACE_NS;
	rs->resized_ns = now_ns;
	rs->resizes++;
	start_window(rs, now_ns);
	return 0;
}

int lt_ring_sizer_adjust(struct lt_ring_sizer *rs, uint64_t now_ns)
{
	uint64_t elapsed = now_ns - rs->window_start_ns, drops, next;
	uint64_t written = ring_prod(&rs->cur) - rs->window_prod;
	struct lt_ring_seen seen;

	if (rs->old.rb)
		return 0;
	/* Over half full grows at once; the rest is judged per window. */
	if (elapsed < LT_RING_WINDOW_NS && rs->peak_fill <= rs->cur.size_bytes / 2)
		return 0;
	drops = ring_drops(rs);
	seen = (struct lt_ring_seen){
		.size_bytes = rs->cur.size_bytes,
		.peak_fill_bytes = rs->peak_fill,
		.rate_bytes_per_s = elapsed ? (uint64_t)((double)written * 1e9 / (double)elapsed) : 0,
		.since_resize_ns = now_ns - rs->resized_ns,
		.dropped = drops != rs->drops_seen,
	};
	rs->drops_seen = drops;
	if (lt_ring_busy(&rs->policy, &seen))
		rs->busy_ns = now_ns;
	seen.since_busy_ns = now_ns - rs->busy_ns;
	next = lt_ring_next_size(&rs->policy, &seen);
	start_window(rs, now_ns);
	return next == rs->cur.size_bytes ? 0 : resize(rs, next, now_ns);
}

uint64_t lt_ring_sizer_bytes(const struct lt_ring_sizer *rs)
{
	return rs ? rs->cur.size_bytes : 0;
}

uint64_t lt_ring_sizer_resizes(const struct lt_ring_sizer *rs)
{
	return rs ? rs->resizes : 0;
}
