// SPDX-License-Identifier: MIT
#include "python/python_gc_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "python/python_heap_layout.h"
#include "python/python_layout.h"
#include "python/python_memory.h"

/*
 * What the gc module returns is the state as it stands, so the same bytes
 * read from outside give the same numbers, in every version the table
 * has: get_count() and get_threshold() are the three generations' count
 * and threshold (the default builds of 3.14 and 3.15 kept generations[3];
 * young and old[2] are only the free-threaded build's, which the table
 * does not cover); get_stats() copies generation_stats[] up to 3.14 and
 * the rings' current records in 3.15; len(gc.garbage) is the size of the
 * list the state points to.
 *
 * A program printing gc.get_count() can see less than is read right
 * after: the count is taken before the call builds the tuple it returns,
 * and on 3.14 and 3.15 that tuple can stay counted when it is freed.
 */

/* Every field read of the collector's state lies in its first bytes. */
#define STATE_READ_MAX 256
/* Item pointers of gc.garbage read per system call. */
#define ITEMS_CHUNK 512
#define NAME_MAX_BYTES (sizeof(((struct lt_py_gc_type_count *)0)->name) - 1)
/* A list this long would not fit in any address space. */
#define ABSURD_LENGTH (1ll << 40)

struct type_run {
	uint64_t type;
	uint64_t count;
	char *name;
};

