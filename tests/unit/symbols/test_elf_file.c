// SPDX-License-Identifier: MIT
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
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

#include "test_files.h"

#include "symbols/elf_file.h"
#include "attach/proc_maps.h"

#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"

/* Lines of the LINE markers in tests/unit/fixtures/symbols_fixture.c. */
#define ALPHA_ENTRY_LINE 11
#define ALPHA_LAST_LINE 13
#define LOCAL_ENTRY_LINE 16
#define BETA_ENTRY_LINE 21
/* lt_fixture_nosize: ret + 29 bytes, alone in its section. */
#define NOSIZE_SECTION_SIZE 30

struct fixture {
	char path[PATH_MAX];
	char tmpdir[PATH_MAX];
	unsigned char *bytes;
	size_t len;
	struct lt_elf_file *ef;
};



static int setup(void **state)
{
	const char *dir = getenv("LT_FIXTURE_DIR");
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!dir) {
		fprintf(stderr, "LT_FIXTURE_DIR is not set\n");
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/symbols_fixture", dir);
	snprintf(f->tmpdir, sizeof(f->tmpdir), "/tmp/lt_elf_test.XXXXXX");
	f->bytes = test_slurp(f->path, &f->len);
	if (!f->bytes || !mkdtemp(f->tmpdir) || lt_elf_open_path(f->path, &f->ef)) {
		fprintf(stderr, "cannot load fixture %s\n", f->path);
		free(f->bytes);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	lt_elf_close(f->ef);
	rmdir(f->tmpdir);
	free(f->bytes);
	free(f);
	return 0;
}

static struct lt_elf_symbol find(const struct lt_elf_file *ef, const char *name)
{
	struct lt_elf_symbol s;

	assert_int_equal(lt_elf_find_function(ef, name, &s), 0);
	assert_non_null(s.name);
	assert_int_not_equal(s.vaddr, 0);
	return s;
}

static void assert_build_id_hex40(const char *id)
{
	size_t i;

	assert_int_equal(strlen(id), 40);
	for (i = 0; i < 40; i++)
		assert_non_null(strchr("0123456789abcdef", id[i]));
}

static void test_fixture_basics(void **state)
{
	struct fixture *f = *state;

	assert_true(lt_elf_is_dyn(f->ef));
	assert_build_id_hex40(lt_elf_build_id(f->ef));
	assert_true(lt_elf_symbol_count(f->ef) >= 5);
}

static void test_fixture_symbols(void **state)
{
	struct fixture *f = *state;
	struct lt_elf_symbol alpha = find(f->ef, "lt_fixture_alpha");
	struct lt_elf_symbol local = find(f->ef, "lt_fixture_local");
	struct lt_elf_symbol beta = find(f->ef, "lt_fixture_beta");
	struct lt_elf_symbol nosize = find(f->ef, "lt_fixture_nosize");
	struct lt_elf_symbol s, main_sym = find(f->ef, "main");
	const struct lt_elf_symbol *at;

	assert_string_equal(alpha.name, "lt_fixture_alpha");
	assert_true(alpha.size > 0);
	assert_true(local.size > 0);
	assert_true(beta.size > 0);
	assert_int_equal(nosize.size, 0);
	assert_true(main_sym.vaddr != alpha.vaddr);

	/* A version suffix in the query is ignored, a prefix is not a match. */
	assert_int_equal(lt_elf_find_function(f->ef, "lt_fixture_alpha@@LT_1", &s), 0);
	assert_int_equal(s.vaddr, alpha.vaddr);
	assert_int_equal(lt_elf_find_function(f->ef, "lt_fixture_alph", &s), -ENOENT);
	assert_int_equal(lt_elf_find_function(f->ef, "lt_fixture_alpha_", &s), -ENOENT);
	assert_int_equal(lt_elf_find_function(f->ef, "no_such_function", &s), -ENOENT);
	assert_int_equal(lt_elf_find_function(f->ef, "", &s), -ENOENT);

	at = lt_elf_symbol_at(f->ef, alpha.vaddr);
	assert_non_null(at);
	assert_string_equal(at->name, "lt_fixture_alpha");
	at = lt_elf_symbol_at(f->ef, alpha.vaddr + alpha.size - 1);
	assert_non_null(at);
	assert_string_equal(at->name, "lt_fixture_alpha");
	at = lt_elf_symbol_at(f->ef, alpha.vaddr + alpha.size);
	assert_true(!at || strcmp(at->name, "lt_fixture_alpha"));
	at = lt_elf_symbol_at(f->ef, local.vaddr + 1);
	assert_non_null(at);
	assert_string_equal(at->name, "lt_fixture_local");

	/* Size 0: up to the end of its section, not to the next symbol beyond. */
	at = lt_elf_symbol_at(f->ef, nosize.vaddr + NOSIZE_SECTION_SIZE - 1);
	assert_non_null(at);
	assert_string_equal(at->name, "lt_fixture_nosize");
	assert_null(lt_elf_symbol_at(f->ef, nosize.vaddr + NOSIZE_SECTION_SIZE));

	assert_null(lt_elf_symbol_at(f->ef, 0));
	assert_null(lt_elf_symbol_at(f->ef, UINT64_MAX));
}

static void assert_line(struct lt_elf_file *ef, uint64_t vaddr, int want)
{
	const char *file = NULL, *suffix = "/symbols_fixture.c";
	int line = 0;

	assert_int_equal(lt_elf_source_line(ef, vaddr, &file, &line), 0);
	assert_non_null(file);
	assert_true(strlen(file) >= strlen(suffix));
	assert_string_equal(file + strlen(file) - strlen(suffix), suffix);
	assert_int_equal(line, want);
}

static void test_fixture_source_lines(void **state)
{
	struct fixture *f = *state;
	struct lt_elf_symbol alpha = find(f->ef, "lt_fixture_alpha");
	const char *file;
	int line;

	assert_line(f->ef, alpha.vaddr, ALPHA_ENTRY_LINE);
	assert_line(f->ef, alpha.vaddr + alpha.size - 1, ALPHA_LAST_LINE);
	assert_line(f->ef, find(f->ef, "lt_fixture_local").vaddr, LOCAL_ENTRY_LINE);
	assert_line(f->ef, find(f->ef, "lt_fixture_beta").vaddr, BETA_ENTRY_LINE);
	assert_int_equal(lt_elf_source_line(f->ef, 0x10, &file, &line), -ENOENT);
}

static void test_fixture_offsets(void **state)
{
	struct fixture *f = *state;
	struct lt_elf_symbol alpha = find(f->ef, "lt_fixture_alpha");
	uint64_t off, vaddr;

	assert_int_equal(lt_elf_vaddr_to_offset(f->ef, alpha.vaddr, &off), 0);
	assert_true(off < f->len);
	assert_int_equal(lt_elf_offset_to_vaddr(f->ef, off, &vaddr), 0);
	assert_int_equal(vaddr, alpha.vaddr);
#if defined(__x86_64__)
	/* gcc -O0 with a frame pointer starts every function with push %rbp. */
	assert_int_equal(f->bytes[off], 0x55);
#endif
	assert_int_equal(lt_elf_offset_to_vaddr(f->ef, 0, &vaddr), 0);
	assert_int_equal(vaddr, 0);
	assert_int_equal(lt_elf_vaddr_to_offset(f->ef, 0x7fff00000000, &off), -ENOENT);
	assert_int_equal(lt_elf_offset_to_vaddr(f->ef, f->len + 4096, &vaddr), -ENOENT);
}

/* Symbolization must keep working after the file is deleted (e.g. upgraded). */
static void test_deleted_file(void **state)
{
	struct fixture *f = *state;
	struct lt_elf_symbol alpha;
	struct lt_elf_file *ef;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/copy", f->tmpdir);
	test_write_file(path, f->bytes, f->len, 0600);
	assert_int_equal(lt_elf_open_path(path, &ef), 0);
	assert_int_equal(unlink(path), 0);
	alpha = find(ef, "lt_fixture_alpha");
	assert_line(ef, alpha.vaddr, ALPHA_ENTRY_LINE);
	assert_string_equal(lt_elf_build_id(ef), lt_elf_build_id(f->ef));
	lt_elf_close(ef);
}

/* Objects too, and their initialised bytes from the file (.data). */
static void test_libc_object_symbols(void **state)
{
	struct lt_elf_symbol sym, fn;
	struct lt_elf_file *ef;
	uint32_t flags;
	size_t got;
	(void)state;

	assert_int_equal(lt_elf_open_path(LIBC_PATH, &ef), 0);
	assert_int_equal(lt_elf_find_symbol(ef, "_IO_2_1_stdout_", &sym), 0);
	assert_true(sym.size >= sizeof(flags));
	assert_string_equal(sym.name, "_IO_2_1_stdout_");
	/* FILE._flags starts as _IO_MAGIC (0xfbad0000) plus mode bits. */
	assert_int_equal(lt_elf_read_code(ef, sym.vaddr, &flags, sizeof(flags), &got), 0);
	assert_int_equal(got, sizeof(flags));
	assert_int_equal(flags & 0xffff0000u, 0xfbad0000u);
	/* Functions are found the same way, version suffix ignored. */
	assert_int_equal(lt_elf_find_symbol(ef, "malloc@@GLIBC_2.2.5", &sym), 0);
	assert_int_equal(lt_elf_find_function(ef, "malloc", &fn), 0);
	assert_int_equal(sym.vaddr, fn.vaddr);
	/* Imported (undefined) symbols are not definitions. */
	assert_int_equal(lt_elf_find_symbol(ef, "_dl_argv", &sym), -ENOENT);
	assert_int_equal(lt_elf_find_symbol(ef, "lt_no_such_symbol", &sym), -ENOENT);
	lt_elf_close(ef);
}

static void test_libc(void **state)
{
	struct lt_elf_symbol malloc_sym, free_sym, memcpy_sym;
	const struct lt_elf_symbol *at;
	struct lt_elf_file *ef;
	uint64_t off, vaddr;
	(void)state;

	assert_int_equal(lt_elf_open_path(LIBC_PATH, &ef), 0);
	assert_true(lt_elf_is_dyn(ef));
	assert_build_id_hex40(lt_elf_build_id(ef));

	malloc_sym = find(ef, "malloc");
	free_sym = find(ef, "free");
	memcpy_sym = find(ef, "memcpy");
	assert_true(malloc_sym.size > 0);
	assert_true(free_sym.size > 0);
	assert_int_not_equal(malloc_sym.vaddr, free_sym.vaddr);

	/* Aliases share the address (__libc_malloc); the public name wins. */
	at = lt_elf_symbol_at(ef, malloc_sym.vaddr);
	assert_non_null(at);
	assert_string_equal(at->name, "malloc");
	at = lt_elf_symbol_at(ef, free_sym.vaddr + free_sym.size - 1);
	assert_non_null(at);
	assert_string_equal(at->name, "free");
	at = lt_elf_symbol_at(ef, memcpy_sym.vaddr);
	assert_non_null(at);
	assert_string_equal(at->name, "memcpy");

	assert_int_equal(lt_elf_vaddr_to_offset(ef, malloc_sym.vaddr + 5, &off), 0);
	assert_int_equal(lt_elf_offset_to_vaddr(ef, off, &vaddr), 0);
	assert_int_equal(vaddr, malloc_sym.vaddr + 5);
	lt_elf_close(ef);
}

/* The whole chain used at run time: live address -> mapping -> file offset -> symbol. */
static void test_libc_live_address(void **state)
{
	uint64_t addr = (uint64_t)(uintptr_t)gnu_get_libc_version, vaddr;
	const struct lt_elf_symbol *at;
	const struct lt_mapping *m;
	struct lt_elf_file *ef;
	struct lt_maps maps;
	(void)state;

	assert_int_equal(lt_maps_read(getpid(), &maps), 0);
	m = lt_maps_find(&maps, addr);
	assert_non_null(m);
	assert_non_null(m->path);
	assert_true(m->executable);
	assert_int_equal(lt_elf_open_path(m->path, &ef), 0);
	assert_int_equal(lt_elf_offset_to_vaddr(ef, addr - m->start + m->file_offset, &vaddr), 0);
	at = lt_elf_symbol_at(ef, vaddr);
	assert_non_null(at);
	assert_string_equal(at->name, "gnu_get_libc_version");
	assert_int_equal(at->vaddr, vaddr);
	lt_elf_close(ef);
	lt_maps_free(&maps);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct lt_elf_file *ef = (void *)1;

	assert_int_equal(lt_elf_open_path("/nonexistent/leaktrace", &ef), -ENOENT);
	assert_null(ef);
	assert_int_equal(lt_elf_open_fd(-1, &ef), -EBADF);
	assert_int_equal(lt_elf_open_path(f->tmpdir, &ef), -ENOEXEC);
	assert_int_equal(lt_elf_open_path("/dev/null", &ef), -ENOEXEC);
}

static void expect_rejected(struct fixture *f, const void *buf, size_t len)
{
	struct lt_elf_file *ef = (void *)1;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/corrupt", f->tmpdir);
	test_write_file(path, buf, len, 0600);
	assert_int_equal(lt_elf_open_path(path, &ef), -ENOEXEC);
	assert_null(ef);
	unlink(path);
}

static void test_corrupt_truncated(void **state)
{
	struct fixture *f = *state;

	expect_rejected(f, "", 0);
	expect_rejected(f, f->bytes, 4);
	expect_rejected(f, f->bytes, 100);
	expect_rejected(f, f->bytes, 4096);
	expect_rejected(f, f->bytes, f->len - 1);
}

static void test_corrupt_random(void **state)
{
	struct fixture *f = *state;
	unsigned char buf[8192];
	size_t i;

	srand(12345);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rand();
	expect_rejected(f, buf, sizeof(buf));
	/* Valid magic and class, garbage after. */
	memcpy(buf, f->bytes, EI_NIDENT);
	expect_rejected(f, buf, sizeof(buf));
}

static void expect_header_rejected(struct fixture *f, size_t field_off, uint64_t value,
				   size_t width)
{
	unsigned char *copy = malloc(f->len);

	assert_non_null(copy);
	memcpy(copy, f->bytes, f->len);
	memcpy(copy + field_off, &value, width); /* host and fixture are both little-endian */
	expect_rejected(f, copy, f->len);
	free(copy);
}

static void test_corrupt_headers(void **state)
{
	struct fixture *f = *state;
	const Elf64_Ehdr *eh = (const void *)f->bytes;

	assert_int_equal(eh->e_ident[EI_CLASS], ELFCLASS64);
	expect_header_rejected(f, offsetof(Elf64_Ehdr, e_phoff), 0x7fffffffffff0000ull, 8);
	expect_header_rejected(f, offsetof(Elf64_Ehdr, e_phoff), UINT64_MAX - 8, 8);
	expect_header_rejected(f, offsetof(Elf64_Ehdr, e_shoff), 0x7fffffffffff0000ull, 8);
	expect_header_rejected(f, offsetof(Elf64_Ehdr, e_shoff), UINT64_MAX - 8, 8);
	expect_header_rejected(f, offsetof(Elf64_Ehdr, e_shoff), f->len - 10, 8);
	expect_header_rejected(f, offsetof(Elf64_Ehdr, e_phnum), 0xfff0, 2);
	expect_header_rejected(f, offsetof(Elf64_Ehdr, e_shnum), 0xfff0, 2);
	expect_header_rejected(f, offsetof(Elf64_Ehdr, e_phentsize), 7, 2);
}

/* File offset of the last byte of a named section in the fixture, or 0. */
static size_t section_last_byte(const struct fixture *f, const char *want)
{
	const Elf64_Ehdr *eh = (const void *)f->bytes;
	const Elf64_Shdr *sh, *strtab;
	size_t i;

	assert_true(eh->e_shoff + (size_t)eh->e_shnum * sizeof(*sh) <= f->len);
	sh = (const void *)(f->bytes + eh->e_shoff);
	strtab = &sh[eh->e_shstrndx];
	for (i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_name >= strtab->sh_size || !sh[i].sh_size)
			continue;
		if (!strcmp((const char *)f->bytes + strtab->sh_offset + sh[i].sh_name, want))
			return sh[i].sh_offset + sh[i].sh_size - 1;
	}
	return 0;
}

