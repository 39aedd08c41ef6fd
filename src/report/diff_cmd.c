// SPDX-License-Identifier: MIT
/*
 * The `leaktrace diff` subcommand and its table. Rows that shrank are kept,
 * after the growing ones with negative numbers: a fix that freed memory is
 * as worth seeing as a leak that grew.
 */
#include "report/diff.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char diff_usage[] =
	"Usage: leaktrace diff OLD NEW [--by stack|line] [-T N]\n"
	"What grew between two snapshots written by leaktrace --snapshot FILE.\n"
	"  --by stack|line   match whole stacks (default), or only the innermost\n"
	"                    frame's file:line (function and module when unknown)\n"
	"  -T, --top N       show the N rows that grew most (default 10, 0 = all)\n"
	"Stacks match by process name and frames (function, file, line, module\n"
	"file name), not by address or pid. Rows that shrank follow, negative.\n";

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void put_signed(FILE *out, int64_t v)
{
	fprintf(out, "%c%" PRIu64, v < 0 ? '-' : '+', v < 0 ? (uint64_t)-v : (uint64_t)v);
}

/* As the text report shows frames. */
static void put_frame(FILE *out, const struct lt_snap_frame *f)
{
	fputs("        ", out);
	if (f->kind == LT_SNAP_PYTHON) {
		fprintf(out, "%s (%s:%d) [python]\n", f->func ? f->func : "?",
			f->file ? f->file : "?", f->line);
		return;
	}
	if (f->func)
		fprintf(out, "%s%s", f->func, f->kind == LT_SNAP_INLINED ? " (inlined)" : "");
	else if (f->module)
		fprintf(out, "[%s+0x%" PRIx64 "]", base_name(f->module), f->module_offset);
	else
		fputs("?", out);
	if (f->file && f->line > 0)
		fprintf(out, " (%s:%d)", f->file, f->line);
	if (f->func && f->module)
		fprintf(out, " [%s]", base_name(f->module));
	fputc('\n', out);
}

static void put_row(FILE *out, const struct lt_diff_row *row, enum lt_diff_by by)
{
	const struct lt_snap_stack *st = row->shown;
	const char *state = !row->in_old ? ", new" : !row->in_new ? ", gone" : "";

	if (row->kind == LT_DIFF_FDS) {
		put_signed(out, lt_diff_growth(row->new_allocs, row->old_allocs));
		fprintf(out, " descriptors (new total %" PRIu64 ") open in %s%s:\n", row->new_allocs,
			row->comm, state);
	} else {
		put_signed(out, lt_diff_growth(row->new_bytes, row->old_bytes));
		fprintf(out, " B (new total %" PRIu64 " B) ", row->new_bytes);
		put_signed(out, lt_diff_growth(row->new_allocs, row->old_allocs));
		fprintf(out, " %s (new total %" PRIu64 ") in %s%s%s:\n",
			row->kind == LT_DIFF_PYTHON ? "objects" : "allocations", row->new_allocs,
			row->comm, row->kind == LT_DIFF_PYTHON ? ", Python objects" : "", state);
	}
	if (!st || !st->nframes) {
		fputs("        (no stack)\n", out);
		return;
	}
	for (uint32_t i = 0; i < (by == LT_DIFF_BY_LINE ? 1 : st->nframes); i++)
		put_frame(out, &st->frames[i]);
}

void lt_diff_print(FILE *out, const struct lt_diff *d, enum lt_diff_by by, long top)
{
	uint64_t ob = 0, oa = 0, nb = 0, na = 0, of = 0, nf = 0;
	size_t grew = 0, shrank = 0, nmem = 0, shown, shown_fds;

	for (size_t i = 0; i < d->nrows; i++) {
		const struct lt_diff_row *row = &d->rows[i];
		int64_t g = lt_diff_growth(row->new_bytes, row->old_bytes);

		grew += g > 0;
		shrank += g < 0;
		if (row->kind == LT_DIFF_FDS) {
			of += row->old_allocs;
			nf += row->new_allocs;
			continue;
		}
		nmem++;
		if (row->kind == LT_DIFF_PYTHON)
			continue;
		ob += row->old_bytes;
		oa += row->old_allocs;
		nb += row->new_bytes;
		na += row->new_allocs;
	}
	/* -T applies to memory rows and to descriptor rows each. */
	shown = top > 0 && (size_t)top < nmem ? (size_t)top : nmem;
	shown_fds = top > 0 && (size_t)top < d->nrows - nmem ? (size_t)top : d->nrows - nmem;
	fprintf(out, "%zu %s%s: %zu grew, %zu shrank; showing %zu\n", d->nrows,
		by == LT_DIFF_BY_LINE ? "line" : "stack", d->nrows == 1 ? "" : "s", grew, shrank,
		shown + shown_fds);
	fputs("heap total: ", out);
	put_signed(out, lt_diff_growth(nb, ob));
	fprintf(out, " B (new total %" PRIu64 " B) ", nb);
	put_signed(out, lt_diff_growth(na, oa));
	fprintf(out, " allocations (new total %" PRIu64 ")\n", na);
	if (d->nrows > nmem) {
		fputs("descriptors total: ", out);
		put_signed(out, lt_diff_growth(nf, of));
		fprintf(out, " open (new total %" PRIu64 ")\n", nf);
	}
	for (size_t i = 0; i < shown; i++) {
		fputc('\n', out);
		put_row(out, &d->rows[i], by);
	}
	for (size_t i = 0; i < shown_fds; i++) {
		fputc('\n', out);
		put_row(out, &d->rows[nmem + i], by);
	}
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "leaktrace diff: %s%s%s (see leaktrace diff --help)\n", what,
		*arg ? ": " : "", arg);
	return 2;
}

int lt_diff_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "by", required_argument, NULL, 'b' },
		{ "top", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct lt_snapshot old = {}, new = {};
	struct lt_diff d = {};
	enum lt_diff_by by = LT_DIFF_BY_STACK;
	long top = 10;
	char err[512], *end;
	int c, ret = 1;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "T:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(diff_usage, stdout);
			return 0;
		}
		if (c == 'b' && !strcmp(optarg, "stack")) {
			by = LT_DIFF_BY_STACK;
		} else if (c == 'b' && !strcmp(optarg, "line")) {
			by = LT_DIFF_BY_LINE;
		} else if (c == 'b') {
			return usage_error("--by takes stack or line", optarg);
		} else if (c == 'T') {
			errno = 0;
			top = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || top < 0 || optarg[0] == '-' ||
			    optarg[0] == ' ')
				return usage_error("invalid -T count", optarg);
		} else {
			return usage_error("unknown option or missing argument",
					   optind > 0 && optind <= argc ? argv[optind - 1] : "");
		}
	}
	if (argc - optind != 2)
		return usage_error("needs two snapshot files, OLD and NEW", "");
	if (lt_snapshot_load(argv[optind], &old, err, sizeof(err)) ||
	    lt_snapshot_load(argv[optind + 1], &new, err, sizeof(err))) {
		fprintf(stderr, "leaktrace diff: %s\n", err);
		goto cleanup;
	}
	if (lt_diff_compute(&old, &new, by, &d)) {
		fprintf(stderr, "leaktrace diff: out of memory\n");
		goto cleanup;
	}
	lt_diff_print(stdout, &d, by, top);
	ret = fflush(stdout) || ferror(stdout) ? 1 : 0;
	if (ret)
		fprintf(stderr, "leaktrace diff: cannot write the output\n");
cleanup:
	lt_diff_free(&d);
	lt_snapshot_free(&new);
	lt_snapshot_free(&old);
	return ret;
}
