// SPDX-License-Identifier: MIT
/* --live's screen model: rows by growth, bytes or count; a sparkline per row
 * keyed by what its frames are across reports; bounded history. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output/live_model.h"

#define APP "/usr/bin/app"

/* Three stacks; each report gets its own copies of the frames, so a key that
 * rested on pointers or on the report's order would not survive. */
static const struct lt_report_frame frames_tpl[3][2] = {
	{ { .addr = 0x401100, .func = "leak_fn", .file = "/src/a.c", .line = 20, .module = APP,
	    .module_offset = 0x1100, .build_id = "" },
	  { .addr = 0x401200, .func = "main", .module = APP, .module_offset = 0x1200, .build_id = "" } },
	{ { .addr = 0x401300, .func = "cache_fill", .module = APP, .module_offset = 0x1300,
	    .build_id = "" },
	  { .addr = 0x401200, .func = "main", .module = APP, .module_offset = 0x1200, .build_id = "" } },
	{ { .addr = 0x7f0000005000, .module = "/lib/libx.so", .module_offset = 0x5000,
	    .build_id = "" },
	  { .addr = 0xdead, .build_id = "" } },
};

struct fake {
	struct lt_report r;
	struct lt_report_process procs[2];
	struct lt_report_stack stacks[2][3];
	struct lt_report_frame frames[2][3][2];
	struct lt_report_python py;
	struct lt_report_py_type types[2];
	struct lt_report_stack py_stacks[1];
	struct lt_report_frame py_frames[1];
};

/* One report at elapsed t: pid 100 (app) holds stack i (of which[]) with
 * bytes[i]; order[] is the order the report lists them in. */
static void make(struct fake *f, double t, const uint64_t *bytes, const int *order, int n)
{
	memset(f, 0, sizeof(*f));
	f->r.elapsed_s = t;
	f->r.procs = f->procs;
	f->r.nprocs = 1;
	f->procs[0].pid = 100;
	strcpy(f->procs[0].comm, "app");
	for (int j = 0; j < n; j++) {
		int i = order[j];

		memcpy(f->frames[0][j], frames_tpl[i], sizeof(frames_tpl[i]));
		f->stacks[0][j] = (struct lt_report_stack){
			.bytes = bytes[i], .allocs = bytes[i] / 100, .frames = f->frames[0][j], .nframes = 2,
			.verdict = LT_VERDICT_UNKNOWN,
		};
	}
	f->procs[0].heap.stacks = f->stacks[0];
	f->procs[0].heap.nstacks = (size_t)n;
}

static const struct lt_live_row *find(const struct lt_live_model *m, enum lt_live_kind k,
				      const char *label)
{
	for (size_t i = 0; i < m->nrows[k]; i++)
		if (!strcmp(m->rows[k][i].label, label))
			return &m->rows[k][i];
	return NULL;
}

static void test_names(void **state)
{
	struct lt_live_model m;
	struct fake f;
	uint64_t bytes[3] = { 3000, 500, 100 };
	int order[3] = { 0, 1, 2 };

	(void)state;
	lt_live_model_init(&m, 0);
	make(&f, 1.0, bytes, order, 3);
	assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	assert_int_equal(m.nrows[LT_LIVE_NATIVE], 3);
	/* Base names only: the row is narrow. */
	assert_non_null(find(&m, LT_LIVE_NATIVE, "leak_fn (a.c:20)"));
	assert_string_equal(find(&m, LT_LIVE_NATIVE, "leak_fn (a.c:20)")->callers, "main");
	assert_non_null(find(&m, LT_LIVE_NATIVE, "[libx.so+0x5000]"));
	assert_string_equal(find(&m, LT_LIVE_NATIVE, "[libx.so+0x5000]")->callers, "0xdead");
	assert_string_equal(find(&m, LT_LIVE_NATIVE, "cache_fill")->comm, "app");
	assert_int_equal(find(&m, LT_LIVE_NATIVE, "cache_fill")->count, 5);
	lt_live_model_free(&m);
}

/* A stack listed in another order, from other copies of its frames, keeps
 * its series: the second report's rate and sparkline come from the first. */
