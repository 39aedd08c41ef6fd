// SPDX-License-Identifier: MIT
#include "attach/tracer.h"
#include "session.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "symbols/elf_file.h"
#include "symbols/frame_resolver.h"
#include "python/python_attach.h"
#include "leaktrace.skel.h"
#include "consume/sampling.h"
#include "unwind/unwind_loader.h"
#include "attach/verifier_stats.h"
#include "attach/ring_sizer.h"
#include "attach/kernel_caches.h"

int lt_tracer_validate_targets(const struct lt_options *o, char *err, size_t errlen)
{
	for (size_t i = 0; i < o->npids; i++) {
		if (kill(o->pids[i], 0) && errno == ESRCH) {
			snprintf(err, errlen, "no such process: %d", (int)o->pids[i]);
			return -ESRCH;
		}
	}
	for (size_t i = 0; i < o->nobjs; i++) {
		struct lt_elf_file *ef;
		struct lt_elf_symbol sym;
		int ret = lt_elf_open_path(o->objs[i], &ef);

		if (ret) {
			snprintf(err, errlen, "-O %s: %s", o->objs[i],
				 ret == -ENOEXEC ? "not an ELF file" : strerror(-ret));
			return ret;
		}
		ret = lt_elf_find_function(ef, "malloc", &sym);
		lt_elf_close(ef);
		if (ret) {
			snprintf(err, errlen, "-O %s: no malloc function symbol", o->objs[i]);
			return -ESRCH;
		}
	}
	return 0;
}

static int set_traced(struct lt_session *s, pid_t pid)
{
	__u32 key = (__u32)pid;
	__u8 one = 1;

	return lt_map_update(&s->maps, LT_MAP_TRACED_TGIDS, &key, sizeof(key), &one, sizeof(one));
}

static void mark_known(struct lt_session *s, uint32_t kdev, uint64_t ino, pid_t pid)
{
	struct lt_file_key key = { .ino = ino, .dev = kdev, .pad = pid > 0 ? (__u32)pid : 0 };
	__u8 one = 1;

	lt_map_update(&s->maps, LT_MAP_KNOWN_FILES, &key, sizeof(key), &one, sizeof(one));
}

/* Pages hold ~100 rows on average (libc: 28,600 rows in 342 pages). */
static uint32_t unwind_pages_for(uint32_t rows)
{
	return rows / 16 > 1024 ? rows / 16 : 1024;
}

static void request_unwind_table(void *ctx, struct lt_module *mod)
{
	struct lt_session *s = ctx;

	lt_unwind_loader_request(s->unwind, mod->fd, (mod->dev_major << 20) | mod->dev_minor,
				 mod->inode);
}

static int start_unwind_loader(struct lt_session *s)
{
	int err;

	if (!s->opts->unwind_dwarf)
		return 0;
	err = lt_unwind_loader_start(&s->maps, bpf_map__max_entries(s->skel->maps.unwind_pages),
				     bpf_map__max_entries(s->skel->maps.unwind_rows),
				     &s->skel->bss->unwind_tables_gen, &s->unwind);
	if (err)
		return err;
	s->modules.on_open = request_unwind_table;
	s->modules.on_open_ctx = s;
	return 0;
}

_Static_assert(LT_KCACHE_NAME_MAX == LT_KCACHE_NAME_LEN, "--kernel-cache and BPF agree");

/* The kmem programs: loaded only for --kernel (a kernel without these
 * tracepoints still traces heaps), allocations first. */
static struct bpf_program **kernel_programs(struct leaktrace_bpf *skel, size_t *n)
{
	static struct bpf_program *progs[9];

	progs[0] = skel->progs.on_kmalloc;
	progs[1] = skel->progs.on_kmem_cache_alloc;
	progs[2] = skel->progs.on_percpu_alloc;
	progs[3] = skel->progs.on_page_alloc;
	progs[4] = skel->progs.on_kfree;
	progs[5] = skel->progs.on_kmem_cache_free;
	progs[6] = skel->progs.on_percpu_free;
	progs[7] = skel->progs.on_page_free;
	progs[8] = skel->progs.on_page_free_batched;
	*n = 9;
	return progs;
}

/* Which of them this run wants: a cache filter names a slab cache, so
 * neither per-CPU areas nor pages; pages only with --kernel-pages. */
static bool kernel_program_wanted(const struct lt_options *o, const struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog);

	if (!o->kernel)
		return false;
	if (!strncmp(name, "on_percpu_", 10))
		return !o->kernel_cache;
	if (!strncmp(name, "on_page_", 8))
		return o->kernel_pages && !o->kernel_cache;
	return true;
}

