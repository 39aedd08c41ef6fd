/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * User-stack unwinding for code built without frame pointers (Debian's
 * libraries and default builds): each frame's return address is found with
 * the rules userspace derived from the file's .eh_frame (src/unwind_table.c),
 * looked up by (file, page of file offset) and a binary search in the page.
 * Where a file has no rules, the frame pointer is followed instead.
 *
 * Included by leaktrace.bpf.c; needs its scratch map and count_drop().
 */
#ifndef LT_UNWIND_USER_BPF_H
#define LT_UNWIND_USER_BPF_H

/* --unwind dwarf: follow .eh_frame rules; otherwise frame pointers only. */
const volatile bool dwarf_unwind = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 17); /* resized by userspace */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lt_unwind_page_key);
	__type(value, struct lt_unwind_page);
} unwind_pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 21); /* resized by userspace */
	__type(key, __u32);
	__type(value, struct lt_unwind_row);
} unwind_rows SEC(".maps");

/* Rows in a 4 KiB page are fewer than 2^13: a row per 1-byte change at most. */
#define UNWIND_SEARCH_STEPS 13

/* Bumped by userspace each time it loads a file's rules: rules cached as
 * "none" may exist now. */
volatile __u32 unwind_tables_gen = 0;

/*
 * Per-thread cache of the rule found for each recent pc. Finding it costs
 * a bpf_find_vma (~250 ns here), a hash lookup and a bisection; a thread
 * allocating in a loop asks for the same few pcs again and again. A pc's
 * rule depends only on what is mapped there, so the cache is valid while
 * the address space's mapping sequence count (mm->mm_lock_seq, bumped by
 * every mmap/munmap/brk under the write lock) and the table generation stay
 * what they were.
 */
#define UNWIND_CACHE_SLOTS 32

struct lt_unwind_cache_slot {
	__u64 pc;
	__u32 epoch; /* the cache's epoch when filled; older ones are stale */
	struct lt_unwind_row row;
};

struct lt_unwind_cache {
	__u64 mm;
	__u32 mm_seq;
	__u32 tables_gen;
	__u32 epoch;
	struct lt_unwind_cache_slot slots[UNWIND_CACHE_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lt_unwind_cache);
} unwind_caches SEC(".maps");

/* The registers of the frame reached, and what the global functions below
 * read and change (the verifier forgets what was in memory they are given:
 * the cache pointer is kept outside it). */
struct lt_unwind_regs {
	__u64 ip;
	__u64 sp;
	__u64 bp;
	/* The mapping found last: frames of one module come in runs. */
	__u64 vma_start;
	__u64 vma_end;
	__u64 file_base; /* vma_start - file offset of vma_start */
	__u64 ino;       /* 0: anonymous mapping */
	__u32 dev;
	__u32 pad;
	__u64 trampoline; /* uretprobe trampoline: return addresses to look up */
};

struct lt_unwind_walk {
	struct lt_unwind_regs r;
	__u32 nframes;
	struct lt_unwind_cache *cache; /* NULL: mappings are changing right now */
};

/*
 * The file mappings last seen in each address space. bpf_find_vma gives up
 * (-EBUSY) while another thread holds the mmap lock, which a program
 * starting threads does all the time (each new stack is mapped and its
 * guard page protected): 10-20 % of the stacks of 100 threads starting at
 * once ended early. A mapping seen before stands in until it can be looked
 * up again; code comes from a few files, so a few slots hold them.
 */
#define VMA_SEEN_SLOTS 8

struct lt_vma_seen {
	__u64 vma_start;
	__u64 vma_end;
	__u64 file_base;
	__u64 ino;
	__u64 dev;
	__u64 check; /* of the fields above: a slot half rewritten by another CPU fails it */
};

struct lt_vma_seen_set {
	struct lt_vma_seen slot[VMA_SEEN_SLOTS];
	__u32 next;
};

/* A set's first value: too big for the BPF stack. Never written. */
static struct lt_vma_seen_set vmas_seen_empty;

struct lt_vma_seen_key {
	__u64 mm;
	__u32 tgid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct lt_vma_seen_key);
	__type(value, struct lt_vma_seen_set);
} vmas_seen SEC(".maps");

struct lt_user_frame {
	__u64 next_fp;
	__u64 ret_addr;
};

/* Return probes nest (malloc inside PyType_GenericAlloc, both probed). */
#define RETURN_PROBES_SEARCHED 8

/* The address the kernel's return-probe trampoline runs at in this process. */
static __always_inline __u64 uretprobe_trampoline(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct xol_area *area;

	if (!task->mm)
		return 0;
	area = task->mm->uprobes_state.xol_area;
	return area ? area->vaddr : 0;
}

