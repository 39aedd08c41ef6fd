// SPDX-License-Identifier: MIT
#include "unwind/unwind_table.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/grow_array.h"
#include "unwind/cfi_check.h"

#define DWARF_REG_RBP 6
#define DWARF_REG_RSP 7
#define DWARF_REG_RA 16

/* .eh_frame_hdr pointer encodings (LSB "Exception Frame Header"). */
#define EH_PE_OMIT 0xff
#define EH_PE_DATAREL_SDATA4 0x3b

#define MAX_LOADS 16
/* Without section headers .eh_frame is found only by reading the whole file. */
#define LT_UNWIND_MAX_WHOLE_FILE (64u << 20)

struct load_segment {
	uint64_t vaddr;
	uint64_t offset;
	uint64_t filesz;
};

struct builder {
	struct load_segment loads[MAX_LOADS];
	size_t nloads;
	struct lt_unwind_file_row *rows;
	size_t nrows;
	size_t cap;
};

static int vaddr_to_offset(const struct builder *b, uint64_t vaddr, uint64_t *offset)
{
	for (size_t i = 0; i < b->nloads; i++) {
		const struct load_segment *l = &b->loads[i];

		if (vaddr >= l->vaddr && vaddr - l->vaddr < l->filesz) {
			*offset = vaddr - l->vaddr + l->offset;
			return 0;
		}
	}
	return -ENOENT;
}

static bool same_rule(const struct lt_unwind_file_row *a, const struct lt_unwind_file_row *b)
{
	return a->cfa_rule == b->cfa_rule && a->rbp_rule == b->rbp_rule &&
	       a->cfa_offset == b->cfa_offset && a->aux == b->aux;
}

static int push_row(struct builder *b, uint64_t vaddr, const struct lt_unwind_file_row *rule)
{
	struct lt_unwind_file_row *last = b->nrows ? &b->rows[b->nrows - 1] : NULL;
	struct lt_unwind_file_row *rows;
	uint64_t offset;

	if (vaddr_to_offset(b, vaddr, &offset))
		return 0; /* not in the file image: no process runs it */
	if (last && same_rule(last, rule) && last->file_offset <= offset)
		return 0;
	if (b->nrows >= LT_UNWIND_MAX_FILE_ROWS)
		return -E2BIG;
	rows = lt_grow(b->rows, &b->cap, b->nrows + 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	b->rows = rows;
	b->rows[b->nrows] = *rule;
	b->rows[b->nrows].file_offset = offset;
	b->nrows++;
	return 0;
}

static bool fits_s16(int64_t v)
{
	return v >= INT16_MIN && v <= INT16_MAX;
}

/* DW_OP_bregN / DW_OP_bregx: register and offset, else -1. */
static int breg_of(const Dwarf_Op *op, int64_t *offset)
{
	if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		*offset = (int64_t)op->number;
		return op->atom - DW_OP_breg0;
	}
	if (op->atom == DW_OP_bregx) {
		*offset = (int64_t)op->number2;
		return (int)op->number;
	}
	return -1;
}

/* The expression GNU ld gives a lazy-binding .plt:
 * rsp + 8 + ((rip & 15) >= N) << 3, with N = 11 (or 10 for older stubs). */
static bool is_plt_expression(const Dwarf_Op *ops, size_t nops, int64_t *base, int *threshold)
{
	int64_t rip_offset;

	if (nops != 9 || breg_of(&ops[0], base) != DWARF_REG_RSP ||
	    breg_of(&ops[1], &rip_offset) != DWARF_REG_RA || rip_offset != 0 ||
	    ops[2].atom != DW_OP_lit15 || ops[3].atom != DW_OP_and ||
	    ops[4].atom < DW_OP_lit0 || ops[4].atom > DW_OP_lit31 || ops[5].atom != DW_OP_ge ||
	    ops[6].atom != DW_OP_lit3 || ops[7].atom != DW_OP_shl || ops[8].atom != DW_OP_plus)
		return false;
	*threshold = ops[4].atom - DW_OP_lit0;
	return true;
}

