// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Kernel side of leaktrace: uprobes on the malloc family record allocations
 * and frees into a ring buffer; scheduler tracepoints report process
 * lifecycle; the mmap syscall tracepoint spots libc files mapped by new
 * processes so userspace can attach to them before they are used much.
 *
 * Userspace owns all state about live allocations. Here we only keep the
 * per-thread in-flight call (entry arguments until the return probe) and
 * the set of traced processes.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "leaktrace_events.h"

#define PROT_EXEC 0x4
#define MAP_ANONYMOUS 0x20

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by userspace before load. */
const volatile __u32 self_tgid = 0;
/* -c: probes are attached for every process of a libc; only traced_tgids count. */
const volatile bool filter_by_tgid = false;
/* -c: children of traced processes become traced at fork. */
const volatile bool follow_forks = false;
/* -c/-p: fork/exec/exit/lib events only for traced_tgids. */
const volatile bool task_events_filtered = false;
/* -p: probes are per process, so known_files is keyed per process too. */
const volatile bool per_process_attach = false;
/* System-wide: skip processes in ignored_tgids (other leaktrace instances,
 * whose allocations would otherwise feed each other's events forever). */
const volatile bool use_ignore_list = false;
/* --cgroup: the id of the cgroup whose processes (and descendants') are
 * traced, each with its own probes; 0 otherwise. */
const volatile __u64 cgroup_target_id = 0;
/* --sample-bytes: mean bytes between samples; 0 traces every block. */
const volatile __u64 sample_bytes = 0;
const volatile __u32 exp_table[LT_EXP_TABLE_SIZE] = {};
const volatile __u64 min_size_bytes = 0;
const volatile __u64 max_size_bytes = ~0ULL;
/* --unwind dwarf: every executable file mapping is reported, for its unwind table. */
const volatile bool report_all_exec_maps = false;

/*
 * The ring buffers, one per slot: userspace creates each one, sized from
 * the event rate it sees, and swaps a bigger or smaller one in (see
 * src/attach/ring_sizer.h). The inner map here is only a template; its
 * size does not bind the rings put in the slots.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, LT_MAX_RINGS);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_RINGBUF);
		__uint(max_entries, 4096);
	});
} rings SEC(".maps");

/* Slots in use: a process's records all go to one ring, so their order is kept. */
const volatile __u32 nrings = 1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} traced_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} ignored_tgids SEC(".maps");

/*
 * One slot per thread: the outermost allocator call in flight. Calls made
 * while it runs (realloc -> malloc, reallocarray -> realloc, malloc -> mmap,
 * realloc(p, 0) -> free) only bump depth: the outer call accounts for the
 * block, so nothing is counted twice and inner calls cannot overwrite the
 * outer call's arguments.
 */
struct inflight_call {
	__u64 size_bytes;
	__u64 arg; /* realloc: old block; posix_memalign: memptr */
	__u64 entry_sp; /* where the outer call's return address is */
	__u32 depth;
	__u16 func;
	__u8 skip_alloc; /* outside -z/-Z or not sampled: the new block is not recorded */
	__u8 active;     /* a call is in flight */
};

/* Task-local: no hashing or shared buckets on the hot path, and freed with
 * the thread, so a thread that dies inside malloc leaves nothing behind. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight_call);
} inflight SEC(".maps");

static __always_inline struct inflight_call *current_call(bool create)
{
	return bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* In unwind_user.bpf.h, included below. */
static __always_inline __u64 uretprobe_trampoline(void);
/* In python.bpf.h, included below. */
static __always_inline bool in_py_allocator(void);

/*
 * Is the slot's call still running, seen from a probe whose stack pointer
 * is sp? Its return address was replaced by the return-probe trampoline's.
 * A thread can leave a call without returning (siglongjmp out of a signal
 * handler, a return probe the kernel could not place): then it has since
 * called from that level or above, or written over that stack slot, and
 * the slot must neither swallow its later calls as nested nor lend them
 * its arguments. (A tail call from the outer function runs at its sp.)
 */
