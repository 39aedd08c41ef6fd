// SPDX-License-Identifier: MIT
#include "python/python_code.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "python/python_lines.h"
#include "python/python_memory.h"
#include "consume/string_pool.h"

#define CODE_BUCKETS 4096
#define TYPE_BUCKETS 512
#define LINE_SLOTS 4096
/* Bounds for a process that keeps creating code or types: past them the
 * cache starts over (names live on in the string pool). */
#define CODE_MAX 65536
#define TYPE_MAX 65536
/* Distinct names kept per process. */
#define STRING_BUDGET (64ull << 20)
/* Line tables kept per process: each may be up to LT_PY_TABLE_MAX, and a
 * process chooses how many code objects it makes. */
#define TABLE_BUDGET (64ull << 20)

struct code_entry {
	uint64_t code;
	uint64_t fingerprint; /* of the header's name, file and table pointers */
	const char *func, *file; /* interned */
	int firstlineno;
	int64_t first_traceable; /* bytecode offset in bytes; 0 when every frame is complete */
	uint8_t *table; /* NULL when the table could not be read */
	size_t table_len;
	bool copy;  /* read from BPF's copy while the object ran */
	bool freed; /* and its free seen since */
	struct code_entry *next;
};

struct type_entry {
	uint64_t type;
	const char *name; /* interned */
	struct type_entry *next;
};

/* Decoding a long table (a big module's) for every sample would be slow:
 * remember recent positions, direct-mapped. */
struct line_slot {
	uint64_t code, pos;
	int line;
	bool used;
};

struct lt_py_cache {
	struct code_entry *codes[CODE_BUCKETS];
	size_t ncodes;
	uint64_t table_bytes; /* of the codes' tables */
	struct type_entry *types[TYPE_BUCKETS];
	size_t ntypes;
	struct line_slot lines[LINE_SLOTS];
	struct lt_string_pool strings;
};

static size_t bucket(uint64_t addr, size_t n)
{
	/* Objects are 16-byte aligned; mix the higher bits in. */
	return (size_t)(((addr >> 4) * 0x9e3779b97f4a7c15ull) >> 40) % n;
}

int lt_py_reader_init(struct lt_py_reader *r, pid_t pid, uint32_t minor, uint64_t code_type)
{
	const struct lt_py_version_info *info = lt_py_version_info(minor);

	if (!info) {
		memset(r, 0, sizeof(*r));
		return -ENOTSUP;
	}
	return lt_py_reader_init_info(r, pid, info, code_type);
}

int lt_py_reader_init_info(struct lt_py_reader *r, pid_t pid,
			   const struct lt_py_version_info *info, uint64_t code_type)
{
	memset(r, 0, sizeof(*r));
	r->info = info;
	r->cache = calloc(1, sizeof(*r->cache));
	if (!r->cache)
		return -ENOMEM;
	if (lt_string_pool_init(&r->cache->strings, STRING_BUDGET)) {
		free(r->cache);
		r->cache = NULL;
		return -ENOMEM;
	}
	r->pid = pid;
	r->code_type = code_type;
	return 0;
}

static void drop_codes(struct lt_py_cache *c)
{
	struct code_entry *e, *next;
	size_t i;

	for (i = 0; i < CODE_BUCKETS; i++) {
		for (e = c->codes[i]; e; e = next) {
			next = e->next;
			free(e->table);
			free(e);
		}
		c->codes[i] = NULL;
	}
	c->ncodes = 0;
	c->table_bytes = 0;
	memset(c->lines, 0, sizeof(c->lines));
}

static void drop_types(struct lt_py_cache *c)
{
	struct type_entry *e, *next;
	size_t i;

	for (i = 0; i < TYPE_BUCKETS; i++) {
		for (e = c->types[i]; e; e = next) {
			next = e->next;
			free(e);
		}
		c->types[i] = NULL;
	}
	c->ntypes = 0;
}

void lt_py_reader_free(struct lt_py_reader *r)
{
	if (!r->cache)
		return;
	drop_codes(r->cache);
	drop_types(r->cache);
	lt_string_pool_free(&r->cache->strings);
	free(r->cache);
	r->cache = NULL;
}

/* A name from a str object, interned; "?" when it cannot be read. */
static const char *read_name(struct lt_py_reader *r, uint64_t str)
{
	const char *name = NULL;
	char *text;

	if (!lt_py_read_str(r->pid, r->info, str, &text)) {
		name = lt_string_pool_intern(&r->cache->strings, text);
		free(text);
	}
	return name ? name : "?";
}

static int64_t field_ptr(const uint8_t *hdr, int32_t off)
{
	uint64_t v;

	memcpy(&v, hdr + off, sizeof(v));
	return (int64_t)v;
}

