// SPDX-License-Identifier: MIT
/*
 * ELF files of traced processes. They are untrusted input (any file can be
 * mapped executable), so every table is checked against the file size before
 * libelf is asked to read it, and a bad file is refused with -ENOEXEC.
 */
#include "symbols/elf_file.h"

#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/grow_array.h"
#include "symbols/elf_file_internal.h"
#include "symbols/untrusted_file.h"

/* Longer than any real build-id (sha1 is 20 bytes); longer notes are ignored. */
#define BUILD_ID_MAX 64
_Static_assert(BUILD_ID_MAX * 2 + 1 == LT_ELF_BUILD_ID_LEN, "hex build-id room");
#define VERSYM_HIDDEN 0x8000

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static bool elf_usable;

static void elf_init(void)
{
	elf_usable = elf_version(EV_CURRENT) != EV_NONE;
}

/* --- header sanity --- */

static bool range_in_file(uint64_t off, uint64_t count, uint64_t entsize, uint64_t size)
{
	if (entsize && count > UINT64_MAX / entsize)
		return false;
	if (off > size)
		return false;
	return count * entsize <= size - off;
}

/*
 * libelf quietly reports zero sections when the table lies beyond the end of
 * the file, so compare its counts with the raw header and check the tables
 * against the file size ourselves.
 */
static int check_headers(struct lt_elf_file *ef)
{
	size_t phnum, shnum;
	GElf_Ehdr eh;

	if (!gelf_getehdr(ef->elf, &eh))
		return -ENOEXEC;
	if (elf_getphdrnum(ef->elf, &phnum) || elf_getshdrnum(ef->elf, &shnum))
		return -ENOEXEC;
	if (eh.e_phnum != PN_XNUM && phnum != eh.e_phnum)
		return -ENOEXEC;
	if (eh.e_shnum && shnum != eh.e_shnum)
		return -ENOEXEC;
	if (phnum && (eh.e_phentsize != gelf_fsize(ef->elf, ELF_T_PHDR, 1, EV_CURRENT) ||
		      !range_in_file(eh.e_phoff, phnum, eh.e_phentsize, ef->file_size)))
		return -ENOEXEC;
	/* With e_shnum == 0 the count lives in section 0, which must exist. */
	if (eh.e_shoff && (eh.e_shentsize != gelf_fsize(ef->elf, ELF_T_SHDR, 1, EV_CURRENT) ||
			   !range_in_file(eh.e_shoff, shnum ? shnum : 1, eh.e_shentsize,
					  ef->file_size)))
		return -ENOEXEC;
	ef->is_dyn = eh.e_type == ET_DYN;
	return 0;
}

/* --- segments --- */

static bool add_overflows(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b;
}

static int load_segments(struct lt_elf_file *ef)
{
	size_t phnum, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(ef->elf, &phnum))
		return -ENOEXEC;
	if (!phnum)
		return 0;
	ef->segs = calloc(phnum, sizeof(*ef->segs));
	if (!ef->segs)
		return -ENOMEM;
	for (i = 0; i < phnum; i++) {
		if (!gelf_getphdr(ef->elf, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD)
			continue;
		if (add_overflows(ph.p_vaddr, ph.p_memsz) || ph.p_filesz > ph.p_memsz ||
		    !range_in_file(ph.p_offset, ph.p_filesz, 1, ef->file_size))
			return -ENOEXEC;
		ef->segs[ef->nsegs++] = (struct elf_segment){
			.vaddr = ph.p_vaddr,
			.memsz = ph.p_memsz,
			.offset = ph.p_offset,
			.filesz = ph.p_filesz,
			.exec = ph.p_flags & PF_X,
		};
	}
	return 0;
}

/* --- build-id --- */

static void hex_encode(const unsigned char *src, size_t n, char *dst)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = digits[src[i] >> 4];
		dst[2 * i + 1] = digits[src[i] & 0xf];
	}
	dst[2 * n] = '\0';
}