static __always_inline bool call_in_progress(const struct inflight_call *c, __u64 sp)
{
	__u64 ret_addr = 0;

	if (!c->active || sp > c->entry_sp)
		return false;
	if (bpf_probe_read_user(&ret_addr, sizeof(ret_addr), (void *)c->entry_sp))
		return false;
	return ret_addr == uretprobe_trampoline();
}

/* A call of the allocator family is in flight on this thread. */
static __always_inline bool in_allocator(struct pt_regs *regs)
{
	struct inflight_call *c = current_call(false);

	return c && call_in_progress(c, PT_REGS_SP(regs));
}

/* Bytes left until the next sample point, per CPU (a Poisson process over
 * allocated bytes: by memorylessness the CPU it runs on does not matter). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sample_countdown SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lt_sampled_key);
	__type(value, __u8);
} sampled_blocks SEC(".maps");

/* Big records are built here rather than on the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_alloc_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LT_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Files userspace has attached to; key.pad holds the tgid in per-process mode. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct lt_file_key);
	__type(value, __u8);
} known_files SEC(".maps");

/* Set on a process (its group leader) once one of its heap records woke the
 * consumer; cleared at exec. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u8);
} woke_for_process SEC(".maps");

/*
 * Waking the consumer for every record costs the traced thread an irq_work
 * and the consumer a context switch per record (~5 us a malloc/free pair
 * here). Heap records wake it only once 1/8 of the ring is waiting (it also
 * polls every 20 ms), except the first record of each process image: that
 * one wakes it at once, so the process's mappings are read while it lives,
 * even if it exits a moment later. Task and lib records always wake it.
 */
#define WOKE_FOR_HEAP 1
#define SENT_DESCRIPTORS 2 /* records sent, none of them woke the consumer */

/* The threshold follows the ring's size, which userspace changes. */
static __always_inline __u64 ring_wakeup_due(void *ring)
{
	if (!ring)
		return BPF_RB_NO_WAKEUP;
	return bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) >=
			       bpf_ringbuf_query(ring, BPF_RB_RING_SIZE) / 8 ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline __u64 heap_record_flags(void *ring)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u8 *woke;

	woke = bpf_task_storage_get(&woke_for_process, task->group_leader, 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (woke && *woke != WOKE_FOR_HEAP) {
		*woke = WOKE_FOR_HEAP;
		return BPF_RB_FORCE_WAKEUP;
	}
	return ring_wakeup_due(ring);
}

/*
 * Descriptor records do not wake the consumer for a new process: ld.so
 * opens each library before it maps it, so mappings read then would miss
 * the program's own. They mark the process as one with stacks to name at
 * exit all the same.
 */
static __always_inline __u64 fd_record_flags(void *ring)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u8 *woke;

	woke = bpf_task_storage_get(&woke_for_process, task->group_leader, 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (woke && !*woke)
		*woke = SENT_DESCRIPTORS;
	return ring_wakeup_due(ring);
}

static __always_inline void fill_hdr(struct lt_event_hdr *h, __u32 kind, __u32 tgid)
{
	h->kind = kind;
	h->tgid = tgid;
	h->ts_ns = bpf_ktime_get_ns();
}

static __always_inline void count_drop(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &reason);

	if (n)
		*n += 1;
}

/* The ring tgid's records go to; NULL only while userspace has none in
 * the slot (then the record counts as dropped, by its caller). */
static __always_inline void *ring_for(__u32 tgid)
{
	__u32 slot = nrings > 1 ? tgid % nrings : 0;

	return bpf_map_lookup_elem(&rings, &slot);
}

static __always_inline void *ring_reserve(void *ring, __u64 size_bytes)
{
	return ring ? bpf_ringbuf_reserve(ring, size_bytes, 0) : NULL;
}

static __always_inline long ring_output(void *ring, void *data, __u64 size_bytes, __u64 flags)
{
	return ring ? bpf_ringbuf_output(ring, data, size_bytes, flags) : -1;
}

static __always_inline bool alloc_wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (filter_by_tgid && !bpf_map_lookup_elem(&traced_tgids, &tgid))
		return false;
	if (use_ignore_list && bpf_map_lookup_elem(&ignored_tgids, &tgid))
		return false;
	return true;
}

