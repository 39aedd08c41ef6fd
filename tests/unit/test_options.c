// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"

static int parse_argv(struct lt_options *o, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return lt_options_parse(argc, argv, o);
}

/* PARSE(&o, "-p", "1") parses "leaktrace -p 1". */
#define PARSE(o, ...) parse_argv((o), (char *[]){ "leaktrace", __VA_ARGS__, NULL })

/* A macro, not a function, so a failure reports the caller's line. */
#define EXPECT_EINVAL(...)                                              \
	do {                                                            \
		struct lt_options o_;                                   \
									\
		assert_int_equal(PARSE(&o_, __VA_ARGS__), -EINVAL);     \
		lt_options_free(&o_);                                   \
	} while (0)

static void test_defaults(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(parse_argv(&o, (char *[]){ "leaktrace", NULL }), 0);
	assert_null(o.pids);
	assert_int_equal(o.npids, 0);
	assert_null(o.command);
	assert_null(o.objs);
	assert_int_equal(o.nobjs, 0);
	assert_false(o.trace_mmap);
	assert_true(o.interval_s == 0);
	assert_int_equal(o.count, 0);
	assert_true(o.duration_s == 0);
	assert_int_equal(o.top, 10);
	assert_int_equal(o.min_age_ms, 500);
	assert_int_equal(o.min_size, 0);
	assert_true(o.max_size == UINT64_MAX);
	assert_int_equal(o.sort, LT_SORT_BYTES);
	assert_int_equal(o.format, LT_FORMAT_TEXT);
	assert_null(o.output_path);
	assert_int_equal(o.ringbuf_bytes, 64ULL << 20);
	assert_int_equal(o.symbol_cache_bytes, 512ULL << 20);
	assert_int_equal(o.verbose, 0);
	lt_options_free(&o);
}

static void test_pid_repeatable(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-p", "1", "-p", "22", "--pid", "333", "--pid=4444"), 0);
	assert_int_equal(o.npids, 4);
	assert_int_equal(o.pids[0], 1);
	assert_int_equal(o.pids[1], 22);
	assert_int_equal(o.pids[2], 333);
	assert_int_equal(o.pids[3], 4444);
	lt_options_free(&o);
	assert_null(o.pids);
	assert_int_equal(o.npids, 0);
}

static void test_pid_max(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-p", "2147483647"), 0);
	assert_int_equal(o.npids, 1);
	assert_int_equal(o.pids[0], 2147483647);
	lt_options_free(&o);
}

static void test_pid_invalid(void **state)
{
	(void)state;
	EXPECT_EINVAL("-p", "abc");
	EXPECT_EINVAL("-p", "0");
	EXPECT_EINVAL("-p", "-5");
	EXPECT_EINVAL("-p", "");
	EXPECT_EINVAL("-p", "12x");
	EXPECT_EINVAL("-p", "2147483648");
	EXPECT_EINVAL("-p", "99999999999999999999999");
	/* The first -p was stored before the second failed: freeing cleans up. */
	EXPECT_EINVAL("-p", "1", "-p", "abc");
}

static void test_command(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-c", "./server --port 8080"), 0);
	assert_string_equal(o.command, "./server --port 8080");
	assert_int_equal(o.npids, 0);
	lt_options_free(&o);
	assert_null(o.command);

	assert_int_equal(PARSE(&o, "--command", "true"), 0);
	assert_string_equal(o.command, "true");
	lt_options_free(&o);
}

static void test_command_invalid(void **state)
{
	(void)state;
	EXPECT_EINVAL("-c", "true", "-p", "1");
	EXPECT_EINVAL("-p", "1", "-c", "true");
	EXPECT_EINVAL("-c", "a", "-c", "b");
	EXPECT_EINVAL("-c", "");
}

/* GNU order: options after INTERVAL and COUNT, operands between options. */
static void test_options_anywhere(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-c", "./app", "2", "--format", "json"), 0);
	assert_string_equal(o.command, "./app");
	assert_true(o.interval_s == 2.0);
	assert_int_equal(o.format, LT_FORMAT_JSON);
	lt_options_free(&o);

	assert_int_equal(PARSE(&o, "5", "-T", "3", "4", "-v"), 0);
	assert_true(o.interval_s == 5.0);
	assert_int_equal(o.count, 4);
	assert_int_equal(o.top, 3);
	assert_int_equal(o.verbose, 1);
	lt_options_free(&o);

	/* An option's argument that looks like "--" is not the end. */
	assert_int_equal(PARSE(&o, "-w", "--", "-c", "true"), 0);
	assert_string_equal(o.output_path, "--");
	assert_string_equal(o.command, "true");
	lt_options_free(&o);
	EXPECT_EINVAL("2", "--format", "json", "x");
}

