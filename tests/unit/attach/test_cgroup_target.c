// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "attach/cgroup_target.h"
#include "test_files.h"

static const char hybrid_host[] =
	"22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"26 22 0:24 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"27 26 0:25 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
	"28 26 0:26 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd\n";

static void expect_mount(const char *text, int want_err, const char *want)
{
	char *got = (char *)0x1;

	assert_int_equal(lt_cgroup2_mount_point(text, strlen(text), &got), want_err);
	if (want) {
		assert_non_null(got);
		assert_string_equal(got, want);
	} else {
		assert_null(got);
	}
	free(got);
}

static void test_mount_point(void **state)
{
	(void)state;
	expect_mount(hybrid_host, 0, "/sys/fs/cgroup/unified");
	/* Optional fields before the separator vary in number. */
	expect_mount("30 1 0:27 / /cg rw - cgroup2 none rw\n", 0, "/cg");
	expect_mount("30 1 0:27 / /cg rw shared:1 master:2 unbindable - cgroup2 x rw\n", 0, "/cg");
	/* Spaces in paths are written as \040. */
	expect_mount("30 1 0:27 / /mnt/my\\040cg rw - cgroup2 x rw", 0, "/mnt/my cg");
	/* v1 only, or the word elsewhere: none. */
	expect_mount("28 26 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", -ENOENT, NULL);
	expect_mount("28 26 0:26 / /cgroup2 rw - tmpfs cgroup2 rw\n", -ENOENT, NULL);
	expect_mount("", -ENOENT, NULL);
	/* Truncated lines are not read past their end. */
	expect_mount("30 1 0:27 / /cg rw -", -ENOENT, NULL);
	expect_mount("30 1 0:27 / /cg rw - cgroup2", -ENOENT, NULL);
	expect_mount("30 1 0:27", -ENOENT, NULL);
}

static void test_mount_point_not_nul_terminated(void **state)
{
	const char line[] = "30 1 0:27 / /cg rw - cgroup2 x rw\n";
	size_t len = strlen(line);
	char *copy = malloc(len);
	char *got = NULL;

	(void)state;
	assert_non_null(copy);
	memcpy(copy, line, len); /* ASan sees any read past len */
	assert_int_equal(lt_cgroup2_mount_point(copy, len, &got), 0);
	assert_string_equal(got, "/cg");
	free(got);
	free(copy);
}

static void test_open_errors(void **state)
{
	char dir[] = "/tmp/lt-cgroup-test-XXXXXX", mi[300], err[512];
	struct lt_cgroup_target t;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* Not a cgroup file system. */
	assert_int_equal(lt_cgroup_target_open(dir, "/proc/self/mountinfo", &t, err, sizeof(err)),
			 -ENOTDIR);
	assert_non_null(strstr(err, "not a cgroup v2 directory"));
	assert_int_equal(t.dir_fd, -1);
	assert_null(t.path);
	/* Missing. */
	assert_int_equal(lt_cgroup_target_open("/nonexistent/cg", "/proc/self/mountinfo", &t, err,
					       sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/cg"));
	/* A relative path with no cgroup2 mount to resolve it against. */
	snprintf(mi, sizeof(mi), "%s/mountinfo", dir);
	test_write_file(mi, "1 0 0:1 / / rw - ext4 /dev/vda rw\n", 34, 0600);
	assert_int_equal(lt_cgroup_target_open("x.scope", mi, &t, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no cgroup2 file system is mounted"));
	/* mountinfo unreadable. */
	assert_int_equal(lt_cgroup_target_open("x.scope", "/nonexistent/mi", &t, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(unlink(mi), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* The machine's own hierarchy: this process is in it, somewhere below the root. */
static void test_open_host_root(void **state)
{
	struct lt_cgroup_target t;
	char err[512];
	pid_t *pids = NULL;
	long n;
	bool found = false;

	(void)state;
	if (lt_cgroup_target_open(".", "/proc/self/mountinfo", &t, err, sizeof(err))) {
		skip();
		return;
	}
	assert_true(t.dir_fd >= 0);
	assert_non_null(t.path);
	assert_true(t.id != 0);
	n = lt_cgroup_target_pids(&t, &pids);
	assert_true(n > 0);
	for (long i = 0; i < n; i++)
		found |= pids[i] == getpid();
	assert_true(found);
	free(pids);
	lt_cgroup_target_close(&t);
	assert_int_equal(t.dir_fd, -1);
	assert_null(t.path);
	lt_cgroup_target_close(&t); /* twice is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mount_point),
		cmocka_unit_test(test_mount_point_not_nul_terminated),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_host_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
