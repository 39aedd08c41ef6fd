// SPDX-License-Identifier: MIT
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
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
#include "unwind/unwind_table.h"

#define LIBC_PATH "/lib/x86_64-linux-gnu/libc.so.6"

/* lt_cfi_func in tests/unit/fixtures/cfi_fixture.c, byte for byte: if the
 * assembler ever encodes it differently, the offsets below are wrong. */
static const unsigned char cfi_func_code[] = {
	0x55,             /* +0  push %rbp */
	0x48, 0x89, 0xe5, /* +1  mov %rsp,%rbp */
	0x90,             /* +4  nop */
	0x90,             /* +5  nop */
	0x90,             /* +6  nop */
	0x31, 0xc0,       /* +7  xor %eax,%eax */
	0x5d,             /* +9  pop %rbp */
	0xc3,             /* +10 ret */
};

/* GNU ld's lazy .plt: (rip & 15) >= 11 once a stub's push has run. */
#define PLT_THRESHOLD 11

struct fixture {
	char path[PATH_MAX];
	char tmpdir[PATH_MAX];
	unsigned char *bytes;
	size_t len;
	struct lt_elf_file *ef;
	struct lt_unwind_table table;
};



static int build_path(const char *path, struct lt_unwind_table *t)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	err = lt_unwind_table_build(fd, t);
	close(fd);
	return err;
}

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
	snprintf(f->path, sizeof(f->path), "%s/cfi_fixture", dir);
	snprintf(f->tmpdir, sizeof(f->tmpdir), "/tmp/lt_unwind_test.XXXXXX");
	f->bytes = test_slurp(f->path, &f->len);
	if (!f->bytes || !mkdtemp(f->tmpdir) || lt_elf_open_path(f->path, &f->ef) ||
	    build_path(f->path, &f->table)) {
		fprintf(stderr, "cannot load fixture %s\n", f->path);
		if (f->ef)
			lt_elf_close(f->ef);
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

	lt_unwind_table_free(&f->table);
	lt_elf_close(f->ef);
	rmdir(f->tmpdir);
	free(f->bytes);
	free(f);
	return 0;
}

/* The row in effect at offset, found independently of the library's search. */
static const struct lt_unwind_file_row *rule_at(const struct lt_unwind_table *t, uint64_t offset)
{
	const struct lt_unwind_file_row *r = NULL;

	for (size_t i = 0; i < t->nrows && t->rows[i].file_offset <= offset; i++)
		r = &t->rows[i];
	return r;
}

static bool has_row_at(const struct lt_unwind_table *t, uint64_t offset)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (t->rows[i].file_offset == offset)
			return true;
	return false;
}

static void assert_rule(const struct lt_unwind_table *t, uint64_t offset, int cfa_rule,
			int cfa_offset, int rbp_rule, int aux)
{
	const struct lt_unwind_file_row *r = rule_at(t, offset);

	assert_non_null(r);
	assert_int_equal(r->cfa_rule, cfa_rule);
	assert_int_equal(r->cfa_offset, cfa_offset);
	assert_int_equal(r->rbp_rule, rbp_rule);
	assert_int_equal(r->aux, aux);
}

static bool same_rule(const struct lt_unwind_file_row *a, const struct lt_unwind_file_row *b)
{
	return a->cfa_rule == b->cfa_rule && a->rbp_rule == b->rbp_rule &&
	       a->cfa_offset == b->cfa_offset && a->aux == b->aux;
}

/* What the BPF side relies on: a binary search needs strict order, and equal
 * neighbours would only waste its bounded number of steps. */
static void assert_well_formed(const struct lt_unwind_table *t)
{
	assert_true(t->nrows > 0);
	assert_non_null(t->rows);
	for (size_t i = 0; i < t->nrows; i++) {
		assert_true(t->rows[i].cfa_rule <= LT_CFA_UNSUPPORTED);
		assert_true(t->rows[i].rbp_rule <= LT_RBP_LOST);
		if (i == 0)
			continue;
		assert_true(t->rows[i - 1].file_offset < t->rows[i].file_offset);
		assert_false(same_rule(&t->rows[i - 1], &t->rows[i]));
	}
}

