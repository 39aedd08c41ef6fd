/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * CPython objects. Where the build lets us, probes on the object allocator's
 * own functions (the targets of PyObject_Malloc's table) record every block
 * it hands out, objects of every type and the buffers containers grow, with
 * the bytes asked for and the Python frames that asked; userspace reads each
 * block's type from its header later. Builds that inline those functions
 * into their callers get probes on the GC allocation entry points instead,
 * which see GC-tracked objects with their type. Where the interpreter keeps
 * its thread state and frames comes from userspace per process (struct
 * lt_py_layout), so one program serves 3.8 to 3.13.
 *
 * Included by leaktrace.bpf.c; uses its filters, drop counters and emit_free().
 */
#ifndef LT_PYTHON_BPF_H
#define LT_PYTHON_BPF_H

#define PY_TPFLAGS_HAVE_GC (1UL << 14)
#define SIGSTOP_NUMBER 19 /* x86-64 */
/* An object starts at most a GC header and a pre-header into its block. */
#define PY_MAX_OBJECT_OFFSET 33

/* --native: native allocations in Python processes carry Python frames. */
const volatile bool python_native = false;
/* Set by userspace once an interpreter's allocator functions are probed. */
bool py_allocator_probes = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct lt_py_layout);
} py_layouts SEC(".maps");

/*
 * Allocations in flight per thread. They nest: an allocation can start a
 * collection, whose finalizers run Python code that allocates.
 */
#define PY_INFLIGHT_DEPTH 4

struct py_call {
	__u64 type;       /* GC entry points */
	__u64 nitems;
	__u64 size_bytes; /* allocator functions */
	__u64 old;        /* realloc's block */
	__u16 func;
	__u8 internal;    /* called by another allocator call: that one accounts */
};

#define PY_SEEN_SLOTS 32 /* a power of two */

struct py_inflight {
	__u32 depth; /* calls entered; only the innermost PY_INFLIGHT_DEPTH are kept */
	struct py_call calls[PY_INFLIGHT_DEPTH];
	__u64 last_block; /* the block the allocator functions last handed this thread */
	__u64 seen_codes[PY_SEEN_SLOTS]; /* code objects this thread knows are copied */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct py_inflight);
} py_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_py_alloc_event);
} py_scratch SEC(".maps");

/* Code objects already copied to userspace, per process. */
struct py_code_key {
	__u64 code;
	__u32 tgid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct py_code_key);
	__type(value, __u8);
} py_codes_sent SEC(".maps");

/* The calling thread's next in-flight slot, entered (depth counts it even
 * past the slots kept); NULL when this call is not to be recorded. */
static __always_inline struct py_call *py_enter(struct py_inflight **inp)
{
	struct py_inflight *in;
	__u32 d;

	if (!alloc_wanted(bpf_get_current_pid_tgid() >> 32))
		return NULL;
	in = bpf_task_storage_get(&py_inflight, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!in) {
		count_drop(LT_DROP_INFLIGHT_FULL);
		return NULL;
	}
	*inp = in;
	d = in->depth++;
	if (d >= PY_INFLIGHT_DEPTH)
		return NULL;
	return &in->calls[d];
}

SEC("uprobe")
int BPF_KPROBE(py_alloc_entry, __u64 type, __u64 nitems)
{
	struct py_inflight *in;
	struct py_call *c = py_enter(&in);

	if (!c)
		return 0;
	c->type = type;
	/* _PyObject_GC_New has no item count; its register is garbage. */
	c->nitems = bpf_get_attach_cookie(ctx) == LT_FUNC_PY_GC_NEW ? 0 : nitems;
	c->func = bpf_get_attach_cookie(ctx);
	return 0;
}

static __always_inline bool is_obj_allocator(__u16 func)
{
	return func >= LT_FUNC_PY_OBJ_MALLOC && func <= LT_FUNC_PY_OBJ_FREE;
}

/* An allocator-function call of this thread is in flight (realloc calls
 * malloc and free itself; large blocks go on to libc). */
static __always_inline bool in_py_allocator(void)
{
	struct py_inflight *in;

	if (!py_allocator_probes)
		return false;
	in = bpf_task_storage_get(&py_inflight, bpf_get_current_task_btf(), 0, 0);
	return in && in->depth && in->depth <= PY_INFLIGHT_DEPTH &&
	       is_obj_allocator(in->calls[(in->depth - 1) & (PY_INFLIGHT_DEPTH - 1)].func);
}

