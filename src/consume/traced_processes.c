// SPDX-License-Identifier: MIT
#include "consume/traced_processes.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "attach/needed_libs.h"
#include "attach/tracer.h"
#include "python/python_attach.h"
#include "session.h"
#include "symbols/frame_resolver.h"
#include "unwind/unwind_loader.h"

/* Another leaktrace tracing the whole system: each would record the
 * other's bookkeeping allocations, which make more events, without end. */
static bool ignore_if_tracer(struct lt_session *s, struct lt_process *p)
{
	__u32 key = p->tgid;
	__u8 one = 1;

	if (s->mode != LT_MODE_SYSTEM || strcmp(p->comm, "leaktrace"))
		return false;
	lt_map_update(&s->maps, LT_MAP_IGNORED_TGIDS, &key, sizeof(key), &one, sizeof(one));
	lt_procs_remove(&s->procs, key);
	return true;
}

/* The record of tgid, made on its first event (at seen_ns) if need be: the
 * process may have exited since, and its PID been taken by another. */
int lt_traced_notice_mappings(struct lt_session *s, struct lt_process *p)
{
	return lt_python_track(s, p);
}

struct lt_process *lt_traced_process_for(struct lt_session *s, uint32_t tgid, uint64_t seen_ns)
{
	struct lt_process *p = lt_procs_get(&s->procs, tgid);

	if (p)
		return p;
	p = lt_procs_add_seen(&s->procs, tgid, seen_ns);
	if (!p)
		return NULL;
	/* Only traced processes reach us in -p and -c modes. */
	p->target = s->mode != LT_MODE_SYSTEM;
	if (ignore_if_tracer(s, p))
		return NULL;
	/* System-wide, a process first seen now (not at its fork) was running
	 * before tracing began: what it has open now, it had then or made
	 * since, and those made since are in records still to come. */
	if (s->mode == LT_MODE_SYSTEM && lt_process_is_current(p))
		lt_traced_read_open_fds(s, p, false);
	return p;
}

void lt_traced_read_open_fds(struct lt_session *s, struct lt_process *p, bool before_exec)
{
	if (!s->opts->no_fds && lt_fd_table_read_before(&p->fds, p->tgid, before_exec) == -ENOMEM)
		s->stats.out_of_memory++;
}

void lt_traced_on_fork(struct lt_session *s, const struct lt_task_event *e)
{
	struct lt_process *parent = lt_procs_get(&s->procs, e->other_tgid);
	struct lt_process *child;

	if (s->mode == LT_MODE_SYSTEM && !parent)
		return; /* nothing of the parent is known; the child is met lazily */
	/* -p probes are the process's own: its children are not traced, and
	 * their exits are not even sent. */
	if (s->mode == LT_MODE_PIDS)
		return;
	child = lt_procs_get(&s->procs, e->hdr.tgid);
	/* --cgroup: a scan may have found and attached it first. */
	if (child && child->probes_attached && !child->exited)
		return;
	/* A record under this tgid is a previous process whose PID was reused;
	 * one that exited and is still to be shown waits for its report. */
	lt_procs_retire(&s->procs, e->hdr.tgid);
	child = lt_procs_add_seen(&s->procs, e->hdr.tgid, e->hdr.ts_ns);
	if (!child) {
		s->stats.out_of_memory++;
		return;
	}
	child->target = s->mode == LT_MODE_COMMAND || (parent && parent->target);
	snprintf(child->comm, sizeof(child->comm), "%.*s", LT_COMM_LEN, e->comm);
	if (parent && !child->exe && parent->exe)
		child->exe = strdup(parent->exe);
	/* Short-lived children are often gone when their records are read:
	 * take their mappings now, or else their parent's, which they share. */
	lt_reload_maps(child, &s->modules);
	if (!child->maps_loaded && parent) {
		/* The parent's mappings are its lane's to change (another lane
		 * may be reading them): only read them from here. */
		if (!parent->maps_loaded && parent->tgid % s->nlanes == child->tgid % s->nlanes)
			lt_reload_maps(parent, &s->modules);
		if (parent->maps_loaded && !lt_maps_copy(&parent->maps, &child->maps))
			child->maps_loaded = true;
	}
	/* --cgroup: probes for -p and --cgroup are per process and a child
	 * does not inherit them. Its calls until they are in are not seen. */
	if (s->mode == LT_MODE_CGROUP && lt_tracer_add_process(s, (pid_t)e->hdr.tgid) == -ENOMEM)
		s->stats.out_of_memory++;
}

