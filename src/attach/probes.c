// SPDX-License-Identifier: MIT
#include "attach/probes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "base/grow_array.h"
#include "symbols/elf_file.h"
#include "leaktrace.skel.h"
#include "leaktrace_events.h"
#include "attach/link_reaper.h"
#include "attach/probe_site.h"

enum entry_prog {
	ENTRY_SIZE_ARG1,
	ENTRY_SIZE_ARG2,
	ENTRY_CALLOC,
	ENTRY_REALLOC,
	ENTRY_REALLOCARRAY,
	ENTRY_POSIX_MEMALIGN,
	ENTRY_FREE,
	ENTRY_MMAP,
	ENTRY_MUNMAP,
	ENTRY_PY_ALLOC,
	ENTRY_PY_GC_DEL,
	ENTRY_PY_FINALIZE,
	ENTRY_PY_OBJ_ALLOC,
	ENTRY_PY_OBJ_FREE,
	ENTRY_PY_NEW_REFERENCE,
};

struct probe_spec {
	const char *symbol;
	enum lt_func func;
	enum entry_prog entry;
	bool has_return;
	bool mmap_only;
	unsigned args; /* registers the entry program reads */
};

static const struct probe_spec specs[] = {
	{ "malloc", LT_FUNC_MALLOC, ENTRY_SIZE_ARG1, true, false, LT_ARG_RDI },
	{ "free", LT_FUNC_FREE, ENTRY_FREE, false, false, LT_ARG_RDI },
	{ "calloc", LT_FUNC_CALLOC, ENTRY_CALLOC, true, false, LT_ARG_RDI | LT_ARG_RSI },
	{ "realloc", LT_FUNC_REALLOC, ENTRY_REALLOC, true, false, LT_ARG_RDI | LT_ARG_RSI },
	{ "reallocarray", LT_FUNC_REALLOCARRAY, ENTRY_REALLOCARRAY, true, false,
	  LT_ARG_RDI | LT_ARG_RSI | LT_ARG_RDX },
	{ "posix_memalign", LT_FUNC_POSIX_MEMALIGN, ENTRY_POSIX_MEMALIGN, true, false,
	  LT_ARG_RDI | LT_ARG_RDX },
	{ "aligned_alloc", LT_FUNC_ALIGNED_ALLOC, ENTRY_SIZE_ARG2, true, false, LT_ARG_RSI },
	{ "memalign", LT_FUNC_MEMALIGN, ENTRY_SIZE_ARG2, true, false, LT_ARG_RSI },
	{ "valloc", LT_FUNC_VALLOC, ENTRY_SIZE_ARG1, true, false, LT_ARG_RDI },
	{ "pvalloc", LT_FUNC_PVALLOC, ENTRY_SIZE_ARG1, true, false, LT_ARG_RDI },
	{ "mmap", LT_FUNC_MMAP, ENTRY_MMAP, true, true, LT_ARG_RSI | LT_ARG_RCX },
	{ "munmap", LT_FUNC_MUNMAP, ENTRY_MUNMAP, false, true, LT_ARG_RDI | LT_ARG_RSI },
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/* CPython's object allocators: the type (and item count) at entry, the
 * object at return; PyObject_GC_Del ends GC-tracked objects. */
static const struct probe_spec py_specs[] = {
	{ "PyType_GenericAlloc", LT_FUNC_PY_GENERIC_ALLOC, ENTRY_PY_ALLOC, true, false,
	  LT_ARG_RDI | LT_ARG_RSI },
	{ "_PyObject_GC_New", LT_FUNC_PY_GC_NEW, ENTRY_PY_ALLOC, true, false, LT_ARG_RDI },
	{ "_PyObject_GC_NewVar", LT_FUNC_PY_GC_NEWVAR, ENTRY_PY_ALLOC, true, false,
	  LT_ARG_RDI | LT_ARG_RSI },
	{ "PyObject_GC_Del", LT_FUNC_PY_GC_DEL, ENTRY_PY_GC_DEL, false, false, LT_ARG_RDI },
};

#define NPYSPECS (sizeof(py_specs) / sizeof(py_specs[0]))

/* Objects taken from free lists are charged to the line taking them (3.9+,
 * where this is a function and not inlined). */
static const struct probe_spec py_new_reference_spec = {
	"_Py_NewReference", LT_FUNC_PY_NEW_REFERENCE, ENTRY_PY_NEW_REFERENCE, false, false,
	LT_ARG_RDI
};

/* Interpreter shutdown begins: what is alive then is what the program held. */
static const struct probe_spec py_finalize_spec = {
	"Py_FinalizeEx", LT_FUNC_PY_FINALIZE, ENTRY_PY_FINALIZE, false, false, 0
};

/* The object allocator's functions, in the order of enum lt_py_alloc_fn;
 * stripped builds do not name them, so they are found by address. */
static const struct probe_spec py_allocator_specs[] = {
	{ "object malloc", LT_FUNC_PY_OBJ_MALLOC, ENTRY_PY_OBJ_ALLOC, true, false, LT_ARG_RSI },
	{ "object calloc", LT_FUNC_PY_OBJ_CALLOC, ENTRY_PY_OBJ_ALLOC, true, false,
	  LT_ARG_RSI | LT_ARG_RDX },
	{ "object realloc", LT_FUNC_PY_OBJ_REALLOC, ENTRY_PY_OBJ_ALLOC, true, false,
	  LT_ARG_RSI | LT_ARG_RDX },
	{ "object free", LT_FUNC_PY_OBJ_FREE, ENTRY_PY_OBJ_FREE, false, false, LT_ARG_RSI },
};

#define NPYALLOCSPECS (sizeof(py_allocator_specs) / sizeof(py_allocator_specs[0]))

static struct bpf_program *entry_program(struct leaktrace_bpf *skel, enum entry_prog e)
{
	switch (e) {
	case ENTRY_SIZE_ARG1: return skel->progs.size_arg1_entry;
	case ENTRY_SIZE_ARG2: return skel->progs.size_arg2_entry;
	case ENTRY_CALLOC: return skel->progs.calloc_entry;
	case ENTRY_REALLOC: return skel->progs.realloc_entry;
	case ENTRY_REALLOCARRAY: return skel->progs.reallocarray_entry;
	case ENTRY_POSIX_MEMALIGN: return skel->progs.posix_memalign_entry;
	case ENTRY_FREE: return skel->progs.free_entry;
	case ENTRY_MMAP: return skel->progs.mmap_entry;
	case ENTRY_MUNMAP: return skel->progs.munmap_entry;
	case ENTRY_PY_ALLOC: return skel->progs.py_alloc_entry;
	case ENTRY_PY_GC_DEL: return skel->progs.py_gc_del;
	case ENTRY_PY_FINALIZE: return skel->progs.py_finalize;
	case ENTRY_PY_OBJ_ALLOC: return skel->progs.py_obj_alloc_entry;
	case ENTRY_PY_OBJ_FREE: return skel->progs.py_obj_free;
	case ENTRY_PY_NEW_REFERENCE: return skel->progs.py_new_reference;
	}
	return NULL;
}

static int keep_link_for(struct lt_probe_set *ps, struct bpf_link *link, pid_t owner)
{
	if (ps->nlinks == ps->capacity) {
		size_t cap = ps->capacity, cap_owners = ps->capacity, cap_retired = ps->capacity;
		struct bpf_link **grown = lt_grow(ps->links, &cap, ps->nlinks + 1, sizeof(*grown));
		pid_t *owners;
		bool *retired;

		if (!grown)
			return -ENOMEM;
		ps->links = grown;
		/* One capacity for the three arrays: the other two grow to at
		 * least the links' new one before it is kept. */
		owners = lt_grow(ps->owners, &cap_owners, cap, sizeof(*owners));
		if (!owners)
			return -ENOMEM;
		ps->owners = owners;
		retired = lt_grow(ps->retired, &cap_retired, cap, sizeof(*retired));
		if (!retired)
			return -ENOMEM;
		ps->retired = retired;
		ps->capacity = cap;
	}
	ps->owners[ps->nlinks] = owner;
	ps->retired[ps->nlinks] = false;
	ps->links[ps->nlinks++] = link;
	return 0;
}

int lt_probes_keep_link(struct lt_probe_set *ps, struct bpf_link *link)
{
	return keep_link_for(ps, link, -1);
}

size_t lt_probes_count_pid(const struct lt_probe_set *ps, pid_t pid)
{
	size_t n = 0;

	for (size_t i = 0; i < ps->nlinks; i++)
		n += ps->owners[i] == pid && !ps->retired[i];
	return n;
}

/* Hand pid's links (retired ones only, or all) to the background closer. */
static size_t release_links(struct lt_probe_set *ps, pid_t pid, bool retired_only)
{
	size_t n = 0, w = 0;
	struct bpf_link **gone;

	if (pid <= 0)
		return 0;
	for (size_t i = 0; i < ps->nlinks; i++)
		n += ps->owners[i] == pid && (ps->retired[i] || !retired_only);
	if (!n)
		return 0;
	gone = malloc(n * sizeof(*gone));
	if (!gone)
		return 0;
	n = 0;
	for (size_t i = 0; i < ps->nlinks; i++) {
		if (ps->owners[i] == pid && (ps->retired[i] || !retired_only)) {
			gone[n++] = ps->links[i];
			continue;
		}
		ps->links[w] = ps->links[i];
		ps->owners[w] = ps->owners[i];
		ps->retired[w++] = ps->retired[i];
	}
	ps->nlinks = w;
	if (lt_link_reaper_give(&ps->reaper, gone, n)) {
		/* No thread: close them here, slowly, rather than leak them. */
		for (size_t i = 0; i < n; i++)
			bpf_link__destroy(gone[i]);
		free(gone);
	}
	return n;
}

size_t lt_probes_release_pid(struct lt_probe_set *ps, pid_t pid)
{
	return release_links(ps, pid, false);
}

size_t lt_probes_retire_pid(struct lt_probe_set *ps, pid_t pid)
{
	size_t n = 0;

	for (size_t i = 0; i < ps->nlinks; i++) {
		if (ps->owners[i] == pid && !ps->retired[i]) {
			ps->retired[i] = true;
			n++;
		}
	}
	return n;
}

size_t lt_probes_close_retired(struct lt_probe_set *ps, pid_t pid)
{
	return release_links(ps, pid, true);
}

static int attach_one(struct lt_probe_set *ps, struct bpf_program *prog, const char *path,
		      pid_t pid, uint64_t offset, enum lt_func func, bool retprobe)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe, .bpf_cookie = func);
	struct bpf_link *link;
	int err;

	link = bpf_program__attach_uprobe_opts(prog, pid, path, offset, &opts);
	if (!link)
		return -errno;
	err = keep_link_for(ps, link, pid);
	if (err)
		bpf_link__destroy(link);
	return err;
}