static bool build_id_from_notes(struct lt_elf_file *ef, const Elf_Data *data)
{
	size_t off = 0, next, name_off, desc_off;
	const unsigned char *buf = data->d_buf;
	GElf_Nhdr nh;

	if (!buf)
		return false;
	while (off < data->d_size &&
	       (next = gelf_getnote((Elf_Data *)data, off, &nh, &name_off, &desc_off)) > 0) {
		off = next;
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != sizeof(ELF_NOTE_GNU))
			continue;
		if (nh.n_descsz == 0 || nh.n_descsz > BUILD_ID_MAX)
			continue;
		if (name_off + nh.n_namesz > data->d_size || desc_off + nh.n_descsz > data->d_size)
			continue;
		if (memcmp(buf + name_off, ELF_NOTE_GNU, sizeof(ELF_NOTE_GNU)))
			continue;
		hex_encode(buf + desc_off, nh.n_descsz, ef->build_id);
		return true;
	}
	return false;
}

static bool build_id_from_segments(struct lt_elf_file *ef)
{
	size_t phnum, i;
	Elf_Data *data;
	GElf_Phdr ph;

	if (elf_getphdrnum(ef->elf, &phnum))
		return false;
	for (i = 0; i < phnum; i++) {
		if (!gelf_getphdr(ef->elf, (int)i, &ph) || ph.p_type != PT_NOTE || !ph.p_filesz)
			continue;
		if (!range_in_file(ph.p_offset, ph.p_filesz, 1, ef->file_size))
			continue;
		data = elf_getdata_rawchunk(ef->elf, (int64_t)ph.p_offset, ph.p_filesz,
					    ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (data && build_id_from_notes(ef, data))
			return true;
	}
	return false;
}

static bool build_id_from_sections(struct lt_elf_file *ef)
{
	Elf_Scn *scn = NULL;
	Elf_Data *data;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (data && build_id_from_notes(ef, data))
			return true;
	}
	return false;
}

static void load_build_id(struct lt_elf_file *ef)
{
	/* Segments first: they survive stripping of the section headers. */
	if (!build_id_from_segments(ef))
		build_id_from_sections(ef);
}

/* --- symbols --- */

struct sym_vec {
	struct raw_sym *v;
	size_t n, cap;
};

static int sym_push(struct sym_vec *vec, const struct raw_sym *s)
{
	struct raw_sym *v = lt_grow(vec->v, &vec->cap, vec->n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	vec->v = v;
	vec->v[vec->n++] = *s;
	return 0;
}

/* Length of the name without a version suffix ("malloc@@GLIBC_2.2.5" -> 6). */
static size_t base_len(const char *name)
{
	return strcspn(name, "@");
}

static int cmp_base(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static enum sym_rank symbol_rank(const GElf_Sym *s, const char *name, bool hidden)
{
	const char *at = strchr(name, '@');

	/* In .symtab a single '@' marks a non-default version, "@@" the default. */
	if (hidden || (at && at[1] != '@'))
		return RANK_HIDDEN_VERSION;
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL:
		return RANK_GLOBAL;
	case STB_WEAK:
		return RANK_WEAK;
	default:
		return RANK_LOCAL;
	}
}

static bool is_function(const GElf_Sym *s)
{
	int type = GELF_ST_TYPE(s->st_info);

	if (type != STT_FUNC && type != STT_GNU_IFUNC)
		return false;
	return s->st_shndx != SHN_UNDEF && s->st_value != 0;
}

/* The .gnu.version table that belongs to this .dynsym, if any. */
static Elf_Data *find_versym(Elf *elf, size_t symtab_ndx)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym &&
		    sh.sh_link == symtab_ndx)
			return elf_getdata(scn, NULL);
	}
	return NULL;
}

static bool version_hidden(Elf_Data *versym, size_t i)
{
	GElf_Versym vs;

	if (!versym || i > INT32_MAX || !gelf_getversym(versym, (int)i, &vs))
		return false;
	return vs & VERSYM_HIDDEN;
}

