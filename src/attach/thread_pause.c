// SPDX-License-Identifier: MIT
#include "attach/thread_pause.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "base/grow_array.h"

/* A thread in an uninterruptible sleep stops only when it leaves it: give
 * up rather than hold the others (and the caller) for long. */
#define STOP_TIMEOUT_NS 1000000000ULL
#define POLL_NS 100000L
/* Listing threads again until none is new; a process spawning threads
 * faster than they can be seized is not paused. */
#define MAX_PASSES 64

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool has_thread(const struct lt_paused *p, pid_t tid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].tid == tid)
			return true;
	return false;
}

static int add_thread(struct lt_paused *p, pid_t tid)
{
	struct lt_paused_thread *v = lt_grow(p->v, &p->cap, p->n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	p->v = v;
	p->v[p->n++] = (struct lt_paused_thread){ .tid = tid };
	return 0;
}

static void drop_thread(struct lt_paused *p, size_t i)
{
	p->v[i] = p->v[--p->n];
}

/* Seizes the threads of /proc/PID/task not seized yet; *added counts them. */
static int seize_new(struct lt_paused *p, size_t *added, char *err, size_t errlen)
{
	char dir[64];
	struct dirent *d;
	DIR *task;
	int ret = 0;

	*added = 0;
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)p->pid);
	task = opendir(dir);
	if (!task) {
		ret = errno == ENOENT ? -ESRCH : -errno;
		snprintf(err, errlen, "pid %d: %s", (int)p->pid, strerror(-ret));
		return ret;
	}
	while ((d = readdir(task))) {
		char *end;
		long tid = strtol(d->d_name, &end, 10);

		if (*end || tid <= 0 || has_thread(p, (pid_t)tid))
			continue;
		if (ptrace(PTRACE_SEIZE, (pid_t)tid, NULL, NULL)) {
			if (errno == ESRCH)
				continue; /* gone since it was listed */
			ret = -errno;
			snprintf(err, errlen, "pid %d: cannot hold thread %ld: %s%s", (int)p->pid, tid,
				 strerror(-ret),
				 ret == -EPERM ? " (traced by a debugger, or no CAP_SYS_PTRACE)" : "");
			break;
		}
		ret = add_thread(p, (pid_t)tid);
		if (ret) {
			ptrace(PTRACE_DETACH, (pid_t)tid, NULL, NULL);
			snprintf(err, errlen, "out of memory");
			break;
		}
		ptrace(PTRACE_INTERRUPT, (pid_t)tid, NULL, NULL);
		(*added)++;
	}
	closedir(task);
	return ret;
}

/*
 * 1 once thread i is stopped, 0 while it runs, -ESRCH when it has exited
 * (dropped). Our own child's main thread exit is only looked at, so that
 * the caller's wait still finds it.
 */
static int check_stopped(struct lt_paused *p, size_t i)
{
	pid_t tid = p->v[i].tid;
	siginfo_t si;
	int status;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)tid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL))
		return errno == EINTR ? 0 : -ESRCH;
	if (si.si_pid == 0)
		return 0;
	if (si.si_code != CLD_TRAPPED && si.si_code != CLD_STOPPED) {
		if (!(p->own_child && tid == p->pid))
			waitpid(tid, &status, WNOHANG | __WALL);
		drop_thread(p, i);
		return -ESRCH;
	}
	if (waitpid(tid, &status, WNOHANG | __WALL) != tid || !WIFSTOPPED(status))
		return 0;
	/* Not our interrupt but a signal on its way in: it is handed back. */
	if ((status >> 16) != PTRACE_EVENT_STOP)
		p->v[i].signal = WSTOPSIG(status);
	return 1;
}

static int wait_all_stopped(struct lt_paused *p, char *err, size_t errlen)
{
	uint64_t deadline = mono_ns() + STOP_TIMEOUT_NS;

	for (;;) {
		size_t left = 0;

		for (size_t i = 0; i < p->n;) {
			int r = p->v[i].stopped ? 1 : check_stopped(p, i);

			if (r == -ESRCH)
				continue; /* drop_thread moved the last entry to i */
			if (r == 1)
				p->v[i].stopped = true;
			else
				left++;
			i++;
		}
		if (!left)
			return 0;
		if (mono_ns() > deadline) {
			snprintf(err, errlen, "pid %d: a thread did not stop within 1 s", (int)p->pid);
			return -ETIMEDOUT;
		}
		nanosleep(&(struct timespec){ .tv_nsec = POLL_NS }, NULL);
	}
}

int lt_pause_threads(pid_t pid, bool own_child, struct lt_paused *out, char *err, size_t errlen)
{
	size_t added = 1;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->own_child = own_child;
	/* A thread seized and interrupted starts no new one, so listing until
	 * nothing is new catches every thread. */
	for (int pass = 0; added && !ret; pass++) {
		if (pass == MAX_PASSES) {
			snprintf(err, errlen, "pid %d: starts threads faster than they can be held",
				 (int)pid);
			ret = -EAGAIN;
			break;
		}
		ret = seize_new(out, &added, err, errlen);
		if (!ret && added)
			ret = wait_all_stopped(out, err, errlen);
	}
	if (!ret && !out->n) {
		snprintf(err, errlen, "pid %d: exited", (int)pid);
		ret = -ESRCH;
	}
	if (ret)
		lt_resume_threads(out);
	return ret;
}

void lt_resume_threads(struct lt_paused *p)
{
	uint64_t deadline = mono_ns() + 5 * STOP_TIMEOUT_NS;

	/* A thread seized but not yet stopped cannot be detached, and would
	 * stop for good once it took its interrupt: wait for it a while more. */
	while (p->n) {
		for (size_t i = 0; i < p->n;) {
			if (!p->v[i].stopped) {
				int r = check_stopped(p, i);

				if (r == -ESRCH)
					continue; /* drop_thread moved the last entry to i */
				p->v[i].stopped = r == 1;
			}
			if (p->v[i].stopped || mono_ns() > deadline) {
				ptrace(PTRACE_DETACH, p->v[i].tid, NULL, (void *)(long)p->v[i].signal);
				drop_thread(p, i);
				continue;
			}
			i++;
		}
		if (p->n)
			nanosleep(&(struct timespec){ .tv_nsec = POLL_NS }, NULL);
	}
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}
