// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "symbols/kallsyms.h"
#include "symbols/symbolizer.h"

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/lt-kallsyms-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Out of order, data symbols, aliases and a module, as the kernel lists them. */
static const char listing[] =
	"ffffffff81000000 T _stext\n"
	"ffffffff81200000 T kmem_cache_alloc_noprof\n"
	"ffffffff81100000 T do_eventfd\n"
	"ffffffff81100000 t do_eventfd_alias\n"
	"ffffffff82000000 D some_data\n"
	"ffffffffc0201000 t ext4_thing\t[ext4]\n"
	"ffffffffc0202000 t ext4_other\t[ext4]\n";

static void lookup(void **state)
{
	char *path = write_tmp(listing);
	struct lt_kallsyms *k;
	struct lt_report_frame f;
	uint64_t lo, hi;

	(void)state;
	assert_int_equal(lt_kallsyms_load(path, &k), 0);
	/* Code only. */
	assert_int_equal(lt_kallsyms_count(k), 6);
	assert_int_equal(lt_kallsyms_frame(k, 0xffffffff81100034ULL, &f), 0);
	assert_non_null(f.func);
	assert_true(!strcmp(f.func, "do_eventfd") || !strcmp(f.func, "do_eventfd_alias"));
	assert_int_equal(f.func_offset, 0x34);
	assert_string_equal(f.module, "vmlinux");
	lt_report_frame_clear(&f);
	assert_int_equal(lt_kallsyms_frame(k, 0xffffffffc0201010ULL, &f), 0);
	assert_string_equal(f.func, "ext4_thing");
	assert_string_equal(f.module, "ext4");
	lt_report_frame_clear(&f);
	/* Below every symbol: no name. */
	assert_int_equal(lt_kallsyms_frame(k, 0xffffffff80000000ULL, &f), 0);
	assert_null(f.func);
	lt_report_frame_clear(&f);
	assert_int_equal(lt_kallsyms_range(k, "do_eventfd", &lo, &hi), 0);
	assert_int_equal(lo, 0xffffffff81100000ULL);
	assert_int_equal(hi, 0xffffffff81200000ULL);
	assert_int_equal(lt_kallsyms_range(k, "nothing", &lo, &hi), -ENOENT);
	lt_kallsyms_free(k);
	unlink(path);
	free(path);
}

/* kptr_restrict: every address reads 0. */
static void hidden_addresses(void **state)
{
	char *path = write_tmp("0000000000000000 T _stext\n0000000000000000 T do_eventfd\n");
	struct lt_kallsyms *k;

	(void)state;
	assert_int_equal(lt_kallsyms_load(path, &k), -EPERM);
	assert_null(k);
	assert_int_equal(lt_kallsyms_load("/nonexistent/kallsyms", &k), -ENOENT);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup),
		cmocka_unit_test(hidden_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