static int read_symtab(struct lt_elf_file *ef, Elf_Scn *scn, const GElf_Shdr *sh,
		       struct sym_vec *vec)
{
	size_t entsize = gelf_fsize(ef->elf, ELF_T_SYM, 1, EV_CURRENT), i, count;
	Elf_Data *data, *versym = NULL;
	struct raw_sym rs;
	const char *name;
	GElf_Sym s;

	data = elf_getdata(scn, NULL);
	if (!data || !entsize)
		return -ENOEXEC;
	if (sh->sh_type == SHT_DYNSYM)
		versym = find_versym(ef->elf, elf_ndxscn(scn));
	count = data->d_size / entsize;
	if (count > INT32_MAX)
		return -ENOEXEC;
	for (i = 1; i < count; i++) {
		if (!gelf_getsym(data, (int)i, &s) || !is_function(&s))
			continue;
		name = elf_strptr(ef->elf, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		rs.sym = (struct lt_elf_symbol){ s.st_value, s.st_size, name };
		rs.rank = symbol_rank(&s, name, version_hidden(versym, i));
		if (sym_push(vec, &rs))
			return -ENOMEM;
	}
	return 0;
}

static int add_exec_range(struct lt_elf_file *ef, uint64_t start, uint64_t size)
{
	struct addr_range *v;

	if (!size || add_overflows(start, size))
		return 0;
	v = reallocarray(ef->exec, ef->nexec + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	ef->exec = v;
	ef->exec[ef->nexec++] = (struct addr_range){ start, start + size };
	return 0;
}

/* One pass over the sections: symbol tables and executable ranges. */
static int scan_sections(struct lt_elf_file *ef, struct sym_vec *vec)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t i;
	int err;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if ((sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) == (SHF_ALLOC | SHF_EXECINSTR)) {
			err = add_exec_range(ef, sh.sh_addr, sh.sh_size);
			if (err)
				return err;
		}
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		err = read_symtab(ef, scn, &sh, vec);
		if (err)
			return err;
	}
	if (ef->nexec)
		return 0;
	/* Section headers stripped: fall back to executable segments. */
	for (i = 0; i < ef->nsegs; i++) {
		if (!ef->segs[i].exec)
			continue;
		err = add_exec_range(ef, ef->segs[i].vaddr, ef->segs[i].memsz);
		if (err)
			return err;
	}
	return 0;
}

static size_t leading_underscores(const char *s)
{
	return strspn(s, "_");
}

/* By address; among aliases prefer global, then the least "internal" looking name. */
static int cmp_by_addr(const void *pa, const void *pb)
{
	const struct raw_sym *a = pa, *b = pb;
	size_t ua, ub;

	if (a->sym.vaddr != b->sym.vaddr)
		return a->sym.vaddr < b->sym.vaddr ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	ua = leading_underscores(a->sym.name);
	ub = leading_underscores(b->sym.name);
	if (ua != ub)
		return ua < ub ? -1 : 1;
	return strcmp(a->sym.name, b->sym.name);
}

static bool same_symbol(const struct raw_sym *a, const struct raw_sym *b)
{
	return a->sym.vaddr == b->sym.vaddr &&
	       !cmp_base(a->sym.name, base_len(a->sym.name), b->sym.name, base_len(b->sym.name));
}

/* .symtab and .dynsym list most functions twice; keep the best-ranked copy. */
static void dedupe(struct sym_vec *vec)
{
	size_t i, j, group = 0, n = 0;
	bool dup;

	for (i = 0; i < vec->n; i++) {
		if (n && vec->v[n - 1].sym.vaddr != vec->v[i].sym.vaddr)
			group = n;
		dup = false;
		for (j = group; j < n && !dup; j++) {
			if (!same_symbol(&vec->v[j], &vec->v[i]))
				continue;
			if (vec->v[i].sym.size > vec->v[j].sym.size)
				vec->v[j].sym.size = vec->v[i].sym.size;
			dup = true;
		}
		if (!dup)
			vec->v[n++] = vec->v[i];
	}
	vec->n = n;
}

