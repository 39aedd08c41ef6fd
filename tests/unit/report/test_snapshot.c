// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "report/snapshot.h"

#define APP "/usr/bin/app"

static struct lt_report_frame heap_a[] = {
	{ .addr = 0x401100, .func = "inl_helper", .file = "a.c", .line = 7, .module = APP,
	  .module_offset = 0x1100, .build_id = "", .inlined = true },
	{ .addr = 0x401100, .func = "leak\tfn\nx\\y\r", .file = "dir\\a b.c", .line = 20,
	  .module = APP, .module_offset = 0x1100, .build_id = "" },
};
/* Unknown function and file; a frame in no module at all. */
static struct lt_report_frame heap_b[] = {
	{ .addr = 0x7f0000005000, .module = "/lib/libx.so", .module_offset = 0xabcdef,
	  .build_id = "abcd" },
	{ .addr = 0xdead, .build_id = "" },
};
static struct lt_report_frame py[] = {
	{ .func = "make", .file = "app.py", .line = 5, .build_id = "", .python = true },
};
static struct lt_report_stack heap_stacks[] = {
	{ .bytes = 3000, .allocs = 3, .frames = heap_a, .nframes = 2 },
	{ .bytes = UINT64_MAX, .allocs = 1, .frames = heap_b, .nframes = 2 },
	{ .bytes = 7, .allocs = 1, .frames = NULL, .nframes = 0 },
};
static struct lt_report_stack py_stacks[] = {
	{ .bytes = 640, .allocs = 10, .frames = py, .nframes = 1 },
};
static struct lt_report_stack fd_stacks[] = {
	{ .bytes = 4, .allocs = 4, .frames = py, .nframes = 1 },
};
static struct lt_report_py_type py_types[] = {
	{ .name = "dict\tweird", .objects = 12, .bytes = 2400 },
};
static struct lt_report_python python = {
	.minor = 11, .types = py_types, .ntypes = 1,
	.stacks = { .stacks = py_stacks, .nstacks = 1 },
};

static void make_report(struct lt_report *r, struct lt_report_process p[2])
{
	memset(r, 0, sizeof(*r));
	memset(p, 0, 2 * sizeof(*p));
	p[0].pid = 42;
	strcpy(p[0].comm, "a\tb");
	p[0].exe = APP;
	p[0].heap.stacks = heap_stacks;
	p[0].heap.nstacks = 3;
	p[0].python = &python;
	p[0].fds_traced = true;
	p[0].fds.stacks = fd_stacks;
	p[0].fds.nstacks = 1;
	p[1].pid = 43;
	strcpy(p[1].comm, "other");
	p[1].exited = true;
	r->final = true;
	r->wall.tv_sec = 1700000000;
	r->sample_bytes = 4096;
	r->procs = p;
	r->nprocs = 2;
}

