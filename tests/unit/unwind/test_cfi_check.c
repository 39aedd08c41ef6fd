// SPDX-License-Identifier: MIT
/*
 * cfi_check.c against hand-made .eh_frame bytes: a CIE as GCC writes it
 * and one FDE whose program each test chooses, reached by walking the
 * section or only through a search table.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unwind/cfi_check.h"

#define VADDR 0x1000
#define MAX_SECTION (4 * LT_CFI_MAX_PROGRAM)

static const unsigned char e_ident[EI_NIDENT] = {
	ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT,
};

struct section {
	uint8_t bytes[MAX_SECTION];
	size_t len;
	size_t fde; /* offset of the FDE */
};

static void put(struct section *s, const void *p, size_t n)
{
	assert_true(s->len + n <= sizeof(s->bytes));
	memcpy(s->bytes + s->len, p, n);
	s->len += n;
}

static void put32(struct section *s, uint32_t v)
{
	put(s, &v, sizeof(v));
}

/* Pads the entry that started at start to a multiple of 4 and sets its length. */
static void end_entry(struct section *s, size_t start)
{
	uint32_t len;

	while ((s->len - start) % 4)
		put(s, "\0", 1); /* DW_CFA_nop */
	len = (uint32_t)(s->len - start - 4);
	memcpy(s->bytes + start, &len, sizeof(len));
}

/* A CIE with augmentation aug ("zR": pcrel|sdata4 FDE pointers; "": absolute
 * ones), CFA = rsp + 8, RA at CFA - 8; then an FDE for [VADDR, VADDR + 0x100)
 * running program, and the terminator. hidden: a terminator between the two,
 * so that walking the section never reaches the FDE. */
static void build(struct section *s, const char *aug, const uint8_t *program, size_t len,
		  bool hidden)
{
	static const uint8_t cie_program[] = { 0x0c, 0x07, 0x08, 0x90, 0x01 };
	size_t start = 0;

	memset(s, 0, sizeof(*s));
	put32(s, 0);
	put32(s, 0); /* CIE id */
	put(s, "\1", 1);
	put(s, aug, strlen(aug) + 1);
	if (!strcmp(aug, "eh"))
		put(s, "\0\0\0\0\0\0\0\0", 8); /* GCC 2's exception table pointer */
	put(s, "\x01\x78\x10", 3); /* code align 1, data align -8, RA register 16 */
	if (aug[0] == 'z')
		put(s, "\x01\x1b", 2); /* one byte of augmentation data: 'R' */
	put(s, cie_program, sizeof(cie_program));
	end_entry(s, start);
	if (hidden)
		put32(s, 0);

	start = s->fde = s->len;
	put32(s, 0);
	put32(s, (uint32_t)(s->len - 0)); /* back to the CIE at offset 0 */
	if (aug[0] == 'z') {
		put32(s, (uint32_t)(VADDR - (VADDR + s->len))); /* pcrel: function at VADDR */
		put32(s, 0x100);
		put(s, "\0", 1); /* no augmentation data */
	} else {
		uint64_t at = VADDR, range = 0x100;

		put(s, &at, sizeof(at));
		put(s, &range, sizeof(range));
	}
	put(s, program, len);
	end_entry(s, start);
	put32(s, 0); /* terminator */
}

static int check(struct section *s, bool through_table)
{
	Elf_Data data = { .d_buf = s->bytes, .d_size = s->len, .d_type = ELF_T_BYTE };
	/* A search table (relative to VADDR, the section's start) naming the FDE. */
	int32_t table[2] = { 0, (int32_t)s->fde };

	if (!through_table)
		return lt_cfi_check(e_ident, &data, VADDR, NULL, 0, 0);
	return lt_cfi_check(e_ident, &data, VADDR, (const uint8_t *)table, 1, VADDR);
}

/* The FDE's program gives want, whether the FDE is found by walking the
 * section or only through the search table; and hidden from both, 0. */
static void expect(const char *aug, const uint8_t *program, size_t len, int want)
{
	struct section *s = malloc(sizeof(*s));

	assert_non_null(s);
	build(s, aug, program, len, false);
	assert_int_equal(check(s, false), want);
	build(s, aug, program, len, true);
	assert_int_equal(check(s, true), want);
	assert_int_equal(check(s, false), 0);
	free(s);
}

