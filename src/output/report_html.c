// SPDX-License-Identifier: MIT
/*
 * --format html: one self-contained page that draws the final report as
 * flame graphs of outstanding memory (native heap, Python objects and
 * anonymous mmap regions, each its own graph; root at the bottom), and
 * with --kernel the kernel's objects by cache then kernel stack.
 *
 * The report goes into the page as JSON in a <script type="application/json">
 * element, escaped for HTML (html_json.h); the page's own inline script
 * (report_page.html, a real HTML file embedded at build time) reads it and
 * draws SVG. Nothing is loaded from
 * anywhere: the page's Content-Security-Policy is default-src 'none'.
 *
 * Frames are written once each in a table ("frames") and stacks name them by
 * index, root first: a frame seen in many stacks costs its text once.
 */
#include "output/report_writers.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "holders/holders.h"
#include "output/html_history.h"
#include "output/holders_writer.h"
#include "output/html_json.h"

/* report_page.html, with a NUL after it; the assembler reads the file
 * (the build runs from the top of the tree, as the Makefile does). */
__asm__(".pushsection .rodata\n"
	".hidden lt_html_page\n"
	".type lt_html_page, @object\n"
	"lt_html_page:\n"
	".incbin \"src/output/report_page.html\"\n"
	".byte 0\n"
	".popsection\n");
extern const char lt_html_page[];

/* The page's line the report's JSON replaces. */
#define PAGE_MARKER "\nLT_REPORT_JSON\n"

/* Open addressing over the report's frames: equal frames get one id. */
struct frame_table {
	const struct lt_report_frame **slots; /* cap entries, NULL: empty */
	uint32_t *slot_ids;
	size_t cap;
	const struct lt_report_frame **by_id;
	uint32_t n;
	/* --kernel: a frame per kernel stack naming its cache, the root of
	 * the stack in the graph (equal names share an id). */
	struct lt_report_frame *caches;
};

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	if (s)
		for (; *s; s++)
			h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (h ^ (s ? 0xff : 0xfe)) * 0x100000001b3ULL;
}

static uint64_t mix_u64(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * 0x100000001b3ULL;
	return h;
}

/* Python frames are func, file and line; native ones also where they are. */
static uint64_t frame_hash(const struct lt_report_frame *f)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = mix_u64(h, (uint64_t)f->python | (uint64_t)f->inlined << 1);
	h = mix_str(h, f->func);
	h = mix_str(h, f->file);
	h = mix_u64(h, (uint64_t)(uint32_t)f->line);
	if (f->python)
		return h;
	h = mix_str(h, f->module);
	return mix_u64(h, f->module ? f->module_offset : f->addr);
}

static bool frame_eq(const struct lt_report_frame *a, const struct lt_report_frame *b)
{
	if (a->python != b->python || a->inlined != b->inlined || a->line != b->line ||
	    !str_eq(a->func, b->func) || !str_eq(a->file, b->file))
		return false;
	if (a->python)
		return true;
	if (!str_eq(a->module, b->module))
		return false;
	return a->module ? a->module_offset == b->module_offset : a->addr == b->addr;
}

/* The id of f, or UINT32_MAX with *slot where it would go. */
static uint32_t frame_lookup(const struct frame_table *t, const struct lt_report_frame *f,
			     size_t *slot)
{
	size_t i = frame_hash(f) & (t->cap - 1);

	for (; t->slots[i]; i = (i + 1) & (t->cap - 1))
		if (frame_eq(t->slots[i], f))
			return t->slot_ids[i];
	*slot = i;
	return UINT32_MAX;
}

static void frame_add(struct frame_table *t, const struct lt_report_frame *f)
{
	size_t slot;

	if (frame_lookup(t, f, &slot) != UINT32_MAX)
		return;
	t->slots[slot] = f;
	t->slot_ids[slot] = t->n;
	t->by_id[t->n++] = f;
}

static size_t group_frames(const struct lt_report_group *g)
{
	size_t n = 0;

	for (size_t i = 0; i < g->nstacks; i++)
		n += g->stacks[i].nframes;
	return n;
}