SEC("uprobe")
int BPF_KPROBE(py_obj_alloc_entry, __u64 allocator_ctx, __u64 a, __u64 b)
{
	__u16 func = bpf_get_attach_cookie(ctx);
	struct py_inflight *in;
	struct py_call *c = py_enter(&in);
	__u32 d;

	(void)allocator_ctx;
	if (!c)
		return 0;
	d = in->depth - 1;
	c->func = func;
	c->type = 0;
	c->nitems = 0;
	c->old = func == LT_FUNC_PY_OBJ_REALLOC ? a : 0;
	c->size_bytes = func == LT_FUNC_PY_OBJ_MALLOC ? a :
			func == LT_FUNC_PY_OBJ_CALLOC ? a * b : b;
	/* Nothing the allocator calls runs Python code: a nested call is its
	 * own work (realloc moving a block), accounted by the outer one. */
	c->internal = d > 0 && is_obj_allocator(in->calls[(d - 1) & (PY_INFLIGHT_DEPTH - 1)].func);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(py_obj_free, __u64 allocator_ctx, __u64 op)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	const struct lt_py_layout *l;
	__u64 type = 0;
	bool is_code;

	(void)allocator_ctx;
	if (!op || !alloc_wanted(tgid) || in_py_allocator())
		return 0;
	l = bpf_map_lookup_elem(&py_layouts, &tgid);
	if (!l)
		return 0;
	/* A code object going: the next one made here is copied afresh (module
	 * bodies die after their import, and the next import's take their
	 * place), and the consumer stops trusting its copy. Code objects are
	 * not GC-tracked: the object is the block. */
	is_code = l->code_type && !bpf_probe_read_user(&type, sizeof(type), (void *)(op + 8)) &&
		  type == l->code_type;
	emit_free(LT_EV_PY_FREE, LT_FUNC_PY_OBJ_FREE, op, is_code);
	if (is_code) {
		struct py_code_key key = { .code = op, .tgid = tgid };
		struct py_inflight *in;

		bpf_map_delete_elem(&py_codes_sent, &key);
		in = bpf_task_storage_get(&py_inflight, bpf_get_current_task_btf(), 0, 0);
		if (in && in->seen_codes[(op >> 4) & (PY_SEEN_SLOTS - 1)] == op)
			in->seen_codes[(op >> 4) & (PY_SEEN_SLOTS - 1)] = 0;
	}
	return 0;
}

struct py_walk {
	const struct lt_py_layout *layout;
	__u64 frame;
};

static __always_inline __u64 read_u64(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		return 0;
	return v;
}

/* One interpreter frame as read from the target. */
struct py_frame_read {
	__u64 back; /* the frame below, 0 at the bottom */
	__u64 code; /* 0: a shim or a frame without code, not shown */
	__u64 pos;
};

__noinline int lt_py_read_frame(const struct lt_py_layout *l, __u64 frame,
				struct py_frame_read *out)
{
	__u8 owner;

	if (!l || !out)
		return -1;
	out->code = out->pos = 0;
	/* 3.14+: a tagged stack reference; objects are 8-aligned, so the
	 * low bits are never part of an object's address in any version. */
	out->code = read_u64(frame + l->frame_code) & ~3ULL;
	out->back = read_u64(frame + l->frame_back);
	if (l->frame_owner >= 0 &&
	    !bpf_probe_read_user(&owner, sizeof(owner), (void *)(frame + l->frame_owner)) &&
	    owner >= l->owner_skip)
		out->code = 0; /* a C-stack shim frame: not Python code */
	if (!out->code)
		return 0;
	if (l->pos_kind == LT_PY_POS_LASTI) {
		__s32 lasti = 0;

		bpf_probe_read_user(&lasti, sizeof(lasti), (void *)(frame + l->frame_pos));
		out->pos = (__u64)(__s64)lasti;
	} else {
		out->pos = read_u64(frame + l->frame_pos);
	}
	return 0;
}

/*
 * The count of frames taken lives in the scratch record, not on the stack:
 * a counter on the stack is tracked exactly, and the verifier would check
 * the callback once per value it takes.
 */
static long py_frame_step(__u32 index, struct py_walk *w)
{
	struct py_frame_read fr = {};
	struct lt_py_alloc_event *e;
	__u32 zero = 0, n;
	__u64 frame = w->frame, code, pos;

	(void)index;
	e = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!e || !frame || lt_py_read_frame(w->layout, frame, &fr))
		return 1;
	n = e->npy;
	w->frame = fr.back;
	code = fr.code;
	pos = fr.pos;
	if (!code)
		return 0;
	asm volatile("" : "+r"(n));
	if (n >= LT_PY_MAX_FRAMES)
		return 1;
	e->frames[n].code = code;
	e->frames[n].pos = pos;
	e->npy = n + 1;
	return 0;
}