static __always_inline bool task_event_wanted(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (task_events_filtered && !bpf_map_lookup_elem(&traced_tgids, &tgid))
		return false;
	return true;
}

static __always_inline __u64 next_sample_gap(void)
{
	__u32 i = bpf_get_prandom_u32() & (LT_EXP_TABLE_SIZE - 1);
	__u64 gap = (sample_bytes * exp_table[i]) >> 16;

	return gap ? gap : 1;
}

/*
 * A block is sampled when a sample point falls inside it, which happens with
 * probability 1 - exp(-size / sample_bytes); userspace weights it by the
 * inverse. Decided here, before any stack is captured.
 */
static __always_inline bool sample_block(__u64 size_bytes)
{
	__u32 zero = 0;
	__u64 *left = bpf_map_lookup_elem(&sample_countdown, &zero);

	if (!left)
		return false;
	if (!*left)
		*left = next_sample_gap();
	if (size_bytes < *left) {
		*left -= size_bytes;
		return false;
	}
	*left = next_sample_gap();
	return true;
}

/* Sampling: was this block sampled? Then forget it, its free is reported. */
static __always_inline bool take_sampled(__u32 tgid, __u64 addr)
{
	struct lt_sampled_key key = { .addr = addr, .tgid = tgid };

	if (!sample_bytes)
		return true;
	return bpf_map_delete_elem(&sampled_blocks, &key) == 0;
}

static __always_inline int enter_call(struct pt_regs *regs, __u16 func, __u64 size_bytes,
				      __u64 arg)
{
	struct inflight_call *call;

	if (!alloc_wanted(bpf_get_current_pid_tgid() >> 32))
		return 0;
	/* CPython's object allocator hands large blocks on to libc: they are
	 * counted once, as Python memory. */
	if (in_py_allocator())
		return 0;
	call = current_call(true);
	if (!call) {
		count_drop(LT_DROP_INFLIGHT_FULL);
		return 0;
	}
	/* At the entry probe, sp points at the return address. */
	if (call_in_progress(call, PT_REGS_SP(regs))) {
		call->depth++;
		return 0;
	}
	call->size_bytes = size_bytes;
	call->arg = arg;
	call->entry_sp = PT_REGS_SP(regs);
	call->func = func;
	call->depth = 0;
	call->skip_alloc = size_bytes < min_size_bytes || size_bytes > max_size_bytes;
	if (sample_bytes && func != LT_FUNC_MMAP && !call->skip_alloc)
		call->skip_alloc = !sample_block(size_bytes);
	call->active = 1;
	return 0;
}

static __always_inline void emit_free(__u32 kind, __u16 func, __u64 addr, __u64 len_bytes)
{
	__u64 id = bpf_get_current_pid_tgid();
	void *ring = ring_for(id >> 32);
	struct lt_free_event *e;

	e = ring_reserve(ring, sizeof(*e));
	if (!e) {
		count_drop(LT_DROP_RINGBUF_FREE);
		return;
	}
	fill_hdr(&e->hdr, kind, id >> 32);
	e->tid = (__u32)id;
	e->func = func;
	e->pad = 0;
	e->addr = addr;
	e->len_bytes = len_bytes;
	bpf_ringbuf_submit(e, kind == LT_EV_FD_CLOSE ? fd_record_flags(ring) :
						       heap_record_flags(ring));
}

#include "unwind_user.bpf.h"

/*
 * The frame-pointer walk perf does for bpf_get_stack(BPF_F_USER_STACK), done
 * here directly: at a return probe ip is the caller's return address and
 * rbp the caller's frame. Cheaper than perf's callchain machinery; stops at
 * a zero, unreadable or non-increasing frame pointer.
 */
static __always_inline __u32 walk_user_stack(struct pt_regs *regs, __u64 *frames)
{
	__u64 fp = PT_REGS_FP(regs), trampoline = uretprobe_trampoline();
	struct lt_user_frame fr;
	int i;

	frames[0] = PT_REGS_IP(regs);
	for (i = 1; i < LT_MAX_FRAMES; i++) {
		if (!fp || bpf_probe_read_user(&fr, sizeof(fr), (void *)fp))
			break;
		frames[i] = real_return_address(fr.ret_addr, fp + 8, trampoline);
		if (fr.next_fp <= fp) {
			i++;
			break;
		}
		fp = fr.next_fp;
	}
	if (i == LT_MAX_FRAMES)
		count_drop(LT_DROP_STACK_TRUNCATED);
	return i;
}

