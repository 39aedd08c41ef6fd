// SPDX-License-Identifier: MIT
/* The report builder on tables the consumer filled from recorded events,
 * with fake BPF maps: totals, order, filters, the summary, drops, growth
 * verdicts, and that building leaves the session as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "report/report_model.h"
#include "session_fixture.h"

static const uint64_t STACK_A[] = { 0x401000, 0x402000, 0 };
static const uint64_t STACK_B[] = { 0x401100, 0x402000, 0 };
static const uint64_t STACK_C[] = { 0x401200, 0 };

#define SEC 1000000000ULL

/* Old enough for the default -o 500 ms. */
static uint64_t long_ago(void)
{
	return lt_now_ns() - 10 * SEC;
}

static void build(struct fixture *f, struct lt_report *r, struct lt_report_pending *pd)
{
	assert_int_equal(lt_report_build(&f->s, false, r, pd), 0);
}

static void test_totals_and_order(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct lt_report_pending pd;
	struct lt_report r;
	struct fixture f;
	uint64_t old = long_ago();

	(void)state;
	fixture_start(&f, args);
	for (int i = 0; i < 3; i++)
		feed_alloc(&f, GONE_TGID, old, 0x1000 + i * 0x100, 100, 0, STACK_A);
	feed_alloc(&f, GONE_TGID, old, 0x2000, 1000, 0, STACK_B);
	feed_alloc(&f, GONE_TGID, old, 0x3000, 7, 0, STACK_C);
	/* Too young to be shown (-o 500 ms), but outstanding all the same. */
	feed_alloc(&f, GONE_TGID, lt_now_ns(), 0x4000, 5000, 0, STACK_C);
	build(&f, &r, &pd);
	assert_int_equal(r.nprocs, 1);
	assert_int_equal(r.procs[0].pid, GONE_TGID);
	assert_int_equal(r.procs[0].heap.outstanding_bytes, 6307);
	assert_int_equal(r.procs[0].heap.outstanding_allocs, 6);
	assert_int_equal(r.procs[0].heap.nstacks, 3);
	/* By bytes, largest first. */
	assert_int_equal(r.procs[0].heap.stacks[0].bytes, 1000);
	assert_int_equal(r.procs[0].heap.stacks[0].frames[0].addr, 0x401100);
	assert_int_equal(r.procs[0].heap.stacks[1].bytes, 300);
	assert_int_equal(r.procs[0].heap.stacks[1].allocs, 3);
	assert_int_equal(r.procs[0].heap.stacks[1].nframes, 2);
	assert_int_equal(r.procs[0].heap.stacks[2].bytes, 7);
	assert_true(r.procs[0].heap.stacks[2].oldest_age_s >= 9.0);
	/* The header carries the session's counters. */
	assert_int_equal(r.stats.alloc_events, 6);
	assert_false(r.final);
	lt_report_free(&r);
	lt_report_pending_free(&pd);
	fixture_stop(&f);
}

/* -T 1 --sort count: the stack with most blocks alone; totals unchanged. */
static void test_top_by_count(void **state)
{
	const char *args[] = { "-c", "true", "-T", "1", "--sort", "count", NULL };
	struct lt_report_pending pd;
	struct lt_report r;
	struct fixture f;
	uint64_t old = long_ago();

	(void)state;
	fixture_start(&f, args);
	for (int i = 0; i < 3; i++)
		feed_alloc(&f, GONE_TGID, old, 0x1000 + i * 0x100, 100, 0, STACK_A);
	feed_alloc(&f, GONE_TGID, old, 0x2000, 1000, 0, STACK_B);
	build(&f, &r, &pd);
	assert_int_equal(r.procs[0].heap.nstacks, 1);
	assert_int_equal(r.procs[0].heap.stacks[0].allocs, 3);
	assert_int_equal(r.procs[0].heap.outstanding_bytes, 1300);
	lt_report_free(&r);
	lt_report_pending_free(&pd);
	fixture_stop(&f);
}

