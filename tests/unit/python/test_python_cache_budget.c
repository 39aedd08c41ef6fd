// SPDX-License-Identifier: MIT
/*
 * The code-object cache of python_code.c holds at most a budget of line
 * tables: a traced process decides how many code objects it makes and how
 * long their tables are (up to LT_PY_TABLE_MAX each). Fake objects are built
 * in this process and read back through process_vm_readv with our own pid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "python/python_code.h"
#include "python/python_layout.h"
#include "python/python_memory.h"

/* More table bytes than the cache keeps (64 MiB). */
#define BIG_TABLES 70
#define MINOR 9 /* co_lnotab: (addr_incr, line_incr) pairs */

struct fake_code {
	uint8_t header[256];
	uint8_t *name, *table;
};

static void put64(uint8_t *obj, size_t off, uint64_t v)
{
	memcpy(obj + off, &v, sizeof(v));
}

static uint8_t *make_ascii(const struct lt_py_version_info *info, const char *s)
{
	size_t n = strlen(s);
	uint8_t *obj = calloc(1, info->str_ascii_data + n + 1);
	uint32_t state = (1u << 2) | (1u << 5) | (1u << 6); /* 1 byte, compact, ascii */

	assert_non_null(obj);
	put64(obj, LT_PY_STR_LENGTH, n);
	memcpy(obj + LT_PY_STR_STATE, &state, sizeof(state));
	memcpy(obj + info->str_ascii_data, s, n);
	return obj;
}

/* A code object whose table puts every offset on firstlineno + 1. */
static void make_code(struct fake_code *c, const struct lt_py_version_info *info, size_t table_len)
{
	memset(c, 0, sizeof(*c));
	c->name = make_ascii(info, "f");
	c->table = calloc(1, LT_PY_BYTES_DATA + table_len);
	assert_non_null(c->table);
	put64(c->table, LT_PY_BYTES_SIZE, table_len);
	c->table[LT_PY_BYTES_DATA + 1] = 1; /* (0, +1) */
	memcpy(c->header + info->co_firstlineno, &(int32_t){ 10 }, sizeof(int32_t));
	put64(c->header, (size_t)info->co_filename, (uint64_t)(uintptr_t)c->name);
	put64(c->header, (size_t)info->co_name, (uint64_t)(uintptr_t)c->name);
	put64(c->header, (size_t)info->co_linetable, (uint64_t)(uintptr_t)c->table);
}

static void free_code(struct fake_code *c)
{
	free(c->name);
	free(c->table);
}

static int line_of(struct lt_py_reader *r, const struct fake_code *c)
{
	struct lt_py_location loc;

	assert_int_equal(lt_py_resolve_frame(r, (uint64_t)(uintptr_t)c->header, 0, &loc), 0);
	return loc.line;
}

static void test_tables_past_budget_are_dropped(void **state)
{
	const struct lt_py_version_info *info = lt_py_version_info(MINOR);
	struct fake_code small, *big = calloc(BIG_TABLES, sizeof(*big));
	struct lt_py_reader r;

	(void)state;
	assert_non_null(big);
	assert_int_equal(lt_py_reader_init(&r, getpid(), MINOR, 0), 0);
	make_code(&small, info, 2);
	assert_int_equal(line_of(&r, &small), 11);
	/* Changed in place, same object: the cache still answers 11. */
	small.table[LT_PY_BYTES_DATA + 1] = 2;
	assert_int_equal(line_of(&r, &small), 11);
	for (int i = 0; i < BIG_TABLES; i++) {
		make_code(&big[i], info, LT_PY_TABLE_MAX);
		assert_int_equal(line_of(&r, &big[i]), 11);
	}
	/* Past the budget the cache started over, so the table is read anew. */
	assert_int_equal(line_of(&r, &small), 12);
	lt_py_reader_free(&r);
	for (int i = 0; i < BIG_TABLES; i++)
		free_code(&big[i]);
	free(big);
	free_code(&small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_past_budget_are_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