#include "python.bpf.h"

/*
 * A record with the calling thread's user stack: at a return probe (ctx
 * its registers) or at a syscall's exit (the task's user registers). With
 * with_py, the Python frames running too, in a traced interpreter.
 */
static __always_inline void emit_record(struct pt_regs *ctx, __u32 kind, __u16 func, __u64 addr,
					__u64 size_bytes, __u64 released_addr, bool with_py,
					bool descriptor)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0, npy;
	struct lt_alloc_event *e;
	void *ring;
	long stack_bytes, record_bytes;

	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return;
	/* Taken at the return probe, so frames[0] is malloc's caller. */
	stack_bytes = (dwarf_unwind ? unwind_by_rules(ctx, e->frames) :
				      walk_user_stack(ctx, e->frames)) * sizeof(__u64);
	if (stack_bytes > (long)sizeof(e->frames))
		stack_bytes = sizeof(e->frames);
	fill_hdr(&e->hdr, kind, id >> 32);
	e->tid = (__u32)id;
	e->func = func;
	e->nframes = stack_bytes / sizeof(__u64);
	e->addr = addr;
	e->size_bytes = size_bytes;
	e->released_addr = released_addr;
	npy = with_py ? py_frames_of_thread(e) : 0;
	if (npy > LT_PY_MAX_FRAMES)
		npy = LT_PY_MAX_FRAMES;
	e->npy = npy;
	e->pad = 0;
	/* With Python frames the record runs to them, past every native slot. */
	record_bytes = npy ? (long)(sizeof(*e) - sizeof(e->pyframes) + npy * sizeof(e->pyframes[0])) :
			     (long)(LT_ALLOC_EVENT_HDR_BYTES + stack_bytes);
	if (record_bytes > (long)sizeof(*e))
		record_bytes = sizeof(*e);
	ring = ring_for(id >> 32);
	if (ring_output(ring, e, record_bytes,
			descriptor ? fd_record_flags(ring) : heap_record_flags(ring)))
		count_drop(LT_DROP_RINGBUF_ALLOC);
}

static __always_inline void emit_alloc(void *ctx, __u32 kind, __u16 func, __u64 addr,
				       __u64 size_bytes, __u64 released_addr)
{
	emit_record(ctx, kind, func, addr, size_bytes, released_addr, python_native, false);
}

SEC("uprobe")
int BPF_KPROBE(size_arg1_entry, __u64 size_bytes)
{
	/* malloc, valloc, pvalloc: the cookie says which. */
	return enter_call(ctx, bpf_get_attach_cookie(ctx), size_bytes, 0);
}

SEC("uprobe")
int BPF_KPROBE(size_arg2_entry, __u64 alignment, __u64 size_bytes)
{
	/* aligned_alloc, memalign */
	return enter_call(ctx, bpf_get_attach_cookie(ctx), size_bytes, 0);
}

static __always_inline __u64 product_or_max(__u64 n, __u64 size)
{
	__u64 limit;

	/* An overflowing product makes the call fail; ~0 keeps it out of -Z. */
	if (!size)
		return 0;
	limit = ~0ULL / size;
	/* Hide the quotient from clang, which would turn the test into a
	 * 128-bit multiply that BPF cannot do. */
	asm volatile("" : "+r"(limit));
	if (n > limit)
		return ~0ULL;
	return n * size;
}

SEC("uprobe")
int BPF_KPROBE(calloc_entry, __u64 nmemb, __u64 size)
{
	return enter_call(ctx, LT_FUNC_CALLOC, product_or_max(nmemb, size), 0);
}

SEC("uprobe")
int BPF_KPROBE(realloc_entry, void *old, __u64 size_bytes)
{
	return enter_call(ctx, LT_FUNC_REALLOC, size_bytes, (__u64)old);
}

