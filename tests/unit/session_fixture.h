/* SPDX-License-Identifier: MIT */
/*
 * A session as main.c makes it, with its options parsed from a command line
 * and its BPF maps faked in memory: records are fed to the consumer as the
 * ring buffer would hand them over, and no kernel is involved.
 */
#ifndef LT_SESSION_FIXTURE_H
#define LT_SESSION_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "consume/event_consumer.h"
#include "fake_bpf_maps.h"
#include "options.h"
#include "session.h"

/* Above this machine's pid_max (32768; the kernel's limit is 4194304): no
 * /proc entry can be found for it, as for a process gone before its
 * records are read. */
#define GONE_TGID 5000001u

struct fixture {
	struct lt_options opts;
	struct lt_session s;
	struct fake_maps maps;
};

/* argv: leaktrace's options after "leaktrace", NULL-terminated. */
static inline void fixture_start(struct fixture *f, const char *const *args)
{
	char *argv[32] = { "leaktrace" };
	int argc = 1;

	while (*args && argc < 31)
		argv[argc++] = (char *)*args++;
	memset(f, 0, sizeof(*f));
	assert_int_equal(lt_options_parse(argc, argv, &f->opts), 0);
	lt_session_init(&f->s, &f->opts);
	f->s.maps = fake_maps_of(&f->maps);
	f->s.lanes[0].consume_deadline_ns = UINT64_MAX;
}

static inline void fixture_stop(struct fixture *f)
{
	lt_session_free(&f->s);
	lt_options_free(&f->opts);
}

static inline void feed(struct fixture *f, void *record, size_t size)
{
	assert_int_equal(lt_handle_event(&f->s.lanes[0], record, size), 0);
}

/* frames: innermost first, 0-terminated. */
static inline void feed_alloc(struct fixture *f, uint32_t tgid, uint64_t ts_ns, uint64_t addr,
		       uint64_t size, uint64_t released, const uint64_t *frames)
{
	struct lt_alloc_event e = {
		.hdr = { .kind = LT_EV_ALLOC, .tgid = tgid, .ts_ns = ts_ns },
		.addr = addr, .size_bytes = size, .released_addr = released,
	};

	while (frames[e.nframes])
		e.frames[e.nframes] = frames[e.nframes], e.nframes++;
	/* As BPF sends it: only the frames taken. */
	feed(f, &e, LT_ALLOC_EVENT_HDR_BYTES + e.nframes * sizeof(e.frames[0]));
}

static inline void feed_free(struct fixture *f, uint32_t kind, uint32_t tgid, uint64_t addr,
		      uint64_t len)
{
	struct lt_free_event e = {
		.hdr = { .kind = kind, .tgid = tgid, .ts_ns = lt_now_ns() },
		.addr = addr, .len_bytes = len,
	};

	feed(f, &e, sizeof(e));
}

static inline void feed_task(struct fixture *f, uint32_t kind, uint32_t tgid, uint32_t other,
		      const char *comm)
{
	struct lt_task_event e = { .hdr = { .kind = kind, .tgid = tgid, .ts_ns = lt_now_ns() },
				   .other_tgid = other };

	strncpy(e.comm, comm, sizeof(e.comm));
	feed(f, &e, sizeof(e));
}

#endif