static void test_history_keyed_across_reports(void **state)
{
	struct lt_live_model m;
	struct fake f;
	uint64_t b1[3] = { 1000, 500, 100 }, b2[3] = { 3000, 500, 50 };
	int o1[3] = { 0, 1, 2 }, o2[3] = { 2, 1, 0 };
	int lv[4];

	(void)state;
	lt_live_model_init(&m, 0);
	make(&f, 1.0, b1, o1, 3);
	assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	assert_true(isnan(find(&m, LT_LIVE_NATIVE, "leak_fn (a.c:20)")->rate));
	make(&f, 3.0, b2, o2, 3);
	assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	assert_int_equal(m.reports, 2);
	assert_int_equal(m.nseries, 3);
	assert_true(find(&m, LT_LIVE_NATIVE, "leak_fn (a.c:20)")->rate == 1000.0); /* 2000 B in 2 s */
	assert_true(find(&m, LT_LIVE_NATIVE, "cache_fill")->rate == 0.0);
	assert_true(find(&m, LT_LIVE_NATIVE, "[libx.so+0x5000]")->rate == -25.0);
	/* 4 points: 2 before tracing began to report, then 1000 -> 3000. */
	assert_int_equal(lt_live_model_sparkline(&m, find(&m, LT_LIVE_NATIVE, "leak_fn (a.c:20)"), lv, 4), 4);
	assert_int_equal(lv[0], LT_LIVE_NO_POINT);
	assert_int_equal(lv[1], LT_LIVE_NO_POINT);
	assert_int_equal(lv[2], 0);
	assert_int_equal(lv[3], LT_LIVE_LEVELS - 1);
	/* Flat: every point at the bottom. */
	lt_live_model_sparkline(&m, find(&m, LT_LIVE_NATIVE, "cache_fill"), lv, 2);
	assert_int_equal(lv[0], 0);
	assert_int_equal(lv[1], 0);
	lt_live_model_free(&m);
}

/* Levels scale from the least to the largest point shown; a report that
 * did not list the row is a gap, not a zero. */
static void test_sparkline_scaling_and_gaps(void **state)
{
	struct lt_live_model m;
	struct fake f;
	uint64_t vals[4] = { 0, 100, 700, 350 };
	int one[1] = { 0 }, other[1] = { 1 };
	int lv[5];

	(void)state;
	lt_live_model_init(&m, 0);
	for (int i = 0; i < 4; i++) {
		uint64_t b[3] = { vals[i], 1, 1 };

		make(&f, 1.0 + i, b, one, 1);
		assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	}
	{
		uint64_t b[3] = { 0, 1, 1 };

		make(&f, 5.0, b, other, 1); /* leak_fn not listed */
		assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	}
	assert_null(find(&m, LT_LIVE_NATIVE, "leak_fn (a.c:20)"));
	{
		uint64_t b[3] = { 700, 1, 1 };

		make(&f, 6.0, b, one, 1);
		assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	}
	/* Reports 2..6: 100, 700, 350, (gap), 700; scaled over 100..700. */
	lt_live_model_sparkline(&m, find(&m, LT_LIVE_NATIVE, "leak_fn (a.c:20)"), lv, 5);
	assert_int_equal(lv[0], 0);
	assert_int_equal(lv[1], 7);
	assert_int_equal(lv[2], 3); /* (350 - 100) / 600 * 7 = 2.92 */
	assert_int_equal(lv[3], LT_LIVE_NO_POINT);
	assert_int_equal(lv[4], 7);
	/* No rate across a gap. */
	assert_true(isnan(find(&m, LT_LIVE_NATIVE, "leak_fn (a.c:20)")->rate));
	lt_live_model_free(&m);
}

static void test_sort_orders(void **state)
{
	struct lt_live_model m;
	struct fake f;
	uint64_t b[3] = { 3000, 500, 900 };
	int order[3] = { 0, 1, 2 };
	const struct lt_live_row *out[3];

	(void)state;
	lt_live_model_init(&m, 0);
	make(&f, 1.0, b, order, 3);
	/* leak_fn large but stable; cache_fill small and growing fast; libx
	 * unknown: sorted by growth, a known slope counts and unknown is 0. */
	f.stacks[0][0].verdict = LT_VERDICT_STABLE;
	f.stacks[0][0].growth_bytes_per_s = 1.0;
	f.stacks[0][1].verdict = LT_VERDICT_GROWING;
	f.stacks[0][1].growth_bytes_per_s = 4096.0;
	f.stacks[0][2].allocs = 90;
	assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	assert_int_equal(lt_live_model_rows(&m, LT_LIVE_NATIVE, 0, LT_LIVE_BY_GROWTH, out), 3);
	assert_string_equal(out[0]->label, "cache_fill");
	assert_string_equal(out[1]->label, "leak_fn (a.c:20)");
	assert_string_equal(out[2]->label, "[libx.so+0x5000]");
	lt_live_model_rows(&m, LT_LIVE_NATIVE, 0, LT_LIVE_BY_BYTES, out);
	assert_string_equal(out[0]->label, "leak_fn (a.c:20)");
	assert_string_equal(out[1]->label, "[libx.so+0x5000]");
	assert_string_equal(out[2]->label, "cache_fill");
	lt_live_model_rows(&m, LT_LIVE_NATIVE, 0, LT_LIVE_BY_COUNT, out);
	assert_string_equal(out[0]->label, "[libx.so+0x5000]"); /* 90 */
	assert_string_equal(out[1]->label, "leak_fn (a.c:20)"); /* 30 */
	assert_string_equal(out[2]->label, "cache_fill");       /* 5 */
	/* Another pid picked: none of these. */
	assert_int_equal(lt_live_model_rows(&m, LT_LIVE_NATIVE, 101, LT_LIVE_BY_BYTES, out), 0);
	assert_int_equal(lt_live_model_rows(&m, LT_LIVE_NATIVE, 100, LT_LIVE_BY_BYTES, out), 3);
	lt_live_model_free(&m);
}