static uint64_t function_offset(const struct fixture *f, const char *name, uint64_t *size)
{
	struct lt_elf_symbol s;
	uint64_t off;

	assert_int_equal(lt_elf_find_function(f->ef, name, &s), 0);
	assert_int_equal(lt_elf_vaddr_to_offset(f->ef, s.vaddr, &off), 0);
	if (size)
		*size = s.size;
	return off;
}

static void test_fixture_well_formed(void **state)
{
	struct fixture *f = *state;

	assert_well_formed(&f->table);
	assert_true(f->table.rows[f->table.nrows - 1].file_offset < f->len);
}

static void test_handwritten_cfi(void **state)
{
	struct fixture *f = *state;
	struct lt_elf_symbol s;
	unsigned char code[sizeof(cfi_func_code)];
	uint64_t size, off = function_offset(f, "lt_cfi_func", &size);
	size_t got;

	assert_int_equal(size, sizeof(cfi_func_code));
	assert_int_equal(lt_elf_find_function(f->ef, "lt_cfi_func", &s), 0);
	assert_int_equal(lt_elf_read_code(f->ef, s.vaddr, code, sizeof(code), &got), 0);
	assert_int_equal(got, sizeof(code));
	assert_memory_equal(code, cfi_func_code, sizeof(code));

	/* Entry: only the return address is on the stack. */
	assert_rule(&f->table, off + 0, LT_CFA_RSP, 8, LT_RBP_SAME, 0);
	/* After push %rbp. */
	assert_rule(&f->table, off + 1, LT_CFA_RSP, 16, LT_RBP_AT_CFA, -16);
	/* After mov %rsp,%rbp, up to and including pop %rbp. */
	for (uint64_t i = 4; i <= 9; i++)
		assert_rule(&f->table, off + i, LT_CFA_RBP, 16, LT_RBP_AT_CFA, -16);
	/* At ret the CFI still says rbp's slot (no .cfi_restore), as gcc emits it. */
	assert_rule(&f->table, off + 10, LT_CFA_RSP, 8, LT_RBP_AT_CFA, -16);

	/* A row starts exactly where each rule changes, not a byte off. */
	assert_true(has_row_at(&f->table, off + 0));
	assert_true(has_row_at(&f->table, off + 1));
	assert_true(has_row_at(&f->table, off + 4));
	assert_true(has_row_at(&f->table, off + 10));
	for (uint64_t i = 5; i <= 9; i++)
		assert_false(has_row_at(&f->table, off + i));
	/* Past the function the next one's rules apply, not the last row of this one. */
	assert_true(has_row_at(&f->table, off + sizeof(cfi_func_code)));
	{
		const struct lt_unwind_file_row *next = rule_at(&f->table, off + sizeof(cfi_func_code));

		assert_false(next->cfa_rule == LT_CFA_RSP && next->rbp_rule == LT_RBP_AT_CFA);
	}
}

static void test_plt(void **state)
{
	struct fixture *f = *state;
	const struct lt_unwind_table *t = &f->table;
	size_t plt = 0, nplt = 0;

	for (size_t i = 0; i < t->nrows; i++) {
		if (t->rows[i].cfa_rule != LT_CFA_PLT)
			continue;
		plt = i;
		nplt++;
	}
	assert_int_equal(nplt, 1);
	assert_int_equal(t->rows[plt].cfa_offset, 8);
	assert_int_equal(t->rows[plt].aux, PLT_THRESHOLD);
	assert_int_equal(t->rows[plt].rbp_rule, LT_RBP_SAME);
	/* The 16-byte PLT0 before it: rsp+16 after its push, rsp+24 after the second. */
	assert_true(plt >= 2);
	assert_int_equal(t->rows[plt - 1].cfa_rule, LT_CFA_RSP);
	assert_int_equal(t->rows[plt - 1].cfa_offset, 24);
	assert_int_equal(t->rows[plt - 2].cfa_rule, LT_CFA_RSP);
	assert_int_equal(t->rows[plt - 2].cfa_offset, 16);
	assert_int_equal(t->rows[plt].file_offset - t->rows[plt - 2].file_offset, 16);
}

/* glibc's _start says the return address is undefined: the walk stops there. */
static void test_start_ends_stack(void **state)
{
	struct fixture *f = *state;
	uint64_t size, off = function_offset(f, "_start", &size);

	assert_true(size > 0);
	assert_true(has_row_at(&f->table, off));
	assert_rule(&f->table, off, LT_CFA_END, 0, LT_RBP_SAME, 0);
	assert_rule(&f->table, off + size - 1, LT_CFA_END, 0, LT_RBP_SAME, 0);
}