static void add_group(struct frame_table *t, const struct lt_report_group *g)
{
	for (size_t i = 0; i < g->nstacks; i++)
		for (uint32_t f = 0; f < g->stacks[i].nframes; f++)
			frame_add(t, &g->stacks[i].frames[f]);
}

/* The groups drawn: each process's heap, mmap (when traced) and Python objects. */
static int build_frame_table(struct frame_table *t, const struct lt_report *r)
{
	size_t total = 0;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct lt_report_process *p = &r->procs[i];

		total += group_frames(&p->heap);
		if (r->has_mmap)
			total += group_frames(&p->mmap);
		if (p->python)
			total += group_frames(&p->python->stacks);
		if (p->fds_traced)
			total += group_frames(&p->fds);
	}
	for (size_t i = 0; r->kernel && i < r->kernel->nstacks; i++)
		total += r->kernel->stacks[i].stack.nframes + 1;
	if (total >= UINT32_MAX / 4)
		return -ENOMEM;
	for (t->cap = 16; t->cap < 2 * total; t->cap *= 2)
		;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	t->slot_ids = calloc(t->cap, sizeof(*t->slot_ids));
	t->by_id = calloc(total ? total : 1, sizeof(*t->by_id));
	if (r->kernel)
		t->caches = calloc(r->kernel->nstacks ? r->kernel->nstacks : 1, sizeof(*t->caches));
	if (!t->slots || !t->slot_ids || !t->by_id || (r->kernel && !t->caches))
		return -ENOMEM;
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct lt_report_process *p = &r->procs[i];

		add_group(t, &p->heap);
		if (r->has_mmap)
			add_group(t, &p->mmap);
		if (p->python)
			add_group(t, &p->python->stacks);
		if (p->fds_traced)
			add_group(t, &p->fds);
	}
	for (size_t i = 0; r->kernel && i < r->kernel->nstacks; i++) {
		const struct lt_report_kernel_stack *ks = &r->kernel->stacks[i];

		t->caches[i].func = ks->cache ? ks->cache : "?";
		t->caches[i].build_id = "";
		frame_add(t, &t->caches[i]);
		for (uint32_t f = 0; f < ks->stack.nframes; f++)
			frame_add(t, &ks->stack.frames[f]);
	}
	return 0;
}

