// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "attach/proc_maps.h"

static const char sample[] =
	"55d0c8a00000-55d0c8a02000 r--p 00000000 08:01 1234567                    /usr/bin/my prog\n"
	"55d0c8a02000-55d0c8a05000 r-xp 00002000 08:01 1234567                    /usr/bin/my prog\n"
	"\n"
	"this is not a mapping\n"
	"55d0c8a06000-55d0c8a07000 rwxq 00000000 00:00 0\n"          /* bad sharing flag */
	"55d0c8a07000-55d0c8a06000 r--p 00000000 00:00 0\n"          /* end < start */
	"55d0c8a08000-55d0c8a09000 r--p 00000000 zz:01 7 /x\n"       /* bad device */
	"55d0c8a0a000-55d0c8a0b000 r--p\n"                           /* truncated */
	"155d0c8a0a000000000-55d0c8a0b000 r--p 00000000 00:00 0\n"   /* overflow */
	"55d0c8a0c000-55d0c8a0d000 r--p 00000000 00:00 12x /y\n"     /* bad inode */
	"55d0ca000000-55d0ca021000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f0000100000-7f0000200000 rw-p 00000000 00:00 0 \n"
	"7f1000000000-7f1000001000 r-xs 0001a000 fd:02 18446744073709551615       /tmp/lib x.so (deleted)\n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

static void assert_mapping(const struct lt_mapping *m, uint64_t start, uint64_t end,
			   const char *perms, uint64_t offset, const char *path)
{
	assert_non_null(m);
	assert_int_equal(m->start, start);
	assert_int_equal(m->end, end);
	assert_int_equal(m->readable, perms[0] == 'r');
	assert_int_equal(m->writable, perms[1] == 'w');
	assert_int_equal(m->executable, perms[2] == 'x');
	assert_int_equal(m->file_offset, offset);
	if (path)
		assert_string_equal(m->path, path);
	else
		assert_null(m->path);
}

static void test_parse_sample(void **state)
{
	struct lt_maps maps;
	(void)state;

	assert_int_equal(lt_maps_parse(sample, strlen(sample), &maps), 0);
	assert_int_equal(maps.n, 7);

	assert_mapping(&maps.v[0], 0x55d0c8a00000, 0x55d0c8a02000, "r--", 0, "/usr/bin/my prog");
	assert_int_equal(maps.v[0].dev_major, 8);
	assert_int_equal(maps.v[0].dev_minor, 1);
	assert_int_equal(maps.v[0].inode, 1234567);
	assert_false(maps.v[0].deleted);

	assert_mapping(&maps.v[1], 0x55d0c8a02000, 0x55d0c8a05000, "r-x", 0x2000, "/usr/bin/my prog");
	assert_mapping(&maps.v[2], 0x55d0ca000000, 0x55d0ca021000, "rw-", 0, "[heap]");
	assert_int_equal(maps.v[2].inode, 0);

	/* Anonymous: a trailing pad space but no path. */
	assert_mapping(&maps.v[3], 0x7f0000100000, 0x7f0000200000, "rw-", 0, NULL);
	assert_false(maps.v[3].deleted);

	assert_mapping(&maps.v[4], 0x7f1000000000, 0x7f1000001000, "r-x", 0x1a000, "/tmp/lib x.so");
	assert_true(maps.v[4].deleted);
	assert_int_equal(maps.v[4].dev_major, 0xfd);
	assert_int_equal(maps.v[4].dev_minor, 2);
	assert_true(maps.v[4].inode == UINT64_MAX);

	assert_mapping(&maps.v[5], 0x7ffd00000000, 0x7ffd00021000, "rw-", 0, "[stack]");
	/* Last line without a newline. */
	assert_mapping(&maps.v[6], 0xffffffffff600000, 0xffffffffff601000, "--x", 0, "[vsyscall]");
	lt_maps_free(&maps);
	assert_null(maps.v);
	assert_int_equal(maps.n, 0);
}

