// SPDX-License-Identifier: MIT
/*
 * The module cache's parsed files: shared by build-id, kept within a budget,
 * parsed again after eviction. Modules are made from hand-built mappings of
 * this process; with no such address mapped, the cache opens them through
 * /proc/self/root and the path, checking device and inode.
 */
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_files.h"

#include "symbols/elf_file.h"
#include "symbols/module_cache.h"

struct fixture {
	char symbols[PATH_MAX]; /* symbols_fixture */
	char cfi[PATH_MAX];     /* cfi_fixture: another build-id */
	char tmpdir[64];         /* mkdtemp: short, so paths in it fit */
	struct lt_module_cache cache;
};

static int setup(void **state)
{
	const char *dir = getenv("LT_FIXTURE_DIR");
	char path[PATH_MAX];
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!dir) {
		fprintf(stderr, "LT_FIXTURE_DIR is not set\n");
		goto fail;
	}
	/* /proc/PID/root needs absolute paths. */
	snprintf(path, sizeof(path), "%s/symbols_fixture", dir);
	if (!realpath(path, f->symbols))
		goto fail;
	snprintf(path, sizeof(path), "%s/cfi_fixture", dir);
	if (!realpath(path, f->cfi))
		goto fail;
	snprintf(f->tmpdir, sizeof(f->tmpdir), "/tmp/lt_module_test.XXXXXX");
	if (!mkdtemp(f->tmpdir))
		goto fail;
	lt_module_cache_init(&f->cache);
	*state = f;
	return 0;
fail:
	fprintf(stderr, "cannot find the fixtures in %s\n", dir ? dir : "(unset)");
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[PATH_MAX + 16];

	lt_module_cache_free(&f->cache);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmpdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", f->tmpdir);
	free(f);
	return 0;
}



/* A copy of src in the temp dir: same contents, another inode. */
static void copy_to(const struct fixture *f, const char *src, const char *name, char *out)
{
	size_t len;
	unsigned char *buf = test_slurp(src, &len);

	assert_non_null(buf);
	snprintf(out, PATH_MAX, "%s/%s", f->tmpdir, name);
	test_write_file(out, buf, len, 0700);
	free(buf);
}

