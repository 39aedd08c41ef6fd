// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "attach/libc_discovery.h"

#define SYSTEM_LIBC "/lib/x86_64-linux-gnu/libc.so.6"

static void test_libc_names_accepted(void **state)
{
	(void)state;
	assert_true(lt_is_libc_name("libc.so.6"));
	assert_true(lt_is_libc_name("libc.so"));
	assert_true(lt_is_libc_name("libc-2.31.so"));
	assert_true(lt_is_libc_name("libc-2.17.so"));
	assert_true(lt_is_libc_name("ld-musl-x86_64.so.1"));
	assert_true(lt_is_libc_name("ld-musl-aarch64.so.1"));
}

static void test_non_libc_names_rejected(void **state)
{
	(void)state;
	assert_false(lt_is_libc_name("libcap.so.2"));
	assert_false(lt_is_libc_name("libcrypt.so.1"));
	assert_false(lt_is_libc_name("libc++.so.1"));
	assert_false(lt_is_libc_name("libc++abi.so.1"));
	assert_false(lt_is_libc_name("libcurl.so.4"));
	assert_false(lt_is_libc_name("libcmocka.so.0"));
	assert_false(lt_is_libc_name("libstdc++.so.6"));
	assert_false(lt_is_libc_name("ld-linux-x86-64.so.2"));
	assert_false(lt_is_libc_name("mylibc.so.6"));
	assert_false(lt_is_libc_name("libc"));
	assert_false(lt_is_libc_name(""));
}

static void test_kernel_dev(void **state)
{
	(void)state;
	assert_int_equal(lt_kernel_dev(8, 1), (8u << 20) | 1);
	assert_int_equal(lt_kernel_dev(0, 0), 0);
	assert_int_equal(lt_kernel_dev(254, 0), 254u << 20);
	assert_int_equal(lt_kernel_dev(259, 0xfffff), (259u << 20) | 0xfffff);
	/* Minors wider than 20 bits are masked, never spill into the major. */
	assert_int_equal(lt_kernel_dev(1, 0x1fffff), (1u << 20) | 0xfffff);
}

static struct lt_object_ref mkref(const char *path, uint32_t kdev, uint64_t ino)
{
	struct lt_object_ref r;

	memset(&r, 0, sizeof(r));
	snprintf(r.path, sizeof(r.path), "%s", path);
	r.kdev = kdev;
	r.ino = ino;
	return r;
}

static void test_object_list_add_has_free(void **state)
{
	struct lt_object_list list = {};
	struct lt_object_ref a = mkref("/a", lt_kernel_dev(8, 1), 100);
	struct lt_object_ref b = mkref("/b", lt_kernel_dev(8, 2), 100);
	(void)state;

	assert_false(lt_object_list_has(&list, a.kdev, a.ino));
	assert_int_equal(lt_object_list_add(&list, &a), 0);
	assert_int_equal(list.n, 1);
	assert_true(lt_object_list_has(&list, a.kdev, a.ino));
	/* Same inode on another device, same device with another inode: not present. */
	assert_false(lt_object_list_has(&list, b.kdev, b.ino));
	assert_false(lt_object_list_has(&list, a.kdev, 101));

	assert_int_equal(lt_object_list_add(&list, &b), 0);
	assert_int_equal(list.n, 2);
	assert_true(lt_object_list_has(&list, b.kdev, b.ino));
	assert_string_equal(list.v[0].path, "/a");
	assert_string_equal(list.v[1].path, "/b");
	assert_int_equal(list.v[1].kdev, b.kdev);
	assert_int_equal(list.v[1].ino, 100);

	lt_object_list_free(&list);
	assert_null(list.v);
	assert_int_equal(list.n, 0);
	assert_false(lt_object_list_has(&list, a.kdev, a.ino));
	/* Freeing twice is harmless. */
	lt_object_list_free(&list);
}

static void test_object_list_many(void **state)
{
	struct lt_object_list list = {};
	(void)state;

	for (uint64_t i = 1; i <= 1000; i++) {
		struct lt_object_ref r = mkref("/x", 7, i);

		assert_int_equal(lt_object_list_add(&list, &r), 0);
	}
	assert_int_equal(list.n, 1000);
	for (uint64_t i = 1; i <= 1000; i++)
		assert_true(lt_object_list_has(&list, 7, i));
	assert_false(lt_object_list_has(&list, 7, 1001));
	assert_false(lt_object_list_has(&list, 8, 1));
	lt_object_list_free(&list);
}

/* The ref must name the system libc: same inode and device once opened. */
static void assert_ref_is_system_libc(const struct lt_object_ref *ref)
{
	struct stat want, got;
	int fd;

	assert_int_equal(stat(SYSTEM_LIBC, &want), 0);
	assert_int_equal(ref->ino, want.st_ino);
	assert_int_equal(ref->kdev, lt_kernel_dev(major(want.st_dev), minor(want.st_dev)));
	fd = open(ref->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &got), 0);
	close(fd);
	assert_int_equal(got.st_ino, want.st_ino);
	assert_int_equal(got.st_dev, want.st_dev);
}

