// SPDX-License-Identifier: MIT
#include "consume/event_consumer.h"

#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "consume/fd_describe.h"
#include "consume/traced_processes.h"
#include "python/python_attach.h"
#include "python/python_objects.h"
#include "session.h"
#include "symbols/frame_resolver.h"

/*
 * Live blocks and stacks kept, for --max-allocs and --max-stacks. One lane
 * counts in the session's stats, exactly. Several add to shared counters
 * in batches of up to COUNT_BATCH, so a bound may be passed by that many
 * per other lane until the main thread's next recount makes them exact.
 */
#define COUNT_BATCH 64

/* One count: exact in the session's stats with one lane, else shared. */
static void add_count(const struct lt_lane *l, uint64_t *exact, _Atomic int64_t *shared,
		      int64_t *pending, int64_t delta)
{
	if (!l->shared) {
		*exact = (int64_t)*exact + delta > 0 ? *exact + delta : 0;
		return;
	}
	*pending += delta;
	if (*pending >= COUNT_BATCH || *pending <= -COUNT_BATCH) {
		atomic_fetch_add_explicit(shared, *pending, memory_order_relaxed);
		*pending = 0;
	}
}

static uint64_t read_count(const struct lt_lane *l, uint64_t exact, _Atomic int64_t *shared,
			   int64_t pending)
{
	int64_t n;

	if (!l->shared)
		return exact;
	n = atomic_load_explicit(shared, memory_order_relaxed) + pending;
	return n > 0 ? (uint64_t)n : 0;
}

/* From here on the record reaches past its lane's own processes. */
static void lane_lock(struct lt_lane *l)
{
	if (l->shared && !l->locked) {
		pthread_mutex_lock(&l->s->slow_lock);
		l->locked = true;
	}
}

static void count_tracked(struct lt_lane *l, int64_t allocs, int64_t stacks)
{
	struct lt_session *s = l->s;

	add_count(l, &s->stats.tracked_allocs, &s->tracked_allocs_now, &l->allocs_pending, allocs);
	add_count(l, &s->stats.tracked_stacks, &s->tracked_stacks_now, &l->stacks_pending, stacks);
}

static uint64_t tracked_allocs(const struct lt_lane *l)
{
	return read_count(l, l->s->stats.tracked_allocs, &l->s->tracked_allocs_now,
			  l->allocs_pending);
}

static uint64_t tracked_stacks(const struct lt_lane *l)
{
	return read_count(l, l->s->stats.tracked_stacks, &l->s->tracked_stacks_now,
			  l->stacks_pending);
}

/*
 * Every native block enters and leaves a table through these two, so its
 * stack's reference count and the --max-allocs/--max-stacks counts stay
 * right: a stack no block uses any more is recycled.
 */
static int track_block(struct lt_lane *l, struct lt_process *p, struct lt_live_table *t,
		       const struct lt_live_alloc *a)
{
	struct lt_live_alloc prev;
	int err = lt_live_put(t, a, &prev);

	if (err < 0)
		return err;
	lt_stacks_ref(&p->stacks, a->stack_id);
	if (!err) {
		count_tracked(l, 1, 0);
		return 0;
	}
	if (lt_stacks_unref(&p->stacks, prev.stack_id))
		count_tracked(l, 0, -1);
	return 1;
}

static bool untrack_block(struct lt_lane *l, struct lt_process *p, struct lt_live_table *t,
			  uint64_t addr)
{
	struct lt_live_alloc old;

	if (!lt_live_remove(t, addr, &old))
		return false;
	count_tracked(l, -1, -(int64_t)lt_stacks_unref(&p->stacks, old.stack_id));
	return true;
}

static void release_block(struct lt_lane *l, struct lt_process *p, uint64_t addr)
{
	/* The report of a Python program is of the moment its shutdown began. */
	if (p && p->py && p->py->finalizing)
		return;
	if (p && untrack_block(l, p, &p->heap, addr))
		return;
	/* The Python object allocator's large blocks are counted as Python
	 * memory; libc frees them right after the Python free. */
	if (p && p->py && lt_py_process_freed_recently(p->py, addr))
		return;
	l->stats->unmatched_frees++;
}