/*
 * A function with a return probe (ours, or anyone's) has its return address
 * replaced by the trampoline's. The kernel keeps the real one, with the
 * stack slot it came from, in the thread's list of pending returns.
 */
static __always_inline __u64 real_return_address(__u64 ra, __u64 slot, __u64 trampoline)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct return_instance *ri;

	if (!trampoline || ra != trampoline || !task->utask)
		return ra;
	ri = task->utask->return_instances;
	for (int i = 0; i < RETURN_PROBES_SEARCHED && ri; i++) {
		if (ri->stack == slot)
			return ri->orig_ret_vaddr;
		ri = ri->next;
	}
	return ra;
}

/* What bpf_find_vma's callback fills: its context must be on the stack. */
struct lt_vma_found {
	__u64 vma_start;
	__u64 vma_end;
	__u64 file_base;
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

static long remember_vma(struct task_struct *task, struct vm_area_struct *vma,
			 struct lt_vma_found *st)
{
	/* Trusted BTF pointers: plain loads, no probe-read helper calls. */
	struct file *file = vma->vm_file;
	struct inode *inode;

	st->vma_start = vma->vm_start;
	st->vma_end = vma->vm_end;
	st->file_base = st->vma_start - (vma->vm_pgoff << 12);
	st->ino = 0;
	if (file) {
		inode = file->f_inode;
		st->ino = inode->i_ino;
		st->dev = inode->i_sb->s_dev;
	}
	return 0;
}

struct row_search {
	__u32 first;  /* the page's first row */
	__u32 left;   /* rows[first + left] starts at or before target */
	__u32 right;  /* rows[first + right] starts after it (or is past the page) */
	__u32 target; /* offset in the page */
};

/* One bisection step; a callback, so the verifier checks it once rather
 * than every path through a dozen unrolled comparisons. */
static long search_step(__u32 index, struct row_search *s)
{
	struct lt_unwind_row *row;
	__u32 mid, idx;

	(void)index;
	if (s->right - s->left <= 1)
		return 1;
	mid = s->left + (s->right - s->left) / 2;
	idx = s->first + mid;
	row = bpf_map_lookup_elem(&unwind_rows, &idx);
	if (!row)
		return 1;
	if (row->page_offset <= s->target)
		s->left = mid;
	else
		s->right = mid;
	return 0;
}

static __always_inline __u64 vma_check(const struct lt_vma_seen *v)
{
	return (v->vma_start ^ (v->vma_end << 1) ^ (v->file_base << 2) ^ (v->ino << 3) ^
		(v->dev << 4)) + 0x9e3779b97f4a7c15ULL;
}

/* The mapping in st, among those seen (unless it is there already). */
static __always_inline void note_vma(struct lt_vma_seen_set *set, const struct lt_unwind_regs *st)
{
	struct lt_vma_seen v = { st->vma_start, st->vma_end, st->file_base, st->ino, st->dev };
	__u32 i;

	for (i = 0; i < VMA_SEEN_SLOTS; i++)
		if (set->slot[i].vma_start == v.vma_start && set->slot[i].ino == v.ino &&
		    set->slot[i].vma_end == v.vma_end)
			return;
	v.check = vma_check(&v);
	i = set->next++ % VMA_SEEN_SLOTS;
	set->slot[i] = v;
}

/* A mapping seen before that holds pc, into st; false if none. */
static __always_inline bool recall_vma(const struct lt_vma_seen_set *set, __u64 pc,
				       struct lt_unwind_regs *st)
{
	for (__u32 i = 0; i < VMA_SEEN_SLOTS; i++) {
		struct lt_vma_seen v = set->slot[i];

		if (pc < v.vma_start || pc >= v.vma_end || !v.ino || v.check != vma_check(&v))
			continue;
		st->vma_start = v.vma_start;
		st->vma_end = v.vma_end;
		st->file_base = v.file_base;
		st->ino = v.ino;
		st->dev = (__u32)v.dev;
		return true;
	}
	return false;
}

enum find_result {
	FOUND,   /* *out is the rule */
	NO_RULE, /* nothing loaded for pc's file and page (LT_CFA_NONE in *out) */
	UNKNOWN, /* the mapping could not be looked up now */
};

static __always_inline enum find_result find_row(struct lt_unwind_regs *st, __u64 pc,
						 struct lt_unwind_row *out)
{
	struct lt_unwind_page_key key = {};
	struct lt_unwind_page *page;
	struct lt_unwind_row *row;
	struct row_search search = {};
	__u32 idx;
	__u64 offset;

	*out = (struct lt_unwind_row){ .cfa_rule = LT_CFA_NONE };
	if (pc < st->vma_start || pc >= st->vma_end) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct lt_vma_seen_key vk = { .mm = (__u64)task->mm, .tgid = task->tgid };
		struct lt_vma_seen_set *seen = bpf_map_lookup_elem(&vmas_seen, &vk);
		struct lt_vma_found found = {};

