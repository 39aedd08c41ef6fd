// SPDX-License-Identifier: MIT
/*
 * Folded stacks ("frame;frame;... BYTES"), the input of flamegraph.pl,
 * inferno and speedscope: root first, leaf last, one line per stack.
 */
#include "output/report_writers.h"

#include <inttypes.h>
#include <string.h>

/* ';' separates frames and a line break ends the record: neither may
 * appear inside a name. */
static void put_name(FILE *out, const char *s)
{
	for (; *s; s++) {
		char c = *s;

		if (c == ';')
			c = ':';
		else if (c == '\n' || c == '\r')
			c = ' ';
		fputc(c, out);
	}
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void put_frame(FILE *out, const struct lt_report_frame *f)
{
	char hex[32];

	if (f->python) {
		put_name(out, f->func ? f->func : "?");
		fputs(" (", out);
		put_name(out, f->file ? f->file : "?");
		fprintf(out, ":%d)", f->line);
	} else if (f->func) {
		put_name(out, f->func);
	} else if (f->module) {
		put_name(out, base_name(f->module));
		snprintf(hex, sizeof(hex), "+0x%" PRIx64, f->module_offset);
		fputs(hex, out);
	} else {
		fprintf(out, "0x%" PRIx64, f->addr);
	}
}

static void write_group(FILE *out, const struct lt_report_process *p, const char *marker,
			const struct lt_report_group *g)
{
	for (size_t i = 0; i < g->nstacks; i++) {
		const struct lt_report_stack *st = &g->stacks[i];

		put_name(out, p->comm);
		fprintf(out, " (%u)", p->pid);
		if (marker)
			fprintf(out, ";%s", marker);
		if (!st->nframes)
			fputs(";[no stack]", out);
		/* The model keeps frames innermost first; flame graphs want the root first. */
		for (uint32_t f = st->nframes; f-- > 0;) {
			fputc(';', out);
			put_frame(out, &st->frames[f]);
		}
		fprintf(out, " %" PRIu64 "\n", st->bytes);
	}
}

/* --kernel: rooted at "[kernel]", then the cache most of the stack's
 * objects are in, so a flame graph splits the kernel's bytes by cache
 * first as the text report does. */
static void write_kernel(FILE *out, const struct lt_report_kernel *k)
{
	for (size_t i = 0; i < k->nstacks; i++) {
		const struct lt_report_kernel_stack *ks = &k->stacks[i];
		const struct lt_report_stack *st = &ks->stack;

		fputs("[kernel];", out);
		put_name(out, ks->cache ? ks->cache : "?");
		if (ks->ncaches > 1)
			fputs(" (and other caches)", out);
		if (!st->nframes)
			fputs(";[no stack]", out);
		for (uint32_t f = st->nframes; f-- > 0;) {
			fputc(';', out);
			put_frame(out, &st->frames[f]);
		}
		fprintf(out, " %" PRIu64 "\n", st->bytes);
	}
}

void lt_report_write_folded(FILE *out, const struct lt_report *r)
{
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct lt_report_process *p = &r->procs[i];

		write_group(out, p, NULL, &p->heap);
		if (r->has_mmap)
			write_group(out, p, "[anonymous mmap]", &p->mmap);
		if (p->python)
			write_group(out, p, "[python objects]", &p->python->stacks);
	}
	if (r->kernel)
		write_kernel(out, r->kernel);
	fflush(out);
}
