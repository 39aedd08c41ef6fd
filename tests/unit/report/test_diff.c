// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/diff.h"

static void load(const char *text, struct lt_snapshot *s)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	char err[256] = "";

	assert_non_null(f);
	if (lt_snapshot_parse(f, "t", s, err, sizeof(err)))
		fail_msg("%s", err);
	fclose(f);
}

#define HDR "leaktrace-snapshot 1\nreport\t1\t0\n"
#define GROW(line) "frame\tn\tgrow\tapp.c\t" line "\t/old/app\t0x10\nframe\tn\tmain\tapp.c\t40\t/old/app\t0x90\n"
#define FIXED "frame\tn\tfixed\tapp.c\t30\t/old/app\t0x30\nframe\tn\tmain\tapp.c\t41\t/old/app\t0x91\n"

/* Same program, another pid, another path to the binary and other
 * offsets: the stacks still match. */
static const char old_text[] = HDR
	"process\t100\tapp\t/old/app\t1\n"
	"stack\theap\t1000\t10\t2\n" GROW("20")
	"stack\theap\t500\t5\t2\n" FIXED
	"stack\theap\t64\t1\t1\nframe\tn\tgone_fn\tapp.c\t50\t/old/app\t0x50\n"
	"end\t1\n";
static const char new_text[] = HDR
	"process\t200\tapp\t/new/app\t1\n"
	"stack\theap\t500\t5\t2\n"
	"frame\tn\tfixed\tapp.c\t30\t/new/app\t0x1030\nframe\tn\tmain\tapp.c\t41\t/new/app\t0x1091\n"
	"stack\theap\t3000\t30\t2\n" GROW("20")
	"stack\theap\t200\t2\t2\n" GROW("21")
	"stack\theap\t7\t1\t0\n"
	"stack\tpython\t640\t10\t1\nframe\tp\tmake\tapp.py\t5\t\t0x0\n"
	"process\t201\tother\t/new/other\t1\n"
	"stack\theap\t99\t1\t2\n" GROW("20")
	"end\t2\n";

static const struct lt_diff_row *row_of(const struct lt_diff *d, const char *comm,
					const char *func, int line)
{
	for (size_t i = 0; i < d->nrows; i++) {
		const struct lt_diff_row *r = &d->rows[i];

		if (!strcmp(r->comm, comm) && r->shown->nframes &&
		    !strcmp(r->shown->frames[0].func, func) && r->shown->frames[0].line == line)
			return r;
	}
	fail_msg("no row %s %s:%d", comm, func, line);
	return NULL;
}

static void test_by_stack(void **state)
{
	struct lt_snapshot a, b;
	struct lt_diff d;
	const struct lt_diff_row *r;

	(void)state;
	load(old_text, &a);
	load(new_text, &b);
	assert_int_equal(lt_diff_compute(&a, &b, LT_DIFF_BY_STACK, &d), 0);
	/* grow:20, grow:21, fixed, gone, no stack, python, other's grow:20 */
	assert_int_equal(d.nrows, 7);
	r = &d.rows[0];
	assert_string_equal(r->shown->frames[0].func, "grow");
	assert_int_equal(r->old_bytes, 1000);
	assert_int_equal(r->new_bytes, 3000);
	assert_int_equal(r->new_allocs, 30);
	assert_true(r->in_old && r->in_new);
	r = row_of(&d, "app", "fixed", 30);
	assert_int_equal(lt_diff_growth(r->new_bytes, r->old_bytes), 0);
	/* NEW's frames are the ones shown. */
	assert_string_equal(r->shown->frames[0].module, "/new/app");
	r = row_of(&d, "app", "grow", 21);
	assert_false(r->in_old);
	r = row_of(&d, "other", "grow", 20);
	assert_int_equal(r->new_bytes, 99);
	assert_false(r->in_old);
	/* The one that shrank comes last. */
	r = &d.rows[d.nrows - 1];
	assert_string_equal(r->shown->frames[0].func, "gone_fn");
	assert_false(r->in_new);
	assert_int_equal(lt_diff_growth(r->new_bytes, r->old_bytes), -64);
	for (size_t i = 1; i < d.nrows; i++)
		assert_true(lt_diff_growth(d.rows[i - 1].new_bytes, d.rows[i - 1].old_bytes) >=
			    lt_diff_growth(d.rows[i].new_bytes, d.rows[i].old_bytes));
	lt_diff_free(&d);
	lt_snapshot_free(&a);
	lt_snapshot_free(&b);
}

