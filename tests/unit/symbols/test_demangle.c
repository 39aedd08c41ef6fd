// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "symbols/demangle.h"

static void expect_demangled(const char *in, const char *want)
{
	char *out = lt_demangle(in);

	assert_non_null(out);
	assert_string_equal(out, want);
	/* Always a fresh allocation the caller may free. */
	assert_ptr_not_equal(out, in);
	free(out);
}

static void test_cxx_names(void **state)
{
	(void)state;
	expect_demangled("_ZN3foo3barEi", "foo::bar(int)");
	expect_demangled("_Znwm", "operator new(unsigned long)");
	expect_demangled("_ZNSt6vectorIiSaIiEE9push_backERKi",
			 "std::vector<int, std::allocator<int> >::push_back(int const&)");
}

static void test_plain_names(void **state)
{
	(void)state;
	expect_demangled("malloc", "malloc");
	expect_demangled("", "");
	/* A bare type encoding is not a symbol: "i" must not become "int". */
	expect_demangled("i", "i");
	expect_demangled("Z3foov", "Z3foov");
}

static void test_invalid_mangling(void **state)
{
	(void)state;
	expect_demangled("_Zxx", "_Zxx");
	expect_demangled("_Z", "_Z");
	expect_demangled("_ZN3foo", "_ZN3foo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cxx_names),
		cmocka_unit_test(test_plain_names),
		cmocka_unit_test(test_invalid_mangling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
