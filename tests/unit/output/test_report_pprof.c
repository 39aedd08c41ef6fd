// SPDX-License-Identifier: MIT
/* The pprof writer's output, gunzipped and decoded by a small protobuf
 * reader of the test's own, checked field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "output/protobuf_writer.h"
#include "output/report_writers.h"

#include "report_fixture.h"


/* ---- a minimal decoder of the fields the writer uses ---- */

struct rd {
	const uint8_t *p, *end;
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;

	for (int shift = 0;; shift += 7) {
		assert_true(r->p < r->end && shift < 64);
		v |= (uint64_t)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return v;
	}
}

/* Next field: its number, and either a varint or a length-delimited body. */
static bool rd_next(struct rd *r, uint32_t *field, uint64_t *v, struct rd *body)
{
	uint64_t tag, len;

	if (r->p == r->end)
		return false;
	tag = rd_varint(r);
	*field = (uint32_t)(tag >> 3);
	body->p = body->end = NULL;
	if ((tag & 7) == 0) {
		*v = rd_varint(r);
		return true;
	}
	assert_int_equal(tag & 7, 2);
	len = rd_varint(r);
	assert_true(len <= (uint64_t)(r->end - r->p));
	body->p = r->p;
	body->end = r->p + len;
	r->p += len;
	return true;
}

/* A packed (or single unpacked) repeated integer field, appended to out. */
static void rd_ints(const struct rd *body, uint64_t v, uint64_t *out, int *n, int max)
{
	struct rd r = *body;

	if (!body->p) {
		assert_true(*n < max);
		out[(*n)++] = v;
		return;
	}
	while (r.p < r.end) {
		assert_true(*n < max);
		out[(*n)++] = rd_varint(&r);
	}
}

struct d_line { uint64_t func, line; };
struct d_loc { uint64_t id, mapping, address; struct d_line lines[4]; int nlines; };
struct d_func { uint64_t id, name, system_name, file, start_line; };
struct d_map { uint64_t id, start, limit, file, build_id, has_functions, has_inline; };
struct d_label { uint64_t key, str, num; };
struct d_sample { uint64_t locs[8], values[4]; int nlocs, nvalues; struct d_label labels[4]; int nlabels; };
struct d_prof {
	uint64_t sample_type[4][2], period_type[2];
	int nsample_types;
	struct d_sample samples[8];
	int nsamples;
	struct d_loc locs[16];
	int nlocs;
	struct d_func funcs[16];
	int nfuncs;
	struct d_map maps[4];
	int nmaps;
	char strs[64][64];
	int nstrs;
	uint64_t time_nanos, duration_nanos, period, default_sample_type, comment;
};

static void decode_value_type(struct rd body, uint64_t out[2])
{
	uint32_t f;
	uint64_t v;
	struct rd sub;

	while (rd_next(&body, &f, &v, &sub))
		out[f - 1] = v;
}

static void decode_sample(struct rd body, struct d_sample *s)
{
	uint32_t f, lf;
	uint64_t v, lv;
	struct rd sub, lsub;

	while (rd_next(&body, &f, &v, &sub)) {
		if (f == 1)
			rd_ints(&sub, v, s->locs, &s->nlocs, 8);
		else if (f == 2)
			rd_ints(&sub, v, s->values, &s->nvalues, 4);
		else if (f == 3) {
			struct d_label *l = &s->labels[s->nlabels++];

			assert_true(s->nlabels <= 4);
			while (rd_next(&sub, &lf, &lv, &lsub))
				*(lf == 1 ? &l->key : lf == 2 ? &l->str : &l->num) = lv;
		}
	}
}