static void test_compiler_programs_pass(void **state)
{
	/* push rbp; mov rbp,rsp; ...; leave; ret, as gcc -O0 describes it. */
	static const uint8_t gcc_o0[] = { 0x41, 0x0e, 0x10, 0x86, 0x02, 0x43, 0x0d, 0x06,
					  0x4a, 0x0c, 0x07, 0x08 };
	/* -O2 with pushes and DW_CFA_remember_state around a tail. */
	static const uint8_t gcc_o2[] = { 0x41, 0x0e, 0x10, 0x83, 0x02, 0x4b, 0x0a, 0x0e,
					  0x08, 0x41, 0x0b, 0x02, 0x80, 0x0e, 0x08 };
	/* Every instruction with a register operand, registers up to 125. */
	static const uint8_t all[] = { 0x05, 0x7d, 0x01, 0x06, 0x10, 0x07, 0x11, 0x08, 0x12,
				       0x09, 0x13, 0x14, 0x0d, 0x06, 0x10, 0x06, 0x02, 0x76,
				       0x08, 0x11, 0x0c, 0x7f, 0x14, 0x06, 0x01, 0x15, 0x06, 0x7f,
				       0x16, 0x06, 0x01, 0x9c, 0x0f, 0x01, 0x9c, 0x2e, 0x10,
				       0x2f, 0x06, 0x01, 0x03, 0x01, 0x00, 0x04, 1, 0, 0, 0,
				       0x01, 0x10, 0x10, 0, 0 };

	(void)state;
	expect("zR", gcc_o0, sizeof(gcc_o0), 0);
	expect("zR", gcc_o2, sizeof(gcc_o2), 0);
	expect("zR", all, sizeof(all), 0);
	expect("", gcc_o0, sizeof(gcc_o0), 0); /* no augmentation: absptr, 8 bytes */
}

static void test_huge_register_refused(void **state)
{
	/* DW_CFA_offset_extended r1000000 (libdw: a 16 MB frame per lookup). */
	static const uint8_t offset[] = { 0x05, 0xc0, 0x84, 0x3d, 0x01 };
	static const uint8_t reg_256[] = { 0x07, 0x80, 0x02 };
	static const uint8_t reg_255[] = { 0x07, 0xff, 0x01 };
	static const uint8_t second[] = { 0x09, 0x06, 0xff, 0xff, 0x03 };

	(void)state;
	expect("zR", offset, sizeof(offset), -EINVAL);
	expect("zR", reg_256, sizeof(reg_256), -EINVAL);
	expect("zR", reg_255, sizeof(reg_255), 0);
	expect("zR", second, sizeof(second), -EINVAL);
}

static void test_nesting_and_length_bounded(void **state)
{
	uint8_t *program = malloc(LT_CFI_MAX_PROGRAM + 1);

	(void)state;
	assert_non_null(program);
	memset(program, 0x0a, LT_CFI_MAX_STATES); /* remember_state */
	expect("zR", program, LT_CFI_MAX_STATES, 0);
	memset(program, 0x0a, LT_CFI_MAX_STATES + 1);
	expect("zR", program, LT_CFI_MAX_STATES + 1, -EINVAL);
	/* Remembered and restored in turn: no nesting at all. */
	for (size_t i = 0; i < 200; i++)
		program[i] = i % 2 ? 0x0b : 0x0a;
	expect("zR", program, 200, 0);
	/* advance_loc: one row per byte, each lookup running them all again. */
	memset(program, 0x41, LT_CFI_MAX_PROGRAM - 4);
	expect("zR", program, LT_CFI_MAX_PROGRAM - 4, 0);
	memset(program, 0x41, LT_CFI_MAX_PROGRAM + 1);
	expect("zR", program, LT_CFI_MAX_PROGRAM + 1, -EINVAL);
	free(program);
}

