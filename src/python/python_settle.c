// SPDX-License-Identifier: MIT
#include "python/python_settle.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "python/python_layout.h"
#include "python/python_memory.h"

#define TPFLAGS_INLINE_VALUES (1ULL << 2) /* 3.13+ */
#define TPFLAGS_MANAGED_WEAKREF (1ULL << 3)
#define TPFLAGS_MANAGED_DICT (1ULL << 4)
#define TPFLAGS_READY (1ULL << 12)
#define TPFLAGS_HAVE_GC (1ULL << 14)
#define TPFLAGS_TYPE_SUBCLASS (1ULL << 31)
/* Beyond these a "type" is garbage: the largest types are a few KiB. */
#define MAX_BASICSIZE (1LL << 20)
#define MAX_ITEMSIZE (1LL << 16)

#define GC_HEADER_BYTES 16 /* PyGC_Head, 3.8+ */
#define PREHEADER_BYTES 16 /* managed dict and weakref pointers, 3.11+ */
/* Enough for a header after a GC header and a pre-header. */
#define HEAD_BYTES (GC_HEADER_BYTES + PREHEADER_BYTES + 16)
#define TYPE_HEAD_BYTES (LT_PY_TP_FLAGS + 8)
/* process_vm_readv takes at most IOV_MAX remote ranges a call. */
#define BATCH 512
/* Addresses remembered as "not a type" at most; past it they are read again. */
#define SEEN_MAX (1u << 20)

/* Where a type's instances start in their block. */
static uint32_t object_offset(uint32_t minor, uint64_t flags)
{
	uint64_t pre = minor >= 12 ? TPFLAGS_MANAGED_DICT | TPFLAGS_MANAGED_WEAKREF :
		       minor == 11 ? TPFLAGS_MANAGED_DICT : 0;

	return (flags & TPFLAGS_HAVE_GC ? GC_HEADER_BYTES : 0) + (flags & pre ? PREHEADER_BYTES : 0);
}