/* libdw would strlen() past an unterminated string section; DWARF must be refused. */
static void test_corrupt_dwarf_strings(void **state)
{
	static const char *const sections[] = { ".debug_line_str", ".debug_str" };
	struct fixture *f = *state;
	unsigned char *copy = malloc(f->len);
	char path[PATH_MAX + 32];
	struct lt_elf_symbol alpha;
	struct lt_elf_file *ef;
	const char *file;
	size_t i, last;
	int line;

	assert_non_null(copy);
	snprintf(path, sizeof(path), "%s/strings", f->tmpdir);
	for (i = 0; i < 2; i++) {
		last = section_last_byte(f, sections[i]);
		assert_int_not_equal(last, 0);
		memcpy(copy, f->bytes, f->len);
		assert_int_equal(copy[last], 0);
		memset(copy + last - 7, 'X', 8);
		test_write_file(path, copy, f->len, 0600);
		assert_int_equal(lt_elf_open_path(path, &ef), 0);
		alpha = find(ef, "lt_fixture_alpha");
		assert_int_equal(lt_elf_source_line(ef, alpha.vaddr, &file, &line), -ENOENT);
		lt_elf_close(ef);
	}
	unlink(path);
	free(copy);
}

static void exercise(struct lt_elf_file *ef)
{
	struct lt_elf_symbol s;
	const char *file;
	uint64_t v;
	int line;

	lt_elf_build_id(ef);
	if (lt_elf_find_function(ef, "lt_fixture_alpha", &s))
		return;
	lt_elf_symbol_at(ef, s.vaddr);
	lt_elf_vaddr_to_offset(ef, s.vaddr, &v);
	lt_elf_offset_to_vaddr(ef, v, &v);
	lt_elf_source_line(ef, s.vaddr, &file, &line);
}

