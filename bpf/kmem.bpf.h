/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * --kernel: kernel memory through the kmem tracepoints, as BTF-typed raw
 * tracepoints (no tracefs, no trampoline). kmalloc and kfree run millions
 * of times a second on a busy host, so everything that can refuse an
 * object does so before any copying: our own process, the cgroup, the
 * cache, the size, the sample. A recorded object's address goes into
 * klive; a free is sent only when it takes an address out of it, so the
 * frees of objects made before tracing (or not sampled) cost one failed
 * hash delete and no record.
 */
#ifndef LT_KMEM_BPF_H
#define LT_KMEM_BPF_H

/* --kernel with --cgroup: only tasks in this cgroup (id) or below, whose
 * ancestor at cgroup_level it is; 0: every task. */
const volatile __u64 kernel_cgroup_id = 0;
const volatile __u32 kernel_cgroup_level = 0;
/* --kernel-cache: a named cache (kcache_name, kcache_len bytes with the
 * NUL), or a kmalloc cache (kcache_kmalloc_size bytes of kcache_kmalloc_type);
 * kcache_filter 0: every cache. */
const volatile __u32 kcache_filter = 0;
const volatile char kcache_name[LT_KCACHE_NAME_LEN] = {};
const volatile __u32 kcache_len = 0;
const volatile __u64 kcache_kmalloc_size = 0;
const volatile __u32 kcache_kmalloc_type = 0;

/* The largest kmalloc cache (2 pages); larger requests get pages. */
#define LT_KMALLOC_MAX_CACHE_BYTES 8192

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LT_KLIVE_MAX_ENTRIES);
	/*
	 * Preallocated: BPF's allocator for the other kind refills and frees
	 * its entries in irq_work raised inside the map operation, which then
	 * runs (with the softirqs pending, RCU callbacks freeing thousands of
	 * objects) nested in this program, where the kernel skips these
	 * programs: those frees were lost.
	 */
	__type(key, struct lt_klive_key);
	__type(value, __u8);
} klive SEC(".maps");

/*
 * Call sites whose objects are left out: BPF's own allocator, refilling
 * its caches (from irq_work) for the klive entries this very program
 * adds, would otherwise feed itself. [lo, hi) ranges, from kallsyms.
 */
const volatile __u64 kskip_lo[LT_KSKIP_SITES] = {};
const volatile __u64 kskip_hi[LT_KSKIP_SITES] = {};

static __always_inline bool skipped_site(__u64 call_site)
{
	for (int i = 0; i < LT_KSKIP_SITES; i++)
		if (call_site >= kskip_lo[i] && call_site < kskip_hi[i])
			return true;
	return false;
}

/* Also deeper down: the allocator's refill can grow a slab, whose own
 * metadata is kmalloc'd from the slab code, not from the refill. */
static __always_inline bool stack_skipped(const __u64 *frames, __u32 nframes)
{
	if (!kskip_lo[0])
		return false;
	for (__u32 i = 0; i < LT_KSTACK_MAX && i < nframes; i++)
		if (skipped_site(frames[i]))
			return true;
	return false;
}

static __always_inline bool kernel_task_wanted(void)
{
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return false;
	if (kernel_cgroup_id &&
	    bpf_get_current_ancestor_cgroup_id(kernel_cgroup_level) != kernel_cgroup_id)
		return false;
	return true;
}

static __always_inline bool kernel_size_wanted(__u64 size_bytes)
{
	if (size_bytes < min_size_bytes || size_bytes > max_size_bytes)
		return false;
	return !sample_bytes || sample_block(size_bytes);
}

static __always_inline __u32 kmalloc_type_of(gfp_t gfp, __u64 bytes_alloc)
{
	if (bytes_alloc > LT_KMALLOC_MAX_CACHE_BYTES)
		return LT_KMALLOC_LARGE;
	if (!(gfp & ((1u << ___GFP_DMA_BIT) | (1u << ___GFP_RECLAIMABLE_BIT) |
		     (1u << ___GFP_ACCOUNT_BIT))))
		return LT_KMALLOC_NORMAL;
	if (gfp & (1u << ___GFP_DMA_BIT))
		return LT_KMALLOC_DMA;
	if (gfp & (1u << ___GFP_RECLAIMABLE_BIT))
		return LT_KMALLOC_RCL;
	return LT_KMALLOC_CG;
}