/* Two processes with the same stack: one summary row, processes = 2. */
static void test_summary(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct lt_report_pending pd;
	struct lt_report r;
	struct fixture f;
	uint64_t old = long_ago();

	(void)state;
	fixture_start(&f, args);
	feed_alloc(&f, GONE_TGID, old, 0x1000, 100, 0, STACK_A);
	feed_alloc(&f, GONE_TGID + 1, old, 0x1000, 50, 0, STACK_A);
	feed_alloc(&f, GONE_TGID + 1, old, 0x2000, 10, 0, STACK_B);
	build(&f, &r, &pd);
	assert_int_equal(r.nprocs, 2);
	assert_int_equal(r.procs[0].pid, GONE_TGID); /* more outstanding */
	assert_int_equal(r.summary.nstacks, 2);
	assert_int_equal(r.summary.stacks[0].bytes, 150);
	assert_int_equal(r.summary.stacks[0].processes, 2);
	assert_int_equal(r.summary.stacks[1].processes, 1);
	lt_report_free(&r);
	lt_report_pending_free(&pd);
	fixture_stop(&f);
}

/* BPF's drop counters reach a report once read, not by building it. */
static void test_drops(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct lt_report_pending pd;
	struct lt_report r;
	struct fixture f;

	(void)state;
	fixture_start(&f, args);
	f.maps.m[LT_MAP_DROPS].counters[LT_DROP_RINGBUF_ALLOC] = 5;
	f.maps.m[LT_MAP_DROPS].counters[LT_DROP_RINGBUF_FREE] = 2;
	f.maps.m[LT_MAP_DROPS].counters[LT_DROP_STACK_TRUNCATED] = 40; /* kept, cut short */
	build(&f, &r, &pd);
	assert_int_equal(r.lost_events, 0);
	lt_report_free(&r);
	lt_report_pending_free(&pd);
	lt_session_read_drops(&f.s);
	build(&f, &r, &pd);
	assert_int_equal(r.lost_events, 7);
	assert_int_equal(r.stats.drops[LT_DROP_STACK_TRUNCATED], 40);
	lt_report_free(&r);
	lt_report_pending_free(&pd);
	fixture_stop(&f);
}

/* One report more: a block of 10,000 bytes on stack A, a second later. */
static void grow_one_report(struct fixture *f, int i)
{
	feed_alloc(f, GONE_TGID, long_ago(), 0x10000 + (uint64_t)i * 0x100, 10000, 0, STACK_A);
	f->s.start_ns -= SEC;
}

static enum lt_verdict verdict_of(struct fixture *f, bool commit)
{
	struct lt_report_pending pd;
	struct lt_report r;
	enum lt_verdict v;

	build(f, &r, &pd);
	v = r.procs[0].heap.stacks[0].verdict;
	lt_report_free(&r);
	if (commit)
		assert_int_equal(lt_report_commit(&f->s, &pd), 0);
	else
		lt_report_pending_free(&pd);
	return v;
}

/* Building alone keeps nothing: as many builds as one say the same, and
 * only committed reports make a series. */
static void test_growth_only_when_committed(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct fixture f;

	(void)state;
	fixture_start(&f, args);
	for (int i = 0; i < 3; i++) {
		grow_one_report(&f, i);
		assert_int_equal(verdict_of(&f, false), LT_VERDICT_UNKNOWN);
	}
	assert_int_equal(f.s.growth.n, 0);
	for (int i = 3; i < 9; i++) {
		grow_one_report(&f, i);
		assert_int_equal(verdict_of(&f, false), verdict_of(&f, false));
		verdict_of(&f, true);
	}
	assert_int_equal(f.s.growth.n, 1);
	grow_one_report(&f, 9);
	assert_int_equal(verdict_of(&f, false), LT_VERDICT_GROWING);
	/* Committed so far: 6 reports; the 7th as built: 7 samples. */
	assert_int_equal(f.s.growth.v[0]->heap.v[0].n, 6);
	fixture_stop(&f);
}

/* A final report's commit lets the series go: nothing follows it. */
static void test_final_commit(void **state)
{
	const char *args[] = { "-c", "true", NULL };
	struct lt_report_pending pd;
	struct lt_report r;
	struct fixture f;

	(void)state;
	fixture_start(&f, args);
	grow_one_report(&f, 0);
	verdict_of(&f, true);
	assert_int_equal(f.s.growth.n, 1);
	assert_int_equal(lt_report_build(&f.s, true, &r, &pd), 0);
	assert_true(r.final);
	assert_int_equal(lt_report_commit(&f.s, &pd), 0);
	assert_int_equal(f.s.growth.n, 0);
	assert_null(pd.v);
	lt_report_free(&r);
	fixture_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_totals_and_order),
		cmocka_unit_test(test_top_by_count),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_drops),
		cmocka_unit_test(test_growth_only_when_committed),
		cmocka_unit_test(test_final_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
