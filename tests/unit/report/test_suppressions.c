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

#include "report/suppressions.h"

/* Parse text as a file named "supp"; err receives the message. */
static int parse(struct lt_suppressions *s, const char *text, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	assert_non_null(f);
	ret = lt_suppressions_read(s, f, "supp", err, errlen);
	fclose(f);
	return ret;
}

static struct lt_suppressions *parse_ok(const char *text)
{
	struct lt_suppressions *s = lt_suppressions_new();
	char err[256] = "";

	assert_non_null(s);
	assert_int_equal(parse(s, text, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	return s;
}

static void expect_error(const char *text, const char *want)
{
	struct lt_suppressions *s = lt_suppressions_new();
	char err[256] = "";

	assert_int_equal(parse(s, text, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	lt_suppressions_free(s);
}

static struct lt_report_frame frame(const char *func, const char *module, const char *file)
{
	return (struct lt_report_frame){ .func = (char *)func, .module = module,
					 .file = (char *)file, .build_id = "" };
}

static bool one(const struct lt_suppressions *s, struct lt_report_frame f)
{
	return lt_suppressions_match(s, &f, 1);
}

static void test_comments_and_blanks(void **state)
{
	struct lt_suppressions *s;
	(void)state;

	s = parse_ok("# known leaks\n\n   \n\t# indented comment\nleak:foo\r\n  func:bar  \n");
	assert_int_equal(lt_suppressions_count(s), 2);
	assert_true(one(s, frame("foo", NULL, NULL)));
	assert_true(one(s, frame("bar", NULL, NULL)));
	assert_false(one(s, frame("baz", NULL, NULL)));
	lt_suppressions_free(s);

	/* Only comments: nothing to match; no final newline is fine too. */
	s = parse_ok("# nothing\n");
	assert_true(lt_suppressions_empty(s));
	lt_suppressions_free(s);
	s = parse_ok("leak:last");
	assert_int_equal(lt_suppressions_count(s), 1);
	lt_suppressions_free(s);
}

static void test_prefixes_restrict_the_field(void **state)
{
	struct lt_suppressions *s;
	(void)state;

	s = parse_ok("leak:alpha\n");
	assert_true(one(s, frame("alpha_init", NULL, NULL)));
	assert_true(one(s, frame(NULL, "/opt/alpha/lib.so", NULL)));
	assert_true(one(s, frame(NULL, NULL, "src/alpha.c")));
	assert_false(one(s, frame("beta", "/lib/b.so", "b.c")));
	lt_suppressions_free(s);

	s = parse_ok("func:alpha\n");
	assert_true(one(s, frame("alpha", NULL, NULL)));
	assert_false(one(s, frame("beta", "/alpha.so", "alpha.c")));
	lt_suppressions_free(s);

	s = parse_ok("module:libalpha\n");
	assert_true(one(s, frame("x", "/usr/lib/libalpha.so.1", NULL)));
	assert_false(one(s, frame("libalpha", "/usr/lib/libbeta.so", "libalpha.c")));
	lt_suppressions_free(s);

	s = parse_ok("file:alpha.c\n");
	assert_true(one(s, frame("x", NULL, "/src/alpha.c")));
	assert_false(one(s, frame("alpha.c", "/alpha.c", NULL)));
	lt_suppressions_free(s);
}

static void test_module_basename(void **state)
{
	struct lt_suppressions *s;
	(void)state;

	/* Anchored at the start: only the basename can match. */
	s = parse_ok("module:^libalpha.so\nleak:^libgamma\n");
	assert_true(one(s, frame("x", "/usr/lib/libalpha.so.1", NULL)));
	assert_true(one(s, frame("x", "/usr/lib/libgamma.so", NULL)));
	assert_false(one(s, frame("x", "/usr/lib/libbeta.so", NULL)));
	lt_suppressions_free(s);
}

static void test_bad_lines(void **state)
{
	(void)state;
	expect_error("leak:ok\n\nnocolon\n", "supp:3: expected TYPE:PATTERN (leak, func, module or file)");
	expect_error("# c\nrace:foo\n", "supp:2: unknown suppression type (want leak, func, module or file)");
	expect_error("Leak:foo\n", "supp:1: unknown suppression type (want leak, func, module or file)");
	expect_error("leak:\n", "supp:1: empty pattern");
	expect_error("func:   \n", "supp:1: empty pattern");
	expect_error("leak:^$\n", "supp:1: empty pattern");
	expect_error("leak:a\nfile:^\n", "supp:2: empty pattern");
}

static void test_line_limit(void **state)
{
	char *text = malloc(LT_SUPP_MAX_LINE + 16);
	struct lt_suppressions *s;
	(void)state;

	assert_non_null(text);
	/* Exactly the limit (newline not counted) is accepted. */
	memset(text, 'x', LT_SUPP_MAX_LINE);
	memcpy(text, "leak:", 5);
	strcpy(text + LT_SUPP_MAX_LINE, "\n");
	s = parse_ok(text);
	assert_int_equal(lt_suppressions_count(s), 1);
	lt_suppressions_free(s);
	/* One more byte is not, with or without a newline after it. */
	memset(text, 'x', LT_SUPP_MAX_LINE + 1);
	memcpy(text, "leak:", 5);
	strcpy(text + LT_SUPP_MAX_LINE + 1, "\n");
	expect_error(text, "supp:1: line longer than 4096 bytes");
	text[LT_SUPP_MAX_LINE + 1] = '\0';
	expect_error(text, "supp:1: line longer than 4096 bytes");
	free(text);
}

static void test_pattern_limit(void **state)
{
	size_t n = LT_SUPP_MAX_PATTERNS + 1, len = 0;
	char *text = malloc(n * 16 + 1);
	struct lt_suppressions *s = lt_suppressions_new();
	char err[256] = "";
	(void)state;

	assert_non_null(text);
	for (size_t i = 0; i < LT_SUPP_MAX_PATTERNS; i++)
		len += (size_t)sprintf(text + len, "leak:f%zu\n", i);
	assert_int_equal(parse(s, text, err, sizeof(err)), 0);
	assert_int_equal(lt_suppressions_count(s), LT_SUPP_MAX_PATTERNS);
	/* The limit holds across files: the next pattern, anywhere, is refused. */
	assert_int_equal(parse(s, "# more\nleak:g\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "supp:2: more than 10000 patterns");
	lt_suppressions_free(s);
	free(text);
}

static void test_substring_and_case(void **state)
{
	(void)state;
	assert_true(lt_supp_pattern_match("alloc", "my_alloc_fn"));
	assert_true(lt_supp_pattern_match("my_alloc_fn", "my_alloc_fn"));
	assert_false(lt_supp_pattern_match("Alloc", "my_alloc_fn"));
	assert_false(lt_supp_pattern_match("my_alloc_fn2", "my_alloc_fn"));
	assert_false(lt_supp_pattern_match("x", NULL));
	assert_true(lt_supp_pattern_match("std::vector<int>", "std::vector<int>::push_back(int)"));
}

static void test_star(void **state)
{
	(void)state;
	assert_true(lt_supp_pattern_match("a*c", "xxabbbcxx"));
	assert_true(lt_supp_pattern_match("a*c", "ac"));
	assert_false(lt_supp_pattern_match("a*c", "ca"));
	assert_true(lt_supp_pattern_match("*", ""));
	assert_true(lt_supp_pattern_match("a**b", "ab"));
	assert_true(lt_supp_pattern_match("a*b*c", "a_c_b_c"));
	assert_false(lt_supp_pattern_match("a*b*c", "a_c_b"));
	assert_true(lt_supp_pattern_match("*init", "pool_init_x"));
}

static void test_anchors(void **state)
{
	(void)state;
	assert_true(lt_supp_pattern_match("^foo", "foobar"));
	assert_false(lt_supp_pattern_match("^foo", "barfoo"));
	assert_true(lt_supp_pattern_match("foo$", "barfoo"));
	assert_false(lt_supp_pattern_match("foo$", "foobar"));
	assert_true(lt_supp_pattern_match("^foo$", "foo"));
	assert_false(lt_supp_pattern_match("^foo$", "foofoo"));
	assert_false(lt_supp_pattern_match("^foo", "fo"));
	/* Anchors with stars: the ends are pinned, the middle floats. */
	assert_true(lt_supp_pattern_match("^a*z$", "abcz"));
	assert_false(lt_supp_pattern_match("^a*z$", "abcza"));
	assert_false(lt_supp_pattern_match("^a*z$", "xabcz"));
	assert_true(lt_supp_pattern_match("^ab*ba$", "abba"));
	assert_false(lt_supp_pattern_match("^aba*aba$", "ababa"));
	assert_true(lt_supp_pattern_match("^_dl_*", "_dl_init"));
	assert_true(lt_supp_pattern_match("*_doallocate$", "_IO_file_doallocate"));
	assert_true(lt_supp_pattern_match("^a*m*z$", "a_m_z"));
	assert_false(lt_supp_pattern_match("^a*m*z$", "a__z"));
}

static void test_any_frame_suppresses(void **state)
{
	struct lt_suppressions *s = parse_ok("func:^outer$\n");
	struct lt_report_frame frames[3] = {
		frame("inner", "/bin/p", "p.c"),
		frame("middle", "/bin/p", "p.c"),
		frame("outer", "/bin/p", "p.c"),
	};
	(void)state;

	assert_true(lt_suppressions_match(s, frames, 3));
	assert_false(lt_suppressions_match(s, frames, 2));
	assert_false(lt_suppressions_match(NULL, frames, 3));
	lt_suppressions_free(s);
}

static void test_defaults(void **state)
{
	struct lt_suppressions *s = lt_suppressions_new();
	struct lt_report_frame stdio[2] = {
		frame("_IO_file_doallocate", "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL),
		frame("main", "/bin/p", "p.c"),
	};
	struct lt_report_frame mine[2] = {
		frame("main", "/bin/p", "p.c"),
		frame("_dl_init", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", NULL),
	};
	struct lt_report_frame named_alike[1] = {
		frame("_IO_file_doallocate", "/bin/p", "p.c"),
	};
	(void)state;

	assert_non_null(s);
	assert_int_equal(lt_suppressions_add_defaults(s), 0);
	assert_int_equal(lt_suppressions_count(s), 0);
	assert_false(lt_suppressions_empty(s));
	assert_true(lt_suppressions_match(s, stdio, 2));
	/* A program's own allocation made from a constructor run by ld.so. */
	assert_false(lt_suppressions_match(s, mine, 2));
	/* The same name outside glibc is the program's. */
	assert_false(lt_suppressions_match(s, named_alike, 1));
	lt_suppressions_free(s);
}

#define LIBSTDCXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"
#define LDSO "/lib64/ld-linux-x86-64.so.2"

static void test_defaults_loader_and_libstdcxx(void **state)
{
	struct lt_suppressions *s = lt_suppressions_new();
	struct lt_report_frame pool[3] = {
		frame(NULL, LIBSTDCXX, NULL),
		frame("call_init", LDSO, "./elf/dl-init.c"),
		frame("_dl_init", LDSO, "./elf/dl-init.c"),
	};
	struct lt_report_frame unnamed_later[2] = {
		frame(NULL, LIBSTDCXX, NULL),
		frame("main", "/bin/p", "p.c"),
	};
	struct lt_report_frame op_new[3] = {
		frame("operator new(unsigned long)", LIBSTDCXX, NULL),
		frame("ctor", "/bin/p", "p.c"),
		frame("_dl_init", LDSO, NULL),
	};
	struct lt_report_frame loader[2] = {
		frame("allocate_dtv", LDSO, NULL),
		frame("pthread_create", "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL),
	};
	struct lt_report_frame inlined_loader[3] = {
		frame("helper", "/bin/p", "p.c"),
		frame("_dl_new_object", LDSO, NULL),
		frame("main", "/bin/p", "p.c"),
	};
	(void)state;

	assert_int_equal(lt_suppressions_add_defaults(s), 0);
	assert_true(lt_suppressions_match(s, pool, 3));
	/* Unnamed libstdc++ code is hidden only while ld.so runs initializers. */
	assert_false(lt_suppressions_match(s, unnamed_later, 2));
	/* A program's constructor allocating through operator new stays. */
	assert_false(lt_suppressions_match(s, op_new, 3));
	assert_true(lt_suppressions_match(s, loader, 2));
	/* The caller is frames[0] and the function it is inlined into; a
	 * loader frame further out does not make ld.so the allocator. */
	inlined_loader[0].inlined = true;
	assert_true(lt_suppressions_match(s, inlined_loader, 3));
	inlined_loader[0].inlined = false;
	assert_false(lt_suppressions_match(s, inlined_loader, 3));
	lt_suppressions_free(s);
}

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"

/* glibc's time-zone state, with libc's debug symbols and without. */
static void test_defaults_time_zone(void **state)
{
	struct lt_suppressions *s = lt_suppressions_new();
	struct lt_report_frame named[3] = {
		frame("__tzfile_read", LIBC, "./time/tzfile.c"),
		frame("tzset_internal", LIBC, "./time/tzset.c"),
		frame("main", "/bin/p", "p.c"),
	};
	struct lt_report_frame tz_value[4] = {
		frame("strdup", LIBC, NULL),
		frame("tzset_internal", LIBC, NULL),
		frame("tzset", LIBC, NULL),
		frame("main", "/bin/p", "p.c"),
	};
	struct lt_report_frame stripped[4] = {
		frame(NULL, LIBC, NULL),
		frame(NULL, LIBC, NULL),
		frame("localtime_r", LIBC, NULL),
		frame("main", "/bin/p", "p.c"),
	};
	struct lt_report_frame program_strdup[2] = {
		frame("strdup", LIBC, NULL),
		frame("main", "/bin/p", "p.c"),
	};
	struct lt_report_frame other_unnamed[3] = {
		frame(NULL, LIBC, NULL),
		frame("getaddrinfo", LIBC, NULL),
		frame("main", "/bin/p", "p.c"),
	};
	(void)state;

	assert_int_equal(lt_suppressions_add_defaults(s), 0);
	assert_true(lt_suppressions_match(s, named, 3));
	assert_true(lt_suppressions_match(s, tz_value, 4));
	assert_true(lt_suppressions_match(s, stripped, 4));
	/* The program's own strdup, and other unnamed libc code, stay. */
	assert_false(lt_suppressions_match(s, program_strdup, 2));
	assert_false(lt_suppressions_match(s, other_unnamed, 3));
	lt_suppressions_free(s);
}

static void test_load_missing_file(void **state)
{
	struct lt_suppressions *s = lt_suppressions_new();
	(void)state;

	assert_int_equal(lt_suppressions_load(s, "/nonexistent/leaktrace.supp"), -EINVAL);
	lt_suppressions_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comments_and_blanks),
		cmocka_unit_test(test_prefixes_restrict_the_field),
		cmocka_unit_test(test_module_basename),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_pattern_limit),
		cmocka_unit_test(test_substring_and_case),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_any_frame_suppresses),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_defaults_loader_and_libstdcxx),
		cmocka_unit_test(test_defaults_time_zone),
		cmocka_unit_test(test_load_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