/* Real-world CFI: thousands of FDEs, signal frames, expressions. */
static void test_libc_well_formed(void **state)
{
	struct lt_unwind_table t;
	struct lt_elf_file *ef;
	struct lt_elf_symbol s;
	uint64_t off;
	(void)state;

	assert_int_equal(build_path(LIBC_PATH, &t), 0);
	assert_well_formed(&t);
	assert_true(t.nrows > 1000);

	assert_int_equal(lt_elf_open_path(LIBC_PATH, &ef), 0);
	assert_int_equal(lt_elf_find_function(ef, "malloc", &s), 0);
	assert_int_equal(lt_elf_vaddr_to_offset(ef, s.vaddr, &off), 0);
	/* Every function starts with only the return address pushed. */
	assert_rule(&t, off, LT_CFA_RSP, 8, LT_RBP_SAME, 0);
	lt_elf_close(ef);
	lt_unwind_table_free(&t);
	assert_null(t.rows);
	assert_int_equal(t.nrows, 0);
}

/* The BPF pages, read back, must say the same as the flat table at every byte. */
static void test_fixture_pages_agree(void **state)
{
	struct fixture *f = *state;
	struct lt_unwind_row rows[LT_UNWIND_PAGE_BYTES];
	uint64_t first, last;

	assert_int_equal(lt_unwind_table_pages(&f->table, &first, &last), 0);
	assert_true(first <= last);
	assert_int_equal(first, f->table.rows[0].file_offset >> LT_UNWIND_PAGE_SHIFT);
	for (uint64_t page = first; page <= last; page++) {
		size_t n = lt_unwind_page_rows(&f->table, page, rows, LT_UNWIND_PAGE_BYTES), k = 0;

		if (!n)
			continue;
		assert_int_equal(rows[0].page_offset, 0);
		for (uint32_t b = 0; b < LT_UNWIND_PAGE_BYTES; b++) {
			uint64_t offset = (page << LT_UNWIND_PAGE_SHIFT) + b;
			const struct lt_unwind_file_row *want = rule_at(&f->table, offset);

			while (k + 1 < n && rows[k + 1].page_offset <= b)
				k++;
			if (!want) {
				assert_int_equal(rows[k].cfa_rule, LT_CFA_NONE);
				continue;
			}
			assert_int_equal(rows[k].cfa_rule, want->cfa_rule);
			assert_int_equal(rows[k].rbp_rule, want->rbp_rule);
			assert_int_equal(rows[k].cfa_offset, want->cfa_offset);
			assert_int_equal(rows[k].aux, want->aux);
		}
	}
}

/* A hand-made table: page 0 before it, page 1 starts with a gap, page 2 has a
 * row on its boundary, page 3 begins with a carried-in rule, page 4 has
 * nothing, page 5 begins with a gap, page 6 is past the last row. */
static struct lt_unwind_file_row hand_rows[] = {
	{ 0x1010, LT_CFA_RSP, LT_RBP_SAME, 8, 0 },
	{ 0x1020, LT_CFA_RBP, LT_RBP_AT_CFA, 16, -16 },
	{ 0x2000, LT_CFA_RSP, LT_RBP_SAME, 8, 0 },
	{ 0x2800, LT_CFA_RBP, LT_RBP_AT_CFA, 16, -16 },
	{ 0x3100, LT_CFA_RSP, LT_RBP_SAME, 8, 0 },
	{ 0x3ff0, LT_CFA_NONE, LT_RBP_SAME, 0, 0 },
	{ 0x5100, LT_CFA_PLT, LT_RBP_SAME, 8, PLT_THRESHOLD },
	{ 0x5140, LT_CFA_NONE, LT_RBP_SAME, 0, 0 },
};

static const struct lt_unwind_table hand = { hand_rows, sizeof(hand_rows) / sizeof(hand_rows[0]) };