static char *written(const struct lt_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(lt_snapshot_write(f, r), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static int parse_text(const char *text, size_t len, struct lt_snapshot *s, char *err,
		      size_t errlen)
{
	FILE *f = fmemopen((void *)text, len, "r");
	int ret;

	assert_non_null(f);
	ret = lt_snapshot_parse(f, "t.snap", s, err, errlen);
	fclose(f);
	return ret;
}

static void assert_frame(const struct lt_snap_frame *got, const struct lt_report_frame *want)
{
	if (want->func)
		assert_string_equal(got->func, want->func);
	else
		assert_null(got->func);
	if (want->file)
		assert_string_equal(got->file, want->file);
	else
		assert_null(got->file);
	if (want->module)
		assert_string_equal(got->module, want->module);
	else
		assert_null(got->module);
	assert_int_equal(got->line, want->line);
	assert_int_equal(got->module_offset, want->module_offset);
	assert_int_equal(got->kind, want->python ? 'p' : want->inlined ? 'i' : 'n');
}

static void test_round_trip(void **state)
{
	struct lt_report r;
	struct lt_report_process p[2];
	struct lt_snapshot s;
	char err[256] = "", *text;

	(void)state;
	make_report(&r, p);
	text = written(&r);
	assert_true(!strncmp(text, "leaktrace-snapshot 1\n", 21));
	/* Escaped names never add a line: one per record. */
	assert_non_null(strstr(text, "leak\\tfn\\nx\\\\y\\r"));
	assert_int_equal(parse_text(text, strlen(text), &s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(s.wall_s, 1700000000);
	assert_int_equal(s.sample_bytes, 4096);
	assert_int_equal(s.nprocs, 2);
	assert_int_equal(s.procs[0].pid, 42);
	assert_string_equal(s.procs[0].comm, "a\tb");
	assert_string_equal(s.procs[0].exe, APP);
	assert_false(s.procs[0].exited);
	assert_int_equal(s.procs[0].heap.nstacks, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct lt_snap_stack *st = &s.procs[0].heap.stacks[i];

		assert_int_equal(st->bytes, heap_stacks[i].bytes);
		assert_int_equal(st->allocs, heap_stacks[i].allocs);
		assert_int_equal(st->nframes, heap_stacks[i].nframes);
		for (uint32_t f = 0; f < st->nframes; f++)
			assert_frame(&st->frames[f], &heap_stacks[i].frames[f]);
	}
	assert_int_equal(s.procs[0].python.nstacks, 1);
	assert_frame(&s.procs[0].python.stacks[0].frames[0], &py[0]);
	assert_int_equal(s.procs[0].python.stacks[0].allocs, 10);
	/* Descriptor rows keep their count, apart from the heap's. */
	assert_non_null(strstr(text, "\nstack\tfds\t4\t4\t1\n"));
	assert_int_equal(s.procs[0].fds.nstacks, 1);
	assert_int_equal(s.procs[0].fds.stacks[0].allocs, 4);
	assert_frame(&s.procs[0].fds.stacks[0].frames[0], &py[0]);
	assert_int_equal(s.procs[1].fds.nstacks, 0);
	assert_int_equal(s.procs[0].ntypes, 1);
	assert_string_equal(s.procs[0].types[0].name, "dict\tweird");
	assert_int_equal(s.procs[0].types[0].objects, 12);
	assert_int_equal(s.procs[0].types[0].bytes, 2400);
	assert_int_equal(s.procs[1].pid, 43);
	assert_true(s.procs[1].exited);
	assert_null(s.procs[1].exe);
	assert_int_equal(s.procs[1].heap.nstacks, 0);
	lt_snapshot_free(&s);
	free(text);
}

static void test_save_and_load(void **state)
{
	struct lt_report r;
	struct lt_report_process p[2];
	struct lt_snapshot s;
	char dir[] = "/tmp/lt-snap-XXXXXX", path[64], tmp[80], err[256];

	(void)state;
	make_report(&r, p);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(lt_snapshot_save(path, &r, err, sizeof(err)), 0);
	assert_int_not_equal(access(tmp, F_OK), 0); /* renamed away */
	assert_int_equal(lt_snapshot_load(path, &s, err, sizeof(err)), 0);
	assert_int_equal(s.nprocs, 2);
	lt_snapshot_free(&s);
	unlink(path);
	rmdir(dir);
	/* A directory that does not exist: a reason, no file. */
	assert_int_not_equal(lt_snapshot_save("/nonexistent-dir/s", &r, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent-dir/s.tmp"));
	assert_int_not_equal(lt_snapshot_load("/nonexistent-dir/s", &s, err, sizeof(err)), 0);
	assert_int_equal(s.nprocs, 0);
}

#define HDR "leaktrace-snapshot 1\nreport\t1\t0\n"
#define PROC "process\t1\tx\t/x\t0\n"

/* text must fail with err starting with want ("t.snap:LINE: ..."). */
static void expect_error(const char *text, size_t len, const char *want)
{
	struct lt_snapshot s;
	char err[256] = "";

	if (parse_text(text, len, &s, err, sizeof(err)) == 0)
		fail_msg("accepted: %.80s", text);
	if (strncmp(err, want, strlen(want)))
		fail_msg("error '%s', want '%s...'", err, want);
	assert_null(strchr(err, '\n'));
	assert_int_equal(s.nprocs, 0);
	assert_null(s.procs);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "", "t.snap:1: empty file" },
		{ "leaktrace-snapshot 2\n", "t.snap:1: unsupported snapshot version" },
		{ "leaktrace-snapshot x\n", "t.snap:1: unsupported snapshot version" },
		{ "gitleaks 1\n", "t.snap:1: not a leaktrace snapshot" },
		{ "leaktrace-snapshot 1", "t.snap:1: truncated line" },
		{ HDR PROC "stack\theap\t10\t1\t0", "t.snap:4: truncated line" },
		{ HDR PROC, "t.snap:4: no end record" },
		{ "leaktrace-snapshot 1\n" PROC, "t.snap:2: expected a report record" },
		{ HDR "process\t1\tx\t/x\t2\n", "t.snap:3: field 5: number out of range" },
		{ HDR "process\t-1\tx\t/x\t0\n", "t.snap:3: field 2: bad number" },
		{ HDR "process\t4294967296\tx\t/x\t0\n", "t.snap:3: field 2: number out of range" },
		{ HDR PROC "stack\theap\t18446744073709551616\t1\t0\n",
		  "t.snap:4: field 3: number out of range" },
		{ HDR PROC "stack\theap\t1x\t1\t0\n", "t.snap:4: field 3: bad number" },
		{ HDR PROC "stack\theap\t\t1\t0\n", "t.snap:4: field 3: empty number" },
		{ HDR PROC "stack\theap\t1\t1\t0\textra\n", "t.snap:4: stack record: 6 fields" },
		{ HDR PROC "stack\theap\t1\t1\n", "t.snap:4: stack record: 4 fields" },
		{ HDR PROC "a\tb\tc\td\te\tf\tg\th\ti\n", "t.snap:4: too many fields" },
		{ HDR PROC "stack\tmmap\t1\t1\t0\n", "t.snap:4: unknown stack kind" },
		{ HDR PROC "stack\theap\t1\t1\t5000\n", "t.snap:4: field 5: number out of range" },
		{ HDR PROC "stack\theap\t1\t1\t2\nframe\tn\tf\t\t0\t\t0x0\nend\t1\n",
		  "t.snap:6: 1 frame records missing" },
		{ HDR PROC "stack\theap\t1\t1\t1\nframe\tq\tf\t\t0\t\t0x0\n",
		  "t.snap:5: unknown frame kind" },
		{ HDR PROC "stack\theap\t1\t1\t1\nframe\tn\tf\t\t0\t\t12\n",
		  "t.snap:5: field 7: bad hex number" },
		{ HDR PROC "stack\theap\t1\t1\t1\nframe\tn\tf\t\t0\t\t0x12345678901234567\n",
		  "t.snap:5: field 7: bad hex number" },
		{ HDR PROC "stack\theap\t1\t1\t1\nframe\tn\tf\\x\t\t0\t\t0x0\n",
		  "t.snap:5: bad escape in field 3" },
		{ HDR PROC "stack\theap\t1\t1\t1\nframe\tn\tf\\\t\t0\t\t0x0\n",
		  "t.snap:5: bad escape in field 3" },
		{ HDR "frame\tn\tf\t\t0\t\t0x0\n", "t.snap:3: frame record outside a stack" },
		{ HDR "stack\theap\t1\t1\t0\n", "t.snap:3: stack record before any process" },
		{ HDR "type\tdict\t1\t1\n", "t.snap:3: type record before any process" },
		{ HDR "bogus\n", "t.snap:3: unknown record 'bogus'" },
		{ HDR "report\t1\t0\n", "t.snap:3: second report record" },
		{ HDR PROC "end\t2\n", "t.snap:4: end record counts 2 processes, file has 1" },
		{ HDR PROC "end\t1\nprocess\t2\ty\t\t0\n", "t.snap:5: data after the end record" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, strlen(cases[i].text), cases[i].want);
}

static void test_nul_and_huge_line(void **state)
{
	static const char nul[] = HDR "process\t1\tx\0y\t/x\t0\n";
	size_t huge_len = LT_SNAPSHOT_MAX_LINE + 100;
	char *huge = malloc(strlen(HDR) + huge_len + 2);

	(void)state;
	expect_error(nul, sizeof(nul) - 1, "t.snap:3: NUL byte in line");
	assert_non_null(huge);
	strcpy(huge, HDR);
	memset(huge + strlen(HDR), 'a', huge_len);
	huge[strlen(HDR) + huge_len] = '\n';
	expect_error(huge, strlen(HDR) + huge_len + 1, "t.snap:3: line longer than 65536 bytes");
	free(huge);
}

/* Every prefix of a valid file is refused cleanly, never read past. */
static void test_every_prefix(void **state)
{
	struct lt_report r;
	struct lt_report_process p[2];
	struct lt_snapshot s;
	char err[256], *text;
	size_t len;

	(void)state;
	make_report(&r, p);
	text = written(&r);
	len = strlen(text);
	for (size_t n = 0; n < len; n++) {
		char *copy = malloc(n + 1);

		assert_non_null(copy);
		memcpy(copy, text, n);
		assert_int_not_equal(parse_text(copy, n, &s, err, sizeof(err)), 0);
		assert_int_equal(s.nprocs, 0);
		free(copy);
	}
	free(text);
}

static void test_too_many_processes(void **state)
{
	size_t n = LT_SNAPSHOT_MAX_PROCS + 1, cap = strlen(HDR) + n * strlen(PROC) + 1;
	char *text = malloc(cap), *w = text;
	char want[64];

	(void)state;
	assert_non_null(text);
	w += sprintf(w, "%s", HDR);
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "%s", PROC);
	snprintf(want, sizeof(want), "t.snap:%zu: more than %d processes", n + 2,
		 LT_SNAPSHOT_MAX_PROCS);
	expect_error(text, (size_t)(w - text), want);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_save_and_load),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul_and_huge_line),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_too_many_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