/* [DW_OP_call_frame_cfa, DW_OP_plus_uconst N]: saved at CFA + N. */
static bool is_cfa_slot(const Dwarf_Op *ops, size_t nops, int64_t *offset)
{
	if (nops == 1 && ops[0].atom == DW_OP_call_frame_cfa) {
		*offset = 0;
		return true;
	}
	if (nops != 2 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (ops[1].atom == DW_OP_plus_uconst || ops[1].atom == DW_OP_consts) {
		*offset = (int64_t)ops[1].number;
		return true;
	}
	return false;
}

static void frame_rule(Dwarf_Frame *frame, struct lt_unwind_file_row *r)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	int64_t offset;
	int reg, threshold;
	bool signal = false;

	memset(r, 0, sizeof(*r));
	r->cfa_rule = LT_CFA_UNSUPPORTED;
	if (dwarf_frame_info(frame, NULL, NULL, &signal) != DWARF_REG_RA || signal)
		return; /* a signal frame's caller state is in the ucontext */

	if (dwarf_frame_register(frame, DWARF_REG_RA, mem, &ops, &nops))
		return;
	if (nops == 0 && ops == mem) {
		r->cfa_rule = LT_CFA_END;
		return;
	}
	if (!is_cfa_slot(ops, nops, &offset) || offset != -8)
		return;

	if (dwarf_frame_cfa(frame, &ops, &nops) || nops == 0)
		return;
	if (nops == 1) {
		reg = breg_of(&ops[0], &offset);
		if ((reg != DWARF_REG_RSP && reg != DWARF_REG_RBP) || !fits_s16(offset))
			return;
		r->cfa_rule = reg == DWARF_REG_RSP ? LT_CFA_RSP : LT_CFA_RBP;
		r->cfa_offset = (int16_t)offset;
	} else if (is_plt_expression(ops, nops, &offset, &threshold) && fits_s16(offset)) {
		r->cfa_rule = LT_CFA_PLT;
		r->cfa_offset = (int16_t)offset;
		r->aux = (int16_t)threshold;
		return; /* PLT stubs leave rbp alone */
	} else {
		return;
	}

	if (dwarf_frame_register(frame, DWARF_REG_RBP, mem, &ops, &nops)) {
		r->rbp_rule = LT_RBP_LOST;
	} else if (nops == 0) {
		r->rbp_rule = ops ? LT_RBP_LOST : LT_RBP_SAME;
	} else if (is_cfa_slot(ops, nops, &offset) && fits_s16(offset)) {
		r->rbp_rule = LT_RBP_AT_CFA;
		r->aux = (int16_t)offset;
	} else {
		r->rbp_rule = LT_RBP_LOST;
	}
}

static const struct lt_unwind_file_row no_info = { .cfa_rule = LT_CFA_NONE };

/* Rows of the FDE that starts at start, up to (at most) limit. */
static int add_fde_rows(struct builder *b, Dwarf_CFI *cfi, uint64_t start, uint64_t limit)
{
	uint64_t addr = start;
	int err;

	while (addr < limit) {
		struct lt_unwind_file_row r;
		Dwarf_Frame *frame;
		Dwarf_Addr row_start, row_end;

		if (dwarf_cfi_addrframe(cfi, addr, &frame))
			break;
		if (dwarf_frame_info(frame, &row_start, &row_end, NULL) < 0 || row_end <= addr) {
			free(frame);
			break;
		}
		frame_rule(frame, &r);
		free(frame);
		err = push_row(b, addr, &r);
		if (err)
			return err;
		addr = row_end;
	}
	/* The gap up to the next function has no information. */
	if (addr > start && addr < limit)
		return push_row(b, addr, &no_info);
	return 0;
}

static int read_encoded_u32(const uint8_t *p, const uint8_t *end, uint8_t enc, uint64_t *value)
{
	/* Only the 4-byte forms compilers and linkers emit in .eh_frame_hdr. */
	if ((enc & 0x0f) != 0x03 && (enc & 0x0f) != 0x0b)
		return -ENOENT;
	if (end - p < 4)
		return -ENOENT;
	uint32_t v;
	memcpy(&v, p, 4);
	*value = (enc & 0x0f) == 0x0b ? (uint64_t)(int64_t)(int32_t)v : v;
	return 0;
}

static int compare_rows(const void *a, const void *b)
{
	const struct lt_unwind_file_row *x = a, *y = b;

	return x->file_offset < y->file_offset ? -1 : x->file_offset > y->file_offset;
}

static void sort_and_dedupe(struct builder *b)
{
	size_t out = 0;

	if (!b->nrows)
		return; /* rows is NULL then, which qsort must not be given */
	qsort(b->rows, b->nrows, sizeof(*b->rows), compare_rows);
	for (size_t i = 0; i < b->nrows; i++) {
		/* Overlapping FDEs (broken files): the later row wins. */
		if (out && b->rows[out - 1].file_offset == b->rows[i].file_offset)
			out--;
		/* Rows pushed out of order only meet their neighbours here. */
		if (out && same_rule(&b->rows[out - 1], &b->rows[i]))
			continue;
		b->rows[out++] = b->rows[i];
	}
	b->nrows = out;
}

/* .eh_frame_hdr: where .eh_frame is and the sorted table of FDEs. */
struct eh_hdr {
	GElf_Phdr ph;
	uint64_t eh_frame_ptr; /* vaddr */
	const uint8_t *table;  /* fde_count pairs (location, FDE), datarel sdata4 */
	uint64_t fde_count;
};

