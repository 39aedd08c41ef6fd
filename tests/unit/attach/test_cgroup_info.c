// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "attach/cgroup_info.h"

#define ID_A "3f6b3c0d5d1f4e2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a"
#define ID_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_63 "3f6b3c0d5d1f4e2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6"
#define ID_65 ID_A "0"
#define ID_UPPER "3F6B3C0D5D1F4E2A9B8C7D6E5F4A3B2C1D0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A"
#define POD "kubepods-burstable-pod5c1ed3b2_8f4e_4c7d_9a61_2b3c4d5e6f70.slice"

struct id_case {
	const char *path;
	const char *id; /* NULL: none */
	size_t scope;   /* length of the container's own cgroup; 0: the whole path */
};

static const struct id_case id_cases[] = {
	/* docker, cgroupfs and systemd drivers */
	{ "/docker/" ID_A, ID_A, 0 },
	{ "/system.slice/docker-" ID_A ".scope", ID_A, 0 },
	{ "/system.slice/docker-" ID_A ".scope/init.scope", ID_A,
	  sizeof("/system.slice/docker-" ID_A ".scope") - 1 },
	{ "/docker-" ID_A, ID_A, 0 },
	/* containerd, CRI and its own namespaces */
	{ "/system.slice/cri-containerd-" ID_A ".scope", ID_A, 0 },
	{ "/k8s.io/" ID_A, ID_A, 0 },
	/* kubepods, systemd and cgroupfs drivers */
	{ "/kubepods.slice/kubepods-burstable.slice/" POD "/cri-containerd-" ID_A ".scope", ID_A, 0 },
	{ "/kubepods.slice/kubepods-besteffort.slice/" POD "/crio-" ID_A ".scope", ID_A, 0 },
	{ "/kubepods.slice/" POD "/docker-" ID_A ".scope", ID_A, 0 },
	{ "/kubepods/burstable/pod5c1ed3b2-8f4e-4c7d-9a61-2b3c4d5e6f70/" ID_A, ID_A, 0 },
	{ "/kubepods/burstable/pod5c1ed3b2-8f4e-4c7d-9a61-2b3c4d5e6f70/crio-" ID_A, ID_A, 0 },
	/* cri-o: conmon, the monitor, runs outside the container */
	{ "/machine.slice/crio-" ID_A ".scope", ID_A, 0 },
	{ "/kubepods.slice/" POD "/crio-conmon-" ID_A ".scope", NULL, 0 },
	/* podman */
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_A ".scope", ID_A, 0 },
	{ "/machine.slice/libpod-" ID_A ".scope/container", ID_A,
	  sizeof("/machine.slice/libpod-" ID_A ".scope") - 1 },
	{ "/machine.slice/libpod-conmon-" ID_A ".scope", NULL, 0 },
	/* nested: the innermost container runs the process */
	{ "/docker/" ID_B "/docker/" ID_A, ID_A, 0 },
	{ "/system.slice/docker-" ID_B ".scope/kubepods/" ID_A, ID_A, 0 },
	{ "/docker/" ID_A "/some/sub/cgroup", ID_A, sizeof("/docker/" ID_A) - 1 },
	/* host processes */
	{ "/", NULL, 0 },
	{ "", NULL, 0 },
	{ "/user.slice/user-0.slice/session-3.scope", NULL, 0 },
	{ "/system.slice/docker.service", NULL, 0 },
	{ "/system.slice/containerd.service", NULL, 0 },
	{ "/kubepods.slice/kubepods-burstable.slice/" POD, NULL, 0 },
	/* hostile: wrong length, case, extra text */
	{ "/docker/" ID_63, NULL, 0 },
	{ "/docker/" ID_65, NULL, 0 },
	{ "/system.slice/docker-" ID_63 ".scope", NULL, 0 },
	{ "/system.slice/docker-" ID_65 ".scope", NULL, 0 },
	{ "/docker/" ID_UPPER, NULL, 0 },
	{ "/system.slice/docker-" ID_UPPER ".scope", NULL, 0 },
	{ "/docker/" ID_A "-old", NULL, 0 },
	{ "/docker/" ID_A ".scope", NULL, 0 },
	{ "/system.slice/docker-" ID_A ".scope.bak", NULL, 0 },
	{ "/system.slice/docker-" ID_A ".scope.scope", NULL, 0 },
	{ "/system.slice/docker-" ID_A "x.scope", NULL, 0 },
	{ "/system.slice/mydocker-" ID_A ".scope", NULL, 0 },
	{ "/system.slice/docker--" ID_A ".scope", NULL, 0 },
	{ "/system.slice/docker-.scope", NULL, 0 },
	{ "/system.slice/.scope", NULL, 0 },
	{ "/x" ID_A, NULL, 0 },
	{ "///", NULL, 0 },
	{ "/docker/" ID_A "/", ID_A, sizeof("/docker/" ID_A) - 1 },
	/* the hostile ones do not hide a good one further out */
	{ "/docker/" ID_B "/docker/" ID_65, ID_B, sizeof("/docker/" ID_B) - 1 },
};

