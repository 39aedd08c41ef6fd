// SPDX-License-Identifier: MIT
/*
 * Python code objects: the line-table decoders against tables and lines
 * taken from real interpreters (python_line_tables.h), and the reader
 * against fake str / bytes / code / type objects built in this process's
 * own memory and read back through process_vm_readv with pid = getpid().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "python/python_code.h"
#include "python/python_layout.h"
#include "python_line_tables.h"
#include "python/python_lines.h"
#include "python/python_memory.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- line tables --- */

struct real_table {
	const char *what;
	enum lt_py_lines_kind kind;
	const uint8_t *table;
	size_t len;
	int first;
	const int *lines; /* lines[i]: byte offset 2 * i */
	size_t nlines;
};

#define REAL(tag, TAG, fn, FN, k)                                                         \
	{ #tag "_" #fn, k, tag##_##fn##_table, sizeof(tag##_##fn##_table), TAG##_##FN##_FIRST, \
	  tag##_##fn##_lines, N(tag##_##fn##_lines) }
#define REAL_ALL(tag, TAG, k)                                                      \
	REAL(tag, TAG, simple, SIMPLE, k), REAL(tag, TAG, loop, LOOP, k),              \
	REAL(tag, TAG, far, FAR, k), REAL(tag, TAG, multiline, MULTILINE, k),          \
	REAL(tag, TAG, tryexcept, TRYEXCEPT, k)

static const struct real_table real_tables[] = {
	REAL_ALL(py38, PY38, LT_PY_LINES_LNOTAB),     REAL_ALL(py39, PY39, LT_PY_LINES_LNOTAB),
	REAL_ALL(py310, PY310, LT_PY_LINES_310),      REAL_ALL(py311, PY311, LT_PY_LINES_LOCATIONS),
	REAL_ALL(py312, PY312, LT_PY_LINES_LOCATIONS), REAL_ALL(py313, PY313, LT_PY_LINES_LOCATIONS),
};

static void test_real_tables_match_cpython(void **state)
{
	const struct real_table *t;
	size_t i, j;
	int got;
	(void)state;

	for (i = 0; i < N(real_tables); i++) {
		t = &real_tables[i];
		for (j = 0; j < t->nlines; j++) {
			got = lt_py_line_decode(t->kind, t->table, t->len, t->first, (int64_t)(2 * j));
			if (got != t->lines[j])
				fail_msg("%s offset %zu: got %d, CPython says %d", t->what, 2 * j, got,
					 t->lines[j]);
		}
		/* A frame that has not started yet: CPython answers co_firstlineno. */
		assert_int_equal(lt_py_line_decode(t->kind, t->table, t->len, t->first, -1),
				 t->first);
		assert_int_equal(lt_py_line_decode(t->kind, t->table, t->len, t->first, -2),
				 t->first);
	}
}

static void test_past_the_end(void **state)
{
	(void)state;
	/* 3.10+ tables end with the code: no line after it. */
	assert_int_equal(lt_py_line_310(py310_loop_table, sizeof(py310_loop_table),
					PY310_LOOP_FIRST, 100000), -1);
	assert_int_equal(lt_py_line_locations(py312_loop_table, sizeof(py312_loop_table),
					      PY312_LOOP_FIRST, 100000), -1);
	/* co_lnotab only records changes: the last line goes on. */
	assert_int_equal(lt_py_line_lnotab(py38_loop_table, sizeof(py38_loop_table),
					   PY38_LOOP_FIRST, 100000), 14);
	/* The odd byte in 3.11+ (offset 2k+1) belongs to unit k. */
	assert_int_equal(lt_py_line_locations(py311_far_table, sizeof(py311_far_table),
					      PY311_FAR_FIRST, 7), py311_far_lines[3]);
}

static void test_310_no_line_ranges(void **state)
{
	/* Hand-made: 4 bytes at +1, 2 bytes without a line, 6 bytes at +2 more
	 * (the no-line range does not move the running line), empty range +5. */
	static const uint8_t t[] = { 4, 1, 2, 0x80, 6, 2, 0, 5, 2, 0 };
	(void)state;

	assert_int_equal(lt_py_line_310(t, sizeof(t), 10, 0), 11);
	assert_int_equal(lt_py_line_310(t, sizeof(t), 10, 3), 11);
	assert_int_equal(lt_py_line_310(t, sizeof(t), 10, 4), -1);
	assert_int_equal(lt_py_line_310(t, sizeof(t), 10, 5), -1);
	assert_int_equal(lt_py_line_310(t, sizeof(t), 10, 6), 13);
	assert_int_equal(lt_py_line_310(t, sizeof(t), 10, 11), 13);
	/* The empty range's +5 applies to what follows. */
	assert_int_equal(lt_py_line_310(t, sizeof(t), 10, 12), 18);
	assert_int_equal(lt_py_line_310(t, sizeof(t), 10, 14), -1);
}

static void test_locations_hand_made(void **state)
{
	static const uint8_t t[] = {
		0x80 | (13 << 3) | 0, 0x05,       /* no column, line += -2, 1 unit */
		0x80 | (15 << 3) | 1,             /* no location, 2 units */
		0x80 | (11 << 3) | 0, 1, 2,       /* one-line form: line += 1 */
		0x80 | (14 << 3) | 2, 0x44, 0x02, /* long form: svarint 4+2*64=132 -> +66 */
		0, 1, 1,                          /* end line, columns */
		0x80 | (3 << 3) | 0, 7,           /* short form: same line */
	};
	(void)state;

	assert_int_equal(lt_py_line_locations(t, sizeof(t), 100, 0), 98);
	assert_int_equal(lt_py_line_locations(t, sizeof(t), 100, 2), -1);
	assert_int_equal(lt_py_line_locations(t, sizeof(t), 100, 4), -1);
	assert_int_equal(lt_py_line_locations(t, sizeof(t), 100, 6), 99);
	assert_int_equal(lt_py_line_locations(t, sizeof(t), 100, 8), 165);
	assert_int_equal(lt_py_line_locations(t, sizeof(t), 100, 12), 165);
	assert_int_equal(lt_py_line_locations(t, sizeof(t), 100, 14), 165);
	assert_int_equal(lt_py_line_locations(t, sizeof(t), 100, 16), -1);
}

static void test_malformed_tables(void **state)
{
	/* A continuation byte where a header belongs. */
	static const uint8_t no_header[] = { 0x05, 0x80 | (13 << 3), 0x02 };
	/* A varint that never ends within 32 bits. */
	static const uint8_t endless[] = { 0x80 | (13 << 3), 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01 };
	/* Lines driven below zero. */
	static const uint8_t negative[] = { 2, 0x80 };
	(void)state;

	assert_int_equal(lt_py_line_locations(no_header, sizeof(no_header), 1, 0), -1);
	assert_int_equal(lt_py_line_locations(endless, sizeof(endless), 1, 0), -1);
	assert_int_equal(lt_py_line_lnotab(negative, sizeof(negative), 1, 4), -1);
	assert_int_equal(lt_py_line_locations(NULL, 0, 1, 0), -1);
	assert_int_equal(lt_py_line_310(NULL, 0, 1, 0), -1);
	assert_int_equal(lt_py_line_lnotab(NULL, 0, 7, 0), 7);
	assert_int_equal(lt_py_line_decode((enum lt_py_lines_kind)99, NULL, 0, 1, 0), -1);
}

/* Every prefix of every real table, copied to a buffer of exactly that
 * size: ASan catches a decoder reading past the end. */
static void test_truncated_tables_never_overread(void **state)
{
	const struct real_table *t;
	size_t i, cut, j;
	uint8_t *copy;
	int line;
	(void)state;

	for (i = 0; i < N(real_tables); i++) {
		t = &real_tables[i];
		for (cut = 0; cut < t->len; cut++) {
			copy = malloc(cut ? cut : 1);
			assert_non_null(copy);
			memcpy(copy, t->table, cut);
			for (j = 0; j <= t->nlines; j++) {
				line = lt_py_line_decode(t->kind, copy, cut, t->first, (int64_t)(2 * j));
				assert_true(line >= -1);
			}
			free(copy);
		}
	}
}

/* --- fake objects --- */

static void put64(uint8_t *obj, size_t off, uint64_t v)
{
	memcpy(obj + off, &v, sizeof(v));
}

static void put32(uint8_t *obj, size_t off, uint32_t v)
{
	memcpy(obj + off, &v, sizeof(v));
}

static uint64_t addr_of(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* A compact str: kind 1/2/4, ascii or not, characters right after the
 * header, and junk in the state's padding bits as real ones have. */
static uint8_t *make_str(const struct lt_py_version_info *info, const void *chars, size_t n,
			 unsigned kind, int ascii)
{
	size_t data = ascii ? info->str_ascii_data : info->str_compact_data;
	uint8_t *o = calloc(1, data + n * kind + 4);
	uint32_t st = (kind << 2) | (1u << 5) | ((ascii ? 1u : 0u) << 6) | (1u << 7);

	assert_non_null(o);
	put64(o, LT_PY_STR_LENGTH, n);
	put32(o, LT_PY_STR_STATE, st | 0x20206b00u);
	memcpy(o + data, chars, n * kind);
	return o;
}

static uint8_t *make_ascii(const struct lt_py_version_info *info, const char *s)
{
	return make_str(info, s, strlen(s), 1, 1);
}

static uint8_t *make_bytes(const void *data, size_t n)
{
	uint8_t *o = calloc(1, LT_PY_BYTES_DATA + n + 1);

	assert_non_null(o);
	put64(o, LT_PY_BYTES_SIZE, n);
	memcpy(o + LT_PY_BYTES_DATA, data, n);
	return o;
}

static void expect_str(const struct lt_py_version_info *info, const uint8_t *obj,
		       const char *want)
{
	char *s = NULL;

	assert_int_equal(lt_py_read_str(getpid(), info, addr_of(obj), &s), 0);
	assert_string_equal(s, want);
	free(s);
}

static void test_str_kinds(void **state)
{
	static const uint8_t latin1[] = { 'h', 0xe9, 'l', 'l', 'o' };
	static const uint16_t ucs2[] = { 0x127, 'x' };
	static const uint32_t ucs4[] = { 0x1f600, 'y' };
	static const uint32_t ucs4_bad[] = { 0x110000, 0xd800, 0, 'z' };
	uint32_t minors[] = { 8, 11, 12, 13 };
	const struct lt_py_version_info *info;
	uint8_t *o;
	size_t i;
	(void)state;

	for (i = 0; i < N(minors); i++) {
		info = lt_py_version_info(minors[i]);
		assert_non_null(info);
		o = make_ascii(info, "ascii_name");
		expect_str(info, o, "ascii_name");
		free(o);
		o = make_str(info, latin1, N(latin1), 1, 0);
		expect_str(info, o, "h\xc3\xa9llo");
		free(o);
		o = make_str(info, ucs2, N(ucs2), 2, 0);
		expect_str(info, o, "\xc4\xa7x");
		free(o);
		o = make_str(info, ucs4, N(ucs4), 4, 0);
		expect_str(info, o, "\xf0\x9f\x98\x80y");
		free(o);
		/* Not characters, and a NUL: replaced, the string stays one C string. */
		o = make_str(info, ucs4_bad, N(ucs4_bad), 4, 0);
		expect_str(info, o, "\xef\xbf\xbd\xef\xbf\xbd?z");
		free(o);
		o = make_ascii(info, "a\xc3\xa9");
		expect_str(info, o, "a??");
		free(o);
		o = make_str(info, "", 0, 1, 1);
		expect_str(info, o, "");
		free(o);
	}
}

static void test_str_bad_input(void **state)
{
	const struct lt_py_version_info *info = lt_py_version_info(12);
	char *long_name, *s = (char *)1;
	uint8_t *o;
	(void)state;

	o = make_ascii(info, "abc");
	put32(o, LT_PY_STR_STATE, (1u << 2) | (1u << 6)); /* not compact */
	assert_int_equal(lt_py_read_str(getpid(), info, addr_of(o), &s), -EINVAL);
	assert_null(s);
	put32(o, LT_PY_STR_STATE, (3u << 2) | (1u << 5)); /* kind 3 */
	assert_int_equal(lt_py_read_str(getpid(), info, addr_of(o), &s), -EINVAL);
	put32(o, LT_PY_STR_STATE, (2u << 2) | (1u << 5) | (1u << 6)); /* ascii, kind 2 */
	assert_int_equal(lt_py_read_str(getpid(), info, addr_of(o), &s), -EINVAL);
	put32(o, LT_PY_STR_STATE, (1u << 2) | (1u << 5) | (1u << 6));
	put64(o, LT_PY_STR_LENGTH, (uint64_t)-5);
	assert_int_equal(lt_py_read_str(getpid(), info, addr_of(o), &s), -EINVAL);
	put64(o, LT_PY_STR_LENGTH, 1ull << 50);
	assert_int_equal(lt_py_read_str(getpid(), info, addr_of(o), &s), -EINVAL);
	free(o);

	/* Unreadable: NULL, the zero page, a kernel address. */
	assert_int_equal(lt_py_read_str(getpid(), info, 0, &s), -EFAULT);
	assert_int_equal(lt_py_read_str(getpid(), info, 16, &s), -EFAULT);
	assert_int_equal(lt_py_read_str(getpid(), info, 0xffffffffff600000ull, &s), -EFAULT);

	/* Longer than LT_PY_NAME_MAX: cut, and says so. */
	long_name = malloc(3000);
	assert_non_null(long_name);
	memset(long_name, 'n', 2999);
	long_name[2999] = '\0';
	o = make_ascii(info, long_name);
	assert_int_equal(lt_py_read_str(getpid(), info, addr_of(o), &s), 0);
	assert_int_equal(strlen(s), LT_PY_NAME_MAX + 3);
	assert_string_equal(s + LT_PY_NAME_MAX, "...");
	free(s);
	free(o);
	free(long_name);
}

static void test_bytes_bounds(void **state)
{
	uint8_t *o = make_bytes("\x01\x02\x03", 3), *data;
	size_t len;
	(void)state;

	assert_int_equal(lt_py_read_bytes(getpid(), addr_of(o), 16, &data, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "\x01\x02\x03", 3);
	free(data);
	assert_int_equal(lt_py_read_bytes(getpid(), addr_of(o), 2, &data, &len), -E2BIG);
	assert_null(data);
	put64(o, LT_PY_BYTES_SIZE, (uint64_t)-1);
	assert_int_equal(lt_py_read_bytes(getpid(), addr_of(o), 16, &data, &len), -EINVAL);
	put64(o, LT_PY_BYTES_SIZE, 1ull << 60);
	assert_int_equal(lt_py_read_bytes(getpid(), addr_of(o), LT_PY_TABLE_MAX, &data, &len),
			 -E2BIG);
	assert_int_equal(lt_py_read_bytes(getpid(), 8, 16, &data, &len), -EFAULT);
	free(o);
}

/* Two pages, the second unmapped: data can end right at the hole. */
static uint8_t *page_before_hole(void)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(munmap(p + page, (size_t)page), 0);
	return p;
}

static void test_cstr_at_page_end(void **state)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *p = page_before_hole();
	char *s;
	(void)state;

	memcpy(p + page - 6, "a\tbcd", 6);
	assert_int_equal(lt_py_read_cstr(getpid(), addr_of(p + page - 6), 1024, &s), 0);
	assert_string_equal(s, "a?bcd");
	free(s);
	/* No NUL before the hole: an error, not a read beyond. */
	memset(p + page - 6, 'x', 6);
	assert_int_equal(lt_py_read_cstr(getpid(), addr_of(p + page - 6), 1024, &s), -EFAULT);
	assert_null(s);
	/* Cut at max when there is no NUL within it. */
	assert_int_equal(lt_py_read_cstr(getpid(), addr_of(p + page - 6), 4, &s), 0);
	assert_string_equal(s, "xxxx");
	free(s);
	munmap(p, (size_t)page);
}

/* A code object of 3.minor in our memory. */
struct fake_code {
	uint8_t obj[512];
	uint8_t *name, *qualname, *file, *table;
};

static void make_code(struct fake_code *c, uint32_t minor, uint64_t type, const char *name,
		      const char *qualname, const char *file, int first, const uint8_t *table,
		      size_t len)
{
	const struct lt_py_version_info *info = lt_py_version_info(minor);

	memset(c, 0, sizeof(*c));
	c->name = make_ascii(info, name);
	c->qualname = make_ascii(info, qualname);
	c->file = make_ascii(info, file);
	c->table = make_bytes(table, len);
	put64(c->obj, LT_PY_OB_TYPE, type);
	put32(c->obj, (size_t)info->co_firstlineno, (uint32_t)first);
	put64(c->obj, (size_t)info->co_name, addr_of(c->name));
	if (info->co_qualname >= 0)
		put64(c->obj, (size_t)info->co_qualname, addr_of(c->qualname));
	put64(c->obj, (size_t)info->co_filename, addr_of(c->file));
	put64(c->obj, (size_t)info->co_linetable, addr_of(c->table));
}

static void free_code(struct fake_code *c)
{
	free(c->name);
	free(c->qualname);
	free(c->file);
	free(c->table);
}

/* The raw position BPF would record for byte offset off. */
static uint64_t raw_pos(uint32_t minor, const struct fake_code *c, int64_t off)
{
	const struct lt_py_version_info *info = lt_py_version_info(minor);

	if (minor <= 9)
		return (uint64_t)off;
	if (minor == 10)
		return (uint64_t)(off / 2);
	return addr_of(c->obj) + (uint64_t)info->co_code_adaptive + (uint64_t)off;
}

struct resolve_case {
	uint32_t minor;
	const uint8_t *table;
	size_t len;
	int first;
	const int *lines;
	size_t nlines;
};

static void test_resolve_frames(void **state)
{
	const struct resolve_case cases[] = {
		{ 8, py38_loop_table, sizeof(py38_loop_table), PY38_LOOP_FIRST, py38_loop_lines,
		  N(py38_loop_lines) },
		{ 9, py39_far_table, sizeof(py39_far_table), PY39_FAR_FIRST, py39_far_lines,
		  N(py39_far_lines) },
		{ 10, py310_loop_table, sizeof(py310_loop_table), PY310_LOOP_FIRST, py310_loop_lines,
		  N(py310_loop_lines) },
		{ 11, py311_tryexcept_table, sizeof(py311_tryexcept_table), PY311_TRYEXCEPT_FIRST,
		  py311_tryexcept_lines, N(py311_tryexcept_lines) },
		{ 12, py312_multiline_table, sizeof(py312_multiline_table), PY312_MULTILINE_FIRST,
		  py312_multiline_lines, N(py312_multiline_lines) },
		{ 13, py313_loop_table, sizeof(py313_loop_table), PY313_LOOP_FIRST, py313_loop_lines,
		  N(py313_loop_lines) },
	};
	const uint64_t code_type = 0x1234560;
	struct lt_py_location loc;
	struct lt_py_reader r;
	struct fake_code c;
	size_t i, j, pass;
	int want;
	(void)state;

	for (i = 0; i < N(cases); i++) {
		assert_int_equal(lt_py_reader_init(&r, getpid(), cases[i].minor, code_type), 0);
		make_code(&c, cases[i].minor, code_type, "f", "K.f", "/src/m.py",
			  cases[i].first, cases[i].table, cases[i].len);
		/* Twice: the second pass comes from the caches. */
		for (pass = 0; pass < 2; pass++) {
			for (j = 0; j < cases[i].nlines; j++) {
				assert_int_equal(lt_py_resolve_frame(&r, addr_of(c.obj),
								     raw_pos(cases[i].minor, &c,
									     (int64_t)(2 * j)),
								     &loc), 0);
				want = cases[i].lines[j] > 0 ? cases[i].lines[j] : 0;
				assert_int_equal(loc.line, want);
				assert_string_equal(loc.func, cases[i].minor >= 11 ? "K.f" : "f");
				assert_string_equal(loc.file, "/src/m.py");
				assert_false(loc.drop);
			}
		}
		/* Not started yet: the first line. */
		assert_int_equal(lt_py_resolve_frame(&r, addr_of(c.obj),
						     raw_pos(cases[i].minor, &c, -2), &loc), 0);
		assert_int_equal(loc.line, cases[i].first);
		lt_py_reader_free(&r);
		free_code(&c);
	}
}

/* An image of len bytes of obj, in a buffer of its own. */
static struct lt_py_image image_of(const void *obj, size_t len, uint8_t *buf)
{
	memcpy(buf, obj, len);
	return (struct lt_py_image){ addr_of(obj), buf, len };
}

/*
 * BPF's copy of a code object answers for its address until the object's
 * free is reported, even when the process has since put another code
 * object there (or one still being set up); after the free, what lives
 * there does. Without reported frees the live object is checked as before.
 */
static void test_copy_answers_until_freed(void **state)
{
	const struct lt_py_version_info *info = lt_py_version_info(12);
	const uint64_t code_type = 0x1234560;
	static uint8_t head[512], file[64], name[64], table[sizeof(py312_multiline_table) + 64];
	struct lt_py_location loc;
	struct lt_py_reader r;
	struct fake_code c, next;
	(void)state;

	for (int reported = 1; reported >= 0; reported--) {
		struct lt_py_image images[4];
		uint64_t code;

		assert_int_equal(lt_py_reader_init(&r, getpid(), 12, code_type), 0);
		r.frees_reported = reported;
		make_code(&c, 12, code_type, "f", "K.f", "/src/m.py", PY312_MULTILINE_FIRST,
			  py312_multiline_table, sizeof(py312_multiline_table));
		code = addr_of(c.obj);
		images[0] = image_of(c.obj, lt_py_code_header_len(info), head);
		images[1] = image_of(c.file, info->str_ascii_data + strlen("/src/m.py") + 1, file);
		images[2] = image_of(c.qualname, info->str_ascii_data + strlen("K.f") + 1, name);
		images[3] = image_of(c.table, LT_PY_BYTES_DATA + sizeof(py312_multiline_table),
				     table);
		assert_int_equal(lt_py_reader_add_copy(&r, code, images, 4), 0);
		/* The process frees it and makes another code object there. */
		make_code(&next, 12, code_type, "g", "g", "/src/other.py", 7, py312_multiline_table,
			  sizeof(py312_multiline_table));
		free_code(&c);
		memcpy(c.obj, next.obj, sizeof(c.obj));
		assert_int_equal(lt_py_resolve_frame(&r, code, raw_pos(12, &c, 0), &loc), 0);
		assert_string_equal(loc.func, reported ? "K.f" : "g");
		assert_string_equal(loc.file, reported ? "/src/m.py" : "/src/other.py");
		lt_py_reader_code_freed(&r, code);
		assert_int_equal(lt_py_resolve_frame(&r, code, raw_pos(12, &c, 0), &loc), 0);
		assert_string_equal(loc.func, "g");
		assert_string_equal(loc.file, "/src/other.py");
		lt_py_reader_free(&r);
		free_code(&next);
	}
}

static void test_resolve_bad_code(void **state)
{
	const uint64_t code_type = 0x1234560;
	struct lt_py_location loc;
	struct lt_py_reader r;
	struct fake_code c, shim;
	uint8_t *hole;
	long page = sysconf(_SC_PAGESIZE);
	(void)state;

	assert_int_equal(lt_py_reader_init(&r, getpid(), 99, 0), -ENOTSUP);
	assert_int_equal(lt_py_reader_init(&r, getpid(), 13, code_type), 0);

	/* Not a code object. */
	make_code(&c, 13, code_type + 16, "f", "f", "x.py", 3, py313_simple_table,
		  sizeof(py313_simple_table));
	assert_int_equal(lt_py_resolve_frame(&r, addr_of(c.obj), 0, &loc), -EINVAL);
	free_code(&c);

	/* Unreadable code objects: NULL, a kernel address, one cut by a hole. */
	assert_int_equal(lt_py_resolve_frame(&r, 0, 0, &loc), -EFAULT);
	assert_int_equal(lt_py_resolve_frame(&r, 0xffff888000000000ull, 0, &loc), -EFAULT);
	hole = page_before_hole();
	assert_int_equal(lt_py_resolve_frame(&r, addr_of(hole + page - 64), 0, &loc), -EFAULT);
	munmap(hole, (size_t)page);

	/* Names and table unreadable or absurd: still a frame, names "?", no line. */
	make_code(&c, 13, code_type, "f", "f", "x.py", 3, py313_simple_table,
		  sizeof(py313_simple_table));
	put64(c.obj, 128, 8);                        /* co_qualname */
	put32(c.file, LT_PY_STR_STATE, 3u << 2);     /* co_filename: kind 3 */
	put64(c.table, LT_PY_BYTES_SIZE, 1ull << 40); /* co_linetable: huge */
	assert_int_equal(lt_py_resolve_frame(&r, addr_of(c.obj), addr_of(c.obj) + 200, &loc), 0);
	assert_string_equal(loc.func, "?");
	assert_string_equal(loc.file, "?");
	assert_int_equal(loc.line, 0);
	free_code(&c);

	/* 3.13's __init__ shim: co_firstlineno 0, to be dropped. A position
	 * outside the code object gives no line. */
	make_code(&shim, 13, code_type, "__init__", "__init__", "__init__", 0,
		  py313_simple_table, sizeof(py313_simple_table));
	assert_int_equal(lt_py_resolve_frame(&r, addr_of(shim.obj), 0, &loc), 0);
	assert_true(loc.drop);
	assert_int_equal(loc.line, 0);
	free_code(&shim);
	lt_py_reader_free(&r);
	lt_py_reader_free(&r); /* twice is harmless */
}

static void test_pos_to_offset(void **state)
{
	int64_t off;
	(void)state;

	assert_true(lt_py_pos_to_offset(lt_py_version_info(8), 0x1000, (uint64_t)-1, &off));
	assert_int_equal(off, -1);
	assert_true(lt_py_pos_to_offset(lt_py_version_info(10), 0x1000, 21, &off));
	assert_int_equal(off, 42);
	assert_false(lt_py_pos_to_offset(lt_py_version_info(10), 0x1000, 1ull << 40, &off));
	assert_true(lt_py_pos_to_offset(lt_py_version_info(11), 0x1000, 0x1000 + 184 + 6, &off));
	assert_int_equal(off, 6);
	assert_true(lt_py_pos_to_offset(lt_py_version_info(12), 0x1000, 0x1000 + 192 - 2, &off));
	assert_int_equal(off, -2);
	assert_false(lt_py_pos_to_offset(lt_py_version_info(13), 0x1000, 0, &off));
	assert_false(lt_py_pos_to_offset(lt_py_version_info(13), 0x1000, 1ull << 50, &off));
}

static void test_type_names(void **state)
{
	uint8_t type[416] = { 0 }, other[416] = { 0 }, broken[416] = { 0 };
	char name[] = "mymod.MyType";
	struct lt_py_reader r;
	const char *got, *again;
	(void)state;

	assert_int_equal(lt_py_reader_init(&r, getpid(), 12, 0), 0);
	put64(type, LT_PY_TP_NAME, addr_of(name));
	got = lt_py_type_name(&r, addr_of(type));
	assert_non_null(got);
	assert_string_equal(got, "mymod.MyType");
	/* Cached per type: not read again. */
	name[0] = 'X';
	again = lt_py_type_name(&r, addr_of(type));
	assert_ptr_equal(again, got);
	/* Same text from another type: one interned copy. */
	name[0] = 'm';
	put64(other, LT_PY_TP_NAME, addr_of(name));
	assert_ptr_equal(lt_py_type_name(&r, addr_of(other)), got);
	/* Unreadable type or tp_name. */
	put64(broken, LT_PY_TP_NAME, 24);
	assert_null(lt_py_type_name(&r, addr_of(broken)));
	assert_null(lt_py_type_name(&r, 0));
	assert_null(lt_py_type_name(&r, 0xffffffffff600000ull));
	lt_py_reader_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_tables_match_cpython),
		cmocka_unit_test(test_past_the_end),
		cmocka_unit_test(test_310_no_line_ranges),
		cmocka_unit_test(test_locations_hand_made),
		cmocka_unit_test(test_malformed_tables),
		cmocka_unit_test(test_truncated_tables_never_overread),
		cmocka_unit_test(test_str_kinds),
		cmocka_unit_test(test_str_bad_input),
		cmocka_unit_test(test_bytes_bounds),
		cmocka_unit_test(test_cstr_at_page_end),
		cmocka_unit_test(test_resolve_frames),
		cmocka_unit_test(test_resolve_bad_code),
		cmocka_unit_test(test_copy_answers_until_freed),
		cmocka_unit_test(test_pos_to_offset),
		cmocka_unit_test(test_type_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
