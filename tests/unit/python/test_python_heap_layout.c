// SPDX-License-Identifier: MIT
/*
 * The heap-walk layouts: the versions supported are those the frame layouts
 * support and no others; each row's fields are there or not as its version
 * has them; and within a row nothing overlaps that cannot (the collector's
 * lists and its stats, a struct's members), which is what a mistyped
 * number in the table would most likely break.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "python/python_heap_layout.h"
#include "python/python_layout.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* sizeof(struct gc_generation): PyGC_Head, then threshold and count. */
#define GC_GENERATION_BYTES 24

static void test_supported_versions(void **state)
{
	static const uint32_t unsupported[] = { 0, 2, 3, 6, 7, 16, 17, 99, UINT32_MAX };
	const struct lt_py_heap_layout *l;
	size_t i;
	uint32_t m;

	(void)state;
	for (i = 0; i < N(unsupported); i++)
		assert_null(lt_py_heap_layout(unsupported[i]));
	for (m = 8; m <= 15; m++) {
		l = lt_py_heap_layout(m);
		assert_non_null(l);
		assert_int_equal(l->minor, m);
		/* A version the heap can be walked in is one its frames can be read in. */
		assert_non_null(lt_py_version_info(m));
	}
}

/* The lists are in order in the state and do not share a byte. */
static void test_gc_lists(void **state)
{
	const struct lt_py_heap_layout *l;
	uint32_t m;
	int i, n;

	(void)state;
	for (m = 8; m <= 15; m++) {
		l = lt_py_heap_layout(m);
		for (n = 0; n < (int)N(l->gc_lists) && l->gc_lists[n] >= 0; n++)
			;
		/* Three generations and the permanent one, in every version. */
		assert_int_equal(n, 4);
		for (i = n; i < (int)N(l->gc_lists); i++)
			assert_int_equal(l->gc_lists[i], -1);
		for (i = 0; i < n; i++) {
			assert_int_equal(l->gc_lists[i] % 8, 0);
			if (i > 0)
				assert_true(l->gc_lists[i] >= l->gc_lists[i - 1] + GC_GENERATION_BYTES);
		}
		/* threshold and count lie inside a gc_generation, after its head. */
		assert_true(l->gc_gen_threshold >= LT_PY_GC_HEAD_BYTES);
		assert_true(l->gc_gen_count >= LT_PY_GC_HEAD_BYTES);
		assert_int_not_equal(l->gc_gen_threshold, l->gc_gen_count);
		assert_true(l->gc_gen_threshold + 4 <= GC_GENERATION_BYTES);
		assert_true(l->gc_gen_count + 4 <= GC_GENERATION_BYTES);
	}
}

