// SPDX-License-Identifier: MIT
/*
 * pprof's profile.proto, gzip-compressed, as `go tool pprof` reads it.
 * Field numbers: github.com/google/pprof proto/profile.proto.
 *
 * Values follow Go's heap profiles (inuse_objects, inuse_space), so pprof's
 * usual views and -sample_index work unchanged. The model holds several
 * processes while a profile has one address space: a Location's address is
 * the ELF address in its module, moved into a range of its own per mapping,
 * and the process is a label (pid, comm) on each sample.
 *
 * --kernel's stacks are samples of their own under a "[kernel]" location,
 * labelled with their cache; a kernel frame keeps its real address (far
 * above the user ranges) in a mapping per module, "[vmlinux]" for the
 * kernel's own code, as kallsyms names them.
 */
#include "output/report_writers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/grow_array.h"
#include "output/protobuf_writer.h"

/* Profile fields. */
enum {
	PF_SAMPLE_TYPE = 1, PF_SAMPLE = 2, PF_MAPPING = 3, PF_LOCATION = 4, PF_FUNCTION = 5,
	PF_STRING_TABLE = 6, PF_TIME_NANOS = 9, PF_DURATION_NANOS = 10, PF_PERIOD_TYPE = 11,
	PF_PERIOD = 12, PF_COMMENT = 13, PF_DEFAULT_SAMPLE_TYPE = 14,
};

/* Each mapping's addresses start at id << MAPPING_SHIFT: ELF addresses of
 * ordinary files stay far below 2^40, so the ranges never overlap. */
#define MAPPING_SHIFT 40

/* Ids of interned things are 1-based; slot value 0 is empty. */
struct idtab {
	uint32_t *slots;
	size_t nslots; /* a power of two */
	size_t n;
};

struct key {
	uint64_t a, b, c;
};

struct keyset {
	struct idtab tab;
	struct key *keys; /* keys[id - 1] */
	size_t cap;
};

struct mapping_info {
	uint32_t file, build_id;  /* string indexes */
	uint64_t max_offset;
	bool unsymbolized, files, lines, inlines;
	bool kernel;              /* [min_addr, max_offset]: real addresses */
	uint64_t min_addr;
};

struct pprof {
	const char **strs; /* borrowed from the report, or literals */
	size_t nstrs, capstrs;
	struct idtab str_tab;
	struct keyset funcs, locs, maps;
	struct mapping_info *map_info; /* parallel to maps.keys */
	size_t cap_map_info;
	struct lt_pb_buf samples, locations, functions; /* encoded, field tags included */
	/* Scratch for nested messages: a Function is encoded while its
	 * Location is being built, so each has its own. */
	struct lt_pb_buf msg, sub, fmsg;
	uint64_t *ids;
	size_t capids;
	uint32_t s_pid, s_comm, s_cache, s_cgroup;
	bool kernel; /* frames being added are kernel frames */
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return mix(h);
}

static uint64_t hash_key(const struct key *k)
{
	return mix(k->a * 0x9e3779b97f4a7c15ULL ^ mix(k->b + 0x632be59bd9b4e019ULL) ^ mix(k->c));
}