/* Lists the find tests fill; the teardown frees them even when an assertion fails. */
static struct lt_object_list list_a, list_b;
static void remove_malloc_prog(void);
/* A child still held by a test that failed before releasing it. */
static pid_t held_pid = -1;
static int held_go = -1;

static int free_lists(void **state)
{
	(void)state;
	if (held_pid > 0) {
		kill(held_pid, SIGKILL);
		waitpid(held_pid, NULL, 0);
		close(held_go);
		held_pid = -1;
		held_go = -1;
	}
	remove_malloc_prog();
	lt_object_list_free(&list_a);
	lt_object_list_free(&list_b);
	return 0;
}

static void test_find_own_libc(void **state)
{
	(void)state;
	assert_int_equal(lt_find_process_libcs(getpid(), &list_a), 1);
	assert_int_equal(list_a.n, 1);
	assert_ref_is_system_libc(&list_a.v[0]);
}

static void test_find_own_libc_twice_adds_nothing(void **state)
{
	(void)state;
	assert_int_equal(lt_find_process_libcs(getpid(), &list_a), 1);
	/* Deduplicated by file: a second pass adds nothing. */
	assert_int_equal(lt_find_process_libcs(getpid(), &list_a), 0);
	assert_int_equal(list_a.n, 1);
	assert_ref_is_system_libc(&list_a.v[0]);
}

/* A child held on a pipe until release_child(): it runs path, or this
 * program when path is NULL. Either way it writes a byte to its stdout
 * (a pipe) once it is running, then exits when it reads one on stdin. */
static pid_t spawn_waiting(const char *path, int *go_w)
{
	int go[2], ready[2];
	pid_t pid;
	char c = 'r';

	assert_int_equal(held_pid, -1);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		if (path) {
			if (dup2(go[0], 0) < 0 || dup2(ready[1], 1) < 0)
				_exit(125);
			execl(path, path, (char *)NULL);
			_exit(126);
		}
		if (write(ready[1], &c, 1) != 1)
			_exit(125);
		_exit(read(go[0], &c, 1) == 1 ? 0 : 1);
	}
	close(go[0]);
	close(ready[1]);
	/* Once it reports in, a program's libraries are all mapped. */
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	held_pid = pid;
	held_go = go[1];
	*go_w = go[1];
	return pid;
}