static uint64_t exec_limit(const struct lt_elf_file *ef, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < ef->nexec; i++) {
		if (vaddr >= ef->exec[i].start && vaddr < ef->exec[i].end)
			return ef->exec[i].end;
	}
	/* Outside any known code: match the exact address only. */
	return vaddr + 1;
}

static void compute_ends(struct lt_elf_file *ef)
{
	uint64_t next = UINT64_MAX, limit, v;
	size_t i;

	for (i = ef->nsyms; i-- > 0;) {
		v = ef->syms[i].vaddr;
		if (ef->syms[i].size) {
			ef->sym_end[i] = add_overflows(v, ef->syms[i].size) ? UINT64_MAX :
									     v + ef->syms[i].size;
		} else {
			limit = exec_limit(ef, v);
			ef->sym_end[i] = next < limit ? next : limit;
		}
		if (i && ef->syms[i - 1].vaddr != v)
			next = v;
	}
}

static int cmp_by_name(const void *pa, const void *pb)
{
	const struct name_entry *a = pa, *b = pb;
	int c = cmp_base(a->sym->name, base_len(a->sym->name), b->sym->name,
			 base_len(b->sym->name));

	if (c)
		return c;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->sym->vaddr != b->sym->vaddr)
		return a->sym->vaddr < b->sym->vaddr ? -1 : 1;
	return 0;
}

static int build_indexes(struct lt_elf_file *ef, const struct sym_vec *vec)
{
	size_t i, n = vec->n ? vec->n : 1;

	ef->syms = calloc(n, sizeof(*ef->syms));
	ef->sym_end = calloc(n, sizeof(*ef->sym_end));
	ef->by_name = calloc(n, sizeof(*ef->by_name));
	if (!ef->syms || !ef->sym_end || !ef->by_name)
		return -ENOMEM;
	ef->nsyms = vec->n;
	for (i = 0; i < vec->n; i++)
		ef->syms[i] = vec->v[i].sym;
	for (i = 0; i < vec->n; i++)
		ef->by_name[i] = (struct name_entry){ &ef->syms[i], vec->v[i].rank };
	qsort(ef->by_name, ef->nsyms, sizeof(*ef->by_name), cmp_by_name);
	compute_ends(ef);
	return 0;
}

static int load_symbols(struct lt_elf_file *ef)
{
	struct sym_vec vec = { 0 };
	int err;

	err = scan_sections(ef, &vec);
	if (err)
		goto out;
	if (vec.n) {
		qsort(vec.v, vec.n, sizeof(*vec.v), cmp_by_addr);
		dedupe(&vec);
	}
	err = build_indexes(ef, &vec);
out:
	free(vec.v);
	return err;
}

/* --- open / close --- */

/* Headers only: what every use of the file needs before its tables. */
static int begin(struct lt_elf_file *ef, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC;
	ef->file_size = (uint64_t)st.st_size;
	/* ELF_C_READ rather than mmap: a file truncated under us must not SIGBUS.
	 * It also reads lazily, so the build-id alone costs a few small reads. */
	ef->elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF)
		return -ENOEXEC;
	return check_headers(ef);
}

static int load(struct lt_elf_file *ef)
{
	int err;

	err = begin(ef, ef->fd);
	if (!err)
		err = load_segments(ef);
	if (!err)
		err = load_symbols(ef);
	if (!err)
		load_build_id(ef);
	return err;
}