/* Python types and lines and descriptors are rows of their own kinds, keyed
 * apart from the native stacks of the same process. */
static void test_python_and_fds(void **state)
{
	struct lt_live_model m;
	struct fake f;
	uint64_t b[3] = { 1, 1, 1 };
	int order[1] = { 0 };

	(void)state;
	lt_live_model_init(&m, 0);
	make(&f, 1.0, b, order, 1);
	f.types[0] = (struct lt_report_py_type){ .name = "dict", .objects = 40, .bytes = 9000,
						.verdict = LT_VERDICT_GROWING, .growth_objects_per_s = 20 };
	f.types[1] = (struct lt_report_py_type){ .name = "list", .objects = 2, .bytes = 100 };
	f.py_frames[0] = (struct lt_report_frame){ .func = "keep", .file = "/tmp/app.py", .line = 7,
						   .build_id = "", .python = true };
	f.py_stacks[0] = (struct lt_report_stack){ .bytes = 9100, .allocs = 42, .frames = f.py_frames,
						   .nframes = 1 };
	f.py.types = f.types;
	f.py.ntypes = 2;
	f.py.stacks.stacks = f.py_stacks;
	f.py.stacks.nstacks = 1;
	f.procs[0].python = &f.py;
	f.procs[0].fds_traced = true;
	f.procs[0].fds.stacks = f.stacks[0];
	f.procs[0].fds.nstacks = 1;
	assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	assert_int_equal(m.nrows[LT_LIVE_PY_TYPES], 2);
	assert_int_equal(find(&m, LT_LIVE_PY_TYPES, "dict")->count, 40);
	assert_true(find(&m, LT_LIVE_PY_TYPES, "dict")->slope == 20.0);
	assert_int_equal(m.nrows[LT_LIVE_PY_LINES], 1);
	assert_int_equal(find(&m, LT_LIVE_PY_LINES, "keep (app.py:7)")->bytes, 9100);
	assert_int_equal(m.nrows[LT_LIVE_FDS], 1);
	/* The same frames as a heap stack and as a descriptor stack: two series. */
	assert_true(m.rows[LT_LIVE_FDS][0].key != m.rows[LT_LIVE_NATIVE][0].key);
	assert_int_equal(m.nseries, 5);
	lt_live_model_free(&m);
}

/* At most max_series series; one not reported for LT_LIVE_HISTORY reports
 * goes; a full set makes room from series not in this report. */
static void test_bounded(void **state)
{
	struct lt_live_model m;
	struct fake f;
	uint64_t b[3] = { 1, 2, 3 };
	int all[3] = { 0, 1, 2 }, first[1] = { 0 }, last[1] = { 2 };
	int lv[2];

	(void)state;
	lt_live_model_init(&m, 2);
	make(&f, 1.0, b, all, 3);
	assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	assert_int_equal(m.nseries, 2); /* the third row has no history */
	assert_int_equal(m.nrows[LT_LIVE_NATIVE], 3);
	assert_int_equal(lt_live_model_sparkline(&m, find(&m, LT_LIVE_NATIVE, "[libx.so+0x5000]"), lv, 1), 1);
	assert_int_equal(lv[0], LT_LIVE_NO_POINT);
	make(&f, 2.0, b, last, 1);
	assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	assert_int_equal(m.nseries, 2); /* one of report 1's made room */
	assert_non_null(lt_live_model_series(&m, m.rows[LT_LIVE_NATIVE][0].key));
	for (int i = 0; i < LT_LIVE_HISTORY; i++) {
		make(&f, 3.0 + i, b, first, 1);
		assert_int_equal(lt_live_model_take(&m, &f.r), 0);
	}
	/* Only leak_fn was reported in the last LT_LIVE_HISTORY reports. */
	assert_int_equal(m.nseries, 1);
	assert_non_null(lt_live_model_series(&m, m.rows[LT_LIVE_NATIVE][0].key));
	lt_live_model_free(&m);
}