		st->vma_start = st->vma_end = 0;
		/* -EBUSY when another thread holds the mmap lock. */
		if (bpf_find_vma(task, pc, remember_vma, &found, 0)) {
			if (!seen || !recall_vma(seen, pc, st))
				return UNKNOWN;
		} else {
			st->vma_start = found.vma_start;
			st->vma_end = found.vma_end;
			st->file_base = found.file_base;
			st->ino = found.ino;
			st->dev = found.dev;
		}
		if (found.vma_end && st->ino) {
			if (!seen) {
				bpf_map_update_elem(&vmas_seen, &vk, &vmas_seen_empty, BPF_NOEXIST);
				seen = bpf_map_lookup_elem(&vmas_seen, &vk);
			}
			if (seen)
				note_vma(seen, st);
		}
		if (pc < st->vma_start || pc >= st->vma_end)
			return NO_RULE;
	}
	if (!st->ino)
		return NO_RULE;
	offset = pc - st->file_base;
	key.ino = st->ino;
	key.dev = st->dev;
	key.page = offset >> LT_UNWIND_PAGE_SHIFT;
	page = bpf_map_lookup_elem(&unwind_pages, &key);
	if (!page)
		return NO_RULE;
	search.first = page->first_row;
	search.right = page->nrows;
	search.target = offset & (LT_UNWIND_PAGE_BYTES - 1);
	/* rows[first] starts at page offset 0: find the last row at or before target. */
	bpf_loop(UNWIND_SEARCH_STEPS, search_step, &search, 0);
	idx = search.first + search.left;
	row = bpf_map_lookup_elem(&unwind_rows, &idx);
	if (!row)
		return NO_RULE;
	*out = *row;
	/* Between two functions of a file with rules: told apart from a file
	 * or page with none, where the frame pointer is worth a try. */
	if (out->cfa_rule == LT_CFA_NONE)
		out->cfa_rule = LT_CFA_GAP;
	return FOUND;
}

/*
 * Global functions: the verifier checks each once, on its own, rather than
 * at every call site and for every state the frame walk's loop reaches
 * (that made alloc_return take 1.2-2 s to verify, at every start).
 */
__noinline int lt_unwind_find(struct lt_unwind_regs *st, __u64 pc, struct lt_unwind_row *out)
{
	if (!st || !out)
		return UNKNOWN;
	return find_row(st, pc, out);
}

static __always_inline __u32 cache_slot(__u64 pc)
{
	return (pc ^ (pc >> 6) ^ (pc >> 13)) & (UNWIND_CACHE_SLOTS - 1);
}

/* The rule for pc, from the cache or found (and cached); false if unknown. */
static __always_inline bool rule_for(struct lt_unwind_walk *w, __u64 pc,
				     struct lt_unwind_row *out)
{
	struct lt_unwind_cache *cache = w->cache;
	struct lt_unwind_cache_slot *slot = NULL;
	enum find_result res;

	if (cache) {
		slot = &cache->slots[cache_slot(pc)];
		if (slot->pc == pc && slot->epoch == cache->epoch) {
			*out = slot->row;
			return true;
		}
	}
	res = lt_unwind_find(&w->r, pc, out);
	if (res == UNKNOWN)
		return false;
	if (slot) {
		slot->pc = pc;
		slot->epoch = cache->epoch;
		slot->row = *out;
	}
	return true;
}

/* This thread's cache, emptied if the address space or the tables changed. */
static __always_inline struct lt_unwind_cache *current_cache(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct lt_unwind_cache *cache;
	struct mm_struct *mm = task->mm;
	__u32 seq, gen = unwind_tables_gen;

	if (!mm || !bpf_core_field_exists(mm->mm_lock_seq))
		return NULL;
	seq = mm->mm_lock_seq.sequence;
	if (seq & 1) /* a writer is changing the mappings */
		return NULL;
	cache = bpf_task_storage_get(&unwind_caches, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cache)
		return NULL;
	if (cache->mm != (__u64)mm || cache->mm_seq != seq || cache->tables_gen != gen) {
		cache->mm = (__u64)mm;
		cache->mm_seq = seq;
		cache->tables_gen = gen;
		cache->epoch++;
	}
	return cache;
}

/* One frame up by the frame pointer; false when there is none to follow. */
static __always_inline bool step_by_frame_pointer(struct lt_unwind_regs *st)
{
	struct lt_user_frame fr;

	if (!st->bp || st->bp < st->sp || bpf_probe_read_user(&fr, sizeof(fr), (void *)st->bp))
		return false;
	st->sp = st->bp + sizeof(fr);
	st->ip = real_return_address(fr.ret_addr, st->bp + 8, st->trampoline);
	/* A frame pointer that does not climb the stack is garbage. */
	st->bp = fr.next_fp > st->bp ? fr.next_fp : 0;
	return true;
}