static void free_frame_table(struct frame_table *t)
{
	free(t->slots);
	free(t->slot_ids);
	free(t->by_id);
	free(t->caches);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The label a frame has in the graph, as in --format folded: Python frames
 * "func (file:line)", native ones their function, unnamed ones
 * module+0xoffset (or the bare address when no file is mapped there). */
static void write_frame_name(FILE *out, const struct lt_report_frame *f)
{
	fputc('"', out);
	if (f->python) {
		lt_html_json_chars(out, f->func ? f->func : "?");
		fputs(" (", out);
		lt_html_json_chars(out, f->file ? f->file : "?");
		fprintf(out, ":%d)", f->line);
	} else if (f->func) {
		lt_html_json_chars(out, f->func);
	} else if (f->module) {
		lt_html_json_chars(out, base_name(f->module));
		fprintf(out, "+0x%" PRIx64, f->module_offset);
	} else {
		fprintf(out, "0x%" PRIx64, f->addr);
	}
	fputc('"', out);
}

static void write_frames(FILE *out, const struct frame_table *t)
{
	fputs(",\"frames\":[", out);
	for (uint32_t i = 0; i < t->n; i++) {
		const struct lt_report_frame *f = t->by_id[i];

		fputs(i ? ",\n{\"name\":" : "\n{\"name\":", out);
		write_frame_name(out, f);
		if (f->func) {
			fputs(",\"func\":", out);
			lt_html_json_string(out, f->func);
		}
		if (f->file) {
			fputs(",\"file\":", out);
			lt_html_json_string(out, f->file);
		}
		if (f->line)
			fprintf(out, ",\"line\":%d", f->line);
		if (f->python) {
			fputs(",\"py\":true}", out);
			continue;
		}
		if (f->module) {
			fputs(",\"module\":", out);
			lt_html_json_string(out, f->module);
			fprintf(out, ",\"off\":\"0x%" PRIx64 "\"", f->module_offset);
		}
		if (f->func)
			fprintf(out, ",\"func_off\":\"0x%" PRIx64 "\"", f->func_offset);
		fprintf(out, ",\"addr\":\"0x%" PRIx64 "\"", f->addr);
		if (f->build_id && f->build_id[0]) {
			fputs(",\"build_id\":", out);
			lt_html_json_string(out, f->build_id);
		}
		fputs(f->inlined ? ",\"inl\":true}" : "}", out);
	}
	fputs("]", out);
}

/* A finite double; JSON has no NaN or infinity. */
static void write_double(FILE *out, double v)
{
	if (v != v || v > 1e300 || v < -1e300)
		v = 0;
	fprintf(out, "%.6g", v);
}

/* {"b","n","age","v","r","f"}, "f" being frame ids root first (the model
 * keeps them innermost first), under root when there is one. */
static void write_stack(FILE *out, const struct frame_table *t, const struct lt_report_stack *st,
			const struct lt_report_frame *root, bool first)
{
	size_t slot;

	fprintf(out, "%s{\"b\":%" PRIu64 ",\"n\":%" PRIu64 ",\"age\":", first ? "\n" : ",\n",
		st->bytes, st->allocs);
	write_double(out, st->oldest_age_s);
	if (st->verdict != LT_VERDICT_NONE) {
		fprintf(out, ",\"v\":\"%s\"", lt_verdict_name(st->verdict));
		if (st->verdict != LT_VERDICT_UNKNOWN) {
			fputs(",\"r\":", out);
			write_double(out, st->growth_bytes_per_s);
		}
	}
	fputs(",\"f\":[", out);
	/* Every frame drawn was added by build_frame_table. */
	if (root)
		fprintf(out, st->nframes ? "%u," : "%u", frame_lookup(t, root, &slot));
	for (uint32_t f = st->nframes; f-- > 0;)
		fprintf(out, f + 1 < st->nframes ? ",%u" : "%u", frame_lookup(t, &st->frames[f], &slot));
	fputs("]}", out);
}

/* {"bytes":outstanding,"allocs":...,"stacks":[...]}. */
static void write_group(FILE *out, const struct frame_table *t, const struct lt_report_group *g)
{
	fprintf(out, "{\"bytes\":%" PRIu64 ",\"allocs\":%" PRIu64 ",\"stacks\":[",
		g->outstanding_bytes, g->outstanding_allocs);
	for (size_t i = 0; i < g->nstacks; i++)
		write_stack(out, t, &g->stacks[i], NULL, !i);
	fputs("]}", out);
}

/* --kernel: a group like a process's heap, each stack rooted at its cache. */
static void write_kernel(FILE *out, const struct frame_table *t, const struct lt_report_kernel *k)
{
	fprintf(out, ",\"kernel\":{\"bytes\":%" PRIu64 ",\"allocs\":%" PRIu64 ",\"stacks\":[",
		k->outstanding_bytes, k->outstanding_allocs);
	for (size_t i = 0; i < k->nstacks; i++)
		write_stack(out, t, &k->stacks[i].stack, &t->caches[i], !i);
	fputs("]}", out);
}

/* Every name in the chains comes from the traced process: escaped for the
 * <script> element the page's data sits in. */
static void write_holders(FILE *out, const struct lt_holders *h)
{
	fputs(",\"holders\":", out);
	lt_holders_write_json_html(out, h);
}

static void write_python(FILE *out, const struct frame_table *t, const struct lt_report_python *py)
{
	fprintf(out, ",\"python\":{\"version\":\"3.%u%s%.0u\",\"objects\":%" PRIu64
		",\"bytes\":%" PRIu64 ",\"at_shutdown\":%s,\"types\":[",
		py->minor, py->micro ? "." : "", py->micro, py->objects, py->bytes,
		py->at_shutdown ? "true" : "false");
	for (size_t i = 0; i < py->ntypes; i++) {
		const struct lt_report_py_type *ty = &py->types[i];

		fputs(i ? ",{\"name\":" : "{\"name\":", out);
		lt_html_json_string(out, ty->name);
		fprintf(out, ",\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"delta\":%" PRId64,
			ty->objects, ty->bytes, ty->delta_objects);
		if (ty->verdict != LT_VERDICT_NONE)
			fprintf(out, ",\"v\":\"%s\"", lt_verdict_name(ty->verdict));
		fputc('}', out);
	}
	fputs("],\"stacks\":", out);
	write_group(out, t, &py->stacks);
	if (py->holders)
		write_holders(out, py->holders);
	fputc('}', out);
}

/* Descriptors: a count per stack ("b" and "n" alike), what they are, and
 * a few by name ("k" kinds, "e" [name, count] pairs, "o" the others). */
static void write_fds(FILE *out, const struct frame_table *t, const struct lt_report_process *p)
{
	bool first = true;

	fprintf(out, ",\"fds\":{\"open_before\":%" PRIu64 ",\"kinds\":{", p->fds_open_before);
	for (unsigned k = 0; k < LT_FD_KIND_MAX; k++) {
		if (!p->fd_kinds[k])
			continue;
		fprintf(out, "%s\"%s\":%" PRIu64, first ? "" : ",", lt_fd_kind_name(k), p->fd_kinds[k]);
		first = false;
	}
	fputs("},\"names\":[", out);
	for (size_t i = 0; i < p->fds.nstacks; i++) {
		const struct lt_report_fd_detail *d = p->fds.stacks[i].fd;

		fputs(i ? ",{" : "{", out);
		fputs("\"k\":{", out);
		first = true;
		for (unsigned k = 0; d && k < LT_FD_KIND_MAX; k++) {
			if (!d->kinds[k])
				continue;
			fprintf(out, "%s\"%s\":%" PRIu64, first ? "" : ",", lt_fd_kind_name(k), d->kinds[k]);
			first = false;
		}
		fputs("},\"e\":[", out);
		for (size_t e = 0; d && e < d->nexamples; e++) {
			fputs(e ? ",[" : "[", out);
			lt_html_json_string(out, d->examples[e].text);
			fprintf(out, ",%" PRIu64 "]", d->examples[e].count);
		}
		fprintf(out, "],\"o\":%" PRIu64 "}", d ? d->others : 0);
	}
	fputs("],\"group\":", out);
	write_group(out, t, &p->fds);
	fputc('}', out);
}

static void write_process(FILE *out, const struct frame_table *t, const struct lt_report *r,
			  const struct lt_report_process *p)
{
	fprintf(out, "\n{\"pid\":%u,\"comm\":", p->pid);
	lt_html_json_string(out, p->comm);
	fputs(",\"exe\":", out);
	lt_html_json_string(out, p->exe);
	fputs(",\"container\":", out);
	lt_html_json_string(out, p->container_id);
	fprintf(out, ",\"exited\":%s,\"left_cgroup\":%s,\"heap\":", p->exited ? "true" : "false",
		p->left_cgroup ? "true" : "false");
	write_group(out, t, &p->heap);
	if (r->has_mmap) {
		fputs(",\"mmap\":", out);
		write_group(out, t, &p->mmap);
	}
	if (p->python)
		write_python(out, t, p->python);
	if (p->fds_traced)
		write_fds(out, t, p);
	fputc('}', out);
}

static void write_data(FILE *out, const struct frame_table *t, const struct lt_report *r)
{
	static const char *const drop_names[LT_DROP_MAX] = {
		[LT_DROP_RINGBUF_ALLOC] = "ringbuf_alloc",
		[LT_DROP_RINGBUF_FREE] = "ringbuf_free",
		[LT_DROP_RINGBUF_TASK] = "ringbuf_task",
		[LT_DROP_INFLIGHT_FULL] = "inflight_full",
		[LT_DROP_STACK_TRUNCATED] = "stacks_truncated",
		[LT_DROP_SAMPLED_FULL] = "sampled_full",
	};
	char when[64];
	struct tm tm;

	gmtime_r(&r->wall.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "{\"schema\":\"leaktrace/html/v1\",\"final\":%s,\"time\":\"%s.%03ldZ\",\"elapsed_s\":",
		r->final ? "true" : "false", when, r->wall.tv_nsec / 1000000);
	write_double(out, r->elapsed_s);
	fprintf(out, ",\"min_age_ms\":%" PRIu64 ",\"top\":%ld,\"sample_bytes\":%" PRIu64
		",\"has_mmap\":%s,\"lost_events\":%" PRIu64 ",\"suppressed_bytes\":%" PRIu64
		",\"suppressed_allocs\":%" PRIu64,
		r->min_age_ms, r->top, r->sample_bytes, r->has_mmap ? "true" : "false",
		r->lost_events, r->suppressed_bytes, r->suppressed_allocs);
	fprintf(out, ",\"events\":{\"allocs\":%" PRIu64 ",\"frees\":%" PRIu64
		",\"unmatched_frees\":%" PRIu64 ",\"userspace_oom\":%" PRIu64 "},\"drops\":{",
		r->stats.alloc_events, r->stats.free_events, r->stats.unmatched_frees,
		r->stats.out_of_memory);
	for (int i = 0; i < LT_DROP_MAX; i++)
		fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "", drop_names[i] ? drop_names[i] : "other",
			r->stats.drops[i]);
	fputc('}', out);
	write_frames(out, t);
	fputs(",\"processes\":[", out);
	for (size_t i = 0; i < r->nprocs; i++) {
		if (i)
			fputc(',', out);
		write_process(out, t, r, &r->procs[i]);
	}
	fputc(']', out);
	if (r->kernel)
		write_kernel(out, t, r->kernel);
	fputs("}\n", out);
}