/* The counts the bounds are checked against, made exact again: processes
 * that exit or exec drop whole tables without passing through the above.
 * With several lanes, only while they wait (the world lock held). */
void lt_recount_tracked(struct lt_session *s)
{
	uint64_t allocs = 0, stacks = 0;

	for (size_t b = 0; b < LT_PROC_BUCKETS; b++) {
		for (const struct lt_process *p = s->procs.buckets[b]; p; p = p->next) {
			allocs += p->heap.count + p->mmaps.count + p->fds.open.count +
				  (p->py ? p->py->objects.count : 0);
			stacks += p->stacks.live;
		}
	}
	s->stats.tracked_allocs = allocs;
	s->stats.tracked_stacks = stacks;
	atomic_store(&s->tracked_allocs_now, (int64_t)allocs);
	atomic_store(&s->tracked_stacks_now, (int64_t)stacks);
	for (uint32_t i = 0; i < LT_MAX_LANES; i++)
		s->lanes[i].allocs_pending = s->lanes[i].stacks_pending = 0;
}

/* Past a bound a new block (key: its address, or a descriptor's key) is
 * counted, not kept (memory stays bounded). */
static bool over_bounds(struct lt_lane *l, struct lt_process *p, const struct lt_alloc_event *e,
			struct lt_live_table *t, uint64_t key, uint32_t nframes)
{
	struct lt_session *s = l->s;
	uint32_t id;

	if (tracked_allocs(l) >= s->opts->max_allocs && !lt_live_get(t, key, NULL))
		return true;
	return tracked_stacks(l) >= s->opts->max_stacks &&
	       !lt_stacks_find(&p->stacks, (const uint64_t *)e->frames, nframes, &id);
}

/*
 * a's stack (and --native or descriptor records' Python traceback, as its
 * id + 1 in pad) from e. Returns 0, or -ENOMEM (counted).
 */
static int take_stack(struct lt_lane *l, struct lt_process *p, const struct lt_alloc_event *e,
		      size_t size, uint32_t nframes, struct lt_live_alloc *a)
{
	struct lt_session *s = l->s;
	struct lt_stack *st;
	bool is_new;

	if (lt_stacks_intern(&p->stacks, (const uint64_t *)e->frames, nframes, &a->stack_id,
			     &is_new)) {
		l->stats->out_of_memory++;
		return -ENOMEM;
	}
	/* Resolve now: the process may be gone by report time. Its mappings
	 * mostly know their modules already; the rest needs the session's
	 * module cache, or a fresh read of the mappings, so the lock. */
	if (is_new) {
		count_tracked(l, 0, 1);
		st = lt_stacks_get(&p->stacks, a->stack_id);
		if (!lt_resolve_stack_known(p, st)) {
			lane_lock(l);
			if (lt_resolve_stack(p, st, &s->modules))
				l->stats->out_of_memory++;
		}
	}
	a->ts_ns = e->hdr.ts_ns;
	if (e->npy && p->py && size >= sizeof(*e) - sizeof(e->pyframes)) {
		uint32_t npy = e->npy, py_id;

		if (npy > (size - (sizeof(*e) - sizeof(e->pyframes))) / sizeof(e->pyframes[0]))
			npy = (size - (sizeof(*e) - sizeof(e->pyframes))) / sizeof(e->pyframes[0]);
		if (npy > LT_PY_MAX_FRAMES)
			npy = LT_PY_MAX_FRAMES;
		if (lt_py_process_traceback(p->py, e->pyframes, npy, &py_id))
			l->stats->out_of_memory++;
		else
			a->pad = py_id + 1;
	}
	return 0;
}

