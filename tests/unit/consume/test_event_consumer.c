// SPDX-License-Identifier: MIT
/* The consumer against recorded events and fake maps: what it keeps in the
 * tables, what it counts, and what it writes to BPF. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "consume/traced_processes.h"
#include "session_fixture.h"

static const uint64_t STACK_A[] = { 0x401000, 0x402000, 0 };
static const uint64_t STACK_B[] = { 0x401100, 0x402000, 0 };

static struct lt_process *proc(struct fixture *f, uint32_t tgid)
{
	return lt_procs_get(&f->s.procs, tgid);
}

/* A live entry, which must be there. */
static struct lt_live_alloc live_entry(const struct lt_live_table *t, uint64_t addr)
{
	struct lt_live_alloc a = { 0 };

	assert_true(lt_live_get(t, addr, &a));
	return a;
}

static uint64_t live_bytes(const struct lt_live_table *t)
{
	struct lt_live_alloc entry;
	const struct lt_live_alloc *a = &entry;
	uint64_t iter = 0;
	uint64_t sum = 0;

	while (lt_live_next(t, &iter, &entry))
		sum += a->size_bytes;
	return sum;
}

/* -c: blocks in, blocks out, a realloc, frees of blocks never seen. */
static void test_blocks(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct fixture f;
	struct lt_process *p;
	uint64_t t0 = lt_now_ns();

	(void)state;
	fixture_start(&f, args);
	for (int i = 0; i < 3; i++)
		feed_alloc(&f, GONE_TGID, t0, 0x1000 + i * 0x100, 100, 0, STACK_A);
	feed_alloc(&f, GONE_TGID, t0, 0x2000, 40, 0, STACK_B);
	feed_free(&f, LT_EV_FREE, GONE_TGID, 0x1100, 0);
	feed_free(&f, LT_EV_FREE, GONE_TGID, 0x9999, 0);            /* never seen */
	feed_alloc(&f, GONE_TGID, t0, 0x3000, 400, 0x2000, STACK_B); /* realloc 0x2000 */

	p = proc(&f, GONE_TGID);
	assert_non_null(p);
	assert_true(p->target); /* -c: only the command's tree reaches us */
	assert_int_equal(p->heap.count, 3);
	assert_int_equal(live_bytes(&p->heap), 600);
	assert_false(lt_live_get(&p->heap, 0x1100, NULL));
	assert_false(lt_live_get(&p->heap, 0x2000, NULL));
	assert_int_equal(live_entry(&p->heap, 0x3000).size_bytes, 400);
	/* One stack each for A and B; the realloc's block reuses B's. */
	assert_int_equal(live_entry(&p->heap, 0x3000).stack_id,
			 live_entry(&p->heap, 0x1000).stack_id + 1);
	assert_int_equal(f.s.stats.alloc_events, 5);
	assert_int_equal(f.s.stats.free_events, 2);
	assert_int_equal(f.s.stats.unmatched_frees, 1);
	assert_int_equal(f.s.stats.tracked_allocs, 3);
	assert_int_equal(f.s.stats.tracked_stacks, 2);
	fixture_stop(&f);
}

/* The same address handed out again without a free seen: the newer wins. */
static void test_replaced(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct fixture f;

	(void)state;
	fixture_start(&f, args);
	feed_alloc(&f, GONE_TGID, 1, 0x1000, 100, 0, STACK_A);
	feed_alloc(&f, GONE_TGID, 2, 0x1000, 30, 0, STACK_B);
	assert_int_equal(f.s.stats.replaced_allocs, 1);
	assert_int_equal(proc(&f, GONE_TGID)->heap.count, 1);
	assert_int_equal(live_bytes(&proc(&f, GONE_TGID)->heap), 30);
	/* A's stack held no block any more: recycled. */
	assert_int_equal(f.s.stats.tracked_stacks, 1);
	fixture_stop(&f);
}

/* --max-allocs: past the bound blocks are counted, not kept; their frees
 * are unmatched; freed room is used again. */