/* Random byte flips: any outcome is fine except a crash or a sanitizer report. */
static void test_corrupt_mutations(void **state)
{
	struct fixture *f = *state;
	unsigned char *copy = malloc(f->len);
	char path[PATH_MAX + 32];
	struct lt_elf_file *ef;
	int iter, k, err, opened = 0;
	size_t pos;

	assert_non_null(copy);
	snprintf(path, sizeof(path), "%s/mutant", f->tmpdir);
	srand(4242);
	for (iter = 0; iter < 400; iter++) {
		memcpy(copy, f->bytes, f->len);
		for (k = 0; k < 1 + iter % 8; k++) {
			pos = (size_t)rand() % f->len;
			copy[pos] = (unsigned char)rand();
		}
		test_write_file(path, copy, f->len, 0600);
		err = lt_elf_open_path(path, &ef);
		if (err) {
			assert_int_equal(err, -ENOEXEC);
			continue;
		}
		opened++;
		exercise(ef);
		lt_elf_close(ef);
	}
	unlink(path);
	free(copy);
	/* Most single flips hit bytes nothing reads at open time. */
	assert_true(opened > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_basics),
		cmocka_unit_test(test_fixture_symbols),
		cmocka_unit_test(test_fixture_source_lines),
		cmocka_unit_test(test_fixture_offsets),
		cmocka_unit_test(test_deleted_file),
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_libc_object_symbols),
		cmocka_unit_test(test_libc_live_address),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_corrupt_truncated),
		cmocka_unit_test(test_corrupt_random),
		cmocka_unit_test(test_corrupt_headers),
		cmocka_unit_test(test_corrupt_dwarf_strings),
		cmocka_unit_test(test_corrupt_mutations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
