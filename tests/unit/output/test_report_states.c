// SPDX-License-Identifier: MIT
/*
 * What the text and JSON reports say of a process that is running, has
 * exited, or was moved out of the traced cgroup (--cgroup): when its
 * figures were taken, on its line, on each stack and on its Python objects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_fixture.h"
#include "output/report_writers.h"

enum state { RUNNING, EXITED, LEFT };

static char *render(enum state st, bool json)
{
	struct lt_report r;
	struct lt_report_process p;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	make_report(&r, &p, false);
	p.exited = st == EXITED;
	p.left_cgroup = st == LEFT;
	if (json)
		lt_report_write_json(out, &r);
	else
		lt_report_write_text(out, &r);
	assert_int_equal(fclose(out), 0);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *at = strstr(hay, needle); at; at = strstr(at + 1, needle))
		n++;
	return n;
}

static void test_text_running(void **state)
{
	char *t = render(RUNNING, false);
	(void)state;

	assert_int_equal(count(t, "held"), 0);
	assert_int_equal(count(t, " at exit"), 0);
	assert_int_equal(count(t, "left the cgroup"), 0);
	free(t);
}

static void test_text_exited(void **state)
{
	char *t = render(EXITED, false);
	(void)state;

	assert_int_equal(count(t, ", held at exit"), 1);
	/* Each of the 3 heap stacks, the Python line and its one stack. */
	assert_int_equal(count(t, " at exit"), 1 + 3 + 1 + 1);
	assert_int_equal(count(t, "left the cgroup"), 0);
	free(t);
}

static void test_text_left_cgroup(void **state)
{
	char *t = render(LEFT, false);
	(void)state;

	assert_int_equal(count(t, ", held when it left the cgroup (no longer traced)"), 1);
	assert_int_equal(count(t, " when it left the cgroup"), 1 + 3 + 1 + 1);
	assert_int_equal(count(t, "at exit"), 0);
	free(t);
}

static void test_json_flags(void **state)
{
	static const struct {
		enum state st;
		const char *flags;
	} cases[] = {
		{ RUNNING, "\"exited\":false,\"left_cgroup\":false" },
		{ EXITED, "\"exited\":true,\"left_cgroup\":false" },
		{ LEFT, "\"exited\":false,\"left_cgroup\":true" },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *j = render(cases[i].st, true);

		assert_int_equal(count(j, cases[i].flags), 1);
		free(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_running),
		cmocka_unit_test(test_text_exited),
		cmocka_unit_test(test_text_left_cgroup),
		cmocka_unit_test(test_json_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