static void test_bounds(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct fixture f;

	(void)state;
	fixture_start(&f, args);
	/* The command line takes 1024 at least; 2 keeps the test small. */
	f.opts.max_allocs = 2;
	feed_alloc(&f, GONE_TGID, 1, 0x1000, 10, 0, STACK_A);
	feed_alloc(&f, GONE_TGID, 1, 0x2000, 20, 0, STACK_A);
	feed_alloc(&f, GONE_TGID, 1, 0x3000, 30, 0, STACK_B);
	assert_int_equal(f.s.stats.untracked_allocs, 1);
	assert_int_equal(f.s.stats.untracked_bytes, 30);
	feed_free(&f, LT_EV_FREE, GONE_TGID, 0x3000, 0);
	assert_int_equal(f.s.stats.unmatched_frees, 1);
	feed_free(&f, LT_EV_FREE, GONE_TGID, 0x1000, 0);
	feed_alloc(&f, GONE_TGID, 1, 0x4000, 40, 0, STACK_B);
	assert_int_equal(f.s.stats.untracked_allocs, 1);
	assert_int_equal(live_bytes(&proc(&f, GONE_TGID)->heap), 60);
	fixture_stop(&f);
}

/* --mmap: munmap cuts a region at either end or out of its middle; each
 * piece keeps the region's stack. */
static void test_munmap_pieces(void **state)
{
	const char *args[] = { "-c", "true", "--mmap", NULL };
	struct lt_alloc_event e = { .hdr = { .kind = LT_EV_MMAP, .tgid = GONE_TGID, .ts_ns = 1 },
				    .addr = 0x100000, .size_bytes = 0x10000, .nframes = 1,
				    .frames = { 0x401000 } };
	struct fixture f;
	struct lt_process *p;

	(void)state;
	fixture_start(&f, args);
	feed(&f, &e, LT_ALLOC_EVENT_HDR_BYTES + sizeof(e.frames[0]));
	feed_free(&f, LT_EV_MUNMAP, GONE_TGID, 0x104000, 0x2000);  /* the middle */
	feed_free(&f, LT_EV_MUNMAP, GONE_TGID, 0x0ff000, 0x2000);  /* the start */
	p = proc(&f, GONE_TGID);
	assert_int_equal(p->mmaps.count, 2);
	assert_int_equal(live_entry(&p->mmaps, 0x101000).size_bytes, 0x3000);
	assert_int_equal(live_entry(&p->mmaps, 0x106000).size_bytes, 0xa000);
	assert_int_equal(live_entry(&p->mmaps, 0x106000).stack_id,
			 live_entry(&p->mmaps, 0x101000).stack_id);
	assert_int_equal(f.s.stats.mmap_events, 1);
	assert_int_equal(f.s.stats.munmap_events, 2);
	assert_int_equal(p->heap.count, 0);
	fixture_stop(&f);
}

/* A target that exits keeps what it held for its last report; with
 * --sample-bytes its sampled blocks leave BPF's table. */
static void test_exit_of_target(void **state)
{
	const char *args[] = { "-c", "true", "--sample-bytes", "1", NULL };
	struct lt_sampled_key k1 = { .addr = 0x1000, .tgid = GONE_TGID };
	struct lt_sampled_key k2 = { .addr = 0x2000, .tgid = GONE_TGID };
	struct fixture f;
	struct lt_process *p;
	uint8_t one = 1;

	(void)state;
	fixture_start(&f, args);
	feed_alloc(&f, GONE_TGID, 1, 0x1000, 10, 0, STACK_A);
	feed_alloc(&f, GONE_TGID, 1, 0x2000, 20, 0, STACK_A);
	lt_map_update(&f.s.maps, LT_MAP_SAMPLED_BLOCKS, &k1, sizeof(k1), &one, sizeof(one));
	lt_map_update(&f.s.maps, LT_MAP_SAMPLED_BLOCKS, &k2, sizeof(k2), &one, sizeof(one));
	feed_task(&f, LT_EV_EXIT, GONE_TGID, 0, "app");
	p = proc(&f, GONE_TGID);
	assert_non_null(p);
	assert_true(p->exited);
	assert_int_equal(p->heap.count, 2);
	assert_int_equal(f.maps.m[LT_MAP_SAMPLED_BLOCKS].n, 0);
	/* Its Python layout, if it had one, is taken away too. */
	assert_int_equal(f.maps.m[LT_MAP_PY_LAYOUTS].removes, 1);
	fixture_stop(&f);
}