static int hex_digit(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* A copy of src whose build-id note is no longer one (its type zeroed). */
static void copy_without_build_id(const struct fixture *f, const char *src, const char *name,
				  char *out)
{
	unsigned char needle[4 + 64], *buf, *hit;
	char id[LT_ELF_BUILD_ID_LEN];
	size_t len, n;
	int fd = open(src, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(lt_elf_read_build_id(fd, id), 0);
	close(fd);
	n = strlen(id) / 2;
	assert_true(n > 0 && n <= 64);
	memcpy(needle, "GNU", 4);
	for (size_t i = 0; i < n; i++)
		needle[4 + i] = (unsigned char)(hex_digit(id[2 * i]) << 4 | hex_digit(id[2 * i + 1]));
	buf = test_slurp(src, &len);
	assert_non_null(buf);
	hit = memmem(buf, len, needle, 4 + n);
	assert_non_null(hit);
	/* namesz, descsz, type, then the name: the type is just before it. */
	memset(hit - 4, 0, 4);
	snprintf(out, PATH_MAX, "%s/%s", f->tmpdir, name);
	test_write_file(out, buf, len, 0700);
	free(buf);
	fd = open(out, O_RDONLY | O_CLOEXEC);
	assert_int_equal(lt_elf_read_build_id(fd, id), 0);
	assert_string_equal(id, "");
	close(fd);
}

/* The module of path, as if this process mapped it executable. */
static struct lt_module *module_of(struct fixture *f, const char *path)
{
	struct lt_mapping m = {
		.start = 0x1000, /* not mapped here: opened by path */
		.end = 0x2000,
		.readable = true,
		.executable = true,
		.path = (char *)path,
	};
	struct lt_module *mod;
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	m.inode = st.st_ino;
	m.dev_major = major(st.st_dev);
	m.dev_minor = minor(st.st_dev);
	mod = lt_module_for_mapping(&f->cache, getpid(), &m);
	assert_non_null(mod);
	assert_true(mod->fd >= 0);
	return mod;
}

static struct lt_symbol_cache_stats stats(const struct fixture *f)
{
	struct lt_symbol_cache_stats s;

	lt_module_cache_stats(&f->cache, &s);
	return s;
}

static uint64_t alpha_vaddr(struct lt_elf_file *ef)
{
	struct lt_elf_symbol sym;

	assert_non_null(ef);
	assert_int_equal(lt_elf_find_function(ef, "lt_fixture_alpha", &sym), 0);
	assert_ptr_equal(lt_elf_symbol_at(ef, sym.vaddr), lt_elf_symbol_at(ef, sym.vaddr));
	return sym.vaddr;
}

/* Estimated bytes of path parsed alone. */
static uint64_t cost_of(const char *path)
{
	struct lt_elf_file *ef;
	uint64_t cost;

	assert_int_equal(lt_elf_open_path(path, &ef), 0);
	cost = lt_elf_memory_estimate(ef);
	lt_elf_close(ef);
	return cost;
}

static void test_same_build_id_parsed_once(void **state)
{
	struct fixture *f = *state;
	struct lt_module *a, *b;
	struct lt_elf_file *ef;
	char copy[PATH_MAX];

	copy_to(f, f->symbols, "copy", copy);
	a = module_of(f, f->symbols);
	b = module_of(f, copy);
	assert_ptr_not_equal(a, b);
	assert_int_equal(f->cache.count, 2);

	ef = lt_module_elf(a);
	assert_non_null(ef);
	assert_int_equal(lt_module_elf(b) == ef, true);
	assert_int_equal(stats(f).parses, 1);
	assert_int_equal(stats(f).shared, 1);
	assert_int_equal(stats(f).loaded, 1);
	assert_int_equal(strlen(lt_module_build_id(a)), 40);
	assert_string_equal(lt_module_build_id(a), lt_module_build_id(b));
	assert_string_equal(lt_module_build_id(a), lt_elf_build_id(ef));
	/* Parsed modules hand their descriptor over; the paths stay their own. */
	assert_int_equal(a->fd, -1);
	assert_int_equal(b->fd, -1);
	assert_string_equal(b->path, copy);
	/* The fixture has DWARF of its own: no debug companion. */
	assert_null(lt_module_debug(a));
}

static void test_without_build_id_not_shared(void **state)
{
	struct fixture *f = *state;
	char one[PATH_MAX], two[PATH_MAX];
	struct lt_module *a, *b;
	struct lt_elf_file *ea, *eb;

	copy_without_build_id(f, f->symbols, "one", one);
	copy_without_build_id(f, f->symbols, "two", two);
	a = module_of(f, one);
	b = module_of(f, two);
	ea = lt_module_elf(a);
	eb = lt_module_elf(b);
	assert_non_null(ea);
	assert_non_null(eb);
	assert_ptr_not_equal(ea, eb);
	assert_int_equal(stats(f).parses, 2);
	assert_int_equal(stats(f).shared, 0);
	assert_string_equal(lt_module_build_id(a), "");
	assert_int_equal(alpha_vaddr(ea), alpha_vaddr(eb));
}

static void test_tiny_cap_evicts_and_reparses(void **state)
{
	struct fixture *f = *state;
	struct lt_module *a, *b;
	uint64_t alpha;

	lt_module_cache_set_limit(&f->cache, 1);
	a = module_of(f, f->symbols);
	b = module_of(f, f->cfi);
	alpha = alpha_vaddr(lt_module_elf(a));
	assert_int_equal(stats(f).loaded, 1);
	assert_int_equal(stats(f).evictions, 0);

	/* Over the cap, but in use: only the others go. */
	assert_non_null(lt_module_elf(b));
	assert_int_equal(stats(f).evictions, 1);
	assert_int_equal(stats(f).loaded, 1);
	assert_int_equal(stats(f).bytes, cost_of(f->cfi));

	assert_int_equal(alpha_vaddr(lt_module_elf(a)), alpha);
	assert_int_equal(stats(f).parses, 3);
	assert_int_equal(stats(f).reparses, 1);
	assert_int_equal(stats(f).evictions, 2);
	assert_int_equal(stats(f).loaded, 1);
	/* Loaded again: no parse. */
	assert_non_null(lt_module_elf(a));
	assert_int_equal(stats(f).parses, 3);
}

static void test_bytes_stay_under_cap(void **state)
{
	struct fixture *f = *state;
	uint64_t ca = cost_of(f->symbols), cb = cost_of(f->cfi);
	char copy[PATH_MAX];
	struct lt_module *a, *b, *c;

	assert_true(ca > 1000 && cb > 1000);
	copy_to(f, f->symbols, "copy", copy);
	/* Room for both, not a byte more. */
	lt_module_cache_set_limit(&f->cache, ca + cb);
	a = module_of(f, f->symbols);
	b = module_of(f, f->cfi);
	c = module_of(f, copy);
	assert_non_null(lt_module_elf(a));
	assert_non_null(lt_module_elf(b));
	assert_non_null(lt_module_elf(c));
	assert_int_equal(stats(f).bytes, ca + cb);
	assert_int_equal(stats(f).evictions, 0);

	/* One byte less: the least recently used (cfi, as c touched a) goes. */
	lt_module_cache_set_limit(&f->cache, ca + cb - 1);
	assert_non_null(lt_module_elf(a));
	assert_int_equal(stats(f).evictions, 1);
	assert_int_equal(stats(f).bytes, ca);
	for (int i = 0; i < 4; i++) {
		assert_non_null(lt_module_elf(i % 2 ? a : b));
		assert_true(stats(f).bytes <= ca + cb - 1);
	}
	assert_int_equal(stats(f).reparses, 4);
}

static void test_reparse_after_file_removed(void **state)
{
	struct fixture *f = *state;
	char copy[PATH_MAX];
	struct lt_module *a, *b;
	uint64_t alpha;

	copy_to(f, f->symbols, "gone", copy);
	lt_module_cache_set_limit(&f->cache, 1);
	a = module_of(f, copy);
	b = module_of(f, f->cfi);
	alpha = alpha_vaddr(lt_module_elf(a));
	assert_non_null(lt_module_elf(b));
	assert_int_equal(stats(f).evictions, 1);
	/* The kept descriptor still reads it, as after its process exited. */
	assert_int_equal(unlink(copy), 0);
	assert_int_equal(alpha_vaddr(lt_module_elf(a)), alpha);
	assert_int_equal(stats(f).reparses, 1);
}

static void test_debug_file_kept_across_eviction(void **state)
{
	struct fixture *f = *state;
	char full[PATH_MAX], stripped[PATH_MAX], debug[PATH_MAX], cmd[PATH_MAX * 2];
	struct lt_elf_file *dbg;
	struct lt_module *a, *b;
	const char *file;
	int line;

	copy_to(f, f->symbols, "full", full);
	snprintf(stripped, sizeof(stripped), "%s/stripped", f->tmpdir);
	snprintf(debug, sizeof(debug), "%s/full.debug", f->tmpdir);
	/* The debuglink names full.debug, found next to the stripped file. */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && objcopy --only-keep-debug full full.debug && "
		 "objcopy --strip-debug --add-gnu-debuglink=full.debug full stripped", f->tmpdir);
	assert_int_equal(system(cmd), 0);

	lt_module_cache_set_limit(&f->cache, 1);
	a = module_of(f, stripped);
	b = module_of(f, f->cfi);
	alpha_vaddr(lt_module_elf(a));
	dbg = lt_module_debug(a);
	assert_non_null(dbg);
	assert_int_equal(lt_elf_source_line(dbg, alpha_vaddr(dbg), &file, &line), 0);
	assert_non_null(lt_module_elf(b));
	assert_null(lt_module_debug(a)); /* unloaded */
	/* Gone from its place: the descriptor kept at eviction still reads it. */
	assert_int_equal(unlink(debug), 0);
	alpha_vaddr(lt_module_elf(a));
	dbg = lt_module_debug(a);
	assert_non_null(dbg);
	assert_int_equal(lt_elf_source_line(dbg, alpha_vaddr(dbg), &file, &line), 0);
	assert_int_equal(stats(f).reparses, 1);
}

static void test_not_elf(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct lt_module *mod;

	snprintf(path, sizeof(path), "%s/text", f->tmpdir);
	test_write_file(path, "not an ELF file\n", 16, 0700);
	mod = module_of(f, path);
	assert_null(lt_module_elf(mod));
	assert_null(lt_module_elf(mod));
	assert_null(lt_module_debug(mod));
	assert_string_equal(lt_module_build_id(mod), "");
	assert_int_equal(stats(f).parses, 0);
	assert_int_equal(stats(f).loaded, 0);
}

static void test_unopened_module(void **state)
{
	struct fixture *f = *state;
	struct lt_mapping m = {
		.start = 0x1000,
		.end = 0x2000,
		.inode = 1,
		.path = "/nonexistent/leaktrace-test",
	};
	struct lt_module *mod = lt_module_for_mapping(&f->cache, getpid(), &m);

	assert_non_null(mod);
	assert_int_equal(mod->fd, -1);
	assert_null(lt_module_elf(mod));
	assert_false(mod->parsed);
	assert_string_equal(lt_module_build_id(mod), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_build_id_parsed_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_build_id_not_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_cap_evicts_and_reparses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_stay_under_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reparse_after_file_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_file_kept_across_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_elf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unopened_module, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
