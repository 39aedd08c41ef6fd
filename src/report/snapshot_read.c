// SPDX-License-Identifier: MIT
/*
 * Snapshot reader (format in snapshot.c). The file may come from anywhere:
 * lines, counts and numbers are bounded, and the first malformed line ends
 * the read with "FILE:LINE: reason".
 */
#include "report/snapshot.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"

#define MAX_FIELDS 8

struct reader {
	FILE *in;
	const char *name;
	unsigned long lineno;
	char *buf; /* LT_SNAPSHOT_MAX_LINE + 1 */
	char *fields[MAX_FIELDS];
	int nfields;
	char *err;
	size_t errlen;
	struct lt_snapshot *snap;
	struct lt_snap_process *proc; /* the process records belong to */
	struct lt_snap_stack *stack;  /* waiting for frame lines */
	uint32_t frames_left;
	/* Room in the arrays records are added to: the processes, and the
	 * stacks and types of proc (none in a new one). */
	size_t cap_procs, cap_heap, cap_python, cap_fds, cap_types, cap_samples;
};

static int failf(struct reader *rd, int ret, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(rd->err, rd->errlen, "%s:%lu: %s", rd->name, rd->lineno, why);
	return ret;
}

/* 1: a line in rd->buf; 0: end of file; <0: error. */
static int read_line(struct reader *rd)
{
	size_t len = 0;
	int c;

	rd->lineno++;
	while ((c = getc(rd->in)) != EOF && c != '\n') {
		if (c == '\0')
			return failf(rd, -EINVAL, "NUL byte in line");
		if (len == LT_SNAPSHOT_MAX_LINE)
			return failf(rd, -EINVAL, "line longer than %d bytes", LT_SNAPSHOT_MAX_LINE);
		rd->buf[len++] = (char)c;
	}
	if (ferror(rd->in))
		return failf(rd, -EIO, "read error");
	if (c == EOF && len == 0)
		return 0;
	/* Every record ends in a line feed: one without was cut short. */
	if (c == EOF)
		return failf(rd, -EINVAL, "truncated line (no line feed at the end)");
	rd->buf[len] = '\0';
	return 1;
}

/* Undoes lt_snapshot_put_escaped in place. */
static int unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s != '\\') {
			*w++ = *s;
			continue;
		}
		switch (*++s) {
		case '\\':
			*w++ = '\\';
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		default:
			return -EINVAL; /* includes a backslash ending the field */
		}
	}
	*w = '\0';
	return 0;
}

static int split(struct reader *rd)
{
	char *s = rd->buf;

	rd->nfields = 0;
	for (;;) {
		char *tab = strchr(s, '\t');

		if (rd->nfields == MAX_FIELDS)
			return failf(rd, -EINVAL, "too many fields");
		rd->fields[rd->nfields++] = s;
		if (!tab)
			break;
		*tab = '\0';
		s = tab + 1;
	}
	for (int i = 0; i < rd->nfields; i++)
		if (unescape(rd->fields[i]))
			return failf(rd, -EINVAL, "bad escape in field %d", i + 1);
	return 0;
}

static int want_fields(struct reader *rd, int n)
{
	if (rd->nfields != n)
		return failf(rd, -EINVAL, "%s record: %d fields, expected %d", rd->fields[0],
			     rd->nfields, n);
	return 0;
}