/* System-wide: a process that is not a target is forgotten at exit; the
 * command's exit ends a -c run. */
static void test_exit_of_other(void **state)
{
	const char *args[] = { NULL };
	struct fixture f;

	(void)state;
	fixture_start(&f, args);
	assert_int_equal(f.s.mode, LT_MODE_SYSTEM);
	feed_alloc(&f, GONE_TGID, 1, 0x1000, 10, 0, STACK_A);
	assert_non_null(proc(&f, GONE_TGID));
	assert_false(proc(&f, GONE_TGID)->target);
	feed_task(&f, LT_EV_EXIT, GONE_TGID, 0, "app");
	assert_null(proc(&f, GONE_TGID));
	assert_false(f.s.command_done);
	f.s.command_pid = GONE_TGID + 1;
	feed_task(&f, LT_EV_EXIT, GONE_TGID + 1, 0, "cmd");
	assert_true(f.s.command_done);
	fixture_stop(&f);
}

/* -c: a fork makes the child a target; its blocks are its own. */
static void test_fork(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct fixture f;
	struct lt_process *child;

	(void)state;
	fixture_start(&f, args);
	feed_alloc(&f, GONE_TGID, 1, 0x1000, 10, 0, STACK_A);
	feed_task(&f, LT_EV_FORK, GONE_TGID + 1, GONE_TGID, "child");
	child = proc(&f, GONE_TGID + 1);
	assert_non_null(child);
	assert_true(child->target);
	assert_string_equal(child->comm, "child");
	assert_int_equal(child->heap.count, 0);
	feed_alloc(&f, GONE_TGID + 1, 2, 0x1000, 99, 0, STACK_B);
	assert_int_equal(live_bytes(&child->heap), 99);
	assert_int_equal(live_bytes(&proc(&f, GONE_TGID)->heap), 10);
	fixture_stop(&f);
}

/* System-wide, another leaktrace: ignored in BPF from then on, so that two
 * tracers do not trace each other's bookkeeping without end. */
static void test_other_tracer_ignored(void **state)
{
	const char *args[] = { NULL };
	struct lt_exec_event e = { .task = { .hdr = { .kind = LT_EV_EXEC, .tgid = GONE_TGID,
						      .ts_ns = 1 },
					     .other_tgid = GONE_TGID, .comm = "leaktrace" },
				   .filename = "/usr/local/bin/leaktrace" };
	uint32_t key = GONE_TGID;
	struct fixture f;

	(void)state;
	fixture_start(&f, args);
	feed_alloc(&f, GONE_TGID, 1, 0x1000, 10, 0, STACK_A);
	assert_false(fake_has(&f.maps, LT_MAP_IGNORED_TGIDS, &key, sizeof(key)));
	feed(&f, &e, sizeof(e));
	assert_true(fake_has(&f.maps, LT_MAP_IGNORED_TGIDS, &key, sizeof(key)));
	assert_null(proc(&f, GONE_TGID));
	fixture_stop(&f);
}

/* --cgroup: a process moved out of the tree is let go of in BPF (the files
 * it reported, its place among the traced), and kept for one more report. */
static void test_left_cgroup(void **state)
{
	const char *args[] = { "--cgroup", "/sys/fs/cgroup/unified", NULL };
	struct lt_file_key mine1 = { .ino = 1, .dev = 2, .pad = GONE_TGID };
	struct lt_file_key mine2 = { .ino = 3, .dev = 2, .pad = GONE_TGID };
	struct lt_file_key other = { .ino = 1, .dev = 2, .pad = 77 };
	uint32_t key = GONE_TGID;
	struct fixture f;
	struct lt_process *p;
	uint8_t one = 1;

	(void)state;
	fixture_start(&f, args);
	assert_int_equal(f.s.mode, LT_MODE_CGROUP);
	lt_map_update(&f.s.maps, LT_MAP_KNOWN_FILES, &mine1, sizeof(mine1), &one, sizeof(one));
	lt_map_update(&f.s.maps, LT_MAP_KNOWN_FILES, &other, sizeof(other), &one, sizeof(one));
	lt_map_update(&f.s.maps, LT_MAP_KNOWN_FILES, &mine2, sizeof(mine2), &one, sizeof(one));
	lt_map_update(&f.s.maps, LT_MAP_TRACED_TGIDS, &key, sizeof(key), &one, sizeof(one));
	feed_alloc(&f, GONE_TGID, 1, 0x1000, 10, 0, STACK_A);
	p = proc(&f, GONE_TGID);
	lt_traced_left_cgroup(&f.s, p);
	assert_true(p->left_cgroup);
	assert_true(p->exited);
	assert_int_equal(p->heap.count, 1);
	assert_int_equal(f.maps.m[LT_MAP_KNOWN_FILES].n, 1);
	assert_true(fake_has(&f.maps, LT_MAP_KNOWN_FILES, &other, sizeof(other)));
	assert_false(fake_has(&f.maps, LT_MAP_TRACED_TGIDS, &key, sizeof(key)));
	fixture_stop(&f);
}

