// SPDX-License-Identifier: MIT
/* The reports an HTML page charts: bounded in count and bytes, thinned
 * evenly, the first and the newest always kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output/html_history.h"

static void add(struct lt_html_history *h, int i, size_t pad)
{
	char *s = malloc(32 + pad);

	assert_non_null(s);
	snprintf(s, 32, "R%d\n", i);
	assert_int_equal(lt_html_history_add_data(h, s, strlen(s) + pad), 0);
}

static int id_of(const struct lt_html_history *h, size_t i)
{
	return atoi(h->data[i] + 1);
}

static void test_count_bound(void **state)
{
	struct lt_html_history h = { 0 };
	uint64_t kept_before;

	(void)state;
	for (int i = 0; i < LT_HTML_HISTORY_REPORTS; i++)
		add(&h, i, 0);
	assert_int_equal(h.n, LT_HTML_HISTORY_REPORTS);
	assert_int_equal(h.thinned, 0);
	/* One more: every other one goes, the first and the newest stay. */
	add(&h, LT_HTML_HISTORY_REPORTS, 0);
	assert_int_equal(h.n, LT_HTML_HISTORY_REPORTS / 2 + 2); /* 0, 2, ..., 118, 119, 120 */
	assert_int_equal(h.thinned, LT_HTML_HISTORY_REPORTS / 2 - 1);
	assert_int_equal(id_of(&h, 0), 0);
	assert_int_equal(id_of(&h, 1), 2);
	assert_int_equal(id_of(&h, h.n - 2), LT_HTML_HISTORY_REPORTS - 1);
	assert_int_equal(id_of(&h, h.n - 1), LT_HTML_HISTORY_REPORTS);
	/* In order, always. */
	for (size_t i = 1; i < h.n; i++)
		assert_true(id_of(&h, i - 1) < id_of(&h, i));
	kept_before = h.n;
	for (int i = 0; i < 1000; i++)
		add(&h, LT_HTML_HISTORY_REPORTS + 1 + i, 0);
	assert_true(h.n <= LT_HTML_HISTORY_REPORTS && h.n > kept_before / 2);
	assert_int_equal(id_of(&h, 0), 0);
	assert_int_equal(id_of(&h, h.n - 1), LT_HTML_HISTORY_REPORTS + 1000);
	assert_int_equal(h.n + h.thinned, LT_HTML_HISTORY_REPORTS + 1001);
	lt_html_history_free(&h);
	assert_int_equal(h.n, 0);
}

static void test_byte_bound(void **state)
{
	struct lt_html_history h = { .max_bytes = 1000 };
	size_t sum;

	(void)state;
	for (int i = 0; i < 50; i++) {
		add(&h, i, 90);
		sum = 0;
		for (size_t k = 0; k < h.n; k++)
			sum += h.len[k];
		assert_int_equal(sum, h.bytes);
		assert_true(h.bytes <= 1000);
	}
	assert_int_equal(id_of(&h, 0), 0);
	assert_int_equal(id_of(&h, h.n - 1), 49);
	lt_html_history_free(&h);
}

static void test_heavier_than_the_bound(void **state)
{
	struct lt_html_history h = { .max_bytes = 100 };

	(void)state;
	/* Each over the bound alone: then and now are still kept. */
	for (int i = 0; i < 10; i++)
		add(&h, i, 500);
	assert_true(h.n >= 2 && h.n <= 3);
	assert_int_equal(id_of(&h, 0), 0);
	assert_int_equal(id_of(&h, h.n - 1), 9);
	lt_html_history_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_bound),
		cmocka_unit_test(test_byte_bound),
		cmocka_unit_test(test_heavier_than_the_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