/* What tells one code object from another that later took its address. */
static uint64_t header_fingerprint(const struct lt_py_version_info *info, const uint8_t *hdr)
{
	uint64_t h = (uint64_t)field_ptr(hdr, info->co_filename);
	int32_t first;

	memcpy(&first, hdr + info->co_firstlineno, sizeof(first));
	h = h * 0x9e3779b97f4a7c15ULL ^ (uint64_t)field_ptr(hdr, info->co_name);
	h = h * 0x9e3779b97f4a7c15ULL ^ (uint64_t)field_ptr(hdr, info->co_linetable);
	return h * 0x9e3779b97f4a7c15ULL ^ (uint32_t)first;
}

/* A cached entry still describes the object at its address: code objects
 * die and their memory is reused by others (imports make and drop many). */
static bool still_valid(struct lt_py_reader *r, const struct code_entry *e)
{
	const struct lt_py_version_info *info = r->info;
	uint8_t hdr[256];
	size_t len = lt_py_code_header_len(info);

	if (len > sizeof(hdr) || lt_py_read(r->pid, e->code, hdr, len))
		return false;
	if (r->code_type && (uint64_t)field_ptr(hdr, LT_PY_OB_TYPE) != r->code_type)
		return false;
	return header_fingerprint(info, hdr) == e->fingerprint;
}

static int load_code(struct lt_py_reader *r, uint64_t code, struct code_entry **out)
{
	const struct lt_py_version_info *info = r->info;
	uint8_t hdr[256];
	size_t len = lt_py_code_header_len(info);
	struct code_entry *e;
	int32_t first;
	int err;

	if (len > sizeof(hdr))
		return -EINVAL;
	err = lt_py_read(r->pid, code, hdr, len);
	if (err)
		return err;
	if (r->code_type && (uint64_t)field_ptr(hdr, LT_PY_OB_TYPE) != r->code_type)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->code = code;
	e->fingerprint = header_fingerprint(info, hdr);
	memcpy(&first, hdr + info->co_firstlineno, sizeof(first));
	e->firstlineno = first;
	if (info->co_firsttraceable >= 0) {
		memcpy(&first, hdr + info->co_firsttraceable, sizeof(first));
		e->first_traceable = first > 0 ? 2 * (int64_t)first : 0;
	}
	e->func = read_name(r, (uint64_t)field_ptr(hdr, info->co_qualname >= 0 ?
						     info->co_qualname : info->co_name));
	e->file = read_name(r, (uint64_t)field_ptr(hdr, info->co_filename));
	/* Without its table a frame still has a function and a file. */
	if (lt_py_read_bytes(r->pid, (uint64_t)field_ptr(hdr, info->co_linetable),
			     LT_PY_TABLE_MAX, &e->table, &e->table_len))
		e->table = NULL;
	*out = e;
	return 0;
}

/* Unlinked, not freed: its interned strings stay valid anyway. */
static void cache_drop(struct lt_py_cache *c, struct code_entry **pe)
{
	struct code_entry *e = *pe;

	*pe = e->next;
	c->table_bytes -= e->table_len;
	free(e->table);
	free(e);
	c->ncodes--;
	/* Lines remembered per (code, position) may be the old object's. */
	memset(c->lines, 0, sizeof(c->lines));
}

static void cache_insert(struct lt_py_cache *c, struct code_entry *e)
{
	size_t b = bucket(e->code, CODE_BUCKETS);

	if (c->ncodes >= CODE_MAX || c->table_bytes + e->table_len > TABLE_BUDGET)
		drop_codes(c);
	e->next = c->codes[b];
	c->codes[b] = e;
	c->ncodes++;
	c->table_bytes += e->table_len;
}

static int find_code(struct lt_py_reader *r, uint64_t code, struct code_entry **out)
{
	struct lt_py_cache *c = r->cache;
	size_t b = bucket(code, CODE_BUCKETS);
	struct code_entry *e;
	int err;

	for (struct code_entry **pe = &c->codes[b]; (e = *pe); pe = &e->next) {
		struct code_entry *now;

		if (e->code != code)
			continue;
		/* The process may already have freed it and made another object
		 * there (even another code object, still being set up): the copy
		 * is what ran when the frame was recorded. */
		if ((e->copy && !e->freed && r->frees_reported) || still_valid(r, e)) {
			*out = e;
			return 0;
		}
		/* Gone, and no other code object there since: the frame was
		 * recorded while this one ran (a module's body, say, freed once
		 * its import is done). */
		if (load_code(r, code, &now)) {
			*out = e;
			return 0;
		}
		free(now->table);
		free(now);
		cache_drop(c, pe);
		break;
	}
	err = load_code(r, code, &e);
	if (err)
		return err;
	cache_insert(c, e);
	*out = e;
	return 0;
}

