/* SPDX-License-Identifier: MIT */
/* Traced processes by tgid, each owning its live allocations and stacks. */
#ifndef LT_PROCESS_TABLE_H
#define LT_PROCESS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consume/fd_table.h"
#include "consume/live_table.h"
#include "attach/proc_maps.h"
#include "consume/stack_store.h"

#define LT_PROC_COMM_LEN 16

struct lt_py_process;

struct lt_file_id {
	uint32_t kdev; /* kernel dev_t: major << 20 | minor */
	uint64_t ino;
};

struct lt_process {
	uint32_t tgid;
	uint64_t serial; /* unique among the records of one table, PID reuse or not */
	char comm[LT_PROC_COMM_LEN];
	char *exe;
	char *cgroup;       /* cgroup v2 path; NULL when unknown */
	char *container_id; /* 64 hex digits; NULL outside containers */
	bool target;  /* named by -p, or in the -c command's tree: reported after exit */
	bool exited;
	/* --cgroup: moved out of the tree, so no longer traced; otherwise
	 * handled as exited at exit_ns (shown once more, then forgotten). */
	bool left_cgroup;
	uint8_t cgroup_scan_misses; /* scans in a row that did not list it */
	/* Exited, and its PID taken by a new process before its last report:
	 * kept for that report, but no longer found by its tgid. */
	bool superseded;
	bool probes_attached; /* --cgroup: its own probes are in */
	/* It mapped a libc not probed yet and ran on it until its probes were
	 * in (tens of ms): what it allocated meanwhile was not seen. */
	bool ran_before_probes;
	/* -p/--cgroup: files probed for this process alone. They stay probed
	 * across exec (the kernel re-arms them if the new image maps the file). */
	struct lt_file_id *probed_files;
	size_t nprobed_files;
	uint64_t exit_ns;
	/* CLOCK_MONOTONIC of its first event, when it may have been read after
	 * the process exited; 0 when it was alive as its record was made. */
	uint64_t seen_ns;
	struct lt_live_table heap;
	struct lt_live_table mmaps;
	struct lt_fd_table fds;   /* descriptors made and not closed */
	struct lt_stack_store stacks;
	struct lt_maps maps;
	bool maps_loaded;
	struct lt_py_process *py;  /* a CPython interpreter whose objects are traced */
	size_t py_checked_maps;    /* mappings there were when last looked for one */
	bool py_refused;           /* its interpreter was refused: said once, not retried */
	struct lt_process *next; /* hash chain */
};

/* A power of two: a lane (tgid % lanes) owns whole buckets. */
#define LT_PROC_BUCKETS 4096

struct lt_process_table {
	struct lt_process *buckets[LT_PROC_BUCKETS];
	size_t count;
	uint64_t serials;        /* the last serial given */
};

void lt_procs_init(struct lt_process_table *t);
void lt_procs_free(struct lt_process_table *t);
/* The current process of tgid (never a superseded record). */
struct lt_process *lt_procs_get(struct lt_process_table *t, uint32_t tgid);
/* Add a record (comm, exe and cgroup read from /proc when the process is
 * alive). NULL on ENOMEM. */
struct lt_process *lt_procs_add(struct lt_process_table *t, uint32_t tgid);
/* The same for a process known from an event at seen_ns (CLOCK_MONOTONIC):
 * /proc is read only if its PID has not been taken by a later process. */
struct lt_process *lt_procs_add_seen(struct lt_process_table *t, uint32_t tgid,
				     uint64_t seen_ns);
/* Is /proc/PID still p's process (not one that took the PID after it)? */
bool lt_process_is_current(const struct lt_process *p);
/* Removes tgid's superseded record if it has one (the oldest goes first),
 * else its current one. */
void lt_procs_remove(struct lt_process_table *t, uint32_t tgid);
/* tgid names a new process: its record goes, or, when that is an exited
 * target still to be shown, is superseded and waits for its report. */
void lt_procs_retire(struct lt_process_table *t, uint32_t tgid);
bool lt_process_probed(const struct lt_process *p, uint32_t kdev, uint64_t ino);
/* Returns 0 or -ENOMEM. */
int lt_process_add_probed(struct lt_process *p, uint32_t kdev, uint64_t ino);
/* exec replaced the image: its allocations, descriptors' records, stacks
 * and mappings are gone. */
void lt_process_reset_image(struct lt_process *p);
/* Reread comm, exe and cgroup from /proc (after exec); what cannot be read
 * is kept. False if exe could not be read, or /proc names another process. */
bool lt_process_refresh_identity(struct lt_process *p);
/* All records, sorted by tgid, in a malloc'd array. Returns count or -ENOMEM. */
long lt_procs_list(const struct lt_process_table *t, struct lt_process ***out);

#endif
