// SPDX-License-Identifier: MIT
#include "python/python_attach.h"
#include "session.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <bpf/libbpf.h>

#include "leaktrace.skel.h"
#include "attach/libc_discovery.h"
#include "attach/needed_libs.h"
#include "attach/probe_site.h"
#include "python/python_memory.h"
#include "python/python_objects.h"
#include "python/python_settle.h"
#include "python/python_target.h"

/* libpython3.X.so or a python3.X executable: worth a look at its symbols. */
static bool maps_may_hold_python(const struct lt_maps *maps)
{
	for (size_t i = 0; i < maps->n; i++) {
		const char *path = maps->v[i].path, *base;

		if (!path || !maps->v[i].executable)
			continue;
		base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (!strncmp(base, "libpython", 9) || !strncmp(base, "python", 6))
			return true;
	}
	return false;
}

/* --python-objects gc: the cheaper probes, wherever the build allows both. */
static void choose_objects(const struct lt_session *s, struct lt_py_interp *interp)
{
	if (s->opts->py_gc_only) {
		interp->objects = LT_PY_OBJECTS_GC;
		interp->redirect = false;
	}
}

static bool own_child(const struct lt_session *s, pid_t pid)
{
	return s->mode == LT_MODE_COMMAND && pid == s->command_pid;
}

/* Probes on the interpreter file, once per file, or once per file and
 * process for -p and --cgroup (p not NULL): they outlive an exec. */