static size_t seen_slot(uint64_t addr, size_t cap)
{
	return (size_t)((addr >> 3) * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
}

static struct lt_py_type_seen *seen_find(const struct lt_py_process *pp, uint64_t addr)
{
	if (!pp->seen_cap)
		return NULL;
	for (size_t i = seen_slot(addr, pp->seen_cap);; i = (i + 1) & (pp->seen_cap - 1)) {
		if (pp->seen[i].addr == addr)
			return &pp->seen[i];
		if (!pp->seen[i].addr)
			return NULL;
	}
}

static void seen_put(struct lt_py_type_seen *table, size_t cap, const struct lt_py_type_seen *e)
{
	size_t i;

	for (i = seen_slot(e->addr, cap); table[i].addr; i = (i + 1) & (cap - 1))
		;
	table[i] = *e;
}

static int seen_add(struct lt_py_process *pp, const struct lt_py_type_seen *e)
{
	if ((pp->nseen + 1) * 4 > pp->seen_cap * 3) {
		size_t cap = pp->seen_cap ? pp->seen_cap * 2 : 256;
		struct lt_py_type_seen *grown = calloc(cap, sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		for (size_t i = 0; i < pp->seen_cap; i++)
			if (pp->seen[i].addr)
				seen_put(grown, cap, &pp->seen[i]);
		free(pp->seen);
		pp->seen = grown;
		pp->seen_cap = cap;
	}
	seen_put(pp->seen, pp->seen_cap, e);
	pp->nseen++;
	return 0;
}

/* Is addr a ready type object (its metatype `type` or a subclass)? */
static int classify_type(struct lt_py_process *pp, uint64_t addr, struct lt_py_type_seen *out)
{
	uint8_t head[TYPE_HEAD_BYTES];
	uint64_t meta, flags, meta_flags;
	int64_t basic, item;
	long index;

	*out = (struct lt_py_type_seen){ .addr = addr, .index = -1 };
	if (lt_py_read(pp->reader.pid, addr, head, sizeof(head)))
		return 0;
	memcpy(&meta, head + LT_PY_OB_TYPE, sizeof(meta));
	memcpy(&flags, head + LT_PY_TP_FLAGS, sizeof(flags));
	memcpy(&basic, head + LT_PY_TP_BASICSIZE, sizeof(basic));
	memcpy(&item, head + LT_PY_TP_ITEMSIZE, sizeof(item));
	/* A buffer's bytes can look like a header whose "type" has the ready
	 * bit: sizes no type has, or a metatype that is not `type` itself
	 * nor a ready subclass whose own metatype is `type` (ABCMeta, enum's),
	 * say it is none. */
	if (!(flags & TPFLAGS_READY) || !meta || basic < 16 || basic > MAX_BASICSIZE ||
	    item < 0 || item > MAX_ITEMSIZE)
		return 0;
	if (meta != pp->interp.type_type) {
		uint64_t meta_meta;

		if (lt_py_read(pp->reader.pid, meta + LT_PY_TP_FLAGS, &meta_flags,
			       sizeof(meta_flags)) ||
		    lt_py_read(pp->reader.pid, meta + LT_PY_OB_TYPE, &meta_meta, sizeof(meta_meta)) ||
		    !(meta_flags & TPFLAGS_TYPE_SUBCLASS) || !(meta_flags & TPFLAGS_READY) ||
		    (pp->interp.type_type && meta_meta != pp->interp.type_type))
			return 0;
	}
	index = lt_py_process_type(pp, addr);
	if (index < 0)
		return (int)index;
	out->index = (int32_t)index;
	out->flags = flags;
	/* CPython allocates a fixed-size object exactly: its pre-header and
	 * tp_basicsize. A compact str is smaller than str's tp_basicsize, and
	 * 3.13 puts an instance's attribute values after it. */
	if (!item && basic > 0 && addr != pp->interp.str_type &&
	    !(pp->interp.minor >= 13 && (flags & TPFLAGS_INLINE_VALUES)))
		out->exact_size = (uint64_t)basic;
	return 0;
}

/* What is known of addr as a type, looked up once. */
static int type_at(struct lt_py_process *pp, uint64_t addr, struct lt_py_type_seen *out)
{
	struct lt_py_type_seen *known;
	int err;

	/* Type objects are aligned user-space addresses. */
	if ((addr & 7) || addr < 4096 || addr >= (1ULL << 47)) {
		*out = (struct lt_py_type_seen){ .addr = addr, .index = -1 };
		return 0;
	}
	known = seen_find(pp, addr);
	if (known && (known->index >= 0 || known->pass == pp->settle_pass)) {
		*out = *known;
		return 0;
	}
	err = classify_type(pp, addr, out);
	out->pass = pp->settle_pass;
	if (err)
		return err;
	if (known) {
		*known = *out;
		return 0;
	}
	if (out->index < 0 && pp->nseen >= SEEN_MAX)
		return 0;
	return seen_add(pp, out);
}

/* The type index of the object at the start of head (len bytes read of a
 * block of size bytes), or the buffer pseudo type. */
static long type_of_block(struct lt_py_process *pp, const uint8_t *head, size_t len, uint64_t size)
{
	for (uint32_t k = 0; k + 16 <= len && k <= GC_HEADER_BYTES + PREHEADER_BYTES; k += 16) {
		struct lt_py_type_seen t;
		uint64_t refcnt, type;
		int err;

		memcpy(&refcnt, head + k, sizeof(refcnt));
		memcpy(&type, head + k + LT_PY_OB_TYPE, sizeof(type));
		/* Live objects have references; 3.12+ immortal ones ~2^32. A GC
		 * header or a pointer array starts with an address instead. */
		if (!refcnt || refcnt > (1ULL << 33))
			continue;
		err = type_at(pp, type, &t);
		if (err)
			return err;
		if (t.index >= 0 && object_offset(pp->interp.minor, t.flags) == k &&
		    (!t.exact_size || t.exact_size == size - k))
			return t.index;
	}
	return lt_py_process_type(pp, LT_PY_TYPE_BUFFER);
}

struct batch {
	struct lt_live_alloc blocks[BATCH]; /* copies: set back by address */
	struct iovec local[BATCH], remote[BATCH];
	uint8_t heads[BATCH][HEAD_BYTES];
	size_t n;
};

static bool process_gone(pid_t pid)
{
	return kill(pid, 0) && errno == ESRCH;
}

/* Blocks that could not be read stay listed in keep_list (at *keep). */
static long settle_batch(struct lt_py_process *pp, struct batch *b, uint64_t *keep_list,
			 size_t *keep)
{
	size_t done = 0;
	ssize_t got;
	long settled = 0;

	got = process_vm_readv(pp->reader.pid, b->local, b->n, b->remote, b->n, 0);
	for (size_t i = 0; i < b->n; i++) {
		size_t len = b->local[i].iov_len;
		bool read = got >= 0 && done + len <= (size_t)got;
		long t;

		done += len;
		struct lt_live_alloc now;

		/* Listed twice (reused after a free): settled by its first listing. */
		if (!lt_live_get(&pp->objects, b->blocks[i].addr, &now) ||
		    now.pad != LT_PY_TYPE_UNSETTLED)
			continue;
		/* Past a range that failed, each block is read on its own. */
		if (!read)
			read = !lt_py_read(pp->reader.pid, (uint64_t)(uintptr_t)b->remote[i].iov_base,
					   b->heads[i], len);
		if (!read && !process_gone(pp->reader.pid)) {
			keep_list[(*keep)++] = b->blocks[i].addr;
			continue;
		}
		t = read ? type_of_block(pp, b->heads[i], len, b->blocks[i].size_bytes) :
			   lt_py_process_type(pp, LT_PY_TYPE_UNREAD);
		if (t < 0)
			return t;
		if (lt_live_set_pad(&pp->objects, b->blocks[i].addr, (uint32_t)t))
			return -ENOMEM;
		pp->unsettled--;
		settled++;
	}
	b->n = 0;
	return settled;
}

long lt_py_settle_types(struct lt_py_process *pp, uint64_t now_ns, uint64_t min_age_ns)
{
	struct batch *b;
	long settled = 0, n = 0;
	size_t keep = 0;

	if (!pp->unsettled) {
		pp->npending = 0;
		return 0;
	}
	/* What was found to be no type is looked at again in a later pass. */
	pp->settle_pass++;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->n = 0;
	for (size_t i = 0; i < pp->npending; i++) {
		struct lt_live_alloc entry, *a = &entry;
		size_t len;

		if (!lt_live_get(&pp->objects, pp->pending[i], &entry) ||
		    a->pad != LT_PY_TYPE_UNSETTLED)
			continue; /* freed, or settled through an earlier listing */
		if (min_age_ns && (a->ts_ns > now_ns || now_ns - a->ts_ns < min_age_ns)) {
			pp->pending[keep++] = a->addr;
			continue;
		}
		len = a->size_bytes < HEAD_BYTES ? a->size_bytes : HEAD_BYTES;
		b->blocks[b->n] = entry;
		b->local[b->n] = (struct iovec){ b->heads[b->n], len };
		b->remote[b->n] = (struct iovec){ (void *)(uintptr_t)a->addr, len };
		if (++b->n < BATCH)
			continue;
		n = settle_batch(pp, b, pp->pending, &keep);
		if (n < 0)
			break;
		settled += n;
		n = 0;
	}
	if (n >= 0 && b->n)
		n = settle_batch(pp, b, pp->pending, &keep);
	free(b);
	if (n < 0)
		return n;
	pp->npending = keep;
	return settled + n;
}