static void assert_bpf_row(const struct lt_unwind_row *r, unsigned page_offset, int cfa_rule,
			   int cfa_offset, int rbp_rule, int aux)
{
	assert_int_equal(r->page_offset, page_offset);
	assert_int_equal(r->cfa_rule, cfa_rule);
	assert_int_equal(r->cfa_offset, cfa_offset);
	assert_int_equal(r->rbp_rule, rbp_rule);
	assert_int_equal(r->aux, aux);
}

static void test_page_rows(void **state)
{
	struct lt_unwind_row out[8];
	(void)state;

	assert_int_equal(lt_unwind_page_rows(&hand, 0, out, 8), 0);

	/* Before the first row nothing is known: the carried-in row says so. */
	assert_int_equal(lt_unwind_page_rows(&hand, 1, out, 8), 3);
	assert_bpf_row(&out[0], 0, LT_CFA_NONE, 0, LT_RBP_SAME, 0);
	assert_bpf_row(&out[1], 0x10, LT_CFA_RSP, 8, LT_RBP_SAME, 0);
	assert_bpf_row(&out[2], 0x20, LT_CFA_RBP, 16, LT_RBP_AT_CFA, -16);

	/* The row on the boundary is the first row; the one before it is not carried in. */
	assert_int_equal(lt_unwind_page_rows(&hand, 2, out, 8), 2);
	assert_bpf_row(&out[0], 0, LT_CFA_RSP, 8, LT_RBP_SAME, 0);
	assert_bpf_row(&out[1], 0x800, LT_CFA_RBP, 16, LT_RBP_AT_CFA, -16);

	assert_int_equal(lt_unwind_page_rows(&hand, 3, out, 8), 3);
	assert_bpf_row(&out[0], 0, LT_CFA_RBP, 16, LT_RBP_AT_CFA, -16);
	assert_bpf_row(&out[1], 0x100, LT_CFA_RSP, 8, LT_RBP_SAME, 0);
	assert_bpf_row(&out[2], 0xff0, LT_CFA_NONE, 0, LT_RBP_SAME, 0);

	/* Covered only by the gap row of page 3: no entry needed. */
	assert_int_equal(lt_unwind_page_rows(&hand, 4, out, 8), 0);

	/* A gap carried in does not hide the rows that follow in the page. */
	assert_int_equal(lt_unwind_page_rows(&hand, 5, out, 8), 3);
	assert_bpf_row(&out[0], 0, LT_CFA_NONE, 0, LT_RBP_SAME, 0);
	assert_bpf_row(&out[1], 0x100, LT_CFA_PLT, 8, LT_RBP_SAME, PLT_THRESHOLD);
	assert_bpf_row(&out[2], 0x140, LT_CFA_NONE, 0, LT_RBP_SAME, 0);

	assert_int_equal(lt_unwind_page_rows(&hand, 6, out, 8), 0);
	assert_int_equal(lt_unwind_page_rows(&hand, 1ull << 40, out, 8), 0);
}

static void test_page_rows_max(void **state)
{
	struct lt_unwind_row out[4], untouched;
	(void)state;

	memset(&untouched, 0xa5, sizeof(untouched));
	for (size_t i = 0; i < 4; i++)
		out[i] = untouched;
	/* The count says how big a buffer the page needs, whatever max was. */
	assert_int_equal(lt_unwind_page_rows(&hand, 1, out, 1), 3);
	assert_bpf_row(&out[0], 0, LT_CFA_NONE, 0, LT_RBP_SAME, 0);
	assert_memory_equal(&out[1], &untouched, sizeof(untouched));

	out[0] = untouched;
	assert_int_equal(lt_unwind_page_rows(&hand, 3, out, 0), 3);
	assert_memory_equal(&out[0], &untouched, sizeof(untouched));

	assert_int_equal(lt_unwind_page_rows(&hand, 3, out, 2), 3);
	assert_bpf_row(&out[1], 0x100, LT_CFA_RSP, 8, LT_RBP_SAME, 0);
	assert_memory_equal(&out[2], &untouched, sizeof(untouched));
}

