// SPDX-License-Identifier: MIT
/*
 * Files a traced process controls (through /proc/PID/root, the names in its
 * ELF files, what it maps): a FIFO, a device or a symlink loop where an ELF
 * should be, a file truncated while it is read, malformed DWARF and
 * compressed sections. Each must cost at most an error, never a hang or a
 * crash: SIGALRM ends a test that hangs. Some inputs are files the fuzzers
 * found, kept in tests/fuzz/corpus/ (read relative to the repository root,
 * where `make unit` runs).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_files.h"

#include "symbols/debug_file.h"
#include "symbols/elf_file.h"
#include "symbols/module_cache.h"
#include "attach/needed_libs.h"
#include "symbols/untrusted_file.h"
#include "unwind/unwind_table.h"

#define CORPUS "tests/fuzz/corpus"
#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"
/* Seconds a test may take before it counts as hung. */
#define HANG_SECONDS 20

struct dir {
	char path[PATH_MAX];
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/lt_untrusted.XXXXXX");
	if (!mkdtemp(d->path)) {
		free(d);
		return -1;
	}
	*state = d;
	alarm(HANG_SECONDS);
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	char cmd[PATH_MAX + 16];

	alarm(0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", d->path);
	free(d);
	return 0;
}

static const char *in_dir(const struct dir *d, const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", d->path, name);
	return path;
}

static void copy_file(const char *from, const char *to)
{
	size_t len;
	unsigned char *bytes = test_slurp(from, &len);

	if (!bytes)
		fail_msg("cannot read %s (run the unit tests from the repository root)", from);
	test_write_file(to, bytes, len, 0644);
	free(bytes);
}

/* --- lt_open_untrusted --- */

static void test_open_regular_file(void **state)
{
	struct dir *d = *state;
	int fd, flags;

	test_write_file(in_dir(d, "plain"), "x", 1, 0644);
	fd = lt_open_untrusted(in_dir(d, "plain"));
	assert_true(fd >= 0);
	flags = fcntl(fd, F_GETFL);
	/* An ordinary descriptor afterwards: blocking, close-on-exec. */
	assert_int_equal(flags & O_NONBLOCK, 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static void test_open_refuses_fifo_device_loop(void **state)
{
	struct dir *d = *state;
	char loop_a[PATH_MAX + 64];

	assert_int_equal(mkfifo(in_dir(d, "fifo"), 0600), 0);
	assert_int_equal(lt_open_untrusted(in_dir(d, "fifo")), -EINVAL);
	assert_int_equal(lt_open_untrusted("/dev/zero"), -EINVAL);
	assert_int_equal(lt_open_untrusted(d->path), -EINVAL);
	snprintf(loop_a, sizeof(loop_a), "%s", in_dir(d, "a"));
	assert_int_equal(symlink(in_dir(d, "b"), loop_a), 0);
	assert_int_equal(symlink(loop_a, in_dir(d, "b")), 0);
	assert_int_equal(lt_open_untrusted(loop_a), -ELOOP);
	assert_int_equal(lt_open_untrusted(in_dir(d, "missing")), -ENOENT);
}

/* --- ELF files by path --- */

static void test_elf_open_path_fifo(void **state)
{
	struct dir *d = *state;
	struct lt_elf_file *ef = (void *)1;

	assert_int_equal(mkfifo(in_dir(d, "fifo"), 0600), 0);
	/* Without O_NONBLOCK the open waits for a writer that never comes. */
	assert_int_equal(lt_elf_open_path(in_dir(d, "fifo"), &ef), -ENOEXEC);
	assert_null(ef);
	assert_int_equal(lt_elf_open_path("/dev/zero", &ef), -ENOEXEC);
}

/* A process replaced its mapped file's path by a FIFO with the same inode
 * number in maps' eyes: map_files is gone (no such mapping here), so the
 * path under /proc/PID/root is tried. */
static void test_mapped_file_replaced_by_fifo(void **state)
{
	struct dir *d = *state;
	struct lt_mapping m = { .start = 0x1000, .end = 0x2000, .executable = true };
	struct stat st;

	assert_int_equal(mkfifo(in_dir(d, "fifo"), 0600), 0);
	assert_int_equal(stat(in_dir(d, "fifo"), &st), 0);
	m.inode = st.st_ino;
	m.dev_major = major(st.st_dev);
	m.dev_minor = minor(st.st_dev);
	m.path = strdup(in_dir(d, "fifo"));
	assert_non_null(m.path);
	assert_true(lt_open_mapped_file(getpid(), &m) < 0);
	free(m.path);
}

/* --- debug files --- */

/* prog is the corpus's stripped tiny program, whose .gnu_debuglink names
 * tiny.debug; what sits at tiny.debug is up to the test. */
static struct lt_elf_file *debuglink_prog(const struct dir *d, char *prog, size_t len)
{
	struct lt_elf_file *ef;

	snprintf(prog, len, "%s", in_dir(d, "prog"));
	copy_file(CORPUS "/elf/seed-tiny-debuglink", prog);
	assert_int_equal(lt_elf_open_path(prog, &ef), 0);
	assert_false(lt_elf_has_debug_info(ef));
	return ef;
}

static void test_debuglink_real_file_found(void **state)
{
	struct dir *d = *state;
	char prog[PATH_MAX + 64];
	struct lt_elf_file *ef = debuglink_prog(d, prog, sizeof(prog)), *debug;

	/* The control: the same lookup with a real debug file finds it. */
	copy_file(CORPUS "/elf/seed-tiny.debug", in_dir(d, "tiny.debug"));
	debug = lt_debug_file_find(getpid(), prog, ef);
	assert_non_null(debug);
	assert_true(lt_elf_has_debug_info(debug));
	lt_elf_close(debug);
	lt_elf_close(ef);
}

static void test_debuglink_fifo_device_loop(void **state)
{
	struct dir *d = *state;
	char prog[PATH_MAX + 64];
	struct lt_elf_file *ef = debuglink_prog(d, prog, sizeof(prog));

	/* A FIFO: the open would wait for a writer. */
	assert_int_equal(mkfifo(in_dir(d, "tiny.debug"), 0600), 0);
	assert_null(lt_debug_file_find(getpid(), prog, ef));
	unlink(in_dir(d, "tiny.debug"));
	/* A device with no end: the checksum would read forever. */
	assert_int_equal(symlink("/dev/zero", in_dir(d, "tiny.debug")), 0);
	assert_null(lt_debug_file_find(getpid(), prog, ef));
	unlink(in_dir(d, "tiny.debug"));
	assert_int_equal(symlink(in_dir(d, "tiny.debug"), in_dir(d, "tiny.debug")), 0);
	assert_null(lt_debug_file_find(getpid(), prog, ef));
	lt_elf_close(ef);
}

/* MiniDebugInfo whose xz header asks for a 4 GiB dictionary (found by
 * fuzz_elf): refused, not allocated. The control is the same file with the
 * header as xz wrote it. */
static void test_minidebuginfo_decoder_memory_bounded(void **state)
{
	struct lt_elf_file *ef, *debug;

	(void)state;
	assert_int_equal(lt_elf_open_path(CORPUS "/elf/seed-tiny-minidebuginfo", &ef), 0);
	debug = lt_debug_file_find(0, NULL, ef);
	assert_non_null(debug);
	assert_true(lt_elf_symbol_count(debug) > 0);
	lt_elf_close(debug);
	lt_elf_close(ef);

	assert_int_equal(lt_elf_open_path(CORPUS "/elf/regress-minidebug-4gib-dictionary", &ef), 0);
	assert_null(lt_debug_file_find(0, NULL, ef));
	lt_elf_close(ef);
}

/* --- DWARF --- */

static void expect_tiny_chain(const char *path, const char *inner_name)
{
	struct lt_inline_frame chain[8];
	struct lt_elf_symbol sym;
	struct lt_elf_file *ef;
	const char *outer_file;
	int outer_line, n;

	assert_int_equal(lt_elf_open_path(path, &ef), 0);
	assert_int_equal(lt_elf_find_function(ef, "leak_via_malloc", &sym), 0);
	/* tiny.c: leak_via_malloc (line 4) inlines outer (line 3), which
	 * inlines inner (line 2); the first instruction is inner's. */
	n = lt_elf_inline_chain(ef, sym.vaddr, chain, 8, &outer_file, &outer_line);
	assert_int_equal(n, 2);
	if (inner_name)
		assert_string_equal(chain[0].name, inner_name);
	else
		assert_null(chain[0].name);
	assert_int_equal(chain[0].line, 2);
	assert_string_equal(chain[1].name, "outer");
	assert_int_equal(chain[1].line, 3);
	assert_int_equal(outer_line, 4);
	lt_elf_close(ef);
}

static void test_inline_chain(void **state)
{
	(void)state;
	expect_tiny_chain(CORPUS "/elf/seed-tiny-O2-dwarf5", "inner");
	/* The same file with inner's DW_AT_abstract_origin broken (found by
	 * fuzz_elf): dwarf_getscopes() leaked its result there; the chain is
	 * still found, without inner's name. unit-san's LeakSanitizer fails
	 * this test if anything leaks. */
	expect_tiny_chain(CORPUS "/elf/regress-inline-bad-origin", NULL);
}

/* --- unwind tables --- */

struct truncator {
	const char *path;
	off_t full;
	atomic_bool stop;
};

/* Cuts the file short and restores its length, over and over: a mapping of
 * it faults (SIGBUS) whenever it is touched past the current end. */
static void *truncate_loop(void *arg)
{
	struct truncator *t = arg;
	int fd = open(t->path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while (!atomic_load(&t->stop)) {
		if (ftruncate(fd, 4096) || ftruncate(fd, t->full))
			break;
	}
	close(fd);
	return NULL;
}

static void test_unwind_table_file_truncated_while_read(void **state)
{
	struct dir *d = *state;
	struct truncator t = { .path = in_dir(d, "libc.so") };
	struct lt_unwind_table table;
	struct stat st;
	pthread_t thread;
	time_t end;
	int builds = 0;

	copy_file(LIBC_PATH, t.path);
	t.path = strdup(t.path);
	assert_non_null(t.path);
	assert_int_equal(stat(t.path, &st), 0);
	t.full = st.st_size;
	assert_int_equal(pthread_create(&thread, NULL, truncate_loop, &t), 0);
	for (end = time(NULL) + 2; time(NULL) < end; builds++) {
		int fd = open(t.path, O_RDONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		if (!lt_unwind_table_build(fd, &table))
			lt_unwind_table_free(&table);
		close(fd);
	}
	atomic_store(&t.stop, true);
	pthread_join(thread, NULL);
	assert_true(builds > 0);
	/* Whole again (cut short it lost its bytes), the file gives its table. */
	copy_file(LIBC_PATH, t.path);
	{
		int fd = open(t.path, O_RDONLY | O_CLOEXEC);

		assert_int_equal(lt_unwind_table_build(fd, &table), 0);
		assert_true(table.nrows > 1000);
		lt_unwind_table_free(&table);
		close(fd);
	}
	free((void *)t.path);
}

static int unwind_rows_of(const char *path, size_t *nrows)
{
	struct lt_unwind_table table;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		fail_msg("cannot open %s (run the unit tests from the repository root)", path);
	err = lt_unwind_table_build(fd, &table);
	*nrows = err ? 0 : table.nrows;
	if (!err)
		lt_unwind_table_free(&table);
	close(fd);
	return err;
}

static void test_unwind_table_section_names(void **state)
{
	size_t nrows;

	(void)state;
	/* Section headers without an .eh_frame by name (found by
	 * fuzz_unwind): refused, as libdw's fallback leaks (unit-san). */
	assert_int_equal(unwind_rows_of(CORPUS "/unwind/regress-eh-frame-unnamed", &nrows),
			 -ENOENT);
	/* No section headers at all: the program headers are enough. */
	assert_int_equal(unwind_rows_of(CORPUS "/unwind/seed-tiny-no-section-headers", &nrows), 0);
	assert_true(nrows > 0);
	assert_int_equal(unwind_rows_of(CORPUS "/unwind/seed-tiny-stripped", &nrows), 0);
	assert_true(nrows > 0);
}

/* Without section headers libdw finds .eh_frame by reading the whole file:
 * not a sparse one of 128 MiB (it costs its maker nothing). */
static void test_unwind_table_whole_file_bounded(void **state)
{
	struct dir *d = *state;
	char path[PATH_MAX + 64];
	size_t nrows;

	snprintf(path, sizeof(path), "%s", in_dir(d, "huge"));
	copy_file(CORPUS "/unwind/seed-tiny-no-section-headers", path);
	assert_int_equal(unwind_rows_of(path, &nrows), 0);
	assert_int_equal(truncate(path, 128 << 20), 0);
	assert_int_equal(unwind_rows_of(path, &nrows), -ENOENT);
}

/* A CIE naming a register numbered in the hundreds of millions (found by
 * fuzz_unwind): libdw would grow every frame it computes to gigabytes.
 * Refused before libdw runs it (cfi_check.c; test_cfi_check.c has the
 * details). */
static void test_unwind_table_hostile_cfi(void **state)
{
	size_t nrows;

	(void)state;
	assert_int_equal(unwind_rows_of(CORPUS "/unwind/regress-cfi-huge-register", &nrows),
			 -ENOEXEC);
}

static void test_unwind_table_device(void **state)
{
	struct lt_unwind_table table;
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(lt_unwind_table_build(fd, &table), -ENOEXEC);
	close(fd);
}

/* --- DT_NEEDED --- */

static void test_needed_libs_fifo(void **state)
{
	struct dir *d = *state;
	struct lt_path_list libs;
	char prog[PATH_MAX + 64], fifo[PATH_MAX];
	bool found_libc = false;

	/* The program itself a FIFO: listed, not read. */
	assert_int_equal(mkfifo(in_dir(d, "fifo"), 0700), 0);
	assert_int_equal(lt_needed_libs(in_dir(d, "fifo"), &libs), 0);
	assert_int_equal(libs.n, 1);
	lt_path_list_free(&libs);

	/* RUNPATH $ORIGIN:...: libc.so.6 is looked for next to the program
	 * first, where a FIFO of that name sits. */
	snprintf(prog, sizeof(prog), "%s", in_dir(d, "prog"));
	copy_file(CORPUS "/needed_libs/seed-runpath-origin", prog);
	assert_int_equal(mkfifo(in_dir(d, "libc.so.6"), 0700), 0);
	assert_non_null(realpath(in_dir(d, "libc.so.6"), fifo));
	assert_int_equal(lt_needed_libs(prog, &libs), 0);
	for (size_t i = 0; i < libs.n; i++) {
		assert_string_not_equal(libs.v[i], fifo);
		if (strstr(libs.v[i], "/libc.so.6"))
			found_libc = true;
	}
	assert_true(found_libc);
	lt_path_list_free(&libs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_regular_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_fifo_device_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elf_open_path_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapped_file_replaced_by_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debuglink_real_file_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debuglink_fifo_device_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minidebuginfo_decoder_memory_bounded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_inline_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwind_table_file_truncated_while_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwind_table_section_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwind_table_hostile_cfi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwind_table_whole_file_bounded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwind_table_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needed_libs_fifo, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
