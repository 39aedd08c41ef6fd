// SPDX-License-Identifier: MIT
/*
 * The object allocator's functions, found from PyObject_Malloc's code and
 * the table's relocated contents alone, must be the very functions the
 * pyenv builds' symbol tables name (_PyObject_Malloc & co). Debian's
 * python3.11 has no such names; there the finder must say that callers
 * carry inlined copies, and the table must point into the executable;
 * before each function there must be an alias: bytes that capstone decodes
 * as no-ops only, ending exactly at the function. The memory domain's
 * table starts out with the same functions (pymalloc) on every build.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <capstone/capstone.h>
#include <cmocka.h>

#include "symbols/elf_file.h"
#include "python/python_allocator.h"

#define PYENV "/root/.pyenv/versions/"

static const char *const default_names[LT_PY_ALLOC_COUNT] = {
	"_PyObject_Malloc", "_PyObject_Calloc", "_PyObject_Realloc", "_PyObject_Free",
};

/* The interpreter file at path and its allocator (skipped when absent). */
static struct lt_elf_file *open_allocator(const char *path, struct lt_py_allocator *a)
{
	struct lt_elf_symbol runtime;
	struct lt_elf_file *ef;

	if (access(path, R_OK))
		skip();
	assert_int_equal(lt_elf_open_path(path, &ef), 0);
	assert_int_equal(lt_elf_find_symbol(ef, "_PyRuntime", &runtime), 0);
	assert_int_equal(lt_py_find_allocator(ef, runtime.vaddr, a), 0);
	return ef;
}

static void check_pyenv(const char *version, const char *lib)
{
	char path[256];
	struct lt_elf_file *ef;
	struct lt_elf_symbol sym;
	struct lt_py_allocator a;

	snprintf(path, sizeof(path), PYENV "%s/lib/%s", version, lib);
	ef = open_allocator(path, &a);
	assert_false(a.inlined);
	for (int i = 0; i < LT_PY_ALLOC_COUNT; i++) {
		assert_int_equal(lt_elf_find_function(ef, default_names[i], &sym), 0);
		assert_int_equal(a.fn[i], sym.vaddr);
	}
	assert_true(a.mem_table != 0 && a.mem_table != a.table);
	lt_elf_close(ef);
}

static void test_pyenv_38(void **state) { (void)state; check_pyenv("3.8.18", "libpython3.8.so.1.0"); }
static void test_pyenv_39(void **state) { (void)state; check_pyenv("3.9.18", "libpython3.9.so.1.0"); }
static void test_pyenv_310(void **state) { (void)state; check_pyenv("3.10.13", "libpython3.10.so.1.0"); }
static void test_pyenv_311(void **state) { (void)state; check_pyenv("3.11.7", "libpython3.11.so.1.0"); }
static void test_pyenv_312(void **state) { (void)state; check_pyenv("3.12.1", "libpython3.12.so.1.0"); }
static void test_pyenv_313(void **state) { (void)state; check_pyenv("3.13.0", "libpython3.13.so.1.0"); }

static void test_debian_311_inlined(void **state)
{
	struct lt_elf_symbol malloc_sym;
	struct lt_py_allocator a;
	struct lt_elf_file *ef;

	(void)state;
	ef = open_allocator("/usr/bin/python3.11", &a);
	assert_true(a.inlined);
	/* The default malloc is not the exported wrapper, and the free and
	 * malloc slots are the same struct's. */
	assert_int_equal(lt_elf_find_function(ef, "PyObject_Malloc", &malloc_sym), 0);
	for (int i = 0; i < LT_PY_ALLOC_COUNT; i++) {
		assert_true(a.fn[i] != 0);
		assert_true(a.fn[i] != malloc_sym.vaddr);
	}
	lt_elf_close(ef);
}

/* What runs from alias to fn: no-ops only, ending exactly at fn. */
static void check_alias(const struct lt_elf_file *ef, uint64_t alias, uint64_t fn)
{
	uint8_t code[16];
	const uint8_t *p = code;
	uint64_t addr = alias;
	size_t got, left;
	cs_insn *insn;
	csh cs;

	assert_true(alias < fn && fn - alias < 16);
	assert_int_equal(lt_elf_read_code(ef, alias, code, fn - alias, &got), 0);
	assert_int_equal(got, fn - alias);
	left = got;
	assert_int_equal(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
	insn = cs_malloc(cs);
	while (left) {
		assert_true(cs_disasm_iter(cs, &p, &left, &addr, insn));
		if (strcmp(insn->mnemonic, "nop") && strcmp(insn->op_str, "ax, ax"))
			fail_msg("%s %s at %#llx before %#llx", insn->mnemonic, insn->op_str,
				 (unsigned long long)insn->address, (unsigned long long)fn);
	}
	assert_int_equal(addr, fn);
	cs_free(insn, 1);
	cs_close(&cs);
}

static void test_debian_311_aliases(void **state)
{
	struct lt_py_allocator a;
	struct lt_elf_file *ef;

	(void)state;
	ef = open_allocator("/usr/bin/python3.11", &a);
	for (int i = 0; i < LT_PY_ALLOC_COUNT; i++)
		check_alias(ef, a.alias[i], a.fn[i]);
	/* PyMem_Malloc's table: list item arrays and other buffers. */
	assert_true(a.mem_table != 0 && a.mem_table != a.table);
	lt_elf_close(ef);
}

static void test_not_python(void **state)
{
	struct lt_elf_file *ef;
	struct lt_py_allocator a;

	(void)state;
	assert_int_equal(lt_elf_open_path("/bin/true", &ef), 0);
	assert_int_equal(lt_py_find_allocator(ef, 0, &a), -ENOENT);
	lt_elf_close(ef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pyenv_38),
		cmocka_unit_test(test_pyenv_39),
		cmocka_unit_test(test_pyenv_310),
		cmocka_unit_test(test_pyenv_311),
		cmocka_unit_test(test_pyenv_312),
		cmocka_unit_test(test_pyenv_313),
		cmocka_unit_test(test_debian_311_inlined),
		cmocka_unit_test(test_debian_311_aliases),
		cmocka_unit_test(test_not_python),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