struct resolved {
	const struct probe_spec *spec;
	uint64_t offset;      /* file offset of the function */
	struct lt_probe_site site;
};

/* Functions are read up to this size to check for jumps back to a site. */
#define LT_FUNC_READ_MAX 65536

static void choose_site(struct lt_elf_file *ef, const struct lt_elf_symbol *sym,
			struct resolved *r)
{
	static uint8_t code[LT_FUNC_READ_MAX];
	size_t want = sym->size && sym->size < sizeof(code) ? sym->size : sizeof(code), got;

	memset(&r->site, 0, sizeof(r->site));
	if (lt_elf_read_code(ef, sym->vaddr, code, want, &got) || !got)
		return;
	lt_probe_site_choose(code, got, sym->vaddr, r->spec->args, r->spec->has_return, &r->site);
}

/* Functions known by file offset; a stripped file gives no size, so the
 * check for jumps back to a site reads on past the function's end. */
static int resolve_offsets(struct lt_elf_file *ef, const struct probe_spec *specs, size_t nspecs,
			   const uint64_t *offsets, struct resolved *out)
{
	for (size_t i = 0; i < nspecs; i++) {
		const struct lt_elf_symbol *named;
		struct lt_elf_symbol sym = { 0 };

		if (lt_elf_offset_to_vaddr(ef, offsets[i], &sym.vaddr))
			return -ENOENT;
		named = lt_elf_symbol_at(ef, sym.vaddr);
		if (named && named->vaddr == sym.vaddr)
			sym.size = named->size;
		out[i].spec = &specs[i];
		out[i].offset = offsets[i];
		choose_site(ef, &sym, &out[i]);
	}
	return 0;
}

