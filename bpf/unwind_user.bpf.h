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

struct lt_unwind_walk {
	__u64 ip;
	__u64 sp;
	__u64 bp;
	/* The mapping found last: frames of one module come in runs. */
	__u64 vma_start;
	__u64 vma_end;
	__u64 file_base; /* vma_start - file offset of vma_start */
	__u64 ino;       /* 0: anonymous mapping */
	__u32 dev;
	__u32 nframes;
	bool truncated;
};

struct lt_user_frame {
	__u64 next_fp;
	__u64 ret_addr;
};

static long remember_vma(struct task_struct *task, struct vm_area_struct *vma,
			 struct lt_unwind_walk *st)
{
	struct file *file = BPF_CORE_READ(vma, vm_file);

	st->vma_start = BPF_CORE_READ(vma, vm_start);
	st->vma_end = BPF_CORE_READ(vma, vm_end);
	st->file_base = st->vma_start - (BPF_CORE_READ(vma, vm_pgoff) << 12);
	st->ino = 0;
	if (file) {
		st->ino = BPF_CORE_READ(file, f_inode, i_ino);
		st->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
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

/* The row for pc, or NULL when its file has no rules loaded for that page. */
static __always_inline struct lt_unwind_row *find_row(struct lt_unwind_walk *st, __u64 pc)
{
	struct lt_unwind_page_key key = {};
	struct lt_unwind_page *page;
	struct row_search search = {};
	__u32 idx;
	__u64 offset;

	if (pc < st->vma_start || pc >= st->vma_end) {
		st->vma_start = st->vma_end = 0;
		if (bpf_find_vma(bpf_get_current_task_btf(), pc, remember_vma, st, 0) ||
		    pc < st->vma_start || pc >= st->vma_end)
			return NULL;
	}
	if (!st->ino)
		return NULL;
	offset = pc - st->file_base;
	key.ino = st->ino;
	key.dev = st->dev;
	key.page = offset >> LT_UNWIND_PAGE_SHIFT;
	page = bpf_map_lookup_elem(&unwind_pages, &key);
	if (!page)
		return NULL;
	search.first = page->first_row;
	search.right = page->nrows;
	search.target = offset & (LT_UNWIND_PAGE_BYTES - 1);
	/* rows[first] starts at page offset 0: find the last row at or before target. */
	bpf_loop(UNWIND_SEARCH_STEPS, search_step, &search, 0);
	idx = search.first + search.left;
	return bpf_map_lookup_elem(&unwind_rows, &idx);
}

/* One frame up by the frame pointer; false when there is none to follow. */
static __always_inline bool step_by_frame_pointer(struct lt_unwind_walk *st)
{
	struct lt_user_frame fr;

	if (!st->bp || st->bp < st->sp || bpf_probe_read_user(&fr, sizeof(fr), (void *)st->bp))
		return false;
	st->sp = st->bp + sizeof(fr);
	st->ip = fr.ret_addr;
	/* A frame pointer that does not climb the stack is garbage. */
	st->bp = fr.next_fp > st->bp ? fr.next_fp : 0;
	return true;
}

/* One frame up by the rules of .eh_frame. */
static __always_inline int step_by_rules(struct lt_unwind_walk *st, struct lt_unwind_row *row)
{
	__u64 cfa, ra, bp = st->bp;

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
	if (cfa <= st->sp || bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa - 8)))
		return -1;
	if (row->rbp_rule == LT_RBP_AT_CFA) {
		if (bpf_probe_read_user(&bp, sizeof(bp), (void *)(cfa + row->aux)))
			bp = 0;
	} else if (row->rbp_rule == LT_RBP_LOST) {
		bp = 0;
	}
	st->sp = cfa;
	st->bp = bp;
	st->ip = ra;
	return 0;
}

static long unwind_step(__u32 index, struct lt_unwind_walk *st)
{
	struct lt_unwind_row *row;
	__u32 zero = 0;
	__u64 pc;
	struct lt_alloc_event *e = bpf_map_lookup_elem(&scratch, &zero);
	__u32 n;

	(void)index;
	if (!e)
		return 1;
	/* frames[0] holds the exact pc; return addresses point past their call. */
	pc = st->nframes == 1 ? st->ip : st->ip - 1;
	row = find_row(st, pc);
	if (!row || row->cfa_rule == LT_CFA_NONE) {
		if (!step_by_frame_pointer(st))
			return 1;
	} else if (row->cfa_rule == LT_CFA_END || step_by_rules(st, row)) {
		return 1;
	}
	if (!st->ip || st->ip >= (1ULL << 47))
		return 1;
	n = st->nframes;
	if (n >= LT_MAX_FRAMES) {
		st->truncated = true;
		return 1;
	}
	e->frames[n] = st->ip;
	st->nframes = n + 1;
	return 0;
}

/* Unwind from regs into frames, the scratch event's; returns the count. */
static __always_inline __u32 unwind_by_rules(struct pt_regs *regs, __u64 *frames)
{
	struct lt_unwind_walk st = {
		.ip = PT_REGS_IP(regs),
		.sp = PT_REGS_SP(regs),
		.bp = PT_REGS_FP(regs),
		.nframes = 1,
	};

	frames[0] = st.ip;
	bpf_loop(LT_MAX_FRAMES, unwind_step, &st, 0);
	if (st.truncated)
		count_drop(LT_DROP_STACK_TRUNCATED);
	return st.nframes;
}

#endif