/* --kernel's settings in BPF: cgroup, cache, table size. */
static void set_kernel_config(struct lt_session *s)
{
	const struct lt_options *o = s->opts;
	struct leaktrace_bpf *skel = s->skel;
	struct bpf_program **progs;
	size_t n;

	/* --kernel attaches nothing else: the uprobe and scheduler programs
	 * are not even verified (a second of start-up saved). */
	if (o->kernel) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, skel->obj)
			bpf_program__set_autoload(prog, false);
	}
	progs = kernel_programs(skel, &n);
	for (size_t i = 0; i < n; i++)
		bpf_program__set_autoload(progs[i], kernel_program_wanted(o, progs[i]));
	if (!o->kernel) {
		bpf_map__set_max_entries(skel->maps.klive, 1);
		return;
	}
	/* Preallocated whole at creation. */
	bpf_map__set_max_entries(skel->maps.klive, o->max_allocs < LT_KLIVE_MAX_ENTRIES ?
							   (__u32)o->max_allocs : LT_KLIVE_MAX_ENTRIES);
	for (int i = 0; i < LT_KSKIP_SITES; i++) {
		skel->rodata->kskip_lo[i] = s->kernel_skip_lo[i];
		skel->rodata->kskip_hi[i] = s->kernel_skip_hi[i];
	}
	if (s->cgroup.id) {
		skel->rodata->kernel_cgroup_id = s->cgroup.id;
		skel->rodata->kernel_cgroup_level = s->cgroup.level;
	}
	if (o->kernel_cache) {
		uint32_t type;
		uint64_t size;

		skel->rodata->kcache_filter = 1;
		if (!lt_kmalloc_cache_parse(o->kernel_cache, &type, &size)) {
			skel->rodata->kcache_kmalloc_size = size;
			skel->rodata->kcache_kmalloc_type = type;
		} else {
			snprintf((char *)skel->rodata->kcache_name, LT_KCACHE_NAME_LEN, "%s",
				 o->kernel_cache);
			skel->rodata->kcache_len = (__u32)strlen(o->kernel_cache) + 1;
		}
	}
}

static int open_and_load(struct lt_session *s, bool lib_watch)
{
	const struct lt_options *o = s->opts;
	struct lt_verifier_stats *stats = NULL;
	int err;

	s->skel = leaktrace_bpf__open();
	if (!s->skel)
		return -errno;
	s->skel->rodata->self_tgid = (__u32)getpid();
	s->skel->rodata->filter_by_tgid = s->mode == LT_MODE_COMMAND;
	s->skel->rodata->follow_forks = s->mode == LT_MODE_COMMAND;
	s->skel->rodata->task_events_filtered = s->mode != LT_MODE_SYSTEM;
	s->skel->rodata->per_process_attach = lt_mode_per_process(s->mode);
	s->skel->rodata->cgroup_target_id = s->mode == LT_MODE_CGROUP ? s->cgroup.id : 0;
	set_kernel_config(s);
	s->skel->rodata->use_ignore_list = s->mode == LT_MODE_SYSTEM;
	s->skel->rodata->min_size_bytes = o->min_size;
	s->skel->rodata->sample_bytes = o->sample_bytes;
	if (o->sample_bytes)
		lt_sample_fill_table((uint32_t *)s->skel->rodata->exp_table, LT_EXP_TABLE_SIZE);
	s->skel->rodata->max_size_bytes = o->max_size;
	s->skel->rodata->dwarf_unwind = o->unwind_dwarf;
	s->skel->rodata->python_native = o->py_native;
	s->skel->rodata->report_all_exec_maps = o->unwind_dwarf;
	/* A ring per consumer lane: BPF picks a process's by its tgid. */
	s->skel->rodata->nrings = s->nlanes;
	/* Without unwinding by rules the maps stay (almost) empty. */
	bpf_map__set_max_entries(s->skel->maps.unwind_rows, o->unwind_dwarf ? o->unwind_rows : 1);
	bpf_map__set_max_entries(s->skel->maps.unwind_pages,
				 o->unwind_dwarf ? unwind_pages_for(o->unwind_rows) : 1);
	/* Maps a run does not use stay minimal: the kernel allocates and clears
	 * a hash map's buckets at creation, which start-up waits for (the
	 * sampled-block table alone took 30 ms). -p traces its PIDs only. */
	if (!o->sample_bytes)
		bpf_map__set_max_entries(s->skel->maps.sampled_blocks, 1);
	if (s->mode == LT_MODE_SYSTEM || s->mode == LT_MODE_KERNEL)
		bpf_map__set_max_entries(s->skel->maps.traced_tgids, 1);
	else if (s->mode == LT_MODE_PIDS)
		bpf_map__set_max_entries(s->skel->maps.traced_tgids,
					 o->npids > 16 ? (__u32)o->npids : 16);
	if (!lib_watch)
		bpf_program__set_autoload(s->skel->progs.on_mmap_file, false);
	if (o->no_fds) {
		bpf_program__set_autoload(s->skel->progs.on_fd_syscall_exit, false);
		bpf_program__set_autoload(s->skel->progs.on_fd_syscall_enter, false);
		bpf_map__set_max_entries(s->skel->maps.scm_scratch, 1);
	}
	if (o->verbose >= 2)
		stats = lt_verifier_stats_request(s->skel->obj);
	err = leaktrace_bpf__load(s->skel);
	if (!err)
		lt_verifier_stats_print(stats, stderr);
	lt_verifier_stats_free(stats);
	if (!err)
		err = lt_bpf_maps_open(s->skel, &s->maps);
	if (err) {
		leaktrace_bpf__destroy(s->skel);
		s->skel = NULL;
	}
	return err;
}

