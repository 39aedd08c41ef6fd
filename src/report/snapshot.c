// SPDX-License-Identifier: MIT
/*
 * Snapshot writer. The format, one record per line, fields separated by a
 * tab, strings escaped (\\ \t \n \r) so no name can split a record; an
 * empty string field means unknown:
 *
 *   leaktrace-snapshot 1
 *   report  WALL_S  SAMPLE_BYTES
 *   process PID  COMM  EXE  EXITED(0|1)
 *   stack   heap|python|fds  BYTES  ALLOCS  NFRAMES   (then NFRAMES frame lines;
 *                                                  fds: both numbers count descriptors)
 *   frame   n|i|p  FUNC  FILE  LINE  MODULE  0xOFFSET
 *   type    NAME  OBJECTS  BYTES                  (Python objects by type)
 *   pyproc  START_TICKS  MINOR                    (the process, for leaktrace holders)
 *   sample  TYPE  0xTYPE  WHERE  0xOBJ,0xOBJ,...  (live objects of a growing type)
 *   end     NPROCS
 *
 * Stacks and types belong to the process line before them. The end line
 * is there so that a file cut short is told from a small one.
 */
#include "report/snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void lt_snapshot_put_escaped(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '\\':
			fputs("\\\\", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

static void put_field(FILE *out, const char *s)
{
	fputc('\t', out);
	lt_snapshot_put_escaped(out, s);
}

static char frame_kind(const struct lt_report_frame *f)
{
	if (f->python)
		return LT_SNAP_PYTHON;
	return f->inlined ? LT_SNAP_INLINED : LT_SNAP_NATIVE;
}

static void write_group(FILE *out, const char *name, const struct lt_report_group *g)
{
	for (size_t i = 0; i < g->nstacks; i++) {
		const struct lt_report_stack *st = &g->stacks[i];

		fprintf(out, "stack\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu32 "\n", name, st->bytes,
			st->allocs, st->nframes);
		for (uint32_t f = 0; f < st->nframes; f++) {
			const struct lt_report_frame *fr = &st->frames[f];

			fprintf(out, "frame\t%c", frame_kind(fr));
			put_field(out, fr->func);
			put_field(out, fr->file);
			fprintf(out, "\t%d", fr->line > 0 ? fr->line : 0);
			put_field(out, fr->module);
			fprintf(out, "\t0x%" PRIx64 "\n", fr->module_offset);
		}
	}
}

int lt_snapshot_write(FILE *out, const struct lt_report *r)
{
	fprintf(out, "leaktrace-snapshot %d\n", LT_SNAPSHOT_VERSION);
	fprintf(out, "report\t%lld\t%" PRIu64 "\n", (long long)r->wall.tv_sec, r->sample_bytes);
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct lt_report_process *p = &r->procs[i];

		fprintf(out, "process\t%" PRIu32, p->pid);
		put_field(out, p->comm);
		put_field(out, p->exe);
		fprintf(out, "\t%d\n", p->exited ? 1 : 0);
		write_group(out, "heap", &p->heap);
		if (p->fds_traced)
			write_group(out, "fds", &p->fds);
		if (!p->python)
			continue;
		write_group(out, "python", &p->python->stacks);
		for (size_t t = 0; t < p->python->ntypes; t++) {
			const struct lt_report_py_type *ty = &p->python->types[t];

			fputs("type", out);
			put_field(out, ty->name);
			fprintf(out, "\t%" PRIu64 "\t%" PRIu64 "\n", ty->objects, ty->bytes);
		}
		if (!p->python->start_ticks)
			continue;
		fprintf(out, "pyproc\t%" PRIu64 "\t%u\n", p->python->start_ticks, p->python->minor);
		for (size_t k = 0; k < p->python->nsamples; k++) {
			const struct lt_report_py_sample *sm = &p->python->samples[k];

			if (!sm->n)
				continue;
			fputs("sample", out);
			put_field(out, sm->type);
			fprintf(out, "\t0x%" PRIx64, sm->type_addr);
			put_field(out, sm->where);
			for (size_t o = 0; o < sm->n; o++)
				fprintf(out, "%s0x%" PRIx64, o ? "," : "\t", sm->objects[o]);
			fputc('\n', out);
		}
	}
	fprintf(out, "end\t%zu\n", r->nprocs);
	return ferror(out) ? -EIO : 0;
}

int lt_snapshot_save(const char *path, const struct lt_report *r, char *err, size_t errlen)
{
	char *tmp = NULL;
	FILE *f = NULL;
	int ret;

	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	f = fopen(tmp, "we");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(-ret));
		goto cleanup;
	}
	ret = lt_snapshot_write(f, r);
	/* Data on disk before the rename, or a crash could leave an empty FILE. */
	if (!ret && (fflush(f) || fsync(fileno(f))))
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -errno;
	f = NULL;
	if (ret) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(-ret));
		unlink(tmp);
		goto cleanup;
	}
	if (rename(tmp, path)) {
		ret = -errno;
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(-ret));
		unlink(tmp);
	}
cleanup:
	free(tmp);
	return ret;
}