/* Symbol file offsets, skipping aliases of a function already listed
 * (glibc's memalign and aligned_alloc can be one function). */
static size_t resolve_specs(struct lt_elf_file *ef, const struct probe_spec *specs, size_t nspecs,
			    bool with_mmap, struct resolved *out)
{
	size_t n = 0;

	for (size_t i = 0; i < nspecs; i++) {
		struct lt_elf_symbol sym;
		uint64_t off;
		bool dup = false;

		if (specs[i].mmap_only && !with_mmap)
			continue;
		if (lt_elf_find_function(ef, specs[i].symbol, &sym) ||
		    lt_elf_vaddr_to_offset(ef, sym.vaddr, &off))
			continue;
		for (size_t j = 0; j < n; j++)
			dup |= out[j].offset == off;
		if (dup)
			continue;
		out[n].spec = &specs[i];
		out[n].offset = off;
		choose_site(ef, &sym, &out[n]);
		n++;
	}
	return n;
}

static size_t resolve(struct lt_elf_file *ef, bool with_mmap, struct resolved *out)
{
	return resolve_specs(ef, specs, NSPECS, with_mmap, out);
}

static void report_site(const struct probe_spec *s, const struct resolved *r, const char *path,
			pid_t pid)
{
	const struct lt_probe_site *site = &r->site;

	fprintf(stderr, "leaktrace: attached %s%s at %s+0x%llx (pid %d): ", s->symbol,
		s->has_return ? " and its return" : "", path,
		(unsigned long long)(r->offset + site->offset), (int)pid);
	if (site->offset)
		fprintf(stderr, "moved to +0x%llx '%s' (emulated) from '%s' (single-stepped)\n",
			(unsigned long long)site->offset, site->insn, site->first_insn);
	else if (site->emulated)
		fprintf(stderr, "'%s' is emulated\n", site->insn);
	else
		fprintf(stderr, "'%s' is single-stepped (slow); no safe emulated instruction follows%s\n",
			site->first_insn, s->has_return ? " before rsp moves" : "");
}

