// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "attach/link_reaper.h"

/* bpf_link__destroy(NULL) does nothing: batches of NULLs exercise the
 * queue and thread without a kernel. */
static struct bpf_link **nulls(size_t n)
{
	struct bpf_link **v = calloc(n ? n : 1, sizeof(*v));

	assert_non_null(v);
	return v;
}

static void wait_drained(struct lt_link_reaper *r)
{
	struct timespec ts = { 0, 1000000 };

	for (int i = 0; i < 5000 && lt_link_reaper_pending(r); i++)
		nanosleep(&ts, NULL);
}

static void test_batches_are_closed(void **state)
{
	struct lt_link_reaper *r = NULL;

	(void)state;
	assert_int_equal(lt_link_reaper_pending(r), 0);
	assert_int_equal(lt_link_reaper_give(&r, nulls(3), 3), 0);
	assert_non_null(r);
	assert_int_equal(lt_link_reaper_give(&r, nulls(40), 40), 0);
	assert_int_equal(lt_link_reaper_give(&r, nulls(1), 1), 0);
	wait_drained(r);
	assert_int_equal(lt_link_reaper_pending(r), 0);
	lt_link_reaper_free(r);
}

/* Free right after giving: what is queued is still closed (and freed: ASan
 * would report the arrays otherwise). */
static void test_free_with_pending(void **state)
{
	struct lt_link_reaper *r = NULL;

	(void)state;
	for (int i = 0; i < 50; i++)
		assert_int_equal(lt_link_reaper_give(&r, nulls(17), 17), 0);
	lt_link_reaper_stop_async(r);
	lt_link_reaper_free(r);
}

static void test_null_is_fine(void **state)
{
	(void)state;
	lt_link_reaper_stop_async(NULL);
	lt_link_reaper_free(NULL);
	lt_links_close_parallel(NULL, 0);
	lt_links_close_parallel((struct bpf_link *[3]){ NULL }, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches_are_closed),
		cmocka_unit_test(test_free_with_pending),
		cmocka_unit_test(test_null_is_fine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