static void on_alloc(struct lt_lane *l, struct lt_process *p, const struct lt_alloc_event *e,
		     size_t size)
{
	struct lt_session *s = l->s;
	struct lt_live_table *table;
	struct lt_live_alloc a = {};
	uint32_t nframes = e->nframes;
	int err;

	if (e->hdr.kind == LT_EV_MMAP)
		l->stats->mmap_events++;
	else
		l->stats->alloc_events++;
	if (!p)
		p = lt_traced_process_for(s, e->hdr.tgid, e->hdr.ts_ns);
	if (!p)
		return;
	if (p->exited || (p->py && p->py->finalizing))
		return;
	if (e->released_addr)
		release_block(l, p, e->released_addr);
	if (nframes > (size - LT_ALLOC_EVENT_HDR_BYTES) / sizeof(e->frames[0]))
		nframes = (size - LT_ALLOC_EVENT_HDR_BYTES) / sizeof(e->frames[0]);
	table = e->hdr.kind == LT_EV_MMAP ? &p->mmaps : &p->heap;
	if (over_bounds(l, p, e, table, e->addr, nframes)) {
		l->stats->untracked_allocs++;
		l->stats->untracked_bytes += e->size_bytes;
		return;
	}
	if (take_stack(l, p, e, size, nframes, &a))
		return;
	a.addr = e->addr;
	a.size_bytes = e->size_bytes;
	err = track_block(l, p, table, &a);
	if (err < 0)
		l->stats->out_of_memory++;
	else if (err > 0)
		l->stats->replaced_allocs++;
	/* New mappings (libpython is mapped after exec) may be an interpreter. */
	if (!p->py && p->maps.n != p->py_checked_maps) {
		lane_lock(l);
		if (lt_traced_notice_mappings(s, p) == -ENOMEM)
			l->stats->out_of_memory++;
	}
}

static void on_py_alloc(struct lt_lane *l, struct lt_process *p, const struct lt_py_alloc_event *e,
			size_t size)
{
	struct lt_session *s = l->s;
	uint32_t npy = e->npy;
	size_t before;

	l->stats->py_alloc_events++;
	if (!p || !p->py || p->exited || p->py->finalizing)
		return;
	if (npy > (size - LT_PY_ALLOC_EVENT_HDR_BYTES) / sizeof(e->frames[0]))
		npy = (size - LT_PY_ALLOC_EVENT_HDR_BYTES) / sizeof(e->frames[0]);
	if (tracked_allocs(l) >= s->opts->max_allocs) {
		l->stats->untracked_allocs++;
		l->stats->untracked_bytes += e->size_bytes;
		return;
	}
	before = p->py->objects.count;
	if (lt_py_process_add(p->py, e, npy))
		l->stats->out_of_memory++;
	count_tracked(l, (int64_t)(p->py->objects.count - before), 0);
}

static void on_py_reuse(struct lt_lane *l, struct lt_process *p, const struct lt_py_alloc_event *e,
			size_t size)
{
	uint32_t npy = e->npy;

	if (!p || !p->py || p->exited || p->py->finalizing)
		return;
	if (npy > (size - LT_PY_ALLOC_EVENT_HDR_BYTES) / sizeof(e->frames[0]))
		npy = (size - LT_PY_ALLOC_EVENT_HDR_BYTES) / sizeof(e->frames[0]);
	if (lt_py_process_reuse(p->py, e, npy))
		l->stats->out_of_memory++;
}

static void on_py_code(struct lt_lane *l, struct lt_process *p, const struct lt_py_code_event *e)
{
	if (p && p->py && !p->exited && lt_py_process_code_copy(p->py, e))
		l->stats->out_of_memory++;
}

static void on_py_free(struct lt_lane *l, struct lt_process *p, const struct lt_free_event *e)
{
	struct lt_session *s = l->s;

	l->stats->py_free_events++;
	/* Whatever happens to the record, a process stopped for it resumes. */
	if (e->hdr.kind == LT_EV_PY_FINALIZE && e->len_bytes &&
	    (!p || !p->py || p->exited || p->py->finalizing)) {
		kill((pid_t)e->hdr.tgid, SIGCONT);
		return;
	}
	if (!p || !p->py || p->exited || p->py->finalizing)
		return;
	if (e->hdr.kind == LT_EV_PY_FINALIZE) {
		lt_python_finalizing(s, p, e);
		return;
	}
	if (e->len_bytes) /* a code object's block */
		lt_py_reader_code_freed(&p->py->reader, e->addr);
	if (lt_py_process_remove(p->py, e->addr))
		count_tracked(l, -1, 0);
}