/*
 * Returns first: an entry without its return probe would leave a stale
 * in-flight slot that hides the thread's later calls. All or nothing.
 * The kernel is given the file ef read, by descriptor: a /proc/PID/map_files
 * name lasts only as long as that exact mapping, and ld.so replaces its
 * first, whole-file mapping while a new process starts.
 */
static int attach_resolved(struct lt_probe_set *ps, struct leaktrace_bpf *skel,
			   struct bpf_program *return_prog, const struct resolved *found, size_t n,
			   const struct lt_elf_file *ef, const char *path, pid_t pid, int verbose,
			   char *err, size_t errlen)
{
	size_t first_link = ps->nlinks;
	char fd_path[32];
	int ret = 0, fd;

	fd = lt_elf_dup_fd(ef);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-fd));
		return fd;
	}
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
	for (int pass = 0; pass < 2 && !ret; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct probe_spec *s = found[i].spec;
			bool retprobe = pass == 0;
			struct bpf_program *prog;

			if (retprobe && !s->has_return)
				continue;
			prog = retprobe ? return_prog : entry_program(skel, s->entry);
			ret = attach_one(ps, prog, fd_path, pid, found[i].offset + found[i].site.offset,
					 s->func, retprobe);
			if (ret) {
				snprintf(err, errlen, "%s: attaching %s%s failed: %s", path, s->symbol,
					 retprobe ? " return" : "", strerror(-ret));
				break;
			}
			if (verbose && !retprobe)
				report_site(s, &found[i], path, pid);
		}
	}
	if (ret) {
		while (ps->nlinks > first_link)
			bpf_link__destroy(ps->links[--ps->nlinks]);
	}
	close(fd);
	return ret;
}

int lt_probes_attach_object(struct lt_probe_set *ps, struct leaktrace_bpf *skel, const char *path,
			    pid_t pid, bool with_mmap, int verbose, char *err, size_t errlen)
{
	struct resolved found[NSPECS];
	struct lt_elf_file *ef = NULL;
	size_t n;
	bool has_malloc = false, has_free = false;
	int ret;

	ret = lt_elf_open_path(path, &ef);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path,
			 ret == -ENOEXEC ? "not an ELF file" : strerror(-ret));
		return ret;
	}
	n = resolve(ef, with_mmap, found);
	for (size_t i = 0; i < n; i++) {
		has_malloc |= found[i].spec->func == LT_FUNC_MALLOC;
		has_free |= found[i].spec->func == LT_FUNC_FREE;
	}
	if (!has_malloc || !has_free) {
		snprintf(err, errlen, "%s: no malloc/free function symbols", path);
		ret = -ESRCH;
		goto cleanup;
	}
	ret = attach_resolved(ps, skel, skel->progs.alloc_return, found, n, ef, path, pid, verbose,
			      err, errlen);
cleanup:
	lt_elf_close(ef);
	return ret;
}

/* Py_FinalizeEx, or the function it only wraps (3.13: Py_RunMain calls
 * that one directly). Returns how many were resolved: 0 or 1. */
