/* SPDX-License-Identifier: MIT */
/* -c: start a command held before exec, so probes are in place before its first instruction. */
#ifndef LT_COMMAND_RUNNER_H
#define LT_COMMAND_RUNNER_H

#include <stddef.h>
#include <limits.h>
#include <sys/types.h>

struct lt_command {
	pid_t pid;
	int go_fd;   /* write end: one byte lets the child exec */
	int err_fd;  /* read end: the child's errno if exec failed; EOF on success */
	char path[PATH_MAX]; /* the program, as found on PATH */
};

/* Split cmdline like a shell would (quotes, no command substitution), find
 * the program on PATH, fork a child that waits. Returns 0 or -errno with a
 * one-line reason in err (-ENOENT: command not found). */
int lt_command_prepare(const char *cmdline, struct lt_command *cmd, char *err, size_t errlen);
/* Let the child exec. Returns 0, or -errno with a reason if exec failed. */
int lt_command_release(struct lt_command *cmd, char *err, size_t errlen);
/* Kill and reap a child that was never released. */
void lt_command_abort(struct lt_command *cmd);

#endif