/* Room for one more id; rehash(ctx, id) gives an existing id's hash. */
static int idtab_reserve(struct idtab *t, uint64_t (*rehash)(const void *, uint32_t),
			 const void *ctx)
{
	size_t nslots = t->nslots ? t->nslots * 2 : 64;
	uint32_t *slots;

	if ((t->n + 1) * 2 <= t->nslots)
		return 0;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (uint32_t id = 1; id <= t->n; id++) {
		size_t i = rehash(ctx, id) & (nslots - 1);

		while (slots[i])
			i = (i + 1) & (nslots - 1);
		slots[i] = id;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

static uint64_t str_rehash(const void *ctx, uint32_t id)
{
	return hash_str(((const struct pprof *)ctx)->strs[id - 1]);
}

/* The string table index of s (NULL is ""), or -ENOMEM. */
static int64_t intern(struct pprof *pp, const char *s)
{
	const char **grown;
	uint64_t h;
	size_t i;

	if (!s)
		s = "";
	if (idtab_reserve(&pp->str_tab, str_rehash, pp))
		return -ENOMEM;
	h = hash_str(s);
	for (i = h & (pp->str_tab.nslots - 1); pp->str_tab.slots[i];
	     i = (i + 1) & (pp->str_tab.nslots - 1))
		if (!strcmp(pp->strs[pp->str_tab.slots[i] - 1], s))
			return pp->str_tab.slots[i] - 1;
	grown = lt_grow(pp->strs, &pp->capstrs, pp->nstrs + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pp->strs = grown;
	pp->strs[pp->nstrs++] = s;
	pp->str_tab.slots[i] = (uint32_t)pp->nstrs;
	pp->str_tab.n++;
	return (int64_t)pp->nstrs - 1;
}

static uint64_t key_rehash(const void *ctx, uint32_t id)
{
	return hash_key(&((const struct keyset *)ctx)->keys[id - 1]);
}

/* The id of k in ks; *added when it is new. Returns 0 or -ENOMEM. */
static int keyset_get(struct keyset *ks, struct key k, uint32_t *id, bool *added)
{
	struct key *grown;
	size_t i;

	if (idtab_reserve(&ks->tab, key_rehash, ks))
		return -ENOMEM;
	for (i = hash_key(&k) & (ks->tab.nslots - 1); ks->tab.slots[i];
	     i = (i + 1) & (ks->tab.nslots - 1)) {
		const struct key *o = &ks->keys[ks->tab.slots[i] - 1];

		if (o->a == k.a && o->b == k.b && o->c == k.c) {
			*id = ks->tab.slots[i];
			*added = false;
			return 0;
		}
	}
	grown = lt_grow(ks->keys, &ks->cap, ks->tab.n + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	ks->keys = grown;
	ks->keys[ks->tab.n++] = k;
	ks->tab.slots[i] = (uint32_t)ks->tab.n;
	*id = (uint32_t)ks->tab.n;
	*added = true;
	return 0;
}

static void keyset_free(struct keyset *ks)
{
	free(ks->tab.slots);
	free(ks->keys);
}

static int function_id(struct pprof *pp, const char *name, const char *file, uint32_t *id)
{
	int64_t n = intern(pp, name), f = intern(pp, file);
	bool added;

	if (n < 0 || f < 0 || keyset_get(&pp->funcs, (struct key){ (uint64_t)n, (uint64_t)f, 0 },
					 id, &added))
		return -ENOMEM;
	if (!added)
		return 0;
	/* Start line unknown: field 5 left out (0). */
	lt_pb_reset(&pp->fmsg);
	lt_pb_uint(&pp->fmsg, 1, *id);
	lt_pb_int(&pp->fmsg, 2, n);
	lt_pb_int(&pp->fmsg, 3, n);
	lt_pb_int(&pp->fmsg, 4, f);
	return lt_pb_message(&pp->functions, PF_FUNCTION, &pp->fmsg);
}

static int mapping_id(struct pprof *pp, const struct lt_report_frame *f, uint32_t *id)
{
	/* A module's name is no path: "vmlinux" must not pass for a file of
	 * that name in some process. */
	const char *name = pp->kernel && !strcmp(f->module, "vmlinux") ? "[vmlinux]" : f->module;
	int64_t file = intern(pp, name), build_id = intern(pp, f->build_id);
	bool added;

	if (file < 0 || build_id < 0 ||
	    keyset_get(&pp->maps, (struct key){ (uint64_t)file, pp->kernel, 0 }, id, &added))
		return -ENOMEM;
	if (added) {
		struct mapping_info *grown = lt_grow(pp->map_info, &pp->cap_map_info, *id,
						     sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		pp->map_info = grown;
		memset(&grown[*id - 1], 0, sizeof(*grown));
		grown[*id - 1].file = (uint32_t)file;
		grown[*id - 1].build_id = (uint32_t)build_id;
		grown[*id - 1].kernel = pp->kernel;
		grown[*id - 1].min_addr = f->addr;
	}
	return 0;
}

/* One Line per function at this address, innermost first as pprof wants. */
static int add_lines(struct pprof *pp, const struct lt_report_frame *frames, uint32_t n,
		     struct mapping_info *mi)
{
	uint32_t fid;

	for (uint32_t i = 0; i < n; i++) {
		const struct lt_report_frame *f = &frames[i];

		if (mi) {
			mi->unsymbolized |= !f->func;
			mi->files |= f->file != NULL;
			mi->lines |= f->line > 0;
			mi->inlines |= f->inlined;
		}
		if (!f->func)
			continue;
		if (function_id(pp, f->func, f->file, &fid))
			return -ENOMEM;
		lt_pb_reset(&pp->sub);
		lt_pb_uint(&pp->sub, 1, fid);
		if (f->line > 0)
			lt_pb_int(&pp->sub, 2, f->line);
		if (lt_pb_message(&pp->msg, 4, &pp->sub))
			return -ENOMEM;
	}
	return 0;
}

/* frames[0..n): the functions at one address, the last one not inlined. */
static int location_id(struct pprof *pp, const struct lt_report_frame *frames, uint32_t n,
		       uint32_t *id)
{
	const struct lt_report_frame *outer = &frames[n - 1];
	struct mapping_info *mi = NULL;
	uint32_t mid = 0, fid = 0;
	uint64_t address = 0;
	struct key k;
	bool added;

	if (outer->python) {
		/* No address: a Python frame is its function and line. */
		if (function_id(pp, outer->func, outer->file, &fid))
			return -ENOMEM;
		k = (struct key){ 1, fid, (uint64_t)(int64_t)outer->line };
	} else if (outer->module && pp->kernel) {
		/* kallsyms gives offsets in functions, not in modules: the
		 * address itself tells the frames apart. */
		if (mapping_id(pp, outer, &mid))
			return -ENOMEM;
		address = outer->addr;
		k = (struct key){ 4, mid, outer->addr };
	} else if (outer->module) {
		if (mapping_id(pp, outer, &mid))
			return -ENOMEM;
		address = ((uint64_t)mid << MAPPING_SHIFT) + outer->module_offset;
		k = (struct key){ 2, mid, outer->module_offset };
	} else {
		address = outer->addr;
		k = (struct key){ 3, outer->addr, 0 };
	}
	if (keyset_get(&pp->locs, k, id, &added))
		return -ENOMEM;
	if (!added)
		return 0;
	if (mid) {
		uint64_t at = pp->kernel ? outer->addr : outer->module_offset;

		mi = &pp->map_info[mid - 1];
		if (at > mi->max_offset)
			mi->max_offset = at;
		if (mi->kernel && at < mi->min_addr)
			mi->min_addr = at;
	}
	lt_pb_reset(&pp->msg);
	lt_pb_uint(&pp->msg, 1, *id);
	if (mid)
		lt_pb_uint(&pp->msg, 2, mid);
	if (address)
		lt_pb_uint(&pp->msg, 3, address);
	if (add_lines(pp, frames, n, mi))
		return -ENOMEM;
	return lt_pb_message(&pp->locations, PF_LOCATION, &pp->msg);
}

/* A location of its own for a name that is not code ("[python objects]"). */
static int marker_id(struct pprof *pp, const char *name, uint32_t *id)
{
	struct lt_report_frame f = { .func = (char *)name, .python = true };

	return location_id(pp, &f, 1, id);
}

static int add_label(struct lt_pb_buf *sample, struct lt_pb_buf *sub, uint32_t key,
		     int64_t str, bool is_num, int64_t num)
{
	lt_pb_reset(sub);
	lt_pb_int(sub, 1, key);
	if (is_num)
		lt_pb_int(sub, 3, num);
	else
		lt_pb_int(sub, 2, str);
	return lt_pb_message(sample, 3, sub);
}

/* Each sample's values: inuse_objects, inuse_space, open_fds. */
static int add_stack(struct pprof *pp, const struct lt_report_process *p, const char *marker,
		     const struct lt_report_stack *st, bool fds)
{
	int64_t comm = intern(pp, p->comm);
	uint64_t values[3] = { fds ? 0 : st->allocs, fds ? 0 : st->bytes, fds ? st->allocs : 0 };
	uint64_t *ids;
	size_t n = 0;

	if (comm < 0)
		return -ENOMEM;
	/* The frames' locations, and the marker's. */
	ids = lt_grow(pp->ids, &pp->capids, (size_t)st->nframes + 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	pp->ids = ids;
	for (uint32_t i = 0, j; i < st->nframes; i = j + 1) {
		uint32_t id;

		/* An inlined frame shares its address with the frames up to the
		 * next one that is not inlined: one Location for all of them. */
		for (j = i; j + 1 < st->nframes && st->frames[j].inlined && !st->frames[j].python &&
			    !st->frames[j + 1].python; j++)
			;
		if (location_id(pp, &st->frames[i], j - i + 1, &id))
			return -ENOMEM;
		pp->ids[n++] = id;
	}
	if (marker) {
		uint32_t id;

		if (marker_id(pp, marker, &id))
			return -ENOMEM;
		pp->ids[n++] = id;
	}
	lt_pb_reset(&pp->msg);
	lt_pb_packed(&pp->msg, 1, pp->ids, n);
	lt_pb_packed(&pp->msg, 2, values, 3);
	add_label(&pp->msg, &pp->sub, pp->s_pid, 0, true, p->pid);
	add_label(&pp->msg, &pp->sub, pp->s_comm, comm, false, 0);
	return lt_pb_message(&pp->samples, PF_SAMPLE, &pp->msg);
}

/* A kernel stack: its objects wherever they are, by the cache most are
 * in; pid, comm and cgroup only when one process made them all. */
static int add_kernel_stack(struct pprof *pp, const struct lt_report_kernel_stack *ks)
{
	const struct lt_report_stack *st = &ks->stack;
	const struct lt_report_kernel_owner *o = ks->nprocesses == 1 && ks->nowners ? &ks->owners[0] : NULL;
	int64_t cache = intern(pp, ks->cache ? ks->cache : "?");
	int64_t comm = o ? intern(pp, o->comm) : 0, cgroup = o ? intern(pp, o->cgroup) : 0;
	uint64_t values[3] = { st->allocs, st->bytes, 0 };
	uint64_t *ids;
	uint32_t id;
	size_t n = 0;

	if (cache < 0 || comm < 0 || cgroup < 0)
		return -ENOMEM;
	ids = lt_grow(pp->ids, &pp->capids, (size_t)st->nframes + 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	pp->ids = ids;
	for (uint32_t i = 0; i < st->nframes; i++) {
		if (location_id(pp, &st->frames[i], 1, &id))
			return -ENOMEM;
		pp->ids[n++] = id;
	}
	if (marker_id(pp, "[kernel]", &id))
		return -ENOMEM;
	pp->ids[n++] = id;
	lt_pb_reset(&pp->msg);
	lt_pb_packed(&pp->msg, 1, pp->ids, n);
	lt_pb_packed(&pp->msg, 2, values, 3);
	add_label(&pp->msg, &pp->sub, pp->s_cache, cache, false, 0);
	if (o) {
		add_label(&pp->msg, &pp->sub, pp->s_pid, 0, true, o->pid);
		add_label(&pp->msg, &pp->sub, pp->s_comm, comm, false, 0);
		if (o->cgroup)
			add_label(&pp->msg, &pp->sub, pp->s_cgroup, cgroup, false, 0);
	}
	return lt_pb_message(&pp->samples, PF_SAMPLE, &pp->msg);
}

static int add_kernel(struct pprof *pp, const struct lt_report_kernel *k)
{
	int err = 0;

	pp->kernel = true;
	for (size_t i = 0; i < k->nstacks && !err; i++)
		err = add_kernel_stack(pp, &k->stacks[i]);
	pp->kernel = false;
	return err;
}

static int add_group(struct pprof *pp, const struct lt_report_process *p, const char *marker,
		     const struct lt_report_group *g, bool fds)
{
	for (size_t i = 0; i < g->nstacks; i++)
		if (add_stack(pp, p, marker, &g->stacks[i], fds))
			return -ENOMEM;
	return 0;
}

static void add_value_type(struct lt_pb_buf *out, struct lt_pb_buf *sub, uint32_t field,
			   int64_t type, int64_t unit)
{
	lt_pb_reset(sub);
	lt_pb_int(sub, 1, type);
	lt_pb_int(sub, 2, unit);
	lt_pb_message(out, field, sub);
}

static void add_mappings(struct pprof *pp, struct lt_pb_buf *out)
{
	for (uint32_t id = 1; id <= pp->maps.tab.n; id++) {
		const struct mapping_info *mi = &pp->map_info[id - 1];
		uint64_t start = mi->kernel ? mi->min_addr : (uint64_t)id << MAPPING_SHIFT;

		lt_pb_reset(&pp->msg);
		lt_pb_uint(&pp->msg, 1, id);
		lt_pb_uint(&pp->msg, 2, start);
		lt_pb_uint(&pp->msg, 3, mi->kernel ? mi->max_offset + 1 : start + mi->max_offset + 1);
		lt_pb_int(&pp->msg, 5, mi->file);
		lt_pb_int(&pp->msg, 6, mi->build_id);
		/* has_functions false lets pprof symbolize the rest later, by build-id. */
		lt_pb_bool(&pp->msg, 7, !mi->unsymbolized);
		lt_pb_bool(&pp->msg, 8, mi->files);
		lt_pb_bool(&pp->msg, 9, mi->lines);
		lt_pb_bool(&pp->msg, 10, mi->inlines);
		lt_pb_message(out, PF_MAPPING, &pp->msg);
	}
}

static void pprof_free(struct pprof *pp)
{
	free(pp->strs);
	free(pp->str_tab.slots);
	keyset_free(&pp->funcs);
	keyset_free(&pp->locs);
	keyset_free(&pp->maps);
	free(pp->map_info);
	lt_pb_free(&pp->samples);
	lt_pb_free(&pp->locations);
	lt_pb_free(&pp->functions);
	lt_pb_free(&pp->msg);
	lt_pb_free(&pp->sub);
	lt_pb_free(&pp->fmsg);
	free(pp->ids);
}

int lt_report_encode_pprof(const struct lt_report *r, struct lt_pb_buf *out)
{
	int64_t s_objects, s_count, s_space, s_bytes, s_period, s_comment, s_pid, s_comm, s_fds;
	int64_t s_cache, s_cgroup;
	struct pprof pp;
	int err = -ENOMEM;

	memset(&pp, 0, sizeof(pp));
	/* "" must be string 0: interned first. */
	if (intern(&pp, "") != 0)
		goto cleanup;
	s_objects = intern(&pp, "inuse_objects");
	s_count = intern(&pp, "count");
	s_space = intern(&pp, "inuse_space");
	s_bytes = intern(&pp, "bytes");
	s_period = intern(&pp, "space");
	s_comment = intern(&pp, r->final ? "leaktrace: outstanding allocations at the final report"
					 : "leaktrace: outstanding allocations at a periodic report");
	s_pid = intern(&pp, "pid");
	s_comm = intern(&pp, "comm");
	s_fds = intern(&pp, "open_fds");
	s_cache = intern(&pp, "cache");
	s_cgroup = intern(&pp, "cgroup");
	if (s_cache < 0 || s_cgroup < 0 || s_fds < 0 || s_objects < 0 || s_count < 0 || s_space < 0 || s_bytes < 0 || s_period < 0 ||
	    s_comment < 0 || s_pid < 0 || s_comm < 0)
		goto cleanup;
	pp.s_pid = (uint32_t)s_pid;
	pp.s_comm = (uint32_t)s_comm;
	pp.s_cache = (uint32_t)s_cache;
	pp.s_cgroup = (uint32_t)s_cgroup;
	for (size_t i = 0; i < r->nprocs; i++) {
		const struct lt_report_process *p = &r->procs[i];

		if (add_group(&pp, p, NULL, &p->heap, false) ||
		    (r->has_mmap && add_group(&pp, p, "[anonymous mmap]", &p->mmap, false)) ||
		    (p->python && add_group(&pp, p, "[python objects]", &p->python->stacks, false)) ||
		    (p->fds_traced && add_group(&pp, p, NULL, &p->fds, true)))
			goto cleanup;
	}
	if (r->kernel && add_kernel(&pp, r->kernel))
		goto cleanup;
	if (pp.samples.failed || pp.locations.failed || pp.functions.failed)
		goto cleanup;
	add_value_type(out, &pp.sub, PF_SAMPLE_TYPE, s_objects, s_count);
	add_value_type(out, &pp.sub, PF_SAMPLE_TYPE, s_space, s_bytes);
	/* Descriptors left open: -sample_index=open_fds shows where they were made. */
	add_value_type(out, &pp.sub, PF_SAMPLE_TYPE, s_fds, s_count);
	/* The sections already hold their field tags: appended as they are. */
	lt_pb_raw(out, pp.samples.data, pp.samples.len);
	add_mappings(&pp, out);
	lt_pb_raw(out, pp.locations.data, pp.locations.len);
	lt_pb_raw(out, pp.functions.data, pp.functions.len);
	for (size_t i = 0; i < pp.nstrs; i++)
		lt_pb_string(out, PF_STRING_TABLE, pp.strs[i]);
	lt_pb_int(out, PF_TIME_NANOS, (int64_t)r->wall.tv_sec * 1000000000 + r->wall.tv_nsec);
	lt_pb_int(out, PF_DURATION_NANOS, (int64_t)(r->elapsed_s * 1e9));
	add_value_type(out, &pp.sub, PF_PERIOD_TYPE, s_period, s_bytes);
	/* With sampling, one recorded block stands for this many bytes on average. */
	lt_pb_int(out, PF_PERIOD, r->sample_bytes ? (int64_t)r->sample_bytes : 1);
	lt_pb_int(out, PF_COMMENT, s_comment);
	lt_pb_int(out, PF_DEFAULT_SAMPLE_TYPE, s_space);
	err = out->failed || pp.msg.failed || pp.sub.failed || pp.fmsg.failed ? -ENOMEM : 0;
cleanup:
	pprof_free(&pp);
	return err;
}

/* gzip, as pprof expects: deflate with a gzip header (windowBits 15 + 16),
 * appended to out. */
static int gzip_append(struct lt_pb_buf *out, const uint8_t *data, size_t len)
{
	uint8_t chunk[16384];
	size_t left = len, have;
	int flush, rc, err = 0;
	z_stream z;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	do {
		/* avail_in is an unsigned int: feed large buffers in pieces. */
		uInt take = left > (1u << 30) ? 1u << 30 : (uInt)left;

		z.next_in = (Bytef *)(uintptr_t)(data + (len - left));
		z.avail_in = take;
		left -= take;
		flush = left ? Z_NO_FLUSH : Z_FINISH;
		do {
			z.next_out = chunk;
			z.avail_out = sizeof(chunk);
			rc = deflate(&z, flush);
			if (rc == Z_STREAM_ERROR) {
				err = -EIO;
				goto cleanup;
			}
			have = sizeof(chunk) - z.avail_out;
			if (have && lt_pb_raw(out, chunk, have)) {
				err = -ENOMEM;
				goto cleanup;
			}
		} while (z.avail_out == 0);
	} while (flush != Z_FINISH);
	if (rc != Z_STREAM_END)
		err = -EIO;
cleanup:
	deflateEnd(&z);
	return err;
}

int lt_report_gzip_pprof(const struct lt_report *r, struct lt_pb_buf *out)
{
	struct lt_pb_buf pb;
	int err;

	lt_pb_init(&pb);
	err = lt_report_encode_pprof(r, &pb);
	if (!err)
		err = gzip_append(out, pb.data, pb.len);
	lt_pb_free(&pb);
	return err;
}

int lt_report_write_pprof(FILE *out, const struct lt_report *r)
{
	struct lt_pb_buf gz;
	int err;

	lt_pb_init(&gz);
	err = lt_report_gzip_pprof(r, &gz);
	if (err)
		goto cleanup;
	if ((gz.len && fwrite(gz.data, 1, gz.len, out) != gz.len) || fflush(out))
		err = -EIO;
cleanup:
	lt_pb_free(&gz);
	return err;
}