/*
 * A shared libpython's thread-local, as __tls_get_addr finds it: x86-64's
 * TCB holds the thread's DTV at fs:8; the DTV's entry -1 is its length and
 * entry modid (16 bytes each) its pointer to that module's block, or -1
 * while not allocated in this thread.
 */
#define TCB_DTV 8
#define DTV_UNALLOCATED ((__u64)-1)

static __always_inline __u64 py_dtv_thread_state(__u64 fsbase, const struct lt_py_layout *l)
{
	__u64 dtv = read_u64(fsbase + TCB_DTV), modid = read_u64(l->tls_modid_slot), block;

	if (!dtv || !modid || modid > read_u64(dtv - 16))
		return 0;
	block = read_u64(dtv + 16 * modid);
	if (!block || block == DTV_UNALLOCATED)
		return 0;
	return read_u64(block + l->tls_block_off);
}

/* The calling thread's own interpreter thread state, GIL held or not, or 0:
 * the value of the GIL state's pthread key in its glibc TSD slot. */
static __always_inline __u64 py_thread_state(const struct lt_py_layout *l)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 key = 0;

	if (l->tstate_tls)
		return read_u64(task->thread.fsbase + l->tstate_tls);
	if (l->tls_modid_slot)
		return py_dtv_thread_state(task->thread.fsbase, l);
	if (bpf_probe_read_user(&key, sizeof(key), (void *)(l->runtime + l->tss_key)) || key >= 32)
		return 0;
	/* glibc: struct pthread is at fs_base; specific_1stblock[key].data. */
	return read_u64(task->thread.fsbase + l->tsd_first + 16 * key + 8);
}

static __always_inline __u32 py_walk_frames(const struct lt_py_layout *l)
{
	struct py_walk w = { .layout = l };
	__u64 tstate = py_thread_state(l);
	struct lt_py_alloc_event *e;
	__u32 zero = 0;

	e = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!tstate || !e)
		return 0;
	e->npy = 0;
	w.frame = read_u64(tstate + l->tstate_frame);
	if (l->cframe_frame >= 0 && w.frame)
		w.frame = read_u64(w.frame + l->cframe_frame);
	bpf_loop(LT_PY_MAX_FRAMES * 2, py_frame_step, &w, 0);
	return e->npy;
}

/* The object at addr, from its start, into dst: at most max bytes, and no
 * more than its header says it has (a str's characters or a bytes object's
 * contents follow at data + length * unit). Returns the bytes copied. */
static __always_inline __u16 py_copy_object(void *dst, __u64 addr, __u32 max, __u32 data,
					    __u32 unit)
{
	__s64 length = 0;
	__u64 total;

	if (!addr || bpf_probe_read_user(&length, sizeof(length), (void *)(addr + 16)) ||
	    length < 0 || length > 1 << 20)
		return 0;
	total = data + (__u64)length * unit;
	if (total > max)
		total = max;
	asm volatile("" : "+r"(total));
	if (total < 1 || total > LT_PY_CODE_TABLE)
		return 0;
	if (bpf_probe_read_user(dst, total, (void *)addr))
		return 0;
	return total;
}

/* Where a str's characters start, and bytes per character. */
static __always_inline void py_str_layout(const struct lt_py_layout *l, __u64 str, __u32 *data,
					  __u32 *unit)
{
	__u8 state = 0;

	bpf_probe_read_user(&state, sizeof(state), (void *)(str + 32));
	*unit = (state >> 2) & 7;
	*data = (state >> 6) & 1 ? l->str_ascii_data : l->str_compact_data;
}

/*
 * Global functions: the verifier checks each once, on its own, rather than
 * for every state the loops over frames reach (the probes that walk Python
 * frames took 0.15-0.6 s each to verify, at every start).
 */