static void decode_loc(struct rd body, struct d_loc *l)
{
	uint32_t f, lf;
	uint64_t v, lv;
	struct rd sub, lsub;

	while (rd_next(&body, &f, &v, &sub)) {
		if (f == 1)
			l->id = v;
		else if (f == 2)
			l->mapping = v;
		else if (f == 3)
			l->address = v;
		else if (f == 4) {
			struct d_line *ln = &l->lines[l->nlines++];

			assert_true(l->nlines <= 4);
			while (rd_next(&sub, &lf, &lv, &lsub))
				*(lf == 1 ? &ln->func : &ln->line) = lv;
		}
	}
}

static void decode(const uint8_t *data, size_t len, struct d_prof *d)
{
	struct rd r = { data, data + len }, sub, inner;
	uint32_t f, g;
	uint64_t v, w;

	memset(d, 0, sizeof(*d));
	while (rd_next(&r, &f, &v, &sub)) {
		switch (f) {
		case 1:
			decode_value_type(sub, d->sample_type[d->nsample_types++]);
			break;
		case 2:
			assert_true(d->nsamples < 8);
			decode_sample(sub, &d->samples[d->nsamples++]);
			break;
		case 3:
			assert_true(d->nmaps < 4);
			while (rd_next(&sub, &g, &w, &inner)) {
				uint64_t *m = (uint64_t *)&d->maps[d->nmaps];
				/* id, start, limit, (offset), file, build_id, has_functions, -, -, has_inline */
				static const int slot[] = { -1, 0, 1, 2, -1, 3, 4, 5, -1, -1, 6 };

				if (g < 11 && slot[g] >= 0)
					m[slot[g]] = w;
			}
			d->nmaps++;
			break;
		case 4:
			assert_true(d->nlocs < 16);
			decode_loc(sub, &d->locs[d->nlocs++]);
			break;
		case 5:
			assert_true(d->nfuncs < 16);
			while (rd_next(&sub, &g, &w, &inner)) {
				assert_true(g >= 1 && g <= 5);
				((uint64_t *)&d->funcs[d->nfuncs])[g - 1] = w;
			}
			d->nfuncs++;
			break;
		case 6:
			assert_true(d->nstrs < 64 && sub.end - sub.p < 64);
			memcpy(d->strs[d->nstrs], sub.p, (size_t)(sub.end - sub.p));
			d->strs[d->nstrs++][sub.end - sub.p] = '\0';
			break;
		case 9: d->time_nanos = v; break;
		case 10: d->duration_nanos = v; break;
		case 11: decode_value_type(sub, d->period_type); break;
		case 12: d->period = v; break;
		case 13: d->comment = v; break;
		case 14: d->default_sample_type = v; break;
		default: fail_msg("unexpected Profile field %u", f);
		}
	}
}

/* lt_report_write_pprof's output, gunzipped. */
static uint8_t *write_and_gunzip(const struct lt_report *r, size_t *len)
{
	FILE *f = tmpfile();
	uint8_t *gz, *out;
	long gzlen;
	z_stream z;

	assert_non_null(f);
	assert_int_equal(lt_report_write_pprof(f, r), 0);
	gzlen = ftell(f);
	assert_true(gzlen > 18);
	rewind(f);
	gz = malloc((size_t)gzlen);
	out = malloc(1 << 20);
	assert_non_null(gz);
	assert_non_null(out);
	assert_int_equal(fread(gz, 1, (size_t)gzlen, f), (size_t)gzlen);
	fclose(f);
	assert_int_equal(gz[0], 0x1f); /* gzip magic, not a bare zlib stream */
	assert_int_equal(gz[1], 0x8b);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = gz;
	z.avail_in = (uInt)gzlen;
	z.next_out = out;
	z.avail_out = 1 << 20;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	*len = z.total_out;
	inflateEnd(&z);
	free(gz);
	return out;
}

static const char *str(const struct d_prof *d, uint64_t i)
{
	assert_true(i < (uint64_t)d->nstrs);
	return d->strs[i];
}

static const struct d_loc *loc(const struct d_prof *d, uint64_t id)
{
	for (int i = 0; i < d->nlocs; i++)
		if (d->locs[i].id == id)
			return &d->locs[i];
	fail_msg("no location %llu", (unsigned long long)id);
	return NULL;
}

