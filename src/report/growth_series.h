/* SPDX-License-Identifier: MIT */
/*
 * Growth series: for each stack (or Python type) of a process, the value it
 * had in each of the last reports, so a trend test can tell a leak from a
 * cache. One sample per series per report.
 */
#ifndef LT_GROWTH_SERIES_H
#define LT_GROWTH_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/trend.h"

/* Past this many series per set, the least recently reported go. */
#define LT_GROWTH_MAX_SERIES 4096

struct lt_growth_series {
	uint64_t key;
	uint64_t tag;       /* a different tag under the same key restarts the series */
	uint64_t last_seen; /* report number when the value was last non-zero */
	uint64_t sampled;   /* report number of the newest sample */
	uint32_t head;      /* next slot to write */
	uint32_t n;
	struct lt_trend_sample *ring; /* 2 * window: the test's window, and as
					 many older samples for its sawtooth guard */
};

struct lt_growth_set {
	struct lt_trend_params params;
	size_t max_series;
	struct lt_growth_series *v;
	size_t n, capacity;
	uint32_t *index; /* open addressing: slot + 1; 0 empty */
	size_t index_cap;
	uint64_t report; /* 1 for the first report */
	double now_s;
};

void lt_growth_init(struct lt_growth_set *g, const struct lt_trend_params *p, size_t max_series);
void lt_growth_free(struct lt_growth_set *g);
/* A report starts: its samples are taken at now_s (increasing). */
void lt_growth_begin(struct lt_growth_set *g, double now_s);
/*
 * This report's value of a series, and the trend it now shows. A new series
 * when the set is full evicts the least recently reported ones, unless all
 * were reported now: then it is not tracked (verdict NONE). 0 or -ENOMEM.
 */
int lt_growth_record(struct lt_growth_set *g, uint64_t key, uint64_t tag, double value,
		     struct lt_trend *out);
/* The report ends: series not recorded in it held nothing, a 0 sample. */
void lt_growth_end(struct lt_growth_set *g);
/*
 * The trend a series would show with value as its sample of a report at
 * now_s, without recording it: what lt_growth_begin and lt_growth_record
 * would say. g may be NULL (no series yet: value alone). When the set is
 * full, a new series' one sample says too little anyway. Never fails.
 */
void lt_growth_peek(const struct lt_growth_set *g, const struct lt_trend_params *params,
		    double now_s, uint64_t key, uint64_t tag, double value, struct lt_trend *out);
/* The trend test's parameters for a process's heap stacks (bytes) and for
 * its Python types (objects), over window reports. */
struct lt_trend_params lt_growth_params(uint32_t window, bool py_types);

/* A series' samples, oldest first, into out (2 * window). Returns count. */
size_t lt_growth_samples(const struct lt_growth_set *g, const struct lt_growth_series *s,
			 struct lt_trend_sample *out);

/*
 * The sets of every process: heap stacks and Python types, by the process
 * record's serial number, not its PID: an exited process still to be shown
 * and a later one given its PID are in the same report, each with its own.
 */
struct lt_growth_proc {
	uint64_t key;
	uint64_t seen; /* table generation of the last report that had it */
	struct lt_growth_set heap;
	struct lt_growth_set py_types;
	struct lt_growth_set fds; /* descriptor stacks' counts */
};

struct lt_growth_table {
	struct lt_growth_proc **v; /* sorted by key */
	size_t n;
	uint32_t window;
	uint64_t generation;
};

void lt_growth_table_init(struct lt_growth_table *t, uint32_t window);
void lt_growth_table_free(struct lt_growth_table *t);
/* A report starts: processes not looked up before lt_growth_table_end go. */
void lt_growth_table_begin(struct lt_growth_table *t);
/* The sets of the process with this key, created on first use. NULL on ENOMEM. */
struct lt_growth_proc *lt_growth_table_get(struct lt_growth_table *t, uint64_t key);
/* The same, but only looked up: NULL when it has none yet. */
const struct lt_growth_proc *lt_growth_table_find(const struct lt_growth_table *t, uint64_t key);
void lt_growth_table_end(struct lt_growth_table *t);

#endif