__noinline int lt_py_send_code(const struct lt_py_layout *l, __u32 tgid, __u64 code)
{
	struct lt_py_code_event *e;
	__u32 data, unit, head;
	__u64 ptr;

	if (!l)
		return 0;

	e = ring_reserve(ring_for(tgid), sizeof(*e));
	if (!e) {
		count_drop(LT_DROP_RINGBUF_ALLOC);
		return 0;
	}
	fill_hdr(&e->hdr, LT_EV_PY_CODE, tgid);
	e->code = code;
	head = l->code_head_len;
	if (head > LT_PY_CODE_HEAD)
		head = LT_PY_CODE_HEAD;
	asm volatile("" : "+r"(head));
	if (head < 8 || head > LT_PY_CODE_HEAD || bpf_probe_read_user(e->head, head, (void *)code))
		head = 0;
	e->head_len = head;
	e->file_addr = ptr = read_u64(code + l->code_filename);
	py_str_layout(l, ptr, &data, &unit);
	e->file_len = py_copy_object(e->file, ptr, LT_PY_CODE_STR, data, unit);
	e->name_addr = ptr = read_u64(code + l->code_name);
	py_str_layout(l, ptr, &data, &unit);
	e->name_len = py_copy_object(e->name, ptr, LT_PY_CODE_STR, data, unit);
	e->table_addr = ptr = read_u64(code + l->code_linetable);
	e->table_len = py_copy_object(e->table, ptr, LT_PY_CODE_TABLE, 32, 1);
	/* Before the record that names it. */
	bpf_ringbuf_submit(e, 0);
	return 0;
}

struct py_seen_walk {
	const struct lt_py_layout *layout;
	struct lt_py_alloc_event *event;
	struct py_inflight *in;
	__u32 tgid, n;
};

/* One frame's code object: copied unless this thread or process has. */
static long py_check_code(__u32 i, struct py_seen_walk *w)
{
	struct py_code_key key = { .tgid = w->tgid };
	__u32 slot;
	__u8 one = 1;

	if (i >= w->n)
		return 1;
	/* The check the verifier sees must be on the register it indexes with. */
	asm volatile("" : "+r"(i));
	if (i >= LT_PY_MAX_FRAMES)
		return 1;
	key.code = w->event->frames[i].code;
	slot = (key.code >> 4) & (PY_SEEN_SLOTS - 1);
	if (w->in && w->in->seen_codes[slot] == key.code)
		return 0;
	if (w->in)
		w->in->seen_codes[slot] = key.code;
	if (bpf_map_lookup_elem(&py_codes_sent, &key))
		return 0;
	bpf_map_update_elem(&py_codes_sent, &key, &one, BPF_ANY);
	lt_py_send_code(w->layout, w->tgid, key.code);
	return 0;
}

/* A record of addr with the Python frames running now. */
static __always_inline void emit_py_record(const struct lt_py_layout *l, struct py_inflight *in,
					   __u32 kind, __u16 func, __u64 addr, __u64 type,
					   __u64 size_bytes)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct py_seen_walk seen;
	struct lt_py_alloc_event *e;
	__u32 zero = 0, npy;
	void *ring;

	e = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!e)
		return;
	npy = py_walk_frames(l);
	if (npy > LT_PY_MAX_FRAMES)
		npy = LT_PY_MAX_FRAMES;
	seen = (struct py_seen_walk){ .layout = l, .event = e, .in = in, .tgid = id >> 32, .n = npy };
	bpf_loop(LT_PY_MAX_FRAMES, py_check_code, &seen, 0);
	fill_hdr(&e->hdr, kind, id >> 32);
	e->tid = (__u32)id;
	e->func = func;
	e->npy = npy;
	e->addr = addr;
	e->type = type;
	e->size_bytes = size_bytes;
	ring = ring_for(id >> 32);
	if (ring_output(ring, e, LT_PY_ALLOC_EVENT_HDR_BYTES + npy * sizeof(e->frames[0]),
			heap_record_flags(ring)))
		count_drop(LT_DROP_RINGBUF_ALLOC);
}

SEC("uretprobe")
int BPF_KRETPROBE(py_alloc_return, __u64 obj)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, d;
	const struct lt_py_layout *l;
	struct py_inflight *in;
	struct py_call call;
	__u64 sizes[2] = {}, flags = 0;

	in = bpf_task_storage_get(&py_inflight, bpf_get_current_task_btf(), 0, 0);
	if (!in || !in->depth)
		return 0;
	d = --in->depth;
	if (d >= PY_INFLIGHT_DEPTH || !obj)
		return 0;
	call = in->calls[d];
	if (call.internal)
		return 0;
	l = bpf_map_lookup_elem(&py_layouts, &tgid);
	if (!l)
		return 0;
	if (is_obj_allocator(call.func)) {
		/* A moved or resized block is a new one, charged to this line,
		 * as tracemalloc charges it. */
		if (call.old)
			emit_free(LT_EV_PY_FREE, call.func, call.old, 0);
		sizes[0] = call.size_bytes;
	} else {
		/* A type without GC support gets PyObject_Free, not
		 * PyObject_GC_Del: its objects' ends would be missed. */
		if (bpf_probe_read_user(&flags, sizeof(flags), (void *)(call.type + l->type_flags)) ||
		    !(flags & PY_TPFLAGS_HAVE_GC))
			return 0;
		bpf_probe_read_user(sizes, sizeof(sizes), (void *)(call.type + l->type_basicsize));
	}
	if (is_obj_allocator(call.func))
		in->last_block = obj;
	emit_py_record(l, in, LT_EV_PY_ALLOC, call.func, obj, call.type,
		       sizes[0] + call.nitems * sizes[1]);
	return 0;
}

