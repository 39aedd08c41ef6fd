// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/grow_array.h"

struct wide {
	uint64_t a, b, c;
};

static void test_grows_from_empty(void **state)
{
	size_t cap = 0;
	int *v;

	(void)state;
	v = lt_grow(NULL, &cap, 1, sizeof(*v));
	assert_non_null(v);
	assert_int_equal(cap, LT_GROW_MIN);
	v[LT_GROW_MIN - 1] = 7; /* the whole capacity is there (ASan checks it) */
	free(v);

	/* NULL only means failure: an empty array is allocated even for none. */
	cap = 0;
	v = lt_grow(NULL, &cap, 0, sizeof(*v));
	assert_non_null(v);
	assert_int_equal(cap, LT_GROW_MIN);
	free(v);

	/* A first need past the minimum: the first doubling that holds it. */
	cap = 0;
	v = lt_grow(NULL, &cap, 100, sizeof(*v));
	assert_non_null(v);
	assert_int_equal(cap, 128);
	free(v);
}

static void test_keeps_contents(void **state)
{
	struct wide *v = NULL, *grown;
	size_t cap = 0;

	(void)state;
	for (size_t i = 0; i < 1000; i++) {
		grown = lt_grow(v, &cap, i + 1, sizeof(*v));
		assert_non_null(grown);
		v = grown;
		v[i] = (struct wide){ i, 2 * i, 3 * i };
	}
	for (size_t i = 0; i < 1000; i++) {
		assert_int_equal(v[i].a, i);
		assert_int_equal(v[i].b, 2 * i);
		assert_int_equal(v[i].c, 3 * i);
	}
	free(v);
}

static void test_capacity_doubles(void **state)
{
	size_t cap = 0, expect = LT_GROW_MIN;
	char *v = NULL;

	(void)state;
	for (size_t need = 1; need <= 4096; need++) {
		v = lt_grow(v, &cap, need, 1);
		assert_non_null(v);
		if (need > expect)
			expect *= 2;
		assert_int_equal(cap, expect);
	}
	/* A jump past the double goes on doubling. */
	v = lt_grow(v, &cap, 5 * 4096, 1);
	assert_non_null(v);
	assert_int_equal(cap, 8 * 4096);
	free(v);
	/* A capacity from elsewhere (not a power of two) doubles too. */
	assert_int_equal(lt_grow_cap(12, 13, 1), 24);
	assert_int_equal(lt_grow_cap(3, 4, 1), LT_GROW_MIN);
}

static void test_need_within_capacity_is_noop(void **state)
{
	size_t cap = 0;
	int *v, *same;

	(void)state;
	v = lt_grow(NULL, &cap, 20, sizeof(*v));
	assert_non_null(v);
	assert_int_equal(cap, 32);
	for (size_t need = 0; need <= 32; need++) {
		same = lt_grow(v, &cap, need, sizeof(*v));
		assert_ptr_equal(same, v);
		assert_int_equal(cap, 32);
	}
	free(v);
}

static void test_overflow_leaves_array(void **state)
{
	size_t cap = 0;
	struct wide *v, *grown;

	(void)state;
	v = lt_grow(NULL, &cap, 3, sizeof(*v));
	assert_non_null(v);
	for (int i = 0; i < 3; i++)
		v[i] = (struct wide){ 1, 2, 3 };
	/* need elements themselves do not fit: nothing is allocated (no huge
	 * realloc reaches the allocator, which ASan would stop on). */
	grown = lt_grow(v, &cap, SIZE_MAX / sizeof(*v) + 1, sizeof(*v));
	assert_null(grown);
	grown = lt_grow(v, &cap, SIZE_MAX, sizeof(*v));
	assert_null(grown);
	assert_int_equal(cap, LT_GROW_MIN);
	for (int i = 0; i < 3; i++)
		assert_true(v[i].a == 1 && v[i].b == 2 && v[i].c == 3);
	free(v);
	cap = 0;
	assert_null(lt_grow(NULL, &cap, SIZE_MAX, 2));
	assert_int_equal(cap, 0);
}

/* Where doubling would wrap, the capacity stops at the largest that fits. */
static void test_capacity_never_wraps(void **state)
{
	(void)state;
	assert_int_equal(lt_grow_cap(8, SIZE_MAX / 2 + 2, 1), SIZE_MAX);
	assert_int_equal(lt_grow_cap(SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 2, 1), SIZE_MAX);
	assert_int_equal(lt_grow_cap(8, SIZE_MAX / 24, 16), SIZE_MAX / 16);
	/* Elements so big that the minimum alone would wrap. */
	assert_int_equal(lt_grow_cap(0, 3, SIZE_MAX / 4), 4);
	assert_int_equal(lt_grow_cap(0, 5, SIZE_MAX / 4), 0);
	assert_int_equal(lt_grow_cap(0, SIZE_MAX, 1), SIZE_MAX);
	assert_int_equal(lt_grow_cap(0, SIZE_MAX, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_from_empty),
		cmocka_unit_test(test_keeps_contents),
		cmocka_unit_test(test_capacity_doubles),
		cmocka_unit_test(test_need_within_capacity_is_noop),
		cmocka_unit_test(test_overflow_leaves_array),
		cmocka_unit_test(test_capacity_never_wraps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