/* One frame up by the rules of .eh_frame (a global function, as above). */
__noinline int lt_unwind_step_rules(struct lt_unwind_regs *st, struct lt_unwind_row *row)
{
	__u64 cfa, ra, bp;

	if (!st || !row)
		return -1;
	bp = st->bp;

	switch (row->cfa_rule) {
	case LT_CFA_RSP:
		cfa = st->sp + row->cfa_offset;
		break;
	case LT_CFA_RBP:
		if (!st->bp)
			return -1;
		cfa = st->bp + row->cfa_offset;
		break;
	case LT_CFA_PLT:
		cfa = st->sp + row->cfa_offset + ((st->ip & 15) >= (__u64)row->aux ? 8 : 0);
		break;
	default:
		return -1;
	}
	if (cfa <= st->sp)
		return -1;
	if (row->rbp_rule == LT_RBP_AT_CFA && row->aux == -16) {
		/* push %rbp right after the call: one read for both. */
		struct lt_user_frame fr;

		if (bpf_probe_read_user(&fr, sizeof(fr), (void *)(cfa - 16)))
			return -1;
		bp = fr.next_fp;
		ra = fr.ret_addr;
	} else if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa - 8))) {
		return -1;
	} else if (row->rbp_rule == LT_RBP_AT_CFA) {
		if (bpf_probe_read_user(&bp, sizeof(bp), (void *)(cfa + row->aux)))
			bp = 0;
	} else if (row->rbp_rule == LT_RBP_LOST) {
		bp = 0;
	}
	st->sp = cfa;
	st->bp = bp;
	st->ip = real_return_address(ra, cfa - 8, st->trampoline);
	return 0;
}

/*
 * Frame index + 1 comes from bpf_loop's index, which the verifier knows only
 * as a bounded unknown: a counter kept in st would be tracked exactly and
 * make it check the callback once per value.
 */
static long unwind_step(__u32 index, struct lt_unwind_walk *w)
{
	struct lt_unwind_regs *st = &w->r;
	struct lt_unwind_row row = {};
	__u32 zero = 0, n = index + 1;
	__u64 pc;
	struct lt_alloc_event *e = bpf_map_lookup_elem(&scratch, &zero);

	if (!e || n >= LT_MAX_FRAMES)
		return 1;
	/* frames[0] holds the exact pc; return addresses point past their call. */
	pc = index == 0 ? st->ip : st->ip - 1;
	/*
	 * A return address whose byte before lies between two functions did
	 * not follow a call: it was pushed as the start of a function, as
	 * makecontext pushes __start_context for a coroutine's function to
	 * return to. The chain ends there; what follows in memory is not
	 * callers (it led to garbage, or to _start past main).
	 */
	if (!rule_for(w, pc, &row) || row.cfa_rule == LT_CFA_NONE ||
	    (row.cfa_rule == LT_CFA_GAP && index == 0)) {
		if (!step_by_frame_pointer(st))
			return 1;
	} else if (row.cfa_rule == LT_CFA_END || row.cfa_rule == LT_CFA_GAP ||
		   lt_unwind_step_rules(st, &row)) {
		return 1;
	}
	if (!st->ip || st->ip >= (1ULL << 47))
		return 1;
	/* Checked again on the register used for the store, which clang
	 * would otherwise take from a copy the verifier cannot bound. */
	asm volatile("" : "+r"(n));
	if (n >= LT_MAX_FRAMES)
		return 1;
	e->frames[n] = st->ip;
	w->nframes = n + 1;
	return 0;
}

/* Unwind from regs into frames, the scratch event's; returns the count. */
static __always_inline __u32 unwind_by_rules(struct pt_regs *regs, __u64 *frames)
{
	struct lt_unwind_walk st = {
		.r = {
			.ip = PT_REGS_IP(regs),
			.sp = PT_REGS_SP(regs),
			.bp = PT_REGS_FP(regs),
			.trampoline = uretprobe_trampoline(),
		},
		.nframes = 1,
		.cache = current_cache(),
	};

	frames[0] = st.r.ip;
	/* Every step ran and filled the last slot: there may have been more. */
	if (bpf_loop(LT_MAX_FRAMES - 1, unwind_step, &st, 0) == LT_MAX_FRAMES - 1 &&
	    st.nframes == LT_MAX_FRAMES)
		count_drop(LT_DROP_STACK_TRUNCATED);
	return st.nframes;
}

#endif