int lt_py_reader_add_copy(struct lt_py_reader *r, uint64_t code, const struct lt_py_image *images,
			  size_t nimages)
{
	struct lt_py_cache *c = r->cache;
	struct code_entry *e;
	int err;

	lt_py_read_images(images, nimages);
	err = load_code(r, code, &e);
	lt_py_read_images(NULL, 0);
	if (err)
		return err;
	e->copy = true;
	for (struct code_entry **pe = &c->codes[bucket(code, CODE_BUCKETS)]; *pe;
	     pe = &(*pe)->next) {
		if ((*pe)->code == code) {
			cache_drop(c, pe);
			break;
		}
	}
	cache_insert(c, e);
	return 0;
}

void lt_py_reader_code_freed(struct lt_py_reader *r, uint64_t addr)
{
	for (struct code_entry *e = r->cache->codes[bucket(addr, CODE_BUCKETS)]; e; e = e->next)
		if (e->code == addr)
			e->freed = true;
}

bool lt_py_pos_to_offset(const struct lt_py_version_info *info, uint64_t code, uint64_t raw_pos,
			 int64_t *offset)
{
	int64_t v;

	switch (info->pos) {
	case LT_PY_POS_BYTES:
		v = (int64_t)raw_pos;
		break;
	case LT_PY_POS_UNITS:
		v = (int64_t)raw_pos;
		if (v > INT32_MAX || v < INT32_MIN)
			return false;
		v *= 2;
		break;
	case LT_PY_POS_IPTR:
		if (!raw_pos)
			return false;
		v = (int64_t)(raw_pos - (code + (uint64_t)info->co_code_adaptive));
		break;
	default:
		return false;
	}
	/* Bytecode fits in an int in every version: anything else is garbage. */
	if (v > INT32_MAX || v < INT32_MIN)
		return false;
	*offset = v;
	return true;
}

/* A frame that has not reached its first traceable instruction (3.11+:
 * MAKE_CELL, COPY_FREE_VARS before RESUME) is still being set up by its
 * caller's call: CPython's tracebacks, tracemalloc's included, skip it. */
static bool incomplete(struct lt_py_reader *r, const struct code_entry *e, uint64_t raw_pos)
{
	int64_t offset;

	return e->first_traceable && lt_py_pos_to_offset(r->info, e->code, raw_pos, &offset) &&
	       offset < e->first_traceable;
}

static int line_of(struct lt_py_reader *r, const struct code_entry *e, uint64_t raw_pos)
{
	struct line_slot *s = &r->cache->lines[bucket(e->code ^ (raw_pos * 0x100000001b3ull),
						      LINE_SLOTS)];
	int64_t offset;
	int line;

	if (s->used && s->code == e->code && s->pos == raw_pos)
		return s->line;
	if (!e->table || !lt_py_pos_to_offset(r->info, e->code, raw_pos, &offset))
		line = -1;
	else if (offset < 0) /* before the first instruction (3.11+ MAKE_CELL): as CPython says */
		line = e->firstlineno;
	else
		line = lt_py_line_decode(r->info->lines, e->table, e->table_len, e->firstlineno,
					 offset);
	*s = (struct line_slot){ e->code, raw_pos, line, true };
	return line;
}

int lt_py_resolve_frame(struct lt_py_reader *r, uint64_t code, uint64_t raw_pos,
			struct lt_py_location *out)
{
	struct code_entry *e;
	int err, line;

	memset(out, 0, sizeof(*out));
	err = find_code(r, code, &e);
	if (err)
		return err;
	line = line_of(r, e, raw_pos);
	out->func = e->func;
	out->file = e->file;
	out->line = line > 0 ? line : 0;
	/* 3.12+ interpreter-made code (3.13's __init__ shim after
	 * CALL_ALLOC_AND_ENTER_INIT, 3.12's trampoline) has no source line. */
	out->drop = (r->info->minor >= 12 && e->firstlineno == 0) || incomplete(r, e, raw_pos);
	return 0;
}

const char *lt_py_type_name(struct lt_py_reader *r, uint64_t type)
{
	struct lt_py_cache *c = r->cache;
	size_t b = bucket(type, TYPE_BUCKETS);
	const char *name = NULL;
	struct type_entry *e;
	uint64_t ptr;
	char *text;

	for (e = c->types[b]; e; e = e->next)
		if (e->type == type)
			return e->name;
	if (lt_py_read(r->pid, type + LT_PY_TP_NAME, &ptr, sizeof(ptr)) ||
	    lt_py_read_cstr(r->pid, ptr, LT_PY_NAME_MAX, &text))
		return NULL;
	name = lt_string_pool_intern(&c->strings, text);
	free(text);
	if (!name)
		return NULL;
	e = malloc(sizeof(*e));
	if (!e)
		return name;
	if (c->ntypes >= TYPE_MAX)
		drop_types(c);
	*e = (struct type_entry){ type, name, c->types[b] };
	c->types[b] = e;
	c->ntypes++;
	return name;
}