int lt_elf_open_fd(int fd, struct lt_elf_file **out)
{
	struct lt_elf_file *ef;
	int err;

	*out = NULL;
	if (fd < 0)
		return -EBADF;
	pthread_once(&elf_once, elf_init);
	if (!elf_usable) {
		close(fd);
		return -ENOSYS;
	}
	ef = calloc(1, sizeof(*ef));
	if (!ef) {
		close(fd);
		return -ENOMEM;
	}
	ef->fd = fd;
	err = load(ef);
	if (err) {
		lt_elf_close(ef);
		return err;
	}
	*out = ef;
	return 0;
}

int lt_elf_read_build_id(int fd, char out[LT_ELF_BUILD_ID_LEN])
{
	struct lt_elf_file ef = { .fd = -1 };
	int err;

	out[0] = '\0';
	pthread_once(&elf_once, elf_init);
	if (!elf_usable)
		return -ENOSYS;
	err = begin(&ef, fd);
	if (!err) {
		load_build_id(&ef);
		memcpy(out, ef.build_id, sizeof(ef.build_id));
	}
	if (ef.elf)
		elf_end(ef.elf);
	return err;
}

int lt_elf_open_path(const char *path, struct lt_elf_file **out)
{
	/* Paths under /proc/PID/root: the process decides what is there. */
	int fd = lt_open_untrusted(path);

	if (fd < 0) {
		*out = NULL;
		return fd == -EINVAL ? -ENOEXEC : fd;
	}
	return lt_elf_open_fd(fd, out);
}

void lt_elf_close(struct lt_elf_file *ef)
{
	if (!ef)
		return;
	if (ef->dwarf)
		dwarf_end(ef->dwarf);
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
	free(ef->segs);
	free(ef->exec);
	free(ef->syms);
	free(ef->sym_end);
	free(ef->by_name);
	free(ef);
}

/* --- queries --- */

int lt_elf_dup_fd(const struct lt_elf_file *ef)
{
	int fd = fcntl(ef->fd, F_DUPFD_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

bool lt_elf_is_dyn(const struct lt_elf_file *ef)
{
	return ef->is_dyn;
}

const char *lt_elf_build_id(const struct lt_elf_file *ef)
{
	return ef->build_id;
}

size_t lt_elf_symbol_count(const struct lt_elf_file *ef)
{
	return ef->nsyms;
}

int lt_elf_find_function(const struct lt_elf_file *ef, const char *name, struct lt_elf_symbol *out)
{
	size_t lo = 0, hi = ef->nsyms, mid, len = base_len(name);
	const struct lt_elf_symbol *s;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		s = ef->by_name[mid].sym;
		if (cmp_base(s->name, base_len(s->name), name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == ef->nsyms)
		return -ENOENT;
	s = ef->by_name[lo].sym;
	if (cmp_base(s->name, base_len(s->name), name, len))
		return -ENOENT;
	*out = *s;
	return 0;
}

static int find_in_symtab(const struct lt_elf_file *ef, Elf_Scn *scn, const GElf_Shdr *sh,
			  const char *name, struct lt_elf_symbol *out)
{
	size_t entsize = gelf_fsize(ef->elf, ELF_T_SYM, 1, EV_CURRENT), i, count;
	size_t len = base_len(name);
	Elf_Data *data = elf_getdata(scn, NULL);
	const char *sname;
	GElf_Sym s;

	if (!data || !entsize)
		return -ENOENT;
	count = data->d_size / entsize;
	if (count > INT32_MAX)
		return -ENOENT;
	for (i = 1; i < count; i++) {
		if (!gelf_getsym(data, (int)i, &s) || s.st_shndx == SHN_UNDEF)
			continue;
		sname = elf_strptr(ef->elf, sh->sh_link, s.st_name);
		if (!sname || cmp_base(sname, base_len(sname), name, len))
			continue;
		*out = (struct lt_elf_symbol){ s.st_value, s.st_size, sname };
		return 0;
	}
	return -ENOENT;
}

int lt_elf_find_symbol(const struct lt_elf_file *ef, const char *name, struct lt_elf_symbol *out)
{
	/* .dynsym first: it is what the dynamic linker resolves, and it is
	 * small; .symtab may be stripped or hold local namesakes. */
	static const Elf64_Word types[] = { SHT_DYNSYM, SHT_SYMTAB };
	Elf_Scn *scn;
	GElf_Shdr sh;
	size_t t;

	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		scn = NULL;
		while ((scn = elf_nextscn(ef->elf, scn))) {
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != types[t])
				continue;
			if (!find_in_symtab(ef, scn, &sh, name, out))
				return 0;
		}
	}
	return -ENOENT;
}

const struct lt_elf_symbol *lt_elf_symbol_at(const struct lt_elf_file *ef, uint64_t vaddr)
{
	size_t lo = 0, hi = ef->nsyms, mid, first;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ef->syms[mid].vaddr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	first = lo - 1;
	while (first > 0 && ef->syms[first - 1].vaddr == ef->syms[lo - 1].vaddr)
		first--;
	/* Aliases may disagree on size; the best-ranked one that covers vaddr wins. */
	for (; first < lo; first++) {
		if (vaddr < ef->sym_end[first])
			return &ef->syms[first];
	}
	return NULL;
}

int lt_elf_vaddr_to_offset(const struct lt_elf_file *ef, uint64_t vaddr, uint64_t *offset)
{
	const struct elf_segment *s;
	size_t i;

	for (i = 0; i < ef->nsegs; i++) {
		s = &ef->segs[i];
		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz) {
			*offset = s->offset + (vaddr - s->vaddr);
			return 0;
		}
	}
	return -ENOENT;
}