static void test_parse_edge_cases(void **state)
{
	static const char no_path[] = "1000-2000 r--p 00000000 00:00 0";
	static const char only_deleted[] = "1000-2000 r--p 00000000 00:00 5 (deleted)";
	static const char unsorted[] =
		"5000-6000 r--p 00000000 00:00 0\n"
		"1000-2000 r--p 00000000 00:00 0\n";
	struct lt_maps maps;
	(void)state;

	assert_int_equal(lt_maps_parse("", 0, &maps), 0);
	assert_int_equal(maps.n, 0);
	lt_maps_free(&maps);

	/* The length bounds the parse: the path must not run past it. */
	assert_int_equal(lt_maps_parse(sample, 40, &maps), 0);
	assert_int_equal(maps.n, 0);
	lt_maps_free(&maps);

	assert_int_equal(lt_maps_parse(no_path, strlen(no_path), &maps), 0);
	assert_int_equal(maps.n, 1);
	assert_null(maps.v[0].path);
	lt_maps_free(&maps);

	/* " (deleted)" alone is the path itself after the pad, not a suffix. */
	assert_int_equal(lt_maps_parse(only_deleted, strlen(only_deleted), &maps), 0);
	assert_int_equal(maps.n, 1);
	assert_string_equal(maps.v[0].path, "(deleted)");
	assert_false(maps.v[0].deleted);
	lt_maps_free(&maps);

	assert_int_equal(lt_maps_parse(unsorted, strlen(unsorted), &maps), 0);
	assert_int_equal(maps.n, 2);
	assert_int_equal(maps.v[0].start, 0x1000);
	assert_int_equal(maps.v[1].start, 0x5000);
	lt_maps_free(&maps);
}

static void test_parse_long_path(void **state)
{
	size_t plen = 100000, i;
	char *text = malloc(plen + 64);
	struct lt_maps maps;
	int n;
	(void)state;

	assert_non_null(text);
	n = sprintf(text, "1000-2000 r-xp 00000000 08:01 42 /");
	for (i = 1; i < plen; i++)
		text[n + i - 1] = 'a' + (char)(i % 26);
	text[n + plen - 1] = '\0';
	assert_int_equal(lt_maps_parse(text, strlen(text), &maps), 0);
	assert_int_equal(maps.n, 1);
	assert_int_equal(strlen(maps.v[0].path), plen);
	assert_int_equal(maps.v[0].path[0], '/');
	lt_maps_free(&maps);
	free(text);
}

static void test_find(void **state)
{
	struct lt_maps maps;
	(void)state;

	assert_int_equal(lt_maps_parse(sample, strlen(sample), &maps), 0);
	assert_ptr_equal(lt_maps_find(&maps, 0x55d0c8a00000), &maps.v[0]);
	assert_ptr_equal(lt_maps_find(&maps, 0x55d0c8a01fff), &maps.v[0]);
	assert_ptr_equal(lt_maps_find(&maps, 0x55d0c8a02000), &maps.v[1]);
	assert_ptr_equal(lt_maps_find(&maps, 0x55d0c8a04fff), &maps.v[1]);
	assert_null(lt_maps_find(&maps, 0x55d0c8a05000));
	assert_null(lt_maps_find(&maps, 0));
	assert_null(lt_maps_find(&maps, 0x55d0c89fffff));
	assert_ptr_equal(lt_maps_find(&maps, 0x7f0000150000), &maps.v[3]);
	assert_ptr_equal(lt_maps_find(&maps, 0xffffffffff600fff), &maps.v[6]);
	assert_null(lt_maps_find(&maps, 0xffffffffff601000));
	assert_null(lt_maps_find(&maps, UINT64_MAX));
	lt_maps_free(&maps);

	maps.v = NULL;
	maps.n = 0;
	assert_null(lt_maps_find(&maps, 0x1000));
}

