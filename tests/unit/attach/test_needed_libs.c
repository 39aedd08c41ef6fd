// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "attach/needed_libs.h"

#define LS_PATH "/bin/ls"
#define INTERP_PATH "/lib64/ld-linux-x86-64.so.2"
#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"

struct fixture {
	char tmpdir[PATH_MAX];
	char good_dir[PATH_MAX + 8]; /* holds a copy of the real libc.so.6 */
	char bad_dir[PATH_MAX + 8];  /* holds a libc.so.6 that is not an ELF file */
	char good_lib[PATH_MAX + 32];
	char bad_lib[PATH_MAX + 32];
	char text[PATH_MAX + 32];
};

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t len = strlen(s);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* A copy, not a symlink: lt_needed_libs resolves links to the file they name. */
static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n = 0;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	if (out < 0 || close(out) || n < 0)
		return -1;
	return 0;
}

/* Paths come back with links resolved (/bin -> usr/bin on Debian 12). */
static const char *real(const char *path)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *r = buf[next++ % 4];

	assert_non_null(realpath(path, r));
	return r;
}

static int teardown(void **state);

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->tmpdir, sizeof(f->tmpdir), "/tmp/lt_needed_test.XXXXXX");
	if (!mkdtemp(f->tmpdir)) {
		free(f);
		return -1;
	}
	snprintf(f->good_dir, sizeof(f->good_dir), "%s/good", f->tmpdir);
	snprintf(f->bad_dir, sizeof(f->bad_dir), "%s/bad", f->tmpdir);
	snprintf(f->good_lib, sizeof(f->good_lib), "%s/libc.so.6", f->good_dir);
	snprintf(f->bad_lib, sizeof(f->bad_lib), "%s/libc.so.6", f->bad_dir);
	snprintf(f->text, sizeof(f->text), "%s/notes.txt", f->tmpdir);
	if (mkdir(f->good_dir, 0700) || mkdir(f->bad_dir, 0700) ||
	    copy_file(LIBC_PATH, f->good_lib)) {
		fprintf(stderr, "cannot prepare %s\n", f->tmpdir);
		*state = f;
		teardown(state);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unsetenv("LD_LIBRARY_PATH");
	unlink(f->good_lib);
	unlink(f->bad_lib);
	unlink(f->text);
	rmdir(f->good_dir);
	rmdir(f->bad_dir);
	rmdir(f->tmpdir);
	free(f);
	return 0;
}

static size_t index_of(const struct lt_path_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], path))
			return i;
	return SIZE_MAX;
}

/* The entry whose file name is name, or NULL; there must be at most one. */
static const char *by_name(const struct lt_path_list *l, const char *name)
{
	const char *found = NULL;

	for (size_t i = 0; i < l->n; i++) {
		const char *slash = strrchr(l->v[i], '/');

		if (strcmp(slash ? slash + 1 : l->v[i], name))
			continue;
		assert_null(found);
		found = l->v[i];
	}
	return found;
}

static void assert_no_duplicates(const struct lt_path_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		assert_int_equal(index_of(l, l->v[i]), i);
}

