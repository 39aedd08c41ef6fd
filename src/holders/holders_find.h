/* SPDX-License-Identifier: MIT */
/*
 * Finding who holds sampled objects of a Python process: its heap walked
 * with the process held still for a bounded time (the walk goes on with
 * the process running if it does not fit), the shortest chain to a root
 * searched for each object, and every link of every chain read again,
 * with the process held still, before it is reported.
 */
#ifndef LT_HOLDERS_FIND_H
#define LT_HOLDERS_FIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "holders/holders.h"
#include "python/python_layout.h"

/* Objects of one type (and one place that made them) to find holders for. */
struct lt_holders_sample {
	const char *type_name;
	uint64_t type;           /* their type object: an object no longer of it is skipped */
	const char *where;       /* file:line, or NULL */
	const uint64_t *objects; /* object addresses */
	size_t n;
};

struct lt_holders_request {
	pid_t pid;
	bool own_child;          /* pid is the caller's child (see thread_pause.h) */
	uint32_t minor;
	uint64_t runtime;        /* _PyRuntime's address */
	const struct lt_py_version_info *info;
	const struct lt_py_layout *frames;
	uint32_t pause_ms;       /* each pause at most; 0: never pause (links still read again) */
	size_t cache_bytes;      /* copies of the heap kept at most while walking */
	const struct lt_holders_sample *samples;
	size_t nsamples;
	/* Or: objects of the types of these names, as the walk meets them
	 * (objgraph.by_type), per_type of each at most, spread over all. */
	const char *const *by_type;
	size_t nby_type;
	uint32_t per_type;
};

/* Fills out (zeroed first). Returns 0 (out->ok, or out->error saying why
 * no chains were found) or -ENOMEM. The process is never left stopped. */
int lt_holders_find(const struct lt_holders_request *req, struct lt_holders *out);

#endif