/* What follows "--" is the command's own, options included. */
static void test_command_after_double_dash(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "--format", "json", "1", "--", "./app", "-p", "it's", "--top"), 0);
	assert_string_equal(o.command, "'./app' '-p' 'it'\\''s' '--top'");
	assert_int_equal(o.npids, 0);
	assert_int_equal(o.format, LT_FORMAT_JSON);
	assert_true(o.interval_s == 1.0);
	lt_options_free(&o);

	/* With -c: added to its arguments. */
	assert_int_equal(PARSE(&o, "-c", "python3 app.py", "--", "--workers", "2"), 0);
	assert_string_equal(o.command, "python3 app.py '--workers' '2'");
	lt_options_free(&o);
	/* The glued forms of options taking arguments end before it too. */
	assert_int_equal(PARSE(&o, "-T3", "--top=4", "--", "x"), 0);
	assert_int_equal(o.top, 4);
	assert_string_equal(o.command, "'x'");
	lt_options_free(&o);

	EXPECT_EINVAL("--");
	EXPECT_EINVAL("-p", "1", "--", "./app");
}

static void test_obj_repeatable(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-O", "/a/libjemalloc.so.2", "--obj", "/b/static", "-O", "/c"), 0);
	assert_int_equal(o.nobjs, 3);
	assert_string_equal(o.objs[0], "/a/libjemalloc.so.2");
	assert_string_equal(o.objs[1], "/b/static");
	assert_string_equal(o.objs[2], "/c");
	lt_options_free(&o);
	assert_null(o.objs);
	assert_int_equal(o.nobjs, 0);
}

static void test_interval_only(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "5"), 0);
	assert_true(o.interval_s == 5.0);
	assert_int_equal(o.count, 0);
	lt_options_free(&o);
}

static void test_interval_and_count(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-p", "42", "0.5", "3"), 0);
	assert_true(o.interval_s == 0.5);
	assert_int_equal(o.count, 3);
	assert_int_equal(o.npids, 1);
	assert_int_equal(o.pids[0], 42);
	lt_options_free(&o);
}

static void test_interval_invalid(void **state)
{
	(void)state;
	EXPECT_EINVAL("abc");
	EXPECT_EINVAL("0");
	EXPECT_EINVAL("0.0");
	EXPECT_EINVAL("-1");
	EXPECT_EINVAL("5s");
	EXPECT_EINVAL("");
	EXPECT_EINVAL("nan");
	EXPECT_EINVAL("inf");
	EXPECT_EINVAL("1e10");
}

static void test_count_invalid(void **state)
{
	(void)state;
	EXPECT_EINVAL("5", "0");
	EXPECT_EINVAL("5", "x");
	EXPECT_EINVAL("5", "-3");
	EXPECT_EINVAL("5", "2.5");
	EXPECT_EINVAL("5", "9223372036854775808");
}

static void test_extra_positional(void **state)
{
	(void)state;
	EXPECT_EINVAL("1", "2", "3");
	/* Options stop at the first positional: a later -p is an extra argument. */
	EXPECT_EINVAL("1", "2", "-p");
}

static void test_unknown_option(void **state)
{
	(void)state;
	EXPECT_EINVAL("-x");
	EXPECT_EINVAL("--bogus");
	EXPECT_EINVAL("--pid");   /* missing argument */
	EXPECT_EINVAL("-p");      /* missing argument */
	EXPECT_EINVAL("--mmap=yes");
}

static void test_format(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "--format", "json"), 0);
	assert_int_equal(o.format, LT_FORMAT_JSON);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "--format=json", "--format", "text"), 0);
	assert_int_equal(o.format, LT_FORMAT_TEXT);
	lt_options_free(&o);
	EXPECT_EINVAL("--format", "xml");
	EXPECT_EINVAL("--format", "JSON");
	EXPECT_EINVAL("--format", "");
}

static void test_sort(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "--sort", "count"), 0);
	assert_int_equal(o.sort, LT_SORT_COUNT);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "--sort", "count", "--sort", "bytes"), 0);
	assert_int_equal(o.sort, LT_SORT_BYTES);
	lt_options_free(&o);
	EXPECT_EINVAL("--sort", "size");
}

static void test_mmap(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "--mmap"), 0);
	assert_true(o.trace_mmap);
	lt_options_free(&o);
}