SEC("uprobe")
int BPF_KPROBE(reallocarray_entry, void *old, __u64 nmemb, __u64 size)
{
	return enter_call(ctx, LT_FUNC_REALLOCARRAY, product_or_max(nmemb, size), (__u64)old);
}

SEC("uprobe")
int BPF_KPROBE(posix_memalign_entry, void **memptr, __u64 alignment, __u64 size_bytes)
{
	return enter_call(ctx, LT_FUNC_POSIX_MEMALIGN, size_bytes, (__u64)memptr);
}

SEC("uprobe")
int BPF_KPROBE(mmap_entry, void *addr, __u64 len, int prot, int flags)
{
	if (!(flags & MAP_ANONYMOUS))
		return 0;
	return enter_call(ctx, LT_FUNC_MMAP, len, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_return, __u64 ret)
{
	struct inflight_call *slot = current_call(false), call;
	__u64 addr = 0, released = 0;
	__u32 kind = LT_EV_ALLOC;

	if (!slot || !slot->active)
		return 0;
	/* Above the outer call's frame: it was left without returning, and
	 * this return's own entry did not take the slot. */
	if (PT_REGS_SP(ctx) > slot->entry_sp + 8) {
		slot->active = 0;
		return 0;
	}
	if (slot->depth) {
		slot->depth--;
		return 0;
	}
	call = *slot;
	slot->active = 0;

	switch (call.func) {
	case LT_FUNC_POSIX_MEMALIGN:
		if ((int)ret != 0 || bpf_probe_read_user(&addr, sizeof(addr), (void *)call.arg))
			return 0;
		break;
	case LT_FUNC_REALLOC:
	case LT_FUNC_REALLOCARRAY:
		/* The old block goes only if the call succeeded; a zero size frees it. */
		if (ret) {
			addr = ret;
			released = call.arg;
		} else if (call.size_bytes == 0) {
			released = call.arg;
		}
		break;
	case LT_FUNC_MMAP:
		if (ret == ~0ULL) /* MAP_FAILED */
			return 0;
		addr = ret;
		kind = LT_EV_MMAP;
		break;
	default:
		addr = ret;
		break;
	}
	if (call.skip_alloc)
		addr = 0;
	if (sample_bytes && kind == LT_EV_ALLOC) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		struct lt_sampled_key key = { .addr = addr, .tgid = tgid };
		__u8 one = 1;

		if (released && !take_sampled(tgid, released))
			released = 0;
		if (addr && bpf_map_update_elem(&sampled_blocks, &key, &one, BPF_ANY)) {
			count_drop(LT_DROP_SAMPLED_FULL);
			addr = 0;
		}
	}
	if (addr)
		emit_alloc(ctx, kind, call.func, addr, call.size_bytes, released);
	else if (released)
		emit_free(LT_EV_FREE, call.func, released, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(free_entry, void *ptr)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (!ptr || !alloc_wanted(id >> 32))
		return 0;
	/* Inside realloc etc.: the outer call's return accounts for the block. */
	if (in_allocator(ctx) || in_py_allocator())
		return 0;
	if (!take_sampled(id >> 32, (__u64)ptr))
		return 0;
	emit_free(LT_EV_FREE, LT_FUNC_FREE, (__u64)ptr, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(munmap_entry, void *addr, __u64 len)
{
	if (!alloc_wanted(bpf_get_current_pid_tgid() >> 32) || in_allocator(ctx))
		return 0;
	emit_free(LT_EV_MUNMAP, LT_FUNC_MUNMAP, (__u64)addr, len);
	return 0;
}

static __always_inline void emit_task(__u32 kind, __u32 tgid, __u32 other_tgid,
				      struct task_struct *task)
{
	struct lt_task_event *e;

	e = ring_reserve(ring_for(tgid), sizeof(*e));
	if (!e) {
		count_drop(LT_DROP_RINGBUF_TASK);
		return;
	}
	fill_hdr(&e->hdr, kind, tgid);
	e->other_tgid = other_tgid;
	e->pad = 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), task->comm);
	/* Flag 0 would not wake a consumer that is behind on heap records. */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

#define LT_CGROUP_MAX_LEVEL 32

/* Is task in the --cgroup cgroup or below it? Its ancestors, root first,
 * are an array in its own cgroup: one of them must be the target. */
static __always_inline bool in_target_cgroup(struct task_struct *task)
{
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	int level = BPF_CORE_READ(cg, level);

	for (int i = 0; i <= LT_CGROUP_MAX_LEVEL; i++) {
		struct cgroup *a = NULL;

		if (i > level)
			break;
		bpf_core_read(&a, sizeof(a), &cg->ancestors[i]);
		if (a && BPF_CORE_READ(a, kn, id) == cgroup_target_id)
			return true;
	}
	return false;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = BPF_CORE_READ(parent, tgid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (parent_tgid == child_tgid) /* a new thread, not a process */
		return 0;
	if (cgroup_target_id) {
		/* The child's own cgroup: clone3 can place it elsewhere. */
		if (parent_tgid == self_tgid || !in_target_cgroup(child))
			return 0;
		bpf_map_update_elem(&traced_tgids, &child_tgid, &one, BPF_ANY);
	} else if (!task_event_wanted(parent_tgid)) {
		return 0;
	}
	/* Added before the child runs its first instruction: nothing is missed. */
	if (follow_forks)
		bpf_map_update_elem(&traced_tgids, &child_tgid, &one, BPF_ANY);
	emit_task(LT_EV_FORK, child_tgid, parent_tgid, child);
	return 0;
}

static long forget_file_of(struct bpf_map *map, struct lt_file_key *key, __u8 *val, __u32 *tgid)
{
	if (key->pad == *tgid)
		bpf_map_delete_elem(map, key);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct lt_exec_event *e;

	/*
	 * exec by a thread other than the leader: the per-process probes died
	 * with the old leader's task. Forget the files they were on here, not
	 * when the consumer reads this event: by then ld.so may have mapped
	 * libc again, unreported, and the new image would stay untraced.
	 */
	if (per_process_attach && (__u32)old_pid != tgid)
		bpf_for_each_map_elem(&known_files, forget_file_of, &tgid, 0);

	/* A new image: its first heap record should wake the consumer again. */
	bpf_task_storage_delete(&woke_for_process, task->group_leader);
	/* Moved into the cgroup, then exec'd: how containers start. */
	if (cgroup_target_id && tgid != self_tgid && !bpf_map_lookup_elem(&traced_tgids, &tgid) &&
	    in_target_cgroup(task)) {
		__u8 one = 1;

		bpf_map_update_elem(&traced_tgids, &tgid, &one, BPF_ANY);
	}

	if (!task_event_wanted(tgid))
		return 0;
	e = ring_reserve(ring_for(tgid), sizeof(*e));
	if (!e) {
		count_drop(LT_DROP_RINGBUF_TASK);
		return 0;
	}
	fill_hdr(&e->task.hdr, LT_EV_EXEC, tgid);
	e->task.other_tgid = old_pid;
	e->task.pad = 0;
	bpf_probe_read_kernel_str(e->task.comm, sizeof(e->task.comm), task->comm);
	if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), bprm->filename) < 0)
		e->filename[0] = '\0';
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task,
				 __u64 addr) __weak __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __weak __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __weak __ksym;

