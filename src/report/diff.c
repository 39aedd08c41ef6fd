// SPDX-License-Identifier: MIT
/*
 * Matching two snapshots. Addresses and pids differ between two runs of the
 * same program, so a stack is known by what stays: its process's comm and
 * each frame's function, file, line and module file name (the offset in
 * the module only for frames without a function, which nothing else
 * tells apart). Rows from both sides are sorted by that key and merged.
 */
#include "report/diff.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"

struct entry {
	char *key;
	const char *comm;
	enum lt_diff_kind kind;
	bool from_new;
	const struct lt_snap_stack *stack;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/* Fields are escaped, so tab and line feed cannot occur inside one. */
static void put_key_frame(FILE *k, const struct lt_snap_frame *f)
{
	fprintf(k, "\n%c\t", f->kind);
	lt_snapshot_put_escaped(k, f->func);
	fputc('\t', k);
	lt_snapshot_put_escaped(k, f->file);
	fprintf(k, "\t%d\t", f->line);
	lt_snapshot_put_escaped(k, base_name(f->module));
	if (!f->func)
		fprintf(k, "\t%" PRIx64, f->module_offset);
}

static void put_key_line(FILE *k, const struct lt_snap_frame *f)
{
	if (f->file && f->line > 0) {
		fputs("\nL\t", k);
		lt_snapshot_put_escaped(k, f->file);
		fprintf(k, "\t%d", f->line);
	} else {
		put_key_frame(k, f);
	}
}

static char *make_key(const char *comm, enum lt_diff_kind kind, const struct lt_snap_stack *st,
		      enum lt_diff_by by)
{
	static const char *const prefix[] = { "heap\t", "py\t", "fd\t" };
	char *buf = NULL;
	size_t len = 0;
	FILE *k = open_memstream(&buf, &len);

	if (!k)
		return NULL;
	fputs(prefix[kind], k);
	lt_snapshot_put_escaped(k, comm);
	if (by == LT_DIFF_BY_LINE && st->nframes)
		put_key_line(k, &st->frames[0]);
	for (uint32_t i = 0; by == LT_DIFF_BY_STACK && i < st->nframes; i++)
		put_key_frame(k, &st->frames[i]);
	if (fclose(k)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int add_group(struct entries *e, const struct lt_snap_process *p, enum lt_diff_kind kind,
		     bool from_new, const struct lt_snap_group *g, enum lt_diff_by by)
{
	for (size_t i = 0; i < g->nstacks; i++) {
		struct entry *v = lt_grow(e->v, &e->cap, e->n + 1, sizeof(*v));
		struct entry *it;

		if (!v)
			return -ENOMEM;
		e->v = v;
		it = &e->v[e->n];
		it->comm = p->comm ? p->comm : "?";
		it->kind = kind;
		it->from_new = from_new;
		it->stack = &g->stacks[i];
		it->key = make_key(it->comm, kind, it->stack, by);
		if (!it->key)
			return -ENOMEM;
		e->n++;
	}
	return 0;
}

static int add_snapshot(struct entries *e, const struct lt_snapshot *s, bool from_new,
			enum lt_diff_by by)
{
	int err = 0;

	for (size_t i = 0; i < s->nprocs && !err; i++) {
		err = add_group(e, &s->procs[i], LT_DIFF_HEAP, from_new, &s->procs[i].heap, by);
		if (!err)
			err = add_group(e, &s->procs[i], LT_DIFF_PYTHON, from_new, &s->procs[i].python, by);
		if (!err)
			err = add_group(e, &s->procs[i], LT_DIFF_FDS, from_new, &s->procs[i].fds, by);
	}
	return err;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

int64_t lt_diff_growth(uint64_t new_value, uint64_t old_value)
{
	if (new_value >= old_value)
		return new_value - old_value > INT64_MAX ? INT64_MAX : (int64_t)(new_value - old_value);
	return old_value - new_value > INT64_MAX ? -INT64_MAX : -(int64_t)(old_value - new_value);
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a > b ? -1 : a < b ? 1 : 0;
}

/* Memory rows, then descriptor rows (counts are not bytes); each by largest
 * bytes growth first, then allocations growth, then new total; the key
 * last so that equal rows print in a stable order. */
static int by_growth(const void *pa, const void *pb)
{
	const struct lt_diff_row *a = pa, *b = pb;
	int c = (a->kind == LT_DIFF_FDS) - (b->kind == LT_DIFF_FDS);

	if (!c)
		c = cmp_i64(lt_diff_growth(a->new_bytes, a->old_bytes),
			    lt_diff_growth(b->new_bytes, b->old_bytes));

	if (!c)
		c = cmp_i64(lt_diff_growth(a->new_allocs, a->old_allocs),
			    lt_diff_growth(b->new_allocs, b->old_allocs));
	if (!c)
		c = a->new_bytes > b->new_bytes ? -1 : a->new_bytes < b->new_bytes;
	return c ? c : strcmp(a->key, b->key);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Entries sorted by key become one row per key; keys move into the rows. */
static void merge(struct entries *e, struct lt_diff *d)
{
	for (size_t i = 0; i < e->n; i++) {
		struct entry *it = &e->v[i];
		struct lt_diff_row *row = d->nrows ? &d->rows[d->nrows - 1] : NULL;

		if (!row || strcmp(row->key, it->key)) {
			row = &d->rows[d->nrows++];
			memset(row, 0, sizeof(*row));
			row->key = it->key;
			row->comm = it->comm;
			row->kind = it->kind;
		} else {
			free(it->key);
		}
		it->key = NULL;
		if (it->from_new) {
			row->new_bytes = sat_add(row->new_bytes, it->stack->bytes);
			row->new_allocs = sat_add(row->new_allocs, it->stack->allocs);
			if (!row->in_new)
				row->shown = it->stack;
			row->in_new = true;
		} else {
			row->old_bytes = sat_add(row->old_bytes, it->stack->bytes);
			row->old_allocs = sat_add(row->old_allocs, it->stack->allocs);
			row->in_old = true;
			if (!row->shown)
				row->shown = it->stack;
		}
	}
}

int lt_diff_compute(const struct lt_snapshot *old, const struct lt_snapshot *new,
		    enum lt_diff_by by, struct lt_diff *d)
{
	struct entries e = {};
	int err;

	memset(d, 0, sizeof(*d));
	err = add_snapshot(&e, old, false, by);
	if (!err)
		err = add_snapshot(&e, new, true, by);
	if (err)
		goto cleanup;
	if (!e.n)
		goto cleanup;
	d->rows = calloc(e.n, sizeof(*d->rows));
	if (!d->rows) {
		err = -ENOMEM;
		goto cleanup;
	}
	qsort(e.v, e.n, sizeof(*e.v), by_key);
	merge(&e, d);
	qsort(d->rows, d->nrows, sizeof(*d->rows), by_growth);
cleanup:
	for (size_t i = 0; i < e.n; i++)
		free(e.v[i].key);
	free(e.v);
	if (err)
		lt_diff_free(d);
	return err;
}

void lt_diff_free(struct lt_diff *d)
{
	for (size_t i = 0; i < d->nrows; i++)
		free(d->rows[i].key);
	free(d->rows);
	memset(d, 0, sizeof(*d));
}