static const struct d_func *func(const struct d_prof *d, uint64_t id)
{
	for (int i = 0; i < d->nfuncs; i++)
		if (d->funcs[i].id == id)
			return &d->funcs[i];
	fail_msg("no function %llu", (unsigned long long)id);
	return NULL;
}

static const struct d_map *map(const struct d_prof *d, uint64_t id)
{
	for (int i = 0; i < d->nmaps; i++)
		if (d->maps[i].id == id)
			return &d->maps[i];
	fail_msg("no mapping %llu", (unsigned long long)id);
	return NULL;
}

static void check_line(const struct d_prof *d, const struct d_loc *l, int i, const char *name,
		       const char *file, uint64_t line)
{
	const struct d_func *fn;

	assert_true(i < l->nlines);
	fn = func(d, l->lines[i].func);
	assert_string_equal(str(d, fn->name), name);
	assert_string_equal(str(d, fn->system_name), name);
	assert_string_equal(str(d, fn->file), file);
	assert_int_equal(fn->start_line, 0);
	assert_int_equal(l->lines[i].line, line);
}

static void check_labels(const struct d_prof *d, const struct d_sample *s)
{
	assert_int_equal(s->nlabels, 2);
	assert_string_equal(str(d, s->labels[0].key), "pid");
	assert_int_equal(s->labels[0].num, 42);
	assert_string_equal(str(d, s->labels[1].key), "comm");
	assert_string_equal(str(d, s->labels[1].str), "a;b");
}

