// SPDX-License-Identifier: MIT
#include "session.h"

#include <string.h>

#include "attach/ring_sizer.h"
#include "symbols/kallsyms.h"
#include "leaktrace.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* The main thread must get its turn while lanes keep taking records in:
 * a waiting writer holds new readers back. */
static void init_world_lock(pthread_rwlock_t *lock)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

void lt_session_init(struct lt_session *s, const struct lt_options *o)
{
	memset(s, 0, sizeof(*s));
	s->opts = o;
	s->out = stdout;
	s->stats.max_allocs = o->max_allocs;
	s->stats.max_stacks = o->max_stacks;
	s->mode = o->kernel ? LT_MODE_KERNEL : o->command ? LT_MODE_COMMAND : o->npids ? LT_MODE_PIDS :
		  o->cgroup_path ? LT_MODE_CGROUP : LT_MODE_SYSTEM;
	s->cgroup.dir_fd = -1;
	lt_procs_init(&s->procs);
	lt_kernel_init(&s->kernel);
	lt_module_cache_init(&s->modules);
	lt_module_cache_set_limit(&s->modules, o->symbol_cache_bytes);
	s->start_ns = lt_now_ns();
	/* Blocks are seen from here on: packed times count from now. */
	lt_live_set_epoch(s->start_ns);
	s->nlanes = 1;
	for (uint32_t i = 0; i < LT_MAX_LANES; i++) {
		s->lanes[i].s = s;
		s->lanes[i].index = i;
		s->lanes[i].stats = &s->stats;
	}
	pthread_mutex_init(&s->slow_lock, NULL);
	init_world_lock(&s->world);
}

/* The kernel's count of skipped runs of the kmem programs. */
static uint64_t kernel_missed_runs(const struct lt_session *s)
{
	const struct bpf_program *progs[] = {
		s->skel->progs.on_kmalloc, s->skel->progs.on_kmem_cache_alloc,
		s->skel->progs.on_kfree, s->skel->progs.on_kmem_cache_free,
		s->skel->progs.on_percpu_alloc, s->skel->progs.on_percpu_free,
		s->skel->progs.on_page_alloc, s->skel->progs.on_page_free,
		s->skel->progs.on_page_free_batched,
	};
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		/* Programs not loaded this run have no descriptor. */
		if (bpf_program__fd(progs[i]) >= 0 &&
		    !bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &info, &len))
			n += info.recursion_misses;
	}
	return n;
}

void lt_session_read_drops(struct lt_session *s)
{
	if (s->opts->kernel && s->skel)
		s->stats.kernel_missed_runs = kernel_missed_runs(s);
	for (uint32_t k = 0; k < LT_DROP_MAX; k++)
		lt_map_read_counter(&s->maps, LT_MAP_DROPS, k, &s->stats.drops[k]);
	s->stats.ringbuf_bytes = s->stats.ringbuf_resizes = 0;
	for (uint32_t i = 0; i < s->nlanes; i++) {
		s->stats.ringbuf_bytes += lt_ring_sizer_bytes(s->lanes[i].ring);
		s->stats.ringbuf_resizes += lt_ring_sizer_resizes(s->lanes[i].ring);
	}
}

void lt_session_free(struct lt_session *s)
{
	lt_procs_free(&s->procs);
	lt_kernel_free(&s->kernel);
	lt_growth_free(&s->kernel_stacks_growth);
	lt_growth_free(&s->kernel_caches_growth);
	lt_kallsyms_free(s->ksyms);
	s->ksyms = NULL;
	lt_cgroup_ids_free(&s->kernel_cgroups);
	lt_module_cache_free(&s->modules);
	lt_growth_table_free(&s->growth);
	pthread_mutex_destroy(&s->slow_lock);
	pthread_rwlock_destroy(&s->world);
}
