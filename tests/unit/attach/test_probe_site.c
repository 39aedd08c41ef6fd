// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "attach/probe_site.h"

#define BASE 0x98ef0

static void test_emulated_classes(void **state)
{
	static const uint8_t push_rbp[] = { 0x55 }, push_r12[] = { 0x41, 0x54 },
			     nop[] = { 0x90 }, nopl[] = { 0x0f, 0x1f, 0x40, 0x00 },
			     nopw[] = { 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 },
			     je8[] = { 0x74, 0x10 }, je32[] = { 0x0f, 0x84, 1, 0, 0, 0 },
			     jmp8[] = { 0xeb, 0x05 }, call[] = { 0xe8, 1, 2, 3, 4 },
			     test_rdi[] = { 0x48, 0x85, 0xff }, mov_eax[] = { 0xb8, 0x0b, 0, 0, 0 },
			     xchg_r8[] = { 0x41, 0x90 }, jmp_ind[] = { 0xff, 0xe0 },
			     cmpb_rip[] = { 0x80, 0x3d, 1, 2, 3, 4, 0 }, syscall[] = { 0x0f, 0x05 };
	(void)state;

	assert_true(lt_insn_is_emulated(push_rbp, sizeof(push_rbp)));
	assert_true(lt_insn_is_emulated(push_r12, sizeof(push_r12)));
	assert_true(lt_insn_is_emulated(nop, sizeof(nop)));
	assert_true(lt_insn_is_emulated(nopl, sizeof(nopl)));
	assert_true(lt_insn_is_emulated(nopw, sizeof(nopw)));
	assert_true(lt_insn_is_emulated(je8, sizeof(je8)));
	assert_true(lt_insn_is_emulated(je32, sizeof(je32)));
	assert_true(lt_insn_is_emulated(jmp8, sizeof(jmp8)));
	assert_true(lt_insn_is_emulated(call, sizeof(call)));
	assert_false(lt_insn_is_emulated(test_rdi, sizeof(test_rdi)));
	assert_false(lt_insn_is_emulated(mov_eax, sizeof(mov_eax)));
	assert_false(lt_insn_is_emulated(xchg_r8, sizeof(xchg_r8)));
	assert_false(lt_insn_is_emulated(jmp_ind, sizeof(jmp_ind)));
	assert_false(lt_insn_is_emulated(cmpb_rip, sizeof(cmpb_rip)));
	assert_false(lt_insn_is_emulated(syscall, sizeof(syscall)));
}

/* glibc 2.36 free: test %rdi,%rdi; je ...; push %rbp; ... */
static const uint8_t glibc_free[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00,
				      0x55, 0x48, 0x8d, 0x77, 0xf0, 0x53, 0xc3 };

/* The padding before a function as an entry to it: only no-ops, ending
 * exactly at the function. */
static void test_nop_alias(void **state)
{
	/* ret; then nopw %cs:0(%rax,%rax,1) (11 bytes with prefixes)... */
	static const uint8_t padded[] = { 0xc3, 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00,
					  0x00, 0x00, 0x00, 0x00, 0x0f, 0x1f, 0x40, 0x00 };
	/* ...a jmp right before it: no padding at all. */
	static const uint8_t none[] = { 0x90, 0x90, 0xeb, 0xfe };
	/* ...one nop (a 0x90), kept. */
	static const uint8_t one[] = { 0xc3, 0x90 };

	(void)state;
	/* The nearest start: the 4-byte nopl, 4 bytes before. */
	assert_int_equal(lt_nop_alias(padded, sizeof(padded), 0x1000), 0x1000 - 4);
	assert_int_equal(lt_nop_alias(none, sizeof(none), 0x1000), 0);
	assert_int_equal(lt_nop_alias(one, sizeof(one), 0x1000), 0x1000 - 1);
	/* An address too low to have len bytes before it. */
	assert_int_equal(lt_nop_alias(padded, sizeof(padded), 8), 0);
}

static void test_free_moves_to_je(void **state)
{
	struct lt_probe_site site;
	(void)state;

	assert_int_equal(lt_probe_site_choose(glibc_free, sizeof(glibc_free), BASE, LT_ARG_RDI,
					      true, &site), 0);
	assert_int_equal(site.offset, 3);
	assert_true(site.emulated);
	assert_false(site.first_emulated);
	assert_string_equal(site.first_insn, "test rdi, rdi");
}