static int32_t get_i32(const uint8_t *buf, int32_t off)
{
	int32_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static uint64_t get_u64(const uint8_t *buf, int32_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static int32_t span_end(int32_t end, int32_t off, int32_t len)
{
	return off >= 0 && off + len > end ? off + len : end;
}

/*
 * The counts and thresholds are C ints in every version and the gc module
 * hands them out as they are: set_threshold() takes negative numbers, but
 * nothing real sets them, and the counts never go below zero (a
 * deallocation only takes one off a positive count). A negative one is far
 * likelier a misread state than a real one, and has no place in a uint64_t.
 */
static int read_gens(const struct lt_py_heap_layout *hl, const uint8_t *st, struct lt_py_gc_state *out)
{
	int32_t threshold, count;

	for (int i = 0; i < LT_PY_GC_GENS; i++) {
		threshold = get_i32(st, hl->gc_lists[i] + hl->gc_gen_threshold);
		count = get_i32(st, hl->gc_lists[i] + hl->gc_gen_count);
		if (threshold < 0 || count < 0)
			return -EINVAL;
		out->gens[i].threshold = (uint64_t)threshold;
		out->gens[i].count = (uint64_t)count;
	}
	return 0;
}

static int put_stats(const struct lt_py_heap_layout *hl, const uint8_t *rec, struct lt_py_gc_gen *g)
{
	int64_t collections = (int64_t)get_u64(rec, hl->gc_stat_collections);
	int64_t collected = (int64_t)get_u64(rec, hl->gc_stat_collected);
	int64_t uncollectable = (int64_t)get_u64(rec, hl->gc_stat_uncollectable);

	/* Running totals of a Py_ssize_t: never negative. */
	if (collections < 0 || collected < 0 || uncollectable < 0)
		return -EINVAL;
	g->collections = (uint64_t)collections;
	g->collected = (uint64_t)collected;
	g->uncollectable = (uint64_t)uncollectable;
	return 0;
}

/*
 * 3.15 keeps recent records per generation in rings; the record at a
 * ring's index is the newest, and each record starts from its
 * predecessor's totals, so that one is what gc.get_stats() reports. All
 * three rings are read at once to keep the indices and records together.
 */
static int read_rings(pid_t pid, const struct lt_py_heap_layout *hl, uint64_t stats,
		      struct lt_py_gc_state *out)
{
	int32_t end = 0, bytes = (int32_t)hl->gc_stats_bytes;
	uint8_t *buf;
	int8_t index;
	int err = 0;

	if (!stats)
		return -EINVAL;
	for (int i = 0; i < LT_PY_GC_GENS; i++) {
		end = span_end(end, hl->gc_ring[i], (int32_t)hl->gc_ring_len[i] * bytes);
		end = span_end(end, hl->gc_ring_index[i], 1);
	}
	buf = malloc((size_t)end);
	if (!buf)
		return -ENOMEM;
	err = lt_py_read(pid, stats, buf, (size_t)end);
	if (err)
		goto out;
	for (int i = 0; i < LT_PY_GC_GENS; i++) {
		memcpy(&index, buf + hl->gc_ring_index[i], sizeof(index));
		if (index < 0 || (uint32_t)index >= hl->gc_ring_len[i]) {
			err = -EINVAL;
			goto out;
		}
		err = put_stats(hl, buf + hl->gc_ring[i] + index * bytes, &out->gens[i]);
		if (err)
			goto out;
	}
out:
	free(buf);
	return err;
}

static int read_stats(pid_t pid, const struct lt_py_heap_layout *hl, const uint8_t *st,
		      struct lt_py_gc_state *out)
{
	int err;

	if (hl->gc_stats_ptr >= 0)
		return read_rings(pid, hl, get_u64(st, hl->gc_stats_ptr), out);
	for (int i = 0; i < LT_PY_GC_GENS; i++) {
		err = put_stats(hl, st + hl->gc_stats + i * (int32_t)hl->gc_stats_bytes, &out->gens[i]);
		if (err)
			return err;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int cmp_run_name(const void *a, const void *b)
{
	return strcmp(((const struct type_run *)a)->name, ((const struct type_run *)b)->name);
}

static int cmp_run_count(const void *a, const void *b)
{
	const struct type_run *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* A name cut inside a multi-byte character would not print: drop the piece. */
static void trim_cut_utf8(char *s, size_t len)
{
	size_t lead = len, need;
	unsigned char c;

	while (lead > 0 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return;
	c = (unsigned char)s[lead - 1];
	if (c < 0xc0)
		return;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (len - (lead - 1) < need)
		s[lead - 1] = '\0';
}

static int read_type_name(pid_t pid, uint64_t type, char **out)
{
	uint64_t tp_name;
	size_t len;
	char *s;
	int err;

	err = lt_py_read(pid, type + LT_PY_TP_NAME, &tp_name, sizeof(tp_name));
	if (err)
		return err;
	if (!tp_name)
		return -EINVAL;
	err = lt_py_read_cstr(pid, tp_name, NAME_MAX_BYTES, &s);
	if (err)
		return err;
	/* lt_py_read_cstr already turned the bytes below 0x20 into '?'. */
	for (len = 0; s[len]; len++)
		if (s[len] == 0x7f)
			s[len] = '?';
	if (len == NAME_MAX_BYTES)
		trim_cut_utf8(s, len);
	*out = s;
	return 0;
}

/* The type of each of the first n items of the list's ob_item array. */
static int read_item_types(pid_t pid, uint64_t items, size_t n, uint64_t *types)
{
	uint64_t chunk[ITEMS_CHUNK];
	size_t done, k, i;
	int err;

	for (done = 0; done < n; done += k) {
		k = n - done < ITEMS_CHUNK ? n - done : ITEMS_CHUNK;
		err = lt_py_read(pid, items + done * sizeof(uint64_t), chunk, k * sizeof(uint64_t));
		if (err)
			return err;
		for (i = 0; i < k; i++) {
			/* A list holds no NULL below its size. */
			if (!chunk[i])
				return -EINVAL;
			err = lt_py_read(pid, chunk[i] + LT_PY_OB_TYPE, &types[done + i],
					 sizeof(uint64_t));
			if (err)
				return err;
			if (!types[done + i])
				return -EINVAL;
		}
	}
	return 0;
}

/*
 * Counts the types of the first items by name, not by type object: two
 * classes may share a name, and the report is keyed by it.
 */
static int count_garbage_types(pid_t pid, uint64_t items, size_t n, struct lt_py_gc_state *out)
{
	struct type_run *runs = NULL;
	size_t nruns = 0, i, j;
	uint64_t *types;
	int err;

	if (!n)
		return 0;
	types = malloc(n * sizeof(*types));
	if (!types)
		return -ENOMEM;
	err = read_item_types(pid, items, n, types);
	if (err)
		goto out;
	qsort(types, n, sizeof(*types), cmp_u64);
	runs = calloc(n, sizeof(*runs));
	if (!runs) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (nruns && runs[nruns - 1].type == types[i]) {
			runs[nruns - 1].count++;
			continue;
		}
		runs[nruns].type = types[i];
		runs[nruns].count = 1;
		err = read_type_name(pid, types[i], &runs[nruns].name);
		nruns++;
		if (err)
			goto out;
	}
	qsort(runs, nruns, sizeof(*runs), cmp_run_name);
	for (i = 0, j = 0; i < nruns; i++) {
		if (j && !strcmp(runs[j - 1].name, runs[i].name)) {
			runs[j - 1].count += runs[i].count;
			free(runs[i].name);
		} else {
			runs[j++] = runs[i];
		}
	}
	nruns = j;
	qsort(runs, nruns, sizeof(*runs), cmp_run_count);
	for (i = 0; i < nruns && i < LT_PY_GC_TYPES_MAX; i++) {
		strcpy(out->garbage_types[i].name, runs[i].name);
		out->garbage_types[i].count = runs[i].count;
	}
	out->ngarbage_types = (uint32_t)i;
	out->garbage_types_read = n;
out:
	if (runs)
		for (i = 0; i < nruns; i++)
			free(runs[i].name);
	free(runs);
	free(types);
	return err;
}

/*
 * gc.garbage is the list the state points to. The module's attribute is
 * the same object unless a program rebinds it, and then the collector
 * keeps appending to this one, which is the one that matters for a leak.
 */
static int read_garbage(pid_t pid, uint64_t list, struct lt_py_gc_state *out)
{
	uint64_t hdr[4], type, flags, items;
	int64_t size;
	int err;

	/* Before the collector is set up and after it is torn down: none. */
	if (!list)
		return 0;
	err = lt_py_read(pid, list, hdr, sizeof(hdr));
	if (err)
		return err;
	type = hdr[LT_PY_OB_TYPE / 8];
	size = (int64_t)hdr[LT_PY_VAR_SIZE / 8];
	items = hdr[LT_PY_LIST_ITEMS / 8];
	if (!type)
		return -EINVAL;
	err = lt_py_read(pid, type + LT_PY_TP_FLAGS, &flags, sizeof(flags));
	if (err)
		return err;
	if (!(flags & LT_PY_TPFLAGS_LIST_SUBCLASS) || size < 0 || size > ABSURD_LENGTH ||
	    (size && !items))
		return -EINVAL;
	out->garbage = (uint64_t)size;
	return count_garbage_types(pid, items,
				   size < LT_PY_GC_GARBAGE_READ_MAX ? (size_t)size
								    : LT_PY_GC_GARBAGE_READ_MAX,
				   out);
}

int lt_py_gc_state_read(pid_t pid, uint32_t minor, uint64_t runtime, struct lt_py_gc_state *out)
{
	const struct lt_py_heap_layout *hl = lt_py_heap_layout(minor);
	uint8_t st[STATE_READ_MAX];
	uint64_t base = runtime;
	int32_t enabled, end = 0;
	int err;

	memset(out, 0, sizeof(*out));
	if (!hl)
		return -ENOTSUP;
	if (!hl->gc_in_runtime) {
		err = lt_py_read(pid, runtime + (uint64_t)hl->rt_interp_head, &base, sizeof(base));
		if (err)
			return err;
		/* No main interpreter yet, or no more. */
		if (!base)
			return -EINVAL;
	}

	/* One read: the fields are then at least one moment's. */
	end = span_end(end, hl->gc_enabled, 4);
	end = span_end(end, hl->gc_debug, 4);
	end = span_end(end, hl->gc_garbage, 8);
	end = span_end(end, hl->gc_stats_ptr, 8);
	for (int i = 0; i < LT_PY_GC_GENS; i++)
		end = span_end(end, hl->gc_lists[i], hl->gc_gen_count + 4);
	if (hl->gc_stats >= 0)
		end = span_end(end, hl->gc_stats, LT_PY_GC_GENS * (int32_t)hl->gc_stats_bytes);
	if (end > STATE_READ_MAX)
		return -ENOTSUP;
	err = lt_py_read(pid, base + (uint64_t)hl->gc_state, st, (size_t)end);
	if (err)
		return err;

	enabled = get_i32(st, hl->gc_enabled);
	if (enabled != 0 && enabled != 1)
		return -EINVAL;
	out->enabled = enabled;
	/* set_debug() keeps any int; the flags are its bits. */
	out->debug = (uint32_t)get_i32(st, hl->gc_debug);
	err = read_gens(hl, st, out);
	if (!err)
		err = read_stats(pid, hl, st, out);
	if (!err)
		err = read_garbage(pid, get_u64(st, hl->gc_garbage), out);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}
