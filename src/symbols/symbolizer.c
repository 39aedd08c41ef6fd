// SPDX-License-Identifier: MIT
#include "symbols/symbolizer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/demangle.h"
#include "symbols/elf_file.h"
#include "symbols/module_cache.h"
#include "base/grow_array.h"

#define LT_MAX_INLINE_DEPTH 16

/* Sets *dwarf, when out->module_offset is an address in the module's ELF,
 * to the file holding its DWARF (the debug file if any); NULL otherwise. */
static int symbolize_frame(const struct lt_frame_loc *loc, uint64_t ip, struct lt_report_frame *out,
			   struct lt_elf_file **dwarf)
{
	const struct lt_elf_symbol *sym;
	struct lt_elf_file *ef, *debug;
	const char *file;
	uint64_t lookup, vaddr;
	int line;

	memset(out, 0, sizeof(*out));
	*dwarf = NULL;
	out->addr = ip;
	out->build_id = "";
	if (!loc || !loc->module)
		return 0;
	out->module = loc->module->path;
	/* Without a readable ELF the file offset still locates the frame. */
	out->module_offset = loc->file_offset;
	ef = lt_module_elf(loc->module);
	if (!ef || lt_elf_offset_to_vaddr(ef, loc->file_offset, &vaddr))
		return 0;
	out->module_offset = vaddr;
	debug = lt_module_debug(loc->module);
	*dwarf = debug ? debug : ef;
	/* The module's copy outlives ef, which the cache may unload. */
	out->build_id = lt_module_build_id(loc->module);
	lookup = vaddr ? vaddr - 1 : 0;
	/* A debug file's .symtab names static functions .dynsym lacks. */
	sym = debug ? lt_elf_symbol_at(debug, lookup) : NULL;
	if (!sym)
		sym = lt_elf_symbol_at(ef, lookup);
	if (sym) {
		out->func = lt_demangle(sym->name);
		if (!out->func)
			return -ENOMEM;
		out->func_offset = vaddr - sym->vaddr;
	}
	if ((debug && !lt_elf_source_line(debug, lookup, &file, &line)) ||
	    !lt_elf_source_line(ef, lookup, &file, &line)) {
		out->file = strdup(file);
		if (!out->file)
			return -ENOMEM;
		out->line = line;
	}
	return 0;
}

static struct lt_report_frame *append(struct lt_frame_list *list)
{
	struct lt_report_frame *grown = lt_grow(list->v, &list->capacity, (size_t)list->n + 1,
						sizeof(*grown));

	if (!grown)
		return NULL;
	list->v = grown;
	memset(&list->v[list->n], 0, sizeof(list->v[0]));
	return &list->v[list->n++];
}

static int add_inlined(const struct lt_report_frame *base, const struct lt_inline_frame *in,
		       struct lt_frame_list *list)
{
	struct lt_report_frame *f = append(list);

	if (!f)
		return -ENOMEM;
	f->addr = base->addr;
	f->module = base->module;
	f->module_offset = base->module_offset;
	f->build_id = base->build_id;
	f->inlined = true;
	f->line = in->line;
	if ((in->name && !(f->func = lt_demangle(in->name))) ||
	    (in->file && !(f->file = strdup(in->file))))
		return -ENOMEM;
	return 0;
}

/*
 * Frames already named, by (module, file offset): the same return addresses
 * come back in stack after stack (an interpreter's eval loop, libc's start
 * code), and naming one with its inline chain walks DWARF DIEs (~100 us).
 * Bounded: emptied when it holds LT_SYMBOL_MEMO_MAX addresses.
 */
#define LT_SYMBOL_MEMO_BUCKETS 65536
#define LT_SYMBOL_MEMO_MAX 262144

struct memo_entry {
	const struct lt_module *module;
	uint64_t file_offset;
	struct lt_report_frame *frames; /* addr not set: it differs per process */
	uint32_t n;
	struct memo_entry *next;
};

static struct memo_entry *memo[LT_SYMBOL_MEMO_BUCKETS];
static size_t memo_count;