static void test_by_line(void **state)
{
	struct lt_snapshot a, b;
	struct lt_diff d;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	load(old_text, &a);
	load(new_text, &b);
	assert_int_equal(lt_diff_compute(&a, &b, LT_DIFF_BY_LINE, &d), 0);
	assert_int_equal(d.nrows, 7);
	assert_int_equal(d.rows[0].new_bytes, 3000);
	assert_int_equal(d.rows[0].old_bytes, 1000);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	lt_diff_print(out, &d, LT_DIFF_BY_LINE, 2);
	fclose(out);
	assert_string_equal(buf,
		"7 lines: 5 grew, 1 shrank; showing 2\n"
		"heap total: +2242 B (new total 3806 B) +23 allocations (new total 39)\n"
		"\n"
		"+2000 B (new total 3000 B) +20 allocations (new total 30) in app:\n"
		"        grow (app.c:20) [app]\n"
		"\n"
		"+640 B (new total 640 B) +10 objects (new total 10) in app, Python objects, new:\n"
		"        make (app.py:5) [python]\n");
	free(buf);
	lt_diff_free(&d);
	lt_snapshot_free(&a);
	lt_snapshot_free(&b);
}

/* Two stacks ending on the same line are one row by line, two by stack. */
static void test_line_groups(void **state)
{
	static const char text[] = HDR "process\t1\tapp\t\t0\n"
		"stack\theap\t10\t1\t2\nframe\tn\tf\tx.c\t3\t/a\t0x1\nframe\tn\tg\tx.c\t9\t/a\t0x2\n"
		"stack\theap\t20\t2\t2\nframe\tn\tf\tx.c\t3\t/a\t0x1\nframe\tn\th\tx.c\t8\t/a\t0x3\n"
		"stack\theap\t5\t1\t1\nframe\tn\t\t\t0\t/lib/l.so\t0x7\n"
		"stack\theap\t6\t1\t1\nframe\tn\t\t\t0\t/lib/l.so\t0x8\n"
		"end\t1\n";
	struct lt_snapshot a, empty = {};
	struct lt_diff d;

	(void)state;
	load(text, &a);
	assert_int_equal(lt_diff_compute(&empty, &a, LT_DIFF_BY_LINE, &d), 0);
	assert_int_equal(d.nrows, 3);
	assert_int_equal(d.rows[0].new_bytes, 30);
	assert_int_equal(d.rows[0].new_allocs, 3);
	lt_diff_free(&d);
	assert_int_equal(lt_diff_compute(&empty, &a, LT_DIFF_BY_STACK, &d), 0);
	assert_int_equal(d.nrows, 4);
	lt_diff_free(&d);
	assert_int_equal(lt_diff_compute(&empty, &empty, LT_DIFF_BY_STACK, &d), 0);
	assert_int_equal(d.nrows, 0);
	lt_diff_free(&d);
	lt_snapshot_free(&a);
}

/* Descriptor rows match like stacks, come after the memory rows whatever
 * their numbers, stay out of the heap total and print as counts. */
static void test_fd_rows(void **state)
{
	static const char a_text[] = HDR
		"process\t100\tapp\t/old/app\t1\n"
		"stack\theap\t10\t1\t2\n" GROW("20")
		"stack\tfds\t3\t3\t2\n" GROW("20")
		"end\t1\n";
	static const char b_text[] = HDR
		"process\t200\tapp\t/new/app\t1\n"
		"stack\theap\t20\t2\t2\n" GROW("20")
		"stack\tfds\t40\t40\t2\n" GROW("20")
		"end\t1\n";
	struct lt_snapshot a, b;
	struct lt_diff d;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	load(a_text, &a);
	load(b_text, &b);
	assert_int_equal(lt_diff_compute(&a, &b, LT_DIFF_BY_STACK, &d), 0);
	assert_int_equal(d.nrows, 2);
	assert_int_equal(d.rows[0].kind, LT_DIFF_HEAP);
	assert_int_equal(d.rows[1].kind, LT_DIFF_FDS);
	assert_int_equal(d.rows[1].old_allocs, 3);
	assert_int_equal(d.rows[1].new_allocs, 40);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	lt_diff_print(out, &d, LT_DIFF_BY_STACK, 10);
	fclose(out);
	assert_non_null(strstr(buf, "heap total: +10 B (new total 20 B) +1 allocations (new total 2)\n"));
	assert_non_null(strstr(buf, "descriptors total: +37 open (new total 40)\n"));
	assert_non_null(strstr(buf, "\n+37 descriptors (new total 40) open in app:\n        grow (app.c:20) [app]\n"));
	free(buf);
	lt_diff_free(&d);
	lt_snapshot_free(&a);
	lt_snapshot_free(&b);
}

static void test_growth_saturates(void **state)
{
	(void)state;
	assert_int_equal(lt_diff_growth(5, 3), 2);
	assert_int_equal(lt_diff_growth(3, 5), -2);
	assert_int_equal(lt_diff_growth(UINT64_MAX, 0), INT64_MAX);
	assert_int_equal(lt_diff_growth(0, UINT64_MAX), -INT64_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_stack),
		cmocka_unit_test(test_by_line),
		cmocka_unit_test(test_line_groups),
		cmocka_unit_test(test_growth_saturates),
		cmocka_unit_test(test_fd_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