static __always_inline bool same_cache_name(const char *name)
{
	for (int i = 0; i < LT_KCACHE_NAME_LEN; i++) {
		if (i >= kcache_len)
			return true;
		if (name[i] != kcache_name[i])
			return false;
	}
	return kcache_len <= LT_KCACHE_NAME_LEN;
}

/*
 * The record is reserved before the address goes into klive: a free on
 * another CPU that finds the address reserves its own record after this
 * one, so the consumer never sees an object freed before it was made.
 */
static __always_inline void emit_kalloc(void *ctx, __u16 func, __u32 kclass, __u32 ktype,
					__u64 addr, __u64 size_bytes, const char *cache)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct lt_klive_key key = { .addr = addr, .kclass = kclass };
	void *ring = ring_for(0);
	struct lt_kalloc_event *e;
	long n;
	__u8 one = 1;

	e = ring_reserve(ring, sizeof(*e));
	if (!e) {
		count_drop(LT_DROP_RINGBUF_ALLOC);
		return;
	}
	n = bpf_get_stack(ctx, e->frames, sizeof(e->frames), 0);
	e->nframes = n > 0 ? n / sizeof(__u64) : 0;
	if (stack_skipped(e->frames, e->nframes)) {
		bpf_ringbuf_discard(e, 0);
		return;
	}
	if (bpf_map_update_elem(&klive, &key, &one, BPF_ANY)) {
		count_drop(LT_DROP_KERNEL_LIVE_FULL);
		bpf_ringbuf_discard(e, 0);
		return;
	}
	fill_hdr(&e->hdr, LT_EV_KALLOC, id >> 32);
	e->tid = (__u32)id;
	e->func = func;
	e->kclass = kclass;
	e->kmalloc_type = ktype;
	e->addr = addr;
	e->size_bytes = size_bytes;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->cache[0] = '\0';
	if (cache)
		bpf_probe_read_kernel_str(e->cache, sizeof(e->cache), cache);
	e->pad = 0;
	if (n == sizeof(e->frames))
		count_drop(LT_DROP_STACK_TRUNCATED);
	bpf_ringbuf_submit(e, ring_wakeup_due(ring));
}

static __always_inline void emit_kfree(__u64 addr, __u32 kclass)
{
	struct lt_klive_key key = { .addr = addr, .kclass = kclass };
	void *ring = ring_for(0);
	struct lt_kfree_event *e;

	if (bpf_map_delete_elem(&klive, &key))
		return;
	e = ring_reserve(ring, sizeof(*e));
	if (!e) {
		count_drop(LT_DROP_RINGBUF_FREE);
		return;
	}
	fill_hdr(&e->hdr, LT_EV_KFREE, bpf_get_current_pid_tgid() >> 32);
	e->addr = addr;
	e->kclass = kclass;
	e->pad = 0;
	bpf_ringbuf_submit(e, ring_wakeup_due(ring));
}

SEC("tp_btf/kmalloc")
int BPF_PROG(on_kmalloc, unsigned long call_site, const void *ptr, size_t bytes_req,
	     size_t bytes_alloc, gfp_t gfp_flags, int node)
{
	__u32 ktype;

	if (!ptr || skipped_site(call_site) || !kernel_task_wanted())
		return 0;
	ktype = kmalloc_type_of(gfp_flags, bytes_alloc);
	if (kcache_filter && (!kcache_kmalloc_size || kcache_kmalloc_size != bytes_alloc ||
			      kcache_kmalloc_type != ktype))
		return 0;
	if (!kernel_size_wanted(bytes_alloc))
		return 0;
	emit_kalloc(ctx, LT_KFUNC_KMALLOC, LT_KCLASS_SLAB, ktype, (__u64)ptr, bytes_alloc, NULL);
	return 0;
}