static int release_child(pid_t pid, int go_w)
{
	int status;
	char c = 0;

	assert_int_equal(write(go_w, &c, 1), 1);
	close(go_w);
	held_pid = -1;
	held_go = -1;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_find_child_libc(void **state)
{
	int go_w;
	pid_t pid = spawn_waiting(NULL, &go_w);
	char prefix[64];
	(void)state;

	assert_int_equal(lt_find_process_libcs(pid, &list_a), 1);
	assert_int_equal(list_a.n, 1);
	/* The path goes through the child's /proc entry: valid while it lives. */
	snprintf(prefix, sizeof(prefix), "/proc/%d/", (int)pid);
	assert_memory_equal(list_a.v[0].path, prefix, strlen(prefix));
	assert_ref_is_system_libc(&list_a.v[0]);
	assert_int_equal(release_child(pid, go_w), 0);
}

/* A dynamically linked program that maps libc yet defines its own malloc
 * (as programs with a built-in allocator, or sanitizer builds, do). */
static const char malloc_prog_src[] =
	"#include <stddef.h>\n"
	"#include <unistd.h>\n"
	"extern void *__libc_malloc(size_t);\n"
	"void *malloc(size_t n) { return __libc_malloc(n); }\n"
	"int main(void)\n"
	"{\n"
	"	char c = 'r';\n"
	"	if (write(1, &c, 1) != 1)\n"
	"		return 2;\n"
	"	return read(0, &c, 1) == 1 ? 0 : 1;\n"
	"}\n";

static char malloc_prog_dir[] = "/tmp/lt_libc_XXXXXX";
static char malloc_prog[sizeof(malloc_prog_dir) + 16];

static bool build_malloc_prog(void)
{
	char src[sizeof(malloc_prog_dir) + 16], cmd[256];
	FILE *f;

	snprintf(malloc_prog_dir, sizeof(malloc_prog_dir), "/tmp/lt_libc_XXXXXX");
	if (!mkdtemp(malloc_prog_dir))
		return false;
	snprintf(src, sizeof(src), "%s/prog.c", malloc_prog_dir);
	snprintf(malloc_prog, sizeof(malloc_prog), "%s/prog", malloc_prog_dir);
	f = fopen(src, "w");
	if (!f)
		return false;
	fputs(malloc_prog_src, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cc -O0 -o %s %s 2>/dev/null", malloc_prog, src);
	return system(cmd) == 0 && access(malloc_prog, X_OK) == 0;
}

static void remove_malloc_prog(void)
{
	char path[sizeof(malloc_prog_dir) + 16];

	if (!malloc_prog[0])
		return;
	unlink(malloc_prog);
	snprintf(path, sizeof(path), "%s/prog.c", malloc_prog_dir);
	unlink(path);
	rmdir(malloc_prog_dir);
	malloc_prog[0] = '\0';
}

static bool runs_program(pid_t pid, const char *path)
{
	char link[64], target[PATH_MAX];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	len = readlink(link, target, sizeof(target) - 1);
	if (len <= 0)
		return false;
	target[len] = '\0';
	return !strcmp(target, path);
}

/* The executable-defines-malloc fallback is for static binaries, which map
 * no libc. A program that maps libc must give the same answer whether or
 * not that libc is already in the list. */
static void test_exe_with_malloc_and_libc_already_listed(void **state)
{
	int go_w;
	pid_t pid;
	(void)state;

	if (!build_malloc_prog())
		skip();
	pid = spawn_waiting(malloc_prog, &go_w);
	assert_true(runs_program(pid, malloc_prog));

	/* Fresh list: its libc, not the executable. */
	assert_int_equal(lt_find_process_libcs(pid, &list_a), 1);
	assert_int_equal(list_a.n, 1);
	assert_ref_is_system_libc(&list_a.v[0]);

	/* A list that already holds the same libc: nothing new to add. */
	assert_int_equal(lt_find_process_libcs(getpid(), &list_b), 1);
	assert_int_equal(lt_find_process_libcs(pid, &list_b), 0);
	assert_int_equal(list_b.n, 1);
	assert_int_equal(release_child(pid, go_w), 0);
}

static void test_find_nonexistent_pid(void **state)
{
	struct lt_object_list list = {};
	(void)state;

	assert_int_equal(lt_find_process_libcs(999999999, &list), -ESRCH);
	assert_int_equal(list.n, 0);
	assert_null(list.v);
}

static void test_find_reaped_child(void **state)
{
	struct lt_object_list list = {};
	pid_t pid;
	(void)state;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(lt_find_process_libcs(pid, &list), -ESRCH);
	assert_int_equal(list.n, 0);
}

static void test_find_all_includes_own_libc(void **state)
{
	struct stat st;
	int n;
	(void)state;

	assert_int_equal(stat(SYSTEM_LIBC, &st), 0);
	n = lt_find_all_libcs(&list_a);
	assert_true(n >= 1);
	assert_int_equal((size_t)n, list_a.n);
	assert_true(lt_object_list_has(&list_a, lt_kernel_dev(major(st.st_dev), minor(st.st_dev)),
				       st.st_ino));
	/* Deduplicated: no file twice. */
	for (size_t i = 0; i < list_a.n; i++)
		for (size_t j = i + 1; j < list_a.n; j++)
			assert_false(list_a.v[i].kdev == list_a.v[j].kdev &&
				     list_a.v[i].ino == list_a.v[j].ino);
}

static void test_find_mapped_file(void **state)
{
	struct lt_object_ref ref;
	struct stat st;
	uint32_t kdev;
	(void)state;

	assert_int_equal(stat(SYSTEM_LIBC, &st), 0);
	kdev = lt_kernel_dev(major(st.st_dev), minor(st.st_dev));
	memset(&ref, 0, sizeof(ref));
	assert_int_equal(lt_find_mapped_file(getpid(), kdev, st.st_ino, &ref), 0);
	assert_ref_is_system_libc(&ref);

	assert_int_equal(lt_find_mapped_file(getpid(), kdev ^ 1, st.st_ino, &ref), -ENOENT);
	assert_int_equal(lt_find_mapped_file(getpid(), kdev, 0xfffffffffffULL, &ref), -ENOENT);
	assert_int_equal(lt_find_mapped_file(999999999, kdev, st.st_ino, &ref), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libc_names_accepted),
		cmocka_unit_test(test_non_libc_names_rejected),
		cmocka_unit_test(test_kernel_dev),
		cmocka_unit_test(test_object_list_add_has_free),
		cmocka_unit_test(test_object_list_many),
		cmocka_unit_test_teardown(test_find_own_libc, free_lists),
		cmocka_unit_test_teardown(test_find_own_libc_twice_adds_nothing, free_lists),
		cmocka_unit_test_teardown(test_find_child_libc, free_lists),
		cmocka_unit_test_teardown(test_exe_with_malloc_and_libc_already_listed, free_lists),
		cmocka_unit_test(test_find_nonexistent_pid),
		cmocka_unit_test(test_find_reaped_child),
		cmocka_unit_test_teardown(test_find_all_includes_own_libc, free_lists),
		cmocka_unit_test(test_find_mapped_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