static int attach_interpreter(struct lt_session *s, const struct lt_py_interp *interp,
			      const char *path, struct lt_process *p, char *err, size_t errlen)
{
	struct lt_object_ref ref = { 0 };
	struct stat st;
	int ret;

	if (stat(path, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ref.kdev = (major(st.st_dev) << 20) | minor(st.st_dev);
	ref.ino = st.st_ino;
	if (p ? lt_process_probed(p, ref.kdev, ref.ino) :
		lt_object_list_has(&s->py_files, ref.kdev, ref.ino))
		return 0;
	ret = lt_probes_attach_python(&s->probes, s->skel, path,
				      interp->objects == LT_PY_OBJECTS_ALL ? interp->allocator_offsets :
									      NULL,
				      p ? (pid_t)p->tgid : -1, s->opts->verbose, err, errlen);
	if (ret)
		return ret;
	if (interp->objects == LT_PY_OBJECTS_ALL)
		s->skel->bss->py_allocator_probes = true;
	if (p)
		return lt_process_add_probed(p, ref.kdev, ref.ino);
	snprintf(ref.path, sizeof(ref.path), "%s", path);
	return lt_object_list_add(&s->py_files, &ref);
}

/*
 * The probe on what the reference tracer pointer will lead to (before it is
 * pointed, so that nothing made in between is missed): code in the
 * interpreter's own file, tracemalloc's tracer included. Returns 0 with
 * *target and *was for lt_py_redirect_apply, or -errno.
 */
static int reftracer_probe(struct lt_session *s, struct lt_process *p,
			   const struct lt_py_interp *interp, uint64_t *target, uint64_t *was)
{
	const struct lt_py_redirect *plan = &interp->redirect_plan;
	const struct lt_mapping *m, *noop;
	struct lt_probe_site site;
	uint8_t code[64];
	int ret;

	*target = *was = 0;
	if (!plan->tracer_slot)
		return 0;
	ret = lt_py_reftracer_target((pid_t)p->tgid, plan, target, was);
	if (ret)
		return ret;
	m = lt_maps_find(&p->maps, *target);
	noop = lt_maps_find(&p->maps, plan->tracer_noop);
	if (!m || !noop || !m->path || !lt_mapping_same_file(m, noop)) {
		*target = 0;
		return -ENOENT;
	}
	/* (op, event) are read; the entry may be an instruction the kernel
	 * would single-step (past an endbr64). */
	if (lt_py_read((pid_t)p->tgid, *target, code, sizeof(code)) ||
	    lt_probe_site_choose(code, sizeof(code), *target, LT_ARG_RDI | LT_ARG_RSI, false, &site) ||
	    *target + site.offset >= m->end) {
		*target = 0;
		return -ENOENT;
	}
	ret = lt_probes_attach_py_ref_tracer(&s->probes, s->skel, interp->path,
					     m->file_offset + (*target + site.offset - m->start),
					     (pid_t)p->tgid);
	if (ret)
		*target = 0;
	return ret;
}

int lt_python_track(struct lt_session *s, struct lt_process *p)
{
	struct lt_py_interp interp;
	struct lt_py_process *pp;
	pid_t pid = (pid_t)p->tgid;
	char err[512] = "";
	int ret;

	if (p->py || p->py_refused || p->exited || !p->maps_loaded ||
	    p->maps.n == p->py_checked_maps)
		return 0;
	p->py_checked_maps = p->maps.n;
	if (!maps_may_hold_python(&p->maps))
		return 0;
	ret = lt_py_find_interp(pid, &p->maps, &interp, err, sizeof(err));
	if (ret == -ENOENT)
		return 0;
	if (ret) {
		fprintf(stderr, "leaktrace: pid %d: Python objects not traced: %s\n", (int)pid,
			err[0] ? err : strerror(-ret));
		p->py_refused = ret == -ENOTSUP;
		return ret;
	}
	choose_objects(s, &interp);
	ret = attach_interpreter(s, &interp, interp.path, lt_mode_per_process(s->mode) ? p : NULL,
				 err, sizeof(err));
	if (ret) {
		fprintf(stderr, "leaktrace: pid %d: Python objects not traced: %s\n", (int)pid, err);
		return ret;
	}
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	ret = lt_py_process_init(pp, pid, &interp);
	if (ret) {
		free(pp);
		return ret;
	}
	/* Our own child: it can wait at its shutdown while its objects are read. */
	interp.layout.stop_at_finalize = s->mode == LT_MODE_COMMAND;
	interp.layout.code_type = interp.code_type;
	ret = lt_map_update(&s->maps, LT_MAP_PY_LAYOUTS, &p->tgid, sizeof(p->tgid), &interp.layout,
			    sizeof(interp.layout));
	if (ret) {
		lt_py_process_free(pp);
		free(pp);
		return ret;
	}
	if (interp.redirect) {
		uint64_t tracer = 0, tracer_was = 0;

		if (reftracer_probe(s, p, &interp, &tracer, &tracer_was) && s->opts->verbose)
			fprintf(stderr, "leaktrace: pid %d: objects taken from free lists may stay "
				"on the line that first made them (its reference tracer cannot be "
				"followed)\n", (int)pid);
		ret = lt_py_redirect_apply(pid, own_child(s, pid), &interp.redirect_plan, tracer,
					   tracer_was, &pp->redirected, err, sizeof(err));
		if (ret) {
			fprintf(stderr,
				"leaktrace: pid %d: Python objects not counted: %s (--python-objects gc "
				"counts GC-tracked objects without that)\n",
				(int)pid, err);
			lt_map_remove(&s->maps, LT_MAP_PY_LAYOUTS, &p->tgid, sizeof(p->tgid));
			lt_py_process_free(pp);
			free(pp);
			return ret;
		}
		if (s->opts->verbose)
			fprintf(stderr,
				"leaktrace: pid %d: its object allocator is called through the no-ops "
				"before it (%zu table%s%s, written back when tracing ends)\n",
				(int)pid, pp->redirected.n, pp->redirected.n == 1 ? "" : "s",
				pp->redirected.tracer_now ? " and its reference tracer" : "");
		if (pp->redirected.tracer_now) {
			interp.layout.reuse_by_tracer = 1;
			lt_map_update(&s->maps, LT_MAP_PY_LAYOUTS, &p->tgid, sizeof(p->tgid),
				      &interp.layout, sizeof(interp.layout));
		}
	}
	p->py = pp;
	if (s->opts->verbose)
		fprintf(stderr, "leaktrace: pid %d runs Python 3.%u.%u (%s): tracing its objects\n",
			(int)pid, interp.minor, interp.micro, interp.path);
	return 0;
}

void lt_python_prepare_program(struct lt_session *s, const struct lt_path_list *files)
{
	char err[512];

	for (size_t i = 0; i < files->n; i++) {
		struct lt_py_interp interp;

		if (lt_py_find_interp_file(files->v[i], &interp, NULL, 0))
			continue;
		choose_objects(s, &interp);
		if (attach_interpreter(s, &interp, files->v[i], NULL, err, sizeof(err)))
			fprintf(stderr, "leaktrace: warning: %s\n", err);
		break;
	}
}

void lt_python_settle(struct lt_session *s, uint64_t min_age_ns)
{
	uint64_t now = lt_now_ns();

	for (size_t b = 0; b < LT_PROC_BUCKETS; b++)
		for (struct lt_process *p = s->procs.buckets[b]; p; p = p->next)
			if (p->py && p->py->unsettled && !p->py->finalizing &&
			    lt_py_settle_types(p->py, now, min_age_ns) == -ENOMEM)
				s->stats.out_of_memory++;
}

void lt_python_finalizing(struct lt_session *s, struct lt_process *p,
			  const struct lt_free_event *e)
{
	p->py->finalizing = true;
	if (lt_py_settle_types(p->py, 0, 0) == -ENOMEM)
		s->stats.out_of_memory++;
	if (e->len_bytes && kill((pid_t)p->tgid, SIGCONT) && s->opts->verbose)
		fprintf(stderr, "leaktrace: pid %u: cannot resume it: %s\n", p->tgid, strerror(errno));
}

void lt_python_forget(struct lt_session *s, uint32_t tgid)
{
	lt_map_remove(&s->maps, LT_MAP_PY_LAYOUTS, &tgid, sizeof(tgid));
}

void lt_python_release(struct lt_session *s)
{
	char err[256];

	for (size_t b = 0; b < LT_PROC_BUCKETS; b++)
		for (struct lt_process *p = s->procs.buckets[b]; p; p = p->next)
			if (p->py && p->py->redirected.n && !p->exited &&
			    lt_py_redirect_restore((pid_t)p->tgid, own_child(s, (pid_t)p->tgid),
						   &p->py->interp.redirect_plan, &p->py->redirected,
						   err, sizeof(err)) &&
			    s->opts->verbose)
				fprintf(stderr, "leaktrace: %s\n", err);
}