int lt_report_html_data(const struct lt_report *r, char **out, size_t *len)
{
	struct frame_table t;
	FILE *f = NULL;
	int err = build_frame_table(&t, r);

	*out = NULL;
	*len = 0;
	if (!err && !(f = open_memstream(out, len)))
		err = -ENOMEM;
	if (!err) {
		write_data(f, &t, r);
		err = ferror(f) ? -ENOMEM : 0;
	}
	if (f && fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(*out);
		*out = NULL;
		*len = 0;
	}
	free_frame_table(&t);
	return err;
}

/* The page around what write(out, ctx) puts in its data block. */
static int write_page(FILE *out, void (*write)(FILE *out, const void *ctx), const void *ctx)
{
	const char *marker = strstr(lt_html_page, PAGE_MARKER);

	if (!marker)
		return -EINVAL; /* a page built without its marker: caught by the tests */
	fwrite(lt_html_page, 1, (size_t)(marker - lt_html_page) + 1, out);
	write(out, ctx);
	fputs(marker + strlen(PAGE_MARKER), out);
	return fflush(out) || ferror(out) ? -EIO : 0;
}

struct one_report {
	const struct frame_table *t;
	const struct lt_report *r;
};

static void write_one(FILE *out, const void *ctx)
{
	const struct one_report *o = ctx;

	write_data(out, o->t, o->r);
}

int lt_report_write_html(FILE *out, const struct lt_report *r)
{
	struct frame_table t;
	struct one_report o = { &t, r };
	int err = build_frame_table(&t, r);

	if (!err)
		err = write_page(out, write_one, &o);
	free_frame_table(&t);
	return err;
}

/* {"schema":"leaktrace/html/v2","thinned":N,"reports":[v1, ...]}: the page
 * draws the last and charts them all. */
static void write_history(FILE *out, const void *ctx)
{
	const struct lt_html_history *h = ctx;

	fprintf(out, "{\"schema\":\"leaktrace/html/v2\",\"thinned\":%" PRIu64 ",\"reports\":[",
		h->thinned);
	for (size_t i = 0; i < h->n; i++) {
		if (i)
			fputc(',', out);
		/* Each ends with a newline: the block stays line by line. */
		fwrite(h->data[i], 1, h->len[i], out);
	}
	fputs("]}\n", out);
}

int lt_report_write_html_history(FILE *out, const struct lt_html_history *h)
{
	return write_page(out, write_history, h);
}
