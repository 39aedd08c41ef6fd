// SPDX-License-Identifier: MIT
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

static void test_kernel(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	char *got;

	(void)state;
	make_report(&r, &p, false);
	add_kernel(&r);
	got = folded(&r);
	assert_non_null(strstr(got, "app.py:5) 640\n"
		"[kernel];kmalloc-64;do_syscall_64;do_eventfd;__kmalloc_cache_noprof 640\n"
		"[kernel];ext4_inode_cache (and other caches);0xffffffff90000000;ext4_alloc:inode 2048\n"));
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
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