static int attach_program(struct lt_session *s, struct bpf_program *prog)
{
	struct bpf_link *link = bpf_program__attach(prog);
	int err;

	if (!link)
		return -errno;
	err = lt_probes_keep_link(&s->probes, link);
	if (err)
		bpf_link__destroy(link);
	return err;
}

static int attach_task_events(struct lt_session *s, bool lib_watch)
{
	int err = attach_program(s, s->skel->progs.on_fork);

	if (!err)
		err = attach_program(s, s->skel->progs.on_exec);
	if (!err)
		err = attach_program(s, s->skel->progs.on_exit);
	/* Descriptors: closes before makes, so no close is missed between. */
	if (!err && !s->opts->no_fds)
		err = attach_program(s, s->skel->progs.on_fd_syscall_enter);
	if (!err && !s->opts->no_fds)
		err = attach_program(s, s->skel->progs.on_fd_syscall_exit);
	if (!err && lib_watch && attach_program(s, s->skel->progs.on_mmap_file))
		fprintf(stderr, "leaktrace: warning: cannot watch for new libc files; "
				"processes with a libc not mapped now are not traced\n");
	return err;
}

static int attach_kernel(struct lt_session *s)
{
	struct bpf_program **progs;
	size_t n;
	int err = 0;

	progs = kernel_programs(s->skel, &n);
	/* Frees first: no object recorded meanwhile has its free missed. */
	for (size_t i = n; i-- > 0 && !err;)
		if (kernel_program_wanted(s->opts, progs[i]))
			err = attach_program(s, progs[i]);
	return err;
}

static int add_file(struct lt_object_list *list, const char *path)
{
	struct lt_object_ref ref;
	int err = lt_object_ref_of_path(path, &ref);

	if (err)
		return err;
	if (lt_object_list_has(list, ref.kdev, ref.ino))
		return 0;
	return lt_object_list_add(list, &ref);
}

/* The files to attach to for pid (-1: the system or the -c command). */
static int collect_objects(struct lt_session *s, pid_t pid, struct lt_object_list *list,
			   char *err, size_t errlen)
{
	int ret;

	if (s->mode == LT_MODE_SYSTEM)
		ret = lt_find_all_libcs(list);
	else /* -c runs with our own libc until it execs something else */
		ret = lt_find_process_libcs(pid > 0 ? pid : getpid(), list);
	if (ret == -ESRCH) {
		snprintf(err, errlen, "no such process: %d", (int)pid);
		return ret;
	}
	for (size_t i = 0; i < s->opts->nobjs && ret >= 0; i++)
		ret = add_file(list, s->opts->objs[i]);
	if (ret < 0) {
		snprintf(err, errlen, "looking for allocators: %s", strerror(-ret));
		return ret;
	}
	if (!list->n) {
		if (pid > 0)
			snprintf(err, errlen, "pid %d maps no libc and its executable has no malloc symbol (try -O)",
				 (int)pid);
		else
			snprintf(err, errlen, "no libc found to attach to (try -O)");
		return -ESRCH;
	}
	return 0;
}