/* munmap may cover several regions, or cut one at either end or inside. */
static void on_munmap(struct lt_lane *l, struct lt_process *p, const struct lt_free_event *e)
{
	uint64_t lo = e->addr, hi = e->addr + e->len_bytes;
	struct lt_live_alloc hit[16], a;
	uint64_t iter;
	size_t n;

	l->stats->munmap_events++;
	if (!p || hi <= lo)
		return;
	do {
		n = 0;
		for (iter = 0; n < 16 && lt_live_next(&p->mmaps, &iter, &a);)
			if (a.addr < hi && a.addr + a.size_bytes > lo)
				hit[n++] = a;
		for (size_t i = 0; i < n; i++) {
			struct lt_live_alloc r = hit[i];
			uint64_t end = r.addr + r.size_bytes;

			/* The pieces that stay keep r's stack: take them
			 * before r lets go of it. */
			if (end > hi) {
				struct lt_live_alloc tail = r;

				tail.addr = hi;
				tail.size_bytes = end - hi;
				if (track_block(l, p, &p->mmaps, &tail) < 0)
					l->stats->out_of_memory++;
			}
			if (r.addr < lo) {
				struct lt_live_alloc head = r;

				head.size_bytes = lo - r.addr;
				if (track_block(l, p, &p->mmaps, &head) < 0) /* replaces r */
					l->stats->out_of_memory++;
			} else {
				untrack_block(l, p, &p->mmaps, r.addr);
			}
		}
	} while (n == 16);
}

/*
 * Descriptors. A number made again while we hold it was closed behind our
 * back (close-on-exec, dup2 over it, a close we missed): its record goes.
 */
static void on_fd_open(struct lt_lane *l, struct lt_process *p, const struct lt_alloc_event *e,
		       size_t size)
{
	struct lt_session *s = l->s;
	uint32_t nframes = e->nframes, fd = (uint32_t)e->addr;
	struct lt_live_alloc a = {};
	int err;

	l->stats->fd_open_events++;
	if (!p)
		p = lt_traced_process_for(s, e->hdr.tgid, e->hdr.ts_ns);
	if (!p || p->exited || (p->py && p->py->finalizing))
		return;
	lt_fd_table_drop_before(&p->fds, fd, fd);
	lt_fd_table_forget_note(&p->fds, fd);
	if (nframes > (size - LT_ALLOC_EVENT_HDR_BYTES) / sizeof(e->frames[0]))
		nframes = (size - LT_ALLOC_EVENT_HDR_BYTES) / sizeof(e->frames[0]);
	if (over_bounds(l, p, e, &p->fds.open, lt_fd_key(fd), nframes)) {
		l->stats->untracked_allocs++;
		/* The number is made again: what it was is closed. */
		untrack_block(l, p, &p->fds.open, lt_fd_key(fd));
		return;
	}
	if (take_stack(l, p, e, size, nframes, &a))
		return;
	a.addr = lt_fd_key(fd);
	a.size_bytes = 1;
	err = track_block(l, p, &p->fds.open, &a);
	if (err < 0)
		l->stats->out_of_memory++;
	if (!p->py && p->maps.n != p->py_checked_maps && lt_traced_notice_mappings(s, p) == -ENOMEM)
		l->stats->out_of_memory++;
}

static void on_fd_desc(struct lt_lane *l, struct lt_process *p, const struct lt_fd_desc_event *e,
		       size_t size)
{
	enum lt_fd_kind kind;
	char text[LT_FD_PATH_BYTES + 64];

	if (!p || p->exited || !lt_live_get(&p->fds.open, lt_fd_key(e->fd), NULL))
		return;
	kind = lt_fd_describe(e, size, text, sizeof(text));
	if (lt_fd_table_note(&p->fds, e->fd, kind, text))
		l->stats->out_of_memory++;
}

static void close_fd(struct lt_lane *l, struct lt_process *p, uint32_t fd)
{
	if (untrack_block(l, p, &p->fds.open, lt_fd_key(fd)))
		lt_fd_table_forget_note(&p->fds, fd);
}