static void test_container_ids(void **state)
{
	char id[LT_CONTAINER_ID_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++) {
		const struct id_case *c = &id_cases[i];
		size_t scope = 12345;
		bool found = lt_cgroup_container_id(c->path, id, &scope);
		size_t want_scope = !c->id ? 0 : c->scope ? c->scope : strlen(c->path);

		if (found != (c->id != NULL) || (found && strcmp(id, c->id)))
			fail_msg("case %zu %s: got %s, expected %s", i, c->path,
				 found ? id : "none", c->id ? c->id : "none");
		if (scope != want_scope)
			fail_msg("case %zu %s: scope length %zu, expected %zu", i, c->path,
				 scope, want_scope);
		if (!found)
			assert_string_equal(id, "");
		/* Callers that only want the id pass no length. */
		assert_true(lt_cgroup_container_id(c->path, id, NULL) == found);
	}
}

/* Long paths are walked, not copied: no limit, no overrun. */
static void test_very_long_path(void **state)
{
	size_t reps = 20000, unit = strlen("/abcdefgh.slice");
	char *path = malloc(reps * unit + 128), *p = path;
	char id[LT_CONTAINER_ID_LEN + 1];

	(void)state;
	assert_non_null(path);
	for (size_t i = 0; i < reps; i++, p += unit)
		memcpy(p, "/abcdefgh.slice", unit);
	strcpy(p, "/docker-" ID_A ".scope");
	assert_true(lt_cgroup_container_id(path, id, NULL));
	assert_string_equal(id, ID_A);
	/* The id first, then a long tail of other cgroups. */
	strcpy(path, "/docker/" ID_B);
	p = path + strlen(path);
	for (size_t i = 0; i < reps; i++, p += unit)
		memcpy(p, "/abcdefgh.slice", unit);
	*p = '\0';
	assert_true(lt_cgroup_container_id(path, id, NULL));
	assert_string_equal(id, ID_B);
	/* One huge component of hex digits is no id. */
	memset(path, 'a', reps);
	path[0] = '/';
	path[reps] = '\0';
	assert_false(lt_cgroup_container_id(path, id, NULL));
	free(path);
}

static void expect_parse(const char *text, int want_err, const char *want_path)
{
	char *path = (char *)"untouched";
	int err = lt_cgroup_parse(text, strlen(text), &path);

	assert_int_equal(err, want_err);
	if (want_path)
		assert_string_equal(path, want_path);
	else
		assert_null(path);
	free(path);
}

static void test_parse(void **state)
{
	(void)state;
	expect_parse("0::/system.slice/docker-" ID_A ".scope\n", 0,
		     "/system.slice/docker-" ID_A ".scope");
	/* hybrid hosts: v1 lines first, the v2 one last */
	expect_parse("9:name=systemd:/\n4:memory:/docker/" ID_B "\n1:cpu:/\n0::/docker/" ID_A "\n",
		     0, "/docker/" ID_A);
	expect_parse("0::/\n", 0, "/");
	expect_parse("0::/gone (deleted)\n", 0, "/gone");
	expect_parse("0::/with spaces/x y\n", 0, "/with spaces/x y");
	/* v1 only: no path */
	expect_parse("4:memory:/docker/" ID_A "\n1:cpu:/\n", -ENOENT, NULL);
	/* a v1 line that merely looks like one */
	expect_parse("10::/not-v2\n", -ENOENT, NULL);
	expect_parse("0:cpu:/not-v2\n", -ENOENT, NULL);
	expect_parse("0::relative\n", -ENOENT, NULL);
	/* cut short by the read limit */
	expect_parse("0::/docker/" ID_A, -ENOENT, NULL);
	expect_parse("", -ENOENT, NULL);
	expect_parse("\n\n", -ENOENT, NULL);
}

static void test_parse_embedded_nul(void **state)
{
	static const char text[] = "0::/a\0b\n";
	char *path = NULL;

	(void)state;
	assert_int_equal(lt_cgroup_parse(text, sizeof(text) - 1, &path), -ENOENT);
	assert_null(path);
}

static void test_read_self(void **state)
{
	char *path = NULL;
	int err;

	(void)state;
	err = lt_cgroup_read((uint32_t)getpid(), &path);
	/* A v1-only host has no v2 line; anywhere else there is a path. */
	if (err == -ENOENT) {
		assert_null(path);
		return;
	}
	assert_int_equal(err, 0);
	assert_non_null(path);
	assert_true(path[0] == '/');
	free(path);
}

static void test_read_missing_pid(void **state)
{
	char *path = (char *)"untouched";

	(void)state;
	/* Above pid_max's ceiling (4194304): never a process. */
	assert_int_equal(lt_cgroup_read(4194305u, &path), -ENOENT);
	assert_null(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_ids),
		cmocka_unit_test(test_very_long_path),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_embedded_nul),
		cmocka_unit_test(test_read_self),
		cmocka_unit_test(test_read_missing_pid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