/* Records cut short or of unknown kinds are skipped, never read past. */
static void test_malformed(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct lt_alloc_event e = { .hdr = { .kind = LT_EV_ALLOC, .tgid = GONE_TGID, .ts_ns = 1 },
				    .addr = 0x1000, .size_bytes = 8, .nframes = 100 };
	struct lt_event_hdr odd = { .kind = 999, .tgid = GONE_TGID };
	struct fixture f;

	(void)state;
	fixture_start(&f, args);
	feed(&f, &e, 4);                        /* shorter than a header */
	feed(&f, &e, LT_ALLOC_EVENT_HDR_BYTES - 1);
	assert_int_equal(f.s.stats.alloc_events, 0);
	/* nframes says 100, the record holds 2: the block keeps 2 frames. */
	feed(&f, &e, LT_ALLOC_EVENT_HDR_BYTES + 2 * sizeof(e.frames[0]));
	assert_int_equal(f.s.stats.alloc_events, 1);
	assert_int_equal(lt_stacks_get(&proc(&f, GONE_TGID)->stacks,
				       live_entry(&proc(&f, GONE_TGID)->heap, 0x1000).stack_id)
				 ->nframes,
			 2);
	feed(&f, &odd, sizeof(odd));
	fixture_stop(&f);
}

static void feed_fd_open(struct fixture *f, uint32_t tgid, uint32_t fd, const uint64_t *frames)
{
	struct lt_alloc_event e = {
		.hdr = { .kind = LT_EV_FD_OPEN, .tgid = tgid, .ts_ns = lt_now_ns() },
		.addr = fd, .func = 257,
	};

	while (frames[e.nframes])
		e.frames[e.nframes] = frames[e.nframes], e.nframes++;
	feed(f, &e, LT_ALLOC_EVENT_HDR_BYTES + e.nframes * sizeof(e.frames[0]));
}

/* A regular file at /tmp/x/NAME, as BPF describes it (innermost first). */
static void feed_fd_file(struct fixture *f, uint32_t tgid, uint32_t fd, const char *name)
{
	struct lt_fd_desc_event e = {
		.hdr = { .kind = LT_EV_FD_DESC, .tgid = tgid, .ts_ns = lt_now_ns() },
		.fd = fd, .mode = 0100644, .fs_magic = 0xEF53, .npath = 3,
	};
	size_t n = strlen(name) + 1;

	memcpy(e.path, name, n);
	memcpy(e.path + n, "x\0tmp", 6);
	feed(f, &e, sizeof(e));
}

static const struct lt_fd_note *note(struct fixture *f, uint32_t fd)
{
	return lt_fd_table_note_of(&proc(f, GONE_TGID)->fds, fd);
}

/* Descriptors made and closed, named; a number made again replaces its
 * record; a close of one never seen changes nothing. */
