// SPDX-License-Identifier: MIT
/* Process records across PID reuse: a record waiting for its last report
 * is kept aside (superseded) when its PID names a new process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "consume/process_table.h"

/* Above pid_max: /proc has nothing for these, so no identity is read. */
#define PID_A 0x7ffffff1u
#define PID_B 0x7ffffff2u

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct lt_process *exited_target(struct lt_process_table *t, uint32_t tgid)
{
	struct lt_process *p = lt_procs_add(t, tgid);

	assert_non_null(p);
	p->target = true;
	p->exited = true;
	return p;
}

static long list_of(struct lt_process_table *t, struct lt_process ***v)
{
	long n = lt_procs_list(t, v);

	assert_true(n >= 0);
	return n;
}

static void test_retire_keeps_exited_target_for_its_report(void **state)
{
	struct lt_process_table t;
	struct lt_process *a, *b, **v;
	long n;

	(void)state;
	lt_procs_init(&t);
	a = exited_target(&t, PID_A);
	lt_procs_retire(&t, PID_A);
	assert_true(a->superseded);
	assert_null(lt_procs_get(&t, PID_A));
	b = lt_procs_add(&t, PID_A);
	assert_non_null(b);
	assert_ptr_equal(lt_procs_get(&t, PID_A), b);
	assert_int_equal(t.count, 2);
	/* Growth series are keyed by serial: the two keep their own. */
	assert_true(a->serial != 0 && b->serial != 0 && a->serial != b->serial);

	/* Both are listed, the earlier process first. */
	n = list_of(&t, &v);
	assert_int_equal(n, 2);
	assert_ptr_equal(v[0], a);
	assert_ptr_equal(v[1], b);
	free(v);

	/* After the report, removing the exited tgid takes the superseded one. */
	lt_procs_remove(&t, PID_A);
	assert_int_equal(t.count, 1);
	assert_ptr_equal(lt_procs_get(&t, PID_A), b);
	n = list_of(&t, &v);
	assert_int_equal(n, 1);
	assert_ptr_equal(v[0], b);
	free(v);
	lt_procs_free(&t);
}

static void test_retire_drops_what_needs_no_report(void **state)
{
	struct lt_process_table t;
	struct lt_process *p;

	(void)state;
	lt_procs_init(&t);
	/* Not a target: nothing of it is shown after exit. */
	p = lt_procs_add(&t, PID_A);
	p->exited = true;
	lt_procs_retire(&t, PID_A);
	assert_int_equal(t.count, 0);
	/* A target that never exited: its exit was lost; the record is stale. */
	p = lt_procs_add(&t, PID_B);
	p->target = true;
	lt_procs_retire(&t, PID_B);
	assert_int_equal(t.count, 0);
	assert_null(lt_procs_get(&t, PID_B));
	/* Nothing under the tgid: nothing to do. */
	lt_procs_retire(&t, PID_B);
	assert_int_equal(t.count, 0);
	lt_procs_free(&t);
}

static void test_two_reuses_before_a_report(void **state)
{
	struct lt_process_table t;
	struct lt_process *a, *b, *c, **v;
	long n;

	(void)state;
	lt_procs_init(&t);
	a = exited_target(&t, PID_A);
	lt_procs_retire(&t, PID_A);
	b = exited_target(&t, PID_A);
	lt_procs_retire(&t, PID_A);
	c = lt_procs_add(&t, PID_A);
	/* Other tgids in the same table are not disturbed. */
	assert_non_null(lt_procs_add(&t, PID_B));
	assert_ptr_equal(lt_procs_get(&t, PID_A), c);
	n = list_of(&t, &v);
	assert_int_equal(n, 4);
	assert_true(v[0]->superseded && v[1]->superseded);
	assert_ptr_equal(v[2], c);
	free(v);
	/* The oldest superseded record goes first, the current one last. */
	lt_procs_remove(&t, PID_A);
	n = list_of(&t, &v);
	assert_int_equal(n, 3);
	assert_ptr_equal(v[0], b);
	free(v);
	lt_procs_remove(&t, PID_A);
	assert_ptr_equal(lt_procs_get(&t, PID_A), c);
	lt_procs_remove(&t, PID_A);
	assert_null(lt_procs_get(&t, PID_A));
	assert_non_null(lt_procs_get(&t, PID_B));
	assert_int_equal(t.count, 1);
	(void)a;
	lt_procs_free(&t);
}

static void test_get_cache_never_returns_superseded(void **state)
{
	struct lt_process_table t;
	struct lt_process *a;

	(void)state;
	lt_procs_init(&t);
	a = exited_target(&t, PID_A);
	/* Looked up just before: it is the table's cached last record. */
	assert_ptr_equal(lt_procs_get(&t, PID_A), a);
	lt_procs_retire(&t, PID_A);
	assert_null(lt_procs_get(&t, PID_A));
	lt_procs_free(&t);
}

static void test_is_current_by_start_time(void **state)
{
	struct lt_process_table t;
	struct lt_process *self, *gone;

	(void)state;
	lt_procs_init(&t);
	/* This process was running when the event was seen: it is current. */
	self = lt_procs_add_seen(&t, (uint32_t)getpid(), monotonic_ns());
	assert_non_null(self);
	assert_true(lt_process_is_current(self));
	assert_true(self->exe != NULL);
	/* An event from long before this process started: its PID now names a
	 * later process, whose /proc must not be read for it. */
	self->seen_ns = 1;
	assert_false(lt_process_is_current(self));
	assert_false(lt_process_refresh_identity(self));
	/* Alive when the record was made (seen_ns 0): always current. */
	self->seen_ns = 0;
	assert_true(lt_process_is_current(self));
	/* Nothing at /proc/PID: nothing to mistake it for. */
	gone = lt_procs_add_seen(&t, PID_B, 1);
	assert_non_null(gone);
	assert_true(lt_process_is_current(gone));
	assert_null(gone->exe);
	lt_procs_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retire_keeps_exited_target_for_its_report),
		cmocka_unit_test(test_retire_drops_what_needs_no_report),
		cmocka_unit_test(test_two_reuses_before_a_report),
		cmocka_unit_test(test_get_cache_never_returns_superseded),
		cmocka_unit_test(test_is_current_by_start_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
