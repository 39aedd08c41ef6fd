/* SPDX-License-Identifier: MIT */
/*
 * A small hand-made report shared by the reporter tests: inlined, unnamed,
 * module-less and oddly named frames, a stack with no frames, Python
 * objects and an mmap region, in one process.
 */
#ifndef LT_REPORT_FIXTURE_H
#define LT_REPORT_FIXTURE_H

#include <stdbool.h>
#include <string.h>

#include "report/report_types.h"

#define APP "/usr/bin/app"

/* Innermost first: inl_helper inlined into leak_fn, called by main. */
static struct lt_report_frame heap_a[] = {
	{ .addr = 0x401100, .func = "inl_helper", .file = "a.c", .line = 7, .module = APP,
	  .module_offset = 0x1100, .build_id = "", .inlined = true },
	{ .addr = 0x401100, .func = "leak_fn", .file = "a.c", .line = 20, .module = APP,
	  .module_offset = 0x1100, .build_id = "" },
	{ .addr = 0x401200, .func = "main", .file = "a.c", .line = 30, .module = APP,
	  .module_offset = 0x1200, .build_id = "" },
};
/* Unnamed frames: one in a module, one in no module at all. */
static struct lt_report_frame heap_b[] = {
	{ .addr = 0x7f0000005000, .module = "/lib/libx.so", .module_offset = 0x5000,
	  .build_id = "abcd" },
	{ .addr = 0xdead, .build_id = "" },
	{ .addr = 0x401200, .func = "op;er\nator", .module = APP, .module_offset = 0x1300,
	  .build_id = "" },
};
static struct lt_report_frame py[] = {
	{ .func = "make", .file = "app.py", .line = 5, .build_id = "", .python = true },
	{ .func = "<module>", .file = "app.py", .line = 9, .build_id = "", .python = true },
};
static struct lt_report_frame region[] = {
	{ .addr = 0x401200, .func = "main", .module = APP, .module_offset = 0x1200, .build_id = "" },
};

static struct lt_report_stack heap_stacks[] = {
	{ .bytes = 3000, .allocs = 3, .frames = heap_a, .nframes = 3 },
	{ .bytes = 100, .allocs = 1, .frames = heap_b, .nframes = 3 },
	{ .bytes = 7, .allocs = 1, .frames = NULL, .nframes = 0 },
};
static struct lt_report_stack py_stacks[] = {
	{ .bytes = 640, .allocs = 10, .frames = py, .nframes = 2 },
};
static struct lt_report_stack mmap_stacks[] = {
	{ .bytes = 8192, .allocs = 2, .frames = region, .nframes = 1 },
};
static struct lt_report_python python = {
	.minor = 11, .stacks = { .stacks = py_stacks, .nstacks = 1 },
};

/* Descriptors: 4 files opened at one Python line, beside the heap. */
static struct lt_report_frame fd_frames[] = {
	{ .addr = 0x7f0000001000, .func = "open", .module = "/lib/x86_64-linux-gnu/libc.so.6",
	  .module_offset = 0x1000, .build_id = "" },
	{ .func = "load", .file = "app.py", .line = 12, .build_id = "", .python = true },
};
static struct lt_report_fd_detail fd_detail = {
	.kinds = { [LT_FD_FILE] = 4 },
	.examples = { { "/var/lib/app/a.db", 3 }, { "/var/lib/app/b.db", 1 } },
	.nexamples = 2,
};
static struct lt_report_stack fd_stacks[] = {
	{ .bytes = 4, .allocs = 4, .frames = fd_frames, .nframes = 2, .fd = &fd_detail,
	  .verdict = LT_VERDICT_GROWING, .growth_bytes_per_s = 0.5 },
};

static inline void add_fds(struct lt_report_process *p)
{
	p->fds_traced = true;
	p->fds.stacks = fd_stacks;
	p->fds.nstacks = 1;
	p->fds.outstanding_allocs = p->fds.outstanding_bytes = 5;
	p->fd_kinds[LT_FD_FILE] = 4;
	p->fd_kinds[LT_FD_TCP] = 1;
	p->fds_open_before = 3;
}

/* --kernel: an eventfd's context (kmalloc) by one process, and objects
 * of several caches made in a module through an unnamed frame. kallsyms
 * gives offsets in functions: the same in different functions. */
static struct lt_report_frame kframes_a[] = {
	{ .addr = 0xffffffff81400010, .func = "__kmalloc_cache_noprof", .module = "vmlinux",
	  .module_offset = 0x10, .build_id = "" },
	{ .addr = 0xffffffff81500020, .func = "do_eventfd", .module = "vmlinux",
	  .module_offset = 0x10, .build_id = "" },
	{ .addr = 0xffffffff81000030, .func = "do_syscall_64", .module = "vmlinux",
	  .module_offset = 0x10, .build_id = "" },
};
static struct lt_report_frame kframes_b[] = {
	{ .addr = 0xffffffffc0001040, .func = "ext4_alloc;inode", .module = "ext4",
	  .module_offset = 0x40, .build_id = "" },
	{ .addr = 0xffffffff90000000, .build_id = "" },
};
static struct lt_report_kernel_stack kstacks[] = {
	{ .stack = { .bytes = 640, .allocs = 10, .frames = kframes_a, .nframes = 3 },
	  .cache = "kmalloc-64", .ncaches = 1, .nprocesses = 1,
	  .owners = { { .pid = 77, .comm = "kernel_hold", .cgroup = "/a\"b<c>", .bytes = 640,
			.allocs = 10 } },
	  .nowners = 1 },
	{ .stack = { .bytes = 2048, .allocs = 2, .frames = kframes_b, .nframes = 2 },
	  .cache = "ext4_inode_cache", .ncaches = 2, .nprocesses = 2,
	  .owners = { { .pid = 1, .comm = "init", .cgroup = "/", .bytes = 1024, .allocs = 1 },
		      { .pid = 2, .comm = "kthreadd", .cgroup = "/", .bytes = 1024, .allocs = 1 } },
	  .nowners = 2 },
};
static struct lt_report_kernel kernel_section = {
	.outstanding_bytes = 2688, .outstanding_allocs = 12, .symbols = 1000,
	.stacks = kstacks, .nstacks = 2,
};

static inline void add_kernel(struct lt_report *r)
{
	r->kernel = &kernel_section;
}

static void make_report(struct lt_report *r, struct lt_report_process *p, bool mmap)
{
	memset(r, 0, sizeof(*r));
	memset(p, 0, sizeof(*p));
	p->pid = 42;
	strcpy(p->comm, "a;b");
	p->heap.stacks = heap_stacks;
	p->heap.nstacks = 3;
	p->mmap.stacks = mmap_stacks;
	p->mmap.nstacks = 1;
	p->python = &python;
	r->final = true;
	r->has_mmap = mmap;
	r->procs = p;
	r->nprocs = 1;
}

#endif
