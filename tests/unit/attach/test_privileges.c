// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "attach/privileges.h"

/* The kernel's numbers (linux/capability.h), spelled out so the test does
 * not lean on the header the code under test uses. */
#define DAC_READ_SEARCH (1ULL << 2)
#define SYS_PTRACE (1ULL << 19)
#define SYS_ADMIN (1ULL << 21)
#define PERFMON (1ULL << 38)
#define BPF (1ULL << 39)
#define CHECKPOINT_RESTORE (1ULL << 40)

#define NEEDS "needs root, or CAP_SYS_ADMIN, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (missing: "
#define NEEDS_OLD_KERNEL                                                                         \
	"needs root, or CAP_SYS_ADMIN (or CAP_BPF, CAP_PERFMON and CAP_CHECKPOINT_RESTORE), "   \
	"CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (missing: "

static void expect(uint64_t caps, bool need_admin, const char *want)
{
	char msg[512];

	memset(msg, 'x', sizeof(msg));
	if (!want) {
		assert_int_equal(lt_privileges_explain(caps, need_admin, msg, sizeof(msg)), 0);
		return;
	}
	assert_int_equal(lt_privileges_explain(caps, need_admin, msg, sizeof(msg)), -EPERM);
	assert_string_equal(msg, want);
}

static void test_root_and_minimal_set(void **state)
{
	(void)state;
	expect(~0ULL, true, NULL);
	expect(~0ULL, false, NULL);
	expect(SYS_ADMIN | SYS_PTRACE | DAC_READ_SEARCH, true, NULL);
	expect(SYS_ADMIN | SYS_PTRACE | DAC_READ_SEARCH, false, NULL);
}

static void test_each_one_missing(void **state)
{
	(void)state;
	expect(SYS_PTRACE | DAC_READ_SEARCH, true, NEEDS "CAP_SYS_ADMIN)");
	/* CAP_BPF and CAP_PERFMON do not open uprobes on such a kernel. */
	expect(BPF | PERFMON | CHECKPOINT_RESTORE | SYS_PTRACE | DAC_READ_SEARCH, true,
	       NEEDS "CAP_SYS_ADMIN)");
	expect(SYS_ADMIN | DAC_READ_SEARCH, true, NEEDS "CAP_SYS_PTRACE)");
	/* CAP_SYS_ADMIN does not stand in for CAP_SYS_PTRACE or CAP_DAC_READ_SEARCH. */
	expect(SYS_ADMIN | SYS_PTRACE, true, NEEDS "CAP_DAC_READ_SEARCH)");
	expect(0, true, NEEDS "CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH)");
}

/* A kernel from before CVE-2025-38466's fix opens uprobes for CAP_PERFMON:
 * then CAP_BPF, CAP_PERFMON and CAP_CHECKPOINT_RESTORE do instead. */
static void test_older_kernel(void **state)
{
	(void)state;
	expect(BPF | PERFMON | CHECKPOINT_RESTORE | SYS_PTRACE | DAC_READ_SEARCH, false, NULL);
	expect(BPF | PERFMON | SYS_PTRACE | DAC_READ_SEARCH, false,
	       NEEDS_OLD_KERNEL "CAP_CHECKPOINT_RESTORE)");
	expect(PERFMON | CHECKPOINT_RESTORE | SYS_PTRACE, false,
	       NEEDS_OLD_KERNEL "CAP_BPF, CAP_DAC_READ_SEARCH)");
	expect(BPF | CHECKPOINT_RESTORE | SYS_PTRACE | DAC_READ_SEARCH, false,
	       NEEDS_OLD_KERNEL "CAP_PERFMON)");
	/* With CAP_SYS_ADMIN the alternative is not worth mentioning. */
	expect(SYS_ADMIN | DAC_READ_SEARCH, false, NEEDS "CAP_SYS_PTRACE)");
}

/* A short buffer is cut, still terminated. */
static void test_short_buffer(void **state)
{
	char msg[16];

	(void)state;
	assert_int_equal(lt_privileges_explain(0, true, msg, sizeof(msg)), -EPERM);
	assert_string_equal(msg, "needs root, or ");
	assert_int_equal(lt_privileges_explain(0, true, msg, 0), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_and_minimal_set),
		cmocka_unit_test(test_each_one_missing),
		cmocka_unit_test(test_older_kernel),
		cmocka_unit_test(test_short_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