static int parse_u64(struct reader *rd, int i, uint64_t max, uint64_t *out)
{
	const char *s = rd->fields[i];
	uint64_t v = 0;

	if (!*s)
		return failf(rd, -EINVAL, "field %d: empty number", i + 1);
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return failf(rd, -EINVAL, "field %d: bad number '%.40s'", i + 1, rd->fields[i]);
		uint64_t d = (uint64_t)(*s - '0');

		if (d > max || v > (max - d) / 10)
			return failf(rd, -EINVAL, "field %d: number out of range", i + 1);
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_hex(struct reader *rd, int i, uint64_t *out)
{
	const char *s = rd->fields[i];
	uint64_t v = 0;
	size_t n = 0;

	if (s[0] != '0' || s[1] != 'x' || !s[2])
		return failf(rd, -EINVAL, "field %d: bad hex number '%.40s'", i + 1, s);
	for (s += 2; *s; s++, n++) {
		if (!isxdigit((unsigned char)*s) || n == 16)
			return failf(rd, -EINVAL, "field %d: bad hex number '%.40s'", i + 1,
				     rd->fields[i]);
		v = v << 4 | (uint64_t)(isdigit((unsigned char)*s) ? *s - '0'
								    : tolower((unsigned char)*s) - 'a' + 10);
	}
	*out = v;
	return 0;
}

/* An owned copy; the empty string stands for unknown. */
static int take_string(struct reader *rd, int i, char **out)
{
	*out = NULL;
	if (!*rd->fields[i])
		return 0;
	*out = strdup(rd->fields[i]);
	return *out ? 0 : failf(rd, -ENOMEM, "out of memory");
}

/* *grown: vec (n elements, room for *cap) with room for one more, zeroed;
 * refusing past max. The caller stores it and counts the element. */
static int grow(struct reader *rd, void *vec, size_t *cap, size_t n, size_t elem, size_t max,
		const char *what, void **grown)
{
	if (n >= max)
		return failf(rd, -EINVAL, "more than %zu %s", max, what);
	vec = lt_grow(vec, cap, n + 1, elem);
	if (!vec)
		return failf(rd, -ENOMEM, "out of memory");
	memset((char *)vec + n * elem, 0, elem);
	*grown = vec;
	return 0;
}

static int on_process(struct reader *rd)
{
	struct lt_snap_process *p;
	void *grown;
	uint64_t v;
	int err;

	if ((err = want_fields(rd, 5)))
		return err;
	if ((err = grow(rd, rd->snap->procs, &rd->cap_procs, rd->snap->nprocs, sizeof(*p),
			LT_SNAPSHOT_MAX_PROCS, "processes", &grown)))
		return err;
	rd->snap->procs = grown;
	p = &rd->snap->procs[rd->snap->nprocs++];
	rd->proc = p;
	rd->cap_heap = rd->cap_python = rd->cap_fds = rd->cap_types = rd->cap_samples = 0;
	if ((err = parse_u64(rd, 1, UINT32_MAX, &v)))
		return err;
	p->pid = (uint32_t)v;
	if ((err = take_string(rd, 2, &p->comm)) || (err = take_string(rd, 3, &p->exe)))
		return err;
	if ((err = parse_u64(rd, 4, 1, &v)))
		return err;
	p->exited = v == 1;
	return 0;
}

static int on_stack(struct reader *rd)
{
	struct lt_snap_group *g;
	struct lt_snap_stack *st;
	uint64_t nframes;
	void *grown;
	size_t *cap;
	int err;

	if ((err = want_fields(rd, 5)))
		return err;
	if (!rd->proc)
		return failf(rd, -EINVAL, "stack record before any process record");
	if (!strcmp(rd->fields[1], "heap")) {
		g = &rd->proc->heap;
		cap = &rd->cap_heap;
	} else if (!strcmp(rd->fields[1], "python")) {
		g = &rd->proc->python;
		cap = &rd->cap_python;
	} else if (!strcmp(rd->fields[1], "fds")) {
		g = &rd->proc->fds;
		cap = &rd->cap_fds;
	} else {
		return failf(rd, -EINVAL, "unknown stack kind '%.40s'", rd->fields[1]);
	}
	if ((err = grow(rd, g->stacks, cap, g->nstacks, sizeof(*st), LT_SNAPSHOT_MAX_STACKS,
			"stacks in a process", &grown)))
		return err;
	g->stacks = grown;
	st = &g->stacks[g->nstacks++];
	if ((err = parse_u64(rd, 2, UINT64_MAX, &st->bytes)) ||
	    (err = parse_u64(rd, 3, UINT64_MAX, &st->allocs)) ||
	    (err = parse_u64(rd, 4, LT_SNAPSHOT_MAX_FRAMES, &nframes)))
		return err;
	if (nframes) {
		/* Bounded above: at most LT_SNAPSHOT_MAX_FRAMES elements. */
		st->frames = calloc(nframes, sizeof(*st->frames));
		if (!st->frames)
			return failf(rd, -ENOMEM, "out of memory");
	}
	rd->stack = st;
	rd->frames_left = (uint32_t)nframes;
	return 0;
}

static int on_frame(struct reader *rd)
{
	struct lt_snap_frame *f;
	uint64_t line;
	const char *kind = rd->fields[1];
	int err;

	if ((err = want_fields(rd, 7)))
		return err;
	f = &rd->stack->frames[rd->stack->nframes];
	if (kind[0] != LT_SNAP_NATIVE && kind[0] != LT_SNAP_INLINED && kind[0] != LT_SNAP_PYTHON)
		return failf(rd, -EINVAL, "unknown frame kind '%.40s'", kind);
	if (kind[1])
		return failf(rd, -EINVAL, "unknown frame kind '%.40s'", kind);
	/* Counted before the strings are taken, so a failure frees them too. */
	rd->stack->nframes++;
	rd->frames_left--;
	f->kind = kind[0];
	if ((err = take_string(rd, 2, &f->func)) || (err = take_string(rd, 3, &f->file)) ||
	    (err = parse_u64(rd, 4, INT_MAX, &line)) || (err = take_string(rd, 5, &f->module)) ||
	    (err = parse_hex(rd, 6, &f->module_offset)))
		return err;
	f->line = (int)line;
	return 0;
}

static int on_type(struct reader *rd)
{
	struct lt_snap_type *t;
	void *grown;
	int err;

	if ((err = want_fields(rd, 4)))
		return err;
	if (!rd->proc)
		return failf(rd, -EINVAL, "type record before any process record");
	if ((err = grow(rd, rd->proc->types, &rd->cap_types, rd->proc->ntypes, sizeof(*t),
			LT_SNAPSHOT_MAX_TYPES, "types in a process", &grown)))
		return err;
	rd->proc->types = grown;
	t = &rd->proc->types[rd->proc->ntypes++];
	if ((err = take_string(rd, 1, &t->name)) ||
	    (err = parse_u64(rd, 2, UINT64_MAX, &t->objects)) ||
	    (err = parse_u64(rd, 3, UINT64_MAX, &t->bytes)))
		return err;
	return 0;
}

static int on_pyproc(struct reader *rd)
{
	uint64_t ticks, minor;
	int err;

	if ((err = want_fields(rd, 3)))
		return err;
	if (!rd->proc)
		return failf(rd, -EINVAL, "pyproc record before any process record");
	if ((err = parse_u64(rd, 1, UINT64_MAX, &ticks)) ||
	    (err = parse_u64(rd, 2, 99, &minor)))
		return err;
	if (!ticks)
		return failf(rd, -EINVAL, "pyproc record: start time 0");
	rd->proc->py_start_ticks = ticks;
	rd->proc->py_minor = (uint32_t)minor;
	return 0;
}

static int on_sample(struct reader *rd)
{
	struct lt_snap_sample *sm;
	const char *at;
	char *list;
	void *grown;
	int err;

	if ((err = want_fields(rd, 5)))
		return err;
	if (!rd->proc || !rd->proc->py_start_ticks)
		return failf(rd, -EINVAL, "sample record before a pyproc record");
	if ((err = grow(rd, rd->proc->samples, &rd->cap_samples, rd->proc->nsamples, sizeof(*sm),
			LT_SNAPSHOT_MAX_SAMPLES, "samples in a process", &grown)))
		return err;
	rd->proc->samples = grown;
	sm = &rd->proc->samples[rd->proc->nsamples++];
	if ((err = take_string(rd, 1, &sm->type)) || (err = parse_hex(rd, 2, &sm->type_addr)) ||
	    (err = take_string(rd, 3, &sm->where)))
		return err;
	sm->objects = calloc(LT_SNAPSHOT_MAX_SAMPLED, sizeof(*sm->objects));
	if (!sm->objects)
		return failf(rd, -ENOMEM, "out of memory");
	/* Comma-separated hex addresses, each checked as parse_hex does. */
	for (at = rd->fields[4];;) {
		const char *comma = strchr(at, ',');
		size_t len = comma ? (size_t)(comma - at) : strlen(at);
		char one[24];

		if (sm->n == LT_SNAPSHOT_MAX_SAMPLED)
			return failf(rd, -EINVAL, "more than %d objects in a sample", LT_SNAPSHOT_MAX_SAMPLED);
		if (len >= sizeof(one))
			return failf(rd, -EINVAL, "field 5: bad address list");
		memcpy(one, at, len);
		one[len] = '\0';
		list = rd->fields[4];
		rd->fields[4] = one;
		err = parse_hex(rd, 4, &sm->objects[sm->n]);
		rd->fields[4] = list;
		if (err)
			return err;
		sm->n++;
		if (!comma)
			break;
		at = comma + 1;
	}
	return 0;
}

static int on_header(struct reader *rd)
{
	const char *magic = "leaktrace-snapshot ";
	uint64_t version;

	if (strncmp(rd->buf, magic, strlen(magic)))
		return failf(rd, -EINVAL, "not a leaktrace snapshot (no 'leaktrace-snapshot' header)");
	rd->nfields = 1;
	rd->fields[0] = rd->buf + strlen(magic);
	if (parse_u64(rd, 0, UINT32_MAX, &version) || version != LT_SNAPSHOT_VERSION)
		return failf(rd, -EINVAL, "unsupported snapshot version '%.20s' (this leaktrace reads %d)",
			     rd->buf + strlen(magic), LT_SNAPSHOT_VERSION);
	return 0;
}

static int on_report(struct reader *rd)
{
	uint64_t wall;
	int err;

	if ((err = want_fields(rd, 3)))
		return err;
	if ((err = parse_u64(rd, 1, INT64_MAX, &wall)) ||
	    (err = parse_u64(rd, 2, UINT64_MAX, &rd->snap->sample_bytes)))
		return err;
	rd->snap->wall_s = (int64_t)wall;
	return 0;
}

/* One record after the header; 1 when it was the end record. */
static int on_record(struct reader *rd, bool seen_report)
{
	const char *type = rd->fields[0];
	uint64_t n;
	int err;

	if (rd->frames_left)
		return strcmp(type, "frame") ? failf(rd, -EINVAL, "%u frame records missing",
						     rd->frames_left)
					     : on_frame(rd);
	if (!strcmp(type, "report"))
		return seen_report ? failf(rd, -EINVAL, "second report record") : on_report(rd);
	if (!seen_report)
		return failf(rd, -EINVAL, "expected a report record");
	if (!strcmp(type, "process"))
		return on_process(rd);
	if (!strcmp(type, "stack"))
		return on_stack(rd);
	if (!strcmp(type, "type"))
		return on_type(rd);
	if (!strcmp(type, "pyproc"))
		return on_pyproc(rd);
	if (!strcmp(type, "sample"))
		return on_sample(rd);
	if (!strcmp(type, "frame"))
		return failf(rd, -EINVAL, "frame record outside a stack");
	if (!strcmp(type, "end")) {
		if ((err = want_fields(rd, 2)) ||
		    (err = parse_u64(rd, 1, LT_SNAPSHOT_MAX_PROCS, &n)))
			return err;
		if (n != rd->snap->nprocs)
			return failf(rd, -EINVAL, "end record counts %llu processes, file has %zu",
				     (unsigned long long)n, rd->snap->nprocs);
		return 1;
	}
	return failf(rd, -EINVAL, "unknown record '%.40s'", type);
}

static int parse_all(struct reader *rd)
{
	bool seen_report = false;
	int ret;

	ret = read_line(rd);
	if (ret == 0)
		return failf(rd, -EINVAL, "empty file, not a leaktrace snapshot");
	if (ret < 0 || (ret = on_header(rd)))
		return ret;
	for (;;) {
		ret = read_line(rd);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return failf(rd, -EINVAL, "no end record (truncated file?)");
		if ((ret = split(rd)) || (ret = on_record(rd, seen_report)) < 0)
			return ret;
		if (ret == 1)
			break;
		seen_report = true;
	}
	ret = read_line(rd);
	if (ret > 0)
		return failf(rd, -EINVAL, "data after the end record");
	return ret;
}

int lt_snapshot_parse(FILE *in, const char *name, struct lt_snapshot *out, char *err,
		      size_t errlen)
{
	struct reader rd = { .in = in, .name = name, .err = err, .errlen = errlen, .snap = out };
	int ret;

	memset(out, 0, sizeof(*out));
	rd.buf = malloc(LT_SNAPSHOT_MAX_LINE + 1);
	if (!rd.buf) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	ret = parse_all(&rd);
	free(rd.buf);
	if (ret)
		lt_snapshot_free(out);
	return ret;
}

int lt_snapshot_load(const char *path, struct lt_snapshot *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	int ret;

	if (!f) {
		ret = -errno;
		memset(out, 0, sizeof(*out));
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = lt_snapshot_parse(f, path, out, err, errlen);
	fclose(f);
	return ret;
}

static void free_group(struct lt_snap_group *g)
{
	for (size_t i = 0; i < g->nstacks; i++) {
		for (uint32_t f = 0; f < g->stacks[i].nframes; f++) {
			free(g->stacks[i].frames[f].func);
			free(g->stacks[i].frames[f].file);
			free(g->stacks[i].frames[f].module);
		}
		free(g->stacks[i].frames);
	}
	free(g->stacks);
}

void lt_snapshot_free(struct lt_snapshot *s)
{
	for (size_t i = 0; i < s->nprocs; i++) {
		struct lt_snap_process *p = &s->procs[i];

		free(p->comm);
		free(p->exe);
		free_group(&p->heap);
		free_group(&p->python);
		free_group(&p->fds);
		for (size_t t = 0; t < p->ntypes; t++)
			free(p->types[t].name);
		free(p->types);
		for (size_t k = 0; k < p->nsamples; k++) {
			free(p->samples[k].type);
			free(p->samples[k].where);
			free(p->samples[k].objects);
		}
		free(p->samples);
	}
	free(s->procs);
	memset(s, 0, sizeof(*s));
}
