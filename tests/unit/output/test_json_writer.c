// SPDX-License-Identifier: MIT
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output/json_writer.h"

/* Output of lt_json_string(s), as a malloc'ed string. */
static char *json_str(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	lt_json_string(f, s);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static char *json_dbl(double v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	lt_json_double(f, v);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void check_json_string(const char *in, const char *want)
{
	char *got = json_str(in);

	assert_string_equal(got, want);
	free(got);
}

static void check_json_double(double v, const char *want)
{
	char *got = json_dbl(v);

	assert_string_equal(got, want);
	free(got);
}

static void test_plain_ascii(void **state)
{
	(void)state;
	check_json_string("", "\"\"");
	check_json_string("malloc", "\"malloc\"");
	check_json_string("std::vector<int>::push_back(int const&)",
		      "\"std::vector<int>::push_back(int const&)\"");
	check_json_string("/usr/lib/x86_64-linux-gnu/libc.so.6", "\"/usr/lib/x86_64-linux-gnu/libc.so.6\"");
}

static void test_null_is_json_null(void **state)
{
	(void)state;
	check_json_string(NULL, "null");
}

static void test_quote_and_backslash(void **state)
{
	(void)state;
	check_json_string("say \"hi\"", "\"say \\\"hi\\\"\"");
	check_json_string("C:\\path\\", "\"C:\\\\path\\\\\"");
	check_json_string("\\\"", "\"\\\\\\\"\"");
	check_json_string("/", "\"/\"");
}

static void test_newline_tab_cr(void **state)
{
	(void)state;
	check_json_string("a\nb", "\"a\\nb\"");
	check_json_string("\tx\t", "\"\\tx\\t\"");
	check_json_string("\r\n", "\"\\r\\n\"");
}

static void test_control_chars(void **state)
{
	(void)state;
	check_json_string("\x01", "\"\\u0001\"");
	check_json_string("a\x1f" "b", "\"a\\u001fb\"");
	check_json_string("\b\f", "\"\\u0008\\u000c\"");
	check_json_string("\x1b[0m", "\"\\u001b[0m\"");
	/* DEL is not a control character for JSON. */
	check_json_string("\x7f", "\"\x7f\"");
}

static void test_all_control_chars(void **state)
{
	char in[2] = { 0, 0 }, want[16];
	(void)state;

	for (int c = 1; c < 0x20; c++) {
		in[0] = (char)c;
		switch (c) {
		case '\n': strcpy(want, "\"\\n\""); break;
		case '\r': strcpy(want, "\"\\r\""); break;
		case '\t': strcpy(want, "\"\\t\""); break;
		default: snprintf(want, sizeof(want), "\"\\u%04x\"", c); break;
		}
		check_json_string(in, want);
	}
}

static void test_valid_utf8_kept(void **state)
{
	(void)state;
	check_json_string("caf\xc3\xa9", "\"caf\xc3\xa9\"");                 /* U+00E9 */
	check_json_string("\xc2\x80", "\"\xc2\x80\"");                         /* U+0080, lowest 2-byte */
	check_json_string("\xe2\x82\xac", "\"\xe2\x82\xac\"");                 /* U+20AC */
	check_json_string("\xe0\xa0\x80", "\"\xe0\xa0\x80\"");                 /* U+0800, lowest 3-byte */
	check_json_string("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");                 /* U+FFFF */
	check_json_string("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");         /* U+1F600 */
	check_json_string("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");         /* U+10FFFF */
	check_json_string("\xe6\x97\xa5\xe6\x9c\xac\"", "\"\xe6\x97\xa5\xe6\x9c\xac\\\"\"");
}

static void test_invalid_lone_ff(void **state)
{
	(void)state;
	check_json_string("\xff", "\"\\ufffd\"");
	check_json_string("a\xff" "b", "\"a\\ufffdb\"");
	check_json_string("\xfe\xff", "\"\\ufffd\\ufffd\"");
}

static void test_invalid_lone_continuation(void **state)
{
	(void)state;
	check_json_string("\x80", "\"\\ufffd\"");
	check_json_string("x\xbfy", "\"x\\ufffdy\"");
}

static void test_invalid_truncated_sequence(void **state)
{
	(void)state;
	/* Three-byte lead with one continuation, then end of string. */
	check_json_string("\xe2\x82", "\"\\ufffd\\ufffd\"");
	/* Truncated sequence followed by ASCII: the ASCII survives. */
	check_json_string("\xe2\x82" "A", "\"\\ufffd\\ufffdA\"");
	check_json_string("\xc3", "\"\\ufffd\"");
	check_json_string("\xf0\x9f\x98", "\"\\ufffd\\ufffd\\ufffd\"");
	/* A lead byte followed by a new valid sequence. */
	check_json_string("\xc3\xc3\xa9", "\"\\ufffd\xc3\xa9\"");
}

static void test_invalid_overlong(void **state)
{
	(void)state;
	check_json_string("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	check_json_string("\xc1\xbf", "\"\\ufffd\\ufffd\"");
	check_json_string("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
	check_json_string("\xf0\x82\x82\xac", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void test_invalid_surrogate(void **state)
{
	(void)state;
	check_json_string("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");       /* U+D800 */
	check_json_string("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"");       /* U+DFFF */
	check_json_string("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");                /* U+D7FF is fine */
}

static void test_invalid_above_max(void **state)
{
	(void)state;
	check_json_string("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* U+110000 */
	check_json_string("\xf8\x88\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void test_double_values(void **state)
{
	(void)state;
	check_json_double(0, "0.000000");
	check_json_double(1.5, "1.500000");
	check_json_double(-2.25, "-2.250000");
	check_json_double(1234567.0, "1234567.000000");
	check_json_double(0.0000004, "0.000000");
	check_json_double(0.0000006, "0.000001");
	check_json_double(1.0 / 3.0, "0.333333");
}

static void test_double_non_finite_is_zero(void **state)
{
	(void)state;
	check_json_double(NAN, "0.000000");
	check_json_double(-NAN, "0.000000");
	check_json_double(INFINITY, "0.000000");
	check_json_double(-INFINITY, "0.000000");
}

static void test_output_appends(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	(void)state;

	assert_non_null(f);
	fputc('[', f);
	lt_json_string(f, "a");
	fputc(',', f);
	lt_json_string(f, NULL);
	fputc(',', f);
	lt_json_double(f, 2.0);
	fputc(']', f);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "[\"a\",null,2.000000]");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_ascii),
		cmocka_unit_test(test_null_is_json_null),
		cmocka_unit_test(test_quote_and_backslash),
		cmocka_unit_test(test_newline_tab_cr),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_all_control_chars),
		cmocka_unit_test(test_valid_utf8_kept),
		cmocka_unit_test(test_invalid_lone_ff),
		cmocka_unit_test(test_invalid_lone_continuation),
		cmocka_unit_test(test_invalid_truncated_sequence),
		cmocka_unit_test(test_invalid_overlong),
		cmocka_unit_test(test_invalid_surrogate),
		cmocka_unit_test(test_invalid_above_max),
		cmocka_unit_test(test_double_values),
		cmocka_unit_test(test_double_non_finite_is_zero),
		cmocka_unit_test(test_output_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