static size_t resolve_finalize(struct lt_elf_file *ef, struct resolved *out)
{
	const struct lt_elf_symbol *target_sym;
	struct lt_elf_symbol sym;
	uint8_t code[64];
	uint64_t target;
	size_t got;

	if (resolve_specs(ef, &py_finalize_spec, 1, false, out) != 1)
		return 0;
	if (lt_elf_find_function(ef, py_finalize_spec.symbol, &sym) || !sym.size ||
	    sym.size > sizeof(code) || lt_elf_read_code(ef, sym.vaddr, code, sym.size, &got) ||
	    lt_tail_call_target(code, got, sym.vaddr, &target) ||
	    lt_elf_vaddr_to_offset(ef, target, &out->offset))
		return 1;
	target_sym = lt_elf_symbol_at(ef, target);
	sym.vaddr = target;
	sym.size = target_sym && target_sym->vaddr == target ? target_sym->size : 0;
	choose_site(ef, &sym, out);
	return 1;
}

int lt_probes_attach_python(struct lt_probe_set *ps, struct leaktrace_bpf *skel, const char *path,
			    const uint64_t allocator_offsets[4], pid_t pid, int verbose, char *err,
			    size_t errlen)
{
	struct resolved found[NPYSPECS + NPYALLOCSPECS + 2];
	struct lt_elf_file *ef = NULL;
	bool has_del = false;
	size_t n = 0;
	int ret;

	ret = lt_elf_open_path(path, &ef);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path,
			 ret == -ENOEXEC ? "not an ELF file" : strerror(-ret));
		return ret;
	}
	if (allocator_offsets) {
		if (resolve_offsets(ef, py_allocator_specs, NPYALLOCSPECS, allocator_offsets, found)) {
			snprintf(err, errlen, "%s: the object allocator is outside the file", path);
			ret = -ESRCH;
			goto cleanup;
		}
		n = NPYALLOCSPECS;
		n += resolve_specs(ef, &py_new_reference_spec, 1, false, found + n);
		has_del = true;
	} else {
		n = resolve_specs(ef, py_specs, NPYSPECS, false, found);
		for (size_t i = 0; i < n; i++)
			has_del |= found[i].spec->func == LT_FUNC_PY_GC_DEL;
	}
	n += resolve_finalize(ef, found + n);
	if (n < 2 || !has_del) {
		snprintf(err, errlen, "%s: no CPython object allocator symbols", path);
		ret = -ESRCH;
	} else {
		ret = attach_resolved(ps, skel, skel->progs.py_alloc_return, found, n, ef, path,
				      pid, verbose, err, errlen);
	}
cleanup:
	lt_elf_close(ef);
	return ret;
}

int lt_probes_attach_py_ref_tracer(struct lt_probe_set *ps, struct leaktrace_bpf *skel,
				   const char *path, uint64_t offset, pid_t pid)
{
	/* No-ops, which the kernel emulates: the site needs no choosing. */
	return attach_one(ps, skel->progs.py_ref_event, path, pid, offset,
			  LT_FUNC_PY_NEW_REFERENCE, false);
}

int lt_probes_describe(FILE *out, const char *path, const char *shown_as)
{
	struct resolved found[NSPECS];
	struct lt_elf_file *ef;
	int stepped = 0, ret = lt_elf_open_path(path, &ef);
	size_t n;

	if (ret)
		return ret;
	n = resolve(ef, true, found);
	fprintf(out, "%s\n", shown_as);
	fprintf(out, "  %-15s %-10s %-7s %-16s %s\n", "function", "offset", "moved", "probe cost",
		"instruction at the probe");
	for (size_t i = 0; i < n; i++) {
		const struct lt_probe_site *site = &found[i].site;
		char off[32], moved[16];

		snprintf(off, sizeof(off), "0x%llx",
			 (unsigned long long)(found[i].offset + site->offset));
		snprintf(moved, sizeof(moved), site->offset ? "+0x%llx" : "-",
			 (unsigned long long)site->offset);
		fprintf(out, "  %-15s %-10s %-7s %-16s %s%s\n", found[i].spec->symbol, off, moved,
			site->emulated ? "emulated" : "single-stepped", site->insn,
			found[i].spec->mmap_only ? "  (--mmap)" : "");
		stepped += !site->emulated;
	}
	lt_elf_close(ef);
	return stepped;
}

void lt_probes_destroy(struct lt_probe_set *ps)
{
	/* Its pending closes overlap with the ones below. */
	lt_link_reaper_stop_async(ps->reaper);
	lt_links_close_parallel(ps->links, ps->nlinks);
	lt_link_reaper_free(ps->reaper);
	free(ps->links);
	free(ps->owners);
	free(ps->retired);
	memset(ps, 0, sizeof(*ps));
}