static void test_fds(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct fixture f;
	struct lt_process *p;

	(void)state;
	fixture_start(&f, args);
	feed_fd_open(&f, GONE_TGID, 3, STACK_A);
	feed_fd_file(&f, GONE_TGID, 3, "a.txt");
	feed_fd_open(&f, GONE_TGID, 4, STACK_A);
	feed_fd_file(&f, GONE_TGID, 4, "b.txt");
	feed_fd_open(&f, GONE_TGID, 5, STACK_B);
	p = proc(&f, GONE_TGID);
	assert_int_equal(p->fds.open.count, 3);
	assert_string_equal(note(&f, 3)->text, "/tmp/x/a.txt");
	assert_int_equal(note(&f, 3)->kind, LT_FD_FILE);
	assert_null(note(&f, 5)); /* its description was lost */
	feed_free(&f, LT_EV_FD_CLOSE, GONE_TGID, 4, 4);
	assert_false(lt_live_get(&p->fds.open, lt_fd_key(4), NULL));
	assert_null(note(&f, 4));
	feed_free(&f, LT_EV_FD_CLOSE, GONE_TGID, 9, 9);
	assert_int_equal(p->fds.open.count, 2);
	/* 3 made again (closed behind our back): B's now, not described yet. */
	feed_fd_open(&f, GONE_TGID, 3, STACK_B);
	assert_int_equal(p->fds.open.count, 2);
	assert_null(note(&f, 3));
	assert_int_equal(live_entry(&p->fds.open, lt_fd_key(3)).stack_id,
			 live_entry(&p->fds.open, lt_fd_key(5)).stack_id);
	/* A's stack holds nothing now: recycled; fds count as tracked blocks. */
	assert_int_equal(f.s.stats.tracked_stacks, 1);
	assert_int_equal(f.s.stats.tracked_allocs, 2);
	assert_int_equal(f.s.stats.fd_open_events, 4);
	assert_int_equal(f.s.stats.fd_close_events, 2);
	/* A description of a number not open is not kept. */
	feed_fd_file(&f, GONE_TGID, 7, "c.txt");
	assert_null(lt_fd_table_note_of(&p->fds, 7));
	fixture_stop(&f);
}

/* close_range: a narrow range by number, a wide one (up to ~0U) by record;
 * descriptors open before tracing leave the "before" list as they close. */
static void test_fd_close_range(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	static const uint32_t before[] = { 0, 1, 2, 10, 11 };
	struct fixture f;
	struct lt_process *p;

	(void)state;
	fixture_start(&f, args);
	for (uint32_t fd = 3; fd < 100; fd++)
		feed_fd_open(&f, GONE_TGID, fd, fd % 2 ? STACK_A : STACK_B);
	p = proc(&f, GONE_TGID);
	p->fds.before = malloc(sizeof(before));
	assert_non_null(p->fds.before);
	memcpy(p->fds.before, before, sizeof(before));
	p->fds.nbefore = p->fds.cap_before = 5;
	/* 10 and 11 were made again since (closed before, unseen): off the list. */
	assert_int_equal(p->fds.open.count, 97);
	feed_fd_open(&f, GONE_TGID, 10, STACK_A);
	assert_int_equal(p->fds.nbefore, 4);
	feed_free(&f, LT_EV_FD_CLOSE, GONE_TGID, 5, 20);
	assert_int_equal(p->fds.open.count, 81);
	assert_int_equal(p->fds.nbefore, 3); /* 11 */
	assert_true(lt_live_get(&p->fds.open, lt_fd_key(4), NULL));
	assert_true(lt_live_get(&p->fds.open, lt_fd_key(21), NULL));
	feed_free(&f, LT_EV_FD_CLOSE, GONE_TGID, 1, 0xffffffffu);
	assert_int_equal(p->fds.open.count, 0);
	assert_int_equal(p->fds.nbefore, 1);
	assert_int_equal(p->fds.before[0], 0);
	assert_int_equal(f.s.stats.tracked_allocs, 0);
	assert_int_equal(f.s.stats.tracked_stacks, 0);
	fixture_stop(&f);
}

/* --max-allocs bounds descriptors too; exec drops the old image's records. */
static void test_fd_bounds_and_exec(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct fixture f;

	(void)state;
	fixture_start(&f, args);
	f.opts.max_allocs = 2;
	feed_fd_open(&f, GONE_TGID, 3, STACK_A);
	feed_fd_open(&f, GONE_TGID, 4, STACK_A);
	feed_fd_open(&f, GONE_TGID, 5, STACK_A);
	assert_int_equal(proc(&f, GONE_TGID)->fds.open.count, 2);
	assert_int_equal(f.s.stats.untracked_allocs, 1);
	lt_process_reset_image(proc(&f, GONE_TGID));
	assert_int_equal(proc(&f, GONE_TGID)->fds.open.count, 0);
	assert_null(lt_fd_table_note_of(&proc(&f, GONE_TGID)->fds, 3));
	fixture_stop(&f);
}