/* --kernel: stacks and caches as rows of no process; stacks told apart by
 * their addresses, kallsyms' offsets being in functions. */
static void test_kernel(void **state)
{
	struct lt_report_frame kf[2][2] = {
		{ { .addr = 0xffffffff81400010, .func = "__kmalloc_cache_noprof", .module = "vmlinux",
		    .module_offset = 0x10, .build_id = "" },
		  { .addr = 0xffffffff81500010, .func = "do_eventfd", .module = "vmlinux",
		    .module_offset = 0x10, .build_id = "" } },
		{ { .addr = 0xffffffff81400010, .func = "__kmalloc_cache_noprof", .module = "vmlinux",
		    .module_offset = 0x10, .build_id = "" },
		  { .addr = 0xffffffff81600010, .func = "alloc_pipe_info", .module = "vmlinux",
		    .module_offset = 0x10, .build_id = "" } },
	};
	struct lt_report_kernel_stack ks[2] = {
		{ .stack = { .bytes = 640, .allocs = 10, .frames = kf[0], .nframes = 2 },
		  .cache = "kmalloc-64" },
		{ .stack = { .bytes = 2048, .allocs = 2, .frames = kf[1], .nframes = 2,
			     .verdict = LT_VERDICT_GROWING, .growth_bytes_per_s = 12.5 },
		  .cache = "a_very_long_cache_name" },
	};
	struct lt_report_kernel_cache kc[1] = {
		{ .name = "filp", .bytes = 4096, .allocs = 16, .verdict = LT_VERDICT_STABLE },
	};
	struct lt_report_kernel k = { .stacks = ks, .nstacks = 2, .caches = kc, .ncaches = 1 };
	struct lt_report r = { .elapsed_s = 1.0, .kernel = &k };
	const struct lt_live_row *rows[2], *row;
	struct lt_live_model m;

	(void)state;
	lt_live_model_init(&m, 0);
	assert_int_equal(lt_live_model_take(&m, &r), 0);
	assert_int_equal(m.nrows[LT_LIVE_KERNEL], 2);
	assert_int_equal(m.nrows[LT_LIVE_NATIVE], 0);
	assert_int_equal(lt_live_model_rows(&m, LT_LIVE_KERNEL, 0, LT_LIVE_BY_BYTES, rows), 2);
	assert_int_equal(rows[0]->pid, 0);
	assert_string_equal(rows[0]->comm, "a_very_long_cac");
	assert_string_equal(rows[0]->label, "__kmalloc_cache_noprof");
	assert_string_equal(rows[0]->callers, "alloc_pipe_info");
	assert_int_equal(rows[0]->count, 2);
	assert_int_equal(rows[0]->verdict, LT_VERDICT_GROWING);
	assert_true(rows[0]->slope == 12.5);
	assert_string_equal(rows[1]->comm, "kmalloc-64");
	assert_string_equal(rows[1]->callers, "do_eventfd");
	assert_int_not_equal(rows[0]->key, rows[1]->key);
	/* Not a process's: picking one leaves them out. */
	assert_int_equal(lt_live_model_rows(&m, LT_LIVE_KERNEL, 100, LT_LIVE_BY_BYTES, rows), 0);
	assert_int_equal(m.nrows[LT_LIVE_KCACHES], 1);
	row = &m.rows[LT_LIVE_KCACHES][0];
	assert_string_equal(row->comm, "[kernel]");
	assert_string_equal(row->label, "filp");
	assert_string_equal(row->callers, "");
	assert_int_equal(row->bytes, 4096);
	assert_int_equal(row->count, 16);
	assert_int_equal(m.nseries, 3);
	/* The next report's rows continue the same series. */
	r.elapsed_s = 2.0;
	ks[1].stack.bytes = 4096;
	assert_int_equal(lt_live_model_take(&m, &r), 0);
	assert_int_equal(m.nseries, 3);
	assert_int_equal(lt_live_model_rows(&m, LT_LIVE_KERNEL, 0, LT_LIVE_BY_BYTES, rows), 2);
	assert_true(rows[0]->rate == 2048.0);
	lt_live_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_history_keyed_across_reports),
		cmocka_unit_test(test_sparkline_scaling_and_gaps),
		cmocka_unit_test(test_sort_orders),
		cmocka_unit_test(test_python_and_fds),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