static void test_return_probe_moves_before_rsp_changes(void **state)
{
	/* CPython 3.11 _PyObject_Malloc: lea -0x1(%rsi),%rax; push %rbx: rsp
	 * and rsi are untouched up to the push, so entry and return go there. */
	static const uint8_t lea_push[] = { 0x48, 0x8d, 0x46, 0xff, 0x53, 0xc3 };
	/* Debian 3.11's: lea -0x1(%rsi),%rax; sub $0x18,%rsp; ...; push: the
	 * return address moves away from [rsp] before any emulated instruction. */
	static const uint8_t lea_sub_push[] = { 0x48, 0x8d, 0x46, 0xff, 0x48, 0x83, 0xec, 0x18, 0x53,
						0xc3 };
	struct lt_probe_site site;
	(void)state;

	assert_int_equal(lt_probe_site_choose(glibc_free, sizeof(glibc_free), BASE, LT_ARG_RDI,
					      true, &site), 0);
	assert_int_equal(site.offset, 3);
	assert_int_equal(lt_probe_site_choose(lea_push, sizeof(lea_push), BASE, LT_ARG_RSI, true,
					      &site), 0);
	assert_int_equal(site.offset, 4);
	assert_true(site.emulated);
	assert_int_equal(lt_probe_site_choose(lea_sub_push, sizeof(lea_sub_push), BASE, LT_ARG_RSI,
					      true, &site), 0);
	assert_int_equal(site.offset, 0);
	assert_false(site.emulated);
	/* An entry-only probe may pass the sub. */
	assert_int_equal(lt_probe_site_choose(lea_sub_push, sizeof(lea_sub_push), BASE, LT_ARG_RSI,
					      false, &site), 0);
	assert_int_equal(site.offset, 8);
}

static void test_argument_write_blocks_move(void **state)
{
	/* mov %rsi,%rdi; push %rbp: the push sees a different rdi. */
	static const uint8_t code[] = { 0x48, 0x89, 0xf7, 0x55, 0xc3 };
	struct lt_probe_site site;
	(void)state;

	assert_int_equal(lt_probe_site_choose(code, sizeof(code), BASE, LT_ARG_RDI, true, &site), 0);
	assert_int_equal(site.offset, 0);
	/* The same code is fine for a probe that reads only rsi. */
	assert_int_equal(lt_probe_site_choose(code, sizeof(code), BASE, LT_ARG_RSI, true, &site), 0);
	assert_int_equal(site.offset, 3);
}

static void test_syscall_blocks_move(void **state)
{
	/* glibc munmap: mov $0xb,%eax; syscall; cmp ...; jae ... */
	static const uint8_t code[] = { 0xb8, 0x0b, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x3d,
					0x01, 0xf0, 0xff, 0xff, 0x73, 0x01, 0xc3 };
	struct lt_probe_site site;
	(void)state;

	assert_int_equal(lt_probe_site_choose(code, sizeof(code), BASE, LT_ARG_RDI | LT_ARG_RSI,
					      true, &site), 0);
	assert_int_equal(site.offset, 0);
}

static void test_jump_back_to_site_blocks_move(void **state)
{
	/* test %rdi,%rdi; push %rbp; ...; jmp back to the push: it would fire twice. */
	static const uint8_t code[] = { 0x48, 0x85, 0xff, 0x55, 0x90, 0xeb, 0xfc, 0xc3 };
	struct lt_probe_site site;
	(void)state;

	assert_int_equal(lt_probe_site_choose(code, sizeof(code), BASE, LT_ARG_RDI, true, &site), 0);
	assert_int_equal(site.offset, 0);
}

static void test_jump_into_skipped_bytes_blocks_move(void **state)
{
	/* mov %rdi,%rax; test %rdi,%rdi; js; nop; jmp back to the test: a site
	 * at the js would fire again without the function being entered. */
	static const uint8_t code[] = { 0x48, 0x89, 0xf8, 0x48, 0x85, 0xff, 0x78, 0x02,
					0x90, 0xeb, 0xf8, 0xc3 };
	/* The same with the jump going to the ret instead. */
	static const uint8_t fine[] = { 0x48, 0x89, 0xf8, 0x48, 0x85, 0xff, 0x78, 0x02,
					0x90, 0xeb, 0x00, 0xc3 };
	struct lt_probe_site site;
	(void)state;

	assert_int_equal(lt_probe_site_choose(code, sizeof(code), BASE, LT_ARG_RDI, true, &site), 0);
	assert_int_equal(site.offset, 0);
	assert_int_equal(lt_probe_site_choose(fine, sizeof(fine), BASE, LT_ARG_RDI, true, &site), 0);
	assert_int_equal(site.offset, 6);
}

static void test_garbage_is_an_error(void **state)
{
	static const uint8_t code[] = { 0x48, 0x8b }; /* truncated mov */
	struct lt_probe_site site;
	(void)state;

	assert_int_equal(lt_probe_site_choose(code, sizeof(code), BASE, LT_ARG_RDI, true, &site),
			 -EINVAL);
	assert_int_equal(site.offset, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emulated_classes),
		cmocka_unit_test(test_nop_alias),
		cmocka_unit_test(test_free_moves_to_je),
		cmocka_unit_test(test_return_probe_moves_before_rsp_changes),
		cmocka_unit_test(test_argument_write_blocks_move),
		cmocka_unit_test(test_syscall_blocks_move),
		cmocka_unit_test(test_jump_back_to_site_blocks_move),
		cmocka_unit_test(test_jump_into_skipped_bytes_blocks_move),
		cmocka_unit_test(test_garbage_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