int lt_tracer_attach_file(struct lt_session *s, pid_t pid, const struct lt_object_ref *ref,
			  char *err, size_t errlen)
{
	struct lt_process *p = pid > 0 ? lt_procs_get(&s->procs, (uint32_t)pid) : NULL;
	int ret;

	/* Probes made for a process live as long as it, across exec: the
	 * scan, a fork and a library mapping may all name the same file. */
	if (pid > 0 && p && lt_process_probed(p, ref->kdev, ref->ino))
		return 0;
	if (pid == -1 && lt_object_list_has(&s->attached, ref->kdev, ref->ino))
		return 0;
	ret = lt_probes_attach_object(&s->probes, s->skel, ref->path, pid, s->opts->trace_mmap,
				      s->opts->verbose, err, errlen);
	if (ret)
		return ret;
	mark_known(s, ref->kdev, ref->ino, pid);
	/* The probes an exec by a thread left dead can go now. */
	if (pid > 0)
		lt_probes_close_retired(&s->probes, pid);
	if (pid > 0 && p)
		ret = lt_process_add_probed(p, ref->kdev, ref->ino);
	else if (pid == -1) {
		struct lt_object_ref done = *ref;

		done.attached_ns = lt_now_ns();
		ret = lt_object_list_add(&s->attached, &done);
	}
	return ret;
}

static int attach_objects(struct lt_session *s, pid_t pid, char *err, size_t errlen)
{
	struct lt_object_list list = {};
	int ret = collect_objects(s, pid, &list, err, errlen);

	for (size_t i = 0; i < list.n && !ret; i++) {
		ret = lt_tracer_attach_file(s, pid, &list.v[i], err, errlen);
		/* Files found by scanning may lack symbols; only -O ones must have them. */
		if (ret == -ESRCH && s->mode == LT_MODE_SYSTEM && i + s->opts->nobjs < list.n)
			ret = 0;
	}
	lt_object_list_free(&list);
	return ret;
}

int lt_tracer_add_process(struct lt_session *s, pid_t pid)
{
	struct lt_process *p = lt_procs_get(&s->procs, (uint32_t)pid);
	char err[512];
	int ret;

	if (pid == getpid())
		return 0;
	/* An exited record waits for its last report; a new process with its
	 * PID is taken at the next scan after that. */
	if (p && (p->probes_attached || p->exited))
		return 0;
	if (!p) {
		p = lt_procs_add(&s->procs, (uint32_t)pid);
		if (!p)
			return -ENOMEM;
	}
	p->target = true;
	p->probes_attached = true;
	/* Open before tracing began, or made since and seen made too. */
	if (!s->opts->no_fds && lt_fd_table_read_before(&p->fds, p->tgid, false) == -ENOMEM)
		s->stats.out_of_memory++;
	ret = set_traced(s, pid);
	if (!ret)
		ret = attach_objects(s, pid, err, sizeof(err));
	if (ret) {
		/* Gone already, or static: its exec or library mappings, if
		 * any, attach it later. Not worth more than a verbose note. */
		if (s->opts->verbose)
			fprintf(stderr, "leaktrace: pid %d not attached: %s\n", (int)pid,
				ret == -ENOMEM ? "out of memory" : err);
		return ret == -ENOMEM ? ret : 0;
	}
	lt_reload_maps(p, &s->modules);
	if (lt_python_track(s, p) == -ENOMEM)
		return -ENOMEM;
	if (s->opts->verbose)
		fprintf(stderr, "leaktrace: pid %d (%s) of the cgroup attached\n", (int)pid, p->comm);
	return 0;
}

int lt_tracer_attach_command_libcs(struct lt_session *s, const struct lt_path_list *files)
{
	for (size_t i = 0; i < files->n; i++) {
		const char *base = strrchr(files->v[i], '/');
		struct lt_object_ref ref;
		char err[512];
		int ret;

		base = base ? base + 1 : files->v[i];
		if (!lt_is_libc_name(base) || lt_object_ref_of_path(files->v[i], &ref))
			continue;
		ret = lt_tracer_attach_file(s, -1, &ref, err, sizeof(err));
		if (ret == -ENOMEM)
			return ret;
		if (ret && s->opts->verbose)
			fprintf(stderr, "leaktrace: %s: left until it is mapped: %s\n", ref.path, err);
	}
	return 0;
}

long lt_tracer_add_cgroup_members(struct lt_session *s, pid_t **pids)
{
	long n = lt_cgroup_target_pids(&s->cgroup, pids);

	for (long i = 0; i < n; i++) {
		if (lt_tracer_add_process(s, (*pids)[i]) == -ENOMEM) {
			free(*pids);
			*pids = NULL;
			return -ENOMEM;
		}
	}
	return n;
}