static void feed_lane_alloc(struct fixture *f, uint32_t lane, uint32_t tgid, uint64_t addr,
			    const uint64_t *frames)
{
	struct lt_alloc_event e = {
		.hdr = { .kind = LT_EV_ALLOC, .tgid = tgid, .ts_ns = lt_now_ns() },
		.addr = addr, .size_bytes = 64,
	};

	while (frames[e.nframes])
		e.frames[e.nframes] = frames[e.nframes], e.nframes++;
	assert_int_equal(lt_handle_event(&f->s.lanes[lane], &e,
					 LT_ALLOC_EVENT_HDR_BYTES + e.nframes * sizeof(e.frames[0])),
			 0);
}

static void feed_lane_free(struct fixture *f, uint32_t lane, uint32_t tgid, uint64_t addr)
{
	struct lt_free_event e = { .hdr = { .kind = LT_EV_FREE, .tgid = tgid, .ts_ns = lt_now_ns() },
				   .addr = addr };

	assert_int_equal(lt_handle_event(&f->s.lanes[lane], &e, sizeof(e)), 0);
}

/* Two lanes, one process each: each counts in its own stats until the main
 * thread folds them in; tables come out as with one lane; the bound may be
 * passed by what the other lane kept since the last count, never after it. */
static void test_two_lanes(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	const uint32_t even = GONE_TGID + 1, odd = GONE_TGID;
	struct fixture f;

	(void)state;
	fixture_start(&f, args);
	f.opts.max_allocs = 5; /* the command line takes 1024 at least */
	lt_lanes_share(&f.s, 2);
	assert_true(f.s.lanes[0].shared && f.s.lanes[1].shared);
	feed_lane_alloc(&f, 0, even, 0x1000, STACK_A); /* new process, new stack: locked */
	feed_lane_alloc(&f, 0, even, 0x1100, STACK_A); /* known stack: its lane alone */
	feed_lane_alloc(&f, 1, odd, 0x1000, STACK_B);
	feed_lane_alloc(&f, 1, odd, 0x1100, STACK_B);
	feed_lane_alloc(&f, 1, odd, 0x1200, STACK_B);
	feed_lane_free(&f, 0, even, 0x1000);
	feed_lane_free(&f, 1, odd, 0x9999); /* never seen */
	/* Not folded yet: the session's own counters have not moved. */
	assert_int_equal(f.s.stats.alloc_events, 0);
	assert_int_equal(f.s.lanes[0].own.alloc_events, 2);
	assert_int_equal(f.s.lanes[1].own.alloc_events, 3);
	lt_lanes_fold(&f.s);
	assert_int_equal(f.s.stats.alloc_events, 5);
	assert_int_equal(f.s.stats.free_events, 2);
	assert_int_equal(f.s.stats.unmatched_frees, 1);
	assert_int_equal(f.s.lanes[1].own.alloc_events, 0);
	assert_int_equal(proc(&f, even)->heap.count, 1);
	assert_int_equal(proc(&f, odd)->heap.count, 3);
	assert_int_equal(f.s.stats.tracked_allocs, 4);
	assert_int_equal(f.s.stats.tracked_stacks, 2);
	/* Each lane saw only its own pending blocks: 2 + 3 > 5 was possible.
	 * Folded, the count is exact and the bound holds for both. */
	feed_lane_alloc(&f, 0, even, 0x1200, STACK_A);
	feed_lane_alloc(&f, 1, odd, 0x1300, STACK_B);
	lt_lanes_fold(&f.s);
	feed_lane_alloc(&f, 0, even, 0x1300, STACK_A);
	feed_lane_alloc(&f, 1, odd, 0x1400, STACK_B);
	lt_lanes_fold(&f.s);
	assert_int_equal(f.s.stats.tracked_allocs, 6);
	assert_int_equal(f.s.stats.untracked_allocs, 2);
	fixture_stop(&f);
}

struct lane_feed {
	struct fixture *f;
	uint32_t lane, tgid;
	uint64_t addr;
	const uint64_t *frames;
	int ret;
};