int lt_elf_offset_to_vaddr(const struct lt_elf_file *ef, uint64_t offset, uint64_t *vaddr)
{
	const struct elf_segment *s;
	size_t i;

	for (i = 0; i < ef->nsegs; i++) {
		s = &ef->segs[i];
		if (offset >= s->offset && offset - s->offset < s->filesz) {
			*vaddr = s->vaddr + (offset - s->offset);
			return 0;
		}
	}
	return -ENOENT;
}

int lt_elf_read_code(const struct lt_elf_file *ef, uint64_t vaddr, void *buf, size_t len,
		     size_t *got)
{
	uint64_t offset;
	const struct elf_segment *s = NULL;
	ssize_t n;

	*got = 0;
	for (size_t i = 0; i < ef->nsegs && !s; i++)
		if (vaddr >= ef->segs[i].vaddr && vaddr - ef->segs[i].vaddr < ef->segs[i].filesz)
			s = &ef->segs[i];
	if (!s)
		return -ENOENT;
	offset = s->offset + (vaddr - s->vaddr);
	/* Never read past the segment: what follows is not this code. */
	if (len > s->filesz - (vaddr - s->vaddr))
		len = s->filesz - (vaddr - s->vaddr);
	n = pread(ef->fd, buf, len, (off_t)offset);
	if (n < 0)
		return -errno;
	*got = (size_t)n;
	return 0;
}

/*
 * The dynamic relocation applied at vaddr, and the value of the symbol it
 * names (0 for none, or one this file does not define). Only RELA sections
 * are read: x86-64 uses no other kind.
 */
static int find_rela(const struct lt_elf_file *ef, uint64_t vaddr, GElf_Rela *out,
		     uint64_t *sym_value)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		Elf_Data *d;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		n = d->d_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			Elf_Scn *symscn;
			Elf_Data *syms;
			GElf_Sym sym;

			if (!gelf_getrela(d, (int)i, out) || out->r_offset != vaddr)
				continue;
			*sym_value = 0;
			if (!GELF_R_SYM(out->r_info))
				return 0;
			symscn = elf_getscn(ef->elf, sh.sh_link);
			syms = symscn ? elf_getdata(symscn, NULL) : NULL;
			if (syms && gelf_getsym(syms, (int)GELF_R_SYM(out->r_info), &sym) &&
			    sym.st_shndx != SHN_UNDEF)
				*sym_value = sym.st_value;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * A shared object's pointers in .data and its GOT are 0 in the file until
 * ld.so applies their relocation. Resolved here: R_X86_64_RELATIVE (a local
 * function or object, the kind a static allocator table holds) and a GOT or
 * data slot naming a symbol the file defines itself.
 */
