/* SPDX-License-Identifier: MIT */
/*
 * The pure part of --live: the rows of the last report shown, in every
 * view at once (so a key switches view without waiting for a report), and
 * for each row a short history of its value over the last reports, kept
 * under a key that is stable across reports (the process and what the
 * frames are, not where a report happened to put them). No terminal here:
 * live_view.c draws it.
 */
#ifndef LT_LIVE_MODEL_H
#define LT_LIVE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/report_types.h"

/* Sparkline points: one per report, the newest last. */
#define LT_LIVE_HISTORY 20
/* Past this many series the least recently reported go (bounded memory
 * whatever the number of stacks a system-wide run shows). */
#define LT_LIVE_MAX_SERIES 4096
/* Sparkline glyph levels, 0..LT_LIVE_LEVELS - 1; LT_LIVE_NO_POINT: the
 * row was not in that report (cut by -T or -o, or not there yet). */
#define LT_LIVE_LEVELS 8
#define LT_LIVE_NO_POINT (-1)

enum lt_live_kind {
	LT_LIVE_NATIVE,   /* heap stacks */
	LT_LIVE_PY_TYPES, /* Python objects by type */
	LT_LIVE_PY_LINES, /* Python objects by traceback (or line) */
	LT_LIVE_FDS,      /* descriptors left open, by stack */
	LT_LIVE_KERNEL,   /* --kernel: kernel objects by kernel stack (pid 0, comm its cache) */
	LT_LIVE_KCACHES,  /* --kernel: kernel objects by cache */
	LT_LIVE_KINDS,
};

enum lt_live_sort { LT_LIVE_BY_GROWTH, LT_LIVE_BY_BYTES, LT_LIVE_BY_COUNT, LT_LIVE_SORTS };

struct lt_live_row {
	uint64_t key; /* of its series */
	uint32_t pid;
	char comm[LT_COMM_LEN];
	char *label;   /* the innermost frame, or the type */
	char *callers; /* the frames above it, "a < b < c"; "" for types */
	uint64_t bytes;
	uint64_t count; /* blocks, objects or descriptors */
	enum lt_verdict verdict;
	double slope;   /* the verdict's, per second; meaningful once it is known */
	double rate;    /* change since the previous report shown, per second; NAN: none */
};

struct lt_live_series {
	uint64_t key;
	uint64_t last;                   /* report number of the newest sample */
	double v[LT_LIVE_HISTORY];       /* by report number % LT_LIVE_HISTORY */
};

struct lt_live_proc {
	uint32_t pid;
	char comm[LT_COMM_LEN];
	uint64_t bytes;
	bool exited;
};

struct lt_live_model {
	uint64_t reports;   /* reports taken in; 1 after the first */
	double t_s[LT_LIVE_HISTORY]; /* each report's elapsed time, as v */
	/* The header of the last report taken in. */
	double elapsed_s;
	struct timespec wall;
	struct lt_stats stats;
	uint64_t lost_events;
	struct lt_live_row *rows[LT_LIVE_KINDS];
	size_t nrows[LT_LIVE_KINDS];
	struct lt_live_proc *procs;
	size_t nprocs;
	struct lt_live_series *series; /* sorted by key */
	size_t nseries;
	size_t max_series;
};

void lt_live_model_init(struct lt_live_model *m, size_t max_series);
void lt_live_model_free(struct lt_live_model *m);
/* The report's rows replace the previous ones; each row's value joins its
 * series. Returns 0, or -ENOMEM with the previous rows kept. */
int lt_live_model_take(struct lt_live_model *m, const struct lt_report *r);
/*
 * The rows of one kind, of process pid (0: all), in order: by growth (the
 * verdict's slope once known, else the change since the previous report),
 * bytes or count, largest first; ties by bytes, then pid, then label, so
 * the order does not flicker. out has room for m->nrows[kind]. Returns how
 * many.
 */
size_t lt_live_model_rows(const struct lt_live_model *m, enum lt_live_kind kind, uint32_t pid,
			  enum lt_live_sort sort, const struct lt_live_row **out);
/* The growth a row is sorted by (see above). */
double lt_live_row_growth(const struct lt_live_row *row);
/*
 * The row's sparkline over the last n <= LT_LIVE_HISTORY reports, oldest
 * first: levels scaled from the least to the largest value shown (all at 0
 * when flat), LT_LIVE_NO_POINT where it was not reported. Returns n.
 */
size_t lt_live_model_sparkline(const struct lt_live_model *m, const struct lt_live_row *row,
			       int *levels, size_t n);
/* The series of a key; NULL when not tracked. */
const struct lt_live_series *lt_live_model_series(const struct lt_live_model *m, uint64_t key);

/* Key of a stack in process pid of one kind: its frames' identities
 * (module and offset, or the Python function, file and line), hashed. */
uint64_t lt_live_stack_key(enum lt_live_kind kind, uint32_t pid, const struct lt_report_stack *st);
/* How a frame is named on a row: "func (file:line)", "[module+0xoff]"... */
void lt_live_frame_name(const struct lt_report_frame *f, char *buf, size_t len);

#endif
