// SPDX-License-Identifier: MIT
/* Age histograms in the JSON and text reports, on the shared fixture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output/report_writers.h"

#include "report_fixture.h"

typedef void (*writer_fn)(FILE *, const struct lt_report *);

static char *render(writer_fn write, const struct lt_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	write(f, r);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* heap_a: 2 blocks of 1000 bytes 1-10 s old and one over 6 h old; the
 * Python stack: 10 objects in 10 s-1 min. heap_b and the frameless stack
 * keep no ages. */
static void set_ages(void)
{
	memset(&heap_stacks[0].ages, 0, sizeof(heap_stacks[0].ages));
	heap_stacks[0].ages.allocs[1] = 2;
	heap_stacks[0].ages.bytes[1] = 2000;
	heap_stacks[0].ages.allocs[6] = 1;
	heap_stacks[0].ages.bytes[6] = 1000;
	memset(&py_stacks[0].ages, 0, sizeof(py_stacks[0].ages));
	py_stacks[0].ages.allocs[2] = 10;
	py_stacks[0].ages.bytes[2] = 640;
}

static void clear_ages(void)
{
	memset(&heap_stacks[0].ages, 0, sizeof(heap_stacks[0].ages));
	memset(&py_stacks[0].ages, 0, sizeof(py_stacks[0].ages));
}

#define LE "\"le_s\":[1,10,60,600,3600,21600,null]"

static void test_json(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	char *got;

	(void)state;
	set_ages();
	make_report(&r, &p, false);
	got = render(lt_report_write_json, &r);
	assert_non_null(strstr(got, "{\"bytes\":3000,\"allocs\":3,\"sampled_allocs\":0,"
				    "\"oldest_age_s\":0.000000,\"age_histogram\":{" LE
				    ",\"allocs\":[0,2,0,0,0,0,1],\"bytes\":[0,2000,0,0,0,0,1000]},"
				    "\"frames\":["));
	/* Unknown ages: every bucket 0, the key still there. */
	assert_non_null(strstr(got, "{\"bytes\":100,\"allocs\":1,\"sampled_allocs\":0,"
				    "\"oldest_age_s\":0.000000,\"age_histogram\":{" LE
				    ",\"allocs\":[0,0,0,0,0,0,0],\"bytes\":[0,0,0,0,0,0,0]},"));
	assert_non_null(strstr(got, "\"age_histogram\":{" LE ",\"allocs\":[0,0,10,0,0,0,0],"
				    "\"bytes\":[0,0,640,0,0,0,0]},\"frames\":[{\"lang\":\"python\""));
	free(got);
	clear_ages();
}

static void test_json_summary(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	struct lt_report_stack sum = { .bytes = 48, .allocs = 3, .processes = 2,
				       .frames = heap_a, .nframes = 3 };
	char *got;

	(void)state;
	sum.ages.allocs[3] = 1;
	sum.ages.bytes[3] = 16;
	sum.ages.allocs[4] = 2;
	sum.ages.bytes[4] = 32;
	make_report(&r, &p, false);
	r.summary.stacks = &sum;
	r.summary.nstacks = 1;
	got = render(lt_report_write_json, &r);
	assert_non_null(strstr(got, "\"summary\":{\"outstanding_bytes\":0,\"outstanding_allocs\":0,"
				    "\"stacks\":[{\"bytes\":48,\"allocs\":3,\"sampled_allocs\":0,"
				    "\"processes\":2,\"oldest_age_s\":0.000000,\"age_histogram\":{" LE
				    ",\"allocs\":[0,0,0,1,2,0,0],\"bytes\":[0,0,0,16,32,0,0]},"));
	free(got);
}

/* The line after a header, or NULL. */
static const char *line_after(const char *text, const char *header)
{
	const char *at = strstr(text, header);

	if (!at)
		return NULL;
	at = strchr(at, '\n');
	return at ? at + 1 : NULL;
}

static void test_text(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	const char *next;
	char *got;

	(void)state;
	set_ages();
	make_report(&r, &p, false);
	got = render(lt_report_write_text, &r);
	next = line_after(got, "    3000 bytes in 3 allocations, oldest 0.0 s:\n");
	assert_non_null(next);
	assert_memory_equal(next, "      ages: 1-10s 2 (2000 B) | >6h 1 (1000 B)\n        inl_helper",
			    strlen("      ages: 1-10s 2 (2000 B) | >6h 1 (1000 B)\n        inl_helper"));
	/* No ages known: no line, the frames follow the header. */
	next = line_after(got, "    100 bytes in 1 allocation, oldest 0.0 s:\n");
	assert_non_null(next);
	assert_memory_equal(next, "        [libx.so+0x5000]", strlen("        [libx.so+0x5000]"));
	next = line_after(got, "    7 bytes in 1 allocation, oldest 0.0 s:\n");
	assert_non_null(next);
	assert_memory_equal(next, "        (no stack)", strlen("        (no stack)"));
	next = line_after(got, "    640 bytes in 10 blocks, oldest 0.0 s:\n");
	assert_non_null(next);
	assert_memory_equal(next, "      ages: 10s-1m 10 (640 B)\n        make (app.py:5) [python]",
			    strlen("      ages: 10s-1m 10 (640 B)\n        make (app.py:5) [python]"));
	free(got);
	clear_ages();
}

/* The cross-process summary prints when more than one process is shown. */
static void test_text_summary(void **state)
{
	struct lt_report r;
	struct lt_report_process p[2];
	struct lt_report_stack sum = { .bytes = 3000, .allocs = 3, .processes = 2,
				       .frames = heap_a, .nframes = 3 };
	const char *next;
	char *got;

	(void)state;
	sum.ages.allocs[0] = 3;
	sum.ages.bytes[0] = 3000;
	make_report(&r, &p[0], false);
	p[1] = p[0];
	p[1].pid = 43;
	r.nprocs = 2;
	r.summary.stacks = &sum;
	r.summary.nstacks = 1;
	got = render(lt_report_write_text, &r);
	next = line_after(got, "    3000 bytes in 3 allocations in 2 processes, oldest 0.0 s:\n");
	assert_non_null(next);
	assert_memory_equal(next, "      ages: 0-1s 3 (3000 B)\n        inl_helper",
			    strlen("      ages: 0-1s 3 (3000 B)\n        inl_helper"));
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_summary),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