static void test_table_pages(void **state)
{
	struct lt_unwind_table empty = { NULL, 0 };
	struct lt_unwind_file_row one = { 0x12345, LT_CFA_RSP, LT_RBP_SAME, 8, 0 };
	struct lt_unwind_table single = { &one, 1 };
	struct lt_unwind_row out[2];
	uint64_t first = 77, last = 77;
	(void)state;

	assert_int_equal(lt_unwind_table_pages(&hand, &first, &last), 0);
	assert_int_equal(first, 1);
	assert_int_equal(last, 5);

	assert_int_equal(lt_unwind_table_pages(&single, &first, &last), 0);
	assert_int_equal(first, 0x12);
	assert_int_equal(last, 0x12);
	/* A lone row's rule runs to the end of the table: later pages carry it in. */
	assert_int_equal(lt_unwind_page_rows(&single, 0x12, out, 2), 2);
	assert_int_equal(lt_unwind_page_rows(&single, 0x13, out, 2), 1);
	assert_bpf_row(&out[0], 0, LT_CFA_RSP, 8, LT_RBP_SAME, 0);

	first = last = 77;
	assert_int_equal(lt_unwind_table_pages(&empty, &first, &last), -ENOENT);
	assert_int_equal(lt_unwind_page_rows(&empty, 0, out, 2), 0);
	assert_int_equal(lt_unwind_page_rows(&empty, 5, out, 2), 0);
}

/* Builds from a file with these bytes; the table must come back empty on error. */
static int build_bytes(struct fixture *f, const void *buf, size_t len)
{
	struct lt_unwind_table t = { (void *)1, 1 };
	char path[PATH_MAX + 32];
	int err;

	snprintf(path, sizeof(path), "%s/input", f->tmpdir);
	test_write_file(path, buf, len, 0600);
	err = build_path(path, &t);
	unlink(path);
	if (err) {
		assert_null(t.rows);
		assert_int_equal(t.nrows, 0);
	} else {
		assert_well_formed(&t);
		lt_unwind_table_free(&t);
	}
	return err;
}

static void test_not_elf(void **state)
{
	static const char text[] = "#!/bin/sh\necho this is not an ELF file\n";
	struct fixture *f = *state;
	struct lt_unwind_table t;
	unsigned char buf[4096];

	assert_int_equal(build_bytes(f, text, sizeof(text) - 1), -ENOEXEC);
	assert_int_equal(build_bytes(f, "", 0), -ENOEXEC);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(build_bytes(f, buf, sizeof(buf)), -ENOEXEC);
	assert_true(lt_unwind_table_build(-1, &t) < 0);
}

static Elf64_Ehdr minimal_ehdr(void)
{
	Elf64_Ehdr eh;

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	return eh;
}

/* A valid ELF header and a single PT_LOAD: nothing to unwind with. */
static void test_no_eh_frame_hdr(void **state)
{
	struct fixture *f = *state;
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		unsigned char code[16];
	} img;

	memset(&img, 0, sizeof(img));
	img.eh = minimal_ehdr();
	img.eh.e_phoff = offsetof(__typeof__(img), ph);
	img.eh.e_phnum = 1;
	img.ph.p_type = PT_LOAD;
	img.ph.p_flags = PF_R | PF_X;
	img.ph.p_filesz = img.ph.p_memsz = sizeof(img);
	img.ph.p_align = 0x1000;
	memset(img.code, 0xc3, sizeof(img.code));
	assert_int_equal(build_bytes(f, &img, sizeof(img)), -ENOENT);

	/* No program headers at all. */
	img.eh.e_phnum = 0;
	img.eh.e_phoff = 0;
	assert_int_equal(build_bytes(f, &img, sizeof(img)), -ENOENT);

	/* The same shape for another machine or class is not ours to read. */
	img.eh.e_machine = EM_AARCH64;
	assert_int_equal(build_bytes(f, &img, sizeof(img)), -ENOEXEC);
	img.eh.e_machine = EM_X86_64;
	img.eh.e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(build_bytes(f, &img, sizeof(img)), -ENOEXEC);
}

static Elf64_Phdr *fixture_phdr(unsigned char *bytes, size_t len, uint32_t type)
{
	Elf64_Ehdr *eh = (void *)bytes;

	assert_true(eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr) <= len);
	for (size_t i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr *ph = (void *)(bytes + eh->e_phoff + i * sizeof(Elf64_Phdr));

		if (ph->p_type == type)
			return ph;
	}
	fail_msg("no program header of type %#x", type);
	return NULL;
}