/* Its address space is gone: its sampled blocks will never be freed. Without
 * this the BPF table of sampled addresses would fill with dead entries. */
static void forget_sampled(struct lt_session *s, const struct lt_process *p)
{
	struct lt_live_alloc entry;
	const struct lt_live_alloc *a = &entry;
	uint64_t iter = 0;

	if (!s->opts->sample_bytes)
		return;
	while (lt_live_next(&p->heap, &iter, &entry)) {
		struct lt_sampled_key key = { .addr = a->addr, .tgid = p->tgid };

		lt_map_remove(&s->maps, LT_MAP_SAMPLED_BLOCKS, &key, sizeof(key));
	}
}

/*
 * The new program and the libraries it names, queued for unwind tables now:
 * ld.so maps and starts running them within a millisecond or two, sooner
 * than their mappings could be seen and read.
 */
static void prepare_exec_tables(struct lt_session *s, const char *path)
{
	struct lt_path_list libs;

	if (!s->unwind || path[0] != '/' || lt_needed_libs(path, &libs))
		return;
	for (size_t i = 0; i < libs.n; i++)
		lt_unwind_loader_request_path(s->unwind, libs.v[i]);
	lt_path_list_free(&libs);
}

/*
 * exec called by a thread other than the leader: the kernel bound the
 * process's own probes (-p, --cgroup) to the old leader's task, which the
 * exec ended, so they would never fire again. The new image's libc is
 * attached now if it is mapped already, or when it maps it: the exec
 * tracepoint dropped the process's known_files entries, before ld.so could
 * map anything, so the mapping is reported. The dead probes are closed
 * after the new ones are in (lt_probes_retire_pid says why).
 */
static void reattach_after_thread_exec(struct lt_session *s, struct lt_process *p)
{
	struct lt_object_list objs = {};
	char err[512];

	lt_probes_retire_pid(&s->probes, (pid_t)p->tgid);
	free(p->probed_files);
	p->probed_files = NULL;
	p->nprobed_files = 0;
	if (lt_find_process_libcs((pid_t)p->tgid, &objs) == -ENOMEM)
		s->stats.out_of_memory++;
	for (size_t i = 0; i < s->opts->nobjs; i++) {
		struct lt_object_ref ref;

		if (lt_object_ref_of_path(s->opts->objs[i], &ref))
			continue;
		if (lt_object_list_add(&objs, &ref))
			s->stats.out_of_memory++;
	}
	for (size_t i = 0; i < objs.n; i++) {
		int ret = lt_tracer_attach_file(s, (pid_t)p->tgid, &objs.v[i], err, sizeof(err));

		if (ret == -ENOMEM)
			s->stats.out_of_memory++;
		else if (ret && ret != -ESRCH)
			fprintf(stderr, "leaktrace: warning: %s\n", err);
	}
	lt_object_list_free(&objs);
}