static int relocated_pointer(const struct lt_elf_file *ef, uint64_t vaddr, uint64_t *value)
{
	uint64_t sym_value;
	GElf_Rela r;

	if (find_rela(ef, vaddr, &r, &sym_value))
		return -ENOENT;
	switch (GELF_R_TYPE(r.r_info)) {
	case R_X86_64_RELATIVE:
		*value = (uint64_t)r.r_addend;
		return 0;
	case R_X86_64_GLOB_DAT:
	case R_X86_64_64:
		if (!sym_value)
			return -ENOENT;
		*value = sym_value + (uint64_t)r.r_addend;
		return 0;
	default:
		return -ENOENT;
	}
}

int lt_elf_tls_slot(const struct lt_elf_file *ef, uint64_t vaddr, uint64_t *block_off)
{
	uint64_t sym_value;
	size_t got;
	GElf_Rela r;

	if (!ef->is_dyn || find_rela(ef, vaddr, &r, &sym_value) ||
	    GELF_R_TYPE(r.r_info) != R_X86_64_DTPMOD64)
		return -ENOENT;
	if (!find_rela(ef, vaddr + 8, &r, &sym_value)) {
		if (GELF_R_TYPE(r.r_info) != R_X86_64_DTPOFF64)
			return -ENOENT;
		*block_off = sym_value + (uint64_t)r.r_addend;
		return 0;
	}
	/* Local-dynamic: the offset is the file's own (usually 0, the block). */
	if (lt_elf_read_code(ef, vaddr + 8, block_off, sizeof(*block_off), &got) ||
	    got != sizeof(*block_off))
		return -ENOENT;
	return 0;
}

int lt_elf_read_pointer(const struct lt_elf_file *ef, uint64_t vaddr, uint64_t *value)
{
	size_t got;
	int err;

	*value = 0;
	if (ef->is_dyn)
		return relocated_pointer(ef, vaddr, value);
	err = lt_elf_read_code(ef, vaddr, value, sizeof(*value), &got);
	if (err)
		return err;
	return got == sizeof(*value) ? 0 : -ENOENT;
}

/* --- memory estimate --- */

/*
 * What a parsed file costs: our own tables exactly, plus what libelf and
 * libdw read into memory (ELF_C_READ copies each section it is asked for).
 * That is the symbol, string, version and note sections the parser reads,
 * every other non-loaded section (debuglink, MiniDebugInfo, section names),
 * and the DWARF sections: counted from the start, since symbolizing the
 * first frame loads them. Compressed DWARF is read inflated, and libdw's
 * decoded units, abbreviations and line tables come on top of the section
 * bytes. The DWARF constants were measured with mallinfo2() after looking
 * up every function of gcc -O0/-O2 -g binaries (leaktrace itself: 2.5x its
 * 390 KB of DWARF; small test programs: 12-50 KB over 1-30 KB), rounded up.
 */
#define ESTIMATE_COMPRESSED_RATIO 4  /* inflated / compressed DWARF bytes */
#define ESTIMATE_DWARF_FACTOR 3      /* memory / DWARF section bytes, after use */
#define ESTIMATE_DWARF_BASE 16384    /* libdw's handle and per-file tables */
#define ESTIMATE_SECTION_BYTES 256   /* libelf's descriptor of each section */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return add_overflows(a, b) ? UINT64_MAX : a + b;
}

static bool is_dwarf_section(const char *name)
{
	return !strncmp(name, ".debug_", 7) || !strncmp(name, ".zdebug_", 8);
}