SEC("tp_btf/kmem_cache_alloc")
int BPF_PROG(on_kmem_cache_alloc, unsigned long call_site, const void *ptr, struct kmem_cache *s,
	     gfp_t gfp_flags, int node)
{
	char name[LT_KCACHE_NAME_LEN];
	const char *cache;

	if (!ptr || !s || skipped_site(call_site) || !kernel_task_wanted())
		return 0;
	cache = BPF_CORE_READ(s, name);
	if (kcache_filter) {
		if (kcache_kmalloc_size ||
		    bpf_probe_read_kernel_str(name, sizeof(name), cache) < 0 ||
		    !same_cache_name(name))
			return 0;
	}
	if (!kernel_size_wanted(BPF_CORE_READ(s, size)))
		return 0;
	emit_kalloc(ctx, LT_KFUNC_CACHE_ALLOC, LT_KCLASS_SLAB, 0, (__u64)ptr,
		    BPF_CORE_READ(s, size), cache);
	return 0;
}

SEC("tp_btf/kfree")
int BPF_PROG(on_kfree, unsigned long call_site, const void *ptr)
{
	if (ptr)
		emit_kfree((__u64)ptr, LT_KCLASS_SLAB);
	return 0;
}

SEC("tp_btf/kmem_cache_free")
int BPF_PROG(on_kmem_cache_free, unsigned long call_site, const void *ptr,
	     const struct kmem_cache *s)
{
	if (ptr)
		emit_kfree((__u64)ptr, LT_KCLASS_SLAB);
	return 0;
}

/* Per-CPU areas: the percpu pointer is the object; its bytes are for
 * every CPU. Not as hot as kmalloc: always traced with --kernel. */
SEC("tp_btf/percpu_alloc_percpu")
int BPF_PROG(on_percpu_alloc, unsigned long call_site, bool reserved, bool is_atomic, size_t size,
	     size_t align, void *base_addr, int off, void *ptr, size_t bytes_alloc, gfp_t gfp_flags)
{
	if (!ptr || skipped_site(call_site) || !kernel_task_wanted() ||
	    !kernel_size_wanted(bytes_alloc))
		return 0;
	emit_kalloc(ctx, LT_KFUNC_PERCPU_ALLOC, LT_KCLASS_PERCPU, 0, (__u64)ptr, bytes_alloc, NULL);
	return 0;
}

SEC("tp_btf/percpu_free_percpu")
int BPF_PROG(on_percpu_free, void *base_addr, int off, void *ptr)
{
	if (ptr)
		emit_kfree((__u64)ptr, LT_KCLASS_PERCPU);
	return 0;
}

/* Pages (--kernel-pages): the page cache and every anonymous fault come
 * through here, far more than slab objects. The order is the record's
 * kmalloc_type, for the name. */
SEC("tp_btf/mm_page_alloc")
int BPF_PROG(on_page_alloc, struct page *page, unsigned int order, gfp_t gfp_flags, int migratetype)
{
	__u64 size_bytes = 4096ULL << (order & 31);

	if (!page || !kernel_task_wanted() || !kernel_size_wanted(size_bytes))
		return 0;
	emit_kalloc(ctx, LT_KFUNC_PAGE_ALLOC, LT_KCLASS_PAGE, order, (__u64)page, size_bytes, NULL);
	return 0;
}

SEC("tp_btf/mm_page_free")
int BPF_PROG(on_page_free, struct page *page, unsigned int order)
{
	if (page)
		emit_kfree((__u64)page, LT_KCLASS_PAGE);
	return 0;
}

/* Folios freed in batches (munmap, reclaim) come through here instead. */
SEC("tp_btf/mm_page_free_batched")
int BPF_PROG(on_page_free_batched, struct page *page)
{
	if (page)
		emit_kfree((__u64)page, LT_KCLASS_PAGE);
	return 0;
}

#endif /* LT_KMEM_BPF_H */