#define VM_EXEC 0x4

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lt_exit_maps_event);
} exit_maps_scratch SEC(".maps");

/*
 * The exiting process's code mappings. This kernel fires the exit
 * tracepoint before the address space is torn down (the tracepoint's
 * group_dead argument came with that change); older kernels give an empty
 * list and the mappings are read from /proc as before.
 */
static __always_inline void emit_exit_maps(struct task_struct *task, __u32 tgid)
{
	struct lt_exit_maps_event *e;
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	__u32 zero = 0, n = 0;
	__u8 *woke;

	if (!bpf_iter_task_vma_new || !task->mm)
		return;
	/* Only processes that sent heap or descriptor records have stacks to name. */
	woke = bpf_task_storage_get(&woke_for_process, task->group_leader, 0, 0);
	if (!woke || !*woke)
		return;
	e = bpf_map_lookup_elem(&exit_maps_scratch, &zero);
	if (!e)
		return;
	/* The count lives in the record, not on the stack, where it would be
	 * tracked exactly and the loop checked once per value. */
	e->count = 0;
	bpf_iter_task_vma_new(&it, task, 0);
	while ((vma = bpf_iter_task_vma_next(&it))) {
		struct lt_vma_entry *v;
		struct file *file = vma->vm_file;

		if (!file || !(vma->vm_flags & VM_EXEC))
			continue;
		n = e->count;
		if (n >= LT_EXIT_MAPS_MAX)
			break;
		v = &e->vmas[n];
		v->start = vma->vm_start;
		v->end = vma->vm_end;
		v->file_offset = vma->vm_pgoff << 12;
		v->ino = file->f_inode->i_ino;
		v->dev = file->f_inode->i_sb->s_dev;
		v->pad = 0;
		bpf_probe_read_kernel_str(v->name, sizeof(v->name), file->f_path.dentry->d_name.name);
		e->count = n + 1;
	}
	bpf_iter_task_vma_destroy(&it);
	n = e->count;
	if (!n)
		return;
	fill_hdr(&e->hdr, LT_EV_EXIT_MAPS, tgid);
	e->pad = 0;
	if (n > LT_EXIT_MAPS_MAX)
		n = LT_EXIT_MAPS_MAX;
	if (ring_output(ring_for(tgid), e, LT_EXIT_MAPS_HDR_BYTES + n * sizeof(e->vmas[0]), 0))
		count_drop(LT_DROP_RINGBUF_TASK);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0; /* other threads of the process live on */
	if (!task_event_wanted(tgid))
		return 0;
	emit_exit_maps(task, tgid);
	emit_task(LT_EV_EXIT, tgid, 0, task);
	bpf_map_delete_elem(&traced_tgids, &tgid);
	/* A later process given this PID must have its libraries reported. */
	if (per_process_attach)
		bpf_for_each_map_elem(&known_files, forget_file_of, &tgid, 0);
	return 0;
}

