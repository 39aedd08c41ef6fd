/* SPDX-License-Identifier: MIT */
/*
 * A descriptor named from what BPF found behind it (struct
 * lt_fd_desc_event): a file's path, a socket's addresses, a pipe's inode.
 */
#ifndef LT_FD_DESCRIBE_H
#define LT_FD_DESCRIBE_H

#include <stddef.h>

#include "consume/fd_kinds.h"
#include "leaktrace_events.h"

/* Writes the text into buf (always NUL-ended) and returns its kind. size is
 * the record's size: a short one names nothing beyond what it holds. */
enum lt_fd_kind lt_fd_describe(const struct lt_fd_desc_event *e, size_t size, char *buf,
			       size_t len);

#endif