static void test_profile(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	struct d_prof *d = calloc(1, sizeof(*d));
	const struct d_sample *s;
	const struct d_loc *l;
	const struct d_map *m;
	uint8_t *pb;
	size_t len;

	(void)state;
	assert_non_null(d);
	make_report(&r, &p, false);
	add_fds(&p);
	r.wall.tv_sec = 1700000000;
	r.wall.tv_nsec = 5;
	r.elapsed_s = 1.5;
	pb = write_and_gunzip(&r, &len);
	decode(pb, len, d);

	assert_string_equal(str(d, 0), "");
	assert_int_equal(d->nsample_types, 3);
	assert_string_equal(str(d, d->sample_type[0][0]), "inuse_objects");
	assert_string_equal(str(d, d->sample_type[0][1]), "count");
	assert_string_equal(str(d, d->sample_type[1][0]), "inuse_space");
	assert_string_equal(str(d, d->sample_type[1][1]), "bytes");
	assert_string_equal(str(d, d->sample_type[2][0]), "open_fds");
	assert_string_equal(str(d, d->sample_type[2][1]), "count");
	assert_string_equal(str(d, d->default_sample_type), "inuse_space");
	assert_string_equal(str(d, d->period_type[0]), "space");
	assert_string_equal(str(d, d->period_type[1]), "bytes");
	assert_int_equal(d->period, 1);
	assert_int_equal(d->time_nanos, 1700000000000000005ULL);
	assert_int_equal(d->duration_nanos, 1500000000ULL);
	assert_string_equal(str(d, d->comment), "leaktrace: outstanding allocations at the final report");
	/* Strings are interned: no duplicates. */
	for (int i = 0; i < d->nstrs; i++)
		for (int j = i + 1; j < d->nstrs; j++)
			assert_string_not_equal(d->strs[i], d->strs[j]);

	assert_int_equal(d->nsamples, 5);
	/* 1: one location for the inlined pair (innermost first), then main. */
	s = &d->samples[0];
	assert_int_equal(s->nvalues, 3);
	assert_int_equal(s->values[0], 3);
	assert_int_equal(s->values[1], 3000);
	assert_int_equal(s->values[2], 0);
	assert_int_equal(s->nlocs, 2);
	check_labels(d, s);
	l = loc(d, s->locs[0]);
	assert_int_equal(l->nlines, 2);
	check_line(d, l, 0, "inl_helper", "a.c", 7);
	check_line(d, l, 1, "leak_fn", "a.c", 20);
	m = map(d, l->mapping);
	assert_string_equal(str(d, m->file), APP);
	assert_true(m->has_functions);
	assert_true(m->has_inline);
	assert_true(l->address >= m->start && l->address < m->limit);
	assert_int_equal(l->address - m->start, 0x1100);
	l = loc(d, s->locs[1]);
	check_line(d, l, 0, "main", "a.c", 30);
	assert_int_equal(l->address - m->start, 0x1200);

	/* 2: an unnamed frame keeps its mapping (with build-id) and no line. */
	s = &d->samples[1];
	assert_int_equal(s->values[0], 1);
	assert_int_equal(s->values[1], 100);
	assert_int_equal(s->nlocs, 3);
	l = loc(d, s->locs[0]);
	assert_int_equal(l->nlines, 0);
	m = map(d, l->mapping);
	assert_string_equal(str(d, m->file), "/lib/libx.so");
	assert_string_equal(str(d, m->build_id), "abcd");
	assert_false(m->has_functions);
	assert_int_equal(l->address - m->start, 0x5000);
	l = loc(d, s->locs[1]);
	assert_int_equal(l->mapping, 0);
	assert_int_equal(l->address, 0xdead);
	assert_int_equal(l->nlines, 0);
	check_line(d, loc(d, s->locs[2]), 0, "op;er\nator", "", 0);

	/* 3: no frames at all. */
	assert_int_equal(d->samples[2].nlocs, 0);
	assert_int_equal(d->samples[2].values[1], 7);

	/* 4: Python frames, then the marker as the root. */
	s = &d->samples[3];
	assert_int_equal(s->values[0], 10);
	assert_int_equal(s->values[1], 640);
	assert_int_equal(s->nlocs, 3);
	check_labels(d, s);
	l = loc(d, s->locs[0]);
	assert_int_equal(l->mapping, 0);
	check_line(d, l, 0, "make", "app.py", 5);
	check_line(d, loc(d, s->locs[1]), 0, "<module>", "app.py", 9);
	check_line(d, loc(d, s->locs[2]), 0, "[python objects]", "", 0);

	/* 5: descriptors count in open_fds only, by the stack that made them. */
	s = &d->samples[4];
	assert_int_equal(s->nvalues, 3);
	assert_int_equal(s->values[0], 0);
	assert_int_equal(s->values[1], 0);
	assert_int_equal(s->values[2], 4);
	assert_int_equal(s->nlocs, 2);
	check_labels(d, s);
	check_line(d, loc(d, s->locs[0]), 0, "open", "", 0);
	check_line(d, loc(d, s->locs[1]), 0, "load", "app.py", 12);

	assert_int_equal(d->nmaps, 3);
	/* Ids are distinct and non-zero; mapping ranges do not overlap. */
	for (int i = 0; i < d->nlocs; i++) {
		assert_int_not_equal(d->locs[i].id, 0);
		for (int j = i + 1; j < d->nlocs; j++)
			assert_int_not_equal(d->locs[i].id, d->locs[j].id);
	}
	assert_true(d->maps[0].limit <= d->maps[1].start || d->maps[1].limit <= d->maps[0].start);
	free(pb);
	free(d);
}

static void check_label(const struct d_prof *d, const struct d_label *l, const char *key,
			const char *value)
{
	assert_string_equal(str(d, l->key), key);
	assert_string_equal(str(d, l->str), value);
}

/* --kernel alone: each stack a sample under "[kernel]", frames at their
 * own addresses in a mapping per module. */