static void test_ls(void **state)
{
	struct lt_path_list l;
	const char *libc;
	struct stat st;
	(void)state;

	unsetenv("LD_LIBRARY_PATH");
	assert_int_equal(lt_needed_libs(LS_PATH, &l), 0);
	assert_true(l.n >= 3);
	assert_string_equal(l.v[0], real(LS_PATH));
	assert_no_duplicates(&l);

	libc = by_name(&l, "libc.so.6");
	assert_non_null(libc);
	assert_int_equal(libc[0], '/');
	assert_int_equal(stat(libc, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(libc, real(LIBC_PATH));
	/* Needed by ls directly, and again by libselinux: found once. */
	assert_non_null(by_name(&l, "libselinux.so.1"));

	/* The interpreter is mapped before anything else runs, so it is listed. */
	assert_true(index_of(&l, real(INTERP_PATH)) != SIZE_MAX);
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(access(l.v[i], R_OK), 0);

	lt_path_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
}

/* No file, no list: there is nothing a process could map. */
static void test_nonexistent(void **state)
{
	struct lt_path_list l;
	(void)state;

	assert_int_equal(lt_needed_libs("/nonexistent/leaktrace/prog", &l), -ENOENT);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	lt_path_list_free(&l);
}

static void test_not_elf(void **state)
{
	struct fixture *f = *state;
	struct lt_path_list l;

	write_file(f->text, "#!/bin/sh\nexec /bin/ls\n");
	assert_int_equal(lt_needed_libs(f->text, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], real(f->text));
	lt_path_list_free(&l);

	/* A directory is no program either. */
	assert_int_equal(lt_needed_libs(f->tmpdir, &l), 0);
	assert_int_equal(l.n, 1);
	lt_path_list_free(&l);
}

/* ld.so searches LD_LIBRARY_PATH before ld.so.conf and the default
 * directories, skipping candidates it cannot load. */
static void test_ld_library_path(void **state)
{
	struct fixture *f = *state;
	char spec[3 * PATH_MAX];
	struct lt_path_list l;
	int err;

	write_file(f->bad_lib, "not a library\n");
	snprintf(spec, sizeof(spec), "relative/dir::%s:%s", f->bad_dir, f->good_dir);
	assert_int_equal(setenv("LD_LIBRARY_PATH", spec, 1), 0);
	err = lt_needed_libs(LS_PATH, &l);
	unsetenv("LD_LIBRARY_PATH");
	assert_int_equal(err, 0);

	assert_string_equal(l.v[0], real(LS_PATH));
	assert_no_duplicates(&l);
	assert_string_equal(by_name(&l, "libc.so.6"), real(f->good_lib));
	assert_true(index_of(&l, real(LIBC_PATH)) == SIZE_MAX);
	assert_true(index_of(&l, f->bad_lib) == SIZE_MAX);
	/* Libraries the directory does not have still come from the system. */
	assert_non_null(by_name(&l, "libselinux.so.1"));
	assert_true(index_of(&l, real(INTERP_PATH)) != SIZE_MAX);
	lt_path_list_free(&l);

	/* Unset again, the system's copy is back. */
	assert_int_equal(lt_needed_libs(LS_PATH, &l), 0);
	assert_string_equal(by_name(&l, "libc.so.6"), real(LIBC_PATH));
	lt_path_list_free(&l);
}

/* "ld.so [OPTIONS] PROGRAM": the program's files, searched with
 * --library-path instead of LD_LIBRARY_PATH, and that ld.so. */
static void test_loader_command(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { INTERP_PATH, "--inhibit-cache", "--library-path", f->good_dir,
			 "--argv0", "renamed", LS_PATH, "-l", NULL };
	char *no_program[] = { INTERP_PATH, "--library-path", f->good_dir, NULL };
	char *plain[] = { LS_PATH, "-l", NULL };
	struct lt_path_list l;
	int err;

	assert_true(lt_is_dynamic_loader(INTERP_PATH));
	assert_true(lt_is_dynamic_loader("/x/ld-musl-x86_64.so.1"));
	assert_false(lt_is_dynamic_loader(LS_PATH));
	assert_false(lt_is_dynamic_loader("/usr/bin/ldd"));
	write_file(f->bad_lib, "not a library\n");
	/* What the environment says does not count once --library-path is given. */
	assert_int_equal(setenv("LD_LIBRARY_PATH", f->bad_dir, 1), 0);
	err = lt_command_files(INTERP_PATH, argv, &l);
	unsetenv("LD_LIBRARY_PATH");
	assert_int_equal(err, 0);
	assert_string_equal(l.v[0], real(LS_PATH));
	assert_string_equal(by_name(&l, "libc.so.6"), real(f->good_lib));
	assert_true(index_of(&l, real(INTERP_PATH)) != SIZE_MAX);
	assert_no_duplicates(&l);
	lt_path_list_free(&l);

	assert_int_equal(lt_command_files(INTERP_PATH, no_program, &l), -EINVAL);
	assert_int_equal(l.n, 0);
	/* Any other program: its own closure. */
	assert_int_equal(lt_command_files(LS_PATH, plain, &l), 0);
	assert_string_equal(l.v[0], real(LS_PATH));
	assert_string_equal(by_name(&l, "libc.so.6"), real(LIBC_PATH));
	lt_path_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ls),
		cmocka_unit_test(test_nonexistent),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_ld_library_path),
		cmocka_unit_test(test_loader_command),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