/* cmocka's asserts are the test thread's: this one only keeps the result. */
static void *feed_on_thread(void *arg)
{
	struct lane_feed *in = arg;
	struct lt_alloc_event e = {
		.hdr = { .kind = LT_EV_ALLOC, .tgid = in->tgid, .ts_ns = lt_now_ns() },
		.addr = in->addr, .size_bytes = 64,
	};

	while (in->frames[e.nframes])
		e.frames[e.nframes] = in->frames[e.nframes], e.nframes++;
	in->ret = lt_handle_event(&in->f->s.lanes[in->lane], &e,
				  LT_ALLOC_EVENT_HDR_BYTES + e.nframes * sizeof(e.frames[0]));
	return NULL;
}

/* Joined within ms, or ETIMEDOUT. */
static int join_within(pthread_t t, long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &until);
}

/* Two lanes: a new stack whose mappings know their modules is resolved by
 * its lane while another holds the session's lock; one with a frame
 * outside every known mapping waits for the lock (mappings to read). The
 * process is this one, so its mappings and files are real. */
static void test_lane_resolves_alone(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	const uint32_t me = (uint32_t)getpid();
	const uint64_t code = (uint64_t)(uintptr_t)&test_lane_resolves_alone;
	const uint64_t first[] = { code, code + 16, 0 }, second[] = { code + 8, code + 16, 0 };
	const uint64_t outside[] = { 0x10, code, 0 };
	struct lane_feed in;
	struct fixture f;
	struct lt_process *p;
	const struct lt_stack *st;
	pthread_t t;

	(void)state;
	fixture_start(&f, args);
	lt_lanes_share(&f.s, 2);
	f.s.lanes[me % 2].consume_deadline_ns = UINT64_MAX;
	feed_lane_alloc(&f, me % 2, me, 0x1000, first); /* new process: mappings read, locked */
	p = proc(&f, me);
	assert_non_null(p);
	st = lt_stacks_get(&p->stacks, live_entry(&p->heap, 0x1000).stack_id);
	assert_true(st->resolved);
	assert_non_null(st->locs[0].module);

	pthread_mutex_lock(&f.s.slow_lock);
	in = (struct lane_feed){ &f, me % 2, me, 0x1100, second, -1 };
	assert_int_equal(pthread_create(&t, NULL, feed_on_thread, &in), 0);
	assert_int_equal(join_within(t, 10000), 0);
	assert_int_equal(in.ret, 0);
	st = lt_stacks_get(&p->stacks, live_entry(&p->heap, 0x1100).stack_id);
	assert_true(st->resolved);
	assert_ptr_equal(st->locs[0].module, lt_stacks_get(&p->stacks, 0)->locs[0].module);
	assert_int_equal(st->locs[1].file_offset, lt_stacks_get(&p->stacks, 0)->locs[1].file_offset);

	in = (struct lane_feed){ &f, me % 2, me, 0x1200, outside, -1 };
	assert_int_equal(pthread_create(&t, NULL, feed_on_thread, &in), 0);
	assert_int_equal(join_within(t, 200), ETIMEDOUT);
	pthread_mutex_unlock(&f.s.slow_lock);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(in.ret, 0);
	st = lt_stacks_get(&p->stacks, live_entry(&p->heap, 0x1200).stack_id);
	assert_false(st->resolved); /* 0x10 is in no mapping */
	assert_false(f.s.lanes[me % 2].locked);

	lt_lanes_fold(&f.s);
	assert_int_equal(f.s.stats.alloc_events, 3);
	assert_int_equal(f.s.stats.tracked_allocs, 3);
	assert_int_equal(f.s.stats.tracked_stacks, 3);
	assert_int_equal(f.s.stats.out_of_memory, 0);
	fixture_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_replaced),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_munmap_pieces),
		cmocka_unit_test(test_exit_of_target),
		cmocka_unit_test(test_exit_of_other),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_other_tracer_ignored),
		cmocka_unit_test(test_left_cgroup),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_fds),
		cmocka_unit_test(test_fd_close_range),
		cmocka_unit_test(test_fd_bounds_and_exec),
		cmocka_unit_test(test_two_lanes),
		cmocka_unit_test(test_lane_resolves_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