static int overlaps(int32_t a, int32_t alen, int32_t b, int32_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The collector's scalars, its lists and its stats each have bytes of their own. */
static void test_gc_state_fields_apart(void **state)
{
	const struct lt_py_heap_layout *l;
	uint32_t m;
	size_t i, j;

	(void)state;
	for (m = 8; m <= 15; m++) {
		l = lt_py_heap_layout(m);
		int32_t stats_len = l->gc_stats >= 0 ? 3 * (int32_t)l->gc_stats_bytes : 0;
		struct { int32_t off, len; } f[] = {
			{ l->gc_enabled, 4 }, { l->gc_debug, 4 }, { l->gc_garbage, 8 },
			{ l->gc_collecting, 4 }, { l->gc_lists[0], GC_GENERATION_BYTES },
			{ l->gc_lists[1], GC_GENERATION_BYTES }, { l->gc_lists[2], GC_GENERATION_BYTES },
			{ l->gc_lists[3], GC_GENERATION_BYTES }, { l->gc_stats, stats_len },
		};

		assert_true(l->gc_state > 0);
		assert_int_equal(l->gc_garbage % 8, 0);
		for (i = 0; i < N(f); i++) {
			if (f[i].len == 0)
				continue;
			assert_true(f[i].off >= 0);
			for (j = i + 1; j < N(f); j++)
				if (f[j].len)
					assert_false(overlaps(f[i].off, f[i].len, f[j].off, f[j].len));
		}
	}
}

/* What the header says of each version. */
static void test_fields_by_version(void **state)
{
	const struct lt_py_heap_layout *l;
	uint32_t m;

	(void)state;
	for (m = 8; m <= 15; m++) {
		l = lt_py_heap_layout(m);
		assert_int_equal(l->gc_in_runtime, m == 8);

		assert_int_equal(l->keys_size >= 0, m < 11);
		assert_int_equal(l->keys_log2_size >= 0, m >= 11);
		assert_int_equal(l->keys_log2_index_bytes >= 0, m >= 11);
		assert_int_equal(l->keys_kind >= 0, m >= 11);
		assert_int_equal(l->values_array, m >= 13 ? 8 : 0);
		assert_int_equal(l->managed_dict, m >= 11 ? -24 : 0);
		assert_int_equal(l->managed_values, m == 11 ? -32 : 0);

		assert_int_equal(l->tstate_native_id >= 0, m >= 11);
		if (l->tstate_native_id >= 0)
			assert_int_equal(l->tstate_native_id, l->tstate_thread_id + 8);

		assert_int_equal(l->co_nlocalsplus >= 0, m >= 11);
		assert_int_equal(l->co_localsplusnames >= 0, m >= 11);
		assert_int_equal(l->co_nlocals >= 0, m < 11);
		assert_int_equal(l->co_varnames >= 0, m < 11);
		assert_int_equal(l->co_cellvars >= 0, m < 11);
		assert_int_equal(l->co_freevars >= 0, m < 11);
		assert_int_equal(l->localsplus_tagged, m >= 14);

		/* 3.15 keeps a pointer to rings of stats, not an array. */
		assert_int_equal(l->gc_stats >= 0, m <= 14);
	}
}

/* Each stat is a Py_ssize_t inside one record, no two at one offset. */
static void test_gc_stats_record(void **state)
{
	const struct lt_py_heap_layout *l;
	uint32_t m;

	(void)state;
	for (m = 8; m <= 15; m++) {
		l = lt_py_heap_layout(m);
		int32_t s[] = { l->gc_stat_collections, l->gc_stat_collected,
				l->gc_stat_uncollectable };
		int32_t bytes = (int32_t)l->gc_stats_bytes;

		assert_int_equal(bytes % 8, 0);
		for (size_t i = 0; i < N(s); i++) {
			assert_true(s[i] >= 0);
			assert_int_equal(s[i] % 8, 0);
			assert_true(s[i] + 8 <= bytes);
			for (size_t j = i + 1; j < N(s); j++)
				assert_int_not_equal(s[i], s[j]);
		}
		/* Before 3.15 the record is those three and nothing else. */
		if (m <= 14)
			assert_int_equal(bytes, 3 * 8);
		if (l->gc_stats >= 0)
			assert_true(l->gc_stats >= l->gc_lists[3] + GC_GENERATION_BYTES);
	}
}

static void test_dict_keys_and_values(void **state)
{
	const struct lt_py_heap_layout *l;
	uint32_t m;

	(void)state;
	for (m = 8; m <= 15; m++) {
		l = lt_py_heap_layout(m);
		/* ma_used, then the keys and values pointers, after the object header. */
		assert_true(l->dict_used >= 16);
		assert_true(l->dict_keys > l->dict_used && l->dict_values > l->dict_keys);
		/* After dk_refcnt; the index table closes the struct. */
		if (m < 11) {
			assert_true(l->keys_size >= 8);
			assert_true(l->keys_nentries > l->keys_size);
		} else {
			assert_true(l->keys_log2_size >= 8);
			assert_int_equal(l->keys_log2_index_bytes, l->keys_log2_size + 1);
			assert_int_equal(l->keys_kind, l->keys_log2_index_bytes + 1);
			assert_true(l->keys_nentries > l->keys_kind);
		}
		assert_int_equal(l->keys_nentries % 8, 0);
		assert_true(l->keys_indices >= l->keys_nentries + 8);
		/* The heap type's extra members come after all of PyTypeObject's. */
		assert_true(l->ht_cached_keys > l->tp_mro);
		assert_true(l->ht_cached_keys > l->tp_dictoffset);
	}
}

static void test_objects(void **state)
{
	const struct lt_py_heap_layout *l;
	uint32_t m;
	size_t i, j;

	(void)state;
	for (m = 8; m <= 15; m++) {
		l = lt_py_heap_layout(m);
		int32_t func[] = { l->func_code, l->func_globals, l->func_defaults,
				   l->func_kwdefaults, l->func_closure, l->func_dict,
				   l->func_name, l->func_qualname, l->func_module };

		for (i = 0; i < N(func); i++) {
			assert_true(func[i] >= 16);
			assert_int_equal(func[i] % 8, 0);
			for (j = i + 1; j < N(func); j++)
				assert_int_not_equal(func[i], func[j]);
		}
		assert_true(l->set_table > l->set_mask && l->set_mask >= 16);

		/* Two block pointers, two indices, right after the var-object header. */
		assert_int_equal(l->deque_leftblock, LT_PY_VAR_SIZE + 8);
		assert_int_equal(l->deque_rightblock, l->deque_leftblock + 8);
		assert_int_equal(l->deque_leftindex, l->deque_rightblock + 8);
		assert_int_equal(l->deque_rightindex, l->deque_leftindex + 8);
		assert_int_equal(l->block_data, 8);
		assert_int_equal(l->block_rightlink, l->block_data + 8 * LT_PY_DEQUE_BLOCKLEN);

		assert_int_equal(l->frame_localsplus % 8, 0);
		assert_true(l->interp_threads != l->interp_next &&
			    l->interp_modules != l->interp_sysdict);
	}
}

/*
 * Before 3.11 f_localsplus[1] closed PyFrameObject, whose basic size the
 * frame table took separately: the two must agree.
 */
static void test_frame_localsplus_ends_frame_object(void **state)
{
	const struct lt_py_heap_layout *l;
	uint32_t m;

	(void)state;
	for (m = 8; m <= 10; m++) {
		l = lt_py_heap_layout(m);
		assert_int_equal(l->frame_localsplus + 8,
				 (int32_t)lt_py_version_info(m)->frame_tp_basicsize);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supported_versions),
		cmocka_unit_test(test_gc_lists),
		cmocka_unit_test(test_gc_state_fields_apart),
		cmocka_unit_test(test_fields_by_version),
		cmocka_unit_test(test_gc_stats_record),
		cmocka_unit_test(test_dict_keys_and_values),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_frame_localsplus_ends_frame_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