void lt_traced_on_exec(struct lt_session *s, const struct lt_exec_event *e)
{
	struct lt_process *p = lt_procs_get(&s->procs, e->task.hdr.tgid);
	char filename[LT_EXEC_PATH_LEN + 1];

	/* --cgroup: moved in, then exec'd (as a container starts). Its libc
	 * is attached when the new program maps it. */
	if (!p && s->mode == LT_MODE_CGROUP) {
		p = lt_traced_process_for(s, e->task.hdr.tgid, e->task.hdr.ts_ns);
		if (p)
			p->probes_attached = true;
	}
	if (!p)
		return;
	memcpy(filename, e->filename, LT_EXEC_PATH_LEN);
	filename[LT_EXEC_PATH_LEN] = '\0';
	prepare_exec_tables(s, filename);
	forget_sampled(s, p);
	lt_python_forget(s, p->tgid);
	lt_process_reset_image(p);
	/* Gone already? Then the kernel's name for the program must do. */
	if (!lt_process_refresh_identity(p) && filename[0]) {
		free(p->exe);
		p->exe = strdup(filename);
	}
	snprintf(p->comm, sizeof(p->comm), "%.*s", LT_COMM_LEN, e->task.comm);
	if (ignore_if_tracer(s, p))
		return;
	if (lt_mode_per_process(s->mode) && e->task.other_tgid != e->task.hdr.tgid)
		reattach_after_thread_exec(s, p);
	/* At least the new executable and ld.so, in case it exits quickly. */
	lt_reload_maps(p, &s->modules);
	if (lt_python_track(s, p) == -ENOMEM)
		s->stats.out_of_memory++;
}

void lt_traced_on_exit(struct lt_session *s, const struct lt_task_event *e)
{
	struct lt_process *p = lt_procs_get(&s->procs, e->hdr.tgid);

	if (e->hdr.tgid == (uint32_t)s->command_pid)
		s->command_done = true;
	lt_python_forget(s, e->hdr.tgid);
	if (!p)
		return;
	if (s->mode == LT_MODE_PIDS && p->target && !p->exited && s->live_targets)
		s->live_targets--;
	/* Its own probes never fire again: close them (in the background). */
	if (lt_mode_per_process(s->mode))
		lt_probes_release_pid(&s->probes, (pid_t)e->hdr.tgid);
	forget_sampled(s, p);
	/* Only targets are reported after exit (what they held at exit). */
	if (!p->target) {
		lt_procs_remove(&s->procs, e->hdr.tgid);
		return;
	}
	p->exited = true;
	p->exit_ns = e->hdr.ts_ns;
}

/* Moved back in later, the process must have its libraries reported again. */
static void forget_known_files(struct lt_session *s, uint32_t tgid)
{
	struct lt_file_key key, next;
	bool more;

	for (more = !lt_map_next_key(&s->maps, LT_MAP_KNOWN_FILES, NULL, &key, sizeof(key)); more;
	     key = next) {
		more = !lt_map_next_key(&s->maps, LT_MAP_KNOWN_FILES, &key, &next, sizeof(key));
		if (key.pad == tgid)
			lt_map_remove(&s->maps, LT_MAP_KNOWN_FILES, &key, sizeof(key));
	}
}

void lt_traced_left_cgroup(struct lt_session *s, struct lt_process *p)
{
	uint32_t tgid = p->tgid;

	forget_known_files(s, tgid);
	lt_python_forget(s, tgid);
	lt_probes_release_pid(&s->probes, (pid_t)tgid);
	lt_map_remove(&s->maps, LT_MAP_TRACED_TGIDS, &tgid, sizeof(tgid));
	forget_sampled(s, p);
	p->left_cgroup = true;
	p->exited = true;
	p->exit_ns = lt_now_ns();
	if (s->opts->verbose)
		fprintf(stderr, "leaktrace: pid %u (%s) left the cgroup: no longer traced\n", tgid,
			p->comm);
}