static void test_size_limits(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-z", "16", "-Z", "4096"), 0);
	assert_int_equal(o.min_size, 16);
	assert_int_equal(o.max_size, 4096);
	lt_options_free(&o);

	assert_int_equal(PARSE(&o, "--min-size", "5", "--max-size", "5"), 0);
	assert_int_equal(o.min_size, 5);
	assert_int_equal(o.max_size, 5);
	lt_options_free(&o);

	assert_int_equal(PARSE(&o, "-z", "18446744073709551615"), 0);
	assert_true(o.min_size == UINT64_MAX);
	lt_options_free(&o);
}

static void test_size_limits_invalid(void **state)
{
	(void)state;
	EXPECT_EINVAL("-z", "10", "-Z", "5");
	EXPECT_EINVAL("-Z", "5", "-z", "10");
	EXPECT_EINVAL("-z", "-1");
	EXPECT_EINVAL("-Z", "1k");
	EXPECT_EINVAL("-z", "18446744073709551616");
}

/* strtoull() skips leading white space and then accepts a minus sign, so a
 * check of the first character alone lets " -1" through as UINT64_MAX. */
static void test_negative_after_space_rejected(void **state)
{
	(void)state;
	EXPECT_EINVAL("-z", " -1");
	EXPECT_EINVAL("-Z", " -1");
	EXPECT_EINVAL("-o", " -1");
	EXPECT_EINVAL("-p", " -1");
	EXPECT_EINVAL("5", " -1");
}

static void test_other_options(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-d", "2.5", "-T", "0", "-o", "1000", "-w", "/tmp/out",
			       "-w", "/tmp/out2", "-v", "-v", "--ringbuf-mb", "128",
			       "--symbol-cache-mb", "3"), 0);
	assert_true(o.duration_s == 2.5);
	assert_int_equal(o.top, 0);
	assert_int_equal(o.min_age_ms, 1000);
	assert_string_equal(o.output_path, "/tmp/out2");
	assert_int_equal(o.verbose, 2);
	assert_int_equal(o.ringbuf_bytes, 128ULL << 20);
	assert_int_equal(o.symbol_cache_bytes, 3ULL << 20);
	lt_options_free(&o);
	assert_null(o.output_path);

	EXPECT_EINVAL("-d", "0");
	EXPECT_EINVAL("-T", "x");
	EXPECT_EINVAL("-o", "soon");
	EXPECT_EINVAL("--ringbuf-mb", "0");
	EXPECT_EINVAL("--ringbuf-mb", "4097");
	EXPECT_EINVAL("--symbol-cache-mb", "0");
	EXPECT_EINVAL("--symbol-cache-mb", "1048577");
}

static void test_user(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "--user", "nobody", "-c", "true"), 0);
	assert_string_equal(o.run_as_user, "nobody");
	lt_options_free(&o);
	assert_null(o.run_as_user);
	EXPECT_EINVAL("--user", "nobody");
	EXPECT_EINVAL("--user", "nobody", "-p", "1");
	EXPECT_EINVAL("--user", "", "-c", "true");
}

static void test_bounds(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-v"), 0);
	assert_int_equal(o.max_allocs, 16u << 20);
	assert_int_equal(o.max_stacks, 256u << 10);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "--max-allocs", "1024", "--max-stacks", "64"), 0);
	assert_int_equal(o.max_allocs, 1024);
	assert_int_equal(o.max_stacks, 64);
	lt_options_free(&o);
	EXPECT_EINVAL("--max-allocs", "1023");
	EXPECT_EINVAL("--max-allocs", "1073741825");
	EXPECT_EINVAL("--max-stacks", "63");
	EXPECT_EINVAL("--max-stacks", "-5");
}

static void test_format_html(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "--format", "html"), 0);
	assert_int_equal(o.format, LT_FORMAT_HTML);
	lt_options_free(&o);
	EXPECT_EINVAL("--format", "svg");
}

/* --live: INTERVAL 2 s and -T 50 unless given; nothing else may write to
 * the terminal it draws on. */
static void test_live(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "--live", "-p", "1"), 0);
	assert_true(o.live);
	assert_true(o.interval_s == LT_LIVE_DEFAULT_INTERVAL_S);
	assert_int_equal(o.top, LT_LIVE_DEFAULT_TOP);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "-p", "1", "0.5", "--live", "-T", "5", "--format", "text"), 0);
	assert_true(o.interval_s == 0.5);
	assert_int_equal(o.top, 5);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "-p", "1", "3"), 0);
	assert_false(o.live);
	assert_int_equal(o.top, 10);
	lt_options_free(&o);
	EXPECT_EINVAL("--live", "--format", "json");
	EXPECT_EINVAL("--live", "--format", "html");
	EXPECT_EINVAL("--live", "-w", "out.txt");
	EXPECT_EINVAL("--live", "--self-test");
}