static void test_kernel(void **state)
{
	struct lt_report r;
	struct d_prof *d = calloc(1, sizeof(*d));
	const struct d_sample *s;
	const struct d_loc *l;
	const struct d_map *m;
	uint8_t *pb;
	size_t len;

	(void)state;
	assert_non_null(d);
	memset(&r, 0, sizeof(r));
	add_kernel(&r);
	pb = write_and_gunzip(&r, &len);
	decode(pb, len, d);
	assert_int_equal(d->nsamples, 2);

	s = &d->samples[0];
	assert_int_equal(s->values[0], 10);
	assert_int_equal(s->values[1], 640);
	assert_int_equal(s->values[2], 0);
	assert_int_equal(s->nlocs, 4);
	/* Same offsets in three functions: three locations all the same. */
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { "__kmalloc_cache_noprof", "do_eventfd",
						     "do_syscall_64" };
		static const uint64_t addrs[] = { 0xffffffff81400010, 0xffffffff81500020,
						  0xffffffff81000030 };

		l = loc(d, s->locs[i]);
		check_line(d, l, 0, names[i], "", 0);
		assert_int_equal(l->address, addrs[i]);
		m = map(d, l->mapping);
		assert_string_equal(str(d, m->file), "[vmlinux]");
		assert_true(l->address >= m->start && l->address < m->limit);
	}
	check_line(d, loc(d, s->locs[3]), 0, "[kernel]", "", 0);
	assert_int_equal(s->nlabels, 4);
	check_label(d, &s->labels[0], "cache", "kmalloc-64");
	assert_string_equal(str(d, s->labels[1].key), "pid");
	assert_int_equal(s->labels[1].num, 77);
	check_label(d, &s->labels[2], "comm", "kernel_hold");
	check_label(d, &s->labels[3], "cgroup", "/a\"b<c>");

	/* Made by two processes: the cache only. */
	s = &d->samples[1];
	assert_int_equal(s->values[1], 2048);
	assert_int_equal(s->nlocs, 3);
	assert_int_equal(s->nlabels, 1);
	check_label(d, &s->labels[0], "cache", "ext4_inode_cache");
	l = loc(d, s->locs[0]);
	check_line(d, l, 0, "ext4_alloc;inode", "", 0);
	m = map(d, l->mapping);
	assert_string_equal(str(d, m->file), "ext4");
	assert_true(l->address >= m->start && l->address < m->limit);
	l = loc(d, s->locs[1]);
	assert_int_equal(l->mapping, 0);
	assert_int_equal(l->address, 0xffffffff90000000);
	assert_int_equal(l->nlines, 0);
	check_line(d, loc(d, s->locs[2]), 0, "[kernel]", "", 0);

	assert_int_equal(d->nmaps, 2);
	assert_true(d->maps[0].limit <= d->maps[1].start || d->maps[1].limit <= d->maps[0].start);
	free(pb);
	free(d);
}

static void test_sampling_period_and_empty(void **state)
{
	struct lt_report r;
	struct d_prof *d = calloc(1, sizeof(*d));
	uint8_t *pb;
	size_t len;

	(void)state;
	assert_non_null(d);
	memset(&r, 0, sizeof(r));
	r.sample_bytes = 4096;
	pb = write_and_gunzip(&r, &len);
	decode(pb, len, d);
	assert_int_equal(d->period, 4096);
	assert_int_equal(d->nsamples, 0);
	assert_int_equal(d->nsample_types, 3);
	assert_string_equal(str(d, 0), "");
	free(pb);
	free(d);
}

static void test_encode_appends(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	struct lt_pb_buf a, b;

	(void)state;
	make_report(&r, &p, true);
	lt_pb_init(&a);
	lt_pb_init(&b);
	assert_int_equal(lt_report_encode_pprof(&r, &a), 0);
	assert_int_equal(lt_pb_raw(&b, "x", 1), 0);
	assert_int_equal(lt_report_encode_pprof(&r, &b), 0);
	/* Deterministic, and appended after what the buffer held. */
	assert_int_equal(b.len, a.len + 1);
	assert_memory_equal(b.data + 1, a.data, a.len);
	lt_pb_free(&a);
	lt_pb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_sampling_period_and_empty),
		cmocka_unit_test(test_encode_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