static int read_hdr(Elf *elf, struct eh_hdr *h)
{
	Elf_Data *data;
	const uint8_t *p, *end;
	uint8_t ptr_enc, count_enc, table_enc;

	data = elf_getdata_rawchunk(elf, h->ph.p_offset, h->ph.p_filesz, ELF_T_BYTE);
	if (!data || data->d_size < 4)
		return -ENOENT;
	p = data->d_buf;
	end = p + data->d_size;
	if (p[0] != 1)
		return -ENOENT;
	ptr_enc = p[1];
	count_enc = p[2];
	table_enc = p[3];
	p += 4;
	if (ptr_enc == EH_PE_OMIT || read_encoded_u32(p, end, ptr_enc, &h->eh_frame_ptr))
		return -ENOENT;
	p += 4;
	if (count_enc == EH_PE_OMIT || table_enc != EH_PE_DATAREL_SDATA4 ||
	    read_encoded_u32(p, end, count_enc, &h->fde_count))
		return -ENOENT;
	p += 4;
	if (h->fde_count > (uint64_t)(end - p) / 8)
		return -ENOENT;
	h->table = p;
	return 0;
}

static int build_rows(struct builder *b, Dwarf_CFI *cfi, const struct eh_hdr *h)
{
	const uint8_t *p = h->table;
	int err;

	for (uint64_t i = 0; i < h->fde_count; i++) {
		int32_t loc, next_loc;
		uint64_t start, limit;

		memcpy(&loc, p + 8 * i, 4);
		start = h->ph.p_vaddr + (int64_t)loc;
		if (i + 1 < h->fde_count) {
			memcpy(&next_loc, p + 8 * (i + 1), 4);
			limit = h->ph.p_vaddr + (int64_t)next_loc;
		} else {
			limit = UINT64_MAX;
		}
		if (limit < start) /* an unsorted, broken table: rows are sorted below */
			limit = UINT64_MAX;
		err = add_fde_rows(b, cfi, start, limit);
		if (err)
			return err;
	}
	sort_and_dedupe(b);
	return b->nrows ? 0 : -ENOENT;
}

/*
 * The .eh_frame bytes dwarf_getcfi_elf() will use, in *data (at *vaddr), so
 * that they are checked first. With section headers it takes the section
 * named .eh_frame, and its search table from the one named .eh_frame_hdr;
 * a file where these are missing, repeated or not the PT_GNU_EH_FRAME
 * segment is refused: libdw would read other bytes than those checked, or
 * fall back to the program headers after reading the whole file, when
 * libelf (0.188) leaks the section data it read before (found by
 * fuzz_unwind). No compiler or linker writes such a file.
 */
static int find_eh_frame(Elf *elf, uint64_t file_size, const struct eh_hdr *h,
			 Elf_Data *storage, Elf_Data **data, uint64_t *vaddr)
{
	size_t shnum, shstrndx, size, eh_frames = 0, hdrs = 0;
	Elf_Scn *scn = NULL, *eh_frame = NULL;
	uint64_t offset;
	const char *name;
	char *raw;
	GElf_Shdr sh;

	if (elf_getshdrnum(elf, &shnum) || !shnum || elf_getshdrstrndx(elf, &shstrndx) ||
	    !shstrndx) {
		/* libdw reads the whole file and takes all of it past .eh_frame:
		 * fine for the small programs sstrip makes, not for a sparse
		 * file of any size a traced process may map. */
		if (file_size > LT_UNWIND_MAX_WHOLE_FILE)
			return -ENOENT;
		offset = h->eh_frame_ptr - h->ph.p_vaddr + h->ph.p_offset;
		raw = elf_rawfile(elf, &size);
		if (!raw || offset >= size)
			return -ENOENT;
		*storage = (Elf_Data){ .d_buf = raw + offset, .d_size = size - offset,
				       .d_type = ELF_T_BYTE };
		*data = storage;
		*vaddr = h->eh_frame_ptr;
		return 0;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".eh_frame")) {
			eh_frame = scn;
			*vaddr = sh.sh_addr;
			eh_frames++;
		} else if (name && !strcmp(name, ".eh_frame_hdr")) {
			if (sh.sh_offset != h->ph.p_offset || sh.sh_size != h->ph.p_filesz)
				return -ENOENT;
			hdrs++;
		}
	}
	if (eh_frames != 1 || hdrs > 1)
		return -ENOENT;
	*data = elf_rawdata(eh_frame, NULL);
	return *data && (*data)->d_buf ? 0 : -ENOENT;
}