/* A path for a file the kernel named only by base name and inode. */
static char *exit_vma_path(const struct lt_process *p, const struct lt_vma_entry *v,
			   uint32_t dev_major, uint32_t dev_minor)
{
	char name[LT_VMA_NAME_LEN + 1], path[PATH_MAX];
	const char *exe_base;

	memcpy(name, v->name, LT_VMA_NAME_LEN);
	name[LT_VMA_NAME_LEN] = '\0';
	exe_base = p->exe ? strrchr(p->exe, '/') : NULL;
	if (exe_base && !strcmp(exe_base + 1, name)) {
		/* execve's path may be relative (to the caller's directory, often
		 * ours with -c); whatever it names is opened only if it is the
		 * mapped inode. */
		if (p->exe[0] != '/' && realpath(p->exe, path))
			return strdup(path);
		return strdup(p->exe);
	}
	/* Beside the program, as $ORIGIN run paths put libraries. */
	if (exe_base) {
		struct stat st;

		snprintf(path, sizeof(path), "%.*s/%s", (int)(exe_base - p->exe), p->exe, name);
		if (!stat(path, &st) && st.st_ino == v->ino && major(st.st_dev) == dev_major &&
		    minor(st.st_dev) == dev_minor)
			return strdup(path);
	}
	if (!lt_find_library(name, dev_major, dev_minor, v->ino, path, sizeof(path)))
		return strdup(path);
	/* Still names the module; opened only if another process maps it. */
	return strdup(name);
}

void lt_traced_on_exit_maps(struct lt_session *s, const struct lt_exit_maps_event *e, size_t size)
{
	struct lt_process *p = lt_procs_get(&s->procs, e->hdr.tgid);
	struct lt_maps snapshot = { 0 };
	uint32_t n = e->count;

	if (!p)
		return;
	if (n > LT_EXIT_MAPS_MAX || size < LT_EXIT_MAPS_HDR_BYTES + n * sizeof(e->vmas[0]))
		return;
	snapshot.v = calloc(n ? n : 1, sizeof(*snapshot.v));
	if (!snapshot.v)
		goto oom;
	for (uint32_t i = 0; i < n; i++) {
		const struct lt_vma_entry *v = &e->vmas[i];
		struct lt_mapping *m = &snapshot.v[snapshot.n];

		m->start = v->start;
		m->end = v->end;
		m->file_offset = v->file_offset;
		m->dev_major = v->dev >> 20;
		m->dev_minor = v->dev & 0xfffff;
		m->inode = v->ino;
		m->readable = m->executable = true;
		m->path = exit_vma_path(p, v, m->dev_major, m->dev_minor);
		if (!m->path)
			goto oom;
		snapshot.n++;
	}
	if (lt_apply_exit_maps(p, &snapshot, &s->modules))
		goto oom;
	lt_maps_free(&snapshot);
	return;
oom:
	lt_maps_free(&snapshot);
	s->stats.out_of_memory++;
}

/*
 * The file pid maps with this device and inode, opened, or -errno. ld.so maps
 * the whole file read-only before the executable part, then replaces that
 * mapping: a map_files name found may be gone when it is opened.
 */