size_t lt_tracer_attached_processes(const struct lt_session *s)
{
	size_t n = 0;

	for (size_t b = 0; b < LT_PROC_BUCKETS; b++)
		for (const struct lt_process *p = s->procs.buckets[b]; p; p = p->next)
			n += p->probes_attached && !p->exited;
	return n;
}

int lt_tracer_start(struct lt_session *s, lt_record_fn on_record, char *err, size_t errlen)
{
	struct lt_ring_policy policy;
	bool lib_watch = true;
	int ret;

	ret = open_and_load(s, lib_watch);
	if (ret) {
		/* Kernels that cannot fentry security_mmap_file still trace. */
		lib_watch = false;
		ret = open_and_load(s, lib_watch);
	}
	if (ret) {
		snprintf(err, errlen, "cannot load BPF programs: %s", strerror(-ret));
		return ret;
	}
	/* In their slots before any probe is attached: no record finds one
	 * empty. The lanes share the ceiling and the start size. */
	lt_ring_policy_default(&policy, s->opts->ringbuf_bytes / s->nlanes);
	policy.min_bytes = lt_ring_round_size(policy.min_bytes / s->nlanes);
	if (policy.min_bytes < LT_RING_MIN_LANE_BYTES && policy.max_bytes >= LT_RING_MIN_LANE_BYTES)
		policy.min_bytes = LT_RING_MIN_LANE_BYTES;
	/* Kernel records carry whole stacks (~500 bytes) and come in bursts (a
	 * process opening thousands of files): start at a quarter of the
	 * ceiling rather than lose the first burst while the ring grows. */
	if (s->mode == LT_MODE_KERNEL && policy.min_bytes < policy.max_bytes / 4)
		policy.min_bytes = lt_ring_round_size(policy.max_bytes / 4);
	for (uint32_t i = 0; i < s->nlanes && !ret; i++)
		ret = lt_ring_sizer_new(bpf_map__fd(s->skel->maps.rings), i, &policy, &s->maps,
					on_record, &s->lanes[i], &s->lanes[i].ring);
	if (ret) {
		snprintf(err, errlen, "cannot make the ring buffer: %s", strerror(-ret));
		goto fail;
	}
	ret = start_unwind_loader(s);
	if (ret) {
		snprintf(err, errlen, "cannot start the unwind-table loader: %s", strerror(-ret));
		goto fail;
	}
	if (s->mode == LT_MODE_KERNEL) {
		ret = attach_kernel(s);
		if (ret) {
			snprintf(err, errlen, "cannot attach the kmem tracepoints: %s", strerror(-ret));
			goto fail;
		}
		return 0;
	}
	if (s->mode == LT_MODE_COMMAND)
		ret = set_traced(s, s->command_pid);
	for (size_t i = 0; i < s->opts->npids && !ret; i++)
		ret = set_traced(s, s->opts->pids[i]);
	if (ret) {
		snprintf(err, errlen, "cannot fill the target map: %s", strerror(-ret));
		goto fail;
	}
	ret = attach_task_events(s, lib_watch);
	if (ret) {
		snprintf(err, errlen, "cannot attach scheduler tracepoints: %s", strerror(-ret));
		goto fail;
	}
	if (s->mode == LT_MODE_PIDS) {
		for (size_t i = 0; i < s->opts->npids && !ret; i++)
			ret = attach_objects(s, s->opts->pids[i], err, errlen);
		s->live_targets = s->opts->npids;
	} else if (s->mode == LT_MODE_CGROUP) {
		pid_t *pids;
		long n;

		/* After the fork and exec watch is in: nothing falls between. */
		n = lt_tracer_add_cgroup_members(s, &pids);
		if (n < 0) {
			ret = (int)n;
			snprintf(err, errlen, "reading the processes of %s: %s", s->cgroup.path,
				 strerror(-ret));
		} else {
			free(pids);
		}
	} else {
		ret = attach_objects(s, -1, err, errlen);
	}
	if (ret)
		goto fail;
	return 0;
fail:
	lt_tracer_stop(s);
	return ret;
}

void lt_tracer_stop(struct lt_session *s)
{
	for (uint32_t i = 0; i < s->nlanes; i++) {
		lt_ring_sizer_free(s->lanes[i].ring);
		s->lanes[i].ring = NULL;
	}
	lt_probes_destroy(&s->probes);
	s->modules.on_open = NULL;
	lt_unwind_loader_stop(s->unwind);
	s->unwind = NULL;
	lt_bpf_maps_close(&s->maps);
	leaktrace_bpf__destroy(s->skel);
	s->skel = NULL;
	lt_object_list_free(&s->attached);
	lt_object_list_free(&s->py_files);
}