/* The fixture itself, with its .eh_frame_hdr damaged in one way at a time. */
static void test_bad_eh_frame_hdr(void **state)
{
	struct fixture *f = *state;
	unsigned char *copy = malloc(f->len);
	Elf64_Phdr *ph;
	uint64_t hdr;
	uint32_t huge = 0x7fffffff;

	assert_non_null(copy);
	memcpy(copy, f->bytes, f->len);
	assert_int_equal(build_bytes(f, copy, f->len), 0);

	ph = fixture_phdr(copy, f->len, PT_GNU_EH_FRAME);
	hdr = ph->p_offset;
	assert_true(hdr + 12 <= f->len);

	ph->p_type = PT_NULL;
	assert_int_equal(build_bytes(f, copy, f->len), -ENOENT);
	ph->p_type = PT_GNU_EH_FRAME;

	ph->p_offset = f->len + 4096;
	assert_int_equal(build_bytes(f, copy, f->len), -ENOENT);
	ph->p_offset = hdr;

	ph->p_filesz = 3;
	assert_int_equal(build_bytes(f, copy, f->len), -ENOENT);
	ph->p_filesz = 12;
	/* Room for the header but none for the table it announces. */
	assert_int_equal(build_bytes(f, copy, f->len), -ENOENT);
	memcpy(copy, f->bytes, f->len);

	copy[hdr] = 2; /* version */
	assert_int_equal(build_bytes(f, copy, f->len), -ENOENT);
	copy[hdr] = f->bytes[hdr];

	copy[hdr + 3] = 0x03; /* table encoding other than datarel sdata4 */
	assert_int_equal(build_bytes(f, copy, f->len), -ENOENT);
	copy[hdr + 3] = f->bytes[hdr + 3];

	memcpy(copy + hdr + 8, &huge, 4); /* FDE count past the section */
	assert_int_equal(build_bytes(f, copy, f->len), -ENOENT);
	free(copy);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	const Elf64_Phdr *ph = fixture_phdr(f->bytes, f->len, PT_GNU_EH_FRAME);
	size_t cuts[] = { 4, 63, 64, 100, ph->p_offset, ph->p_offset + 6, ph->p_offset + 20,
			  ph->p_offset + ph->p_filesz + 16, f->len / 2, f->len - 1 };

	assert_int_equal(build_bytes(f, f->bytes, f->len), 0);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		int err;

		assert_true(cuts[i] < f->len);
		err = build_bytes(f, f->bytes, cuts[i]);
		/* Without the section headers at the end, libdw reads .eh_frame through
		 * the header; a table is allowed if it still makes sense. */
		if (cuts[i] > ph->p_offset + ph->p_filesz && err == 0)
			continue;
		assert_true(err == -ENOEXEC || err == -ENOENT);
	}
}

/* Random byte flips in the call-frame sections: an error or a well-formed
 * table, never a crash, sanitizer report or disorder. */
static void test_mutations(void **state)
{
	struct fixture *f = *state;
	const Elf64_Phdr *ph = fixture_phdr(f->bytes, f->len, PT_GNU_EH_FRAME);
	unsigned char *copy = malloc(f->len);
	size_t lo = ph->p_offset, span = 0x200, built = 0;

	assert_non_null(copy);
	assert_true(lo + span <= f->len);
	srand(777);
	for (int iter = 0; iter < 600; iter++) {
		int err;

		memcpy(copy, f->bytes, f->len);
		for (int k = 0; k < 1 + iter % 6; k++)
			copy[lo + (size_t)rand() % span] = (unsigned char)rand();
		err = build_bytes(f, copy, f->len);
		if (!err) {
			built++;
			continue;
		}
		assert_true(err == -ENOENT || err == -ENOEXEC || err == -E2BIG);
	}
	free(copy);
	/* Flips in padding or in unread instructions leave a usable table. */
	assert_true(built > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_well_formed),
		cmocka_unit_test(test_handwritten_cfi),
		cmocka_unit_test(test_plt),
		cmocka_unit_test(test_start_ends_stack),
		cmocka_unit_test(test_libc_well_formed),
		cmocka_unit_test(test_fixture_pages_agree),
		cmocka_unit_test(test_page_rows),
		cmocka_unit_test(test_page_rows_max),
		cmocka_unit_test(test_table_pages),
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_no_eh_frame_hdr),
		cmocka_unit_test(test_bad_eh_frame_hdr),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