/* close(fd), or close_range(first, last): last may be ~0U. */
static void on_fd_close(struct lt_lane *l, struct lt_process *p, const struct lt_free_event *e)
{
	uint32_t first = (uint32_t)e->addr, last = (uint32_t)e->len_bytes;
	struct lt_live_alloc a;
	uint32_t hit[64];
	uint64_t iter;
	size_t n;

	l->stats->fd_close_events++;
	/* The report of a Python program is of the moment its shutdown began:
	 * what the interpreter closes on its way out was left open by the program. */
	if (!p || p->exited || last < first || (p->py && p->py->finalizing))
		return;
	lt_fd_table_drop_before(&p->fds, first, last);
	if (last - first < 64) {
		for (uint64_t fd = first; fd <= last; fd++)
			close_fd(l, p, (uint32_t)fd);
		return;
	}
	/* A wide range: walk the records, not the numbers. */
	do {
		n = 0;
		for (iter = 0; n < 64 && lt_live_next(&p->fds.open, &iter, &a);)
			if (a.addr - 1 >= first && a.addr - 1 <= last)
				hit[n++] = (uint32_t)(a.addr - 1);
		for (size_t i = 0; i < n; i++)
			close_fd(l, p, hit[i]);
	} while (n == 64);
}

/* p: the record's process, if known already. */
static void dispatch(struct lt_lane *l, struct lt_process *p, const struct lt_event_hdr *hdr,
		     void *data, size_t size)
{
	struct lt_session *s = l->s;

	switch (hdr->kind) {
	case LT_EV_ALLOC:
	case LT_EV_MMAP:
		if (size >= LT_ALLOC_EVENT_HDR_BYTES)
			on_alloc(l, p, data, size);
		break;
	case LT_EV_FREE:
		if (size >= sizeof(struct lt_free_event)) {
			l->stats->free_events++;
			release_block(l, p, ((const struct lt_free_event *)data)->addr);
		}
		break;
	case LT_EV_MUNMAP:
		if (size >= sizeof(struct lt_free_event))
			on_munmap(l, p, data);
		break;
	case LT_EV_FORK:
		if (size >= sizeof(struct lt_task_event))
			lt_traced_on_fork(s, data);
		break;
	case LT_EV_EXEC:
		if (size >= sizeof(struct lt_exec_event))
			lt_traced_on_exec(s, data);
		break;
	case LT_EV_EXIT:
		if (size >= sizeof(struct lt_task_event))
			lt_traced_on_exit(s, data);
		break;
	case LT_EV_LIB_MAP:
		if (size >= sizeof(struct lt_lib_event))
			lt_traced_on_lib_map(s, data);
		break;
	case LT_EV_EXIT_MAPS:
		if (size >= LT_EXIT_MAPS_HDR_BYTES)
			lt_traced_on_exit_maps(s, data, size);
		break;
	case LT_EV_PY_ALLOC:
		if (size >= LT_PY_ALLOC_EVENT_HDR_BYTES)
			on_py_alloc(l, p, data, size);
		break;
	case LT_EV_PY_CODE:
		if (size >= sizeof(struct lt_py_code_event))
			on_py_code(l, p, data);
		break;
	case LT_EV_PY_REUSE:
		if (size >= LT_PY_ALLOC_EVENT_HDR_BYTES)
			on_py_reuse(l, p, data, size);
		break;
	case LT_EV_FD_OPEN:
		if (size >= LT_ALLOC_EVENT_HDR_BYTES)
			on_fd_open(l, p, data, size);
		break;
	case LT_EV_FD_DESC:
		if (size >= offsetof(struct lt_fd_desc_event, path))
			on_fd_desc(l, p, data, size);
		break;
	case LT_EV_FD_CLOSE:
		if (size >= sizeof(struct lt_free_event))
			on_fd_close(l, p, data);
		break;
	case LT_EV_PY_FREE:
	case LT_EV_PY_FINALIZE:
		if (size >= sizeof(struct lt_free_event))
			on_py_free(l, p, data);
		break;
	case LT_EV_KALLOC:
		lt_kernel_on_alloc(&s->kernel, data, size);
		break;
	case LT_EV_KFREE:
		lt_kernel_on_free(&s->kernel, data, size);
		break;
	}
}

