// SPDX-License-Identifier: MIT
#include "report/report_fds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "consume/process_table.h"
#include "python/python_objects.h"

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static bool same_line(const struct lt_py_traceback *a, const struct lt_py_traceback *b)
{
	if (!a->nframes || !b->nframes)
		return a->nframes == b->nframes;
	return a->frames[0].line == b->frames[0].line && !strcmp(a->frames[0].file, b->frames[0].file) &&
	       !strcmp(a->frames[0].func, b->frames[0].func);
}

static uint64_t line_hash(const struct lt_py_traceback *tb)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	if (!tb->nframes)
		return h;
	h = hash_str(hash_str(h, tb->frames[0].file), tb->frames[0].func);
	return (h ^ (uint64_t)(uint32_t)tb->frames[0].line) * 0x100000001b3ULL;
}

int lt_report_line_reps(const struct lt_py_process *pp, uint32_t **out)
{
	size_t n = pp->ntracebacks, cap = 16;
	uint32_t *reps, *slots;
	int err = 0;

	while (cap < 2 * n)
		cap *= 2;
	reps = malloc((n ? n : 1) * sizeof(*reps));
	slots = malloc(cap * sizeof(*slots)); /* traceback id + 1; 0 empty */
	if (!reps || !slots) {
		err = -ENOMEM;
		goto cleanup;
	}
	memset(slots, 0, cap * sizeof(*slots));
	for (size_t i = 0; i < n; i++) {
		const struct lt_py_traceback *tb = &pp->tracebacks[i];
		size_t j = line_hash(tb) & (cap - 1);

		while (slots[j] && !same_line(&pp->tracebacks[slots[j] - 1], tb))
			j = (j + 1) & (cap - 1);
		if (!slots[j])
			slots[j] = (uint32_t)i + 1;
		reps[i] = slots[j] - 1;
	}
	*out = reps;
	reps = NULL;
cleanup:
	free(reps);
	free(slots);
	return err;
}

static bool in_row(const struct lt_live_alloc *a, const struct lt_fd_row *row, bool exited)
{
	if (!exited && (a->ts_ns > row->now_ns || row->now_ns - a->ts_ns < row->min_age_ns))
		return false;
	if (!row->match_py || !a->pad)
		return !row->py_id && a->stack_id == row->stack_id;
	if (row->line_reps && a->pad - 1 < row->nreps)
		return row->line_reps[a->pad - 1] + 1 == row->py_id;
	return a->stack_id == row->stack_id && a->pad == row->py_id;
}

static int add_example(struct lt_report_fd_detail *d, const char *text)
{
	size_t i;

	for (i = 0; i < d->nexamples; i++) {
		if (!strcmp(d->examples[i].text, text)) {
			d->examples[i].count++;
			/* Keep the most common first. */
			while (i > 0 && d->examples[i].count > d->examples[i - 1].count) {
				struct lt_report_fd_example t = d->examples[i];

				d->examples[i] = d->examples[i - 1];
				d->examples[--i] = t;
			}
			return 0;
		}
	}
	if (d->nexamples == LT_FD_EXAMPLES) {
		d->others++;
		return 0;
	}
	d->examples[i].text = strdup(text);
	if (!d->examples[i].text)
		return -ENOMEM;
	d->examples[i].count = 1;
	d->nexamples++;
	return 0;
}

int lt_report_fd_detail(const struct lt_process *p, const struct lt_fd_row *row,
			struct lt_report_fd_detail **out)
{
	struct lt_report_fd_detail *d = calloc(1, sizeof(*d));
	struct lt_live_alloc entry;
	const struct lt_live_alloc *a = &entry;
	uint64_t iter = 0;

	*out = d;
	if (!d)
		return -ENOMEM;
	while (lt_live_next(&p->fds.open, &iter, &entry)) {
		const struct lt_fd_note *note;

		if (!in_row(a, row, p->exited))
			continue;
		note = lt_fd_table_note_of(&p->fds, (uint32_t)(a->addr - 1));
		d->kinds[note ? note->kind : LT_FD_UNKNOWN]++;
		if (note && add_example(d, note->text))
			return -ENOMEM;
		if (!note)
			d->others++;
	}
	return 0;
}

void lt_report_fd_totals(const struct lt_process *p, struct lt_report_process *rp)
{
	struct lt_live_alloc entry;
	const struct lt_live_alloc *a = &entry;
	uint64_t iter = 0;

	memset(rp->fd_kinds, 0, sizeof(rp->fd_kinds));
	while (lt_live_next(&p->fds.open, &iter, &entry)) {
		const struct lt_fd_note *note = lt_fd_table_note_of(&p->fds, (uint32_t)(a->addr - 1));

		rp->fd_kinds[note ? note->kind : LT_FD_UNKNOWN]++;
	}
	rp->fds_open_before = p->fds.nbefore;
}