static void test_cgroup(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "--cgroup", "system.slice/x.scope"), 0);
	assert_string_equal(o.cgroup_path, "system.slice/x.scope");
	lt_options_free(&o);
	EXPECT_EINVAL("--cgroup", "");
	EXPECT_EINVAL("--cgroup", "/a", "-p", "1");
	EXPECT_EINVAL("--cgroup", "/a", "-c", "true");
}

static void test_python_objects(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-v"), 0);
	assert_false(o.py_gc_only);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "--python-objects", "gc"), 0);
	assert_true(o.py_gc_only);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "--python-objects", "gc", "--python-objects", "all"), 0);
	assert_false(o.py_gc_only);
	lt_options_free(&o);
	EXPECT_EINVAL("--python-objects", "some");
}

static void test_serve(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "-v"), 0);
	assert_int_equal(o.serve_port, 0);
	assert_null(o.serve_host);
	lt_options_free(&o);

	/* Loopback unless an address is written out. */
	assert_int_equal(PARSE(&o, "--serve", "9100"), 0);
	assert_string_equal(o.serve_host, "127.0.0.1");
	assert_int_equal(o.serve_port, 9100);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "--serve", ":9101"), 0);
	assert_string_equal(o.serve_host, "127.0.0.1");
	assert_int_equal(o.serve_port, 9101);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "--serve", "0.0.0.0:80"), 0);
	assert_string_equal(o.serve_host, "0.0.0.0");
	assert_int_equal(o.serve_port, 80);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "--serve", "[::1]:65535"), 0);
	assert_string_equal(o.serve_host, "::1");
	assert_int_equal(o.serve_port, 65535);
	lt_options_free(&o);

	EXPECT_EINVAL("--serve", "0");
	EXPECT_EINVAL("--serve", "65536");
	EXPECT_EINVAL("--serve", "localhost:9100"); /* names are not resolved */
	EXPECT_EINVAL("--serve", "1.2.3:9100");
	EXPECT_EINVAL("--serve", "127.0.0.1:");
	EXPECT_EINVAL("--serve", "127.0.0.1:x");
	EXPECT_EINVAL("--serve", "[::1]");
}

static void test_version_returns_one(void **state)
{
	struct lt_options o;
	(void)state;

	assert_int_equal(PARSE(&o, "--version"), 1);
	lt_options_free(&o);
}

static void test_reparse_after_error(void **state)
{
	struct lt_options o;
	(void)state;

	/* A second parse in the same process must not depend on the first. */
	assert_int_equal(PARSE(&o, "-p", "abc"), -EINVAL);
	lt_options_free(&o);
	assert_int_equal(PARSE(&o, "-T", "5", "-v"), 0);
	assert_int_equal(o.top, 5);
	assert_int_equal(o.verbose, 1);
	lt_options_free(&o);
}

/* getopt keeps its position inside a cluster of short options; resetting
 * only optind=1 (not optind=0) lets a parse that failed in the middle of
 * "-xv" leak the pending "v" into the next call. */
static void test_reparse_after_error_in_option_cluster(void **state)
{
	char *bad[] = { "leaktrace", "-xv", NULL };
	char *good[] = { "leaktrace", "-T", "5", NULL };
	struct lt_options o;
	(void)state;

	assert_int_equal(parse_argv(&o, bad), -EINVAL);
	lt_options_free(&o);
	assert_int_equal(parse_argv(&o, good), 0);
	assert_int_equal(o.verbose, 0);
	assert_int_equal(o.top, 5);
	assert_true(o.interval_s == 0);
	lt_options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_pid_repeatable),
		cmocka_unit_test(test_pid_max),
		cmocka_unit_test(test_pid_invalid),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_command_invalid),
		cmocka_unit_test(test_options_anywhere),
		cmocka_unit_test(test_command_after_double_dash),
		cmocka_unit_test(test_obj_repeatable),
		cmocka_unit_test(test_interval_only),
		cmocka_unit_test(test_interval_and_count),
		cmocka_unit_test(test_interval_invalid),
		cmocka_unit_test(test_count_invalid),
		cmocka_unit_test(test_extra_positional),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_mmap),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_size_limits_invalid),
		cmocka_unit_test(test_negative_after_space_rejected),
		cmocka_unit_test(test_other_options),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_format_html),
		cmocka_unit_test(test_cgroup),
		cmocka_unit_test(test_python_objects),
		cmocka_unit_test(test_serve),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_version_returns_one),
		cmocka_unit_test(test_reparse_after_error),
		cmocka_unit_test(test_reparse_after_error_in_option_cluster),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