static void test_where_libdw_stops_nothing_runs(void **state)
{
	/* An unknown instruction (0x3f), then a huge register libdw never reaches. */
	static const uint8_t unknown[] = { 0x3f, 0x07, 0xff, 0xff, 0x03 };
	/* An operand of advance_loc4 cut short by the end of the program. */
	static const uint8_t cut[] = { 0x04, 0xff };
	/* restore_state without remember_state: libdw refuses the rest. */
	static const uint8_t underflow[] = { 0x0b, 0x07, 0xff, 0xff, 0x03 };

	(void)state;
	expect("zR", unknown, sizeof(unknown), 0);
	expect("zR", cut, sizeof(cut), 0);
	expect("zR", underflow, sizeof(underflow), 0);
}

/*
 * libdw reads at most 10 bytes of a ULEB128 (9 of an SLEB128) and goes on
 * at the next byte with the number taken as UINT64_MAX; one cut short by
 * the end of the program is UINT64_MAX as well. A register number of
 * UINT64_MAX overflows its frame size, and the bytes after an overlong
 * number are read as instructions (fuzz_unwind: a 2 GiB frame, from
 * DW_CFA_restore_extended r268435447 hidden behind an 11-byte offset).
 */
static void test_malformed_leb128_refused(void **state)
{
	static const uint8_t overlong_offset[] = { 0x05, 0x00, 0xed, 0xed, 0xed, 0xed, 0xed, 0xed,
						   0xed, 0xed, 0xed, 0xed, 0xed, 0x00 };
	static const uint8_t ten_byte_offset[] = { 0x05, 0x00, 0xed, 0xed, 0xed, 0xed, 0xed,
						   0xed, 0xed, 0xed, 0xed, 0x01 };
	static const uint8_t ten_byte_sleb[] = { 0x11, 0x06, 0xed, 0xed, 0xed, 0xed, 0xed,
						 0xed, 0xed, 0xed, 0xed, 0x01 };
	static const uint8_t nine_byte_sleb[] = { 0x11, 0x06, 0xed, 0xed, 0xed, 0xed, 0xed,
						  0xed, 0xed, 0xed, 0x01 };
	static const uint8_t overlong_args_size[] = { 0x2e, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
						      0x80, 0x80, 0x80, 0x80, 0x00 };
	/* DW_CFA_undefined whose register runs into the end of the FDE: the
	 * FDE is 17 bytes before its program, so 3 bytes need no padding. */
	static const uint8_t cut[] = { 0x07, 0xff, 0xff };
	struct section *s = malloc(sizeof(*s));

	(void)state;
	assert_non_null(s);
	expect("zR", overlong_offset, sizeof(overlong_offset), -EINVAL);
	expect("zR", ten_byte_offset, sizeof(ten_byte_offset), 0);
	expect("zR", ten_byte_sleb, sizeof(ten_byte_sleb), -EINVAL);
	expect("zR", nine_byte_sleb, sizeof(nine_byte_sleb), 0);
	expect("zR", overlong_args_size, sizeof(overlong_args_size), -EINVAL);
	build(s, "zR", cut, sizeof(cut), false);
	assert_int_equal(s->bytes[s->len - 5], 0xff); /* no nop after the cut number */
	assert_int_equal(check(s, false), -EINVAL);
	assert_int_equal(check(s, true), -EINVAL);
	free(s);
}

static void test_unknown_augmentation_refused(void **state)
{
	static const uint8_t nop[] = { 0x00 };
	struct section *s = malloc(sizeof(*s));

	(void)state;
	assert_non_null(s);
	/* GCC 2's "eh" puts a pointer before the program, of no stated size. */
	build(s, "eh", nop, sizeof(nop), false);
	assert_int_equal(check(s, false), -EINVAL);
	build(s, "zX", nop, sizeof(nop), false);
	assert_int_equal(check(s, false), -EINVAL);
	/* The CIE alone, with no FDE reached: refused as well. */
	build(s, "zX", nop, sizeof(nop), true);
	assert_int_equal(check(s, false), -EINVAL);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compiler_programs_pass),
		cmocka_unit_test(test_huge_register_refused),
		cmocka_unit_test(test_nesting_and_length_bounded),
		cmocka_unit_test(test_where_libdw_stops_nothing_runs),
		cmocka_unit_test(test_malformed_leb128_refused),
		cmocka_unit_test(test_unknown_augmentation_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