/*
 * Every object CPython initialises passes here (3.9+), fresh from the
 * allocator or taken from a free list; the latter never reached the
 * allocator, and its block is charged again to the line taking it, as
 * tracemalloc does. A fresh object lies in the block this thread was just
 * handed (after a GC header and pre-header at most) and is skipped.
 */
static __always_inline int py_object_made(__u64 op, bool by_tracer)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	const struct lt_py_layout *l;
	struct py_inflight *in;

	if (!op || !alloc_wanted(tgid))
		return 0;
	l = bpf_map_lookup_elem(&py_layouts, &tgid);
	/* Where the tracer pointer reaches every copy, the function's own
	 * calls are seen there too. */
	if (!l || (l->reuse_by_tracer && !by_tracer))
		return 0;
	in = bpf_task_storage_get(&py_inflight, bpf_get_current_task_btf(), 0, 0);
	if (in && op - in->last_block < PY_MAX_OBJECT_OFFSET) {
		in->last_block = 0;
		return 0;
	}
	emit_py_record(l, in, LT_EV_PY_REUSE, LT_FUNC_PY_NEW_REFERENCE, op, 0, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(py_new_reference, __u64 op)
{
	return py_object_made(op, false);
}

/* The reference tracer pointer's target (python_reftracer.h): (op, event,
 * data); only PyRefTracer_CREATE (0) is of use, deallocations are not
 * frees (the memory may stay in a free list). */
SEC("uprobe")
int BPF_KPROBE(py_ref_event, __u64 op, __u32 event)
{
	if (event != 0)
		return 0;
	return py_object_made(op, true);
}

SEC("uprobe")
int BPF_KPROBE(py_gc_del, __u64 op)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!op || !alloc_wanted(tgid) || !bpf_map_lookup_elem(&py_layouts, &tgid))
		return 0;
	emit_free(LT_EV_PY_FREE, LT_FUNC_PY_GC_DEL, op, 0);
	return 0;
}

/* Interpreter shutdown frees every module's objects: what was alive when it
 * began is what the program held. Nothing after it is recorded. Under -c
 * the process waits there, stopped, while the consumer reads its objects'
 * types and code objects: they are freed next. It is stopped only once its
 * record is in the ring buffer, so the consumer always knows to resume it. */
SEC("uprobe")
int BPF_KPROBE(py_finalize)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	const struct lt_py_layout *l;
	struct lt_free_event *e;
	bool stop;

	if (!alloc_wanted(tgid))
		return 0;
	l = bpf_map_lookup_elem(&py_layouts, &tgid);
	if (!l)
		return 0;
	stop = l->stop_at_finalize;
	bpf_map_delete_elem(&py_layouts, &tgid);
	e = ring_reserve(ring_for(tgid), sizeof(*e));
	if (!e) {
		count_drop(LT_DROP_RINGBUF_FREE);
		return 0;
	}
	fill_hdr(&e->hdr, LT_EV_PY_FINALIZE, tgid);
	e->tid = (__u32)id;
	e->func = LT_FUNC_PY_FINALIZE;
	e->pad = 0;
	e->addr = 0;
	e->len_bytes = stop;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	if (stop)
		bpf_send_signal(SIGSTOP_NUMBER);
	return 0;
}

/* The Python frames the calling thread runs, into e->pyframes: for
 * --native allocations and for descriptors. */
static __always_inline __u32 py_frames_of_thread(struct lt_alloc_event *e)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0, n;
	const struct lt_py_layout *l;
	struct lt_py_alloc_event *pe;

	l = bpf_map_lookup_elem(&py_layouts, &tgid);
	pe = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!l || !pe)
		return 0;
	n = py_walk_frames(l);
	if (n)
		__builtin_memcpy(e->pyframes, pe->frames, sizeof(e->pyframes));
	return n;
}

#endif