int lt_unwind_table_build(int fd, struct lt_unwind_table *out)
{
	struct builder b = { 0 };
	struct eh_hdr hdr = { 0 };
	Elf_Data eh_frame_storage, *eh_frame;
	uint64_t eh_frame_vaddr = 0;
	bool have_hdr = false;
	Dwarf_CFI *cfi = NULL;
	GElf_Ehdr ehdr;
	struct stat st;
	size_t nphdr;
	Elf *elf;
	int err;

	memset(out, 0, sizeof(*out));
	/* A traced process may hand over any file it maps (a device, say). */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return -ENOEXEC;
	elf_version(EV_CURRENT);
	/* Read, not mapped: the process can truncate the file under us, and
	 * touching a mapping past the new end is SIGBUS. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		return -ENOEXEC;
	err = -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64 ||
	    !gelf_getehdr(elf, &ehdr) || ehdr.e_machine != EM_X86_64 ||
	    elf_getphdrnum(elf, &nphdr))
		goto cleanup;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			goto cleanup;
		if (ph.p_type == PT_LOAD && b.nloads < MAX_LOADS) {
			b.loads[b.nloads].vaddr = ph.p_vaddr;
			b.loads[b.nloads].offset = ph.p_offset;
			b.loads[b.nloads].filesz = ph.p_filesz;
			b.nloads++;
		} else if (ph.p_type == PT_GNU_EH_FRAME) {
			hdr.ph = ph;
			have_hdr = true;
		}
	}
	err = -ENOENT;
	if (!have_hdr)
		goto cleanup;
	err = read_hdr(elf, &hdr);
	if (!err)
		err = find_eh_frame(elf, (uint64_t)st.st_size, &hdr, &eh_frame_storage, &eh_frame,
				    &eh_frame_vaddr);
	if (err)
		goto cleanup;
	/* Programs that would cost libdw gigabytes or minutes: a hostile file. */
	if (lt_cfi_check((const unsigned char *)elf_getident(elf, NULL), eh_frame, eh_frame_vaddr,
			 hdr.table, hdr.fde_count, hdr.ph.p_vaddr)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = -ENOENT;
	cfi = dwarf_getcfi_elf(elf);
	if (!cfi)
		goto cleanup;
	err = build_rows(&b, cfi, &hdr);
	if (err)
		goto cleanup;
	out->rows = b.rows;
	out->nrows = b.nrows;
	b.rows = NULL;
cleanup:
	if (cfi)
		dwarf_cfi_end(cfi);
	free(b.rows);
	elf_end(elf);
	return err;
}

void lt_unwind_table_free(struct lt_unwind_table *t)
{
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

/* Index of the last row starting at or before offset, or -1. */
static long row_at(const struct lt_unwind_table *t, uint64_t offset)
{
	size_t lo = 0, hi = t->nrows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].file_offset <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

static void to_bpf_row(const struct lt_unwind_file_row *r, uint16_t page_offset,
		       struct lt_unwind_row *out)
{
	out->page_offset = page_offset;
	out->cfa_rule = r->cfa_rule;
	out->rbp_rule = r->rbp_rule;
	out->cfa_offset = r->cfa_offset;
	out->aux = r->aux;
}

size_t lt_unwind_page_rows(const struct lt_unwind_table *t, uint64_t page,
			   struct lt_unwind_row *out, size_t max)
{
	uint64_t page_start = page << LT_UNWIND_PAGE_SHIFT;
	uint64_t page_end = page_start + LT_UNWIND_PAGE_BYTES;
	long i = row_at(t, page_start);
	size_t n = 0;
	bool any_info = false;

	if (i < 0) {
		if (!t->nrows || t->rows[0].file_offset >= page_end)
			return 0;
		if (n < max)
			to_bpf_row(&no_info, 0, &out[n]);
		n++;
		i = 0;
	} else {
		any_info = t->rows[i].cfa_rule != LT_CFA_NONE;
		if (n < max)
			to_bpf_row(&t->rows[i], 0, &out[n]);
		n++;
		i++;
	}
	for (; (size_t)i < t->nrows && t->rows[i].file_offset < page_end; i++) {
		any_info |= t->rows[i].cfa_rule != LT_CFA_NONE;
		if (n < max)
			to_bpf_row(&t->rows[i], (uint16_t)(t->rows[i].file_offset - page_start),
				   &out[n]);
		n++;
	}
	return any_info ? n : 0;
}

int lt_unwind_table_pages(const struct lt_unwind_table *t, uint64_t *first_page,
			  uint64_t *last_page)
{
	if (!t->nrows)
		return -ENOENT;
	*first_page = t->rows[0].file_offset >> LT_UNWIND_PAGE_SHIFT;
	*last_page = t->rows[t->nrows - 1].file_offset >> LT_UNWIND_PAGE_SHIFT;
	return 0;
}
