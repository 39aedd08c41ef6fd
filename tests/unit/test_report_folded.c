// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_writers.h"

#define APP "/usr/bin/app"

/* Innermost first: inl_helper inlined into leak_fn, called by main. */
static struct lt_report_frame heap_a[] = {
	{ .addr = 0x401100, .func = "inl_helper", .file = "a.c", .line = 7, .module = APP,
	  .module_offset = 0x1100, .build_id = "", .inlined = true },
	{ .addr = 0x401100, .func = "leak_fn", .file = "a.c", .line = 20, .module = APP,
	  .module_offset = 0x1100, .build_id = "" },
	{ .addr = 0x401200, .func = "main", .file = "a.c", .line = 30, .module = APP,
	  .module_offset = 0x1200, .build_id = "" },
};
/* Unnamed frames: one in a module, one in no module at all. */
static struct lt_report_frame heap_b[] = {
	{ .addr = 0x7f0000005000, .module = "/lib/libx.so", .module_offset = 0x5000,
	  .build_id = "abcd" },
	{ .addr = 0xdead, .build_id = "" },
	{ .addr = 0x401200, .func = "op;er\nator", .module = APP, .module_offset = 0x1300,
	  .build_id = "" },
};
static struct lt_report_frame py[] = {
	{ .func = "make", .file = "app.py", .line = 5, .build_id = "", .python = true },
	{ .func = "<module>", .file = "app.py", .line = 9, .build_id = "", .python = true },
};
static struct lt_report_frame region[] = {
	{ .addr = 0x401200, .func = "main", .module = APP, .module_offset = 0x1200, .build_id = "" },
};

static struct lt_report_stack heap_stacks[] = {
	{ .bytes = 3000, .allocs = 3, .frames = heap_a, .nframes = 3 },
	{ .bytes = 100, .allocs = 1, .frames = heap_b, .nframes = 3 },
	{ .bytes = 7, .allocs = 1, .frames = NULL, .nframes = 0 },
};
static struct lt_report_stack py_stacks[] = {
	{ .bytes = 640, .allocs = 10, .frames = py, .nframes = 2 },
};
static struct lt_report_stack mmap_stacks[] = {
	{ .bytes = 8192, .allocs = 2, .frames = region, .nframes = 1 },
};
static struct lt_report_python python = {
	.minor = 11, .stacks = { .stacks = py_stacks, .nstacks = 1 },
};

static void make_report(struct lt_report *r, struct lt_report_process *p, bool mmap)
{
	memset(r, 0, sizeof(*r));
	memset(p, 0, sizeof(*p));
	p->pid = 42;
	strcpy(p->comm, "a;b");
	p->heap.stacks = heap_stacks;
	p->heap.nstacks = 3;
	p->mmap.stacks = mmap_stacks;
	p->mmap.nstacks = 1;
	p->python = &python;
	r->final = true;
	r->has_mmap = mmap;
	r->procs = p;
	r->nprocs = 1;
}

static char *folded(const struct lt_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	lt_report_write_folded(f, r);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_lines(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	char *got;

	(void)state;
	make_report(&r, &p, false);
	got = folded(&r);
	assert_string_equal(got,
		"a:b (42);main;leak_fn;inl_helper 3000\n"
		"a:b (42);op:er ator;0xdead;libx.so+0x5000 100\n"
		"a:b (42);[no stack] 7\n"
		"a:b (42);[python objects];<module> (app.py:9);make (app.py:5) 640\n");
	free(got);
}

static void test_mmap_marker(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	char *got;

	(void)state;
	make_report(&r, &p, true);
	got = folded(&r);
	assert_non_null(strstr(got, "\na:b (42);[anonymous mmap];main 8192\na:b (42);[python"));
	free(got);
}

static void test_empty(void **state)
{
	struct lt_report r;
	char *got;

	(void)state;
	memset(&r, 0, sizeof(r));
	got = folded(&r);
	assert_string_equal(got, "");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_mmap_marker),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
