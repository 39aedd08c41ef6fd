// SPDX-License-Identifier: MIT
#include "python/python_redirect.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "attach/probe_site.h"
#include "python/python_memory.h"
#include "attach/thread_pause.h"

#define FNS_BYTES (LT_PY_ALLOC_COUNT * sizeof(uint64_t))

static int write_words(pid_t pid, uint64_t addr, const uint64_t *words, size_t len)
{
	struct iovec local = { (void *)words, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* The table, at most LT_PY_REDIRECT_DEPTH hooks down from table, whose
 * functions are want[]: its ctx slot, or 0. */
static uint64_t find_table(pid_t pid, uint64_t table, const uint64_t *want, const uint64_t *other,
			   bool *already)
{
	for (int depth = 0; table && depth < LT_PY_REDIRECT_DEPTH; depth++) {
		uint64_t t[1 + LT_PY_ALLOC_COUNT];

		if (lt_py_read(pid, table, t, sizeof(t)))
			return 0;
		if (!memcmp(t + 1, want, FNS_BYTES)) {
			*already = false;
			return table;
		}
		/* A fork of a process we pointed, or a second session. */
		if (other && !memcmp(t + 1, other, FNS_BYTES)) {
			*already = true;
			return table;
		}
		table = t[0]; /* a hook's ctx: the table it calls on */
	}
	return 0;
}

static bool recorded(const struct lt_py_redirected *done, uint64_t table)
{
	for (size_t i = 0; i < done->n; i++)
		if (done->tables[i] == table)
			return true;
	return false;
}

/* Bytes read before a tracer function for its no-op padding. */
#define PADDING_READ 15

int lt_py_reftracer_target(pid_t pid, const struct lt_py_redirect *plan, uint64_t *target,
			   uint64_t *was)
{
	uint8_t before[PADDING_READ], first[4];
	uint64_t now;

	*target = *was = 0;
	if (!plan->tracer_slot || lt_py_read(pid, plan->tracer_slot, &now, sizeof(now)))
		return -ENOENT;
	*was = now;
	if (!now || now == plan->tracer_noop) {
		*target = plan->tracer_noop;
		return 0;
	}
	if (now < sizeof(before) || lt_py_read(pid, now - sizeof(before), before, sizeof(before)))
		return -ENOENT;
	*target = lt_nop_alias(before, sizeof(before), now);
	if (*target)
		return 0;
	/* No padding: past its endbr64, a no-op where user space does not
	 * enforce indirect-branch tracking (Linux does not). */
	if (!lt_py_read(pid, now, first, sizeof(first)) && lt_insn_is_endbr64(first))
		*target = now + sizeof(first);
	return *target ? 0 : -ENOENT;
}

/* Under pause: the tracer pointer at target if it still holds was. */
static void point_tracer(pid_t pid, const struct lt_py_redirect *plan, uint64_t target,
			 uint64_t was, struct lt_py_redirected *done)
{
	uint64_t now;

	if (!target || lt_py_read(pid, plan->tracer_slot, &now, sizeof(now)) || now != was)
		return;
	if (now != target && write_words(pid, plan->tracer_slot, &target, sizeof(target)))
		return;
	done->tracer_was = was;
	done->tracer_now = target;
}

int lt_py_redirect_apply(pid_t pid, bool own_child, const struct lt_py_redirect *plan,
			 uint64_t tracer_target, uint64_t tracer_was,
			 struct lt_py_redirected *done, char *err, size_t errlen)
{
	struct lt_paused paused;
	int ret;

	memset(done, 0, sizeof(*done));
	ret = lt_pause_threads(pid, own_child, &paused, err, errlen);
	if (ret)
		return ret;
	for (size_t i = 0; i < 2 && !ret; i++) {
		bool already = false;
		uint64_t table = plan->tables[i] ?
				 find_table(pid, plan->tables[i], plan->fn, plan->alias, &already) : 0;

		if (!table || recorded(done, table))
			continue;
		if (!already)
			ret = write_words(pid, table + 8, plan->alias, FNS_BYTES);
		if (!ret)
			done->tables[done->n++] = table;
	}
	if (!ret && (!done->n || !plan->tables[0] ||
		     !find_table(pid, plan->tables[0], plan->alias, NULL, &(bool){ false }))) {
		snprintf(err, errlen,
			 "pid %d: its object allocator is replaced by a hook that does not call it", (int)pid);
		ret = -EBUSY;
	} else if (ret) {
		snprintf(err, errlen, "pid %d: cannot write its allocator table: %s", (int)pid,
			 strerror(-ret));
	}
	if (ret) {
		for (size_t i = 0; i < done->n; i++)
			write_words(pid, done->tables[i] + 8, plan->fn, FNS_BYTES);
		done->n = 0;
	} else {
		point_tracer(pid, plan, tracer_target, tracer_was, done);
	}
	lt_resume_threads(&paused);
	return ret;
}

int lt_py_redirect_restore(pid_t pid, bool own_child, const struct lt_py_redirect *plan,
			   struct lt_py_redirected *done, char *err, size_t errlen)
{
	struct lt_paused paused;
	int ret = 0;

	if (!done->n && !done->tracer_now)
		return 0;
	ret = lt_pause_threads(pid, own_child, &paused, err, errlen);
	if (ret)
		return ret;
	for (size_t i = 0; i < done->n; i++) {
		uint64_t now[LT_PY_ALLOC_COUNT];

		/* Left alone if the process has since put something else there. */
		if (!lt_py_read(pid, done->tables[i] + 8, now, sizeof(now)) &&
		    !memcmp(now, plan->alias, FNS_BYTES)) {
			int r = write_words(pid, done->tables[i] + 8, plan->fn, FNS_BYTES);

			if (r && !ret) {
				ret = r;
				snprintf(err, errlen, "pid %d: cannot write its allocator table back: %s",
					 (int)pid, strerror(-r));
			}
		}
	}
	if (done->tracer_now) {
		uint64_t now;

		/* Left alone if the process has since set a tracer of its own. */
		if (!lt_py_read(pid, plan->tracer_slot, &now, sizeof(now)) &&
		    now == done->tracer_now && now != done->tracer_was) {
			int r = write_words(pid, plan->tracer_slot, &done->tracer_was,
					    sizeof(done->tracer_was));

			if (r && !ret) {
				ret = r;
				snprintf(err, errlen, "pid %d: cannot write its reference tracer back: %s",
					 (int)pid, strerror(-r));
			}
		}
	}
	lt_resume_threads(&paused);
	done->n = 0;
	done->tracer_now = 0;
	return ret;
}