/*
 * With several lanes: may this record be taken without the session's lock?
 * Only if it starts within its process's tables, which its lane alone
 * touches: a free, or a native block (no new mapping to look at). A block
 * whose new stack cannot be resolved from what its mappings know takes the
 * lock when it comes to that (lane_lock).
 */
static bool stays_in_process(const struct lt_process *p, const struct lt_event_hdr *hdr,
			     const void *data, size_t size)
{
	const struct lt_alloc_event *e = data;

	if (!p || p->exited || (p->py && p->py->finalizing))
		return false;
	switch (hdr->kind) {
	case LT_EV_FREE:
	case LT_EV_MUNMAP:
	case LT_EV_FD_CLOSE:
		return size >= sizeof(struct lt_free_event);
	case LT_EV_PY_FREE: /* not a code object's: the code cache is shared */
		return p->py && size >= sizeof(struct lt_free_event) &&
		       !((const struct lt_free_event *)data)->len_bytes;
	case LT_EV_ALLOC:
	case LT_EV_MMAP:
		return size >= LT_ALLOC_EVENT_HDR_BYTES && !e->npy &&
		       (p->py || p->maps.n == p->py_checked_maps);
	default:
		return false;
	}
}

int lt_handle_event(void *ctx, void *data, size_t size)
{
	struct lt_lane *l = ctx;
	const struct lt_event_hdr *hdr = data;
	struct lt_process *p;

	if (size < sizeof(*hdr))
		return 0;
	/* Looked up once: only this lane, or the main thread while the lanes
	 * wait, adds or drops its processes. */
	/* Kernel objects are not the process's (and --kernel has one lane). */
	p = hdr->kind >= LT_EV_KALLOC ? NULL : lt_procs_get(&l->s->procs, hdr->tgid);
	if (l->shared && !stays_in_process(p, hdr, data, size))
		lane_lock(l);
	dispatch(l, p, hdr, data, size);
	if (l->locked) {
		l->locked = false;
		pthread_mutex_unlock(&l->s->slow_lock);
	}
	/* libbpf has already consumed this record: yield only after it. */
	if (++l->since_clock_check >= 256) {
		l->since_clock_check = 0;
		if (lt_now_ns() > l->consume_deadline_ns)
			return LT_CONSUME_YIELD;
	}
	return 0;
}

void lt_lanes_fold(struct lt_session *s)
{
	for (uint32_t i = 0; i < s->nlanes; i++) {
		struct lt_stats *o = &s->lanes[i].own;

		if (s->lanes[i].stats != o)
			continue;
		s->stats.alloc_events += o->alloc_events;
		s->stats.free_events += o->free_events;
		s->stats.mmap_events += o->mmap_events;
		s->stats.munmap_events += o->munmap_events;
		s->stats.unmatched_frees += o->unmatched_frees;
		s->stats.replaced_allocs += o->replaced_allocs;
		s->stats.out_of_memory += o->out_of_memory;
		s->stats.py_alloc_events += o->py_alloc_events;
		s->stats.py_free_events += o->py_free_events;
		s->stats.fd_open_events += o->fd_open_events;
		s->stats.fd_close_events += o->fd_close_events;
		s->stats.untracked_allocs += o->untracked_allocs;
		s->stats.untracked_bytes += o->untracked_bytes;
		memset(o, 0, sizeof(*o));
	}
	lt_recount_tracked(s);
}

void lt_lanes_share(struct lt_session *s, uint32_t nlanes)
{
	s->nlanes = nlanes < 1 ? 1 : nlanes > LT_MAX_LANES ? LT_MAX_LANES : nlanes;
	lt_recount_tracked(s);
	for (uint32_t i = 0; i < s->nlanes; i++) {
		s->lanes[i].shared = s->nlanes > 1;
		s->lanes[i].stats = s->nlanes > 1 ? &s->lanes[i].own : &s->stats;
	}
}
