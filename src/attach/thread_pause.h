/* SPDX-License-Identifier: MIT */
/*
 * Holding every thread of a process still for a moment, so that a word of
 * its memory can be rewritten without any thread reading it half-written
 * (the kernel copies process_vm_writev data a byte at a time on some CPUs).
 *
 * Threads are seized with ptrace and interrupted: a ptrace stop, which the
 * process's parent does not see (a SIGSTOP would be reported to it). A
 * signal that arrives meanwhile is handed back when the threads go.
 */
#ifndef LT_THREAD_PAUSE_H
#define LT_THREAD_PAUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct lt_paused_thread {
	pid_t tid;
	int signal; /* to deliver when it is let go; 0 none */
	bool stopped;
};

struct lt_paused {
	pid_t pid;
	bool own_child; /* its exit status belongs to the caller's own wait */
	struct lt_paused_thread *v;
	size_t n, cap;
};

/*
 * Stops every thread of pid, including threads started while it is done.
 * own_child: pid is the caller's child, so its main thread's exit is left
 * to be reaped by the caller. Returns 0 with every thread stopped, or
 * -errno with none left stopped and a one-line reason in err (-EPERM: it is
 * traced by another debugger or tracer, or no CAP_SYS_PTRACE; -ESRCH: it
 * exited).
 */
int lt_pause_threads(pid_t pid, bool own_child, struct lt_paused *out, char *err, size_t errlen);
/* Lets every paused thread go. Safe on a zeroed or already resumed one. */
void lt_resume_threads(struct lt_paused *p);

#endif