static __always_inline bool has_prefix(const char *s, const char *prefix, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] != prefix[i])
			return false;
	return true;
}

/* glibc: libc.so.6, libc-2.31.so; musl: ld-musl-x86_64.so.1 (its libc). */
static __always_inline bool looks_like_libc(const char *name)
{
	return has_prefix(name, "libc.so", 7) || has_prefix(name, "libc-", 5) ||
	       has_prefix(name, "ld-musl-", 8);
}

static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

/*
 * mmap(PROT_EXEC) of a file, seen at syscall entry. fentry (do_mmap,
 * security_mmap_file) and kprobes need ftrace/CONFIG_KPROBES, which kernels
 * like this project's VMs lack; the raw syscall tracepoint is always there.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(on_mmap_file, struct pt_regs *regs, long id)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lt_file_key key = {};
	struct lt_lib_event *e;
	struct inode *inode;
	struct file *file;
	const unsigned char *name;
	unsigned long prot;
	__u8 one = 1;

	if (id != 9 /* __NR_mmap */)
		return 0;
	prot = BPF_CORE_READ(regs, dx);
	if (!(prot & PROT_EXEC) || !task_event_wanted(tgid))
		return 0;
	file = fd_file((int)BPF_CORE_READ(regs, r8));
	if (!file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	key.pad = per_process_attach ? tgid : 0;
	if (bpf_map_lookup_elem(&known_files, &key))
		return 0;

	e = ring_reserve(ring_for(tgid), sizeof(*e));
	if (!e) {
		count_drop(LT_DROP_RINGBUF_TASK);
		return 0;
	}
	name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(e->name, sizeof(e->name), name) < 0) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	e->is_libc = looks_like_libc(e->name);
	if (!e->is_libc && !report_all_exec_maps) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	/* Report each file once; userspace attaches and keeps the entry. */
	bpf_map_update_elem(&known_files, &key, &one, BPF_NOEXIST);
	fill_hdr(&e->hdr, LT_EV_LIB_MAP, tgid);
	e->dev = key.dev;
	e->ino = key.ino;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

#include "fds.bpf.h"
#include "kmem.bpf.h"