static void test_copy(void **state)
{
	struct lt_maps maps, copy;
	size_t i;
	(void)state;

	assert_int_equal(lt_maps_parse(sample, strlen(sample), &maps), 0);
	assert_int_equal(lt_maps_copy(&maps, &copy), 0);
	assert_int_equal(copy.n, maps.n);
	assert_ptr_not_equal(copy.v, maps.v);
	for (i = 0; i < maps.n; i++) {
		assert_int_equal(copy.v[i].start, maps.v[i].start);
		assert_int_equal(copy.v[i].end, maps.v[i].end);
		assert_int_equal(copy.v[i].deleted, maps.v[i].deleted);
		if (!maps.v[i].path) {
			assert_null(copy.v[i].path);
			continue;
		}
		assert_ptr_not_equal(copy.v[i].path, maps.v[i].path);
		assert_string_equal(copy.v[i].path, maps.v[i].path);
	}
	lt_maps_free(&maps);
	/* The copy must outlive the original. */
	assert_string_equal(copy.v[0].path, "/usr/bin/my prog");
	lt_maps_free(&copy);
}

static int local_function(void)
{
	return 1;
}

static void test_read_self(void **state)
{
	char exe[PATH_MAX];
	struct lt_maps maps;
	const struct lt_mapping *m;
	ssize_t n;
	(void)state;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';

	assert_int_equal(lt_maps_read(getpid(), &maps), 0);
	assert_true(maps.n > 5);
	m = lt_maps_find(&maps, (uint64_t)(uintptr_t)local_function);
	assert_non_null(m);
	assert_true(m->executable);
	assert_false(m->deleted);
	assert_string_equal(m->path, exe);
	/* The frame address, not a local: ASan may move locals to a fake stack. */
	m = lt_maps_find(&maps, (uint64_t)(uintptr_t)__builtin_frame_address(0));
	assert_non_null(m);
	assert_string_equal(m->path, "[stack]");
	lt_maps_free(&maps);
	assert_int_equal(local_function(), 1);
}

/* Many mappings make the file far larger than any single read buffer. */
static void test_read_many_mappings(void **state)
{
	enum { COUNT = 3000 };
	long page = sysconf(_SC_PAGESIZE);
	const struct lt_mapping *m;
	struct lt_maps maps;
	char *base;
	size_t i;
	(void)state;

	base = mmap(NULL, (size_t)page * COUNT, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(base != MAP_FAILED);
	/* Alternating protections keep the kernel from merging the pages. */
	for (i = 1; i < COUNT; i += 2)
		assert_int_equal(mprotect(base + i * (size_t)page, (size_t)page,
					  PROT_READ | PROT_WRITE), 0);

	assert_int_equal(lt_maps_read(getpid(), &maps), 0);
	assert_true(maps.n >= COUNT);
	for (i = 0; i < COUNT; i++) {
		m = lt_maps_find(&maps, (uint64_t)(uintptr_t)(base + i * (size_t)page));
		assert_non_null(m);
		/* The first and last page may merge with a neighbour of the same
		 * protection that this test does not control. */
		if (i == 0 || i == COUNT - 1)
			continue;
		assert_int_equal(m->start, (uint64_t)(uintptr_t)(base + i * (size_t)page));
		assert_int_equal(m->end, (uint64_t)(uintptr_t)(base + (i + 1) * (size_t)page));
		assert_int_equal(m->writable, i % 2);
		assert_null(m->path);
	}
	lt_maps_free(&maps);
	munmap(base, (size_t)page * COUNT);
}

static void test_read_gone(void **state)
{
	struct lt_maps maps;
	pid_t pid;
	(void)state;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(lt_maps_read(pid, &maps), -ESRCH);
	assert_int_equal(maps.n, 0);
	assert_null(maps.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_sample),
		cmocka_unit_test(test_parse_edge_cases),
		cmocka_unit_test(test_parse_long_path),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_read_self),
		cmocka_unit_test(test_read_many_mappings),
		cmocka_unit_test(test_read_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
