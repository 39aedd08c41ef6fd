/* SPDX-License-Identifier: MIT */
/*
 * Snapshots: the aggregated state of a report saved as versioned,
 * line-oriented text (format in snapshot.c and the README), read back for
 * `leaktrace diff`. The reader trusts nothing in the file.
 */
#ifndef LT_SNAPSHOT_H
#define LT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/report_types.h"

#define LT_SNAPSHOT_VERSION 1
/* Reader bounds: a file beyond them is refused, not half-read. */
#define LT_SNAPSHOT_MAX_LINE (64 * 1024)
#define LT_SNAPSHOT_MAX_PROCS 65536
#define LT_SNAPSHOT_MAX_STACKS (1u << 20) /* per process and group */
#define LT_SNAPSHOT_MAX_FRAMES 4096       /* per stack */
#define LT_SNAPSHOT_MAX_TYPES 65536       /* per process */
#define LT_SNAPSHOT_MAX_SAMPLES 256       /* per process */
#define LT_SNAPSHOT_MAX_SAMPLED 1000      /* objects per sample */

enum lt_snap_frame_kind { LT_SNAP_NATIVE = 'n', LT_SNAP_INLINED = 'i', LT_SNAP_PYTHON = 'p' };

/* NULL strings: unknown (written as empty fields). */
struct lt_snap_frame {
	char *func;
	char *file;
	int line;            /* 0 when unknown */
	char *module;        /* full path as written */
	uint64_t module_offset;
	char kind;           /* enum lt_snap_frame_kind */
};

struct lt_snap_stack {
	uint64_t bytes;
	uint64_t allocs;
	struct lt_snap_frame *frames; /* innermost first */
	uint32_t nframes;
};

struct lt_snap_group {
	struct lt_snap_stack *stacks;
	size_t nstacks;
};

struct lt_snap_type {
	char *name;
	uint64_t objects;
	uint64_t bytes;
};

/* Live objects of a type made at one place (for leaktrace holders). */
struct lt_snap_sample {
	char *type;
	uint64_t type_addr;
	char *where;          /* NULL unknown */
	uint64_t *objects;
	size_t n;
};

struct lt_snap_process {
	uint32_t pid;
	char *comm;
	char *exe;
	bool exited;
	struct lt_snap_group heap;
	struct lt_snap_group python; /* Python tracebacks (or lines) */
	struct lt_snap_group fds;    /* descriptors left open (bytes = allocs = count) */
	struct lt_snap_type *types;
	size_t ntypes;
	uint64_t py_start_ticks; /* 0: no pyproc record (no samples) */
	uint32_t py_minor;
	struct lt_snap_sample *samples;
	size_t nsamples;
};

struct lt_snapshot {
	int64_t wall_s;        /* when the report was built, Unix time */
	uint64_t sample_bytes; /* 0: exact counts */
	struct lt_snap_process *procs;
	size_t nprocs;
};

/* Writes r as a snapshot. Returns 0 or -EIO. */
int lt_snapshot_write(FILE *out, const struct lt_report *r);
/* Writes PATH.tmp, then renames it to PATH, so a reader never sees half a
 * file. Returns 0 or -errno, with a one-line reason in err. */
int lt_snapshot_save(const char *path, const struct lt_report *r, char *err, size_t errlen);

/* Reads a snapshot from in; name is used in messages. Returns 0, or
 * -EINVAL / -ENOMEM / -EIO with "NAME:LINE: reason" in err; out is then
 * empty. */
int lt_snapshot_parse(FILE *in, const char *name, struct lt_snapshot *out, char *err,
		      size_t errlen);
/* lt_snapshot_parse on the file at path. */
int lt_snapshot_load(const char *path, struct lt_snapshot *out, char *err, size_t errlen);
void lt_snapshot_free(struct lt_snapshot *s);

/* s with '\\', tab, line feed and carriage return escaped, as in the file. */
void lt_snapshot_put_escaped(FILE *out, const char *s);

#endif