static uint64_t section_estimate(const struct lt_elf_file *ef, size_t shstrndx, Elf_Scn *scn,
				 bool *dwarf)
{
	const char *name;
	uint64_t bytes;
	GElf_Shdr sh;

	if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
		return ESTIMATE_SECTION_BYTES;
	/* A corrupt header may claim any size; no more than the file is read. */
	bytes = sh.sh_size < ef->file_size ? sh.sh_size : ef->file_size;
	name = elf_strptr(ef->elf, shstrndx, sh.sh_name);
	if (name && is_dwarf_section(name)) {
		if ((sh.sh_flags & SHF_COMPRESSED) || name[1] == 'z')
			bytes *= ESTIMATE_COMPRESSED_RATIO;
		bytes *= ESTIMATE_DWARF_FACTOR;
		*dwarf = true;
	} else if (sh.sh_flags & SHF_ALLOC) {
		/* Code and data stay on disk; only the tables below are read. */
		if (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_STRTAB &&
		    sh.sh_type != SHT_NOTE && sh.sh_type != SHT_GNU_versym)
			bytes = 0;
	}
	return ESTIMATE_SECTION_BYTES + bytes;
}

uint64_t lt_elf_memory_estimate(const struct lt_elf_file *ef)
{
	uint64_t total = sizeof(*ef);
	Elf_Scn *scn = NULL;
	bool dwarf = false;
	size_t shstrndx;

	total += ef->nsegs * sizeof(*ef->segs) + ef->nexec * sizeof(*ef->exec);
	total += ef->nsyms * (sizeof(*ef->syms) + sizeof(*ef->sym_end) + sizeof(*ef->by_name));
	if (elf_getshdrstrndx(ef->elf, &shstrndx))
		shstrndx = 0;
	while ((scn = elf_nextscn(ef->elf, scn)))
		total = add_sat(total, section_estimate(ef, shstrndx, scn, &dwarf));
	return dwarf ? add_sat(total, ESTIMATE_DWARF_BASE) : total;
}

static Elf_Scn *section_named(const struct lt_elf_file *ef, const char *wanted, GElf_Shdr *sh)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(ef->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, sh))
			continue;
		name = elf_strptr(ef->elf, shstrndx, sh->sh_name);
		if (name && !strcmp(name, wanted))
			return scn;
	}
	return NULL;
}

bool lt_elf_has_debug_info(const struct lt_elf_file *ef)
{
	GElf_Shdr sh;
	Elf_Scn *scn = section_named(ef, ".debug_info", &sh);

	return scn && sh.sh_type != SHT_NOBITS && sh.sh_size > 0;
}

int lt_elf_debuglink(const struct lt_elf_file *ef, char *name, size_t len, uint32_t *crc)
{
	GElf_Shdr sh;
	Elf_Scn *scn = section_named(ef, ".gnu_debuglink", &sh);
	Elf_Data *data;
	const char *p;
	size_t n, crc_at;

	if (!scn || sh.sh_type == SHT_NOBITS)
		return -ENOENT;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf || data->d_size < 8)
		return -ENOENT;
	p = data->d_buf;
	n = strnlen(p, data->d_size);
	/* The name, NUL, padding to 4, then the CRC32 of the debug file. */
	crc_at = (n + 4) & ~(size_t)3;
	if (n == 0 || n >= len || crc_at + 4 > data->d_size || strchr(p, '/'))
		return -ENOENT;
	memcpy(name, p, n + 1);
	memcpy(crc, p + crc_at, sizeof(*crc));
	return 0;
}

int lt_elf_section_data(const struct lt_elf_file *ef, const char *name, const void **data,
			size_t *size)
{
	GElf_Shdr sh;
	Elf_Scn *scn = section_named(ef, name, &sh);
	Elf_Data *d;

	if (!scn || sh.sh_type == SHT_NOBITS)
		return -ENOENT;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || !d->d_size)
		return -ENOENT;
	*data = d->d_buf;
	*size = d->d_size;
	return 0;
}
