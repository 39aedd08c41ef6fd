/* SPDX-License-Identifier: MIT */
/*
 * One process's open descriptors: those it was seen making and has not
 * closed (with their stacks, in a live table), what each is, and those
 * that were open already when tracing began.
 */
#ifndef LT_FD_TABLE_H
#define LT_FD_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consume/fd_kinds.h"
#include "consume/live_table.h"

/* An entry of open is keyed by the descriptor + 1 (0 marks an empty slot);
 * size_bytes is 1, pad the Python traceback's id + 1 (0: none). */
static inline uint64_t lt_fd_key(uint32_t fd)
{
	return (uint64_t)fd + 1;
}

struct lt_fd_note {
	uint8_t kind; /* enum lt_fd_kind */
	char *text;   /* NULL: not described */
};

struct lt_fd_table {
	struct lt_live_table open;
	struct lt_fd_note *notes; /* by descriptor */
	size_t cap_notes;
	uint32_t *before;         /* open before tracing began, sorted */
	size_t nbefore, cap_before;
};

void lt_fd_table_init(struct lt_fd_table *t);
void lt_fd_table_free(struct lt_fd_table *t);
/* exec: the records of what the old image made go (their stacks went with
 * it); those open before tracing began stay so. */
void lt_fd_table_forget_made(struct lt_fd_table *t);
/* Name fd (text is copied). Returns 0 or -ENOMEM. */
int lt_fd_table_note(struct lt_fd_table *t, uint32_t fd, enum lt_fd_kind kind, const char *text);
const struct lt_fd_note *lt_fd_table_note_of(const struct lt_fd_table *t, uint32_t fd);
void lt_fd_table_forget_note(struct lt_fd_table *t, uint32_t fd);
/* The descriptors /proc/PID/fd lists now become "open before"; with
 * before_exec (a process about to exec) not those close-on-exec, which its
 * exec closes unseen. Returns the count, or a negative errno (the process is
 * gone, or ENOMEM). */
long lt_fd_table_read_before(struct lt_fd_table *t, uint32_t pid, bool before_exec);
/* [first, last] were closed or made again: none is "open before" any more. */
void lt_fd_table_drop_before(struct lt_fd_table *t, uint32_t first, uint32_t last);

#endif
