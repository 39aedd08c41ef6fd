// SPDX-License-Identifier: MIT
/*
 * Basic-auth checks against real bcrypt hashes (cost 4, the least, to keep
 * the test quick), with the system's crypt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output/basic_auth.h"

/* crypt("s3cret", "$2b$04$abcdefghijklmnopqrstuu") and the same for "other". */
#define HASH_S3CRET "$2b$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG"
#define HASH_OTHER "$2b$04$abcdefghijklmnopqrstuu0HtfOlPbTiymk5tcV.3TsFPDd3SYZqu"

static struct lt_basic_auth *two_users(void)
{
	/* Borrowed by the checker: they must outlive it. */
	static const struct lt_web_user users[] = {
		{ .name = "prometheus", .hash = HASH_S3CRET },
		{ .name = "alice", .hash = HASH_OTHER },
	};
	struct lt_basic_auth *a = lt_basic_auth_new(users, 2);

	assert_non_null(a);
	return a;
}

static void test_check(void **state)
{
	struct lt_basic_auth *a = two_users();

	(void)state;
	assert_true(lt_basic_auth_check(a, "prometheus", "s3cret"));
	assert_true(lt_basic_auth_check(a, "alice", "other"));
	assert_false(lt_basic_auth_check(a, "prometheus", "other"));
	assert_false(lt_basic_auth_check(a, "alice", "s3cret"));
	assert_false(lt_basic_auth_check(a, "bob", "s3cret"));
	assert_false(lt_basic_auth_check(a, "prometheus", ""));
	assert_false(lt_basic_auth_check(a, "", ""));
	lt_basic_auth_free(a);
}

static void test_recall(void **state)
{
	struct lt_basic_auth *a = two_users();

	(void)state;
	assert_int_equal(lt_basic_auth_recall(a, "prometheus", "s3cret"), LT_AUTH_UNKNOWN);
	assert_true(lt_basic_auth_check(a, "prometheus", "s3cret"));
	assert_int_equal(lt_basic_auth_recall(a, "prometheus", "s3cret"), LT_AUTH_GOOD);
	assert_false(lt_basic_auth_check(a, "prometheus", "guess"));
	assert_int_equal(lt_basic_auth_recall(a, "prometheus", "guess"), LT_AUTH_BAD);
	/* The user and password are kept apart: "ab" + "c" is not "a" + "bc". */
	assert_false(lt_basic_auth_check(a, "prometheu", "ss3cret"));
	assert_int_equal(lt_basic_auth_recall(a, "prometheu", "ss3cret"), LT_AUTH_BAD);
	assert_int_equal(lt_basic_auth_recall(a, "prometheus", "s3cret"), LT_AUTH_GOOD);
	lt_basic_auth_free(a);
}

static void test_bad_flood_keeps_good(void **state)
{
	struct lt_basic_auth *a = two_users();
	char guess[32];

	(void)state;
	assert_true(lt_basic_auth_check(a, "prometheus", "s3cret"));
	for (int i = 0; i < 100; i++) {
		snprintf(guess, sizeof(guess), "guess%d", i);
		assert_false(lt_basic_auth_check(a, "prometheus", guess));
	}
	assert_int_equal(lt_basic_auth_recall(a, "prometheus", "s3cret"), LT_AUTH_GOOD);
	/* Bad verdicts are bounded: the oldest ones are forgotten. */
	assert_int_equal(lt_basic_auth_recall(a, "prometheus", "guess0"), LT_AUTH_UNKNOWN);
	assert_int_equal(lt_basic_auth_recall(a, "prometheus", "guess99"), LT_AUTH_BAD);
	lt_basic_auth_free(a);
}

static void test_no_users(void **state)
{
	struct lt_basic_auth *a = lt_basic_auth_new(NULL, 0);

	(void)state;
	assert_non_null(a);
	assert_false(lt_basic_auth_check(a, "prometheus", "s3cret"));
	lt_basic_auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_recall),
		cmocka_unit_test(test_bad_flood_keeps_good),
		cmocka_unit_test(test_no_users),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