static int open_mapped_file(pid_t pid, uint32_t dev, uint64_t ino)
{
	struct lt_object_ref ref;
	int fd = -ENOENT;

	for (int tries = 0; tries < 3 && fd == -ENOENT; tries++) {
		int err = lt_find_mapped_file(pid, dev, ino, &ref);

		if (err)
			return err;
		fd = open(ref.path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	return fd;
}

/* A library being mapped: its table should be ready before its code runs much. */
static void request_unwind_table(struct lt_session *s, const struct lt_lib_event *e)
{
	struct lt_vma_entry v = { .ino = e->ino, .dev = e->dev };
	struct lt_process *p = lt_procs_get(&s->procs, e->hdr.tgid);
	char *found;
	int fd;

	if (!s->unwind)
		return;
	fd = open_mapped_file((pid_t)e->hdr.tgid, e->dev, e->ino);
	if (fd < 0 && p) {
		/* Gone already: look where the program's libraries would be. */
		_Static_assert(sizeof(v.name) == sizeof(e->name), "one name length");
		memcpy(v.name, e->name, sizeof(v.name));
		found = exit_vma_path(p, &v, e->dev >> 20, e->dev & 0xfffff);
		if (found && found[0] == '/')
			fd = open(found, O_RDONLY | O_CLOEXEC);
		free(found);
	}
	if (fd < 0)
		return;
	lt_unwind_loader_request(s->unwind, fd, e->dev, e->ino);
	close(fd);
}

void lt_traced_on_lib_map(struct lt_session *s, const struct lt_lib_event *e)
{
	struct lt_object_ref ref;
	pid_t pid = (pid_t)e->hdr.tgid;
	pid_t attach_pid = lt_mode_per_process(s->mode) ? pid : -1;
	char err[512];
	int ret = -ENOENT;

	const struct lt_object_ref *done;
	struct lt_process *p;

	request_unwind_table(s, e);
	if (!e->is_libc)
		return;
	p = lt_traced_process_for(s, e->hdr.tgid, e->hdr.ts_ns);
	done = attach_pid == -1 ? lt_object_list_find(&s->attached, e->dev, e->ino) : NULL;
	if (done) {
		/* Mapped while another process's mapping of it was attached. */
		if (p && e->hdr.ts_ns < done->attached_ns)
			p->ran_before_probes = true;
		return;
	}
	if (attach_pid > 0 && p && lt_process_probed(p, e->dev, e->ino))
		return;
	/*
	 * The hook runs before the new mapping exists; ld.so's first, non-exec
	 * mapping of the file normally does. Give it a moment otherwise. That
	 * first mapping is then replaced, segment by segment, so its
	 * map_files name can vanish before it is opened: look again.
	 */
	for (int i = 0; i < 20 && ret == -ENOENT; i++) {
		ret = lt_find_mapped_file(pid, e->dev, e->ino, &ref);
		if (!ret)
			ret = lt_tracer_attach_file(s, attach_pid, &ref, err, sizeof(err));
		if (ret == -ENOENT)
			usleep(1000);
	}
	if (ret == -ENOENT) {
		if (s->opts->verbose)
			fprintf(stderr, "leaktrace: %.*s mapped by pid %d could not be located\n",
				LT_LIBNAME_LEN, e->name, (int)pid);
		return;
	}
	if (ret == -ENOMEM) {
		s->stats.out_of_memory++;
		return;
	}
	/* Gone meanwhile (the kernel says ESRCH too): nothing to warn of. */
	if (ret && attach_pid > 0 && kill(attach_pid, 0) && errno == ESRCH)
		return;
	if (ret) {
		fprintf(stderr, "leaktrace: warning: %s\n", err);
		return;
	}
	if (p)
		p->ran_before_probes = true;
	if (s->opts->verbose)
		fprintf(stderr, "leaktrace: new libc %.*s (pid %d) attached\n", LT_LIBNAME_LEN,
			e->name, (int)pid);
}


static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/*
 * Processes moved out of the tree. One scan can miss a process that moved
 * between two of its cgroups while the directories were read: only two
 * scans in a row that do not list it, with the process still alive, count.
 * An exited one is left to its exit record.
 */
static void notice_moved_out(struct lt_session *s, pid_t *pids, size_t n)
{
	qsort(pids, n, sizeof(*pids), cmp_pid);
	for (size_t b = 0; b < LT_PROC_BUCKETS; b++) {
		struct lt_process *p = s->procs.buckets[b];

		while (p) {
			struct lt_process *next = p->next;
			pid_t pid = (pid_t)p->tgid;

			if (!p->probes_attached || p->exited || p->superseded) {
				p = next;
				continue;
			}
			if (n && bsearch(&pid, pids, n, sizeof(*pids), cmp_pid))
				p->cgroup_scan_misses = 0;
			else if (++p->cgroup_scan_misses >= 2 && kill(pid, 0) == 0 &&
				 lt_process_is_current(p))
				lt_traced_left_cgroup(s, p);
			p = next;
		}
	}
}


int lt_traced_scan_cgroup(struct lt_session *s)
{
	pid_t *pids;
	long n = lt_tracer_add_cgroup_members(s, &pids);

	if (n < 0)
		return (int)n;
	notice_moved_out(s, pids, (size_t)n);
	free(pids);
	return 0;
}