static size_t memo_bucket(const struct lt_module *m, uint64_t off)
{
	uint64_t h = ((uint64_t)(uintptr_t)m ^ (off * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;

	return (size_t)(h >> 48) % LT_SYMBOL_MEMO_BUCKETS;
}

static int copy_frame(struct lt_report_frame *dst, const struct lt_report_frame *src)
{
	*dst = *src;
	dst->func = src->func ? strdup(src->func) : NULL;
	dst->file = src->file ? strdup(src->file) : NULL;
	if ((src->func && !dst->func) || (src->file && !dst->file)) {
		lt_report_frame_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

static void free_entry(struct memo_entry *e)
{
	for (uint32_t i = 0; i < e->n; i++)
		lt_report_frame_clear(&e->frames[i]);
	free(e->frames);
	free(e);
}

void lt_symbolizer_forget(void)
{
	for (size_t b = 0; b < LT_SYMBOL_MEMO_BUCKETS; b++) {
		struct memo_entry *e = memo[b], *next;

		for (; e; e = next) {
			next = e->next;
			free_entry(e);
		}
		memo[b] = NULL;
	}
	memo_count = 0;
}

static const struct memo_entry *memo_find(const struct lt_frame_loc *loc)
{
	const struct memo_entry *e;

	for (e = memo[memo_bucket(loc->module, loc->file_offset)]; e; e = e->next)
		if (e->module == loc->module && e->file_offset == loc->file_offset)
			return e;
	return NULL;
}

/* Keep list->v[first..] for loc; failing to is not an error. */
static void memo_add(const struct lt_frame_loc *loc, const struct lt_frame_list *list,
		     uint32_t first)
{
	struct memo_entry *e;
	size_t b;

	if (memo_count >= LT_SYMBOL_MEMO_MAX)
		lt_symbolizer_forget();
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->frames = calloc(list->n - first, sizeof(*e->frames));
	if (!e->frames) {
		free(e);
		return;
	}
	for (uint32_t i = first; i < list->n; i++) {
		if (copy_frame(&e->frames[e->n], &list->v[i])) {
			free_entry(e);
			return;
		}
		e->n++;
	}
	e->module = loc->module;
	e->file_offset = loc->file_offset;
	b = memo_bucket(loc->module, loc->file_offset);
	e->next = memo[b];
	memo[b] = e;
	memo_count++;
}

static int symbolize_uncached(const struct lt_frame_loc *loc, uint64_t ip,
			      struct lt_frame_list *list);

int lt_symbolize_ip(const struct lt_frame_loc *loc, uint64_t ip, struct lt_frame_list *list)
{
	const struct memo_entry *e;
	uint32_t first = list->n;
	int err;

	if (!loc || !loc->module)
		return symbolize_uncached(loc, ip, list);
	e = memo_find(loc);
	if (e) {
		for (uint32_t i = 0; i < e->n; i++) {
			struct lt_report_frame *f = append(list);

			if (!f || copy_frame(f, &e->frames[i])) {
				if (f)
					list->n--;
				return -ENOMEM;
			}
			f->addr = ip;
		}
		return 0;
	}
	err = symbolize_uncached(loc, ip, list);
	/* A module not readable yet may be named later: not remembered. */
	if (!err && lt_module_elf(loc->module))
		memo_add(loc, list, first);
	return err;
}

static int symbolize_uncached(const struct lt_frame_loc *loc, uint64_t ip,
			      struct lt_frame_list *list)
{
	struct lt_inline_frame chain[LT_MAX_INLINE_DEPTH];
	struct lt_report_frame base, *f;
	struct lt_elf_file *dw = NULL;
	const char *outer_file = NULL;
	int outer_line = 0, n = 0, err;

	err = symbolize_frame(loc, ip, &base, &dw);
	if (err) {
		lt_report_frame_clear(&base);
		return err;
	}
	if (dw) {
		uint64_t lookup = base.module_offset ? base.module_offset - 1 : 0;

		n = lt_elf_inline_chain(dw, lookup, chain, LT_MAX_INLINE_DEPTH, &outer_file,
					&outer_line);
	}
	for (int i = 0; i < n; i++) {
		err = add_inlined(&base, &chain[i], list);
		if (err) {
			lt_report_frame_clear(&base);
			return err;
		}
	}
	if (n) {
		/* The real function continues at the outermost inlined call. */
		free(base.file);
		base.file = outer_file ? strdup(outer_file) : NULL;
		base.line = outer_file ? outer_line : 0;
	}
	f = append(list);
	if (!f) {
		lt_report_frame_clear(&base);
		return -ENOMEM;
	}
	*f = base;
	return 0;
}

void lt_report_frame_clear(struct lt_report_frame *f)
{
	free(f->func);
	free(f->file);
	memset(f, 0, sizeof(*f));
}
